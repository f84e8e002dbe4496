// Fuzz target: the SMTP DATA encoder (proto::smtp::BodyEncoder, wire_size).
// Invariants (RFC 5321 §2.3.8, §4.5.2; SMTP smuggling): the output does not depend on where the
// body is split into feed() calls (two cuts, so three feeds); it never holds a CR or an LF except
// as CRLF; it ends with CRLF "." CRLF and holds CRLF "." CRLF nowhere else (nor starts with
// "." CRLF unless that is all of it); wire_size() is its exact length (what SIZE= announces);
// and un-stuffing it (split at CRLF, drop one leading dot per line) gives the body with every
// line end -- CRLF, lone CR, lone LF -- made one LF and a final one added when missing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_check.hpp"
#include "nullq/smtp.hpp"

namespace smtp = nullq::proto::smtp;

namespace {

std::string encode(std::string_view in, std::size_t cut1, std::size_t cut2) {
  smtp::BodyEncoder e;
  std::string out;
  e.feed(in.substr(0, cut1), out);
  e.feed(in.substr(cut1, cut2 - cut1), out);
  e.feed(in.substr(cut2), out);
  e.finish(out);
  return out;
}

// The reference for what the lines are, written independently of the encoder.
std::string normalised(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      out.push_back(in[i]);
    }
  }
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  return out;
}

std::string unstuffed(std::string_view wire) {
  std::string out;
  while (!wire.empty()) {
    std::size_t end = wire.find("\r\n");
    FUZZ_CHECK(end != std::string_view::npos);
    std::string_view line = wire.substr(0, end);
    if (!line.empty() && line[0] == '.') line.remove_prefix(1);
    out.append(line).push_back('\n');
    wire.remove_prefix(end + 2);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nullq::fuzz::TwoSplits s;
  if (!nullq::fuzz::two_splits(data, size, s)) return 0;
  const std::string_view in = s.rest;
  const std::size_t a = s.a, b = s.b;
  const std::string out = encode(in, in.size(), in.size());
  FUZZ_CHECK(encode(in, a, b) == out);
  FUZZ_CHECK(smtp::wire_size(in) == out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\r') FUZZ_CHECK(i + 1 < out.size() && out[i + 1] == '\n');
    if (out[i] == '\n') FUZZ_CHECK(i > 0 && out[i - 1] == '\r');
  }
  FUZZ_CHECK(out.size() >= 3 && out.compare(out.size() - 3, 3, ".\r\n") == 0);
  if (out.size() == 3) {
    FUZZ_CHECK(in.empty());
  } else {
    FUZZ_CHECK(out.compare(0, 3, ".\r\n") != 0);
    FUZZ_CHECK(out.find("\r\n.\r\n") == out.size() - 5);
  }
  FUZZ_CHECK(unstuffed(std::string_view(out).substr(0, out.size() - 3)) == normalised(in));
  return 0;
}

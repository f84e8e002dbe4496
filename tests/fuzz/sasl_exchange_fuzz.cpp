// Fuzz target: the client's side of an AUTH exchange (proto::smtp::SaslClient) fed by the SMTP
// reply parser. Input: two split bytes (fuzz_check.hpp), one byte choosing the mechanism (and, by
// its high bit, a token long enough to need the empty 334), then the server's bytes.
// Invariants: the lines sent and the end do not depend on where the stream is split; an ended
// exchange stays ended; every error is printable and holds neither the token nor any base64 the
// client sent; oauth_error_summary never throws and gives "" or "status=<printable>".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "nullq/smtp.hpp"

namespace smtp = nullq::proto::smtp;

namespace {

struct Seen {
  std::string sent;   // every line sent, in order
  std::string end;    // "done", "failed <code>: <error>" or ""
  std::vector<std::string> errors;
};

Seen run(smtp::Sasl mech, const std::string& token, std::string_view in, std::size_t cut1, std::size_t cut2) {
  smtp::ReplyParser p;
  smtp::SaslClient c(mech, {"fuzz@example.com", token, "smtp.example.com", 587});
  Seen s;
  s.sent = c.start().line;
  const std::string_view parts[] = {in.substr(0, cut1), in.substr(cut1, cut2 - cut1), in.substr(cut2)};
  for (auto part : parts) {
    std::vector<smtp::Reply> replies;
    (void)p.feed(part, replies);
    for (const auto& r : replies) {
      const bool was_finished = c.finished();
      auto step = c.on_reply(r);
      using Kind = smtp::SaslClient::Step::Kind;
      if (was_finished) FUZZ_CHECK(step.kind == Kind::failed);
      if (step.kind == Kind::send) {
        FUZZ_CHECK(step.line.size() >= 2 && step.line.compare(step.line.size() - 2, 2, "\r\n") == 0);
        s.sent += step.line;
      } else if (step.kind == Kind::done) {
        if (s.end.empty()) s.end = "done";
      } else {
        s.errors.push_back(step.error);
        if (s.end.empty()) s.end = "failed " + std::to_string(step.code) + ": " + step.error;
      }
      FUZZ_CHECK(step.kind == Kind::send || c.finished());
    }
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nullq::fuzz::TwoSplits s;
  if (!nullq::fuzz::two_splits(data, size, s) || s.rest.empty()) return 0;
  const auto choice = static_cast<unsigned char>(s.rest[0]);
  const std::string_view in = s.rest.substr(1);
  const smtp::Sasl mech = static_cast<smtp::Sasl>(choice % 4);
  const std::string token = (choice & 0x80) ? std::string(600, 'T') + "-secret" : "ya29.fuzz-secret";
  const std::size_t a = s.a > in.size() ? in.size() : s.a, b = s.b > in.size() ? in.size() : s.b;
  Seen whole = run(mech, token, in, in.size(), in.size());
  Seen split = run(mech, token, in, a, b);
  FUZZ_CHECK(whole.sent == split.sent);
  FUZZ_CHECK(whole.end == split.end);
  // Every base64 word the client sent (and the token) stays out of every error text.
  std::vector<std::string> secrets{token};
  for (std::size_t p = 0; p < whole.sent.size();) {
    std::size_t e = whole.sent.find_first_of(" \r\n", p);
    if (e == std::string::npos) e = whole.sent.size();
    std::string w = whole.sent.substr(p, e - p);
    if (w.size() > 12 && w != "OAUTHBEARER") secrets.push_back(w);
    p = e + 1;
  }
  for (const auto& err : whole.errors) {
    FUZZ_CHECK(nullq::fuzz::all_printable(err));
    for (const auto& secret : secrets) FUZZ_CHECK(err.find(secret) == std::string::npos);
  }
  const std::string summary = smtp::oauth_error_summary(in);
  FUZZ_CHECK(summary.empty() || (summary.rfind("status=", 0) == 0 && nullq::fuzz::all_printable(summary)));
  return 0;
}

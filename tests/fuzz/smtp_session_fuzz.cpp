// Fuzz target: `sendmail -bs`, the SMTP session on stdin, fed arbitrary client bytes.
// nullq-queue is replaced by a program that does not exist, so a message that gets as far as DATA
// is refused the way a failing queue is, without touching a spool.
// Invariants: every reply line is "ddd" + ' ' or '-' + printable text + CRLF; the session ends.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "nullq/config.hpp"
#include "options.hpp"
#include "smtp.hpp"

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::setenv("NULLQ_QUEUE_PROGRAM", "/nonexistent/nullq-queue", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static nullq::config::Config cfg = [] {
    auto c = nullq::config::parse_only("smarthosts: [qmtp://127.0.0.1]\nhostname: fuzz.example.org\n", "fuzz.yaml");
    FUZZ_CHECK(c.ok());
    return std::move(c).value();
  }();
  nullq::sendmail::Options opt;
  opt.mode = nullq::sendmail::Mode::smtp;
  std::FILE* in = size ? ::fmemopen(const_cast<std::uint8_t*>(data), size, "r") : std::fopen("/dev/null", "r");
  FUZZ_CHECK(in != nullptr);
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* out = ::open_memstream(&buf, &len);
  FUZZ_CHECK(out != nullptr);
  nullq::sendmail::smtp_session(cfg, opt, in, out);
  std::fclose(in);
  std::fclose(out);
  std::string_view reply(buf, len);
  FUZZ_CHECK(!reply.empty());
  while (!reply.empty()) {
    std::size_t eol = reply.find("\r\n");
    FUZZ_CHECK(eol != std::string_view::npos);
    std::string_view line = reply.substr(0, eol);
    FUZZ_CHECK(line.size() >= 4 && digit(line[0]) && digit(line[1]) && digit(line[2]));
    FUZZ_CHECK(line[3] == ' ' || line[3] == '-');
    FUZZ_CHECK(nullq::fuzz::all_printable(line));
    reply.remove_prefix(eol + 2);
  }
  std::free(buf);
  return 0;
}

// Fuzz target: the YAML config loader (every caller of sendmail reads the config).
// Invariants: it returns a Config or one error line — printable, naming the file — and never
// crashes or throws; an accepted config that is printed back as its smart host list parses again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "nullq/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = nullq::config::parse_only(text, "nullq.yaml");
  if (!c) {
    const std::string& e = c.error().detail;
    FUZZ_CHECK(nullq::fuzz::all_printable(e));
    FUZZ_CHECK(e.rfind("nullq.yaml", 0) == 0);
    return 0;
  }
  for (const auto& h : c->smarthosts) {
    auto again = nullq::config::parse_smarthost(h.text);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->text == h.text);
  }
  return 0;
}

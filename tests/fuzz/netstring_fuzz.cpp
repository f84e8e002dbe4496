// Fuzz target: the incremental netstring parser against the one-shot take(), in any chunking.
// Invariants: the parser consumes exactly the bytes take() consumes; a parsed payload re-encodes to
// exactly those bytes (one encoding per string); split() items re-encode to the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "nullq/netstring.hpp"

namespace ns = nullq::netstring;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // First byte: chunk size for the incremental parser; second: the limit, small or large.
  const std::size_t chunk = data[0] % 16 + 1;
  const std::size_t limit = data[1] % 2 ? 64 : ns::absolute_max;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  ns::Parser p(limit);
  std::size_t used = 0;
  while (used < in.size() && p.state() == ns::Parser::State::need_more)
    used += p.feed(in.substr(used, chunk));
  if (p.state() == ns::Parser::State::need_more) p.finish();

  std::string_view rest = in;
  auto taken = ns::take(rest, limit);
  FUZZ_CHECK(p.done() == taken.ok());
  if (p.done()) {
    FUZZ_CHECK(p.payload() == *taken);
    FUZZ_CHECK(used == in.size() - rest.size());
    FUZZ_CHECK(ns::encode(p.payload()) == in.substr(0, used));
    FUZZ_CHECK(ns::encoded_size(p.payload().size()) == used);
  } else {
    FUZZ_CHECK(p.failed());
    FUZZ_CHECK(!p.error().detail.empty());
  }

  auto items = ns::split(in, limit);
  if (items) {
    std::string again;
    for (auto item : *items) ns::append(again, item);
    FUZZ_CHECK(again == in);
  }
  return 0;
}

// fuzz_check.hpp — the assertion the fuzz targets use for their invariants.
//
// Purpose:   stop the run with a readable reason when an invariant breaks (libFuzzer then saves the
//            input as crash-*); independent of NDEBUG, unlike assert().
// Trust:     none.
// Errors:    aborts.
// Threading: single-threaded fuzz targets.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

#define FUZZ_CHECK(cond)                                                                      \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);       \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace nullq::fuzz {

// An input whose first two bytes choose two split positions a <= b in the rest (the targets that
// feed a parser in three pieces and compare with feeding it whole). False when there is no rest.
struct TwoSplits {
  std::string_view rest;
  std::size_t a = 0, b = 0;
};
inline bool two_splits(const unsigned char* data, std::size_t size, TwoSplits& out) {
  if (size < 2) return false;
  out.rest = std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2);
  out.a = data[0] % (out.rest.size() + 1);
  out.b = data[1] % (out.rest.size() + 1);
  if (out.a > out.b) std::swap(out.a, out.b);
  return true;
}

// Every byte is printable ASCII: what error texts and sanitised server texts must be.
// The one exception is the em dash of nullq's own "— did you mean" (outside text is escaped as
// \xNN, so a raw byte >= 0x80 can only come from nullq's own words).
inline bool all_printable(std::string_view s) {
  constexpr std::string_view em_dash = "\xe2\x80\x94";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, em_dash.size(), em_dash) == 0) {
      i += em_dash.size() - 1;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace nullq::fuzz

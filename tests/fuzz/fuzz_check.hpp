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

#define FUZZ_CHECK(cond)                                                                      \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);       \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace nullq::fuzz {

// Every byte is printable ASCII: what error texts and sanitised server texts must be.
inline bool all_printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c >= 0x7f) return false;
  return true;
}

}  // namespace nullq::fuzz

// clock_text.hpp — unix seconds as the text a person reads ("2026-12-07 19:50:00").
//
// Purpose:   the one strftime wrapper behind mailq's and nullq's times and nullq-send's log lines.
// Trust:     none.
// Errors:    none: a time strftime cannot format gives "".
// Threading: any thread (localtime_r, gmtime_r).
#pragma once

#include <cstdint>
#include <string>

namespace nullq {

// `format` is strftime's; `utc` false: the local time zone.
std::string clock_text(std::int64_t unix_s, const char* format = "%Y-%m-%d %H:%M:%S", bool utc = false);

}  // namespace nullq

// printable.hpp — the one way outside text is made safe for a terminal, syslog, a queue file or a bounce.
//
// Purpose:   config text, server replies, header values and file names reach error lines, logs, the
//            queue file's last-error record and bounce reports; printable() turns any bytes into one
//            line of printable ASCII that cannot move a cursor, start an escape sequence, forge a log
//            line or overflow a field.
// Trust:     the input is arbitrary bytes.
// Errors:    none.
// Threading: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nullq {

inline constexpr std::size_t max_printable = 512;

// Bytes 0x20..0x7e are kept; every other byte (controls incl. CR/LF/TAB/ESC, DEL, bytes >= 0x80)
// becomes the four characters \xNN (lower-case hex). The result is at most `cap` bytes: when it would
// be longer, it is cut at a character or escape boundary and ends with "..." (cap < 3 gives an empty
// or dotted result). Backslashes are kept as they are, so printable() is idempotent:
// printable(printable(s, c), c) == printable(s, c) — text passed through several layers (reply,
// last error, bounce) is escaped once.
std::string printable(std::string_view text, std::size_t cap = max_printable);

}  // namespace nullq

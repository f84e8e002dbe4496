// send/log.hpp — nullq-send's log: one line per delivery attempt, to syslog or stderr.
//
// Purpose:   route log lines to syslog(3) LOG_MAIL, to stderr with "<N>" priority prefixes when
//            running under systemd (JOURNAL_STREAM set), or to plain stderr (--stderr, tests); and
//            format the per-attempt line:
//              id=<id> from=<sender> to=<rcpt>[,<rcpt>...][ +<n> more] host=<smart host>
//              addr=<ip:port|-> proto=<qmtp|qmqp|smtp|mx> rcpts=<n> status=<sent|deferred|bounced>
//              text="<sanitised>" ms=<n>
//            One line per (message, server, status, text) group: an answer that is ok for two
//            recipients and permanent for one gives two lines (rcpts=2 status=sent with both
//            addresses, rcpts=1 status=bounced with the third). to= names at most max_log_rcpts
//            addresses, then " +<n> more", so a line stays bounded.
// Trust:     server text is hostile: quote_text() makes it one printable, capped, quoted token.
//            Addresses are escaped by log_address() so that each stays one <...> item.
// Errors:    logging never fails (a failed write to stderr is ignored).
// Threading: process-global; loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/config.hpp"

namespace nullq::send {

enum class LogSink { stderr_plain, stderr_journal, syslog };

// syslog(3) priorities, numerically equal to LOG_ERR ... LOG_DEBUG.
enum class Priority { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// --stderr wins; else JOURNAL_STREAM non-empty => stderr_journal; else syslog.
LogSink choose_sink(bool force_stderr, const char* journal_stream);

void log_init(LogSink sink, config::LogLevel level);
void log_set_level(config::LogLevel level);
bool log_enabled(Priority p);
void log_line(Priority p, std::string_view line);
// The exact bytes written to stderr for `line` with this sink (no trailing newline handling).
std::string render_for_stderr(LogSink sink, Priority p, std::string_view line);

// nullq::printable() (other bytes \xNN), '"' escaped as \x22, capped near `cap` bytes ("..." appended
// when cut), surrounded by double quotes: one token that cannot hold a quote, a newline or a control.
inline constexpr std::size_t max_log_text = 512;
std::string quote_text(std::string_view text, std::size_t cap = max_log_text);

// <address>: printable(), capped at max_log_address bytes, with ' ', ',', '<', '>' and '"' escaped
// as \xNN too, so the address cannot end its item or forge another field.
inline constexpr std::size_t max_log_address = 256;
inline constexpr std::size_t max_log_rcpts = 10;
std::string log_address(std::string_view address);

// "sent", "deferred", "bounced" for the K, Z, D verdict letters.
const char* status_word(char result);

struct Attempt {
  std::string id;
  std::string from;             // envelope sender ("" for a bounce: from=<>)
  std::vector<std::string> to;  // the recipients this line is about (at most max_log_rcpts shown)
  std::string host;   // smart host text, e.g. "qmtp://relay.example.org"
  std::string addr;   // "192.0.2.1:209", "[::1]:209", or "-" when no server was reached
  std::string proto;  // "qmtp", "qmqp", "smtp" or "mx"
  std::size_t rcpts = 0;  // how many recipients; more than to.size() when the list was not given whole
  char result = 'Z';  // K, Z or D
  std::string text;   // raw or sanitised text; quoted by format_attempt
  std::int64_t ms = 0;
};
std::string format_attempt(const Attempt& a);

}  // namespace nullq::send

// send/log.hpp — nullq-send's log: one line per delivery attempt, to syslog or stderr.
//
// Purpose:   route log lines to syslog(3) LOG_MAIL, to stderr with "<N>" priority prefixes when
//            running under systemd (JOURNAL_STREAM set), or to plain stderr (--stderr, tests); and
//            format the per-attempt line:
//              id=<id> host=<smart host> addr=<ip:port|-> proto=<qmtp|qmqp> rcpts=<n> result=<K|Z|D>
//              text="<sanitised>" ms=<n>
//            One line per (message, server, verdict, text) group: a QMTP answer that is K for two
//            recipients and D for one gives two lines (rcpts=2 result=K, rcpts=1 result=D).
// Trust:     server text is hostile: quote_text() makes it one printable, capped, quoted token.
// Errors:    logging never fails (a failed write to stderr is ignored).
// Threading: process-global; loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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

struct Attempt {
  std::string id;
  std::string host;   // smart host text, e.g. "qmtp://relay.example.org"
  std::string addr;   // "192.0.2.1:209", "[::1]:209", or "-" when no server was reached
  std::string proto;  // "qmtp" or "qmqp"
  std::size_t rcpts = 0;
  char result = 'Z';  // K, Z or D
  std::string text;   // raw or sanitised text; quoted by format_attempt
  std::int64_t ms = 0;
};
std::string format_attempt(const Attempt& a);

}  // namespace nullq::send

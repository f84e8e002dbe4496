// send/log.hpp — nullq-send's log: one line per delivery attempt, to syslog or stderr.
//
// Purpose:   route log lines to syslog(3) LOG_MAIL, to stderr with "<N>" priority prefixes when
//            running under systemd (JOURNAL_STREAM names our stderr), or to plain stderr (--stderr,
//            tests, containers); as text or as one JSON object per line (log.format: json, in
//            log_json.cpp); and format the per-attempt line:
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

// What the choice by log.target rests on, gathered by sink_facts() (or given by a test).
struct SinkFacts {
  bool force_stderr = false;   // --stderr, or --once at a terminal
  bool journal = false;        // JOURNAL_STREAM names the file our stderr is (journal_stream_is())
  bool syslog_socket = false;  // the socket syslog(3) writes to exists (syslog_socket_present())
};
// --stderr wins. stderr: the journal's "<N>" lines when stderr is the journal, else plain.
// syslog: syslog. auto: the journal when stderr is it, else syslog when its socket is there, else
// plain stderr (a container: the lines reach its log instead of vanishing into a missing /dev/log).
LogSink choose_sink(config::LogTarget target, const SinkFacts& facts);
// True when `journal_stream` ("<dev>:<inode>", as systemd sets it) is the file open on `fd`: a
// child that inherited the variable but not the stream (a run started by sendmail) is not the journal.
bool journal_stream_is(const char* journal_stream, int fd);
// Where syslog(3) writes: $NULLQ_SYSLOG_SOCKET when the environment is trusted (tests), else /dev/log.
std::string syslog_socket_path();
// A socket (or a symbolic link to one, as systemd's /dev/log) exists at `path`.
bool syslog_socket_present(const std::string& path);
// The facts for this process (stderr, $JOURNAL_STREAM, syslog_socket_path()).
SinkFacts sink_facts(bool force_stderr);

void log_init(LogSink sink, config::LogLevel level, config::LogFormat format = config::LogFormat::text);
void log_set_level(config::LogLevel level);
bool log_enabled(Priority p);
void log_line(Priority p, std::string_view line);
// The exact bytes written to stderr for `line` with this sink (no trailing newline handling).
std::string render_for_stderr(LogSink sink, Priority p, std::string_view line);

// log.format: json. One object per line: "time" (UTC, RFC 3339 with milliseconds), "level"
// ("err", "warning", "notice", "info", "debug"), "program" ("nullq-send"), then the line's fields.
// A text line's leading key=value tokens become string fields (a "quoted" value loses its quotes)
// and the rest of the line, if any, is "msg": "id=X cannot read ..." gives "id" and "msg".
// Every string is valid JSON whatever its bytes: controls are \u escaped and a byte that is not
// part of valid UTF-8 becomes the text \xNN, as printable() writes it.
std::string json_string(std::string_view bytes);
std::string json_line(Priority p, std::string_view line, std::int64_t unix_ms);

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
// The same fields as a JSON object (see json_line): "to" an array, "+<n> more" as "more": n, rcpts
// and ms numbers, text without its quotes.
std::string json_attempt(Priority p, const Attempt& a, std::int64_t unix_ms);
// format_attempt() or json_attempt(), as log.format says, through log_line's sink.
void log_attempt(Priority p, const Attempt& a);

}  // namespace nullq::send

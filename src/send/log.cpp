// Log sinks and the per-attempt line (see include/nullq/send/log.hpp).
#include "nullq/send/log.hpp"

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nullq/environment.hpp"
#include "nullq/printable.hpp"

namespace nullq::send {
namespace {

LogSink g_sink = LogSink::stderr_plain;
config::LogLevel g_level = config::LogLevel::info;
config::LogFormat g_format = config::LogFormat::text;
bool g_syslog_open = false;

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A finished line to the sink; `json` lines carry no "nullq-send: " prefix (the object names the
// program) but keep the journal's "<N>" one, which journald strips.
void emit(Priority p, std::string_view line, bool json) {
  if (g_sink == LogSink::syslog) {
    syslog(static_cast<int>(p), "%.*s", static_cast<int>(line.size()), line.data());
    return;
  }
  std::string out;
  if (json) {
    if (g_sink == LogSink::stderr_journal) out = render_for_stderr(g_sink, p, line);
    else out.append(line).append(1, '\n');
  } else {
    out = render_for_stderr(g_sink, p, line);
  }
  const char* data = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n <= 0) return;  // nowhere to report it; logging never fails the caller
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

int max_priority(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::error: return 3;
    case config::LogLevel::warning: return 4;
    case config::LogLevel::info: return 6;
    case config::LogLevel::debug: return 7;
  }
  return 6;
}

}  // namespace

LogSink choose_sink(bool force_stderr, const char* journal_stream) {
  if (force_stderr) return LogSink::stderr_plain;
  if (journal_stream && *journal_stream) return LogSink::stderr_journal;
  return LogSink::syslog;
}

LogSink choose_sink(config::LogTarget target, const SinkFacts& facts) {
  if (facts.force_stderr) return LogSink::stderr_plain;
  switch (target) {
    case config::LogTarget::syslog:
      return LogSink::syslog;
    case config::LogTarget::standard_error:
      return facts.journal ? LogSink::stderr_journal : LogSink::stderr_plain;
    case config::LogTarget::automatic:
      break;
  }
  if (facts.journal) return LogSink::stderr_journal;
  return facts.syslog_socket ? LogSink::syslog : LogSink::stderr_plain;
}

bool journal_stream_is(const char* journal_stream, int fd) {
  if (!journal_stream || !*journal_stream) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  std::string want = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
                     std::to_string(static_cast<unsigned long long>(st.st_ino));
  return want == journal_stream;
}

std::string syslog_socket_path() {
  const char* p = environment::trusted_getenv("NULLQ_SYSLOG_SOCKET");
  return p ? p : "/dev/log";
}

bool syslog_socket_present(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

SinkFacts sink_facts(bool force_stderr) {
  SinkFacts f;
  f.force_stderr = force_stderr;
  f.journal = journal_stream_is(std::getenv("JOURNAL_STREAM"), STDERR_FILENO);
  f.syslog_socket = syslog_socket_present(syslog_socket_path());
  return f;
}

void log_init(LogSink sink, config::LogLevel level, config::LogFormat format) {
  g_sink = sink;
  g_level = level;
  g_format = format;
  if (sink == LogSink::syslog && !g_syslog_open) {
    openlog("nullq-send", LOG_PID | LOG_NDELAY, LOG_MAIL);
    g_syslog_open = true;
  }
}

void log_set_level(config::LogLevel level) { g_level = level; }

bool log_enabled(Priority p) { return static_cast<int>(p) <= max_priority(g_level); }

std::string render_for_stderr(LogSink sink, Priority p, std::string_view line) {
  std::string out;
  out.reserve(line.size() + 16);
  if (sink == LogSink::stderr_journal) {
    out += '<';
    out += static_cast<char>('0' + static_cast<int>(p));
    out += '>';
  } else {
    out += "nullq-send: ";
  }
  out.append(line);
  out += '\n';
  return out;
}

void log_line(Priority p, std::string_view line) {
  if (!log_enabled(p)) return;
  if (g_format == config::LogFormat::json) return emit(p, json_line(p, line, unix_ms_now()), true);
  emit(p, line, false);
}

void log_attempt(Priority p, const Attempt& a) {
  if (!log_enabled(p)) return;
  if (g_format == config::LogFormat::json) return emit(p, json_attempt(p, a, unix_ms_now()), true);
  emit(p, format_attempt(a), false);
}

std::string quote_text(std::string_view text, std::size_t cap) {
  // printable() escapes every non-printable byte; a '"' inside would end the token early, so it is
  // escaped the same way (\x22).
  std::string p = printable(text, cap);
  std::string out;
  out.reserve(p.size() + 8);
  out += '"';
  for (char c : p) {
    if (c == '"') out += "\\x22";
    else out += c;
  }
  out += '"';
  return out;
}

std::string log_address(std::string_view address) {
  std::string p = printable(address, max_log_address);
  std::string out;
  out.reserve(p.size() + 2);
  out += '<';
  for (char c : p) {
    switch (c) {
      case ' ': out += "\\x20"; break;
      case '"': out += "\\x22"; break;
      case ',': out += "\\x2c"; break;
      case '<': out += "\\x3c"; break;
      case '>': out += "\\x3e"; break;
      default: out += c;
    }
  }
  out += '>';
  return out;
}

const char* status_word(char result) {
  switch (result) {
    case 'K': return "sent";
    case 'D': return "bounced";
    default: return "deferred";
  }
}

std::string format_attempt(const Attempt& a) {
  std::string out;
  out.reserve(192 + a.text.size());
  out += "id=";
  out += a.id;
  out += " from=";
  out += log_address(a.from);
  out += " to=";
  const std::size_t shown = std::min(a.to.size(), max_log_rcpts);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i) out += ',';
    out += log_address(a.to[i]);
  }
  if (shown == 0) out += '-';
  const std::size_t total = std::max(a.rcpts, a.to.size());
  if (total > shown) {
    out += " +";
    out += std::to_string(total - shown);
    out += " more";
  }
  out += " host=";
  out += a.host.empty() ? "-" : a.host;
  out += " addr=";
  out += a.addr.empty() ? "-" : a.addr;
  out += " proto=";
  out += a.proto;
  out += " rcpts=";
  out += std::to_string(a.rcpts);
  out += " status=";
  out += status_word(a.result);
  out += " text=";
  out += quote_text(a.text);
  out += " ms=";
  out += std::to_string(a.ms);
  return out;
}

}  // namespace nullq::send

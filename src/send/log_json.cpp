// log.format: json — one JSON object per log line (see include/nullq/send/log.hpp).
//
// A small writer rather than a JSON library: the objects are flat, and the one hard part, valid
// JSON for any bytes (server text, file names, addresses), is the UTF-8 check below.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>

#include "nullq/printable.hpp"
#include "nullq/send/log.hpp"

namespace nullq::send {
namespace {

const char* level_word(Priority p) {
  switch (p) {
    case Priority::err: return "err";
    case Priority::warning: return "warning";
    case Priority::notice: return "notice";
    case Priority::info: return "info";
    case Priority::debug: return "debug";
  }
  return "info";
}

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), 0 when it is not one.
std::size_t utf8_length(std::string_view s) {
  auto b = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xc0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
    if (c == 0xed && b(1) >= 0xa0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

std::string rfc3339(std::int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return buf;
}

// {"time":...,"level":...,"program":"nullq-send" — the caller appends fields and the closing brace.
std::string open_object(Priority p, std::int64_t unix_ms) {
  std::string out = "{\"time\":\"" + rfc3339(unix_ms) + "\",\"level\":\"" + level_word(p) + "\",\"program\":\"nullq-send\"";
  return out;
}

void add_string(std::string& out, std::string_view key, std::string_view value) {
  out += ',';
  out += json_string(key);
  out += ':';
  out += json_string(value);
}

void add_number(std::string& out, std::string_view key, std::int64_t value) {
  out += ',';
  out += json_string(key);
  out += ':';
  out += std::to_string(value);
}

bool is_key_char(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

bool reserved(std::string_view key) { return key == "time" || key == "level" || key == "program" || key == "msg"; }

}  // namespace

std::string json_string(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
      }
      ++i;
    } else if (std::size_t n = utf8_length(s.substr(i)); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      // Not UTF-8: the byte as printable() shows it, "\xNN" (in JSON the backslash is doubled).
      out += "\\\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++i;
    }
  }
  out += '"';
  return out;
}

std::string json_line(Priority p, std::string_view line, std::int64_t unix_ms) {
  std::string out = open_object(p, unix_ms);
  std::string_view rest = line;
  // Leading key=value tokens (a "quoted" value runs to its closing quote) become fields.
  while (!rest.empty()) {
    std::size_t k = 0;
    while (k < rest.size() && is_key_char(rest[k])) ++k;
    if (k == 0 || k >= rest.size() || rest[k] != '=' || reserved(rest.substr(0, k))) break;
    std::string_view key = rest.substr(0, k);
    std::string_view after = rest.substr(k + 1);
    std::string_view value;
    std::size_t used = 0;
    if (!after.empty() && after[0] == '"') {
      std::size_t close = after.find('"', 1);
      if (close == std::string_view::npos) break;
      value = after.substr(1, close - 1);
      used = close + 1;
    } else {
      used = std::min(after.find(' '), after.size());
      value = after.substr(0, used);
    }
    if (used < after.size() && after[used] != ' ') break;  // "a="b"c": not one token
    add_string(out, key, value);
    rest = after.substr(used);
    while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  }
  if (!rest.empty()) add_string(out, "msg", rest);
  out += '}';
  return out;
}

std::string json_attempt(Priority p, const Attempt& a, std::int64_t unix_ms) {
  std::string out = open_object(p, unix_ms);
  add_string(out, "id", a.id);
  add_string(out, "from", printable(a.from, max_log_address));
  out += ",\"to\":[";
  const std::size_t shown = std::min(a.to.size(), max_log_rcpts);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i) out += ',';
    out += json_string(printable(a.to[i], max_log_address));
  }
  out += ']';
  const std::size_t total = std::max(a.rcpts, a.to.size());
  if (total > shown) add_number(out, "more", static_cast<std::int64_t>(total - shown));
  add_string(out, "host", a.host.empty() ? "-" : a.host);
  add_string(out, "addr", a.addr.empty() ? "-" : a.addr);
  add_string(out, "proto", a.proto);
  add_number(out, "rcpts", static_cast<std::int64_t>(a.rcpts));
  add_string(out, "status", status_word(a.result));
  add_string(out, "text", printable(a.text, max_log_text));
  add_number(out, "ms", a.ms);
  out += '}';
  return out;
}

}  // namespace nullq::send

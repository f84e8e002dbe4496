// reader.hpp — reading one YAML node of nullq.yaml with errors that name file and line (private
// to src/config).
//
// Purpose:   the Reader shared by load.cpp (the document) and auth.cpp (a smart host's `auth`).
// Trust:     the file's keys and values are echoed only through printable().
// Errors:    Reader::fail throws Fail, which parse() turns into an Error; nothing else throws.
// Threading: plain values.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <initializer_list>
#include <span>
#include <string>

#include "nullq/config.hpp"
#include "nullq/printable.hpp"
#include "nullq/suggest.hpp"

namespace nullq::config::detail {

// The keys of each mapping, which check_keys() accepts and accepted_keys() lists (for the test that
// holds etc/nullq.yaml and nullq.yaml(5) to them).
namespace keys {
inline constexpr std::string_view top[] = {"hostname", "domain", "idhost", "admin",  "rewrite", "smarthosts",
                                           "queue",    "delivery", "bounce", "log",  "smtp",    "state_dir",
                                           "metrics",
                                           // routes.cpp
                                           "routes"};
inline constexpr std::string_view rewrite[] = {"sender", "header_from"};
inline constexpr std::string_view smarthost[] = {"url", "connections", "pipeline", "starttls", "auth", "tls",
                                                 // routes.cpp
                                                 "name", "source", "recipients_per_message",
                                                 // provider limits (limits.cpp)
                                                 "preset", "messages_per_connection", "rate", "daily", "quota_reset"};
inline constexpr std::string_view route[] = {"sender", "recipient_domain", "default", "hosts"};
inline constexpr std::string_view auth[] = {"user", "password_file", "allow_plaintext", "password", "mechanism", "oauth"};
inline constexpr std::string_view oauth[] = {"provider", "flow", "tenant", "client_id", "client_secret_file", "scope",
                                             "token_url", "device_url", "authorize_url", "ca_file", "token_command",
                                             "timeout"};
inline constexpr std::string_view tls[] = {"verify", "ca_file", "cert_file", "key_file", "min_version"};
inline constexpr std::string_view queue[] = {"dir", "lifetime", "keep_failed", "retry_min", "retry_max",
                                             "max_message_size", "min_free"};
inline constexpr std::string_view delivery[] = {"connections", "connect_timeout", "timeout", "session_max", "cooldown",
                                                "memory",
                                                "without_daemon"};
inline constexpr std::string_view smtp[] = {"helo", "mx_tls", "banner_timeout", "command_timeout", "data_timeout",
                                            "body_timeout", "dot_timeout"};
inline constexpr std::string_view bounce[] = {"enabled", "admin", "delay_warning"};
inline constexpr std::string_view log[] = {"level",
                                           "target", "format"};
// Monitoring (src/send/monitor.cpp).
inline constexpr std::string_view metrics[] = {"textfile"};
}  // namespace keys

// Thrown inside src/config only; parse() turns it into an Error.
struct Fail {
  std::string text;
};

// "smtp://relay.example.org:587" from a smart host mapping's url and its misplaced port.
inline std::string port_hint(const YAML::Node& host, const YAML::Node& port) {
  std::string p = port.IsScalar() ? port.Scalar() : "587";
  const YAML::Node url = host["url"];
  std::string u = url && url.IsScalar() ? url.Scalar() : std::string();
  std::size_t scheme = u.find("://");
  if (scheme != std::string::npos && u.find_first_of(":/", scheme + 3) == std::string::npos)
    return printable(u + ":" + p, 200);
  return printable("smtp://host:" + p, 200);
}

class Reader {
 public:
  explicit Reader(const std::string& name) : name_(name) {}

  // `what` quotes the file's keys and values: it goes out through printable(). `ours` is text of
  // this file only (the em dash of a suggestion survives).
  [[noreturn]] void fail(const YAML::Node& at, const std::string& what, const std::string& ours = {}) const {
    throw Fail{text(at, what, ours)};
  }

  // Lenient reading (the injector's): a failure inside soft(), and an unknown key that does not look
  // like a misspelt `hard` key, is recorded in `*problem` (the first one only) and reading goes on.
  void set_lenient(std::string* problem) { problem_ = problem; }
  template <class F>
  void soft(F&& read) const {
    if (!problem_) return read();
    try {
      read();
    } catch (const Fail& f) {
      note(f.text);
    }
  }

  // Every key of `map` must be one of `known`; fails on the first stranger (leniently: only on one
  // whose nearest known key is in `hard`, a setting the injector needs).
  void check_keys(const YAML::Node& map, const std::string& where, std::span<const std::string_view> known,
                  std::initializer_list<std::string_view> hard = {}) const {
    if (!map.IsMap()) fail(map, where.empty() ? "the file must be a mapping of settings" : "'" + where + "' must be a mapping");
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) fail(kv.first, "keys must be plain names");
      std::string key = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      // "port: 587" beside a host: the port belongs in the URL, as every smart host's does.
      if (key == "port" && std::find(known.begin(), known.end(), "url") != known.end())
        fail(kv.first, "unknown key '" + (where.empty() ? key : where + "." + key) + "'",
             " \xe2\x80\x94 put the port in the URL: " + port_hint(map, kv.second));
      if (key == "port")
        fail(kv.first, "unknown key '" + (where.empty() ? key : where + "." + key) + "'",
             " \xe2\x80\x94 a smart host's port goes in its URL (smtp://host:587)");
      std::string_view best = closest(key, known);
      std::string full = where.empty() ? key : where + "." + key;
      std::string hint = best.empty() ? std::string() : " \xe2\x80\x94 did you mean '" + std::string(best) + "'?";
      if (problem_ && (best.empty() || std::find(hard.begin(), hard.end(), best) == hard.end())) {
        note(text(kv.first, "unknown key '" + full + "'", hint));
        continue;
      }
      fail(kv.first, "unknown key '" + full + "'", hint);
    }
  }

  std::string str(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, "'" + key + "' must be a single value");
    return n.Scalar();
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    std::string s = str(n, key);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail(n, "'" + key + "' must be true or false, not '" + s + "'");
  }

  unsigned count(const YAML::Node& n, const std::string& key, unsigned lo, unsigned hi) const {
    std::string s = str(n, key);
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0 || s[0] == '-' || v < lo || v > hi)
      fail(n, "'" + key + "' must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                  ", not '" + s + "'");
    return static_cast<unsigned>(v);
  }

  seconds duration(const YAML::Node& n, const std::string& key, bool off_allowed) const {
    std::string s = str(n, key);
    if (off_allowed && (s == "off" || s == "false" || s == "no")) return seconds(0);
    auto d = parse_duration(s);
    if (!d) fail(n, "'" + key + "': " + d.error().detail);
    if (d->count() == 0 && !off_allowed) fail(n, "'" + key + "' must be longer than 0s");
    return *d;
  }

  std::uint64_t size(const YAML::Node& n, const std::string& key) const {
    auto v = parse_size(str(n, key));
    if (!v) fail(n, "'" + key + "': " + v.error().detail);
    if (*v == 0) fail(n, "'" + key + "' must be larger than 0");
    return *v;
  }

  std::string address(const YAML::Node& n, const std::string& key) const {
    std::string s = str(n, key);
    if (s.find_first_of(" \t\r\n<>,;\"") != std::string::npos || s.empty())
      fail(n, "'" + key + "' must be a plain mail address like user@example.org, not '" + s + "'");
    return s;
  }

  std::string host(const YAML::Node& n, const std::string& key) const {
    std::string s = str(n, key);
    if (s.empty() || s.size() > 253 || s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != std::string::npos)
      fail(n, "'" + key + "' must be a host name, not '" + s + "'");
    return s;
  }

 private:
  std::string text(const YAML::Node& at, const std::string& what, const std::string& ours) const {
    int line = at.Mark().line;
    return printable(name_ + (line >= 0 ? ":" + std::to_string(line + 1) : std::string()) + ": " + what) + ours;
  }
  void note(const std::string& text) const {
    if (problem_->empty()) *problem_ = text;
  }

  const std::string& name_;
  std::string* problem_ = nullptr;  // lenient when set
};

// routes.cpp: a smart host mapping's name, source and recipients_per_message; then, once every
// smart host is read, the `routes` list (names resolved, duplicate names refused).
void read_host_routing(const Reader& r, const YAML::Node& item, SmartHost& h);
void read_routes(const Reader& r, const YAML::Node& list, Config& c);

// `auth` of one SMTP smart host mapping (auth.cpp): user, password_file or oauth, mechanism.
void read_auth(const Reader& r, const YAML::Node& a, SmartHost& h);
// metrics.cpp: the `metrics` mapping.
void read_metrics(const Reader& r, const YAML::Node& m, Config& c);
// A smart host mapping's provider limits (limits.cpp): preset, messages_per_connection, rate,
// daily, quota_reset; a preset first, then the keys given.
void read_limits(const Reader& r, const YAML::Node& item, SmartHost& h);

}  // namespace nullq::config::detail

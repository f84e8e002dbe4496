// A smart host's provider limits: preset, messages_per_connection, rate, daily, quota_reset
// (see HostLimits in include/nullq/config.hpp, nullq.yaml(5), issue 19).
//
// A preset fills what the provider publishes; every key given beside it overrides its value, so
// an account with a raised quota keeps the rest of the preset. Values are checked here, one
// file:line error each, as auth.cpp does for `auth`.
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "reader.hpp"

namespace nullq::config::detail {

namespace {

struct Preset {
  std::string_view name;
  unsigned connections;      // 0 = leave the host's
  double rate;               // messages per second, 0 = unlimited
  std::string_view rate_text;
  std::uint64_t daily;       // recipients per window, 0 = unlimited
  unsigned recipients_per_message;
};

// The published numbers (December 2026); accounts differ, override key by key.
constexpr std::array<Preset, 4> presets{{
    // Exchange Online limits (learn.microsoft.com/office365/servicedescriptions/exchange-online-
    // service-description/exchange-online-limits): message rate limit 30 messages per minute,
    // recipient rate limit 10,000 recipients per day, 500 recipients per message; SMTP AUTH
    // client submission: 3 concurrent connections per mailbox ("432 4.3.2 ... thread limit").
    {"microsoft365", 3, 0.5, "30/min", 10000, 500},
    // Gmail sending limits in Google Workspace (support.google.com/a/answer/166852): 2,000
    // messages per user per day (a consumer account: 500, set daily: 500), 100 recipients per
    // message sent through smtp.gmail.com. No published rate: throttling answers pace it.
    {"gmail", 0, 0, "", 2000, 100},
    // SMTP relay service limits (support.google.com/a/answer/2956491): 10,000 recipients per
    // user per 24 hours, 100 recipients per message ("450 4.2.1 Peak SMTP relay limit exceeded").
    {"workspace-relay", 0, 0, "", 10000, 100},
    // Amazon SES service quotas (docs.aws.amazon.com/ses/latest/dg/quotas.html): a new production
    // account sends 14 messages per second and 50,000 per 24 hours, 50 recipients per message; the
    // sandbox allows 1 per second and 200 per day (set rate: 1/s, daily: 200).
    {"ses", 0, 14, "14/s", 50000, 50},
}};

const Preset* find_preset(std::string_view name) {
  for (const auto& p : presets)
    if (p.name == name) return &p;
  return nullptr;
}

std::uint64_t whole(const Reader& r, const YAML::Node& n, const std::string& key, std::uint64_t hi) {
  std::string s = r.str(n, key);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || s[0] == '-' || s[0] == '+' || v < 1 || v > hi)
    r.fail(n, "'" + key + "' must be a whole number from 1 to " + std::to_string(hi) + ", not '" + s + "'");
  return v;
}

// "30/min": N per s|sec|second, m|min|minute, h|hour.
void read_rate(const Reader& r, const YAML::Node& n, HostLimits& l) {
  const std::string s = r.str(n, "rate");
  const std::string usage = "'rate' must be N/s, N/min or N/h (messages per second, minute or hour), e.g. 30/min, not '" + s + "'";
  const std::size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0) r.fail(n, usage);
  const std::string num = s.substr(0, slash), unit = s.substr(slash + 1);
  if (num.find_first_not_of("0123456789") != std::string::npos || num.size() > 7) r.fail(n, usage);
  const unsigned long v = std::strtoul(num.c_str(), nullptr, 10);
  if (v == 0) r.fail(n, "'rate' must be at least 1 message per period, not '" + s + "'");
  double per = 1;
  if (unit == "s" || unit == "sec" || unit == "second") per = 1;
  else if (unit == "m" || unit == "min" || unit == "minute") per = 60;
  else if (unit == "h" || unit == "hour") per = 3600;
  else r.fail(n, usage);
  l.rate = static_cast<double>(v) / per;
  l.rate_text = s;
}

// "24h" (a window from its first message) or "HH:MM" (a time of day, UTC).
void read_quota_reset(const Reader& r, const YAML::Node& n, HostLimits& l) {
  const std::string s = r.str(n, "quota_reset");
  if (s.find(':') != std::string::npos) {
    const bool shape = s.size() == 5 && s[2] == ':' && std::isdigit(static_cast<unsigned char>(s[0])) &&
                       std::isdigit(static_cast<unsigned char>(s[1])) && std::isdigit(static_cast<unsigned char>(s[3])) &&
                       std::isdigit(static_cast<unsigned char>(s[4]));
    const int h = shape ? (s[0] - '0') * 10 + (s[1] - '0') : 99, m = shape ? (s[3] - '0') * 10 + (s[4] - '0') : 99;
    if (h > 23 || m > 59)
      r.fail(n, "'quota_reset' must be a duration (24h) or a time of day in UTC (00:00 to 23:59), not '" + s + "'");
    l.quota_reset_at = h * 60 + m;
    return;
  }
  l.quota_reset = r.duration(n, "quota_reset", false);
  l.quota_reset_at = -1;
}

}  // namespace

void read_limits(const Reader& r, const YAML::Node& item, SmartHost& h) {
  HostLimits& l = h.limits;
  if (auto n = item["preset"]) {
    const std::string name = r.str(n, "preset");
    const Preset* p = find_preset(name);
    if (!p) {
      std::array<std::string_view, presets.size()> names{};
      for (std::size_t i = 0; i < presets.size(); ++i) names[i] = presets[i].name;
      std::string_view best = closest(name, names);
      r.fail(n, "unknown preset '" + name + "'",
             (best.empty() ? std::string() : " \xe2\x80\x94 did you mean '" + std::string(best) + "'?") +
                 " (microsoft365, gmail, workspace-relay, ses)");
    }
    l.preset = name;
    if (p->connections && !item["connections"]) h.connections = p->connections;
    l.rate = p->rate;
    l.rate_text = std::string(p->rate_text);
    l.daily = p->daily;
    l.recipients_per_message = p->recipients_per_message;
  }
  if (auto n = item["messages_per_connection"]) {
    if (h.protocol == Protocol::qmqp)
      r.fail(n, "'messages_per_connection' does not apply to qmqp:// (one message per connection already)");
    l.messages_per_connection = static_cast<unsigned>(whole(r, n, "messages_per_connection", 1000000));
  }
  if (auto n = item["rate"]) read_rate(r, n, l);
  if (auto n = item["daily"]) l.daily = whole(r, n, "daily", 1000000000);
  if (auto n = item["quota_reset"]) read_quota_reset(r, n, l);
}

}  // namespace nullq::config::detail

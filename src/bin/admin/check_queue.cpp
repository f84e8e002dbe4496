// `nullq check --queue WARN,CRIT [--age WARN,CRIT]`: a Nagios/Icinga plug-in (see check_queue.hpp).
#include "check_queue.hpp"

#include <cerrno>
#include <ctime>
#include <optional>

#include "nullq/census.hpp"
#include "nullq/config.hpp"
#include "nullq/printable.hpp"
#include "nullq/send/status_file.hpp"

namespace nullq::admin {

namespace {

constexpr int ok = 0, warning = 1, critical = 2, unknown = 3;
constexpr const char* state_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

int say_unknown(std::FILE* out, const std::string& why) {
  std::fprintf(out, "NULLQ QUEUE UNKNOWN - %s\n", printable(why, 300).c_str());
  return unknown;
}

struct Thresholds {
  std::int64_t warn = 0, crit = 0;
};

// "10,20" (counts) or "30m,2h" (durations: s, m, h, d; a bare number is seconds).
std::optional<std::int64_t> number(const std::string& s, bool duration) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::int64_t mult = 1;
  std::string digits = s;
  if (duration) {
    switch (s.back()) {
      case 's': mult = 1; digits.pop_back(); break;
      case 'm': mult = 60; digits.pop_back(); break;
      case 'h': mult = 3600; digits.pop_back(); break;
      case 'd': mult = 86400; digits.pop_back(); break;
      default: break;
    }
  }
  if (digits.empty()) return std::nullopt;
  std::int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v * mult;
}

std::optional<Thresholds> thresholds(const std::string& text, bool duration, std::string& why) {
  const std::size_t comma = text.find(',');
  const char* form = duration ? "WARN,CRIT as durations, e.g. 30m,2h" : "WARN,CRIT as counts, e.g. 10,20";
  if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) {
    why = "'" + text + "' is not " + form;
    return std::nullopt;
  }
  auto w = number(text.substr(0, comma), duration), c = number(text.substr(comma + 1), duration);
  if (!w || !c) {
    why = "'" + text + "' is not " + form;
    return std::nullopt;
  }
  if (*w > *c) {
    why = "'" + text + "': the warning threshold is above the critical one";
    return std::nullopt;
  }
  return Thresholds{*w, *c};
}

// "5m", "2h 3m", "45s": the age in the status line.
std::string age_text(std::int64_t s) {
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h" + (s % 3600 >= 60 ? " " + std::to_string(s % 3600 / 60) + "m" : "");
  return std::to_string(s / 86400) + "d" + (s % 86400 >= 3600 ? " " + std::to_string(s % 86400 / 3600) + "h" : "");
}

int level(std::int64_t v, const std::optional<Thresholds>& t) {
  if (!t) return ok;
  return v > t->crit ? critical : v > t->warn ? warning : ok;
}

}  // namespace

bool is_check_queue(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--queue" || a == "--age" || a.rfind("--queue=", 0) == 0 || a.rfind("--age=", 0) == 0) return true;
  return false;
}

int check_queue(const std::vector<std::string>& args, const std::string& config_path, std::FILE* out) {
  std::optional<std::string> queue_arg, age_arg;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::optional<std::string>* into = nullptr;
    std::string value;
    for (auto [name, slot] : {std::pair{std::string("--queue"), &queue_arg}, std::pair{std::string("--age"), &age_arg}}) {
      if (a == name) {
        if (i + 1 >= args.size()) return say_unknown(out, name + " needs WARN,CRIT");
        into = slot;
        value = args[++i];
      } else if (a.rfind(name + "=", 0) == 0) {
        into = slot;
        value = a.substr(name.size() + 1);
      }
    }
    if (!into) return say_unknown(out, "check --queue takes --queue WARN,CRIT and --age WARN,CRIT, not '" + a + "'");
    if (*into) return say_unknown(out, "'" + a + "' is given twice");
    *into = value;
  }
  if (!queue_arg) return say_unknown(out, "--age needs --queue WARN,CRIT too");
  std::string why;
  auto queue_t = thresholds(*queue_arg, false, why);
  if (!queue_t) return say_unknown(out, "--queue " + why);
  std::optional<Thresholds> age_t;
  if (age_arg && !(age_t = thresholds(*age_arg, true, why))) return say_unknown(out, "--age " + why);

  auto cfg = config::load(config_path);
  if (!cfg) return say_unknown(out, cfg.error().detail);
  const queue::Spool spool{cfg->queue_dir};
  const std::int64_t now = std::time(nullptr);
  // Root and the nullq user count the spool itself; anyone else reads nullq-send's status file.
  queue::Census c;
  auto counted = queue::take_census(spool);
  if (counted) {
    c = counted.value();
  } else if (counted.error().domain == ErrorDomain::sys && counted.error().code == EACCES) {
    auto r = send::read_status(spool);
    if (r.liveness != send::Liveness::running)
      return say_unknown(out, r.liveness == send::Liveness::absent && !r.problem.empty()
                                  ? r.problem
                                  : "nullq-send is not running, and the queue is private to the nullq user: run "
                                    "this check as root or nullq");
    c = r.snapshot.census;
  } else {
    return say_unknown(out, counted.error().message());
  }
  const std::int64_t messages = static_cast<std::int64_t>(c.waiting().messages);
  const std::int64_t age = c.oldest_queued_at ? std::max<std::int64_t>(0, now - c.oldest_queued_at) : 0;
  const int state = std::max(level(messages, queue_t), level(age, age_t));
  std::string text = std::to_string(messages) + (messages == 1 ? " message" : " messages");
  if (messages > 0) text += ", oldest " + age_text(age);
  auto t = [](const std::optional<Thresholds>& x, bool w) { return x ? std::to_string(w ? x->warn : x->crit) : std::string(); };
  std::fprintf(out, "NULLQ QUEUE %s - %s | messages=%lld;%s;%s;0 oldest=%llds;%s;%s;0\n", state_names[state],
               text.c_str(), static_cast<long long>(messages), t(queue_t, true).c_str(), t(queue_t, false).c_str(),
               static_cast<long long>(age), t(age_t, true).c_str(), t(age_t, false).c_str());
  return state;
}

}  // namespace nullq::admin

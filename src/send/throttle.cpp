// Pace, pauses and holds per smart host (see include/nullq/send/throttle.hpp).
#include "nullq/send/throttle.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nullq::send {

namespace {

std::int64_t seconds_of(std::int64_t ms) { return ms / 1000; }
std::int64_t ceil_seconds(std::int64_t ms) { return (ms + 999) / 1000; }

std::string pace_text(double per_second) {
  char buf[64];
  if (per_second >= 1) std::snprintf(buf, sizeof buf, "%.1f/s", per_second);
  else std::snprintf(buf, sizeof buf, "%.1f/min", per_second * 60);
  return buf;
}

// A learned pace grows after each success: quickly while it is well under the knee (the pace the
// host took up to its last refusal), slowly close to it (about 250 successes from the 95% it restarts
// at up to the knee, so that a refusal, and the pause it costs, comes seldom), and faster again once
// past it: the host may allow more now.
double learned_growth(double pace, double knee) {
  if (knee <= 0 || pace < 0.9 * knee) return 1.01;
  if (pace < knee) return 1.0002;
  return 1.002;
}

}  // namespace

Throttle::State* Throttle::find(const std::string& host) {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? nullptr : &it->second;
}

const Throttle::State* Throttle::find(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? nullptr : &it->second;
}

void Throttle::configure(const std::vector<config::SmartHost>& hosts) {
  std::map<std::string, State> next;
  for (const auto& h : hosts) {
    auto old = hosts_.find(h.text);
    State s = old != hosts_.end() ? std::move(old->second) : State{};
    const bool fresh = old == hosts_.end();
    const bool rate_changed = fresh || s.limits.rate != h.limits.rate;
    s.limits = h.limits;
    s.ceiling = h.connections ? h.connections : 1;
    if (fresh) s.concurrency = s.ceiling;
    s.concurrency = std::min<double>(s.concurrency, s.ceiling);
    if (rate_changed) {
      s.pace = h.limits.rate;
      s.learned = false;
      s.knee = 0;
    }
    s.bucket.set_rate(s.pace);
    next.emplace(h.text, std::move(s));
  }
  hosts_ = std::move(next);
}

unsigned Throttle::concurrency(const std::string& host) const {
  const State* s = find(host);
  if (!s) return unbounded;
  if (s->probing) return 1;
  unsigned c = unbounded;
  if (s->concurrency < s->ceiling) c = std::max(1u, static_cast<unsigned>(s->concurrency));
  if (s->cap) c = std::min(c, s->cap);
  return c;
}

unsigned Throttle::messages_per_connection(const std::string& host) const {
  const State* s = find(host);
  return s ? s->limits.messages_per_connection : 0;
}

unsigned Throttle::in_flight(const std::string& host) const {
  const State* s = find(host);
  return s && s->pace > 0 ? 1 : unbounded;
}

std::int64_t Throttle::hold_until_ms(const std::string& host, State& s, std::int64_t now_ms) {
  const std::int64_t now = seconds_of(now_ms);
  QuotaWindow& w = store_.at(host, s.limits, now);
  std::int64_t until = 0;
  if (w.held_until > now) until = w.held_until * 1000;
  if (s.limits.daily > 0 && w.start != 0 && w.count >= s.limits.daily)
    until = std::max(until, window_end(s.limits, w.start) * 1000);
  return until > now_ms ? until : 0;
}

std::int64_t Throttle::ready_at(const std::string& host, std::int64_t now_ms) {
  State* s = find(host);
  if (!s) return 0;
  if (std::int64_t hold = hold_until_ms(host, *s, now_ms)) return hold;
  if (s->paused_until > now_ms) return s->paused_until;
  s->paused_until = 0;
  if (s->cap && now_ms >= s->cap_until) {
    // Try one more connection than the host took last time.
    ++s->cap;
    s->cap_until = now_ms + cap_ms;
    if (s->cap >= s->ceiling) s->cap = 0;
  }
  if (std::int64_t wait = s->bucket.wait_ms(now_ms)) return now_ms + wait;
  return 0;
}

void Throttle::sent(const std::string& host, std::size_t recipients, std::int64_t now_ms) {
  State* s = find(host);
  if (!s) return;
  s->bucket.take(now_ms);
  // What the host takes is measured over busy stretches: after an idle gap (no mail for it, or a
  // hold) the count starts again, so that a trickle of cron mail does not read as a slow host.
  const std::int64_t gap = std::max<std::int64_t>(idle_gap_ms, s->pace > 0 ? static_cast<std::int64_t>(3000 / s->pace) : 0);
  if (s->mark_ms == 0 || (s->last_sent_ms != 0 && now_ms - s->last_sent_ms > gap)) {
    s->mark_ms = now_ms;
    s->sent_since_mark = 0;
  }
  s->last_sent_ms = now_ms;
  ++s->sent_since_mark;
  if (s->limits.daily > 0) {
    QuotaWindow& w = store_.at(host, s->limits, seconds_of(now_ms));
    if (w.start == 0) w.start = seconds_of(now_ms);
    w.count += recipients;
    persist();
  }
}

bool Throttle::held(const std::string& host, std::int64_t now_ms) {
  State* s = find(host);
  if (!s) return false;
  return hold_until_ms(host, *s, now_ms) != 0 || s->paused_until - now_ms > hold_after_ms;
}

std::int64_t Throttle::until_ms(const std::string& host, std::int64_t now_ms) {
  State* s = find(host);
  if (!s) return 0;
  std::int64_t u = std::max(hold_until_ms(host, *s, now_ms), s->paused_until);
  return u > now_ms ? u : 0;
}

std::string Throttle::why(const std::string& host, std::int64_t now_ms) {
  for (const auto& v : view(now_ms))
    if (v.host == host) return v.reason;
  return {};
}

bool Throttle::throttled(const std::string& host, const std::string& text, std::int64_t now_ms, bool at_connect,
                         std::size_t open) {
  State* s = find(host);
  if (!s) return false;
  s->reason = text;
  if (s->paused_until > now_ms) {
    // An echo of the burst that caused the pause; one more refused connection lowers the cap.
    if (at_connect && s->cap > 1) --s->cap;
    return false;
  }
  s->pause_ms = s->pause_ms == 0 ? min_pause_ms : std::min(max_pause_ms, s->pause_ms * 2);
  s->paused_until = now_ms + s->pause_ms;
  s->probing = true;
  s->concurrency = std::max(1.0, s->concurrency / 2);
  if (at_connect) {
    s->cap = static_cast<unsigned>(std::max<std::size_t>(1, open > 0 ? open - 1 : 1));
    s->cap_until = now_ms + cap_ms;
    s->concurrency = std::min<double>(s->concurrency, s->cap);
    return true;  // too many connections says nothing about the pace
  }
  const std::int64_t elapsed = now_ms - s->mark_ms;
  if (s->limits.rate > 0) {
    s->pace = std::max(s->limits.rate / 16, s->pace / 2);
  } else if (s->mark_ms != 0 && s->sent_since_mark >= 10 && elapsed > 0) {
    // No rate configured: what the host took since its previous refusal is its allowance, the
    // knee. Once paced, the pace the refusal came at is (what it took averages in the climb up to
    // it), unless the host took far less than that pace allowed (the queue ran dry meanwhile).
    const double took = static_cast<double>(s->sent_since_mark) * 1000.0 / static_cast<double>(elapsed);
    s->knee = s->pace > 0 ? std::min(s->pace, 1.2 * took) : took;
    s->pace = s->knee * 0.95;
    s->learned = true;
  } else if (s->pace > 0) {
    s->pace = std::max(s->pace / 2, 1.0 / 60);
  }
  s->mark_ms = now_ms;
  s->sent_since_mark = 0;
  s->bucket.set_rate(s->pace);
  return true;
}

bool Throttle::quota(const std::string& host, const std::string& text, std::int64_t now_ms) {
  State* s = find(host);
  if (!s) return false;
  s->quota_reason = text;
  const std::int64_t now = seconds_of(now_ms);
  QuotaWindow& w = store_.at(host, s->limits, now);
  if (w.held_until > now) return false;
  w.held_until = quota_release(s->limits, now);
  persist();
  return true;
}

bool Throttle::succeeded(const std::string& host, std::int64_t now_ms) {
  State* s = find(host);
  if (!s) return false;
  const bool recovered = s->probing || !s->quota_reason.empty();
  s->probing = false;
  s->pause_ms /= 2;
  if (s->pause_ms < min_pause_ms) s->pause_ms = 0;
  s->concurrency = std::min<double>(s->ceiling, s->concurrency + 1.0 / s->concurrency);
  if (s->cap) s->concurrency = std::min<double>(s->concurrency, s->cap);
  if (s->limits.rate > 0) {
    s->pace = std::min(s->limits.rate, s->pace + s->limits.rate / 50);
  } else if (s->pace > 0) {
    s->pace *= learned_growth(s->pace, s->knee);
  }
  s->bucket.set_rate(s->pace);
  if (!s->quota_reason.empty()) {
    s->quota_reason.clear();
    QuotaWindow& w = store_.at(host, s->limits, seconds_of(now_ms));
    if (w.held_until != 0) {
      w.held_until = 0;
      persist();
    }
  }
  if (s->pause_ms == 0 && s->cap == 0 && s->concurrency >= s->ceiling && (s->limits.rate <= 0 || s->pace >= s->limits.rate))
    s->reason.clear();
  return recovered;
}

std::vector<HostView> Throttle::view(std::int64_t now_ms) {
  std::vector<HostView> out;
  const std::int64_t now = seconds_of(now_ms);
  for (auto& [host, s] : hosts_) {
    HostView v;
    v.host = host;
    const unsigned c = concurrency(host);
    v.concurrency = c == unbounded ? s.ceiling : c;
    if (s.pace > 0) {
      if (s.limits.rate > 0 && s.pace >= s.limits.rate) v.rate = s.limits.rate_text;
      else v.rate = (s.learned ? "learned " : "") + pace_text(s.pace);
    }
    QuotaWindow& w = store_.at(host, s.limits, now);
    if (w.held_until > now) {
      v.reason = "quota: " + (s.quota_reason.empty() ? std::string("held after a quota answer") : s.quota_reason);
      v.until = w.held_until;
    } else if (s.limits.daily > 0 && w.start != 0 && w.count >= s.limits.daily) {
      v.reason = "daily limit " + std::to_string(s.limits.daily) + " reached";
      v.until = window_end(s.limits, w.start);
    } else if (s.paused_until > now_ms) {
      v.reason = "throttled: " + s.reason;
      v.until = ceil_seconds(s.paused_until);
    } else if (!s.reason.empty()) {
      v.reason = "throttled: " + s.reason;
    }
    out.push_back(std::move(v));
  }
  return out;
}

void apply_pace(const HostView& v, HostStatus& s) {
  s.concurrency = v.concurrency;
  s.rate = v.rate;
  s.reason = v.reason;
  if (v.reason.empty()) return;
  const bool held = v.reason.rfind("quota:", 0) == 0 || v.reason.rfind("daily limit", 0) == 0;
  if (held) {
    s.state = "held";
  } else if (s.state == "up") {
    s.state = "slowed";
  } else {
    return;  // backing off: its own until stays
  }
  if (v.until > 0) s.until = v.until;
  else s.until.reset();
}

void Throttle::persist() {
  Status st = store_.save();
  if (st.ok()) {
    save_error_.clear();
    return;
  }
  std::string text = st.error().message();
  if (text != save_error_) {
    save_error_ = text;
    save_error_new_ = true;
  }
}

std::string Throttle::save_error() {
  if (!save_error_new_) return {};
  save_error_new_ = false;
  return save_error_;
}

}  // namespace nullq::send

// The flusher's side of host pacing (issue 19; DESIGN.md: host state lives with the host).
//
// A throttling answer ("421 4.7.0 Try again later", "450 4.7.1 too much mail") slows the smart
// host down (send/throttle.hpp) and puts the message back to it: it goes again once the host's
// pause is over, with no attempt charged to it and its lifetime clock untouched. A quota answer
// ("550 5.4.5 Daily user sending limit exceeded") is never permanent for the message: the host
// is held until the quota resets and the message waits in the queue, uncharged, bounced only by
// its own lifetime. Each change of a host's state is logged once, not once per message.
#include <ctime>

#include "flusher_impl.hpp"
#include "nullq/clock_text.hpp"
#include "nullq/printable.hpp"
#include "nullq/throttle_reply.hpp"

namespace nullq::send {

namespace {

// How often one message is put back to a host that keeps throttling before it waits in the
// queue instead (uncharged): a bound on the time a message stays in memory.
constexpr unsigned max_paced = 50;

std::string utc_time(std::int64_t unix_s) { return clock_text(unix_s, "%Y-%m-%d %H:%M:%SZ", true); }

}  // namespace

std::int64_t Flusher::unix_ms() const {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

void Flusher::apply_pacing() {
  const std::string file = cfg_.state_dir.empty() ? std::string() : cfg_.state_dir + "/limits";
  if (file != throttle_.state_file()) {
    throttle_.set_state_file(file);
    if (Status st = throttle_.load(); !st.ok())
      log_line(Priority::warning, "daily counts start from 0: " + st.error().message());
  }
  throttle_.configure(cfg_.smarthosts);
  if (dispatcher_) dispatcher_->set_throttle(&throttle_, [this] { return unix_ms(); });
}

void Flusher::arm_pace_timer() {
  if (!pace_timer_) return;
  pace_timer_.stop();
  const std::int64_t at = dispatcher_->paced_until();
  if (at == 0) return;
  std::int64_t delay = at - unix_ms();
  if (delay < 1) delay = 1;
  pace_timer_.start(std::chrono::milliseconds(delay));
}

std::string Flusher::pacing_status() {
  std::string out;
  for (const auto& v : throttle_.view(unix_ms())) {
    if (v.reason.empty()) continue;
    out += "; " + v.host + " " + v.reason.substr(0, v.reason.find(':'));
    if (v.until) out += " until " + utc_time(v.until);
  }
  return out;
}

bool Flusher::paced_outcome(std::uint64_t tag, client::Outcome& o) {
  auto it = active_.find(tag);
  if (it == active_.end()) return true;
  Active& a = it->second;
  const config::SmartHost& h = router_->hosts()[a.hosts[a.host_index]];
  const Target t = a.route->targets[a.target_index];
  const std::int64_t now = unix_ms();
  if (o.host_held) {
    // Held while it waited for its turn: the next smart host, or the queue (uncharged).
    a.any_temporary = true;
    a.last_error = h.text + ": " + throttle_.why(h.text, now);
    ++a.host_index;
    next_host(tag);
    return true;
  }
  bool throttled = false, quota = false, other = false, delivered = false;
  std::string text;
  for (auto& r : o.replies) {
    if (r.verdict == proto::Verdict::ok) {
      delivered = true;
      continue;
    }
    const proto::ReplyClass c = proto::classify_reply(r.text, r.verdict == proto::Verdict::permanent);
    if (c == proto::ReplyClass::quota) {
      quota = true;
      r.verdict = proto::Verdict::temporary;  // the account's allowance, not the message
    } else if (c == proto::ReplyClass::throttle && r.verdict == proto::Verdict::temporary) {
      throttled = true;
    } else {
      other = true;
      continue;
    }
    if (text.empty()) text = r.text;
  }
  if (!throttled && !quota) {
    if (delivered && throttle_.succeeded(h.text, now)) {
      auto v = throttle_.view(now);
      for (const auto& x : v)
        if (x.host == h.text)
          log_line(Priority::notice, h.text + ": takes mail again after throttling (concurrency " +
                                         std::to_string(x.concurrency) + (x.rate.empty() ? "" : ", rate " + x.rate) + ")");
    }
    return false;
  }
  if (quota && throttle_.quota(h.text, text, now)) {
    log_line(Priority::warning, h.text + ": quota reached (" + printable(text) + "); held until " +
                                    utc_time(throttle_.until_ms(h.text, now) / 1000) +
                                    "; nothing is bounced, its messages wait without an attempt charged to them");
  } else if (throttled && !quota &&
             throttle_.throttled(h.text, text, now, o.connect_failed || o.setup_failed, dispatcher_->host_sessions(h.text))) {
    for (const auto& v : throttle_.view(now))
      if (v.host == h.text)
        log_line(Priority::warning, h.text + ": throttled (" + printable(text) + "); slowed to " +
                                        std::to_string(v.concurrency) + " connection(s)" +
                                        (v.rate.empty() ? "" : ", rate " + v.rate) + ", pause until " +
                                        utc_time(v.until) + "; its messages wait without an attempt charged to them");
  }
  if (std::string e = throttle_.save_error(); !e.empty()) log_line(Priority::err, "daily counts: " + e);
  const std::int64_t ms = now_ms() - a.attempt_started_ms;
  if (delivered || other) {
    // Some recipients had an answer about them: the usual bookkeeping, but the ones the host's
    // pace or quota kept do not move the message's backoff.
    a.uncharged = !other;
    if (o.connect_failed || o.setup_failed) {
      o.connect_failed = o.setup_failed = false;  // the address is fine; the answer was the account's
    }
    return false;
  }
  // Nothing but pace or quota answers: nothing was said about the message.
  log_attempt(a, t.endpoint.text, 'Z', nullptr, text + " (the host's pace; not charged)", ms);
  if (!throttle_.held(h.text, now) && a.paced < max_paced) {
    ++a.paced;
    a.attempt_started_ms = now_ms();
    dispatcher_->submit(t, Limits{h.connections, h.pipeline, h.text}, a.msg,
                        [this, tag](client::Outcome next) { on_outcome(tag, std::move(next)); });
    return true;
  }
  a.any_temporary = true;
  a.last_error = h.text + " (" + t.endpoint.text + "): " + text;
  ++a.host_index;
  next_host(tag);
  return true;
}

}  // namespace nullq::send

// send/throttle.hpp — what each smart host allows right now: concurrency, pace, daily count,
// and the pauses and holds its throttling and quota answers ask for (issue 19).
//
// Purpose:   the one place host pacing lives (CONVENTIONS.md: state of a smart host beside the
//            dispatcher). The dispatcher asks ready_at() before it hands a message to a host and
//            concurrency() before it opens a connection, and tells sent(); the delivery code
//            tells throttled(), quota() and succeeded(), and skips a host that is held().
//              throttled: the host said "too fast". Concurrency halves (floor 1), the pace halves,
//                         the host pauses (250 ms, doubling while refusals go on, halving after each
//                         success, at most 15 min), then probes with one connection. Successes
//                         raise concurrency by 1/concurrency each and the pace by 1/50 of the
//                         rate each (additive increase, multiplicative decrease, as Postfix's
//                         concurrency feedback).
//                         A host with no `rate` gets one at its throttling answers, the knee
//                         less 5%: the pace it took since the previous one (pause included,
//                         idle gaps not), or once paced the pace the answer came at (at most
//                         1.2 times what it took). Successes raise it by 1% each while it is
//                         under 90% of the knee, by 0.02% up to the knee, by 0.2% past it.
//                         A refused connection (421 banner: too many connections) caps the
//                         concurrency at the connections that were taken, for 10 minutes,
//                         then tries one more; it does not touch the pace.
//              quota:     the account is out of its allowance: held until the next quota reset.
//              daily:     `daily` recipients handed over in the window: held until it ends.
//            Refusals that come back from messages already on their way during a pause change
//            nothing, so one burst is one step down.
// Trust:     server texts are sanitised by the client; they go only into `why`.
// Errors:    the state file (QuotaStore) failing to save is reported once through save_error().
// Threading: loop thread only. Times are unix milliseconds, passed in.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "nullq/config.hpp"
#include "nullq/send/quota.hpp"
#include "nullq/send/rate.hpp"
#include "nullq/send/status_file.hpp"

namespace nullq::send {

// For `nullq status` and the status file: one smart host's pace now.
struct HostView {
  std::string host;          // "smtp://smtp.office365.com:587"
  unsigned concurrency = 0;  // connections it may have now
  std::string rate;          // "30/min", "learned 12.4/s", "" = unlimited
  std::string reason;        // "throttled: 421 4.7.0 ...", "quota: 550 5.4.5 ...",
                             // "daily limit 10000 reached"; "" = not slowed
  std::int64_t until = 0;    // unix s the pause or hold ends; 0 = none
};

// `v` into the status file's entry of its host: its connections, rate and reason, and the state
// `held` (a quota answer or the daily count: nothing goes until `until`) or `slowed` (throttling
// answers). A host backing off after failures of its own keeps that state unless it is held.
void apply_pace(const HostView& v, HostStatus& s);

class Throttle {
 public:
  static constexpr unsigned unbounded = std::numeric_limits<unsigned>::max();
  static constexpr std::int64_t min_pause_ms = 250;
  static constexpr std::int64_t max_pause_ms = 15 * 60 * 1000;
  // A pause longer than this (or a hold) makes messages skip the host and wait in the queue
  // (uncharged) instead of waiting in memory for it.
  static constexpr std::int64_t hold_after_ms = 30 * 1000;
  static constexpr std::int64_t cap_ms = 10 * 60 * 1000;
  // No message for the host for this long (or three of its paced intervals): what it takes is
  // measured afresh from the next one.
  static constexpr std::int64_t idle_gap_ms = 10 * 1000;

  // The daily counts live in `state_file` ("" = memory only); loading it is the caller's.
  explicit Throttle(std::string state_file = {}) : store_(std::move(state_file)) {}
  void set_state_file(std::string path) { store_ = QuotaStore(std::move(path)); }
  Status load() { return store_.load(); }
  const std::string& state_file() const { return store_.path(); }
  // The configured hosts (at start and on reload): state of hosts that stay is kept.
  void configure(const std::vector<config::SmartHost>& hosts);

  // ---- the dispatcher ----
  // Connections the host may have now; `unbounded` when only the per-address bound applies.
  unsigned concurrency(const std::string& host) const;
  unsigned messages_per_connection(const std::string& host) const;
  // Messages one connection may have in flight (QMTP pipelining): `unbounded` (the configured
  // pipeline) until the host has a pace, then 1: the pace needs no more, and a throttling answer
  // then refuses at most one package per connection, not a pipeline full.
  unsigned in_flight(const std::string& host) const;
  // 0 when a message may be handed to the host now, else the unix ms when one may.
  std::int64_t ready_at(const std::string& host, std::int64_t now_ms);
  // A message with `recipients` recipients was handed to the host.
  void sent(const std::string& host, std::size_t recipients, std::int64_t now_ms);

  // ---- the delivery code ----
  bool held(const std::string& host, std::int64_t now_ms);
  std::int64_t until_ms(const std::string& host, std::int64_t now_ms);  // 0 = not paused or held
  std::string why(const std::string& host, std::int64_t now_ms);
  // True when this answer changed the host's state (log it); false for the echoes of one burst.
  // `at_connect`: the answer refused the connection itself (a 421 banner: too many connections);
  // `open`: the host's connections not yet closed, the refused one included. The connections
  // that were taken are then the host's bound for a while (cap_ms), one more tried after it.
  bool throttled(const std::string& host, const std::string& text, std::int64_t now_ms, bool at_connect = false,
                 std::size_t open = 0);
  bool quota(const std::string& host, const std::string& text, std::int64_t now_ms);
  // True when the host was slowed or paused before (log the recovery once).
  bool succeeded(const std::string& host, std::int64_t now_ms);

  std::vector<HostView> view(std::int64_t now_ms);
  // The save error of the state file, once per new error text ("" = nothing new to say).
  std::string save_error();

 private:
  struct State {
    config::HostLimits limits;
    unsigned ceiling = 4;             // the configured connections
    double concurrency = 4;
    bool probing = false;             // after a pause: one connection until a success
    TokenBucket bucket;
    double pace = 0;                  // messages/s now; 0 = unlimited
    bool learned = false;             // pace learned from throttling (no `rate`)
    double knee = 0;                  // learned: messages/s the host took up to its last refusal
    std::int64_t pause_ms = 0;        // the current pause length, 0 = none
    std::int64_t paused_until = 0;    // unix ms
    std::int64_t mark_ms = 0;         // unix ms: the last throttling answer (or first use)
    std::uint64_t sent_since_mark = 0;
    std::int64_t last_sent_ms = 0;    // unix ms: the last message handed to it
    unsigned cap = 0;                 // connections a 421 banner allowed; 0 = none
    std::int64_t cap_until = 0;
    std::string reason;               // the last throttling answer
    std::string quota_reason;         // the quota answer that holds it
  };
  State* find(const std::string& host);
  const State* find(const std::string& host) const;
  std::int64_t hold_until_ms(const std::string& host, State& s, std::int64_t now_ms);
  void persist();

  std::map<std::string, State> hosts_;
  QuotaStore store_;
  std::string save_error_;
  bool save_error_new_ = false;
};

}  // namespace nullq::send

// send/rate.hpp — a token bucket: at most `rate` messages per second, a burst of at most `burst`.
//
// Purpose:   pace the messages handed to one smart host (`rate: 30/min`, or the rate learned from
//            its throttling answers). Burst 1 by default: messages go evenly spaced, so that a
//            provider counting in fixed windows (Postfix anvil, a per-minute counter) never sees
//            more than the rate in any window, and a queue burst after an outage does not look
//            like abuse.
// Trust:     none.
// Errors:    none.
// Threading: loop thread only. Times are milliseconds of one clock, passed in.
#pragma once

#include <cstdint>

namespace nullq::send {

class TokenBucket {
 public:
  // per_second 0 = unlimited. Keeps the tokens it has (capped at the new burst).
  void set_rate(double per_second, double burst = 1);
  double rate() const { return rate_; }
  bool unlimited() const { return rate_ <= 0; }
  // Milliseconds until one token is there (0: now).
  std::int64_t wait_ms(std::int64_t now_ms);
  // Takes one token (call when wait_ms() is 0; taking early goes into debt, paid back first).
  void take(std::int64_t now_ms);

 private:
  void refill(std::int64_t now_ms);
  double rate_ = 0;
  double burst_ = 1;
  double tokens_ = 1;
  std::int64_t last_ms_ = -1;
};

}  // namespace nullq::send

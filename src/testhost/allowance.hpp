// allowance.hpp — the test host's provider-like limits (Options::limits), shared by its QMTP and
// SMTP sides (not part of the API).
//
// Purpose:   decide, per connection and per message, whether the server takes it or answers the
//            way providers do when a limit is reached, and count those refusals for the tests
//            and the bench (refused attempts per 1000 messages).
// Trust:     none: the counts are the server's own.
// Errors:    none.
// Threading: every method takes the allowance's own mutex; called from connection threads.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "nullq/testhost.hpp"

namespace nullq::testhost {

class Allowance {
 public:
  explicit Allowance(ServerLimits limits) : l_(limits), start_(std::chrono::steady_clock::now()) {}

  // A connection opens: "" to take it, else the line to refuse it with (then no release()).
  std::string connect();
  void release();
  // The connection's `index`-th message (1-based) starts: "" to take it, else the refusal line
  // ("421 ...": close the connection after it; "450 ..."; "550 5.4.5 ...").
  std::string message(unsigned index);
  // A RCPT after `accepted` recipients of the same message: "" to take it, else the answer.
  std::string recipient(std::size_t accepted) const;
  unsigned refusals() const;
  unsigned first_run() const;  // refusals from the first to the next message taken

 private:
  std::int64_t now_ms() const;
  ServerLimits l_;
  std::chrono::steady_clock::time_point start_;
  mutable std::mutex mu_;
  unsigned open_ = 0;
  std::int64_t rate_window_ = -1;
  unsigned rate_count_ = 0;
  std::int64_t quota_window_ = -1;
  unsigned quota_count_ = 0;
  unsigned refusals_ = 0;
  unsigned first_run_ = 0;
  bool taken_after_refusal_ = false;
  void refused();  // under mu_
};

}  // namespace nullq::testhost

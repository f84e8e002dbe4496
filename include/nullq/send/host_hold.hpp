// send/host_hold.hpp — smart hosts held after failures that are theirs, not the messages'.
//
// Purpose:   a smart host that could not take a message for a reason of its own (every address
//            refused or failed before MAIL: TLS, AUTH, an OAuth token that cannot be had; a DNS
//            failure) is held for a pause that doubles from retry_min to retry_max while the
//            failures go on, and released by the first delivery through it. Messages skip a held
//            host, and a message that no smart host took for such reasons waits for the first
//            host to come out of its hold, without an attempt charged to it (DESIGN.md: host
//            state lives with the host). Log lines come from the caller, on the changes this
//            reports (started failing, works again).
// Trust:     none.
// Errors:    none.
// Threading: loop thread only. Times are unix seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace nullq::send {

class HostHold {
 public:
  HostHold(std::chrono::seconds min, std::chrono::seconds max) : min_(min), max_(max) {}
  void set_limits(std::chrono::seconds min, std::chrono::seconds max) {
    min_ = min;
    max_ = max;
  }

  // The host failed a message at `now`. While a hold runs, more failures (messages that were
  // already on their way) change nothing; after it, the failure of the probe doubles the pause.
  // Returns true when the host was not failing before (the caller logs that once).
  bool failed(const std::string& host, std::int64_t now, const std::string& why);
  // A message went through it. Returns true when it was failing (the caller logs the recovery).
  bool succeeded(const std::string& host);
  bool held(const std::string& host, std::int64_t now) const { return until(host) > now; }
  std::int64_t until(const std::string& host) const;  // 0 when not failing
  std::chrono::seconds pause(const std::string& host) const;  // the current pause, 0 when not failing
  std::string why(const std::string& host) const;
  void clear() { hosts_.clear(); }

 private:
  struct State {
    std::int64_t until = 0;
    std::chrono::seconds pause{0};
    std::string why;
  };
  std::chrono::seconds min_, max_;
  std::unordered_map<std::string, State> hosts_;
};

}  // namespace nullq::send

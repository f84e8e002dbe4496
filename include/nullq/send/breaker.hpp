// send/breaker.hpp — circuit breaker: a server address that refused a connection is skipped for a
// cool-down instead of being tried once per queued message.
//
// Purpose:   remember, per server address ("127.0.0.1:209"), until when it is not to be tried.
// Trust:     none.
// Errors:    none.
// Threading: loop thread only. Times are milliseconds of any monotonic clock (uv_now).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace nullq::send {

class Breaker {
 public:
  explicit Breaker(std::chrono::milliseconds cooldown) : cooldown_(cooldown) {}
  void set_cooldown(std::chrono::milliseconds cooldown) { cooldown_ = cooldown; }

  // False while the address is cooling down. Once the cool-down is over the address is tried
  // again (half-open); another refusal re-opens the breaker, a connection closes it.
  bool allowed(const std::string& addr, std::int64_t now_ms) const;
  void record_refused(const std::string& addr, std::int64_t now_ms);
  void record_connected(const std::string& addr);
  // 0 when closed.
  std::int64_t open_until(const std::string& addr) const;
  std::size_t open_count(std::int64_t now_ms) const;
  void clear() { open_.clear(); }

 private:
  std::chrono::milliseconds cooldown_;
  std::unordered_map<std::string, std::int64_t> open_;  // addr -> until (ms)
};

}  // namespace nullq::send

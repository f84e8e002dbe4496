// Circuit breaker per server address (see include/nullq/send/breaker.hpp).
#include "nullq/send/breaker.hpp"

namespace nullq::send {

bool Breaker::allowed(const std::string& addr, std::int64_t now_ms) const {
  auto it = open_.find(addr);
  return it == open_.end() || now_ms >= it->second;
}

void Breaker::record_refused(const std::string& addr, std::int64_t now_ms) {
  open_[addr] = now_ms + cooldown_.count();
}

void Breaker::record_connected(const std::string& addr) { open_.erase(addr); }

std::int64_t Breaker::open_until(const std::string& addr) const {
  auto it = open_.find(addr);
  return it == open_.end() ? 0 : it->second;
}

std::size_t Breaker::open_count(std::int64_t now_ms) const {
  std::size_t n = 0;
  for (const auto& [addr, until] : open_) {
    if (now_ms < until) ++n;
  }
  return n;
}

}  // namespace nullq::send

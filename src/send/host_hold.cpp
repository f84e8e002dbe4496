// Smart hosts held after failures of their own (see include/nullq/send/host_hold.hpp).
#include "nullq/send/host_hold.hpp"

#include <algorithm>

namespace nullq::send {

bool HostHold::failed(const std::string& host, std::int64_t now, const std::string& why) {
  auto [it, fresh] = hosts_.try_emplace(host);
  State& s = it->second;
  if (!fresh && now < s.until) return false;
  s.pause = fresh ? std::max<std::chrono::seconds>(min_, std::chrono::seconds(1))
                  : std::min<std::chrono::seconds>(s.pause * 2, std::max(max_, min_));
  s.until = now + s.pause.count();
  s.why = why;
  return fresh;
}

bool HostHold::succeeded(const std::string& host) { return hosts_.erase(host) > 0; }

std::int64_t HostHold::until(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? 0 : it->second.until;
}

std::chrono::seconds HostHold::pause(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? std::chrono::seconds(0) : it->second.pause;
}

std::string HostHold::why(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? std::string() : it->second.why;
}

}  // namespace nullq::send

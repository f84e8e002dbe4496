// Token bucket (see include/nullq/send/rate.hpp).
#include "nullq/send/rate.hpp"

#include <algorithm>
#include <cmath>

namespace nullq::send {

void TokenBucket::set_rate(double per_second, double burst) {
  rate_ = per_second > 0 ? per_second : 0;
  burst_ = burst >= 1 ? burst : 1;
  tokens_ = std::min(tokens_, burst_);
}

void TokenBucket::refill(std::int64_t now_ms) {
  if (last_ms_ < 0 || now_ms < last_ms_) last_ms_ = now_ms;  // first use, or the clock went back
  tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * rate_ / 1000.0);
  last_ms_ = now_ms;
}

std::int64_t TokenBucket::wait_ms(std::int64_t now_ms) {
  if (unlimited()) return 0;
  refill(now_ms);
  if (tokens_ >= 1 - 1e-9) return 0;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((1 - tokens_) * 1000.0 / rate_)));
}

void TokenBucket::take(std::int64_t now_ms) {
  if (unlimited()) return;
  refill(now_ms);
  tokens_ -= 1;
}

}  // namespace nullq::send

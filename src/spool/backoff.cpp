#include <algorithm>

#include "nullq/spool.hpp"

namespace nullq::spool {

std::chrono::seconds backoff(std::uint32_t attempts, std::chrono::seconds min, std::chrono::seconds max,
                             std::mt19937& rng) {
  using rep = std::chrono::seconds::rep;
  rep lo = std::max<rep>(min.count(), 1);
  rep hi = std::max<rep>(max.count(), lo);
  rep base = lo;
  for (std::uint32_t i = 1; i < attempts && base < hi; ++i) base *= 2;
  base = std::min(base, hi);
  // +-25% jitter so that messages queued together do not retry together.
  rep spread = base / 4;
  rep jitter = spread > 0 ? static_cast<rep>(rng() % static_cast<std::uint32_t>(2 * spread + 1)) - spread : 0;
  return std::chrono::seconds(std::clamp<rep>(base + jitter, lo, hi));
}

}  // namespace nullq::spool

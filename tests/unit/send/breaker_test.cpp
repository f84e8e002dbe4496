#include "nullq/send/breaker.hpp"

#include <gtest/gtest.h>

namespace nullq::send {
namespace {

TEST(Breaker, RefusedAddressIsSkippedForTheCooldownThenTriedAgain) {
  Breaker b(std::chrono::milliseconds(60'000));
  EXPECT_TRUE(b.allowed("127.0.0.1:209", 1000));
  b.record_refused("127.0.0.1:209", 1000);
  EXPECT_FALSE(b.allowed("127.0.0.1:209", 1000));
  EXPECT_FALSE(b.allowed("127.0.0.1:209", 60'999));
  EXPECT_TRUE(b.allowed("127.0.0.1:628", 2000)) << "other addresses are unaffected";
  EXPECT_EQ(b.open_count(2000), 1u);
  EXPECT_TRUE(b.allowed("127.0.0.1:209", 61'000)) << "half-open after the cool-down";
  b.record_refused("127.0.0.1:209", 61'000);
  EXPECT_FALSE(b.allowed("127.0.0.1:209", 61'001)) << "refused again: open again";
  b.record_connected("127.0.0.1:209");
  EXPECT_TRUE(b.allowed("127.0.0.1:209", 61'002));
  EXPECT_EQ(b.open_until("127.0.0.1:209"), 0);
  EXPECT_EQ(b.open_count(61'002), 0u);
}

TEST(Breaker, ZeroCooldownNeverSkips) {
  Breaker b(std::chrono::milliseconds(0));
  b.record_refused("[::1]:209", 5);
  EXPECT_TRUE(b.allowed("[::1]:209", 5));
}

}  // namespace
}  // namespace nullq::send

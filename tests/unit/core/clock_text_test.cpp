// clock_text: unix seconds as text, in UTC and in the local zone (TZ set by the test).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "nullq/clock_text.hpp"

namespace {

TEST(ClockText, UtcWithTheFormatGiven) {
  EXPECT_EQ(nullq::clock_text(0, "%Y-%m-%d %H:%M:%S", true), "1970-01-01 00:00:00");
  EXPECT_EQ(nullq::clock_text(1796666537, "%Y-%m-%d %H:%M:%SZ", true), "2026-12-07 18:02:17Z");
  EXPECT_EQ(nullq::clock_text(1796666537, "%Y-%m-%d %H:%M:%S UTC", true), "2026-12-07 18:02:17 UTC");
}

TEST(ClockText, LocalTimeByDefault) {
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  ::setenv("TZ", "EST5", 1);  // UTC-5 all year
  ::tzset();
  EXPECT_EQ(nullq::clock_text(1796666537), "2026-12-07 13:02:17");
  if (old) ::setenv("TZ", saved.c_str(), 1);
  else ::unsetenv("TZ");
  ::tzset();
}

TEST(ClockText, AFormatTooLongGivesNothing) {
  EXPECT_EQ(nullq::clock_text(0, "%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y", true), "");
}

}  // namespace

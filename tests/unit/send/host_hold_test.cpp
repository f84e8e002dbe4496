// Smart hosts held after failures of their own: the pause doubles, a delivery releases it.
#include <gtest/gtest.h>

#include "nullq/send/host_hold.hpp"

namespace nullq::send {
namespace {

using std::chrono::seconds;

TEST(HostHold, FailuresHoldTheHostWithADoublingPause) {
  HostHold h(seconds(60), seconds(300));
  EXPECT_FALSE(h.held("smtp://a", 1000));
  EXPECT_TRUE(h.failed("smtp://a", 1000, "invalid_grant")) << "the first failure is a change of state";
  EXPECT_TRUE(h.held("smtp://a", 1000));
  EXPECT_EQ(h.until("smtp://a"), 1060);
  EXPECT_EQ(h.why("smtp://a"), "invalid_grant");
  // Messages already on their way fail too: nothing changes during the hold.
  EXPECT_FALSE(h.failed("smtp://a", 1030, "again"));
  EXPECT_EQ(h.until("smtp://a"), 1060);
  EXPECT_FALSE(h.held("smtp://a", 1060));
  // The probe after the hold fails: twice the pause, up to the maximum.
  EXPECT_FALSE(h.failed("smtp://a", 1060, "again"));
  EXPECT_EQ(h.until("smtp://a"), 1180);
  EXPECT_FALSE(h.failed("smtp://a", 1180, "again"));
  EXPECT_EQ(h.pause("smtp://a"), seconds(240));
  EXPECT_FALSE(h.failed("smtp://a", 1420, "again"));
  EXPECT_EQ(h.pause("smtp://a"), seconds(300));
  EXPECT_FALSE(h.held("smtp://b", 1420)) << "hosts are held one by one";
  EXPECT_TRUE(h.succeeded("smtp://a"));
  EXPECT_FALSE(h.held("smtp://a", 1420));
  EXPECT_FALSE(h.succeeded("smtp://a")) << "already working: no change to log";
  EXPECT_TRUE(h.failed("smtp://a", 2000, "x")) << "starts again from the minimum";
  EXPECT_EQ(h.until("smtp://a"), 2060);
}

}  // namespace
}  // namespace nullq::send

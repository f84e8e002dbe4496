// Host pacing: token bucket, AIMD after throttling answers, quota holds, the daily count kept in
// its state file, and what `nullq status` is given (HostView).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "nullq/send/quota.hpp"
#include "nullq/send/rate.hpp"
#include "nullq/send/throttle.hpp"

namespace nullq::send {
namespace {

constexpr std::int64_t t0 = 1'800'000'000'000;  // unix ms

config::SmartHost host(const std::string& text, unsigned connections = 4) {
  config::SmartHost h;
  h.protocol = config::Protocol::smtp;
  h.host = "relay.example.org";
  h.text = text;
  h.connections = connections;
  return h;
}

const HostView& view_of(Throttle& t, const std::string& host, std::int64_t now, std::vector<HostView>& keep) {
  keep = t.view(now);
  for (const auto& v : keep)
    if (v.host == host) return v;
  ADD_FAILURE() << "no view for " << host;
  return keep.front();
}

TEST(TokenBucket, PacesEvenly) {
  TokenBucket b;
  EXPECT_EQ(b.wait_ms(t0), 0) << "unlimited";
  b.set_rate(10);  // one every 100 ms
  EXPECT_EQ(b.wait_ms(t0), 0);
  b.take(t0);
  EXPECT_EQ(b.wait_ms(t0), 100);
  EXPECT_EQ(b.wait_ms(t0 + 60), 40);
  EXPECT_EQ(b.wait_ms(t0 + 100), 0);
  b.take(t0 + 100);
  // A long idle time gives one token (burst 1), not a backlog.
  EXPECT_EQ(b.wait_ms(t0 + 10'000), 0);
  b.take(t0 + 10'000);
  EXPECT_EQ(b.wait_ms(t0 + 10'000), 100);
}

TEST(Throttle, UnknownAndUnlimitedHostsAreNeverHeld) {
  Throttle t;
  t.configure({host("smtp://a")});
  EXPECT_EQ(t.ready_at("smtp://a", t0), 0);
  EXPECT_EQ(t.concurrency("smtp://a"), Throttle::unbounded);
  EXPECT_EQ(t.ready_at("smtp://other", t0), 0);
  EXPECT_FALSE(t.held("smtp://a", t0));
  for (int i = 0; i < 1000; ++i) t.sent("smtp://a", 1, t0);
  EXPECT_EQ(t.ready_at("smtp://a", t0), 0);
}

TEST(Throttle, ConfiguredRatePaces) {
  auto h = host("smtp://a");
  h.limits.rate = 0.5;  // 30/min
  h.limits.rate_text = "30/min";
  Throttle t;
  t.configure({h});
  EXPECT_EQ(t.ready_at("smtp://a", t0), 0);
  t.sent("smtp://a", 1, t0);
  EXPECT_EQ(t.ready_at("smtp://a", t0), t0 + 2000);
  EXPECT_EQ(t.ready_at("smtp://a", t0 + 2000), 0);
  std::vector<HostView> keep;
  EXPECT_EQ(view_of(t, "smtp://a", t0, keep).rate, "30/min");
}

TEST(Throttle, ThrottlingHalvesPausesProbesAndRecovers) {
  Throttle t;
  t.configure({host("smtp://a", 8)});
  for (int i = 0; i < 100; ++i) t.sent("smtp://a", 1, t0 + i * 10);  // 100/s for a second
  EXPECT_TRUE(t.throttled("smtp://a", "421 4.7.0 Try again later", t0 + 1000));
  // The echoes of the same burst change nothing.
  EXPECT_FALSE(t.throttled("smtp://a", "421 4.7.0 Try again later", t0 + 1001));
  const std::int64_t end = t0 + 1000 + Throttle::min_pause_ms, mid = t0 + 1000 + Throttle::min_pause_ms / 2;
  EXPECT_EQ(t.ready_at("smtp://a", mid), end) << "paused";
  EXPECT_EQ(t.concurrency("smtp://a"), 1u) << "probing with one connection";
  EXPECT_FALSE(t.held("smtp://a", mid)) << "a short pause waits in memory";
  std::vector<HostView> keep;
  const HostView& v = view_of(t, "smtp://a", mid, keep);
  EXPECT_EQ(v.reason, "throttled: 421 4.7.0 Try again later");
  EXPECT_EQ(v.until, (end + 999) / 1000);
  EXPECT_EQ(v.concurrency, 1u);
  EXPECT_EQ(v.rate.rfind("learned ", 0), 0u) << v.rate;
  // After the pause: paced at the learned rate (~95/s, about 11 ms apart).
  EXPECT_EQ(t.ready_at("smtp://a", end), 0);
  t.sent("smtp://a", 1, end);
  const std::int64_t next = t.ready_at("smtp://a", end);
  EXPECT_GE(next, end + 10);
  EXPECT_LE(next, end + 12);
  EXPECT_TRUE(t.succeeded("smtp://a", t0 + 2005)) << "the probe went through: recovered";
  EXPECT_EQ(t.concurrency("smtp://a"), 4u) << "halved from 8, probing over";
  EXPECT_FALSE(t.succeeded("smtp://a", t0 + 2006));
  for (int i = 0; i < 100; ++i) t.succeeded("smtp://a", t0 + 2010);
  EXPECT_EQ(t.concurrency("smtp://a"), Throttle::unbounded) << "additive increase back to the configured 8";
}

// The learned pace, read back from what `nullq status` shows ("learned 95.0/s").
double learned_pace(Throttle& t, std::int64_t now) {
  std::vector<HostView> keep;
  const std::string rate = view_of(t, "smtp://a", now, keep).rate;
  EXPECT_EQ(rate.rfind("learned ", 0), 0u) << rate;
  return rate.rfind("learned ", 0) == 0 ? std::stod(rate.substr(8)) : 0;
}

TEST(Throttle, ALearnedPaceClimbsFastFarUnderTheKneeAndSlowlyNearIt) {
  Throttle t;
  t.configure({host("smtp://a", 8)});
  for (int i = 0; i < 100; ++i) t.sent("smtp://a", 1, t0 + i * 10);
  ASSERT_TRUE(t.throttled("smtp://a", "450 4.7.1 too much mail", t0 + 1000));  // took 100/s: the knee
  EXPECT_NEAR(learned_pace(t, t0 + 1000), 95.0, 0.1);
  // Refused again at once, with too little sent to measure: the pace halves, the knee stays.
  std::int64_t now = t0 + 2000;
  ASSERT_TRUE(t.throttled("smtp://a", "450 4.7.1 too much mail", now));
  EXPECT_NEAR(learned_pace(t, now), 47.5, 0.1);
  int fast = 0;
  while (learned_pace(t, now) < 90 && fast < 1000) {
    t.succeeded("smtp://a", ++now);
    ++fast;
  }
  EXPECT_LE(fast, 70) << "1% a success far under the knee";
  const double near = learned_pace(t, now);
  for (int i = 0; i < 100; ++i) t.succeeded("smtp://a", ++now);
  EXPECT_LT(learned_pace(t, now), near * 1.03) << "0.02% a success close to it";
  EXPECT_GT(learned_pace(t, now), near * 1.01);
  while (learned_pace(t, now) < 100 && fast < 5000) {
    t.succeeded("smtp://a", ++now);
    ++fast;
  }
  const double past = learned_pace(t, now);
  for (int i = 0; i < 100; ++i) t.succeeded("smtp://a", ++now);
  EXPECT_GT(learned_pace(t, now), past * 1.2) << "0.2% a success past it: the host may allow more now";
}

TEST(Throttle, OnceLearnedTheRefusalsPaceIsTheKneeUnlessTheHostTookFarLess) {
  Throttle t;
  t.configure({host("smtp://a", 8)});
  for (int i = 0; i < 100; ++i) t.sent("smtp://a", 1, t0 + i * 10);
  ASSERT_TRUE(t.throttled("smtp://a", "450 4.7.1 too much mail", t0 + 1000));
  // Paced at 95/s from the end of the pause for 4 s, refused: the knee is that pace, not the
  // average since the last refusal (which counts the pause).
  std::int64_t now = t0 + 1000 + Throttle::min_pause_ms;
  for (int i = 0; i < 380; ++i) {
    now = std::max(now, t.ready_at("smtp://a", now));
    t.sent("smtp://a", 1, now);
  }
  ASSERT_TRUE(t.throttled("smtp://a", "450 4.7.1 too much mail", now));
  EXPECT_NEAR(learned_pace(t, now), 95.0 * 0.95, 1.0);
  // Then only 20 in 5 s: at most 1.2 times that (4.8/s), less 5%.
  now += Throttle::min_pause_ms;
  for (int i = 0; i < 20; ++i) t.sent("smtp://a", 1, now + i * 250);
  now += 5000;
  ASSERT_TRUE(t.throttled("smtp://a", "450 4.7.1 too much mail", now));
  EXPECT_LT(learned_pace(t, now), 5.0);
  EXPECT_GT(learned_pace(t, now), 4.0);
}

TEST(Throttle, ATrickleOfMailBeforeABurstDoesNotReadAsASlowHost) {
  Throttle t;
  t.configure({host("smtp://a", 8)});
  std::int64_t now = t0;
  for (int i = 0; i < 30; ++i, now += 60'000) t.sent("smtp://a", 1, now);  // cron mail, one a minute
  for (int i = 0; i < 100; ++i, now += 10) t.sent("smtp://a", 1, now);    // then a burst at 100/s
  ASSERT_TRUE(t.throttled("smtp://a", "450 4.7.1 too much mail", now));
  EXPECT_GT(learned_pace(t, now), 80.0) << "measured over the burst, not the half hour before it";
}

TEST(Throttle, RefusedConnectionsCapTheConcurrency) {
  Throttle t;
  t.configure({host("smtp://a", 4)});
  const std::string text = "the server refused the session: 421 4.7.0 Error: too many connections";
  ASSERT_TRUE(t.throttled("smtp://a", text, t0, true, 4));  // 4 open, this one refused
  EXPECT_FALSE(t.throttled("smtp://a", text, t0 + 1, true, 3)) << "the second refusal of the burst";
  EXPECT_EQ(t.concurrency("smtp://a"), 1u) << "probing";
  EXPECT_EQ(t.ready_at("smtp://a", t0 + 1000), 0);
  for (int i = 0; i < 50; ++i) t.succeeded("smtp://a", t0 + 1000);
  EXPECT_EQ(t.concurrency("smtp://a"), 2u) << "the two connections the server took";
  std::vector<HostView> keep;
  EXPECT_EQ(view_of(t, "smtp://a", t0 + 1000, keep).rate, "") << "the pace is not touched";
  EXPECT_EQ(t.ready_at("smtp://a", t0 + Throttle::cap_ms), 0);
  for (int i = 0; i < 50; ++i) t.succeeded("smtp://a", t0 + Throttle::cap_ms);
  EXPECT_EQ(t.concurrency("smtp://a"), 3u) << "one more tried after a while";
}

TEST(Throttle, PauseGrowsWhileRefusalsGoOnAndShrinks) {
  Throttle t;
  t.configure({host("smtp://a")});
  std::int64_t now = t0;
  std::int64_t expected = Throttle::min_pause_ms;
  while (expected <= Throttle::hold_after_ms) {
    ASSERT_TRUE(t.throttled("smtp://a", "450 4.7.1 too much mail", now));
    EXPECT_EQ(t.until_ms("smtp://a", now), now + expected);
    EXPECT_FALSE(t.held("smtp://a", now));
    now += expected;
    expected *= 2;
  }
  // A pause past hold_after_ms: the messages wait in the queue instead, uncharged.
  ASSERT_TRUE(t.throttled("smtp://a", "450 4.7.1 too much mail", now));
  EXPECT_TRUE(t.held("smtp://a", now));
  EXPECT_EQ(t.why("smtp://a", now), "throttled: 450 4.7.1 too much mail");
  now += expected;
  EXPECT_FALSE(t.held("smtp://a", now));
  t.succeeded("smtp://a", now);
  ASSERT_TRUE(t.throttled("smtp://a", "450 4.7.1 too much mail", now + 1));
  EXPECT_EQ(t.until_ms("smtp://a", now + 1), now + 1 + expected) << "a success halved the pause, this refusal doubled it";
}

TEST(Throttle, ConfiguredRateHalvesAndComesBack) {
  auto h = host("smtp://a");
  h.limits.rate = 10;
  h.limits.rate_text = "10/s";
  Throttle t;
  t.configure({h});
  ASSERT_TRUE(t.throttled("smtp://a", "421 4.7.0 slow down", t0));
  std::vector<HostView> keep;
  EXPECT_EQ(view_of(t, "smtp://a", t0, keep).rate, "5.0/s");
  for (int i = 0; i < 30; ++i) t.succeeded("smtp://a", t0 + 2000);
  EXPECT_EQ(view_of(t, "smtp://a", t0 + 2000, keep).rate, "10/s");
  EXPECT_EQ(view_of(t, "smtp://a", t0 + 2000, keep).reason, "");
}

TEST(Throttle, QuotaHoldsUntilTheResetAndAfterASuccessIsGone) {
  auto h = host("smtp://gmail");
  h.limits.quota_reset = std::chrono::seconds(2);
  Throttle t;
  t.configure({h});
  EXPECT_TRUE(t.quota("smtp://gmail", "550 5.4.5 Daily user sending limit exceeded", t0));
  EXPECT_FALSE(t.quota("smtp://gmail", "550 5.4.5 Daily user sending limit exceeded", t0 + 10)) << "logged once";
  EXPECT_TRUE(t.held("smtp://gmail", t0 + 1000));
  EXPECT_EQ(t.ready_at("smtp://gmail", t0 + 1000), t0 + 2000);
  EXPECT_EQ(t.why("smtp://gmail", t0 + 1000), "quota: 550 5.4.5 Daily user sending limit exceeded");
  EXPECT_FALSE(t.held("smtp://gmail", t0 + 2000));
  EXPECT_TRUE(t.succeeded("smtp://gmail", t0 + 2100));
  EXPECT_EQ(t.why("smtp://gmail", t0 + 2100), "");
}

TEST(Throttle, QuotaResetAtATimeOfDay) {
  config::HostLimits l;
  l.quota_reset_at = 7 * 60;  // 07:00 UTC
  const std::int64_t midnight = 1'799'971'200;  // 2027-01-15 00:00:00 UTC
  ASSERT_EQ(midnight % 86400, 0);
  EXPECT_EQ(quota_release(l, midnight + 3600), midnight + 7 * 3600);
  EXPECT_EQ(quota_release(l, midnight + 8 * 3600), midnight + 86400 + 7 * 3600);
  EXPECT_EQ(window_end(l, midnight + 7 * 3600), midnight + 86400 + 7 * 3600);
  config::HostLimits d;
  EXPECT_EQ(window_end(d, midnight + 5), midnight + 5 + 86400) << "24h from the window's first message";
}

class ThrottleFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nullq-throttle-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ThrottleFile, DailyCountSurvivesARestartAndResets) {
  auto h = host("smtp://ses");
  h.limits.daily = 5;
  h.limits.quota_reset = std::chrono::seconds(3600);
  const std::string file = dir_ + "/limits";
  {
    Throttle t(file);
    ASSERT_TRUE(t.load().ok());
    t.configure({h});
    t.sent("smtp://ses", 2, t0);
    t.sent("smtp://ses", 2, t0 + 1000);
    EXPECT_EQ(t.ready_at("smtp://ses", t0 + 1000), 0);
  }
  Throttle again(file);
  ASSERT_TRUE(again.load().ok());
  again.configure({h});
  again.sent("smtp://ses", 1, t0 + 2000);  // 5 of 5
  EXPECT_TRUE(again.held("smtp://ses", t0 + 2000)) << "the count was kept across the restart";
  EXPECT_EQ(again.ready_at("smtp://ses", t0 + 2000), t0 + 3600 * 1000);
  EXPECT_EQ(again.why("smtp://ses", t0 + 2000), "daily limit 5 reached");
  std::vector<HostView> keep;
  EXPECT_EQ(view_of(again, "smtp://ses", t0 + 2000, keep).until, t0 / 1000 + 3600);
  EXPECT_FALSE(again.held("smtp://ses", t0 + 3600 * 1000)) << "a new window";
  EXPECT_EQ(again.ready_at("smtp://ses", t0 + 3600 * 1000), 0);
}

TEST_F(ThrottleFile, DamagedFileStartsFromZero) {
  const std::string file = dir_ + "/limits";
  std::ofstream(file) << "garbage\nsmtp://x notanumber 1 2\n";
  Throttle t(file);
  EXPECT_TRUE(t.load().ok());
  auto h = host("smtp://x");
  h.limits.daily = 1;
  t.configure({h});
  EXPECT_EQ(t.ready_at("smtp://x", t0), 0);
}

TEST_F(ThrottleFile, UnwritableStateDirIsReportedOnce) {
  auto h = host("smtp://x");
  h.limits.daily = 100;
  Throttle t(dir_ + "/missing/limits");
  ASSERT_TRUE(t.load().ok()) << "no file yet is no error";
  t.configure({h});
  t.sent("smtp://x", 1, t0);
  EXPECT_NE(t.save_error().find("cannot write " + dir_ + "/missing/limits.tmp"), std::string::npos);
  t.sent("smtp://x", 1, t0);
  EXPECT_EQ(t.save_error(), "") << "said once";
  EXPECT_EQ(t.ready_at("smtp://x", t0), 0) << "counting goes on in memory";
}

// The status file's entry of a host (nullq status, status.json): held by a quota, slowed by
// throttling, up with its pace shown; a host backing off for its own failures keeps that state.
TEST(Throttle, ApplyPaceGivesTheStatusFilesState) {
  HostStatus up;
  apply_pace(HostView{"smtp://a", 3, "30/min", "", 0}, up);
  EXPECT_EQ(up.state, "up");
  EXPECT_EQ(up.concurrency, 3u);
  EXPECT_EQ(up.rate, "30/min");
  EXPECT_FALSE(up.until);

  HostStatus quota;
  apply_pace(HostView{"smtp://a", 3, "", "quota: 550 5.4.5 Daily user sending limit exceeded", 2000}, quota);
  EXPECT_EQ(quota.state, "held");
  EXPECT_EQ(quota.until, 2000);
  EXPECT_EQ(quota.reason, "quota: 550 5.4.5 Daily user sending limit exceeded");

  HostStatus daily;
  apply_pace(HostView{"smtp://a", 3, "", "daily limit 10 reached", 3000}, daily);
  EXPECT_EQ(daily.state, "held");

  HostStatus slowed;
  apply_pace(HostView{"smtp://a", 1, "learned 2/s", "throttled: 421 4.7.0 Try again later", 1500}, slowed);
  EXPECT_EQ(slowed.state, "slowed");
  EXPECT_EQ(slowed.until, 1500);
  EXPECT_EQ(slowed.concurrency, 1u);

  HostStatus failing;
  failing.state = "backing_off";
  failing.until = 900;
  apply_pace(HostView{"smtp://a", 1, "", "throttled: 421 4.7.0 Try again later", 1500}, failing);
  EXPECT_EQ(failing.state, "backing_off");
  EXPECT_EQ(failing.until, 900);
}

}  // namespace
}  // namespace nullq::send

// A smart host's provider limits: preset, messages_per_connection, rate, daily, quota_reset.
#include <gtest/gtest.h>

#include <string>

#include "nullq/config.hpp"

namespace nullq::config {
namespace {

std::string err(const std::string& yaml) {
  auto c = parse_only(yaml, "nullq.yaml");
  return c.ok() ? std::string() : c.error().detail;
}

Result<Config> one(const std::string& keys) {
  return parse_only("smarthosts:\n  - url: smtp://relay.example.org:587\n" + keys, "nullq.yaml");
}

TEST(LimitsConfig, DefaultsAreUnlimited) {
  auto c = one("");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  const HostLimits& l = c->smarthosts[0].limits;
  EXPECT_EQ(l.preset, "");
  EXPECT_EQ(l.messages_per_connection, 0u);
  EXPECT_EQ(l.rate, 0);
  EXPECT_EQ(l.daily, 0u);
  EXPECT_EQ(l.quota_reset.count(), 24 * 3600);
  EXPECT_EQ(l.quota_reset_at, -1);
  EXPECT_EQ(c->smarthosts[0].connections, 4u);
}

TEST(LimitsConfig, Keys) {
  auto c = one("    messages_per_connection: 20\n    rate: 30/min\n    daily: 10000\n    quota_reset: \"00:30\"\n");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  const HostLimits& l = c->smarthosts[0].limits;
  EXPECT_EQ(l.messages_per_connection, 20u);
  EXPECT_DOUBLE_EQ(l.rate, 0.5);
  EXPECT_EQ(l.rate_text, "30/min");
  EXPECT_EQ(l.daily, 10000u);
  EXPECT_EQ(l.quota_reset_at, 30);
  auto d = one("    rate: 14/s\n    quota_reset: 2s\n");
  ASSERT_TRUE(d.ok()) << d.error().detail;
  EXPECT_DOUBLE_EQ(d->smarthosts[0].limits.rate, 14);
  EXPECT_EQ(d->smarthosts[0].limits.quota_reset.count(), 2);
  auto h = one("    rate: 7200/hour\n");
  ASSERT_TRUE(h.ok());
  EXPECT_DOUBLE_EQ(h->smarthosts[0].limits.rate, 2);
}

TEST(LimitsConfig, PresetsFillAndKeysOverride) {
  auto m = one("    preset: microsoft365\n");
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->smarthosts[0].connections, 3u);
  EXPECT_DOUBLE_EQ(m->smarthosts[0].limits.rate, 0.5);
  EXPECT_EQ(m->smarthosts[0].limits.daily, 10000u);
  EXPECT_EQ(m->smarthosts[0].limits.recipients_per_message, 500u);
  // Keys beside the preset win, whichever order they are written in.
  auto o = one("    connections: 2\n    daily: 500\n    preset: microsoft365\n");
  ASSERT_TRUE(o.ok()) << o.error().detail;
  EXPECT_EQ(o->smarthosts[0].connections, 2u);
  EXPECT_EQ(o->smarthosts[0].limits.daily, 500u);
  EXPECT_DOUBLE_EQ(o->smarthosts[0].limits.rate, 0.5);
  auto g = one("    preset: gmail\n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->smarthosts[0].limits.daily, 2000u);
  EXPECT_EQ(g->smarthosts[0].limits.rate, 0);
  auto w = one("    preset: workspace-relay\n");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->smarthosts[0].limits.daily, 10000u);
  auto s = one("    preset: ses\n    rate: 1/s\n    daily: 200\n");
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->smarthosts[0].limits.rate, 1);
  EXPECT_EQ(s->smarthosts[0].limits.daily, 200u);
  EXPECT_EQ(s->smarthosts[0].limits.recipients_per_message, 50u);
}

TEST(LimitsConfig, BadValuesAreOneLineWithFileAndLine) {
  const std::string head = "smarthosts:\n  - url: smtp://relay.example.org:587\n";
  EXPECT_EQ(err(head + "    preset: gmial\n"),
            "nullq.yaml:3: unknown preset 'gmial' \xe2\x80\x94 did you mean 'gmail'? (microsoft365, gmail, workspace-relay, ses)");
  EXPECT_EQ(err(head + "    rate: 30\n"),
            "nullq.yaml:3: 'rate' must be N/s, N/min or N/h (messages per second, minute or hour), e.g. 30/min, not '30'");
  EXPECT_EQ(err(head + "    rate: 30/day\n"),
            "nullq.yaml:3: 'rate' must be N/s, N/min or N/h (messages per second, minute or hour), e.g. 30/min, not '30/day'");
  EXPECT_EQ(err(head + "    rate: 0/min\n"), "nullq.yaml:3: 'rate' must be at least 1 message per period, not '0/min'");
  EXPECT_EQ(err(head + "    rate: -1/s\n"),
            "nullq.yaml:3: 'rate' must be N/s, N/min or N/h (messages per second, minute or hour), e.g. 30/min, not '-1/s'");
  EXPECT_EQ(err(head + "    daily: 0\n"), "nullq.yaml:3: 'daily' must be a whole number from 1 to 1000000000, not '0'");
  EXPECT_EQ(err(head + "    daily: lots\n"), "nullq.yaml:3: 'daily' must be a whole number from 1 to 1000000000, not 'lots'");
  EXPECT_EQ(err(head + "    messages_per_connection: -3\n"),
            "nullq.yaml:3: 'messages_per_connection' must be a whole number from 1 to 1000000, not '-3'");
  EXPECT_EQ(err(head + "    quota_reset: \"24:00\"\n"),
            "nullq.yaml:3: 'quota_reset' must be a duration (24h) or a time of day in UTC (00:00 to 23:59), not '24:00'");
  EXPECT_EQ(err(head + "    quota_reset: \"7:5\"\n"),
            "nullq.yaml:3: 'quota_reset' must be a duration (24h) or a time of day in UTC (00:00 to 23:59), not '7:5'");
  EXPECT_NE(err(head + "    quota_reset: 0s\n").find("nullq.yaml:3: 'quota_reset' must be longer than 0s"), std::string::npos);
  EXPECT_EQ(err("smarthosts:\n  - url: qmqp://192.0.2.1\n    messages_per_connection: 5\n"),
            "nullq.yaml:3: 'messages_per_connection' does not apply to qmqp:// (one message per connection already)");
  EXPECT_EQ(err(head + "    rates: 30/min\n"), "nullq.yaml:3: unknown key 'smarthosts[].rates' \xe2\x80\x94 did you mean 'rate'?");
}

}  // namespace
}  // namespace nullq::config

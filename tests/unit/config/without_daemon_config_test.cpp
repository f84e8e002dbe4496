// delivery.without_daemon, log.target and log.format: values, defaults, bad values, and the
// container recipe's configuration (doc/container/nullq.yaml), which the Dockerfile copies.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "nullq/config.hpp"
#include "parse.hpp"

using namespace nullq::config;

namespace {

using nullq::config::testing::err;
using nullq::config::testing::ok;

TEST(WithoutDaemonConfig, Defaults) {
  Config c = ok("smarthosts: [qmtp://relay.example.org]\n");
  EXPECT_EQ(c.without_daemon, WithoutDaemon::wait);
  EXPECT_EQ(c.log_target, LogTarget::automatic);
  EXPECT_EQ(c.log_format, LogFormat::text);
}

TEST(WithoutDaemonConfig, Values) {
  EXPECT_EQ(ok("delivery: {without_daemon: deliver}\n").without_daemon, WithoutDaemon::deliver);
  EXPECT_EQ(ok("delivery: {without_daemon: wait}\n").without_daemon, WithoutDaemon::wait);
  EXPECT_EQ(ok("log: {target: stderr}\n").log_target, LogTarget::standard_error);
  EXPECT_EQ(ok("log: {target: syslog}\n").log_target, LogTarget::syslog);
  EXPECT_EQ(ok("log: {target: auto}\n").log_target, LogTarget::automatic);
  EXPECT_EQ(ok("log: {format: json}\n").log_format, LogFormat::json);
  EXPECT_EQ(ok("log: {format: text}\n").log_format, LogFormat::text);
}

TEST(WithoutDaemonConfig, BadValuesNameFileLineAndKey) {
  EXPECT_EQ(err("delivery:\n  without_daemon: yes\n"),
            "nullq.yaml:2: 'delivery.without_daemon' must be wait or deliver, not 'yes'");
  EXPECT_EQ(err("log:\n  target: journald\n"), "nullq.yaml:2: 'log.target' must be auto, syslog or stderr, not 'journald'");
  EXPECT_EQ(err("log:\n  format: xml\n"), "nullq.yaml:2: 'log.format' must be text or json, not 'xml'");
}

// sendmail reads leniently: a bad without_daemon is a warning and leaves the default (wait).
TEST(WithoutDaemonConfig, InjectorKeepsWaitingOnABadValue) {
  auto c = parse_for_injector("smarthosts: [qmtp://relay.example.org]\ndelivery: {without_daemon: now}\n", "nullq.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->config.without_daemon, WithoutDaemon::wait);
  EXPECT_NE(c->problem.find("without_daemon"), std::string::npos) << c->problem;
}

TEST(WithoutDaemonConfig, ContainerRecipeConfigLoads) {
  const char* root = std::getenv("NULLQ_SOURCE_ROOT");
  ASSERT_NE(root, nullptr);
  auto c = load(std::string(root) + "/doc/container/nullq.yaml");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ(c->without_daemon, WithoutDaemon::deliver);
  EXPECT_EQ(c->log_target, LogTarget::standard_error);
  EXPECT_FALSE(c->smarthosts.empty());
  EXPECT_TRUE(validate_for_delivery(*c).ok());
}

}  // namespace

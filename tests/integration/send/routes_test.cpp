// Routes end to end: the real nullq-queue and nullq-send against two scripted QMTP servers. A
// message whose recipients take two routes is delivered per route, each recipient once; failover
// within a route; recipients_per_message; a kill -9 between two route groups loses nothing and
// resends nothing; `source:` binds the local address; a dead ::1 does not hold mail while 127.0.0.1
// works.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "fake_dns.hpp"
#include "fake_server.hpp"
#include "harness.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

const std::string kBody = "From: alice@example.org\nSubject: routes\n\nHello.\n";

// Every recipient the server was given, with how often.
std::map<std::string, int> tally(FakeServer& srv) {
  std::map<std::string, int> out;
  for (const auto& m : srv.received())
    for (const auto& r : m.rcpts) ++out[r];
  return out;
}

class Routes : public ::testing::Test {
 protected:
  TestSpool s;
  FakeServer hub{Proto::qmtp};
  FakeServer relay{Proto::qmtp};
  // hub takes corp.example (and its subdomains) and mail from billing; relay the rest.
  void configure(const std::string& relay_extra = "", const std::string& corp_hosts = "[hub]") {
    s.write_config({"{url: '" + hub.url() + "', name: hub}", "{url: '" + relay.url() + "', name: relay" + relay_extra + "}"},
                   "routes:\n"
                   "  - {sender: \"*@billing.example\", hosts: [hub]}\n"
                   "  - {recipient_domain: [corp.example, \"*.corp.example\"], hosts: " + corp_hosts + "}\n"
                   "  - {default: true, hosts: [relay]}\n");
  }
};

TEST_F(Routes, MessageOverTwoRoutesIsDeliveredOncePerRecipient) {
  configure();
  s.inject("alice@example.org", {"a@corp.example", "x@other.example", "b@EU.corp.example", "y@other.example"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(hub.count(), 1u) << r.err;
  ASSERT_EQ(relay.count(), 1u) << r.err;
  EXPECT_EQ(hub.received()[0].rcpts, (std::vector<std::string>{"a@corp.example", "b@EU.corp.example"}));
  EXPECT_EQ(relay.received()[0].rcpts, (std::vector<std::string>{"x@other.example", "y@other.example"}));
  // The same message (with nullq-queue's Received: line) to both.
  EXPECT_TRUE(hub.received()[0].message.ends_with(kBody));
  EXPECT_EQ(relay.received()[0].message, hub.received()[0].message);
  EXPECT_TRUE(s.queued().empty()) << r.err;
  EXPECT_TRUE(s.failed().empty());
  // Nothing is left to send again.
  r = s.once();
  EXPECT_EQ(hub.count(), 1u);
  EXPECT_EQ(relay.count(), 1u);
}

TEST_F(Routes, SenderRuleTakesEveryRecipient) {
  configure();
  s.inject("invoices@billing.example", {"a@corp.example", "x@other.example"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(hub.count(), 1u) << r.err;
  EXPECT_EQ(hub.received()[0].rcpts, (std::vector<std::string>{"a@corp.example", "x@other.example"}));
  EXPECT_EQ(relay.count(), 0u);
  EXPECT_TRUE(s.queued().empty());
}

TEST_F(Routes, OneRouteDeferredTheOtherDeliveredAndNotSentAgain) {
  configure();
  hub.set_replier([](const Received& m) { return std::vector<std::string>(m.rcpts.size(), "Zhub busy"); });
  s.inject("alice@example.org", {"a@corp.example", "x@other.example"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;  // mail left deferred
  EXPECT_EQ(tally(relay), (std::map<std::string, int>{{"x@other.example", 1}}));
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << r.err;
  EXPECT_EQ(pending_rcpts(s.spool + "/queue/" + q[0]), std::vector<std::string>{"a@corp.example"});
  EXPECT_TRUE(contains(read_file(s.spool + "/queue/" + q[0]), "hub busy"));
  // The retry (made due at once) goes to the hub only.
  hub.set_replier([](const Received& m) { return std::vector<std::string>(m.rcpts.size(), "Kok"); });
  ASSERT_EQ(::rename((s.spool + "/queue/" + q[0]).c_str(),
                     (s.spool + "/queue/" + q[0].substr(0, q[0].rfind(',')) + ",0").c_str()), 0);
  r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(tally(hub), (std::map<std::string, int>{{"a@corp.example", 2}}));
  EXPECT_EQ(tally(relay), (std::map<std::string, int>{{"x@other.example", 1}}));
  EXPECT_TRUE(s.queued().empty());
}

TEST_F(Routes, FailoverWithinARoute) {
  s.write_config({"{url: 'qmtp://127.0.0.1:" + std::to_string(closed_port()) + "', name: dead}",
                  "{url: '" + hub.url() + "', name: hub}", "{url: '" + relay.url() + "', name: relay}"},
                 "routes:\n"
                 "  - {recipient_domain: corp.example, hosts: [dead, hub]}\n"
                 "  - {default: true, hosts: [relay]}\n");
  s.inject("alice@example.org", {"a@corp.example", "x@other.example"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(tally(hub), (std::map<std::string, int>{{"a@corp.example", 1}})) << r.err;
  EXPECT_EQ(tally(relay), (std::map<std::string, int>{{"x@other.example", 1}}));
  EXPECT_TRUE(s.queued().empty());
  EXPECT_TRUE(contains(r.err, "connection refused")) << r.err;
}

TEST_F(Routes, RecipientsPerMessageSplitsTheEnvelope) {
  configure(", recipients_per_message: 2");
  std::vector<std::string> rcpts{"r1@other.example", "r2@other.example", "r3@other.example", "r4@other.example",
                                 "r5@other.example"};
  s.inject("alice@example.org", rcpts, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto got = relay.received();
  ASSERT_EQ(got.size(), 3u) << r.err;
  EXPECT_EQ(got[0].rcpts.size(), 2u);
  EXPECT_EQ(got[1].rcpts.size(), 2u);
  EXPECT_EQ(got[2].rcpts.size(), 1u);
  std::map<std::string, int> want;
  for (const auto& x : rcpts) want[x] = 1;
  EXPECT_EQ(tally(relay), want);
  EXPECT_TRUE(s.queued().empty());
}

TEST_F(Routes, KillBetweenRouteGroupsLosesNothingAndResendsNothing) {
  configure();
  relay.set_fault(Fault::hang);  // the second group waits for an answer that does not come
  s.inject("alice@example.org", {"a@corp.example", "x@other.example", "b@corp.example"}, kBody);
  {
    Child send({bin_dir() + "/nullq-send", "--once", "--stderr", "--config", s.config}, {},
               s.dir.path() + "/killed.log");
    // The hub's group is done and recorded before the relay's starts; the relay has read the whole
    // message (a connection alone is not enough: the kill could come before the message is sent).
    ASSERT_TRUE(eventually([&] {
      auto q = s.queued();
      return relay.count() > 0 && q.size() == 1 &&
             pending_rcpts(s.spool + "/queue/" + q[0]) == std::vector<std::string>{"x@other.example"};
    }, 20s)) << send.err();
    send.signal(SIGKILL);
    int status = 0;
    ASSERT_TRUE(send.wait(10s, status));
  }
  EXPECT_EQ(tally(hub), (std::map<std::string, int>{{"a@corp.example", 1}, {"b@corp.example", 1}}));
  relay.set_fault(Fault::none);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(tally(hub), (std::map<std::string, int>{{"a@corp.example", 1}, {"b@corp.example", 1}})) << r.err;
  // Once in the killed run (never answered: at-least-once) and once now.
  EXPECT_EQ(tally(relay), (std::map<std::string, int>{{"x@other.example", 2}})) << r.err;
  EXPECT_TRUE(s.queued().empty()) << r.err;
}

TEST(RouteSource, SourceAddressIsBound) {
  TestSpool s;
  FakeServer srv(Proto::qmtp);
  s.write_config({"{url: '" + srv.url() + "', source: 127.0.0.2}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.count(), 1u) << r.err;
  EXPECT_EQ(srv.peers(), std::vector<std::string>{"127.0.0.2"});
  EXPECT_TRUE(s.queued().empty());
}

TEST(RouteSource, SourceThatCannotBeBoundIsTheHostsFailure) {
  TestSpool s;
  FakeServer srv(Proto::qmtp);
  // 192.0.2.1 (TEST-NET-1) is no address of this machine.
  s.write_config({"{url: '" + srv.url() + "', source: 192.0.2.1}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  EXPECT_EQ(srv.count(), 0u);
  EXPECT_TRUE(contains(r.err, "cannot bind the source address 192.0.2.1: address not available")) << r.err;
  ASSERT_EQ(s.queued().size(), 1u);
  EXPECT_TRUE(s.failed().empty());
}

TEST(RouteSource, SourceOfTheOtherFamilyIsSkipped) {
  TestSpool s;
  FakeServer srv(Proto::qmtp);
  s.write_config({"{url: '" + srv.url() + "', source: '::1'}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  EXPECT_EQ(srv.count(), 0u);
  EXPECT_TRUE(contains(r.err, "no IPv6 address of 127.0.0.1 to reach from source ::1")) << r.err;
  EXPECT_EQ(s.queued().size(), 1u);
}

bool have_ipv6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A port on [::1] that nothing listens on, and a listener on 127.0.0.1 with the same number.
TEST(RouteFamily, DeadIpv6StillDeliversOverIpv4) {
  if (!have_ipv6_loopback()) GTEST_SKIP() << "no ::1 on this machine";
  FakeDns dns;
  TestSpool s;
  FakeServer srv(Proto::qmtp);
  dns.aaaa("dual.test", "::1");
  dns.a("dual.test", "127.0.0.1");
  s.write_config({"qmtp://dual.test:" + std::to_string(srv.port())});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once({"NULLQ_DNS_SERVERS=" + dns.servers()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.count(), 1u) << r.err;
  EXPECT_TRUE(s.queued().empty()) << r.err;
}

}  // namespace
}  // namespace nullq::send::it

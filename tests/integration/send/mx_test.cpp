// mx:// and DNS names end to end: nullq-send pointed at a fake DNS server (NULLQ_DNS_SERVERS) and
// at fake QMTP servers on loopback (NULLQ_MXPS_PORT moves the MXPS port off 209).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "fake_dns.hpp"
#include "fake_server.hpp"
#include "harness.hpp"

namespace nullq::send::it {
namespace {

const std::string kBody = "From: alice@example.org\nSubject: mx\n\nHello over MX.\n";

std::uint16_t no_smtp_port() {
  static const std::uint16_t port = closed_port();
  return port;
}

class Mx : public ::testing::Test {
 protected:
  TestSpool s;
  FakeDns dns;
  RunResult once(std::uint16_t mxps_port = 0) {
    // SMTP at exchangers goes to a port where nothing listens, never to the real port 25.
    std::vector<std::string> env{"NULLQ_DNS_SERVERS=" + dns.servers(), "NULLQ_MX_SMTP_PORT=" + std::to_string(no_smtp_port())};
    if (mxps_port) env.push_back("NULLQ_MXPS_PORT=" + std::to_string(mxps_port));
    return s.once(env);
  }
};

// Two QMTP servers on the same port number, one on ::1 and one on 127.0.0.1.
struct Pair {
  std::unique_ptr<FakeServer> v6, v4;
};
Pair make_pair_on_one_port() {
  for (int i = 0; i < 20; ++i) {
    auto v6 = std::make_unique<FakeServer>(Proto::qmtp, "::1");
    try {
      auto v4 = std::make_unique<FakeServer>(Proto::qmtp, "127.0.0.1", v6->port());
      return Pair{std::move(v6), std::move(v4)};
    } catch (const std::exception&) {
      // that port number is taken on 127.0.0.1: try another
    }
  }
  throw std::runtime_error("no port free on both ::1 and 127.0.0.1");
}

TEST_F(Mx, MxpsExchangersInPreferenceOrderAndSmtpOnesTriedOverSmtp) {
  Pair p = make_pair_on_one_port();
  const std::uint16_t port = p.v6->port();
  dns.mx("order.test", 10, "smtp.order.test");
  dns.mx("order.test", 12817, "second.order.test");
  dns.mx("order.test", 12801, "first.order.test");
  dns.a("smtp.order.test", "127.0.0.1");
  dns.aaaa("first.order.test", "::1");
  dns.a("second.order.test", "127.0.0.1");
  s.write_config({"mx://order.test"});
  s.inject("alice@example.org", {"bob@order.test"}, kBody);
  RunResult r = once(port);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(p.v6->count(), 1u) << r.err;
  EXPECT_EQ(p.v4->count(), 0u);
  EXPECT_TRUE(s.queued().empty());
  // The SMTP exchanger (preference 10) comes first; nothing listens there.
  EXPECT_TRUE(contains(r.err, "host=mx://order.test addr=127.0.0.1:" + std::to_string(no_smtp_port()) +
                                  " proto=smtp rcpts=1 status=deferred text=\"connection refused\""))
      << r.err;
  EXPECT_TRUE(contains(r.err, "host=mx://order.test addr=[::1]:" + std::to_string(port) + " proto=qmtp rcpts=1 status=sent"))
      << r.err;

  // The preferred exchanger goes away: the next one takes the mail.
  p.v6.reset();
  s.inject("alice@example.org", {"carol@order.test"}, kBody);
  RunResult r2 = once(port);
  EXPECT_EQ(r2.status, 0) << r2.err;
  EXPECT_EQ(p.v4->count(), 1u) << r2.err;
  EXPECT_TRUE(s.queued().empty());
}

TEST_F(Mx, UnreachableSmtpExchangersDeferWithTheReason) {
  dns.mx("smtponly.test", 10, "mail.smtponly.test");
  dns.a("mail.smtponly.test", "127.0.0.1");
  s.write_config({"mx://smtponly.test"});
  s.inject("alice@example.org", {"bob@smtponly.test"}, kBody);
  RunResult r = once();
  EXPECT_EQ(r.status, 75) << r.err;
  EXPECT_EQ(s.queued().size(), 1u);
  EXPECT_TRUE(contains(r.err, "proto=smtp rcpts=1 status=deferred text=\"connection refused\"")) << r.err;
}

TEST_F(Mx, NxdomainBouncesAndTheUndeliverableBounceGoesToFailed) {
  s.write_config({"mx://nx.test"});
  std::string id = s.inject("alice@example.org", {"bob@nx.test"}, kBody);
  RunResult r = once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty()) << r.err;
  EXPECT_TRUE(s.incoming().empty());
  // The bounce, and the message it could not report: kept whole until a bounce is delivered.
  auto failed = s.failed();
  EXPECT_EQ(failed.size(), 2u) << r.err;
  EXPECT_NE(std::find(failed.begin(), failed.end(), id), failed.end()) << r.err;
  EXPECT_TRUE(contains(r.err, "status=bounced")) << r.err;
}

TEST_F(Mx, ServfailDefers) {
  dns.servfail("sf.test");
  s.write_config({"mx://sf.test"}, "");
  s.inject("alice@example.org", {"bob@sf.test"}, kBody);
  RunResult r = once();
  EXPECT_EQ(r.status, 75) << r.err;
  EXPECT_EQ(s.queued().size(), 1u);
  EXPECT_TRUE(s.failed().empty());
  EXPECT_TRUE(contains(r.err, "status=deferred")) << r.err;
}

TEST_F(Mx, SmartHostNameResolvedThroughDns) {
  FakeServer srv(Proto::qmqp);
  dns.a("relay.test", "127.0.0.1");
  s.write_config({"qmqp://relay.test:" + std::to_string(srv.port())});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.count(), 1u);
}

TEST_F(Mx, FirstSmartHostNxdomainSecondDelivers) {
  FakeServer srv(Proto::qmtp);
  s.write_config({"qmtp://gone.test", srv.url()});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.count(), 1u) << r.err;
  EXPECT_TRUE(s.failed().empty());
}

}  // namespace
}  // namespace nullq::send::it

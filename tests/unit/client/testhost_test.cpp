// The client sessions against the scriptable test smart host (nullq/testhost.hpp): the same
// server the integration tests use, with its own strict server-side codecs.
#include <arpa/inet.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nullq/testhost.hpp"
#include "test_util.hpp"

namespace nullq::client::test {
namespace {

Endpoint loopback(std::uint16_t port) {
  Endpoint ep;
  auto* a = reinterpret_cast<sockaddr_in*>(&ep.addr);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a->sin_port = htons(port);
  ep.len = sizeof(sockaddr_in);
  ep.text = "127.0.0.1:" + std::to_string(port);
  return ep;
}

std::unique_ptr<testhost::Server> start_host(const std::string& script) {
  testhost::Options o;
  o.script = script;
  auto s = testhost::Server::start(o);
  if (!s) ADD_FAILURE() << s.error().message();
  return s ? std::move(s).value() : nullptr;
}

Timeouts quick() {
  Timeouts t;
  t.connect = 5s;
  t.io = 10s;
  t.session = 20s;
  return t;
}

TEST(ClientTesthost, QmtpPipelinedPerRecipientAnswers) {
  auto host = start_host("K;KDZ;Z");
  ASSERT_TRUE(host);
  event::Loop loop;
  std::vector<Outcome> outs;
  int closed = 0;
  auto conn = std::make_unique<QmtpConnection>(loop, loopback(host->qmtp_port()), quick(), 3, [] {},
                                               [&] { ++closed; });
  auto m1 = make_msg(1, "Subject: one\n\nbody\n", "a@x", {"r1@y"});
  auto m2 = make_msg(2, "Subject: two\n\nbody\n", "", {"r2@y", "r3@y", "r4@y"});
  auto m3 = make_msg(3, "Subject: three\n\nbody\n", "a@x", {"r5@y"});
  for (const auto& m : {m1, m2, m3})
    ASSERT_TRUE(conn->submit(m, [&](Outcome o) { outs.push_back(std::move(o)); }));
  conn->finish();
  ASSERT_TRUE(loop.run_until([&] { return closed == 1; }, 15s));
  ASSERT_EQ(outs.size(), 3u);
  EXPECT_EQ(outs[0].tag, 1u);
  ASSERT_EQ(outs[0].replies.size(), 1u);
  EXPECT_EQ(outs[0].replies[0].verdict, Verdict::ok);
  ASSERT_EQ(outs[1].replies.size(), 3u);
  EXPECT_EQ(outs[1].replies[0].verdict, Verdict::ok);
  EXPECT_EQ(outs[1].replies[1].verdict, Verdict::permanent);
  EXPECT_EQ(outs[1].replies[2].verdict, Verdict::temporary);
  ASSERT_EQ(outs[2].replies.size(), 1u);
  EXPECT_EQ(outs[2].replies[0].verdict, Verdict::temporary);
  auto rec = host->received();
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_EQ(rec[1].protocol, "qmtp");
  EXPECT_EQ(rec[1].sender, "");
  EXPECT_EQ(rec[1].recipients, m2->recipients);
  EXPECT_EQ(rec[1].message, m2->body);
  EXPECT_EQ(host->connections(), 1u);
}

TEST(ClientTesthost, QmtpCloseAfterAnswerLeavesTheRestTemporary) {
  auto host = start_host("close-after-answer");
  ASSERT_TRUE(host);
  event::Loop loop;
  std::vector<Outcome> outs;
  int closed = 0;
  auto conn = std::make_unique<QmtpConnection>(loop, loopback(host->qmtp_port()), quick(), 3, [] {},
                                               [&] { ++closed; });
  for (std::uint64_t i = 1; i <= 3; ++i)
    ASSERT_TRUE(conn->submit(make_msg(i, "x\n", "a@x", {"r@y"}), [&](Outcome o) { outs.push_back(std::move(o)); }));
  ASSERT_TRUE(loop.run_until([&] { return closed == 1; }, 15s));
  ASSERT_EQ(outs.size(), 3u);
  EXPECT_EQ(outs[0].replies[0].verdict, Verdict::ok);
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(outs[i].replies[0].verdict, Verdict::temporary);
    EXPECT_FALSE(outs[i].connect_failed);
  }
}

TEST(ClientTesthost, QmqpEarlyRejectionOfALargeMessage) {
  auto host = start_host("early-D");
  ASSERT_TRUE(host);
  event::Loop loop;
  std::vector<Outcome> outs;
  QmqpDelivery d(loop, loopback(host->qmqp_port()), quick(),
                 make_msg(1, std::string(4 * 1024 * 1024, 'x') + "\n", "a@x", {"r@y", "s@y"}),
                 [&](Outcome o) { outs.push_back(std::move(o)); });
  ASSERT_TRUE(loop.run_until([&] { return !outs.empty(); }, 15s));
  ASSERT_EQ(outs[0].replies.size(), 2u);
  EXPECT_EQ(outs[0].replies[0].verdict, Verdict::permanent);
  EXPECT_EQ(outs[0].replies[1], outs[0].replies[0]);
}

TEST(ClientTesthost, QmqpAcceptAndGarbage) {
  auto host = start_host("K;garbage");
  ASSERT_TRUE(host);
  event::Loop loop;
  for (int i = 0; i < 2; ++i) {
    std::vector<Outcome> outs;
    auto m = make_msg(static_cast<std::uint64_t>(i), "Subject: q\n\nhello\n", "a@x", {"r@y"});
    QmqpDelivery d(loop, loopback(host->qmqp_port()), quick(), m, [&](Outcome o) { outs.push_back(std::move(o)); });
    ASSERT_TRUE(loop.run_until([&] { return !outs.empty(); }, 15s));
    ASSERT_EQ(outs[0].replies.size(), 1u);
    if (i == 0) {
      EXPECT_EQ(outs[0].replies[0].verdict, Verdict::ok);
    } else {
      EXPECT_EQ(outs[0].replies[0].verdict, Verdict::temporary);
      EXPECT_EQ(outs[0].replies[0].text.rfind("protocol error: ", 0), 0u) << outs[0].replies[0].text;
    }
  }
  auto rec = host->received();
  ASSERT_GE(rec.size(), 1u);
  EXPECT_EQ(rec[0].protocol, "qmqp");
  EXPECT_EQ(rec[0].message, "Subject: q\n\nhello\n");
}

}  // namespace
}  // namespace nullq::client::test

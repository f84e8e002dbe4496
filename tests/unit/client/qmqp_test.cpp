// QMQP client deliveries against a canned-bytes server (PROTOCOLS.md §2, §5, §8).
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace nullq::client::test {
namespace {

Timeouts quick() {
  Timeouts t;
  t.connect = 5s;
  t.io = 10s;
  t.session = 20s;
  return t;
}

struct QmqpRun {
  event::Loop loop;
  std::vector<Outcome> outcomes;
  std::unique_ptr<QmqpDelivery> d;

  QmqpRun(const Endpoint& ep, std::shared_ptr<const Message> m, Timeouts t = quick()) {
    d = std::make_unique<QmqpDelivery>(loop, ep, t, std::move(m),
                                       [this](Outcome o) { outcomes.push_back(std::move(o)); });
  }
  ~QmqpRun() {
    d.reset();
    EXPECT_EQ(loop.open_handles(), 0u) << "a handle outlived its delivery";
  }
  bool wait() { return loop.run_until([&] { return !outcomes.empty(); }, 15s); }
};

struct AnswerCase {
  const char* name;
  std::string wire;
  Reply want;
};

class QmqpAnswer : public ::testing::TestWithParam<AnswerCase> {};

TEST_P(QmqpAnswer, IsUsedForEveryRecipient) {
  auto m = make_msg(42, "Hi\n", "a@x", {"b@y", "c@y"});
  FakeServer srv([&](Peer& p) {
    if (!p.read_netstring()) return;
    p.send(GetParam().wire);
  });
  QmqpRun r(srv.endpoint(), m);
  EXPECT_FALSE(r.d->finished());
  ASSERT_TRUE(r.wait());
  srv.join();
  EXPECT_TRUE(r.d->finished());
  EXPECT_EQ(srv.received, "24:3:Hi\n,3:a@x,3:b@y,3:c@y,,");
  EXPECT_EQ(srv.received, qmqp_request(*m));
  ASSERT_EQ(r.outcomes.size(), 1u);
  const Outcome& o = r.outcomes[0];
  EXPECT_EQ(o.tag, 42u);
  EXPECT_FALSE(o.connect_failed);
  EXPECT_EQ(o.server, srv.endpoint().text);
  EXPECT_EQ(o.replies, (std::vector<Reply>{GetParam().want, GetParam().want}));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, QmqpAnswer,
    ::testing::Values(AnswerCase{"K", ns("KOk: queued as 43F1A10202D"), K("Ok: queued as 43F1A10202D")},
                      AnswerCase{"Z", ns("Zmail server temporarily rejected message (#4.3.0)"),
                                 Z("mail server temporarily rejected message (#4.3.0)")},
                      AnswerCase{"D", ns("Dmail server permanently rejected message (#5.3.0)"),
                                 D("mail server permanently rejected message (#5.3.0)")}),
    [](const ::testing::TestParamInfo<AnswerCase>& i) { return std::string(i.param.name); });

TEST(Qmqp, ReplyArrivingByteByByte) {
  auto m = make_msg(1, "x\n", "a@x", {"b@y"});
  FakeServer srv([&](Peer& p) {
    if (!p.read_netstring()) return;
    for (char c : ns("Kqueued")) p.send(std::string(1, c));
  });
  QmqpRun r(srv.endpoint(), m);
  ASSERT_TRUE(r.wait());
  srv.join();
  EXPECT_EQ(r.outcomes[0].replies, (std::vector<Reply>{K("queued")}));
}

TEST(Qmqp, EarlyRejectionWhileStillWritingALargeMessageIsUsed) {
  // Postfix qmqpd over message_size_limit: answers before reading the rest, then closes. The
  // client sees EPIPE/ECONNRESET on its writes and must still read and use the answer.
  auto m = make_msg(1, std::string(4 * 1024 * 1024, 'x') + "\n", "a@x", {"b@y"});
  const std::string answer = "Dnetstring length exceeds storage limit while receiving message content";
  FakeServer srv([&](Peer& p) {
    if (!p.read_bytes(4096)) return;
    p.send(ns(answer));
    // close with unread bytes: the kernel resets the connection
  });
  QmqpRun r(srv.endpoint(), m);
  ASSERT_TRUE(r.wait());
  srv.join();
  ASSERT_EQ(r.outcomes.size(), 1u);
  EXPECT_FALSE(r.outcomes[0].connect_failed);
  EXPECT_EQ(r.outcomes[0].replies, (std::vector<Reply>{D(answer.substr(1))}));
}

TEST(Qmqp, EofWithoutReplyIsTemporary) {
  auto m = make_msg(1, "x\n", "a@x", {"b@y", "c@y"});
  FakeServer srv([&](Peer& p) { p.read_netstring(); });
  QmqpRun r(srv.endpoint(), m);
  ASSERT_TRUE(r.wait());
  srv.join();
  EXPECT_EQ(srv.received, qmqp_request(*m));
  EXPECT_FALSE(r.outcomes[0].connect_failed);
  EXPECT_EQ(r.outcomes[0].replies,
            (std::vector<Reply>{Z("connection closed before reply"), Z("connection closed before reply")}));
}

TEST(Qmqp, TruncatedReplyThenEofIsTemporary) {
  auto m = make_msg(1, "x\n", "a@x", {"b@y"});
  FakeServer srv([&](Peer& p) {
    if (!p.read_netstring()) return;
    p.send("10:Kok");
  });
  QmqpRun r(srv.endpoint(), m);
  ASSERT_TRUE(r.wait());
  srv.join();
  ASSERT_EQ(r.outcomes[0].replies.size(), 1u);
  EXPECT_EQ(r.outcomes[0].replies[0].verdict, Verdict::temporary);
}

TEST(Qmqp, MalformedReplyIsAProtocolError) {
  for (std::string bad : {std::string("xyz"), ns("Xbad"), std::string("0:,"), std::string("99999:K")}) {
    SCOPED_TRACE(bad);
    auto m = make_msg(1, "x\n", "a@x", {"b@y"});
    FakeServer srv([&](Peer& p) {
      if (!p.read_netstring()) return;
      p.send(bad);
      p.wait_close(5s);
    });
    QmqpRun r(srv.endpoint(), m);
    ASSERT_TRUE(r.wait());
    srv.join();
    ASSERT_EQ(r.outcomes[0].replies.size(), 1u);
    EXPECT_EQ(r.outcomes[0].replies[0].verdict, Verdict::temporary);
    EXPECT_EQ(r.outcomes[0].replies[0].text.rfind("protocol error: ", 0), 0u) << r.outcomes[0].replies[0].text;
  }
}

TEST(Qmqp, ConnectionRefused) {
  Endpoint ep = refused_endpoint();
  QmqpRun r(ep, make_msg(3, "x\n", "a@x", {"b@y"}));
  EXPECT_TRUE(r.outcomes.empty());  // never from inside the constructor
  ASSERT_TRUE(r.wait());
  EXPECT_TRUE(r.outcomes[0].connect_failed);
  EXPECT_EQ(r.outcomes[0].tag, 3u);
  EXPECT_EQ(r.outcomes[0].server, ep.text);
  EXPECT_EQ(r.outcomes[0].replies, (std::vector<Reply>{Z("connection refused")}));
}

TEST(Qmqp, ConnectTimeout) {
  FullListener full;
  if (!full.ok()) GTEST_SKIP() << "cannot fill a loopback accept queue here";
  Timeouts t = quick();
  t.connect = 300ms;
  QmqpRun r(full.endpoint(), make_msg(1, "x\n", "a@x", {"b@y"}), t);
  ASSERT_TRUE(r.wait());
  EXPECT_TRUE(r.outcomes[0].connect_failed);
  EXPECT_EQ(r.outcomes[0].replies, (std::vector<Reply>{Z("connection timed out")}));
}

TEST(Qmqp, IoTimeout) {
  FakeServer srv([&](Peer& p) {
    p.read_netstring();
    p.wait_close(10s);
  });
  Timeouts t = quick();
  t.io = 200ms;
  QmqpRun r(srv.endpoint(), make_msg(1, "x\n", "a@x", {"b@y"}), t);
  ASSERT_TRUE(r.wait());
  srv.join();
  EXPECT_TRUE(srv.saw_close);
  EXPECT_FALSE(r.outcomes[0].connect_failed);
  EXPECT_EQ(r.outcomes[0].replies, (std::vector<Reply>{Z("timed out waiting for the server")}));
}

TEST(Qmqp, SessionCap) {
  FakeServer srv([&](Peer& p) {
    p.read_netstring();
    p.wait_close(10s);
  });
  Timeouts t = quick();
  t.session = 300ms;
  QmqpRun r(srv.endpoint(), make_msg(1, "x\n", "a@x", {"b@y"}), t);
  ASSERT_TRUE(r.wait());
  srv.join();
  EXPECT_EQ(r.outcomes[0].replies, (std::vector<Reply>{Z("session time limit reached")}));
}

TEST(Qmqp, DestroyMidFlightRunsNoCallback) {
  event::Loop loop;
  std::atomic<bool> got{false};
  event::Async wake(loop, [] {});  // the server thread wakes the loop to re-check `got`
  FakeServer srv([&](Peer& p) {
    got = p.read_netstring();
    wake.send();
    p.wait_close(10s);
  });
  int calls = 0;
  auto d = std::make_unique<QmqpDelivery>(loop, srv.endpoint(), quick(), make_msg(1, "x\n", "a@x", {"b@y"}),
                                          [&](Outcome) { ++calls; });
  ASSERT_TRUE(loop.run_until([&] { return got.load(); }, 15s));
  d.reset();
  srv.join();  // the server thread is done with `wake` now
  wake.reset();
  EXPECT_EQ(loop.open_handles(), 0u);
  EXPECT_TRUE(srv.saw_close);
  loop.run();
  EXPECT_EQ(calls, 0);
}

TEST(Qmqp, DestroyFromInsideOnDone) {
  FakeServer srv([&](Peer& p) {
    if (!p.read_netstring()) return;
    p.send(ns("Kok"));
  });
  event::Loop loop;
  int calls = 0;
  std::unique_ptr<QmqpDelivery> d;
  d = std::make_unique<QmqpDelivery>(loop, srv.endpoint(), quick(), make_msg(1, "x\n", "a@x", {"b@y"}),
                                     [&](Outcome o) {
                                       ++calls;
                                       EXPECT_EQ(o.replies, (std::vector<Reply>{K("ok")}));
                                       d.reset();
                                     });
  ASSERT_TRUE(loop.run_until([&] { return d == nullptr; }, 15s));
  srv.join();
  loop.run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(loop.open_handles(), 0u);
}

TEST(Qmqp, Ipv6Loopback) {
  auto m = make_msg(1, "x\n", "", {"b@y"});
  FakeServer srv(
      [&](Peer& p) {
        if (!p.read_netstring()) return;
        p.send(ns("Kv6"));
      },
      true);
  if (!srv.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  QmqpRun r(srv.endpoint(), m);
  ASSERT_TRUE(r.wait());
  srv.join();
  EXPECT_EQ(srv.received, qmqp_request(*m));
  EXPECT_EQ(r.outcomes[0].replies, (std::vector<Reply>{K("v6")}));
}

}  // namespace
}  // namespace nullq::client::test

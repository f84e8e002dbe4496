// QMTP client sessions against a canned-bytes server (PROTOCOLS.md §3, §5).
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace nullq::client::test {
namespace {

[[maybe_unused]] auto* const sigpipe_env = ::testing::AddGlobalTestEnvironment(new IgnoreSigpipe);

Timeouts quick() {
  Timeouts t;
  t.connect = 5s;
  t.io = 10s;
  t.session = 20s;
  return t;
}

// Runs a QmtpConnection in a loop and records what it reports.
struct Harness {
  event::Loop loop;
  std::vector<Outcome> outcomes;
  int idles = 0;
  int closed = 0;
  std::unique_ptr<QmtpConnection> conn;

  Harness(const Endpoint& ep, unsigned max_in_flight, Timeouts t = quick()) {
    conn = std::make_unique<QmtpConnection>(
        loop, ep, t, max_in_flight, [this] { ++idles; }, [this] { ++closed; });
  }
  ~Harness() {
    conn.reset();
    EXPECT_EQ(loop.open_handles(), 0u) << "a handle outlived its session";
  }
  bool submit(std::shared_ptr<const Message> m) {
    return conn->submit(std::move(m), [this](Outcome o) { outcomes.push_back(std::move(o)); });
  }
  bool wait(const std::function<bool()>& done) { return loop.run_until(done, 15s); }
  const Outcome* find(std::uint64_t tag) const {
    for (const auto& o : outcomes)
      if (o.tag == tag) return &o;
    return nullptr;
  }
};

TEST(Qmtp, SinglePackageAcceptedThenFinishHalfCloses) {
  auto m = make_msg(7, "Hi\n", "a@x", {"b@y"});
  bool eof_before_answer = false;
  FakeServer srv([&](Peer& p) {
    if (!p.read_packages(1)) return;
    // Like qmail-qmtpd: answers are flushed only after the next read, so the client must
    // half-close and keep its read side open.
    eof_before_answer = p.wait_eof();
    p.send(ns("Kok 1795338653 qp 23807"));
  });
  Harness h(srv.endpoint(), 4);
  ASSERT_TRUE(h.submit(m));
  EXPECT_EQ(h.conn->in_flight(), 1u);
  h.conn->finish();
  EXPECT_FALSE(h.conn->usable());
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_EQ(srv.received, "4:\nHi\n,3:a@x,6:3:b@y,,");
  EXPECT_TRUE(eof_before_answer);
  ASSERT_EQ(h.outcomes.size(), 1u);
  const Outcome& o = h.outcomes[0];
  EXPECT_EQ(o.tag, 7u);
  EXPECT_FALSE(o.connect_failed);
  EXPECT_EQ(o.server, srv.endpoint().text);
  ASSERT_EQ(o.replies.size(), 1u);
  EXPECT_EQ(o.replies[0], K("ok 1795338653 qp 23807"));
  EXPECT_EQ(h.conn->in_flight(), 0u);
}

TEST(Qmtp, FinishHalfClosesOnlyAfterEveryPackage) {
  auto m1 = make_msg(1, std::string(1024 * 1024, 'a') + "\n", "s@x", {"a@y"});
  auto m2 = make_msg(2, std::string(1024 * 1024, 'b') + "\n", "s@x", {"b@y", "c@y"});
  std::size_t packages_at_eof = 0;
  FakeServer srv([&](Peer& p) {
    // Answers nothing until the client's EOF, like qmail-qmtpd whose answers wait for its next read.
    if (!p.wait_eof()) return;
    packages_at_eof = count_packages(p.in);
    p.send(ns("K1") + ns("K2b") + ns("D2c"));
  });
  Harness h(srv.endpoint(), 4);
  ASSERT_TRUE(h.submit(m1));
  ASSERT_TRUE(h.submit(m2));
  h.conn->finish();
  EXPECT_FALSE(h.submit(make_msg(3, "late\n", "s@x", {"d@y"})));  // finishing: takes nothing more
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_EQ(packages_at_eof, 2u);
  EXPECT_EQ(srv.received, qmtp_package(*m1) + qmtp_package(*m2));
  ASSERT_EQ(h.outcomes.size(), 2u);
  EXPECT_EQ(h.outcomes[0].replies, (std::vector<Reply>{K("1")}));
  EXPECT_EQ(h.outcomes[1].replies, (std::vector<Reply>{K("2b"), D("2c")}));
}

TEST(Qmtp, ThreePipelinedPackagesMixedAnswers) {
  auto m1 = make_msg(1, "one\n", "s@x", {"r1@y", "r2@y"});
  auto m2 = make_msg(2, "two\n", "", {"r3@y"});
  auto m3 = make_msg(3, "three\n", "s@x", {"r4@y", "r5@y", "r6@y"});
  FakeServer srv([&](Peer& p) {
    // All three packages arrive before any answer: the client pipelines.
    if (!p.read_packages(3)) return;
    p.send(ns("Kok") + ns("Dsorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)") +
           ns("Zmail server temporarily rejected message (#4.3.0)"));
    p.send(ns("Kfine") + ns("Zlater") + ns("Dno"));
    p.wait_eof();
  });
  Harness h(srv.endpoint(), 3);
  ASSERT_TRUE(h.submit(m1));
  ASSERT_TRUE(h.submit(m2));
  ASSERT_TRUE(h.submit(m3));
  EXPECT_EQ(h.conn->in_flight(), 3u);
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 3; }));
  EXPECT_TRUE(h.conn->usable());
  EXPECT_GE(h.idles, 1);
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_EQ(srv.accepted.load(), 1);
  EXPECT_EQ(srv.received, qmtp_package(*m1) + qmtp_package(*m2) + qmtp_package(*m3));
  // Answers come in package order.
  ASSERT_EQ(h.outcomes[0].tag, 1u);
  ASSERT_EQ(h.outcomes[1].tag, 2u);
  ASSERT_EQ(h.outcomes[2].tag, 3u);
  EXPECT_EQ(h.outcomes[0].replies,
            (std::vector<Reply>{K("ok"), D("sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)")}));
  EXPECT_EQ(h.outcomes[1].replies, (std::vector<Reply>{Z("mail server temporarily rejected message (#4.3.0)")}));
  EXPECT_EQ(h.outcomes[2].replies, (std::vector<Reply>{K("fine"), Z("later"), D("no")}));
}

TEST(Qmtp, MaxInFlightIsHonoured) {
  auto m1 = make_msg(1, "a\n", "s@x", {"r@y"});
  auto m2 = make_msg(2, "b\n", "s@x", {"r@y"});
  auto m3 = make_msg(3, "c\n", "s@x", {"r@y"});
  FakeServer srv([&](Peer& p) {
    if (!p.read_packages(2)) return;
    p.send(ns("K1") + ns("K2"));
    if (!p.read_packages(3)) return;
    p.send(ns("K3"));
    p.wait_eof();
  });
  Harness h(srv.endpoint(), 2);
  ASSERT_TRUE(h.submit(m1));
  ASSERT_TRUE(h.submit(m2));
  bool called = false;
  EXPECT_FALSE(h.conn->submit(m3, [&](Outcome) { called = true; }));  // full: not taken
  EXPECT_EQ(h.conn->in_flight(), 2u);
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 2; }));
  EXPECT_GE(h.idles, 1);
  EXPECT_EQ(h.conn->in_flight(), 0u);
  ASSERT_TRUE(h.submit(m3));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 3; }));
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_FALSE(called);
  EXPECT_EQ(h.outcomes[2].replies, (std::vector<Reply>{K("3")}));
  EXPECT_EQ(srv.received, qmtp_package(*m1) + qmtp_package(*m2) + qmtp_package(*m3));
}

TEST(Qmtp, ServerClosesMidAnswersKeepsAnsweredRecipients) {
  auto m1 = make_msg(1, "x\n", "s@x", {"a@y", "b@y", "c@y"});
  auto m2 = make_msg(2, "y\n", "s@x", {"d@y"});
  FakeServer srv([&](Peer& p) {
    if (!p.read_packages(2)) return;
    p.send(ns("Kgot a"));
    // and closes
  });
  Harness h(srv.endpoint(), 4);
  ASSERT_TRUE(h.submit(m1));
  ASSERT_TRUE(h.submit(m2));
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  ASSERT_EQ(h.outcomes.size(), 2u);
  const Outcome* o1 = h.find(1);
  const Outcome* o2 = h.find(2);
  ASSERT_TRUE(o1 && o2);
  EXPECT_FALSE(o1->connect_failed);
  EXPECT_EQ(o1->replies[0], K("got a"));
  EXPECT_EQ(o1->replies[1].verdict, Verdict::temporary);
  EXPECT_EQ(o1->replies[2].verdict, Verdict::temporary);
  EXPECT_NE(o1->replies[1].text.find("connection closed before reply"), std::string::npos) << o1->replies[1].text;
  EXPECT_EQ(o2->replies, (std::vector<Reply>{o1->replies[2]}));
  EXPECT_FALSE(h.conn->usable());
  EXPECT_FALSE(h.submit(make_msg(3, "z\n", "s@x", {"e@y"})));
}

TEST(Qmtp, ServerAnswersEverythingThenClosesEarly) {
  auto m = make_msg(1, "x\n", "s@x", {"a@y", "b@y"});
  FakeServer srv([&](Peer& p) {
    if (!p.read_packages(1)) return;
    p.send(ns("Kone") + ns("Ztwo"));
    // closes without waiting for the client's EOF
  });
  Harness h(srv.endpoint(), 4);
  ASSERT_TRUE(h.submit(m));
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  ASSERT_EQ(h.outcomes.size(), 1u);
  EXPECT_EQ(h.outcomes[0].replies, (std::vector<Reply>{K("one"), Z("two")}));
  EXPECT_FALSE(h.conn->usable());
  EXPECT_FALSE(h.submit(make_msg(2, "y\n", "s@x", {"c@y"})));
  h.conn->finish();  // harmless after the close
  EXPECT_EQ(h.outcomes.size(), 1u);
}

TEST(Qmtp, ServerClosesMidPackage) {
  auto big = make_msg(1, std::string(8 * 1024 * 1024, 'x') + "\n", "s@x", {"a@y", "b@y"});
  FakeServer srv([&](Peer& p) { p.read_bytes(1000); });  // reads a little and closes
  Harness h(srv.endpoint(), 1);
  ASSERT_TRUE(h.submit(big));
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  ASSERT_EQ(h.outcomes.size(), 1u);
  EXPECT_FALSE(h.outcomes[0].connect_failed);
  ASSERT_EQ(h.outcomes[0].replies.size(), 2u);
  for (const auto& r : h.outcomes[0].replies) {
    EXPECT_EQ(r.verdict, Verdict::temporary);
    EXPECT_NE(r.text.find("connection closed before reply"), std::string::npos) << r.text;
  }
}

struct BadReplyCase {
  const char* name;
  std::string bytes;
};

class QmtpBadReply : public ::testing::TestWithParam<BadReplyCase> {};

TEST_P(QmtpBadReply, IsAProtocolErrorAndTemporary) {
  auto m1 = make_msg(1, "x\n", "s@x", {"a@y", "b@y"});
  auto m2 = make_msg(2, "y\n", "s@x", {"c@y"});
  FakeServer srv([&](Peer& p) {
    if (!p.read_packages(2)) return;
    p.send(ns("Kfirst"));
    p.send(GetParam().bytes);
    p.wait_close(5s);  // the client drops the connection (a reset when it left bytes unread)
  });
  Harness h(srv.endpoint(), 4);
  ASSERT_TRUE(h.submit(m1));
  ASSERT_TRUE(h.submit(m2));
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_TRUE(srv.saw_close);
  ASSERT_EQ(h.outcomes.size(), 2u);
  const Outcome* o1 = h.find(1);
  const Outcome* o2 = h.find(2);
  ASSERT_TRUE(o1 && o2);
  EXPECT_EQ(o1->replies[0], K("first"));
  for (const Reply* r : {&o1->replies[1], &o2->replies[0]}) {
    EXPECT_EQ(r->verdict, Verdict::temporary);
    EXPECT_EQ(r->text.rfind("protocol error: ", 0), 0u) << r->text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, QmtpBadReply,
    ::testing::Values(BadReplyCase{"garbage", "xyz,"}, BadReplyCase{"bad_verdict", ns("Xwhat")},
                      BadReplyCase{"empty_reply", "0:,"}, BadReplyCase{"missing_comma", "3:Kok;"},
                      BadReplyCase{"oversize", "70000:K" + std::string(69999, 'a') + ","},
                      BadReplyCase{"oversize_announced_only", "999999999:K"}),
    [](const ::testing::TestParamInfo<BadReplyCase>& i) { return std::string(i.param.name); });

TEST(Qmtp, ReplyWithNothingPendingDropsTheConnection) {
  auto m = make_msg(1, "x\n", "s@x", {"a@y"});
  FakeServer srv([&](Peer& p) {
    if (!p.read_packages(1)) return;
    p.send(ns("Kok") + ns("Kextra"));
    p.wait_eof(5s);
  });
  Harness h(srv.endpoint(), 4);
  ASSERT_TRUE(h.submit(m));
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_TRUE(srv.saw_eof);
  ASSERT_EQ(h.outcomes.size(), 1u);
  EXPECT_EQ(h.outcomes[0].replies, (std::vector<Reply>{K("ok")}));  // the answered one keeps its answer
  EXPECT_FALSE(h.conn->usable());
}

TEST(Qmtp, ConnectionRefused) {
  Endpoint ep = refused_endpoint();
  Harness h(ep, 4);
  auto m1 = make_msg(1, "x\n", "s@x", {"a@y", "b@y"});
  auto m2 = make_msg(2, "y\n", "s@x", {"c@y"});
  ASSERT_TRUE(h.submit(m1));
  ASSERT_TRUE(h.submit(m2));
  EXPECT_TRUE(h.outcomes.empty());  // never reported from inside submit()
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  ASSERT_EQ(h.outcomes.size(), 2u);
  for (const auto& o : h.outcomes) {
    EXPECT_TRUE(o.connect_failed);
    EXPECT_EQ(o.server, ep.text);
    for (const auto& r : o.replies) EXPECT_EQ(r, Z("connection refused"));
  }
  EXPECT_EQ(h.outcomes[0].replies.size(), 2u);
}

TEST(Qmtp, ConnectErrorLibuvReportsAtOnceStillComesFromTheLoop) {
  Endpoint ep;  // family AF_UNSPEC: uv_tcp_connect refuses it synchronously (EINVAL)
  ep.text = "nowhere";
  Harness h(ep, 4);
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "s@x", {"a@y"})));
  EXPECT_TRUE(h.outcomes.empty());
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  ASSERT_EQ(h.outcomes.size(), 1u);
  EXPECT_TRUE(h.outcomes[0].connect_failed);
  ASSERT_EQ(h.outcomes[0].replies.size(), 1u);
  EXPECT_EQ(h.outcomes[0].replies[0].verdict, Verdict::temporary);
  EXPECT_EQ(h.outcomes[0].replies[0].text.rfind("cannot connect: ", 0), 0u) << h.outcomes[0].replies[0].text;
}

TEST(Qmtp, ConnectTimeout) {
  FullListener full;
  if (!full.ok()) GTEST_SKIP() << "cannot fill a loopback accept queue here";
  Timeouts t = quick();
  t.connect = 300ms;
  Harness h(full.endpoint(), 4, t);
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "s@x", {"a@y"})));
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  ASSERT_EQ(h.outcomes.size(), 1u);
  EXPECT_TRUE(h.outcomes[0].connect_failed);
  EXPECT_EQ(h.outcomes[0].replies, (std::vector<Reply>{Z("connection timed out")}));
}

TEST(Qmtp, IoTimeoutWhenTheServerNeverAnswers) {
  FakeServer srv([&](Peer& p) {
    p.read_packages(1);
    p.wait_eof(10s);  // the client gives up and closes
  });
  Timeouts t = quick();
  t.io = 200ms;
  Harness h(srv.endpoint(), 4, t);
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "s@x", {"a@y"})));
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_TRUE(srv.saw_eof);
  ASSERT_EQ(h.outcomes.size(), 1u);
  EXPECT_FALSE(h.outcomes[0].connect_failed);
  EXPECT_EQ(h.outcomes[0].replies, (std::vector<Reply>{Z("timed out waiting for the server")}));
}

TEST(Qmtp, SessionCap) {
  FakeServer srv([&](Peer& p) {
    // Never answers; the I/O limit is long, so only the session cap can end this.
    if (!p.read_packages(1)) return;
    p.wait_eof(10s);
  });
  Timeouts t = quick();
  t.io = 10s;
  t.session = 300ms;
  Harness h(srv.endpoint(), 4, t);
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "s@x", {"a@y", "b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  ASSERT_EQ(h.outcomes.size(), 1u);
  EXPECT_EQ(h.outcomes[0].replies,
            (std::vector<Reply>{Z("session time limit reached"), Z("session time limit reached")}));
}

TEST(Qmtp, AnswersAreReadWhileALargePackageIsStillBeingWritten) {
  auto small = make_msg(1, "small\n", "s@x", {"a@y"});
  auto big = make_msg(2, std::string(16 * 1024 * 1024, 'b') + "\n", "s@x", {"b@y"});
  std::mutex mu;
  std::condition_variable cv;
  bool small_done = false;
  bool waited = false;
  FakeServer srv([&](Peer& p) {
    if (!p.read_packages(1)) return;
    p.send(ns("Ksmall"));
    // Stop reading until the client has processed the answer, while it is blocked writing 16 MiB
    // (more than both socket buffers hold): a client that does not read while writing hangs here.
    {
      std::unique_lock<std::mutex> lock(mu);
      waited = cv.wait_for(lock, 10s, [&] { return small_done; });
    }
    if (!p.read_packages(2)) return;
    p.send(ns("Kbig"));
    p.wait_eof();
  });
  Harness h(srv.endpoint(), 2);
  ASSERT_TRUE(h.conn->submit(small, [&](Outcome o) {
    h.outcomes.push_back(std::move(o));
    std::lock_guard<std::mutex> lock(mu);
    small_done = true;
    cv.notify_all();
  }));
  ASSERT_TRUE(h.submit(big));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 2; }));
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_TRUE(waited);
  EXPECT_EQ(h.outcomes[0].replies, (std::vector<Reply>{K("small")}));
  EXPECT_EQ(h.outcomes[1].replies, (std::vector<Reply>{K("big")}));
  EXPECT_EQ(srv.received.size(), qmtp_package(*small).size() + qmtp_package(*big).size());
}

TEST(Qmtp, DestroyMidFlightRunsNoCallbacks) {
  event::Loop loop;
  std::atomic<bool> got{false};
  event::Async wake(loop, [] {});  // the server thread wakes the loop to re-check `got`
  FakeServer srv([&](Peer& p) {
    got = p.read_packages(1);
    wake.send();
    p.wait_eof(10s);  // destroying the connection closes the socket
  });
  int calls = 0;
  auto conn = std::make_unique<QmtpConnection>(
      loop, srv.endpoint(), quick(), 4, [&] { ++calls; }, [&] { ++calls; });
  ASSERT_TRUE(conn->submit(make_msg(1, "x\n", "s@x", {"a@y"}), [&](Outcome) { ++calls; }));
  ASSERT_TRUE(loop.run_until([&] { return got.load(); }, 15s));
  conn.reset();
  srv.join();  // the server thread is done with `wake` now
  wake.reset();
  EXPECT_EQ(loop.open_handles(), 0u);
  EXPECT_TRUE(srv.saw_eof);
  loop.run();
  EXPECT_EQ(calls, 0);
}

TEST(Qmtp, DestroyFromInsideOnDone) {
  auto m1 = make_msg(1, "x\n", "s@x", {"a@y"});
  auto m2 = make_msg(2, "y\n", "s@x", {"b@y"});
  FakeServer srv([&](Peer& p) {
    if (!p.read_packages(2)) return;
    p.send(ns("Kone") + ns("Ktwo"));
    p.wait_eof(10s);
  });
  event::Loop loop;
  int done = 0;
  int closed = 0;
  auto conn = std::make_unique<QmtpConnection>(loop, srv.endpoint(), quick(), 4, [] {}, [&] { ++closed; });
  ASSERT_TRUE(conn->submit(m1, [&](Outcome) {
    ++done;
    conn.reset();  // the second package's callback must then never run
  }));
  ASSERT_TRUE(conn->submit(m2, [&](Outcome) { ++done; }));
  ASSERT_TRUE(loop.run_until([&] { return conn == nullptr; }, 15s));
  srv.join();
  loop.run();
  EXPECT_EQ(done, 1);
  EXPECT_EQ(closed, 0);
  EXPECT_EQ(loop.open_handles(), 0u);
}

TEST(Qmtp, FinishWithoutPackagesClosesFromTheLoop) {
  event::Loop loop;
  int closed = 0;
  QmtpConnection conn(loop, refused_endpoint(), quick(), 4, [] {}, [&] { ++closed; });
  conn.finish();
  EXPECT_EQ(closed, 0);  // not from inside finish()
  ASSERT_TRUE(loop.run_until([&] { return closed == 1; }, 5s));
  EXPECT_FALSE(conn.usable());
  EXPECT_FALSE(conn.submit(make_msg(1, "x\n", "s@x", {"a@y"}), [](Outcome) {}));
}

TEST(Qmtp, NoRecipientsIsRefusedPermanentlyWithoutSending) {
  FakeServer srv([&](Peer& p) { p.wait_eof(2s); }, false, 300ms);
  Harness h(srv.endpoint(), 4);
  auto empty = make_msg(9, "x\n", "s@x", {});
  ASSERT_TRUE(h.submit(empty));
  EXPECT_TRUE(h.outcomes.empty());
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1; }));
  EXPECT_EQ(h.outcomes[0].tag, 9u);
  EXPECT_TRUE(h.outcomes[0].replies.empty());
  EXPECT_EQ(h.conn->in_flight(), 0u);
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_EQ(srv.accepted.load(), 0);  // an empty recipient list would get no answers: never sent
  EXPECT_EQ(srv.received, "");
}

TEST(Qmtp, Ipv6Loopback) {
  auto m = make_msg(5, "v6\n", "a@x", {"b@y"});
  FakeServer srv(
      [&](Peer& p) {
        if (!p.read_packages(1)) return;
        p.send(ns("Kv6"));
        p.wait_eof();
      },
      true);
  if (!srv.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  Harness h(srv.endpoint(), 1);
  ASSERT_TRUE(h.submit(m));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1; }));
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_EQ(h.outcomes[0].replies, (std::vector<Reply>{K("v6")}));
  EXPECT_EQ(h.outcomes[0].server.rfind("[::1]:", 0), 0u);
  EXPECT_EQ(srv.received, qmtp_package(*m));
}

}  // namespace
}  // namespace nullq::client::test

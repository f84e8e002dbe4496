// nullq-send integration tests: the real nullq-queue and nullq-send from NULLQ_BIN_DIR against
// scripted QMTP/QMQP servers on 127.0.0.1 (port 0), in a temporary spool.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <utility>

#include "fake_server.hpp"
#include "harness.hpp"
#include "process.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

const std::string kBody = "From: alice@example.org\nTo: bob@example.org\nSubject: test\n\nHello, world.\n";

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

class Send : public ::testing::Test {
 protected:
  TestSpool s;
};

// ---- one run, one fault each ----

TEST_F(Send, QmtpAcceptedMessageArrivesByteExactAndIsRemoved) {
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()});
  std::string id = s.inject("alice@example.org", {"bob@example.org", "carol@example.org"}, kBody);
  ASSERT_FALSE(id.empty());
  std::string queued_file = read_file(s.spool + "/new/" + id);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  EXPECT_TRUE(s.incoming().empty());
  auto got = srv.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sender, "alice@example.org");
  EXPECT_EQ(got[0].rcpts, (std::vector<std::string>{"bob@example.org", "carol@example.org"}));
  // Byte-exact: what the server got is the queued message after the envelope.
  auto body_at = queued_file.find("\n\n");
  ASSERT_NE(body_at, std::string::npos);
  EXPECT_EQ(got[0].message, queued_file.substr(body_at + 2));
  EXPECT_TRUE(ends_with(got[0].message, kBody));
  EXPECT_TRUE(contains(r.err, "id=" + id + " from=<alice@example.org> to=<bob@example.org>,<carol@example.org> host=" +
                                  srv.url() + " addr=127.0.0.1:" + std::to_string(srv.port()) +
                                  " proto=qmtp rcpts=2 status=sent text=\"ok thanks\" ms="))
      << r.err;
  EXPECT_TRUE(contains(r.err, "nullq-send: 2 recipients: 2 delivered, 0 bounced, 0 deferred; 0 bounces sent\n")) << r.err;
}

TEST_F(Send, QmqpAcceptedMessageIsRemoved) {
  FakeServer srv(Proto::qmqp);
  s.write_config({srv.url()});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  ASSERT_EQ(srv.count(), 1u);
  EXPECT_TRUE(ends_with(srv.received()[0].message, kBody));
  EXPECT_TRUE(contains(r.err, "proto=qmqp rcpts=1 status=sent")) << r.err;
}

// A complete K is the server's verdict even when bytes follow it in the same write: delivered
// exactly once, the extra bytes logged as a warning (they used to turn the K into a retried Z).
TEST_F(Send, BytesAfterTheAnswerInTheSameWriteStillCountAsDelivered) {
  for (Proto p : {Proto::qmqp, Proto::qmtp}) {
    FakeServer srv(p);
    srv.set_fault(Fault::junk_after_answer);
    srv.set_replier([](const Received& r) { return std::vector<std::string>(r.rcpts.size(), "Kok fault server"); });
    s.write_config({srv.url()});
    s.inject("alice@example.org", {"bob@example.org"}, kBody);
    RunResult r = s.once();
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(s.queued().empty()) << r.err;
    EXPECT_TRUE(contains(r.err, "rcpts=1 status=sent text=\"ok fault server\"")) << r.err;
    // QMQP reads to the end of its one answer; one small write arrives in one read on loopback.
    if (p == Proto::qmqp) {
      EXPECT_TRUE(contains(r.err, " warning: qmqp: 23 byte(s) after the response: junk after the answer\\x0d\\x0a"))
          << r.err;
    }
    EXPECT_FALSE(contains(r.err, "status=deferred")) << r.err;
    // Run again: nothing is sent twice.
    RunResult again = s.once();
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(srv.count(), 1u);
  }
}

// A server text with an escape sequence and a carriage return reaches the log, the queue file's
// last error and the bounce report escaped (\xNN), never raw.
TEST_F(Send, ServerTextWithControlBytesIsEscapedInLogQueueFileAndBounce) {
  const std::string evil = "no\x1b[2J\rthanks";
  const std::string shown = "no\\x1b[2J\\x0dthanks";
  {
    FakeServer srv(Proto::qmtp);
    srv.set_replier([&](const Received& m) { return std::vector<std::string>(m.rcpts.size(), "Z" + evil); });
    s.write_config({srv.url()});
    s.inject("alice@example.org", {"bob@example.org"}, kBody);
    RunResult r = s.once();
    EXPECT_EQ(r.status, 75) << r.err;
    EXPECT_TRUE(contains(r.err, "status=deferred text=\"" + shown + "\"")) << r.err;
    EXPECT_FALSE(contains(r.err, "\x1b")) << r.err;
    auto q = s.queued();
    ASSERT_EQ(q.size(), 1u);
    std::string file = read_file(s.spool + "/queue/" + q[0]);
    // The recorded error names the smart host and server it came from (nullq status attributes it).
    const std::string recorded = srv.url() + " (127.0.0.1:" + std::to_string(srv.port()) + "): " + shown;
    EXPECT_TRUE(contains(file, "L" + std::to_string(recorded.size()) + ":" + recorded + ",\n")) << file;
    EXPECT_FALSE(contains(file, "\x1b"));
    ASSERT_EQ(::unlink((s.spool + "/queue/" + q[0]).c_str()), 0);
  }
  FakeServer srv(Proto::qmtp);
  srv.set_replier([&](const Received& m) {
    return std::vector<std::string>(m.rcpts.size(), m.sender.empty() ? "Kbounce taken" : "D" + evil);
  });
  s.write_config({srv.url()});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(srv.count(), 2u) << r.err;
  const std::string bounce = srv.received()[1].message;
  EXPECT_TRUE(contains(bounce, "Diagnostic-Code: X-QMTP; " + shown + "\n")) << bounce;
  EXPECT_FALSE(contains(bounce, "\x1b")) << bounce;
  EXPECT_FALSE(contains(bounce, "\r")) << bounce;
}

TEST_F(Send, QuietOnceAndSendmailDashQPrintNothingWhenAllIsWell) {
  // What cron runs: any output would be mailed every time. The attempts still go to the log.
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult quiet = run({bin_dir() + "/nullq-send", "--once", "--quiet", "--config", s.config});
  EXPECT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
  EXPECT_TRUE(s.queued().empty());
  EXPECT_EQ(srv.count(), 1u);

  s.inject("alice@example.org", {"carol@example.org"}, kBody);
  RunResult q = run({bin_dir() + "/nullq-sendmail", "-q"}, {"NULLQ_CONFIG=" + s.config});
  EXPECT_EQ(q.status, 0) << q.err;
  EXPECT_EQ(q.err, "");
  EXPECT_TRUE(s.queued().empty());
  EXPECT_TRUE(s.incoming().empty());
  EXPECT_EQ(srv.count(), 2u);
}

TEST_F(Send, OnceCleansFailedFilesKeptLongerThanKeepFailed) {
  FakeServer srv(Proto::qmtp);
  write_file(s.config, "smarthosts:\n  - " + srv.url() + "\nqueue:\n  dir: " + s.spool + "\n  keep_failed: 10d\n");
  s.inject("alice@example.org", {"bob@example.org"}, kBody);  // creates the spool
  write_file(s.spool + "/failed/old", "kept for the admin\n");
  write_file(s.spool + "/failed/recent", "kept for the admin\n");
  const std::time_t eleven_days_ago = std::time(nullptr) - 11 * 24 * 3600;
  timespec times[2] = {{eleven_days_ago, 0}, {eleven_days_ago, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (s.spool + "/failed/old").c_str(), times, 0), 0);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(s.failed(), std::vector<std::string>{"recent"});
  EXPECT_TRUE(contains(r.err, "removed 1 file(s) kept in failed/ for longer than 10d")) << r.err;
  EXPECT_EQ(srv.count(), 1u);
}

// (Not a throttling text such as "try again later": that one slows the host instead, see limits_test.cpp.)
TEST_F(Send, TemporaryFailureStaysQueuedWithBackoff) {
  FakeServer srv(Proto::qmtp);
  srv.set_replier([](const Received& m) { return std::vector<std::string>(m.rcpts.size(), "Zmailbox busy, retry"); });
  s.write_config({srv.url()}, "", "  retry_min: 5m\n  retry_max: 1h\n");
  std::string id = s.inject("alice@example.org", {"bob@example.org"}, kBody);
  long long before = static_cast<long long>(::time(nullptr));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u);
  QueueName n = parse_name(q[0]);
  EXPECT_EQ(n.id, id);
  EXPECT_EQ(n.attempts, 1u);
  EXPECT_GE(n.next, before + 5 * 60 * 3 / 4);  // retry_min with at most -25% jitter, never below min
  EXPECT_LE(n.next, before + 3600 + 60);
  EXPECT_EQ(pending_rcpts(s.spool + "/queue/" + q[0]), (std::vector<std::string>{"bob@example.org"}));
  EXPECT_TRUE(contains(read_file(s.spool + "/queue/" + q[0]), "mailbox busy, retry"));
  EXPECT_TRUE(contains(r.err, "status=deferred text=\"mailbox busy, retry\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "nullq-send: 1 recipient: 0 delivered, 0 bounced, 1 deferred; 0 bounces sent\n")) << r.err;
  // Not due yet: a second run does not touch it.
  RunResult r2 = s.once();
  EXPECT_EQ(r2.status, 75);
  EXPECT_EQ(srv.count(), 1u);
  EXPECT_EQ(s.queued(), q);
  EXPECT_TRUE(contains(r2.err, "nullq-send: 0 recipients: 0 delivered, 0 bounced, 0 deferred; 0 bounces sent; "
                               "1 message not yet due\n"))
      << r2.err;
}

TEST_F(Send, PermanentFailureBouncesToTheSenderInTheSameRun) {
  FakeServer srv(Proto::qmtp);
  srv.set_replier([](const Received& m) {
    std::vector<std::string> out;
    for (const auto& r : m.rcpts) out.push_back(r == "bob@example.org" ? "Dno such user (#5.1.1)" : "Kok");
    return out;
  });
  s.write_config({srv.url()});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  EXPECT_TRUE(s.incoming().empty());
  auto got = srv.received();
  ASSERT_EQ(got.size(), 2u) << r.err;
  EXPECT_EQ(got[1].sender, "");
  EXPECT_EQ(got[1].rcpts, (std::vector<std::string>{"alice@example.org"}));
  EXPECT_TRUE(contains(got[1].message, "bob@example.org"));
  EXPECT_TRUE(contains(got[1].message, "no such user"));
  EXPECT_TRUE(contains(r.err, "status=bounced text=\"no such user (#5.1.1)\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "bounce for 1 recipient(s) queued")) << r.err;
}

TEST_F(Send, MixedAnswersRewriteTheEnvelopeWithOnlyTheTemporaryRecipients) {
  FakeServer srv(Proto::qmtp);
  srv.set_replier([](const Received& m) {
    std::vector<std::string> out;
    for (const auto& r : m.rcpts) {
      if (r == "d@example.org") {
        out.push_back("Dmailbox unknown");
      } else if (r == "z@example.org") {
        out.push_back("Zmailbox full");
      } else {
        out.push_back("Kok");
      }
    }
    return out;
  });
  s.write_config({srv.url()});
  std::string id = s.inject("alice@example.org", {"k@example.org", "d@example.org", "z@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(parse_name(q[0]).id, id);
  EXPECT_EQ(parse_name(q[0]).attempts, 1u);
  EXPECT_EQ(pending_rcpts(s.spool + "/queue/" + q[0]), (std::vector<std::string>{"z@example.org"}));
  auto got = srv.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].sender, "");
  EXPECT_EQ(got[1].rcpts, (std::vector<std::string>{"alice@example.org"}));
  EXPECT_TRUE(contains(got[1].message, "d@example.org"));
  EXPECT_FALSE(contains(got[1].message, "Final-Recipient: rfc822; k@example.org"));
  // The rewritten file still carries the whole message.
  EXPECT_TRUE(ends_with(read_file(s.spool + "/queue/" + q[0]), kBody));
  // One line per result, each naming its own recipient, with the status in words.
  EXPECT_TRUE(contains(r.err, "id=" + id + " from=<alice@example.org> to=<k@example.org> host=")) << r.err;
  EXPECT_TRUE(contains(r.err, "id=" + id + " from=<alice@example.org> to=<d@example.org> host=")) << r.err;
  EXPECT_TRUE(contains(r.err, "id=" + id + " from=<alice@example.org> to=<z@example.org> host=")) << r.err;
  EXPECT_TRUE(contains(r.err, "rcpts=1 status=sent")) << r.err;
  EXPECT_TRUE(contains(r.err, "rcpts=1 status=bounced text=\"mailbox unknown\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "rcpts=1 status=deferred text=\"mailbox full\"")) << r.err;
  EXPECT_FALSE(contains(r.err, "result=")) << r.err;
  // The summary counts recipients by outcome, and the bounce it delivered apart from them.
  EXPECT_TRUE(contains(r.err, "nullq-send: 3 recipients: 1 delivered, 1 bounced, 1 deferred; 1 bounce sent\n"))
      << r.err;
}

TEST_F(Send, QmqpEarlyAnswerThenCloseIsUsed) {
  FakeServer srv(Proto::qmqp);
  srv.set_fault(Fault::early_reply);
  s.write_config({srv.url()});
  std::string big(4 << 20, 'x');
  for (std::size_t i = 80; i < big.size(); i += 81) big[i] = '\n';
  s.inject("alice@example.org", {"bob@example.org"}, "Subject: big\n\n" + big + "\n");
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "status=bounced text=\"message too big for this test server (#5.3.4)\"")) << r.err;
  EXPECT_TRUE(s.queued().empty());
  // The bounce was refused the same way; a failed bounce with no admin address goes to failed/,
  // beside the message it reported (kept whole until a bounce is delivered).
  EXPECT_EQ(s.failed().size(), 2u) << r.err;
}

class SendFault : public Send, public ::testing::WithParamInterface<std::pair<Proto, Fault>> {};

TEST_P(SendFault, ServerTroubleIsTemporaryAndNothingIsLost) {
  auto [proto, fault] = GetParam();
  FakeServer srv(proto);
  srv.set_fault(fault);
  s.write_config({srv.url()}, "delivery:\n  timeout: 1s\n  connect_timeout: 2s\n");
  std::string id = s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << r.err;
  EXPECT_EQ(parse_name(q[0]).id, id);
  EXPECT_EQ(parse_name(q[0]).attempts, 1u);
  EXPECT_EQ(pending_rcpts(s.spool + "/queue/" + q[0]), (std::vector<std::string>{"bob@example.org"}));
  EXPECT_TRUE(ends_with(read_file(s.spool + "/queue/" + q[0]), kBody));
  EXPECT_TRUE(contains(r.err, "status=deferred")) << r.err;
  EXPECT_FALSE(contains(r.err, "status=sent")) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Faults, SendFault,
                         ::testing::Values(std::make_pair(Proto::qmtp, Fault::hang),
                                           std::make_pair(Proto::qmqp, Fault::hang),
                                           std::make_pair(Proto::qmtp, Fault::close_mid_request),
                                           std::make_pair(Proto::qmqp, Fault::close_mid_request),
                                           std::make_pair(Proto::qmtp, Fault::garbage),
                                           std::make_pair(Proto::qmqp, Fault::garbage),
                                           std::make_pair(Proto::qmtp, Fault::oversize),
                                           std::make_pair(Proto::qmqp, Fault::oversize)));

TEST_F(Send, SlowDripAnswerStillWorks) {
  FakeServer srv(Proto::qmtp);
  srv.set_fault(Fault::drip);
  s.write_config({srv.url()});
  s.inject("alice@example.org", {"bob@example.org", "carol@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  EXPECT_EQ(count_of(r.err, "status=sent"), 1u) << r.err;
}

TEST_F(Send, RefusedFirstSmartHostFailsOverAndTheBreakerSkipsIt) {
  FakeServer srv(Proto::qmtp);
  std::uint16_t dead = closed_port();
  s.write_config({"url: qmtp://127.0.0.1:" + std::to_string(dead) + "\n    connections: 1\n    pipeline: 1", srv.url()});
  for (int i = 0; i < 5; ++i) s.inject("alice@example.org", {"bob" + std::to_string(i) + "@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  EXPECT_EQ(srv.count(), 5u);
  std::string dead_addr = "addr=127.0.0.1:" + std::to_string(dead) + " ";
  EXPECT_GE(count_of(r.err, dead_addr), 1u) << r.err;
  // One real connection attempt; the others were skipped by the open breaker.
  std::size_t real = 0;
  std::size_t pos = 0;
  while ((pos = r.err.find(dead_addr, pos)) != std::string::npos) {
    std::size_t eol = r.err.find('\n', pos);
    if (!contains(r.err.substr(pos, eol - pos), "cooling down")) ++real;
    pos = eol;
  }
  EXPECT_EQ(real, 1u) << r.err;
  EXPECT_EQ(count_of(r.err, "status=sent"), 5u) << r.err;
}

TEST_F(Send, QmtpPipelinesManyMessagesOverFewConnections) {
  FakeServer srv(Proto::qmtp);
  s.write_config({"url: " + srv.url() + "\n    connections: 2\n    pipeline: 32"});
  const int n = 60;
  for (int i = 0; i < n; ++i) s.inject("alice@example.org", {"r" + std::to_string(i) + "@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.count(), static_cast<std::size_t>(n));
  EXPECT_TRUE(s.queued().empty());
  EXPECT_LE(srv.connections(), 4u) << "60 messages should share a few pipelined connections";
  EXPECT_LE(srv.max_concurrent(), 2u);
}

TEST_F(Send, QmqpDeliversInParallelWithinTheBound) {
  FakeServer srv(Proto::qmqp);
  srv.set_replier([](const Received&) {
    std::this_thread::sleep_for(50ms);  // hold each connection open a little
    return std::vector<std::string>{"Kok"};
  });
  s.write_config({"url: " + srv.url() + "\n    connections: 4"});
  const int n = 12;
  for (int i = 0; i < n; ++i) s.inject("alice@example.org", {"r" + std::to_string(i) + "@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.count(), static_cast<std::size_t>(n));
  EXPECT_EQ(srv.connections(), static_cast<std::size_t>(n)) << "QMQP: one message per connection";
  EXPECT_LE(srv.max_concurrent(), 4u);
  EXPECT_GE(srv.max_concurrent(), 2u);
}

TEST_F(Send, MalformedDropIsQuarantinedAndTheRestDelivered) {
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  write_file(s.spool + "/new/1700000000000000P1R0123456789abcdef", "this is no queue file\n");
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.count(), 1u);
  EXPECT_EQ(s.failed().size(), 1u);
  EXPECT_TRUE(contains(r.err, "quarantined new/1700000000000000P1R0123456789abcdef")) << r.err;
}

TEST_F(Send, ExpiredMessageIsBouncedAsGivingUp) {
  FakeServer srv(Proto::qmtp);
  srv.set_replier([](const Received& m) {
    return std::vector<std::string>(m.rcpts.size(), m.sender.empty() ? "Kok" : "Zstill busy");
  });
  s.write_config({srv.url()});
  // A queue file handed in eight days ago (Q record), as nullq-queue writes it.
  std::string old = std::to_string(static_cast<long long>(::time(nullptr)) - 8 * 86400);
  write_file(s.spool + "/new/1700000000000000P1R0123456789abcdef",
             "NQ1\nF17:alice@example.org,\nT15:bob@example.org,\nQ" + std::to_string(old.size()) + ":" + old +
                 ",\n\n" + kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  auto got = srv.received();
  ASSERT_EQ(got.size(), 2u) << r.err;
  EXPECT_EQ(got[1].rcpts, (std::vector<std::string>{"alice@example.org"}));
  EXPECT_TRUE(contains(got[1].message, "gave up after 1 attempt over 8d")) << got[1].message;
  EXPECT_TRUE(contains(got[1].message, "still busy"));
}

TEST_F(Send, ConfigWithoutSmartHostsIsAOneLineErrorExit78) {
  write_file(s.config, "queue:\n  dir: " + s.spool + "\n");
  RunResult r = s.once();
  EXPECT_EQ(r.status, 78);
  EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
  EXPECT_TRUE(starts_with(r.err, "nullq-send: ")) << r.err;
  RunResult missing = run({bin_dir() + "/nullq-send", "--once", "--config", s.dir.path() + "/nope.yaml"});
  EXPECT_EQ(missing.status, 78) << missing.err;
  RunResult usage = run({bin_dir() + "/nullq-send", "--bogus"});
  EXPECT_EQ(usage.status, 64);
}

TEST_F(Send, OnceByAUserWithoutAccessToTheSpoolSaysWhoMayFlush) {
  // `sendmail -q` by an ordinary user runs nullq-send --once against a spool it cannot open. Needs
  // root to drop to nobody (root itself is never refused).
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the flusher as another user";
  NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
  write_file(s.config, "smarthosts:\n  - qmtp://127.0.0.1:" + std::to_string(closed_port()) + "\nqueue:\n  dir: " +
                           s.spool + "\n");
  std::string id = s.inject("alice@example.org", {"bob@example.org"}, kBody);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(::chmod(s.dir.path().c_str(), 0755), 0);  // the config is readable; the spool is not
  ASSERT_EQ(::chmod(s.spool.c_str(), 0700), 0);
  nullq::testing::ProgramCopies copies({bin_dir() + "/nullq-send"});  // the build tree may be under /root
  ASSERT_TRUE(copies.ok());
  nullq::testing::RunOptions o;
  o.user = std::make_pair(uid_t{65534}, gid_t{65534});
  auto r = nullq::testing::run({copies("nullq-send"), "--once", "--config", s.config}, o);
  EXPECT_EQ(r.code, 77) << r.err;
  EXPECT_TRUE(starts_with(r.err, "nullq-send: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "Permission denied")) << r.err;
  EXPECT_TRUE(contains(r.err, "only root and the nullq user can flush the queue")) << r.err;
  EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
  EXPECT_EQ(s.incoming(), std::vector<std::string>{id}) << "the message stays where it was";
}

}  // namespace
}  // namespace nullq::send::it

// nullq-send as a daemon: it delivers what is injected, a --once run beside it pokes it, SIGTERM
// stops it cleanly (abandoning what hangs, keeping the mail), kill -9 loses nothing, and SIGHUP
// reloads the smart hosts and the log's target and format.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>

#include "fake_server.hpp"
#include "harness.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

const std::string kBody = "From: alice@example.org\nTo: bob@example.org\nSubject: daemon\n\nHello, world.\n";

class DaemonMode : public ::testing::Test {
 protected:
  TestSpool s;
};

class Daemon {
 public:
  Daemon(TestSpool& s, const std::string& log_name = "daemon.log")
      : log_(s.dir.path() + "/" + log_name),
        child_({bin_dir() + "/nullq-send", "--stderr", "--config", s.config}, {}, log_) {}
  Child& child() { return child_; }
  std::string log() const { return read_file(log_); }
  bool started() {
    return eventually([&] { return contains(log(), "started:"); }, 10s);
  }

 private:
  std::string log_;
  Child child_;
};

TEST_F(DaemonMode, DaemonDeliversInjectedMailAndStopsOnTerm) {
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()});
  Daemon d(s);
  ASSERT_TRUE(d.started()) << d.log();
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  EXPECT_TRUE(eventually([&] { return srv.count() == 1 && s.queued().empty() && s.incoming().empty(); }))
      << d.log();
  s.inject("alice@example.org", {"carol@example.org"}, kBody);
  EXPECT_TRUE(eventually([&] { return srv.count() == 2 && s.queued().empty(); })) << d.log();
  d.child().signal(SIGTERM);
  int st = -1;
  ASSERT_TRUE(d.child().wait(15s, st));
  EXPECT_EQ(st, 0) << d.log();
}

TEST_F(DaemonMode, OnceWhileADaemonRunsPokesIt) {
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()});
  Daemon d(s);
  ASSERT_TRUE(d.started()) << d.log();
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "nullq-send: a flusher is running; asked it to deliver now\n");
  // A second daemon refuses to start.
  RunResult second = run({bin_dir() + "/nullq-send", "--stderr", "--config", s.config}, {}, "", 10s);
  EXPECT_EQ(second.status, 75) << second.err;
}

TEST_F(DaemonMode, TermWithMailStillQueuedExitsCleanlyAndKeepsIt) {
  FakeServer srv(Proto::qmtp);
  srv.set_replier([](const Received& m) { return std::vector<std::string>(m.rcpts.size(), "Zlater"); });
  s.write_config({srv.url()});
  Daemon d(s);
  ASSERT_TRUE(d.started()) << d.log();
  std::string id = s.inject("alice@example.org", {"bob@example.org"}, kBody);
  ASSERT_TRUE(eventually([&] {
    auto q = s.queued();
    return q.size() == 1 && parse_name(q[0]).attempts == 1;
  })) << d.log();
  d.child().signal(SIGTERM);
  int st = -1;
  ASSERT_TRUE(d.child().wait(15s, st));
  EXPECT_EQ(st, 0);
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(parse_name(q[0]).id, id);
}

TEST_F(DaemonMode, TermAbandonsAHangingSessionAndTheMessageStaysQueued) {
  FakeServer srv(Proto::qmtp);
  srv.set_fault(Fault::hang);
  s.write_config({srv.url()});
  Daemon d(s);
  ASSERT_TRUE(d.started()) << d.log();
  std::string id = s.inject("alice@example.org", {"bob@example.org"}, kBody);
  ASSERT_TRUE(eventually([&] { return srv.count() == 1; })) << d.log();
  d.child().signal(SIGTERM);
  int st = -1;
  ASSERT_TRUE(d.child().wait(20s, st));
  EXPECT_EQ(st, 0) << d.log();
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(parse_name(q[0]).id, id);
  EXPECT_TRUE(contains(d.log(), "abandoning 1 delivery(ies)")) << d.log();
}

TEST_F(DaemonMode, KillNineMidDeliveryLosesNothing) {
  FakeServer hang(Proto::qmtp);
  hang.set_fault(Fault::hang);
  s.write_config({hang.url()});
  std::string id;
  {
    Daemon d(s, "first.log");
    ASSERT_TRUE(d.started()) << d.log();
    id = s.inject("alice@example.org", {"bob@example.org"}, kBody);
    ASSERT_TRUE(eventually([&] { return hang.count() == 1; })) << d.log();
    d.child().signal(SIGKILL);
    int st;
    ASSERT_TRUE(d.child().wait(10s, st));
  }
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << "the message must still be queued after kill -9";
  EXPECT_EQ(parse_name(q[0]).id, id);
  FakeServer ok(Proto::qmtp);
  s.write_config({ok.url()});
  Daemon d2(s, "second.log");
  ASSERT_TRUE(d2.started()) << d2.log();
  EXPECT_TRUE(eventually([&] { return ok.count() == 1 && s.queued().empty(); })) << d2.log();
  EXPECT_TRUE(ends_with(ok.received()[0].message, kBody));
}

TEST_F(DaemonMode, HupReloadsTheSmartHosts) {
  FakeServer a(Proto::qmtp), b(Proto::qmqp);
  s.write_config({a.url()});
  Daemon d(s);
  ASSERT_TRUE(d.started()) << d.log();
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  ASSERT_TRUE(eventually([&] { return a.count() == 1; })) << d.log();
  s.write_config({b.url()});
  d.child().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return contains(d.log(), "reloaded "); })) << d.log();
  s.inject("alice@example.org", {"carol@example.org"}, kBody);
  EXPECT_TRUE(eventually([&] { return b.count() == 1 && s.queued().empty(); })) << d.log();
  EXPECT_EQ(a.count(), 1u);
  // A broken config is refused and the current one kept.
  write_file(s.config, "smarthosts: [\n");
  d.child().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return contains(d.log(), "reload failed, keeping the current configuration"); }))
      << d.log();
  s.inject("alice@example.org", {"dave@example.org"}, kBody);
  EXPECT_TRUE(eventually([&] { return b.count() == 2 && s.queued().empty(); })) << d.log();
  d.child().signal(SIGTERM);
  int st;
  ASSERT_TRUE(d.child().wait(15s, st));
  EXPECT_EQ(st, 0);
}

// SIGHUP takes log.target and log.format as it takes the smart hosts: a daemon logging to syslog
// moves to standard error, in JSON, without a restart.
TEST_F(DaemonMode, HupTakesLogTargetAndFormat) {
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()}, "log:\n  target: syslog\n  level: info\n");
  const std::string log = s.dir.path() + "/daemon.log";
  Child d({bin_dir() + "/nullq-send", "--config", s.config}, {}, log);
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  ASSERT_TRUE(eventually([&] { return srv.count() == 1 && s.queued().empty(); }, 20s)) << read_file(log);
  EXPECT_EQ(read_file(log), "") << "target syslog: nothing on standard error";

  s.write_config({srv.url()}, "log:\n  target: stderr\n  format: json\n  level: info\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return contains(read_file(log), "reloaded "); }, 20s)) << read_file(log);
  s.inject("alice@example.org", {"carol@example.org"}, kBody);
  ASSERT_TRUE(eventually([&] { return srv.count() == 2 && s.queued().empty(); }, 20s)) << read_file(log);
  d.signal(SIGTERM);
  int st = -1;
  ASSERT_TRUE(d.wait(15s, st));
  EXPECT_EQ(st, 0);
  const std::string text = read_file(log);
  std::size_t lines = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    EXPECT_EQ(line.rfind("{\"", 0), 0u) << "every line after the reload is JSON: " << line;
    ++lines;
    pos = eol == std::string::npos ? text.size() : eol + 1;
  }
  EXPECT_GE(lines, 3u) << text;  // reloaded, the delivery, the stop
  EXPECT_TRUE(contains(text, "carol@example.org")) << text;
}

}  // namespace
}  // namespace nullq::send::it

// Monitoring end to end: nullq-send's status file and Prometheus textfile after a known sequence,
// an ordinary user's mailq and `nullq check --queue`, check_mailq from monitoring-plugins, and a
// reader polling the files while they are rewritten. promtool (Debian's prometheus) and check_mailq
// (monitoring-plugins-standard) are test requirements (scripts/deps.sh): missing, the tests fail.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include "fake_server.hpp"
#include "harness.hpp"
#include "nullq/send/status_file.hpp"
#include "process.hpp"

namespace nullq::send::it {
namespace {

constexpr uid_t nobody = 65534;
constexpr gid_t nogroup = 65534;
const char* const check_mailq = "/usr/lib/nagios/plugins/check_mailq";

// "ok..." accepted, "bad..." refused for good, anything else asked again later.
std::vector<std::string> by_recipient(const Received& r) {
  std::vector<std::string> out;
  for (const auto& rcpt : r.rcpts)
    out.push_back(rcpt.rfind("ok", 0) == 0 ? "Kok" : rcpt.rfind("bad", 0) == 0 ? "Dno such user" : "Ztry later");
  return out;
}

// The value of the sample `series` ("name{labels}") in a textfile; -1 if absent.
long long value_of(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::atoll(text.c_str() + at + series.size() + 2);
}

std::pair<int, std::string> promtool_check(const std::string& file) {
  auto r = nullq::testing::run({"/bin/sh", "-c", "promtool check metrics < \"$0\" 2>&1", file});
  return {r.code, r.out};
}

TEST(Monitor, KnownSequenceInTheTextfileAndTheStatusFile) {
  FakeServer server(Proto::qmtp);
  server.set_replier(by_recipient);
  TestSpool s;
  const std::string prom = s.dir.path() + "/nullq.prom";
  s.write_config({server.url()}, "bounce:\n  enabled: false\nmetrics:\n  textfile: " + prom + "\n");
  std::vector<std::string> ids{
      s.inject("me@example.org", {"ok1@example.net", "ok2@example.net", "ok3@example.net"}, "Subject: a\n\nbody\n"),
      s.inject("me@example.org", {"bad1@example.net"}, "Subject: b\n\nbody\n"),
      s.inject("me@example.org", {"later1@example.net", "later2@example.net"}, "Subject: c\n\nbody\n")};
  auto r = s.once();
  ASSERT_EQ(r.status, 75) << r.err;  // something is left queued

  const std::string text = read_file(prom);
  auto [rc, said] = promtool_check(prom);
  ASSERT_EQ(rc, 0) << "promtool check metrics (is the prometheus package installed?): " << said << "\n" << text;
  const std::string host = "{host=\"" + server.url() + "\",protocol=\"qmtp\"}";
  EXPECT_EQ(value_of(text, "nullq_delivered_recipients_total" + host), 3) << text;
  EXPECT_EQ(value_of(text, "nullq_bounced_recipients_total" + host), 1) << text;
  EXPECT_EQ(value_of(text, "nullq_deferred_recipients_total" + host), 2) << text;
  EXPECT_EQ(value_of(text, "nullq_delivery_attempts_total{class=\"2xx\"}"), 3) << text;
  EXPECT_EQ(value_of(text, "nullq_delivery_attempts_total{class=\"5xx\"}"), 1) << text;
  EXPECT_EQ(value_of(text, "nullq_delivery_attempts_total{class=\"4xx\"}"), 2) << text;
  EXPECT_EQ(value_of(text, "nullq_queue_messages{state=\"deferred\"}"), 1) << text;
  EXPECT_EQ(value_of(text, "nullq_queue_messages{state=\"queued\"}"), 0) << text;
  EXPECT_EQ(value_of(text, "nullq_queue_messages{state=\"failed\"}"), 1) << "bounces are off: kept in failed/\n" << text;
  EXPECT_GT(value_of(text, "nullq_last_delivery_timestamp_seconds{host=\"" + server.url() + "\"}"), 1700000000) << text;
  EXPECT_GT(value_of(text, "nullq_start_time_seconds"), 1700000000) << text;
  struct stat st {};
  ASSERT_EQ(::stat(prom.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  const std::string status = read_file(s.spool + "/status.json");
  auto snap = decode_status(status);
  ASSERT_TRUE(snap.ok()) << status;
  EXPECT_FALSE(snap->running) << "marked stopped at exit";
  EXPECT_EQ(snap->census.queued.messages, 1u);
  EXPECT_EQ(snap->census.deferred.messages, 1u);
  EXPECT_EQ(snap->census.failed.messages, 1u);
  ASSERT_EQ(snap->hosts.size(), 1u);
  EXPECT_EQ(snap->hosts[0].host, server.url());
  ASSERT_EQ(::stat((s.spool + "/status.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // Nothing private: no address, no subject, no queue id.
  EXPECT_EQ(status.find('@'), std::string::npos) << status;
  EXPECT_EQ(status.find("Subject"), std::string::npos) << status;
  for (const auto& id : ids) EXPECT_EQ(status.find(id), std::string::npos) << status;
  EXPECT_EQ(text.find('@'), std::string::npos) << text;

  // `nullq metrics`: the same gauges, counted from the spool without a daemon.
  auto cli = nullq::testing::run({bin_dir() + "/nullq", "--config", s.config, "metrics"});
  ASSERT_EQ(cli.code, 0) << cli.err;
  write_file(s.dir.path() + "/cli.prom", cli.out);
  auto [cli_rc, cli_said] = promtool_check(s.dir.path() + "/cli.prom");
  EXPECT_EQ(cli_rc, 0) << cli_said << "\n" << cli.out;
  EXPECT_EQ(value_of("\n" + cli.out, "nullq_queue_messages{state=\"deferred\"}"), 1) << cli.out;
  EXPECT_EQ(value_of("\n" + cli.out, "nullq_queue_messages{state=\"failed\"}"), 1) << cli.out;
  EXPECT_EQ(value_of("\n" + cli.out, "nullq_queue_bytes{state=\"deferred\"}"),
            value_of(text, "nullq_queue_bytes{state=\"deferred\"}")) << cli.out;
}

TEST(Monitor, BadTextfilePathsAreRefusedWithFileAndLine) {
  TestSpool s;
  for (std::string bad : {"relative.prom", "/tmp/nullq.txt", "/tmp/.prom"}) {
    s.write_config({"qmtp://127.0.0.1:1"}, "metrics:\n  textfile: " + bad + "\n");
    auto r = s.once();
    EXPECT_EQ(r.status, 78) << bad << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "nullq.yaml:7: ")) << r.err;
    EXPECT_TRUE(contains(r.err, "metrics.textfile")) << r.err;
  }
  s.write_config({"qmtp://127.0.0.1:1"}, "metrics:\n  texfile: /tmp/x.prom\n");
  auto r = s.once();
  EXPECT_EQ(r.status, 78) << r.err;
  EXPECT_TRUE(contains(r.err, "did you mean 'textfile'")) << r.err;
}

// A running daemon whose one good smart host says "later" to everything, and a first smart host
// that refuses connections; the spool laid out so that nobody may reach its root (as packaged).
class RunningDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.set_replier(by_recipient);
    refused_ = "qmtp://127.0.0.1:" + std::to_string(closed_port());
    s_.write_config({refused_, server_.url()}, "metrics:\n  textfile: " + s_.dir.path() + "/nullq.prom\n");
    ASSERT_EQ(::chmod(s_.dir.path().c_str(), 0755), 0);
    ASSERT_EQ(::chmod(s_.spool.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(s_.config.c_str(), 0644), 0);
    daemon_ = std::make_unique<Child>(std::vector<std::string>{bin_dir() + "/nullq-send", "--stderr", "--config", s_.config},
                                      std::vector<std::string>{}, s_.log);
  }
  void TearDown() override {
    if (daemon_ && daemon_->running()) {
      daemon_->signal(SIGTERM);
      int st = 0;
      daemon_->wait(std::chrono::seconds(20), st);
    }
  }
  std::optional<StatusSnapshot> status() {
    auto r = read_status(queue::Spool{s_.spool});
    if (r.liveness == Liveness::absent) return std::nullopt;
    return r.snapshot;
  }
  // Two messages tried once each, the first host held after its refusals.
  void two_deferred() {
    s_.inject("me@example.org", {"later1@example.net"}, "Subject: secret subject\n\nbody\n");
    s_.inject("me@example.org", {"later2@example.net"}, "Subject: secret subject\n\n" + std::string(3000, 'x') + "\n");
    ASSERT_TRUE(eventually([&] {
      auto st = status();
      return st && st->census.deferred.messages == 2 && st->census.waiting().messages == 2;
    })) << read_file(s_.spool + "/status.json") << "\n" << read_file(s_.log);
  }
  std::uint64_t waiting_bytes() {
    std::uint64_t bytes = 0;
    for (const auto& n : s_.queued()) {
      struct stat st {};
      if (::stat((s_.spool + "/queue/" + n).c_str(), &st) == 0) bytes += static_cast<std::uint64_t>(st.st_size);
    }
    return bytes;
  }
  nullq::testing::Run as(bool nobody_user, const std::vector<std::string>& argv, const std::string& argv0 = {}) {
    nullq::testing::RunOptions o;
    if (nobody_user) o.user = std::make_pair(nobody, nogroup);
    o.env = {{"NULLQ_CONFIG", s_.config}};
    o.argv0 = argv0;
    return nullq::testing::run(argv, o);
  }
  nullq::testing::Run mailq(bool nobody_user) { return as(nobody_user, {copies_("nullq-sendmail")}, "mailq"); }
  nullq::testing::Run check(bool nobody_user, std::vector<std::string> args) {
    args.insert(args.begin(), {copies_("nullq"), "check"});
    return as(nobody_user, args);
  }
  // check_mailq, with a utils.pm of its own whose PATH_TO_MAILQ is our mailq (check_mailq loads
  // utils.pm from its own directory; the host's /usr/bin/mailq is not touched).
  nullq::testing::Run check_mailq_run(bool nobody_user, const std::string& w, const std::string& c) {
    std::string mailq_copy = copies_.dir() + "/mailq";
    if (::access(mailq_copy.c_str(), X_OK) != 0) {
      EXPECT_FALSE(copies_.add(bin_dir() + "/nullq-sendmail", "mailq").empty());
      EXPECT_FALSE(copies_.add(check_mailq, "check_mailq").empty()) << check_mailq << " (monitoring-plugins-standard)";
      std::string utils = read_file("/usr/lib/nagios/plugins/utils.pm");
      const std::string key = "$PATH_TO_MAILQ   = \"/usr/bin/mailq\";";
      const std::size_t at = utils.find(key);
      EXPECT_NE(at, std::string::npos) << "utils.pm has no PATH_TO_MAILQ line as expected";
      if (at != std::string::npos) utils.replace(at, key.size(), "$PATH_TO_MAILQ   = \"" + mailq_copy + "\";");
      write_file(copies_.dir() + "/utils.pm", utils);
      ::chmod((copies_.dir() + "/utils.pm").c_str(), 0644);
    }
    return as(nobody_user, {"/usr/bin/perl", copies_.dir() + "/check_mailq", "-M", "postfix", "-w", w, "-c", c});
  }

  FakeServer server_{Proto::qmtp};
  std::string refused_;
  TestSpool s_;
  std::unique_ptr<Child> daemon_;
  nullq::testing::ProgramCopies copies_{{"nullq-sendmail", "nullq"}};
};

TEST_F(RunningDaemon, StatusFileShowsCountsAndHostStatesAndNothingPrivate) {
  two_deferred();
  auto st = status();
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->running);
  EXPECT_EQ(st->pid, daemon_->pid());
  EXPECT_EQ(st->census.queued.bytes, waiting_bytes());
  EXPECT_GT(st->census.oldest_queued_at, 0);
  ASSERT_EQ(st->hosts.size(), 2u);
  EXPECT_EQ(st->hosts[0].host, refused_);
  EXPECT_EQ(st->hosts[0].state, "backing_off");
  EXPECT_TRUE(st->hosts[0].until) << "held until its next try";
  EXPECT_EQ(st->hosts[0].last_error, "connect");
  EXPECT_EQ(st->hosts[1].state, "up");
  EXPECT_EQ(st->hosts[1].last_error, "temporary");
  const std::string text = read_file(s_.spool + "/status.json");
  EXPECT_EQ(text.find('@'), std::string::npos) << text;
  EXPECT_EQ(text.find("secret"), std::string::npos) << text;
  // Stopped: the file says so.
  daemon_->signal(SIGTERM);
  int code = 0;
  ASSERT_TRUE(daemon_->wait(std::chrono::seconds(20), code));
  auto r = read_status(queue::Spool{s_.spool});
  EXPECT_EQ(r.liveness, Liveness::stopped);
  EXPECT_EQ(r.snapshot.census.queued.messages, 2u);
}

TEST_F(RunningDaemon, AnOrdinaryUsersMailqPrintsTheCountLineAndNothingPrivate) {
  if (::geteuid() != 0) GTEST_SKIP() << "running programs as nobody needs root";
  NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
  ASSERT_TRUE(copies_.ok());
  two_deferred();
  auto r = mailq(true);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "-- " + std::to_string(waiting_bytes() / 1024) + " Kbytes in 2 Requests.\n");
  EXPECT_TRUE(contains(r.err, "root")) << r.err;
  EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
  EXPECT_FALSE(contains(r.out + r.err, "@")) << r.out << r.err;
  // root still gets the list, ending with the same line.
  auto root = mailq(false);
  EXPECT_EQ(root.code, 0) << root.err;
  EXPECT_TRUE(contains(root.out, "to   <later1@example.net>")) << root.out;
  EXPECT_TRUE(contains(root.out, "\n" + r.out)) << root.out;
  // Nothing of the queue is readable by nobody: not the files, not the directory.
  for (const auto& n : s_.queued()) {
    auto cat = as(true, {"/bin/cat", s_.spool + "/queue/" + n});
    EXPECT_NE(cat.code, 0) << n;
    EXPECT_FALSE(contains(cat.out, "later")) << cat.out;
  }
  EXPECT_NE(as(true, {"/bin/ls", s_.spool + "/queue"}).code, 0);

  // Without a running nullq-send: one line saying so, exit 69.
  daemon_->signal(SIGTERM);
  int code = 0;
  ASSERT_TRUE(daemon_->wait(std::chrono::seconds(20), code));
  auto stopped = mailq(true);
  EXPECT_EQ(stopped.code, 69) << stopped.out << stopped.err;
  EXPECT_EQ(stopped.out, "");
  EXPECT_TRUE(contains(stopped.err, "nullq-send is not running")) << stopped.err;
  // A status file that claims a running writer which is gone (killed): stale, the same answer.
  auto snap = read_status(queue::Spool{s_.spool}).snapshot;
  snap.running = true;
  ASSERT_TRUE(write_atomically(s_.spool + "/status.json", encode_status(snap), 0644).ok());
  auto stale = mailq(true);
  EXPECT_EQ(stale.code, 69) << stale.err;
  EXPECT_TRUE(contains(stale.err, "is gone")) << stale.err;
  ::unlink((s_.spool + "/status.json").c_str());
  auto none = mailq(true);
  EXPECT_EQ(none.code, 69) << none.err;
  EXPECT_TRUE(contains(none.err, "not running")) << none.err;
  EXPECT_EQ(mailq(false).code, 0) << "root reads the spool itself";
}

TEST_F(RunningDaemon, CheckQueueIsAPluginForRootAndForAnyone) {
  if (::geteuid() != 0) GTEST_SKIP() << "running programs as nobody needs root";
  NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
  ASSERT_TRUE(copies_.ok());
  two_deferred();
  for (bool user : {true, false}) {
    SCOPED_TRACE(user ? "as nobody" : "as root");
    auto okr = check(user, {"--queue", "5,10"});
    EXPECT_EQ(okr.code, 0) << okr.out << okr.err;
    EXPECT_EQ(okr.out.rfind("NULLQ QUEUE OK - 2 messages, oldest ", 0), 0u) << okr.out;
    EXPECT_TRUE(contains(okr.out, "| messages=2;5;10;0 oldest=")) << okr.out;
    EXPECT_EQ(count_of(okr.out, "\n"), 1u) << okr.out;
    auto warn = check(user, {"--queue", "1,10"});
    EXPECT_EQ(warn.code, 1) << warn.out;
    EXPECT_EQ(warn.out.rfind("NULLQ QUEUE WARNING - 2 messages", 0), 0u) << warn.out;
    auto crit = check(user, {"--queue=0,1"});
    EXPECT_EQ(crit.code, 2) << crit.out;
    EXPECT_EQ(crit.out.rfind("NULLQ QUEUE CRITICAL", 0), 0u) << crit.out;
    // The age: the messages are seconds old, so 0s is exceeded, an hour is not.
    auto age_ok = check(user, {"--queue", "5,10", "--age", "1h,2h"});
    EXPECT_EQ(age_ok.code, 0) << age_ok.out;
    EXPECT_TRUE(contains(age_ok.out, ";3600;7200;0")) << age_ok.out;
    auto age_crit = check(user, {"--queue", "5,10", "--age", "0s,0s"});
    EXPECT_EQ(age_crit.code, 2) << age_crit.out;
  }
}

TEST_F(RunningDaemon, BadThresholdsAreUnknownWithOneLine) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--queue", "x"}, {"--queue", "10"}, {"--queue", "20,10"}, {"--queue", "1,2,3"}, {"--queue"},
           {"--queue", "1,2", "--age", "5x,1h"}, {"--age", "1h,2h"}, {"--queue", "1,2", "--bogus"},
           {"--queue", "1,2", "--queue", "3,4"}, {"--queue", "-1,2"}}) {
    auto r = check(false, args);
    EXPECT_EQ(r.code, 3) << args[0] << " " << r.out << r.err;
    EXPECT_EQ(r.out.rfind("NULLQ QUEUE UNKNOWN - ", 0), 0u) << r.out;
    EXPECT_EQ(count_of(r.out, "\n"), 1u) << r.out;
  }
}

TEST_F(RunningDaemon, CheckMailqGivesTheRightStateForRootAndForNobody) {
  if (::geteuid() != 0) GTEST_SKIP() << "running programs as nobody needs root";
  NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
  ASSERT_TRUE(copies_.ok());
  ASSERT_EQ(::access(check_mailq, X_OK), 0) << check_mailq << ": install monitoring-plugins-standard (scripts/deps.sh)";
  two_deferred();
  for (bool user : {true, false}) {
    SCOPED_TRACE(user ? "as nobody" : "as root");
    auto warn = check_mailq_run(user, "2", "5");
    EXPECT_EQ(warn.code, 1) << warn.out << warn.err;
    EXPECT_TRUE(contains(warn.out, "WARNING")) << warn.out;
    auto okr = check_mailq_run(user, "5", "10");
    EXPECT_EQ(okr.code, 0) << okr.out << okr.err;
    EXPECT_TRUE(contains(okr.out, "(2) is below threshold")) << okr.out;
    auto crit = check_mailq_run(user, "1", "2");
    EXPECT_EQ(crit.code, 2) << crit.out << crit.err;
  }
  // No daemon: an ordinary user's mailq cannot count, and check_mailq says CRITICAL, not OK.
  daemon_->signal(SIGTERM);
  int code = 0;
  ASSERT_TRUE(daemon_->wait(std::chrono::seconds(20), code));
  auto down = check_mailq_run(true, "5", "10");
  EXPECT_EQ(down.code, 2) << down.out << down.err;
  EXPECT_TRUE(contains(down.out, "Error code 69")) << down.out;
  auto root = check_mailq_run(false, "5", "10");
  EXPECT_EQ(root.code, 0) << root.out << root.err;
}

TEST_F(RunningDaemon, AReaderPollingTheFilesNeverSeesHalfAFile) {
  const std::string prom = s_.dir.path() + "/nullq.prom";
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> reads{0}, bad{0}, versions{0};
  std::string bad_text;
  std::thread reader([&] {
    std::string last_status, last_prom;
    for (std::size_t i = 0; i < 2'000'000 && !stop; ++i) {
      std::string st = read_file(s_.spool + "/status.json");
      std::string pm = read_file(prom);
      ++reads;
      if (!st.empty() && !decode_status(st).ok()) {
        ++bad;
        bad_text = st;
      }
      // A whole textfile ends with the build info line.
      if (!pm.empty() && (pm.back() != '\n' || pm.find("\nnullq_build_info{") == std::string::npos)) {
        ++bad;
        bad_text = pm;
      }
      if (st != last_status) ++versions, last_status = st;
      if (pm != last_prom) ++versions, last_prom = pm;
    }
  });
  for (int i = 0; i < 6; ++i) {
    s_.inject("me@example.org", {"later@example.net"}, "Subject: s\n\nbody\n");
    const std::uint64_t want = static_cast<std::uint64_t>(i + 1);
    EXPECT_TRUE(eventually([&] {
      auto st = status();
      return st && st->census.deferred.messages == want;
    })) << i;
  }
  // The textfile has caught up with the status file (it is written at most every 5 s).
  EXPECT_TRUE(eventually([&] { return value_of(read_file(prom), "nullq_queue_messages{state=\"deferred\"}") == 6; },
                         std::chrono::seconds(15)));
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0u) << bad_text;
  EXPECT_GE(versions.load(), 6u) << "the files were rewritten while they were read";
  EXPECT_GT(reads.load(), 100u);
  auto [rc, said] = promtool_check(prom);
  EXPECT_EQ(rc, 0) << said;
}

}  // namespace
}  // namespace nullq::send::it

// delivery.without_daemon: deliver — the real nullq-sendmail starts detached nullq-send --once runs
// against a QMTP test host on 127.0.0.1, with no daemon: a message leaves; 50 parallel callers get
// one run at a time and every message exactly once; the caller never waits for the run; and
// log.target/log.format as the runs write them.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "detached_run.hpp"
#include "nullq/testhost.hpp"
#include "process.hpp"

using nullq::testing::list_dir;
using nullq::testing::program;
using nullq::testing::read_file;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;
using namespace std::chrono_literals;

extern char** environ;

namespace {

// True once `done()` holds; false at the deadline. Polls every 20 ms (a deadline, not a timing).
template <class F>
bool eventually(F done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Whether any process has `path` open (every run sendmail starts has its log as stderr).
bool anyone_has_open(const std::string& path) {
  struct stat want {};
  if (::stat(path.c_str(), &want) != 0) return false;
  DIR* proc = ::opendir("/proc");
  if (!proc) return false;
  bool found = false;
  while (dirent* p = ::readdir(proc)) {
    if (p->d_name[0] < '0' || p->d_name[0] > '9') continue;
    std::string fds = std::string("/proc/") + p->d_name + "/fd";
    DIR* d = ::opendir(fds.c_str());
    if (!d) continue;
    while (dirent* f = ::readdir(d)) {
      struct stat st {};
      if (f->d_name[0] != '.' && ::stat((fds + "/" + f->d_name).c_str(), &st) == 0 && st.st_dev == want.st_dev &&
          st.st_ino == want.st_ino)
        found = true;
    }
    ::closedir(d);
  }
  ::closedir(proc);
  return found;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; start = nl + 1, nl = text.find('\n', start))
    out.push_back(text.substr(start, nl - start));
  return out;
}

class WithoutDaemon : public ::testing::Test {
 protected:
  void SetUp() override { start_host("K"); }
  void TearDown() override {
    if (host_) host_->stop();  // a hanging delivery ends
    // No run may outlive the spool: each has the run log open until it exits.
    EXPECT_TRUE(eventually([this] { return !anyone_has_open(run_log()); }, 60s)) << "a delivery run is still going";
  }
  void start_host(const std::string& script) {
    nullq::testhost::Options o;
    o.qmqp = false;
    o.script = script;
    auto h = nullq::testhost::Server::start(o);
    ASSERT_TRUE(h.ok()) << h.error().message();
    host_ = std::move(h).value();
  }
  void configure(const std::string& log, const std::string& extra = "") {
    tmp_.write("nullq.yaml", "hostname: box.example.org\nsmarthosts: [qmtp://127.0.0.1:" +
                                 std::to_string(host_->qmtp_port()) + "]\nqueue:\n  dir: " + spool() +
                                 "\ndelivery:\n  without_daemon: deliver\n" + extra + "log:\n" + log);
    tmp_.write("run.log", "");
  }
  std::string spool() const { return tmp_ / "spool"; }
  std::string run_log() const { return tmp_ / "run.log"; }
  std::map<std::string, std::string> env() const {
    return {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}, {"NULLQ_RUN_LOG", run_log()}};
  }
  nullq::testing::Run sendmail(const std::string& subject) {
    RunOptions o;
    o.input = "Subject: " + subject + "\n\nbody\n";
    o.env = env();
    return run({program("nullq-sendmail"), "-i", "rcpt@example.net"}, o);
  }
  bool queue_empty() const { return list_dir(spool() + "/new").empty() && list_dir(spool() + "/queue").empty(); }
  std::set<std::string> subjects() const {
    std::set<std::string> out;
    for (const auto& r : host_->received()) {
      std::size_t s = r.message.find("Subject: ");
      if (s != std::string::npos) out.insert(r.message.substr(s + 9, r.message.find('\n', s) - s - 9));
    }
    return out;
  }
  TempDir tmp_;
  std::unique_ptr<nullq::testhost::Server> host_;
};

TEST_F(WithoutDaemon, MessageLeavesWithNoDaemonAndTheRunLogsJson) {
  configure("  target: stderr\n  format: json\n");
  auto r = sendmail("one");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  ASSERT_TRUE(host_->wait_for(1, 10s)) << read_file(run_log());
  EXPECT_EQ(subjects(), std::set<std::string>{"one"});
  EXPECT_TRUE(eventually([this] { return !anyone_has_open(run_log()) && queue_empty(); }, 30s));
  // Every line of the run's log is one JSON object; the delivery is among them.
  bool sent = false;
  for (const auto& line : lines_of(read_file(run_log()))) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    EXPECT_EQ(j["program"], "nullq-send");
    if (j.value("status", "") == "sent") {
      sent = true;
      EXPECT_EQ(j["to"], nlohmann::json::array({"rcpt@example.net"}));
      EXPECT_EQ(j["proto"], "qmtp");
    }
  }
  EXPECT_TRUE(sent) << read_file(run_log());
}

TEST_F(WithoutDaemon, FiftyParallelCallersOneRunAtATimeEveryMessageOnce) {
  configure("  target: stderr\n  format: text\n");
  constexpr int n = 50;
  std::vector<pid_t> pids;
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (const auto& [k, v] : env()) envs.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sendmail_path = program("nullq-sendmail");
  for (int i = 0; i < n; ++i) {
    std::string input = tmp_ / ("in" + std::to_string(i));
    tmp_.write("in" + std::to_string(i), "Subject: m" + std::to_string(i) + "\n\nbody\n");
    std::string err = tmp_ / ("err" + std::to_string(i));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, input.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::string a0 = sendmail_path, a1 = "-i", a2 = "rcpt@example.net";
    char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
    pid_t pid = -1;
    ASSERT_EQ(::posix_spawn(&pid, argv[0], &fa, nullptr, argv, envp.data()), 0);
    posix_spawn_file_actions_destroy(&fa);
    pids.push_back(pid);
  }
  for (int i = 0; i < n; ++i) {
    int status = 0;
    ASSERT_EQ(::waitpid(pids[static_cast<std::size_t>(i)], &status, 0), pids[static_cast<std::size_t>(i)]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << i << ": " << read_file(tmp_ / ("err" + std::to_string(i)));
    EXPECT_EQ(read_file(tmp_ / ("err" + std::to_string(i))), "") << i;
  }
  ASSERT_TRUE(host_->wait_for(n, 30s)) << host_->received().size() << " arrived\n" << read_file(run_log());
  // Once the queue is empty and every run has ended, nothing more can arrive: count.
  ASSERT_TRUE(eventually([this] { return !anyone_has_open(run_log()) && queue_empty(); }, 60s));
  EXPECT_EQ(host_->received().size(), static_cast<std::size_t>(n));
  EXPECT_EQ(subjects().size(), static_cast<std::size_t>(n));
  // Each run logs "flushing:" once it holds the lock and "flushed:" before it lets go, to one file
  // opened O_APPEND: two runs at once would put two starts in a row.
  int runs = 0, open_runs = 0;
  for (const auto& line : lines_of(read_file(run_log()))) {
    if (line.rfind("nullq-send: flushing: ", 0) == 0) {
      ++runs;
      ++open_runs;
      EXPECT_EQ(open_runs, 1) << "two runs at once:\n" << read_file(run_log());
    } else if (line.rfind("nullq-send: flushed: ", 0) == 0) {
      --open_runs;
      EXPECT_EQ(open_runs, 0) << read_file(run_log());
    }
  }
  EXPECT_EQ(open_runs, 0);
  EXPECT_GE(runs, 1);
}

// A -bs session (Symfony, Laravel) that queued a message starts a run when it ends.
TEST_F(WithoutDaemon, SmtpSessionStartsARun) {
  configure("  target: stderr\n");
  RunOptions o;
  o.input = "EHLO app\r\nMAIL FROM:<app@example.org>\r\nRCPT TO:<rcpt@example.net>\r\nDATA\r\n"
            "Subject: bs\r\n\r\nbody\r\n.\r\nQUIT\r\n";
  o.env = env();
  auto r = run({program("nullq-sendmail"), "-bs"}, o);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("250 2.0.0 ok: queued as "), std::string::npos) << r.out;
  ASSERT_TRUE(host_->wait_for(1, 10s)) << read_file(run_log());
  EXPECT_EQ(subjects(), std::set<std::string>{"bs"});
}

// The run keeps none of the caller's descriptors: with a smart host that never answers, sendmail's
// output ends (run() reads to EOF) while the run still holds the lock.
TEST_F(WithoutDaemon, CallerDoesNotWaitForTheRun) {
  host_->stop();
  start_host("hang");
  configure("  target: stderr\n", "  timeout: 1h\n");
  auto r = sendmail("hanging");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(eventually([this] { return nullq::sendmail::flusher_running(spool()); }, 10s))
      << "no run holds the lock after sendmail returned\n" << read_file(run_log());
  EXPECT_TRUE(eventually([this] { return host_->connections() >= 1; }, 10s));
}

// wait (the default) starts nothing: the message stays in new/ and nothing is logged.
TEST_F(WithoutDaemon, WaitStartsNothing) {
  tmp_.write("nullq.yaml", "hostname: box.example.org\nsmarthosts: [qmtp://127.0.0.1:" +
                               std::to_string(host_->qmtp_port()) + "]\nqueue:\n  dir: " + spool() + "\n");
  tmp_.write("run.log", "");
  auto r = sendmail("stays");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(list_dir(spool() + "/new").size(), 1u);
  EXPECT_FALSE(anyone_has_open(run_log()));  // a smoke check: a run would have the log open
  EXPECT_EQ(host_->connections(), 0u);
}

// log.target: auto with no syslog socket (NULLQ_SYSLOG_SOCKET names none) logs to stderr; syslog
// does not.
TEST_F(WithoutDaemon, AutoWithoutASyslogSocketLogsToStderr) {
  for (const std::string target : {"auto", "syslog", "stderr"}) {
    tmp_.write("nullq.yaml", "smarthosts: [qmtp://127.0.0.1:1]\nqueue:\n  dir: " + spool() + "\nlog:\n  target: " + target + "\n");
    RunOptions o;
    o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}, {"NULLQ_SYSLOG_SOCKET", tmp_ / "no-such-socket"}};
    o.env.emplace("JOURNAL_STREAM", "");
    auto r = run({program("nullq-send"), "--once"}, o);
    EXPECT_EQ(r.code, 0) << r.err;
    bool logged = r.err.find("nullq-send: flushing: 0 message(s) queued") != std::string::npos;
    EXPECT_EQ(logged, target != "syslog") << target << ": " << r.err;
    // --quiet (cron, sendmail -q) on that fallback shows only warnings and errors.
    auto q = run({program("nullq-send"), "--once", "--quiet"}, o);
    EXPECT_EQ(q.code, 0) << q.err;
    EXPECT_EQ(q.err.find("flushing"), std::string::npos) << target << ": " << q.err;
  }
}

TEST(DetachedRun, WhoMayDeliver) {
  TempDir tmp;
  nullq::config::Config cfg;
  cfg.queue_dir = tmp / "spool";
  ASSERT_EQ(::mkdir(cfg.queue_dir.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((cfg.queue_dir + "/queue").c_str(), 0700), 0);
  struct stat st {};
  ASSERT_EQ(::stat((cfg.queue_dir + "/queue").c_str(), &st), 0);
  uid_t owner = st.st_uid, other = owner == 65534 ? 65533 : 65534;
  EXPECT_TRUE(nullq::sendmail::may_deliver(cfg, 0, 0, 0, 0));
  EXPECT_TRUE(nullq::sendmail::may_deliver(cfg, owner, owner, 1, 1));
  EXPECT_FALSE(nullq::sendmail::may_deliver(cfg, other, other, 1, 1));
  EXPECT_FALSE(nullq::sendmail::may_deliver(cfg, other, 0, 1, 1));  // set-id
  EXPECT_FALSE(nullq::sendmail::may_deliver(cfg, 0, 0, 1, 2));
}

TEST(DetachedRun, LockProbeNeverCreatesTheLock) {
  TempDir tmp;
  std::string dir = tmp / "spool";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  EXPECT_FALSE(nullq::sendmail::flusher_running(dir));
  EXPECT_NE(::access((dir + "/lock").c_str(), F_OK), 0);
  int fd = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(nullq::sendmail::flusher_running(dir));
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // as nullq-send holds it
  EXPECT_TRUE(nullq::sendmail::flusher_running(dir));
  ::close(fd);
  EXPECT_FALSE(nullq::sendmail::flusher_running(dir));
}

TEST(DetachedRun, RunsAgainWhileSomethingArrived) {
  using nullq::sendmail::again;
  using S = std::set<std::string>;
  EXPECT_FALSE(again({}, {}, 1));                    // new/ empty: done
  EXPECT_TRUE(again({}, S{"a"}, 1));                 // left or arrived: look again
  EXPECT_TRUE(again(S{"a"}, S{"a"}, 2));             // a first run may have lost the lock to a probe
  EXPECT_FALSE(again(S{"a"}, S{"a"}, nullq::sendmail::min_rounds));  // stuck in new/: stop
  EXPECT_TRUE(again(S{"a"}, S{"a", "b"}, 5));        // arrived during the run
  EXPECT_FALSE(again(S{"a"}, S{"a", "b"}, nullq::sendmail::max_rounds));
}

}  // namespace

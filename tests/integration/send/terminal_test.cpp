// nullq-send's command line as a person uses it: --version, and --once at a terminal logging there
// (not only to syslog, where nobody at the keyboard looks).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>

#include "fake_server.hpp"
#include "harness.hpp"

namespace nullq::send::it {
namespace {

// Runs argv with stderr on a new pseudo-terminal (stdin and stdout /dev/null); returns what it
// wrote there, and its exit status in `status`. Bounded: killed after 30 s.
std::string run_at_terminal(const std::vector<std::string>& argv, int& status) {
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return "openpty failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(slave, 2);
    ::close(master);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(slave);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child's side is closed
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(master);
  ::waitpid(pid, &status, 0);
  status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

TEST(SendCli, VersionPrintsNameAndVersionOnStdout) {
  TempDir dir;
  std::string out = dir.path() + "/out";
  Child c({"/bin/sh", "-c", "exec \"$0\" --version >\"$1\"", bin_dir() + "/nullq-send", out}, {}, dir.path() + "/err");
  int status = -1;
  ASSERT_TRUE(c.wait(std::chrono::seconds(10), status));
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(std::regex_match(read_file(out), std::regex("nullq-send [0-9]+\\.[0-9]+\\.[0-9]+\n"))) << read_file(out);
}

TEST(SendCli, OnceAtATerminalLogsThere) {
  TestSpool s;
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()});
  std::string id = s.inject("alice@example.org", {"bob@example.org"}, "Subject: t\n\nhi\n");
  ASSERT_FALSE(id.empty());
  int status = -1;
  std::string tty = run_at_terminal({bin_dir() + "/nullq-send", "--once", "--config", s.config}, status);
  EXPECT_EQ(status, 0) << tty;
  EXPECT_TRUE(contains(tty, "nullq-send: id=" + id + " from=<alice@example.org> to=<bob@example.org> host=" + srv.url())) << tty;
  EXPECT_TRUE(contains(tty, "status=sent")) << tty;
  EXPECT_TRUE(contains(tty, "nullq-send: 1 recipient: 1 delivered, 0 bounced, 0 deferred; 0 bounces sent")) << tty;

  // Not at a terminal (cron, a pipe), the log goes to syslog: stderr has only the summary. (Said
  // outright: with log.target: auto a host without /dev/log, like this test's, logs to stderr.)
  s.write_config({srv.url()}, "log: {target: syslog}\n");
  std::string again = s.inject("alice@example.org", {"bob@example.org"}, "Subject: t\n\nhi\n");
  RunResult piped = run({bin_dir() + "/nullq-send", "--once", "--config", s.config});
  EXPECT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.err, "nullq-send: 1 recipient: 1 delivered, 0 bounced, 0 deferred; 0 bounces sent\n");
}

TEST(SendCli, OnceQuietAtATerminalShowsOnlyProblems) {
  TestSpool s;
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()});
  ASSERT_FALSE(s.inject("alice@example.org", {"bob@example.org"}, "Subject: t\n\nhi\n").empty());
  int status = -1;
  std::string tty = run_at_terminal({bin_dir() + "/nullq-send", "--once", "--quiet", "--config", s.config}, status);
  EXPECT_EQ(status, 0) << tty;
  EXPECT_EQ(tty, "") << "a delivery is no problem, and --quiet has no summary";
  EXPECT_EQ(srv.count(), 1u);
}

}  // namespace
}  // namespace nullq::send::it

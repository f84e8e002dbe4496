// nullq-queue installed the way the package installs it: setgid to a group the caller is not in, run
// by an unprivileged user. Needs root to set the test up (chown, setuid in the child); skipped otherwise.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace {

constexpr uid_t unprivileged_uid = 65534;  // nobody
constexpr gid_t unprivileged_gid = 65534;  // nogroup
constexpr gid_t drop_gid = 8;              // any other group: it stands in for nullq-drop

struct Outcome {
  int code = -1;
  std::string err;
};

class SetIdQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "setting up a set-id program needs root";
    struct statvfs vfs {};
    ASSERT_EQ(::statvfs(dir_.path().c_str(), &vfs), 0);
    if (vfs.f_flag & ST_NOSUID) GTEST_SKIP() << dir_.path() << " is mounted nosuid";
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    std::string copy = dir_ / "nullq-queue";
    auto cp = nullq::testing::run({"/bin/cp", nullq::testing::program("nullq-queue"), copy});
    ASSERT_EQ(cp.code, 0) << cp.err;
    ASSERT_EQ(::chown(copy.c_str(), 0, drop_gid), 0);
    ASSERT_EQ(::chmod(copy.c_str(), 02755), 0);
  }

  // Runs the set-id copy as nobody:nogroup with an empty stdin, optionally with no_new_privs set (what
  // systemd's NoNewPrivileges=yes does), and returns its exit code and stderr.
  Outcome run_as_nobody(const std::vector<std::string>& args, bool no_new_privs) {
    int err[2];
    EXPECT_EQ(::pipe(err), 0);
    std::vector<std::string> argv{dir_ / "nullq-queue"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      ::dup2(err[1], 2);
      if (::setgroups(0, nullptr) != 0 || ::setgid(unprivileged_gid) != 0 || ::setuid(unprivileged_uid) != 0)
        ::_exit(120);
      if (no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(121);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
    ::close(err[1]);
    Outcome o;
    char buf[4096];
    for (ssize_t n; (n = ::read(err[0], buf, sizeof buf)) > 0;) o.err.append(buf, static_cast<std::size_t>(n));
    ::close(err[0]);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return o;
  }

  nullq::testing::TempDir dir_;
};

TEST_F(SetIdQueue, RefusesASpoolGivenOnTheCommandLine) {
  std::string spool = dir_ / "spool";
  auto o = run_as_nobody({"-d", spool}, false);
  EXPECT_EQ(o.code, 77) << o.err;
  EXPECT_EQ(o.err, "nullq-queue: -d is refused when running set-id\n");
  struct stat st {};
  EXPECT_NE(::stat(spool.c_str(), &st), 0) << "nothing may be created there";
}

TEST_F(SetIdQueue, SaysSoWhenTheSetGidBitDidNotTakeEffect) {
  auto o = run_as_nobody({}, true);
  EXPECT_EQ(o.code, 77) << o.err;
  EXPECT_NE(o.err.find("set-group-id bit did not take effect"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find('\n'), o.err.size() - 1) << "one line: " << o.err;
}

}  // namespace

// nullq-queue installed the way the package installs it: setgid to a group the caller is not in, run
// by an unprivileged user. Needs root to set the test up (chown, setuid in the child); skipped otherwise.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "process.hpp"

namespace {

constexpr uid_t unprivileged_uid = 65534;  // nobody
constexpr gid_t unprivileged_gid = 65534;  // nogroup
constexpr gid_t drop_gid = 8;              // any other group: it stands in for nullq-drop

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
  // systemd's NoNewPrivileges=yes does).
  nullq::testing::Run run_as_nobody(const std::vector<std::string>& args, bool no_new_privs) {
    std::vector<std::string> argv{dir_ / "nullq-queue"};
    argv.insert(argv.end(), args.begin(), args.end());
    nullq::testing::RunOptions o;
    o.user = std::make_pair(unprivileged_uid, unprivileged_gid);
    o.no_new_privs = no_new_privs;
    return nullq::testing::run(argv, o);
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

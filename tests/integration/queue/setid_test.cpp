// nullq-queue installed the way the package installs it: setgid to a group the caller is not in, run
// by an unprivileged user. Needs root to set the test up (chown, setuid in the child); skipped otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "nullq/envelope.hpp"
#include "nullq_build_config.h"
#include "packaged_spool.hpp"
#include "process.hpp"

namespace {

constexpr uid_t unprivileged_uid = 65534;  // nobody
constexpr gid_t unprivileged_gid = 65534;  // nogroup
constexpr gid_t drop_gid = 8;              // any other group: it stands in for nullq-drop
constexpr uid_t daemon_uid = 1;            // stands in for the nullq user, who owns the spool

class SetIdQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "setting up a set-id program needs root";
    NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
    struct statvfs vfs {};
    ASSERT_EQ(::statvfs(copies_.dir().c_str(), &vfs), 0);
    if (vfs.f_flag & ST_NOSUID) GTEST_SKIP() << copies_.dir() << " is mounted nosuid";
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    install_setgid(nullq::testing::program("nullq-queue"), "nullq-queue");
  }

  // Runs a set-id copy as nobody:nogroup, optionally with no_new_privs set (what systemd's
  // NoNewPrivileges=yes does).
  nullq::testing::Run run_as_nobody(const std::vector<std::string>& args, bool no_new_privs,
                                    const std::string& input = {}, const std::string& program = "nullq-queue") {
    std::vector<std::string> argv{copies_(program)};
    argv.insert(argv.end(), args.begin(), args.end());
    nullq::testing::RunOptions o;
    o.user = std::make_pair(unprivileged_uid, unprivileged_gid);
    o.no_new_privs = no_new_privs;
    o.input = input;
    return nullq::testing::run(argv, o);
  }

  // Installs `from` as a copy called `name`, setgid to the stand-in drop group, as the package does.
  void install_setgid(const std::string& from, const std::string& name) {
    std::string copy = copies_.add(from, name);
    ASSERT_FALSE(copy.empty()) << "cannot copy " << from;
    ASSERT_EQ(::chown(copy.c_str(), 0, drop_gid), 0);
    ASSERT_EQ(::chmod(copy.c_str(), 02755), 0);
  }

  nullq::testing::TempDir dir_;
  nullq::testing::ProgramCopies copies_{{}};
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

// What every sendmail call by an ordinary user comes down to: the set-id nullq-queue committing into
// the system spool. Nothing else exercises the packaged modes: the other tests run unprivileged
// against private spools.
TEST_F(SetIdQueue, AnUnprivilegedUserCommitsIntoTheSpoolAsPackaged) {
#if defined(__SANITIZE_ADDRESS__)
  // LeakSanitizer cannot inspect a set-id process at exit (it is not dumpable) and fails it; the
  // plain build runs this test.
  GTEST_SKIP() << "the sanitizer runtime cannot run set-id to completion";
#endif
  const std::string spool = NULLQ_TEST_SPOOL_DIR;
  nullq::testing::lay_out_spool_as_packaged(spool, daemon_uid, daemon_uid, drop_gid);
  if (HasFatalFailure()) return;
  install_setgid(NULLQ_TEST_QUEUE_PROGRAM, "nullq-queue-testspool");
  std::string message = "Subject: from nobody\n\nhello\n";
  auto o = run_as_nobody({}, false, nullq::envelope::encode_drop("nobody@example.org", {"ops@example.org"}) + message,
                         "nullq-queue-testspool");
  ASSERT_EQ(o.code, 0) << o.err;
  std::string id = o.out.substr(0, o.out.find('\n'));
  EXPECT_EQ(nullq::testing::list_dir(spool + "/new"), std::vector<std::string>{id});
  EXPECT_TRUE(nullq::testing::list_dir(spool + "/tmp").empty()) << "nothing left half-written";
  std::string queued = nullq::testing::read_file(spool + "/new/" + id);
  EXPECT_NE(queued.find("ops@example.org"), std::string::npos);
  EXPECT_NE(queued.find("invoked by uid 65534"), std::string::npos) << "the real uid is recorded";
  EXPECT_EQ(queued.substr(queued.size() - message.size()), message);
  struct stat st {};
  ASSERT_EQ(::stat((spool + "/new/" + id).c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, drop_gid) << "the daemon reads it through the drop group";
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  // new/ is sticky: another process with the drop group (any other user's nullq-queue) cannot
  // remove or rename the drop; the spool's owner (the daemon) can.
  ASSERT_EQ(::stat((spool + "/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01770u);
  ASSERT_EQ(::stat((spool + "/tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01730u);
  nullq::testing::RunOptions other;
  other.user = std::make_pair(unprivileged_uid - 1, drop_gid);
  auto mv = nullq::testing::run({"/bin/mv", spool + "/new/" + id, spool + "/new/stolen"}, other);
  EXPECT_NE(mv.code, 0) << "another drop-group process renamed the drop";
  auto rm = nullq::testing::run({"/bin/rm", "-f", spool + "/new/" + id}, other);
  EXPECT_NE(rm.code, 0) << "another drop-group process removed the drop";
  EXPECT_EQ(nullq::testing::list_dir(spool + "/new"), std::vector<std::string>{id});
  nullq::testing::RunOptions owner;
  owner.user = std::make_pair(daemon_uid, daemon_uid);
  auto owner_rm = nullq::testing::run({"/bin/rm", "-f", spool + "/new/" + id}, owner);
  EXPECT_EQ(owner_rm.code, 0) << owner_rm.err;
  EXPECT_TRUE(nullq::testing::list_dir(spool + "/new").empty()) << "the spool's owner removes any drop";
  std::filesystem::remove_all(spool);
}

// nullq-queue knows nothing of nullq.yaml: its limits are its own, compiled in or from a file only
// root can have written (here the test build's NULLQ_TEST_LIMITS_FILE).
class SetIdLimits : public SetIdQueue {
 protected:
  void SetUp() override {
    SetIdQueue::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    nullq::testing::lay_out_spool_as_packaged(spool_, daemon_uid, daemon_uid, drop_gid);
    if (HasFatalFailure()) return;
    install_setgid(NULLQ_TEST_QUEUE_PROGRAM, "nullq-queue-testspool");
  }
  void TearDown() override {
    ::unlink(NULLQ_TEST_LIMITS_FILE);
    std::filesystem::remove_all(spool_);
  }
  void limits(const std::string& text, uid_t owner = 0, mode_t mode = 0644) {
    ::unlink(NULLQ_TEST_LIMITS_FILE);
    {
      std::ofstream(NULLQ_TEST_LIMITS_FILE) << text;
    }
    ASSERT_EQ(::chown(NULLQ_TEST_LIMITS_FILE, owner, 0), 0);
    ASSERT_EQ(::chmod(NULLQ_TEST_LIMITS_FILE, mode), 0);
  }
  nullq::testing::Run queue(std::size_t body_size, const std::vector<std::string>& args = {}) {
    return run_as_nobody(args, false,
                         nullq::envelope::encode_drop("nobody@example.org", {"ops@example.org"}) + "Subject: x\n\n" +
                             std::string(body_size, 'x') + "\n",
                         "nullq-queue-testspool");
  }
  void expect_nothing_written() {
    EXPECT_TRUE(nullq::testing::list_dir(spool_ + "/new").empty());
    EXPECT_TRUE(nullq::testing::list_dir(spool_ + "/tmp").empty());
  }
  const std::string spool_ = NULLQ_TEST_SPOOL_DIR;
};

TEST_F(SetIdLimits, AUserCannotQueueMoreThanRootsLimitEvenWithMinusS) {
  limits("max_message_size: 1000\nmin_free: 0\n");
  const std::vector<std::vector<std::string>> runs{{}, {"-s", "1000000"}};
  for (const auto& args : runs) {
    auto o = queue(5000, args);
    EXPECT_EQ(o.code, 65) << o.err;
    EXPECT_EQ(o.err, "nullq-queue: message exceeds maximum size of 1000 bytes\n");
    expect_nothing_written();
  }
}

TEST_F(SetIdLimits, RefusesNewMailBelowTheFreeSpaceReserve) {
  limits("min_free: 1000000GiB\n");  // more than this disk has: the refusal is certain
  auto o = queue(10);
  EXPECT_EQ(o.code, 75) << o.err;
  EXPECT_EQ(o.err.rfind("nullq-queue: insufficient disk space", 0), 0u) << o.err;
  EXPECT_EQ(o.err.find('\n'), o.err.size() - 1) << "one line: " << o.err;
  expect_nothing_written();
}

TEST_F(SetIdLimits, ABrokenLimitsFileIsAConfigError) {
  limits("max_message_size: lots\n");
  auto o = queue(10);
  EXPECT_EQ(o.code, 78) << o.err;
  EXPECT_NE(o.err.find(NULLQ_TEST_LIMITS_FILE ":1: bad size 'lots'"), std::string::npos) << o.err;
  expect_nothing_written();
}

TEST_F(SetIdLimits, IgnoresALimitsFileSomeoneButRootCouldHaveWritten) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizer runtime cannot run set-id to completion";
#endif
  const std::vector<std::pair<uid_t, mode_t>> files{{unprivileged_uid, 0644}, {0, 0666}};
  for (auto [owner, mode] : files) {
    limits("max_message_size: 1000\nmin_free: 1000000GiB\n", owner, mode);
    auto o = queue(5000);
    EXPECT_EQ(o.code, 0) << "owner " << owner << " mode " << std::oct << mode << ": " << o.err;
  }
  EXPECT_EQ(nullq::testing::list_dir(spool_ + "/new").size(), 2u);
}

// A set-uid program that runs sendmail without cleaning its environment: the NULLQ_* variables (and
// -C) must not let its caller choose the config or the program run with the set-uid ids.
TEST_F(SetIdQueue, SendmailStartedSetIdIgnoresTheNullqVariables) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizer runtime cannot run set-id to completion";
#endif
  const std::string marker_dir = dir_ / "marker";
  ASSERT_EQ(::mkdir(marker_dir.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(marker_dir.c_str(), 0777), 0);
  const std::string marker = marker_dir + "/ran";
  dir_.write("evil-queue", "#!/bin/sh\ntouch " + marker + "\ncat >/dev/null\necho 1\n");
  ASSERT_EQ(::chmod((dir_ / "evil-queue").c_str(), 0755), 0);
  dir_.write("evil.yaml", "smarthosts:\n  - qmtp://127.0.0.1:1\nqueue:\n  dir: " + (dir_ / "spool") + "\n");
  ASSERT_EQ(::chmod((dir_ / "evil.yaml").c_str(), 0644), 0);
  const std::string plain_copy = copies_.add(nullq::testing::program("nullq-sendmail"), "sendmail-plain");
  const std::string setuid_copy = copies_.add(nullq::testing::program("nullq-sendmail"), "sendmail-setuid");
  ASSERT_FALSE(plain_copy.empty() || setuid_copy.empty());
  ASSERT_EQ(::chown(setuid_copy.c_str(), daemon_uid, 0), 0);
  ASSERT_EQ(::chmod(setuid_copy.c_str(), 04755), 0);

  nullq::testing::RunOptions o;
  o.user = std::make_pair(unprivileged_uid, unprivileged_gid);
  o.input = "Subject: x\n\nx\n";
  o.env = {{"NULLQ_CONFIG", dir_ / "evil.yaml"}, {"NULLQ_QUEUE_PROGRAM", dir_ / "evil-queue"}};
  // Without set-id the variables are the caller's to set: the evil queue program runs.
  auto plain = nullq::testing::run({plain_copy, "bob@example.org"}, o);
  EXPECT_EQ(plain.code, 0) << plain.err;
  struct stat st {};
  ASSERT_EQ(::stat(marker.c_str(), &st), 0) << "the control run did not use NULLQ_QUEUE_PROGRAM: " << plain.err;
  ASSERT_EQ(::unlink(marker.c_str()), 0);

  auto setuid = nullq::testing::run({setuid_copy, "bob@example.org"}, o);
  EXPECT_NE(::stat(marker.c_str(), &st), 0) << "NULLQ_QUEUE_PROGRAM ran set-uid: " << setuid.err;
  EXPECT_EQ(setuid.err.find("evil"), std::string::npos) << setuid.err;
  if (::access(NULLQ_CONFIG_PATH, F_OK) != 0) {
    // The compiled-in config, not NULLQ_CONFIG: missing here, so sendmail goes on with the built-in
    // settings and the compiled-in nullq-queue (said in one warning line).
    EXPECT_NE(setuid.err.find("cannot read " NULLQ_CONFIG_PATH), std::string::npos) << setuid.err;
  }

  o.env.clear();
  auto with_c = nullq::testing::run({setuid_copy, "-C", dir_ / "evil.yaml", "bob@example.org"}, o);
  EXPECT_EQ(with_c.code, 64) << with_c.err;
  EXPECT_NE(with_c.err.find("-C is refused"), std::string::npos) << with_c.err;
  EXPECT_NE(::stat(marker.c_str(), &st), 0);
}

}  // namespace

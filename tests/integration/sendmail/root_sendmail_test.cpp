// nullq-sendmail run by root: it commits the message itself (no second program), with the drop
// group and mode, and fails in one line on a spool in the way, a full disk, the free-space reserve or
// an unwritable spool, leaving only complete messages however it is killed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <random>

#include "nullq_build_config.h"
#include "process.hpp"
#include "sendmail_fixture.hpp"

namespace {

using namespace nullq::sendmail_it;

// Root may write the spool, so its sendmail commits the message itself (one process per message);
// NULLQ_QUEUE_PROGRAM sends it through nullq-queue as everyone else's. Both must write the same file.
class RootSendmail : public Sendmail {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the one-process path is root's (and the nullq user's)";
    Sendmail::SetUp();
  }
  // The file with its id-free, time-free parts only: the Q record and the Received: date blanked.
  static std::string without_time(std::string file) {
    std::size_t q = file.find("\nQ");
    if (q != std::string::npos) file.replace(q + 1, file.find('\n', q + 1) - q - 1, "Q<time>");
    std::size_t rcvd = file.find(");\n\t");
    if (rcvd != std::string::npos) file.replace(rcvd + 3, file.find('\n', rcvd + 3) - rcvd - 3, "\t<time>");
    return file;
  }
  std::string only_file() {
    auto names = list_dir(spool() + "/new");
    EXPECT_EQ(names.size(), 1u);
    if (names.size() != 1) return {};
    std::string path = spool() + "/new/" + names[0];
    std::string text = read_file(path);
    ::unlink(path.c_str());
    return text;
  }
};

TEST_F(RootSendmail, WritesTheFileNullqQueueWrites) {
  const std::string message =
      "From: Cron Daemon <root@example.org>\r\nTo: ops@example.net\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\n"
      "Message-ID: <fixed.1@box.example.org>\r\nSubject: both ways\r\n\r\nbody\r\nwith a bare \r in it\r\n";
  const std::vector<std::string> argv{"-i", "-f", "root@example.org", "ops@example.net", "dev@example.net"};
  auto one = sendmail(argv, message);
  ASSERT_EQ(one.code, 0) << one.err;
  std::string direct = only_file();
  auto two = sendmail(argv, message, "sendmail", {{"NULLQ_QUEUE_PROGRAM", program("nullq-queue")}});
  ASSERT_EQ(two.code, 0) << two.err;
  std::string queued = only_file();
  ASSERT_NE(direct.find("Received: (nullq-queue invoked by uid 0);\n\t"), std::string::npos) << direct;
  ASSERT_NE(direct.find("\nU1:0,\n"), std::string::npos) << "the real uid is recorded: " << direct;
  EXPECT_EQ(without_time(direct), without_time(queued));
  EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
}

TEST_F(RootSendmail, NeedsNoSecondProgram) {
  // A copy of nullq-sendmail alone, with no nullq-queue beside it nor installed: it still queues.
  struct stat st {};
  if (::stat(NULLQ_LIBEXECDIR "/nullq-queue", &st) == 0) GTEST_SKIP() << "nullq-queue is installed here";
  std::string lone = tmp_ / "sendmail";
  ASSERT_EQ(run({"/bin/cp", program("nullq-sendmail"), lone}).code, 0);
  RunOptions o;
  o.input = plain;
  o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}};
  auto r = run({lone, "-v", "-i", "a@y.org"}, o);
  ASSERT_EQ(r.code, 0) << r.err;
  auto names = list_dir(spool() + "/new");
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(r.err, "sendmail: queued as " + names[0] + "\n");
}

TEST_F(RootSendmail, FileGetsTheDropGroupAndMode0640WhateverTheUmask) {
  // tmp/ as the package lays it out: nullq's, group nullq-drop (gid 8 stands in), 1730. nullq-queue's
  // set-gid bit gives its files that group; root's own commit must give them the same.
  constexpr gid_t drop_gid = 8;
  ASSERT_EQ(sendmail({"-i", "a@y.org"}, plain).code, 0);  // creates the spool
  ::unlink((spool() + "/new/" + list_dir(spool() + "/new").at(0)).c_str());
  for (const char* d : {"tmp", "new"}) {
    std::string p = spool() + "/" + d;
    ASSERT_EQ(::chown(p.c_str(), 1, drop_gid), 0);
    ASSERT_EQ(::chmod(p.c_str(), d[0] == 't' ? 01730 : 01770), 0);
  }
  mode_t old = ::umask(077);  // a caller's strict umask must not make the file unreadable to the daemon
  auto r = sendmail({"-i", "a@y.org"}, plain);
  ::umask(old);
  ASSERT_EQ(r.code, 0) << r.err;
  auto names = list_dir(spool() + "/new");
  ASSERT_EQ(names.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat((spool() + "/new/" + names[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, drop_gid) << "the daemon reads it through the drop group";
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
}

TEST_F(RootSendmail, SpoolInTheWayIsCantCreateInOneLine) {
  tmp_.write("spool", "a file where the spool should be");
  auto r = sendmail({"-i", "a@y.org"}, plain);
  EXPECT_EQ(r.code, 73) << r.err;
  EXPECT_EQ(r.err, "sendmail: " + spool() + " exists and is not a directory\n");
}

TEST_F(RootSendmail, TmpInTheWayIsCantCreateAndNothingIsLeft) {
  ASSERT_EQ(sendmail({"-i", "a@y.org"}, plain).code, 0);
  ::unlink((spool() + "/new/" + list_dir(spool() + "/new").at(0)).c_str());
  ASSERT_EQ(::rmdir((spool() + "/tmp").c_str()), 0);
  tmp_.write("spool/tmp", "not a directory");
  auto r = sendmail({"-i", "a@y.org"}, plain);
  EXPECT_EQ(r.code, 73) << r.err;
  EXPECT_EQ(r.err, "sendmail: " + spool() + "/tmp exists and is not a directory\n");
  EXPECT_TRUE(list_dir(spool() + "/new").empty());
}

TEST_F(RootSendmail, FullDiskFailsInOneLineAndNothingIsHalfWritten) {
  // RLIMIT_FSIZE stands in for a full disk; sendmail itself writes here, and must not die of SIGXFSZ.
  RunOptions o;
  o.input = "Subject: big\n\n" + std::string(90000, 'x') + "\n";
  o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}};
  o.file_size_limit = 8192;
  auto r = run({program("nullq-sendmail"), "-i", "a@y.org"}, o);
  EXPECT_EQ(r.code, 65) << r.err;  // EFBIG: as nullq-queue says it
  EXPECT_EQ(r.err, "sendmail: message exceeds maximum size of 100000 bytes\n");
  expect_nothing_queued();
  o.file_size_limit = 100;  // not even the envelope fits
  r = run({program("nullq-sendmail"), "-i", "a@y.org"}, o);
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_EQ(r.err.rfind("sendmail: write " + spool() + "/tmp/", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  expect_nothing_queued();
}

// queue.min_free: below the reserve root's own commit writes nothing either (a reserve larger than
// the disk makes the refusal certain).
TEST_F(RootSendmail, RefusesBelowTheFreeSpaceReserveAndWritesNothing) {
  ASSERT_EQ(sendmail({"-i", "a@y.org"}, "Subject: x\n\nx\n").code, 0);  // the spool exists
  ::unlink((spool() + "/new/" + list_dir(spool() + "/new").at(0)).c_str());
  tmp_.write("nullq.yaml", "smarthosts: [qmtp://127.0.0.1:1]\nqueue:\n  dir: " + spool() + "\n  min_free: 1000000GiB\n");
  auto r = sendmail({"-i", "a@y.org"}, "Subject: x\n\nx\n");
  EXPECT_EQ(r.code, 75) << r.err;
  EXPECT_EQ(r.err.rfind("sendmail: insufficient disk space", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  expect_nothing_queued();
}

TEST_F(RootSendmail, UnwritableSpoolIsAPermissionErrorInOneLine) {
  // Root without CAP_DAC_OVERRIDE (a hardened service) cannot write a spool it does not own: the
  // one-process commit fails, nullq-queue is tried (it may be set-gid), and fails the same way here.
  ASSERT_EQ(sendmail({"-i", "a@y.org"}, plain).code, 0);
  ::unlink((spool() + "/new/" + list_dir(spool() + "/new").at(0)).c_str());
  ASSERT_EQ(::chown((spool() + "/tmp").c_str(), 1, 1), 0);
  RunOptions o;
  o.input = plain;
  o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}};
  auto r = run({"/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--",
                program("nullq-sendmail"), "-i", "a@y.org"}, o);
  EXPECT_EQ(r.code, 77) << r.err;
  EXPECT_EQ(r.err.rfind("sendmail: nullq-queue: create " + spool() + "/tmp/", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  expect_nothing_queued();
}

TEST_F(RootSendmail, KilledAtRandomPointsLeavesOnlyCompleteMessages) {
  // The one-process path: SIGKILL lands anywhere in reading, preparing, writing, fsync, link.
  tmp_.write("nullq.yaml", "hostname: box.example.org\ndomain: example.org\nsmarthosts: [qmtp://127.0.0.1:1]\n"
                           "queue:\n  dir: " + spool() + "\n  max_message_size: 10MB\n");
  std::string body;
  for (int i = 0; i < 40000; ++i) body += "line " + std::to_string(i) + " of a long message\n";
  std::string input = "Subject: long\n\n" + body;
  std::string config = tmp_ / "nullq.yaml";
  std::string prog = program("nullq-sendmail");
  std::mt19937 rng(4321);
  for (int round = 0; round < 60; ++round) {
    int in[2];
    ASSERT_EQ(::pipe(in), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(in[0], 0);
      ::close(in[0]);
      ::close(in[1]);
      ::setenv("NULLQ_CONFIG", config.c_str(), 1);
      ::execl(prog.c_str(), "sendmail", "-i", "a@y.org", nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    // Mostly the whole message, so that most kills land after the input is read.
    std::size_t cut = rng() % 3 == 0 ? rng() % (input.size() + 1) : input.size();
    std::size_t sent = 0;
    while (sent < cut) {
      ssize_t n = ::write(in[1], input.data() + sent, std::min<std::size_t>(cut - sent, 65536));
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    if (cut == input.size()) ::close(in[1]), in[1] = -1;  // else end of input would end the message there
    ::usleep(rng() % 40000);
    ::kill(pid, SIGKILL);
    if (in[1] >= 0) ::close(in[1]);
    ::waitpid(pid, nullptr, 0);
  }
  std::size_t complete = 0;
  for (const auto& q : queued()) {
    ASSERT_GE(q.message.size(), body.size());
    EXPECT_EQ(q.message.substr(q.message.size() - body.size()), body) << "an incomplete message in new/";
    EXPECT_EQ(q.env.recipients, std::vector<std::string>{"a@y.org"});
    ++complete;
  }
  RecordProperty("complete", static_cast<int>(complete));
  std::printf("%zu of 60 committed before the kill\n", complete);
}

}  // namespace

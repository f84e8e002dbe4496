// An ordinary user's injection and `sendmail -q`, run as nobody: copies of the programs sit in a 0755
// directory under /tmp (the build tree may be where nobody cannot reach), next to each other as
// nullq-sendmail expects. Needs root to set up (setuid in the child); skipped otherwise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "nullq/envelope.hpp"
#include "process.hpp"

namespace {

constexpr uid_t nobody = 65534;
constexpr gid_t nogroup = 65534;
constexpr gid_t drop_gid = 8;  // stands in for nullq-drop
constexpr uid_t daemon_uid = 1;  // stands in for the nullq user

using nullq::testing::list_dir;
using nullq::testing::read_file;

// FIFO reader standing in for a running nullq-send, which holds the trigger open (O_RDWR) for as long
// as it runs. Reads back what was written, so a test sees the poke arrive.
class Flusher {
 public:
  explicit Flusher(const std::string& fifo) : fd_(::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)) {}
  ~Flusher() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  std::size_t pokes() {
    char buf[64];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }

 private:
  int fd_;
};

class AsNobody : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "running programs as nobody needs root";
    NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
    struct statvfs vfs {};
    ASSERT_EQ(::statvfs(copies_.dir().c_str(), &vfs), 0);
    if (vfs.f_flag & ST_NOSUID) GTEST_SKIP() << copies_.dir() << " is mounted nosuid";
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    ASSERT_TRUE(copies_.ok());
  }

  // A private spool: nobody's own, created by the first injection (as a user trying nullq out).
  void use_own_spool() { write_config(dir_ / "spool"); }
  // The spool as the package lays it out, with nobody's own group in the drop group's place, so that
  // nobody's nullq-queue (which runs without the set-gid bit when given -d) has exactly the drop
  // group's access: it may create in tmp/, link into new/ and write the trigger, nothing more.
  void use_packaged_spool() {
    std::string s = dir_ / "spool";
    struct Entry {
      const char* name;
      mode_t mode;
      bool drop;
    };
    ASSERT_EQ(::mkdir(s.c_str(), 0755), 0);
    ASSERT_EQ(::chown(s.c_str(), daemon_uid, daemon_uid), 0);
    for (Entry e : {Entry{"tmp", 01730, true}, Entry{"new", 01770, true}, Entry{"queue", 0700, false},
                    Entry{"failed", 0700, false}}) {
      std::string p = s + "/" + e.name;
      ASSERT_EQ(::mkdir(p.c_str(), e.mode), 0);
      ASSERT_EQ(::chown(p.c_str(), daemon_uid, e.drop ? nogroup : daemon_uid), 0);
      ASSERT_EQ(::chmod(p.c_str(), e.mode), 0);
    }
    std::string trigger = s + "/trigger";
    ASSERT_EQ(::mkfifo(trigger.c_str(), 0620), 0);
    ASSERT_EQ(::chown(trigger.c_str(), daemon_uid, nogroup), 0);
    ASSERT_EQ(::chmod(trigger.c_str(), 0620), 0);
    std::string lock = s + "/lock";
    int fd = ::open(lock.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
    ASSERT_EQ(::chown(lock.c_str(), daemon_uid, daemon_uid), 0);
    write_config(s);
  }
  void write_config(const std::string& spool) {
    dir_.write("nullq.yaml", "hostname: box.example.org\ndomain: example.org\nsmarthosts: [qmtp://127.0.0.1:1]\n"
                             "queue:\n  dir: " + spool + "\n");
    ASSERT_EQ(::chmod((dir_ / "nullq.yaml").c_str(), 0644), 0);
  }
  nullq::testing::Run sendmail(const std::vector<std::string>& args, const std::string& input = {}) {
    std::vector<std::string> argv{copies_("nullq-sendmail")};
    argv.insert(argv.end(), args.begin(), args.end());
    nullq::testing::RunOptions o;
    o.user = std::make_pair(nobody, nogroup);
    o.input = input;
    o.argv0 = "sendmail";
    o.env = {{"NULLQ_CONFIG", dir_ / "nullq.yaml"}};
    return nullq::testing::run(argv, o);
  }
  std::string spool() const { return dir_ / "spool"; }

  nullq::testing::TempDir dir_;
  nullq::testing::ProgramCopies copies_{{"nullq-sendmail", "nullq-queue", "nullq-send"}};
};

TEST_F(AsNobody, InjectionGoesThroughNullqQueueAndRecordsTheRealUid) {
  use_packaged_spool();
  auto r = sendmail({"-v", "-i", "ops@example.org"}, "Subject: from nobody\n\nhello\n");
  ASSERT_EQ(r.code, 0) << r.err;
  auto names = list_dir(spool() + "/new");
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(r.err, "sendmail: queued as " + names[0] + "\n");
  std::string file = read_file(spool() + "/new/" + names[0]);
  std::size_t body = 0;
  auto env = nullq::envelope::decode(file, &body);
  ASSERT_TRUE(env.ok()) << env.error().detail;
  EXPECT_EQ(env->uid, static_cast<std::int64_t>(nobody));
  EXPECT_EQ(env->sender, "nobody@example.org");
  EXPECT_EQ(file.substr(body).rfind("Received: (nullq-queue invoked by uid 65534);\n\t", 0), 0u) << file;
  struct stat st {};
  ASSERT_EQ(::stat((spool() + "/new/" + names[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody);
  EXPECT_EQ(st.st_gid, nogroup) << "the drop group's";
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
}

TEST_F(AsNobody, WithoutNullqQueueAnOrdinaryUserCannotInject) {
  // The proof that a user's sendmail does not commit by itself: without nullq-queue it cannot.
  use_own_spool();
  ASSERT_EQ(::unlink(copies_("nullq-queue").c_str()), 0);
  auto r = sendmail({"-i", "ops@example.org"}, "Subject: x\n\nx\n");
  EXPECT_EQ(r.code, 69) << r.err;
  EXPECT_NE(r.err.find("cannot run"), std::string::npos) << r.err;
  EXPECT_TRUE(list_dir(spool() + "/new").empty());
}

TEST_F(AsNobody, DashQAsksARunningFlusher) {
  use_packaged_spool();
  Flusher daemon(spool() + "/trigger");
  ASSERT_TRUE(daemon.ok());
  auto r = sendmail({"-q"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "sendmail: asked the running nullq-send to deliver now\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(daemon.pokes(), 1u);
}

TEST_F(AsNobody, DashQWithoutAFlusherSaysOnlyRootAndNullqMayFlush) {
  use_packaged_spool();
  auto r = sendmail({"-q"});
  EXPECT_EQ(r.code, 77) << r.err;
  EXPECT_NE(r.err.find("only root and the nullq user can flush the queue"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(list_dir(spool() + "/new").empty());
}

TEST_F(AsNobody, NullqQueueDashTPokesOnlyARunningFlusher) {
  use_packaged_spool();
  nullq::testing::RunOptions o;
  o.user = std::make_pair(nobody, nogroup);
  auto none = nullq::testing::run({copies_("nullq-queue"), "-d", spool(), "-t"}, o);
  EXPECT_EQ(none.code, 69);
  EXPECT_EQ(none.err, "nullq-queue: no nullq-send is running\n");
  Flusher daemon(spool() + "/trigger");
  ASSERT_TRUE(daemon.ok());
  auto poked = nullq::testing::run({copies_("nullq-queue"), "-d", spool(), "-t"}, o);
  EXPECT_EQ(poked.code, 0) << poked.err;
  EXPECT_EQ(poked.out + poked.err, "");
  EXPECT_EQ(daemon.pokes(), 1u);
  // Without the drop group's access to the trigger: a permission error, nothing written.
  ASSERT_EQ(::chown((spool() + "/trigger").c_str(), daemon_uid, drop_gid), 0);
  auto denied = nullq::testing::run({copies_("nullq-queue"), "-d", spool(), "-t"}, o);
  EXPECT_EQ(denied.code, 77) << denied.err;
  EXPECT_EQ(denied.err.rfind("nullq-queue: open " + spool() + "/trigger: Permission denied", 0), 0u) << denied.err;
  EXPECT_EQ(daemon.pokes(), 0u);
}

TEST_F(AsNobody, SetIdNullqQueueDashTUsesTheCompiledInSpoolOnly) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizer runtime cannot run set-id to completion";
#endif
  // The set-gid copy as packaged: -t takes no path from the caller, and -d stays refused with it.
  std::string copy = copies_.add(NULLQ_TEST_QUEUE_PROGRAM, "nullq-queue-setgid");
  ASSERT_FALSE(copy.empty());
  ASSERT_EQ(::chown(copy.c_str(), 0, drop_gid), 0);
  ASSERT_EQ(::chmod(copy.c_str(), 02755), 0);
  use_packaged_spool();
  nullq::testing::RunOptions o;
  o.user = std::make_pair(nobody, nogroup);
  auto refused = nullq::testing::run({copy, "-d", spool(), "-t"}, o);
  EXPECT_EQ(refused.code, 77);
  EXPECT_EQ(refused.err, "nullq-queue: -d is refused when running set-id\n");
  // The compiled-in (test) spool with the trigger as packaged, 0620 nullq:nullq-drop: nobody reaches
  // it through the set-gid bit only.
  const std::string system_spool = NULLQ_TEST_SPOOL_DIR;
  std::filesystem::remove_all(system_spool);
  ASSERT_EQ(::mkdir(system_spool.c_str(), 0755), 0);
  std::string trigger = system_spool + "/trigger";
  ASSERT_EQ(::mkfifo(trigger.c_str(), 0620), 0);
  ASSERT_EQ(::chown(trigger.c_str(), daemon_uid, drop_gid), 0);
  ASSERT_EQ(::chmod(trigger.c_str(), 0620), 0);
  auto none = nullq::testing::run({copy, "-t"}, o);
  EXPECT_EQ(none.code, 69) << none.err;
  EXPECT_EQ(none.err, "nullq-queue: no nullq-send is running\n");
  {
    Flusher daemon(trigger);
    ASSERT_TRUE(daemon.ok());
    auto poked = nullq::testing::run({copy, "-t"}, o);
    EXPECT_EQ(poked.code, 0) << poked.err;
    EXPECT_EQ(daemon.pokes(), 1u);
    o.no_new_privs = true;  // the bit does not take effect: said so, nothing written
    auto nnp = nullq::testing::run({copy, "-t"}, o);
    EXPECT_EQ(nnp.code, 77) << nnp.err;
    EXPECT_NE(nnp.err.find("set-group-id bit did not take effect"), std::string::npos) << nnp.err;
    EXPECT_EQ(daemon.pokes(), 0u);
  }
  std::filesystem::remove_all(system_spool);
}

}  // namespace

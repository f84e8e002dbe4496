// One owner for the spool: root runs `sendmail -q`, `nullq flush` and the daemon against a spool
// laid out as packaged (etc/tmpfiles.d/nullq.conf), and every one of them works as the spool's user,
// so that what root flushed the daemon can still deliver. Uses nullq-send-owner and nullq-owner,
// builds with a compiled-in test spool, user and account files (meson.build). Needs root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "fake_server.hpp"
#include "harness.hpp"
#include "packaged_spool.hpp"
#include "process.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

constexpr uid_t owner_uid = 1;    // stands in for nullq (any uid but root's)
constexpr gid_t owner_gid = 1;    // nullq's own group
constexpr gid_t drop_gid = 8;     // stands in for nullq-drop; the owner is a member
constexpr uid_t nobody = 65534;
const std::string owner_name = NULLQ_TEST_USER;
const std::string spool_dir = NULLQ_TEST_SPOOL_DIR;

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};
Owner owner_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {9999, 9999};
  return {st.st_uid, st.st_gid};
}

// A line of /proc/PID/status ("Uid:", "Groups:").
std::string proc_status(pid_t pid, const std::string& key) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, key.size(), key) == 0) return line;
  return "";
}

class Owned : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
    NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
    accounts(true);
    nullq::testing::lay_out_spool_as_packaged(spool_dir, owner_uid, owner_gid, drop_gid);
    if (HasFatalFailure()) return;
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);  // the config, readable after the switch too
    ASSERT_TRUE(copies_.ok());
  }
  void TearDown() override {
    std::filesystem::remove_all(spool_dir);
    ::unlink(NULLQ_TEST_PASSWD_FILE);
    ::unlink(NULLQ_TEST_GROUP_FILE);
  }
  // The compiled-in account files: the spool's user in its own group and in the drop group.
  void accounts(bool with_owner) {
    write_file(NULLQ_TEST_PASSWD_FILE, "root:x:0:0:root:/root:/bin/sh\n" +
                                           (with_owner ? owner_name + ":x:1:1:test owner:/:/usr/sbin/nologin\n" : ""));
    write_file(NULLQ_TEST_GROUP_FILE, "root:x:0:\n" + owner_name + ":x:1:\nnullq-test-drop:x:8:" +
                                          (with_owner ? owner_name : "") + "\n");
  }
  void config(const std::string& smarthost) {
    write_file(config_, "smarthosts:\n  - " + smarthost + "\nqueue:\n  dir: " + spool_dir + "\n");
  }
  // What an ordinary user's sendmail comes down to: nullq-queue writing as the caller, with the
  // drop group (0640 nobody:drop in new/), which the spool's user reads only through that group.
  std::string inject(const std::string& body) {
    nullq::testing::RunOptions o;
    o.user = std::make_pair(nobody, drop_gid);
    o.input = drop_frame("alice@example.org", {"bob@example.org"}, body);
    auto r = nullq::testing::run({copies_("nullq-queue"), "-d", spool_dir}, o);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  // A sanitizer build cannot check for leaks in a process that left root (it is no longer
  // dumpable, so LeakSanitizer cannot inspect it at exit); everything else stays checked.
  std::vector<std::string> env() const {
    std::vector<std::string> e{"NULLQ_CONFIG=" + config_};
#if defined(__SANITIZE_ADDRESS__)
    e.push_back("ASAN_OPTIONS=detect_leaks=0:abort_on_error=1");
#endif
    return e;
  }
  std::vector<std::string> queued() const { return list_dir(spool_dir + "/queue"); }

  TempDir dir_;
  std::string config_ = dir_.path() + "/nullq.yaml";
  nullq::testing::ProgramCopies copies_{{"nullq-queue"}};
};

TEST_F(Owned, RootFlushesAsTheOwnerAndTheDaemonDeliversWhatRootFlushed) {
  // No lock file yet, as where systemd-tmpfiles is absent: root's flush must not create it as root.
  ASSERT_EQ(::unlink((spool_dir + "/lock").c_str()), 0);
  config("qmtp://127.0.0.1:" + std::to_string(closed_port()));
  std::string id = inject("Subject: stranded?\n\nhello\n");
  ASSERT_FALSE(id.empty());

  // root: sendmail -q while the smart host is down.
  auto flush_env = env();
  flush_env.push_back(std::string("NULLQ_SEND_PROGRAM=") + NULLQ_TEST_SEND_OWNER);
  auto q = run({bin_dir() + "/nullq-sendmail", "-q"}, flush_env);
  EXPECT_EQ(q.status, 0) << q.err;  // mail left queued for later: the flush itself worked
  ASSERT_EQ(queued().size(), 1u) << q.err;
  const std::string retried = queued()[0];
  // Rewritten with the error and a new time; no attempt charged (the host refused, not the mail).
  EXPECT_EQ(retried.rfind(id + ",0,", 0), 0u) << retried;
  EXPECT_NE(retried, id + ",0,0") << retried;
  Owner f = owner_of(spool_dir + "/queue/" + retried);
  EXPECT_EQ(f.uid, owner_uid) << "the rewritten queue file is the owner's, not root's";
  EXPECT_EQ(f.gid, owner_gid);
  Owner l = owner_of(spool_dir + "/lock");
  EXPECT_EQ(l.uid, owner_uid) << "the lock is the owner's";
  EXPECT_EQ(l.gid, owner_gid);
  EXPECT_TRUE(list_dir(spool_dir + "/new").empty());

  // root: nullq flush.
  auto fl = run({NULLQ_TEST_ADMIN_OWNER, "flush"}, env());
  EXPECT_EQ(fl.status, 0) << fl.err;
  ASSERT_EQ(queued(), std::vector<std::string>{id + ",0,0"});
  EXPECT_EQ(owner_of(spool_dir + "/queue/" + id + ",0,0").uid, owner_uid);

  // The smart host is back; the daemon, started by root, runs as the owner and delivers.
  FakeServer srv(Proto::qmtp);
  config(srv.url());
  std::string log = dir_.path() + "/daemon.log";
  Child daemon({NULLQ_TEST_SEND_OWNER, "--stderr", "--config", config_}, env(), log);
  ASSERT_TRUE(eventually([&] { return srv.count() == 1 && queued().empty(); }, 20s)) << read_file(log);
  EXPECT_EQ(proc_status(daemon.pid(), "Uid:"), "Uid:\t1\t1\t1\t1");
  std::string groups = proc_status(daemon.pid(), "Groups:");
  EXPECT_TRUE(contains(groups, " 8") || contains(groups, "\t8")) << "with the drop group: " << groups;
  auto got = srv.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(contains(got[0].message, "Subject: stranded?")) << got[0].message;
  EXPECT_FALSE(contains(read_file(log), "Permission denied")) << read_file(log);
}

TEST_F(Owned, RefusesWhenTheSpoolsUserDoesNotExist) {
  accounts(false);
  ASSERT_EQ(::unlink((spool_dir + "/lock").c_str()), 0);
  config("qmtp://127.0.0.1:" + std::to_string(closed_port()));
  std::string id = inject("Subject: x\n\nx\n");
  for (const auto& argv : std::vector<std::vector<std::string>>{{NULLQ_TEST_SEND_OWNER, "--once"},
                                                               {NULLQ_TEST_SEND_OWNER},
                                                               {NULLQ_TEST_ADMIN_OWNER, "flush"},
                                                               {NULLQ_TEST_ADMIN_OWNER, "drop", id}}) {
    auto r = run(argv, env());
    EXPECT_EQ(r.status, 78) << argv[0] << " " << r.err;
    EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
    EXPECT_TRUE(contains(r.err, "the user " + owner_name + ", who owns the spool " + spool_dir + ", does not exist"))
        << r.err;
  }
  EXPECT_EQ(list_dir(spool_dir + "/new"), std::vector<std::string>{id}) << "nothing was touched";
  EXPECT_TRUE(queued().empty());
  struct stat st {};
  EXPECT_NE(::lstat((spool_dir + "/lock").c_str(), &st), 0) << "no lock made as root";
}

// An account that is root in disguise (uid or gid 0, or a uid past 32 bits that the cast would make
// 0) must not let the switch "succeed" while the process stays root.
TEST_F(Owned, RefusesASpoolUserThatIsRootInDisguise) {
  config("qmtp://127.0.0.1:" + std::to_string(closed_port()));
  std::string id = inject("Subject: x\n\nx\n");
  ASSERT_EQ(::unlink((spool_dir + "/lock").c_str()), 0);
  for (const std::string ids : {"0:1", "1:0", "4294967296:1"}) {
    write_file(NULLQ_TEST_PASSWD_FILE, "root:x:0:0:root:/root:/bin/sh\n" + owner_name + ":x:" + ids + ":o:/:/x\n");
    auto r = run({NULLQ_TEST_SEND_OWNER, "--once"}, env());
    EXPECT_EQ(r.status, 78) << ids << ": " << r.err;
    EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
    EXPECT_TRUE(contains(r.err, "refusing to work on it as root")) << r.err;
  }
  EXPECT_EQ(list_dir(spool_dir + "/new"), std::vector<std::string>{id}) << "nothing was touched";
  EXPECT_TRUE(queued().empty());
  struct stat st {};
  EXPECT_NE(::lstat((spool_dir + "/lock").c_str(), &st), 0) << "no lock made as root";
}

// nullq-queue, run directly by a user, knows only its own limits, not nullq.yaml's: the daemon applies
// the config's size limit and rewrite.sender again to what users dropped.
TEST_F(Owned, DaemonAppliesTheConfigsSizeLimitAndSenderRewriteToUsersDrops) {
  FakeServer srv(Proto::qmtp);
  write_file(config_, "smarthosts:\n  - " + srv.url() + "\nqueue:\n  dir: " + spool_dir +
                          "\n  max_message_size: 2000\nrewrite:\n  sender: noreply@example.org\n");
  std::string small = inject("Subject: small\n\nx\n");
  std::string big = inject("Subject: big\n\n" + std::string(5000, 'x') + "\n");
  ASSERT_FALSE(small.empty());
  ASSERT_FALSE(big.empty());
  std::string log = dir_.path() + "/daemon.log";
  Child daemon({NULLQ_TEST_SEND_OWNER, "--stderr", "--config", config_}, env(), log);
  // The small one, and the bounce for the big one.
  ASSERT_TRUE(eventually([&] { return srv.count() == 2 && list_dir(spool_dir + "/new").empty(); }, 20s))
      << read_file(log);
  auto got = srv.received();
  ASSERT_EQ(got.size(), 2u);
  std::sort(got.begin(), got.end(), [](const auto& a, const auto& b) { return a.sender > b.sender; });
  EXPECT_EQ(got[0].sender, "noreply@example.org") << "rewrite.sender, as nobody's sendmail would have applied";
  EXPECT_TRUE(contains(got[0].message, "Subject: small")) << got[0].message;
  // The bounce goes to the sender the drop would have had, and quotes its headers.
  EXPECT_EQ(got[1].sender, "");
  EXPECT_EQ(got[1].rcpts, std::vector<std::string>{"noreply@example.org"});
  EXPECT_TRUE(contains(got[1].message, "Status: 5.3.4")) << got[1].message;
  EXPECT_TRUE(contains(got[1].message, "exceeds the limit of 2000 bytes (queue.max_message_size)")) << got[1].message;
  EXPECT_TRUE(contains(got[1].message, "Subject: big")) << got[1].message;
  EXPECT_FALSE(contains(got[1].message, std::string(100, 'x'))) << "headers only";
  ASSERT_TRUE(eventually([&] { return contains(read_file(log), "new/" + big + ": "); }, 10s)) << read_file(log);
  // The size counts the message as queued: with nullq-queue's Received: line.
  EXPECT_TRUE(contains(read_file(log), "new/" + big + ": message of 50")) << read_file(log);
  EXPECT_TRUE(contains(read_file(log), " bytes from uid 65534 exceeds queue.max_message_size of 2000 bytes; removed"))
      << read_file(log);
  EXPECT_TRUE(list_dir(spool_dir + "/failed").empty()) << "an oversize drop is not kept";
  ASSERT_TRUE(eventually([&] { return queued().empty(); }, 10s));
}

TEST_F(Owned, DaemonReportsEveryFileItCannotReadOnceWithTheFixAndDeliversTheRest) {
  FakeServer srv(Proto::qmtp);
  config(srv.url());
  std::string good = inject("Subject: good\n\nok\n");
  // What an earlier root flush left behind: queue/ and new/ files that are root's, 0600.
  std::string stranded = inject("Subject: stranded\n\nx\n");
  std::string blocked = inject("Subject: blocked\n\nx\n");
  const std::string qfile = spool_dir + "/queue/" + stranded + ",1,0";
  ASSERT_EQ(::rename((spool_dir + "/new/" + stranded).c_str(), qfile.c_str()), 0);
  const std::string nfile = spool_dir + "/new/" + blocked;
  for (const auto& p : {qfile, nfile}) {
    ASSERT_EQ(::chown(p.c_str(), 0, 0), 0);
    ASSERT_EQ(::chmod(p.c_str(), 0600), 0);
  }
  std::string log = dir_.path() + "/daemon.log";
  Child daemon({NULLQ_TEST_SEND_OWNER, "--stderr", "--config", config_}, env(), log);
  ASSERT_TRUE(eventually([&] { return srv.count() == 1; }, 20s)) << read_file(log);
  // More wake-ups: each looks at new/ again, and must not say it again.
  for (int i = 0; i < 3; ++i) inject("Subject: more\n\nx\n");
  ASSERT_TRUE(eventually([&] { return srv.count() == 4; }, 20s)) << read_file(log);
  ASSERT_TRUE(eventually([&] { return contains(read_file(log), "id=" + stranded + " cannot read"); }, 10s))
      << read_file(log);
  const std::string text = read_file(log);
  // The spool code names accounts from the system's files (the test's account files only steer
  // the switch), so uid and gid 1 appear under their names there.
  const passwd* pw = ::getpwuid(owner_uid);
  const group* gr = ::getgrgid(owner_gid);
  const std::string user = pw ? pw->pw_name : std::to_string(owner_uid), grp = gr ? gr->gr_name : std::to_string(owner_gid);
  const std::string fix = "is owned by root:root 0600, and this process runs as " + user + ": chown " + user + ":" +
                          grp + " ";
  EXPECT_EQ(count_of(text, "new/" + blocked + ": "), 1u) << text;
  EXPECT_TRUE(contains(text, nfile + " " + fix + nfile)) << text;
  EXPECT_TRUE(contains(text, "(left in new/)")) << text;
  EXPECT_TRUE(contains(text, qfile + " " + fix + qfile)) << text;
  EXPECT_TRUE(list_dir(spool_dir + "/new") == std::vector<std::string>{blocked}) << "left where it was";
  // Delivered files are unlinked on the thread pool after the server's answer: wait for that.
  ASSERT_TRUE(eventually([&] { return queued().size() == 1; }, 10s)) << "the unreadable message stays queued";
  EXPECT_EQ(queued()[0].rfind(stranded + ",", 0), 0u);
}

// The password_file is read as the spool's user: a file only root can read is refused by the
// daemon at start (not at the first SIGHUP) and by `nullq check`, which says who cannot read it.
TEST_F(Owned, PasswordFileOnlyRootCanReadIsRefusedAsTheDaemonsUser) {
  const std::string secret = dir_.path() + "/relay.secret";
  write_file(secret, "s3cret\n");
  ASSERT_EQ(::chown(secret.c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  config("{url: 'smtp://127.0.0.1:" + std::to_string(closed_port()) +
         "', starttls: 'off', auth: {user: relayuser, password_file: " + secret + ", allow_plaintext: true}}");
  const passwd* pw = ::getpwuid(owner_uid);
  const group* gr = ::getgrgid(owner_gid);
  const std::string user = pw ? pw->pw_name : std::to_string(owner_uid), grp = gr ? gr->gr_name : std::to_string(owner_gid);
  const std::string why = "password_file " + secret + ": Permission denied: the daemon (user " + user +
                          ") cannot read it; it is owned by root:root 0600, and this process runs as " + user +
                          ": chown " + user + ":" + grp + " " + secret;
  nullq::testing::RunOptions o;
  for (const auto& kv : env()) o.env[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
  auto check = nullq::testing::run({NULLQ_TEST_ADMIN_OWNER, "check"}, o);
  EXPECT_EQ(check.code, 1) << check.err;
  EXPECT_TRUE(contains(check.err + check.out, why)) << check.out << check.err;
  EXPECT_FALSE(contains(check.out, "AUTH as relayuser: ok")) << check.out;
  auto send = run({NULLQ_TEST_SEND_OWNER, "--once"}, env());
  EXPECT_EQ(send.status, 78) << send.err;
  EXPECT_EQ(count_of(send.err, "\n"), 1u) << send.err;
  EXPECT_TRUE(contains(send.err, why)) << send.err;
  EXPECT_FALSE(contains(send.err + check.out + check.err, "s3cret"));

  // Given to the spool's user, it is read.
  ASSERT_EQ(::chown(secret.c_str(), owner_uid, owner_gid), 0);
  check = nullq::testing::run({NULLQ_TEST_ADMIN_OWNER, "check"}, o);
  EXPECT_FALSE(contains(check.out + check.err, "password_file")) << check.out << check.err;
}

}  // namespace
}  // namespace nullq::send::it

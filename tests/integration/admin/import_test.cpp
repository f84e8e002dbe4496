// `nullq import-nullmailer`: nullmailer's configuration -> nullq.yaml (golden files in
// tests/data/import/<case>/: etc/ is the nullmailer directory, nullq.yaml and stderr.txt what the
// command prints, with @DIR@ and @PW@ for the directories), and --queue into a real spool.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "nullq/config.hpp"
#include "nullq/envelope.hpp"
#include "nullq/queue.hpp"
#include "process.hpp"

using nullq::testing::list_dir;
using nullq::testing::program;
using nullq::testing::read_file;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

namespace {

std::string data(const std::string& rel) { return std::string(std::getenv("NULLQ_TEST_DATA")) + "/import/" + rel; }

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

struct Imported {
  nullq::testing::Run r;
  std::string yaml, err;  // with the directories put back as @DIR@ and @PW@
};

// `nullq` itself, or a copy another user can reach when the options run it as that user.
std::string nullq_for(const RunOptions& o, std::optional<nullq::testing::ProgramCopies>& copies) {
  if (!o.user) return program("nullq");
  copies.emplace(std::vector<std::string>{"nullq"});
  EXPECT_TRUE(copies->ok());
  return (*copies)("nullq");
}

Imported import(const std::string& dir, const std::string& pw, std::vector<std::string> more = {},
                RunOptions o = {}) {
  std::optional<nullq::testing::ProgramCopies> copies;
  std::vector<std::string> argv{nullq_for(o, copies), "import-nullmailer", "--password-dir", pw};
  argv.insert(argv.end(), more.begin(), more.end());
  argv.push_back(dir);
  Imported i{run(argv, o), {}, {}};
  i.yaml = replace_all(replace_all(i.r.out, dir, "@DIR@"), pw, "@PW@");
  i.err = replace_all(replace_all(i.r.err, dir, "@DIR@"), pw, "@PW@");
  return i;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, PrintsTheExpectedYamlAndWarnings) {
  TempDir pw;
  auto i = import(data(GetParam() + "/etc"), pw.path());
  EXPECT_EQ(i.yaml, read_file(data(GetParam() + "/nullq.yaml")));
  EXPECT_EQ(i.err, read_file(data(GetParam() + "/stderr.txt")));
  EXPECT_EQ(i.r.code, GetParam() == "bad-remotes" ? 1 : 0) << i.r.err;
}

INSTANTIATE_TEST_SUITE_P(Import, Golden, ::testing::Values("smtp-forms", "qmqp-globals", "bad-remotes"));

TEST(Import, PasswordsGoToFilesNeverIntoTheYaml) {
  TempDir pw;
  auto i = import(data("smtp-forms/etc"), pw.path());
  ASSERT_EQ(i.r.code, 0) << i.r.err;
  EXPECT_EQ(i.r.out.find("my pass phrase"), std::string::npos);
  EXPECT_EQ(i.r.err.find("my pass phrase"), std::string::npos);
  EXPECT_EQ(list_dir(pw.path()), (std::vector<std::string>{"ssl.example.org.password", "submit.example.org.password"}));
  EXPECT_EQ(read_file(pw / "submit.example.org.password"), "my pass phrase\n");
  EXPECT_EQ(read_file(pw / "ssl.example.org.password"), "q\"uote\n");  // "..." with a backslash escape
  struct stat st {};
  ASSERT_EQ(::stat((pw / "submit.example.org.password").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);

  // A second run finds its own files and writes no more; a different file of that name is kept.
  auto again = import(data("smtp-forms/etc"), pw.path());
  EXPECT_EQ(again.yaml, i.yaml);
  EXPECT_EQ(list_dir(pw.path()).size(), 2u);
  pw.write("submit.example.org.password", "someone else's\n");
  auto third = import(data("smtp-forms/etc"), pw.path());
  EXPECT_EQ(read_file(pw / "submit.example.org.password"), "someone else's\n");
  EXPECT_EQ(read_file(pw / "submit.example.org-2.password"), "my pass phrase\n");
  EXPECT_NE(third.yaml.find("password_file: @PW@/submit.example.org-2.password"), std::string::npos) << third.yaml;
  EXPECT_NE(third.err.find("is in @PW@/submit.example.org-2.password (mode 0640"), std::string::npos) << third.err;
}

TEST(Import, QmqpAndGlobalsParseIntoTheExpectedConfig) {
  TempDir pw;
  auto i = import(data("qmqp-globals/etc"), pw.path());
  ASSERT_EQ(i.r.code, 0) << i.r.err;
  auto c = nullq::config::parse_only(i.r.out, "imported.yaml");
  ASSERT_TRUE(c.ok()) << c.error().detail << "\n" << i.r.out;
  EXPECT_EQ(c->hostname, "web1.example.org");  // me, stripped
  EXPECT_EQ(c->domain, "web1.example.org");    // defaulthost + defaultdomain
  EXPECT_EQ(c->idhost, "msgid.example.org");   // idhost + defaultdomain
  EXPECT_EQ(c->admin, "ops@example.org");
  EXPECT_EQ(c->rewrite_sender, "noreply@example.org");
  EXPECT_FALSE(c->rewrite_header_from);
  ASSERT_EQ(c->smarthosts.size(), 3u);
  EXPECT_EQ(c->smarthosts[0].protocol, nullq::config::Protocol::qmqp);
  EXPECT_EQ(c->smarthosts[0].host, "qmqp1.example.org");
  EXPECT_EQ(c->smarthosts[0].effective_port(), 628);
  EXPECT_EQ(c->smarthosts[1].host, "qmqp2.example.org");
  EXPECT_EQ(c->smarthosts[1].port, 6280);
  EXPECT_EQ(c->smarthosts[2].host, "192.0.2.10");
  EXPECT_EQ(c->smarthosts[2].effective_port(), 628);
  EXPECT_EQ(c->smarthosts[2].source, "2001:db8::99");  // source=
  EXPECT_EQ(c->smarthosts[0].source, "");
  EXPECT_EQ(c->lifetime, nullq::config::seconds(259200));
  EXPECT_EQ(c->retry_min, nullq::config::seconds(30));
  EXPECT_EQ(c->retry_max, nullq::config::seconds(7200));
  EXPECT_EQ(c->session_max, nullq::config::seconds(1800));
  EXPECT_EQ(c->bounce_admin, "postmaster@example.org");
}

TEST(Import, BadRemotesStillGiveAConfigThatParses) {
  TempDir pw;
  auto i = import(data("bad-remotes/etc"), pw.path());
  ASSERT_EQ(i.r.code, 1);
  // Only the qmqp line parses on every build; the smtp ones need SMTP smart hosts.
  auto c = nullq::config::parse_only(i.r.out, "imported.yaml");
  ASSERT_TRUE(c.ok()) << c.error().detail << "\n" << i.r.out;
  ASSERT_EQ(c->smarthosts.size(), 9u);
  EXPECT_EQ(c->smarthosts[6].host, "source.example.org");
  EXPECT_EQ(c->smarthosts[6].source, "192.0.2.1");       // source= with an address
  EXPECT_EQ(c->smarthosts[7].host, "hostsource.example.org");
  EXPECT_EQ(c->smarthosts[7].source, "") << "source= with a host name is left out";
  EXPECT_EQ(c->smarthosts[8].host, "qmqpsource.example.org");
  EXPECT_EQ(c->smarthosts[8].source, "");
}

TEST(Import, SmtpOutputParses) {
  TempDir pw;
  auto i = import(data("smtp-forms/etc"), pw.path());
  ASSERT_EQ(i.r.code, 0) << i.r.err;
  auto c = nullq::config::parse_only(i.r.out, "imported.yaml");
  ASSERT_TRUE(c.ok()) << c.error().detail << "\n" << i.r.out;
  ASSERT_EQ(c->smarthosts.size(), 10u);
  EXPECT_EQ(c->smarthosts[0].host, "relay.example.org");
  EXPECT_EQ(c->smarthosts[0].effective_port(), 25);
  EXPECT_EQ(c->smarthosts[2].effective_port(), 587);
  EXPECT_EQ(c->smarthosts[4].effective_port(), 465);  // --ssl: smtps
  EXPECT_EQ(c->smarthosts[5].effective_port(), 2465);
  EXPECT_EQ(c->smarthosts[9].host, "2001:db8::25");
  EXPECT_EQ(c->smarthosts[9].effective_port(), 2525);
}

TEST(Import, UnreadableDirectoryIsAnErrorAndWritesNothing) {
  if (::geteuid() == 0) NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();  // root's part runs as nobody
  TempDir pw, tmp;
  auto missing = import(tmp / "absent", pw.path());
  EXPECT_EQ(missing.r.code, 74);
  EXPECT_EQ(missing.r.out, "");
  EXPECT_EQ(missing.r.err, "nullq: cannot read " + (tmp / "absent") + ": No such file or directory\n");
  tmp.write("file", "x\n");
  auto file = import(tmp / "file", pw.path());
  EXPECT_EQ(file.r.code, 74);
  EXPECT_EQ(file.r.err, "nullq: cannot read " + (tmp / "file") + ": Not a directory\n");

  // A remotes file the caller may not read (nullmailer's is 0600 mail:mail): 77, no YAML.
  ASSERT_EQ(::mkdir((tmp / "nm").c_str(), 0755), 0);
  tmp.write("nm/remotes", "relay.example.org smtp --user=u --pass=p\n");
  ASSERT_EQ(::chmod((tmp / "nm/remotes").c_str(), 0), 0);
  RunOptions o;
  if (::geteuid() == 0) o.user = {{65534, 65534}};
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);
  auto denied = import(tmp / "nm", pw.path(), {}, o);
  EXPECT_EQ(denied.r.code, 77);
  EXPECT_EQ(denied.r.out, "");
  EXPECT_EQ(denied.r.err, "nullq: cannot read " + (tmp / "nm/remotes") + ": Permission denied (run as root)\n");
  EXPECT_TRUE(list_dir(pw.path()).empty());
}

// A --password-dir that is not there is named as such (not the temporary file that could not be
// created in it), before anything is printed or written.
TEST(Import, MissingPasswordDirectoryIsNamed) {
  TempDir tmp;
  auto i = import(data("smtp-forms/etc"), tmp / "absent");
  EXPECT_EQ(i.r.code, 73);
  EXPECT_EQ(i.r.out, "");
  EXPECT_EQ(i.err.rfind("nullq: the password directory @PW@ (--password-dir) does not exist: create it "
                          "(mkdir -m 0750 @PW@) or name another; the password for ",
                          0),
            0u)
      << i.err;
  EXPECT_EQ(std::count(i.err.begin(), i.err.end(), '\n'), 1) << i.err;
  EXPECT_EQ(i.err.find(".import-"), std::string::npos) << i.err;
  tmp.write("file", "x\n");
  auto f = import(data("smtp-forms/etc"), tmp / "file");
  EXPECT_EQ(f.r.code, 73);
  EXPECT_NE(f.err.find("(--password-dir) is not a directory; "), std::string::npos) << f.err;
  EXPECT_EQ(list_dir(tmp.path()), std::vector<std::string>{"file"});
}

TEST(Import, UsageErrors) {
  auto r = run({program("nullq"), "import-nullmailer", "--bogus"});
  EXPECT_EQ(r.code, 64);
  EXPECT_EQ(r.err.rfind("nullq: unknown option '--bogus'\nusage: nullq import-nullmailer", 0), 0u) << r.err;
  auto two = run({program("nullq"), "import-nullmailer", "a", "b"});
  EXPECT_EQ(two.code, 64);
}

// --queue: nullmailer's queue into a spool of our own.
class ImportQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir((tmp_ / "nm").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(nm_queue_.c_str(), 0755), 0);
    tmp_.write("nullq.yaml", "hostname: box.example.org\nsmarthosts: [qmqp://127.0.0.1:1]\nqueue:\n  dir: " + spool_.dir + "\n");
    ASSERT_TRUE(nullq::queue::ensure_spool(spool_).ok());  // as the package lays it out
  }
  // Root ignores file modes: the tests of failing writes run as nobody, who then owns the spool.
  void as_nobody(RunOptions& o) {
    if (::geteuid() != 0) return;
    o.user = {{65534, 65534}};
    for (const std::string& p : {tmp_.path(), spool_.dir, spool_.tmp(), spool_.incoming(), spool_.queue(),
                                 spool_.failed(), spool_.trigger()})
      ASSERT_EQ(::chown(p.c_str(), 65534, 65534), 0) << p;
  }
  void queued(const std::string& name, const std::string& text, std::time_t mtime = 1700000000) {
    tmp_.write("nm/queue/" + name, text);
    struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};
    ASSERT_EQ(::utimes((nm_queue_ + "/" + name).c_str(), tv), 0);
  }
  nullq::testing::Run move(RunOptions o = {}) {
    std::optional<nullq::testing::ProgramCopies> copies;
    return run({nullq_for(o, copies), "--config", tmp_ / "nullq.yaml", "import-nullmailer", "--queue", "--spool", tmp_ / "nm"}, o);
  }
  // The one file in new/, decoded.
  std::pair<nullq::envelope::Envelope, std::string> only_new() {
    auto names = list_dir(spool_.incoming());
    EXPECT_EQ(names.size(), 1u);
    if (names.empty()) return {};
    std::string file = read_file(spool_.incoming() + "/" + names[0]);
    std::size_t body = 0;
    auto env = nullq::envelope::decode(file, &body);
    EXPECT_TRUE(env.ok()) << file;
    if (!env.ok()) return {};
    return {*env, file.substr(body)};
  }
  TempDir tmp_;
  std::string nm_queue_ = tmp_ / "nm/queue";
  nullq::queue::Spool spool_{tmp_ / "spool"};
};

const std::string message = "Received: with nullmailer 2.2;\n\tThu, 14 Nov 2023 22:13:20 -0000\nSubject: hi\n\nbody\n";

TEST_F(ImportQueue, MovesEveryMessageWithItsEnvelopeAndQueueTime) {
  queued("1700000000.100", "alice@example.org\nbob@example.net\ncarol@example.net\n\n" + message, 1700000000);
  queued("1700000001.101", "\npostmaster@example.org\n\n" + message, 1700000001);  // a bounce: null sender
  auto r = move();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(list_dir(nm_queue_).empty());
  auto names = list_dir(spool_.incoming());
  ASSERT_EQ(names.size(), 2u);
  EXPECT_NE(r.out.find("1700000000.100 -> "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("moved 2 message(s) into " + spool_.incoming() + "\n"), std::string::npos) << r.out;
  EXPECT_TRUE(list_dir(spool_.tmp()).empty());
  std::vector<nullq::envelope::Envelope> envs;
  for (const auto& n : names) {
    std::string file = read_file(spool_.incoming() + "/" + n);
    std::size_t body = 0;
    auto env = nullq::envelope::decode(file, &body);
    ASSERT_TRUE(env.ok()) << file;
    EXPECT_EQ(file.substr(body), message);  // the message byte for byte, nullmailer's Received line kept
    envs.push_back(*env);
  }
  std::sort(envs.begin(), envs.end(), [](auto& a, auto& b) { return a.queued_at < b.queued_at; });
  EXPECT_EQ(envs[0].sender, "alice@example.org");
  EXPECT_EQ(envs[0].recipients, (std::vector<std::string>{"bob@example.net", "carol@example.net"}));
  EXPECT_EQ(envs[0].queued_at, 1700000000);  // queuelifetime counted from the file's mtime, as nullmailer did
  EXPECT_EQ(envs[1].sender, "");
  EXPECT_EQ(envs[1].recipients, std::vector<std::string>{"postmaster@example.org"});
  EXPECT_EQ(envs[1].queued_at, 1700000001);
}

TEST_F(ImportQueue, UnparsableFilesStayAndAreReportedOneLineEach) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"1.cut", "alice@example.org\nbob@example.net\n"},                   // no empty line
      {"2.cut-in-sender", "alice@exam"},                                    // no LF at all
      {"3.empty", ""},
      {"4.no-recipients", "alice@example.org\n\n" + message},
      {"5.no-message", "alice@example.org\nbob@example.net\n\n"},
      {"6.garbage", std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0", 12) + "\n\n"},
      {"7.nul", std::string("alice@example.org\nb\0b@example.net\n\n", 36) + message},
      {"8.long", std::string(5000, 'a') + "\nbob@example.net\n\n" + message},
  };
  for (const auto& [name, text] : bad) queued(name, text);
  queued("9.good", "alice@example.org\nbob@example.net\n\n" + message);
  auto r = move();
  EXPECT_EQ(r.code, 65);
  // Each bad file: one line naming it; all still there, byte for byte.
  std::size_t lines = 0;
  for (char c : r.err) lines += c == '\n';
  EXPECT_EQ(lines, bad.size()) << r.err;
  for (const auto& [name, text] : bad) {
    EXPECT_NE(r.err.find("nullq: " + nm_queue_ + "/" + name + ": cannot be parsed: "), std::string::npos) << name << "\n" << r.err;
    EXPECT_EQ(read_file(nm_queue_ + "/" + name), text) << name;
  }
  EXPECT_NE(r.err.find("/1.cut: cannot be parsed: the envelope is cut short (no empty line before the message); left in place\n"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/5.no-message: cannot be parsed: no message after the envelope (cut short); left in place\n"),
            std::string::npos);
  EXPECT_NE(r.err.find("/4.no-recipients: cannot be parsed: no recipients; left in place\n"), std::string::npos);
  EXPECT_NE(r.out.find("moved 1 message(s) into " + spool_.incoming() + "; 8 left in " + nm_queue_ + " (see above)\n"),
            std::string::npos) << r.out;
  // Only the good one reached nullq's spool, and nothing half-written is left in tmp/.
  auto [env, body] = only_new();
  EXPECT_EQ(env.recipients, std::vector<std::string>{"bob@example.net"});
  EXPECT_EQ(body, message);
  EXPECT_TRUE(list_dir(spool_.tmp()).empty());
  EXPECT_EQ(list_dir(nm_queue_).size(), bad.size());
}

// The order that makes a crash harmless: nullq's commit is durable before nullmailer's file goes.
// Here the unlink fails after the commit (the queue directory is not writable for the caller):
// the message is in new/ and still in nullmailer's queue, a duplicate, never a loss.
TEST_F(ImportQueue, NullmailerFileIsRemovedOnlyAfterTheCommit) {
  if (::geteuid() == 0) NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();  // as_nobody()
  queued("1700000000.100", "alice@example.org\nbob@example.net\n\n" + message);
  queued("1700000000.200", "alice@example.org\ncarol@example.net\n\n" + message);
  RunOptions o;
  as_nobody(o);  // nullmailer's queue stays root's: nobody cannot unlink there
  ASSERT_EQ(::chmod(nm_queue_.c_str(), 0555), 0);
  auto r = move(o);
  ::chmod(nm_queue_.c_str(), 0755);
  EXPECT_EQ(r.code, 77) << r.err;
  EXPECT_NE(r.err.find("nullq: " + nm_queue_ + "/1700000000.100: queued as "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", but cannot remove it: Permission denied; remove it by hand, or it is imported again\n"),
            std::string::npos) << r.err;
  // Committed, and the original kept; the run stopped there rather than pile up duplicates.
  auto [env, body] = only_new();
  EXPECT_EQ(env.recipients, std::vector<std::string>{"bob@example.net"});
  EXPECT_EQ(list_dir(nm_queue_), (std::vector<std::string>{"1700000000.100", "1700000000.200"}));
  EXPECT_TRUE(list_dir(spool_.tmp()).empty());
}

// The other side: when nullq's commit fails, nullmailer's file stays and nothing is left half-written.
TEST_F(ImportQueue, AFailedCommitKeepsTheNullmailerFile) {
  if (::geteuid() == 0) NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();  // as_nobody()
  queued("1700000000.100", "alice@example.org\nbob@example.net\n\n" + message);
  RunOptions o;
  as_nobody(o);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(nm_queue_.c_str(), 65534, 65534), 0);
  }
  ASSERT_EQ(::chmod(spool_.incoming().c_str(), 0500), 0);  // new/: no link() into it
  auto r = move(o);
  ::chmod(spool_.incoming().c_str(), 0700);
  EXPECT_EQ(r.code, 77) << r.err;
  EXPECT_NE(r.err.find("nullq: " + nm_queue_ + "/1700000000.100: cannot queue it: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("; left in place\n"), std::string::npos) << r.err;
  EXPECT_EQ(list_dir(nm_queue_), std::vector<std::string>{"1700000000.100"});
  EXPECT_TRUE(list_dir(spool_.incoming()).empty());
  EXPECT_TRUE(list_dir(spool_.tmp()).empty());
}

// As root the spool is the package's (shared modes, from tmpfiles.d): it is never made up here.
TEST_F(ImportQueue, AsRootAMissingSpoolIsAnError) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  queued("1700000000.100", "alice@example.org\nbob@example.net\n\n" + message);
  ASSERT_EQ(::rmdir(spool_.incoming().c_str()), 0);
  auto r = move();
  EXPECT_EQ(r.code, 73);
  EXPECT_EQ(r.err, "nullq: " + spool_.incoming() + " is missing; create the spool first (systemd-tmpfiles --create)\n");
  EXPECT_EQ(list_dir(nm_queue_), std::vector<std::string>{"1700000000.100"});
}

TEST_F(ImportQueue, NoQueueIsNothingToDo) {
  ASSERT_EQ(::rmdir(nm_queue_.c_str()), 0);
  auto r = move();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no nullmailer queue at " + nm_queue_ + ": nothing to move\n");
}

TEST_F(ImportQueue, BrokenNullqConfigIs78) {
  tmp_.write("nullq.yaml", "smarthost: [x]\n");
  queued("1.a", "alice@example.org\nbob@example.net\n\n" + message);
  auto r = move();
  EXPECT_EQ(r.code, 78);
  EXPECT_NE(r.err.find("unknown key 'smarthost'"), std::string::npos) << r.err;
  EXPECT_EQ(list_dir(nm_queue_).size(), 1u);
}

}  // namespace

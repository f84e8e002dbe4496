// nullq-queue, the set-id program, run as a real process against a temporary spool.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <algorithm>
#include <optional>
#include <random>

#include "nullq/envelope.hpp"
#include "nullq/netstring.hpp"
#include "process.hpp"

using nullq::testing::list_dir;
using nullq::testing::program;
using nullq::testing::read_file;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

namespace {

std::string drop(const std::string& sender, const std::vector<std::string>& rcpts, const std::string& message) {
  return nullq::envelope::encode_drop(sender, rcpts) + message;
}

class QueueProgram : public ::testing::Test {
 protected:
  std::string spool() const { return tmp_ / "spool"; }
  nullq::testing::Run queue(const std::string& input, std::vector<std::string> extra = {}, RunOptions o = {}) {
    std::vector<std::string> argv{program("nullq-queue"), "-d", spool()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    o.input = input;
    return run(argv, o);
  }
  // Nothing half-written anywhere: tmp/ and new/ both empty.
  void expect_nothing_queued() {
    EXPECT_TRUE(list_dir(spool() + "/new").empty());
    EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
  }
  TempDir tmp_;
};

TEST_F(QueueProgram, CommitsACompleteMessageWithReceivedLine) {
  auto r = queue(drop("a@x", {"b@y", "c@z"}, "Subject: hi\r\n\r\nbody\r\n"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto files = list_dir(spool() + "/new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0] + "\n", r.out) << "prints the id";
  std::string file = read_file(spool() + "/new/" + files[0]);
  std::size_t body = 0;
  auto env = nullq::envelope::decode(file, &body);
  ASSERT_TRUE(env.ok()) << env.error().detail;
  EXPECT_EQ(env->sender, "a@x");
  EXPECT_EQ(env->recipients, (std::vector<std::string>{"b@y", "c@z"}));
  EXPECT_EQ(env->uid, static_cast<std::int64_t>(::getuid()));
  std::string msg = file.substr(body);
  EXPECT_EQ(msg.rfind("Received: (nullq-queue invoked by uid " + std::to_string(::getuid()) + ");\n\t", 0), 0u) << msg;
  EXPECT_NE(msg.find("\nSubject: hi\n\nbody\n"), std::string::npos) << "CRLF became LF: " << msg;
  EXPECT_EQ(msg.find('\r'), std::string::npos);
  EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
}

TEST_F(QueueProgram, KeepsTheDsnRequestInTheQueueFile) {
  nullq::dsn::MessageParams m;
  m.ret = nullq::dsn::Ret::hdrs;
  m.envid = "id 1";
  std::vector<nullq::dsn::RecipientParams> r(2);
  r[1].notify = nullq::dsn::notify_never;
  r[1].orcpt_type = "rfc822";
  r[1].orcpt = "C@z";
  auto q = queue(nullq::envelope::encode_drop("a@x", {"b@y", "c@z"}, m, r) + "Subject: hi\n\nbody\n");
  ASSERT_EQ(q.code, 0) << q.err;
  auto files = list_dir(spool() + "/new");
  ASSERT_EQ(files.size(), 1u);
  std::string file = read_file(spool() + "/new/" + files[0]);
  EXPECT_EQ(file.rfind("NQ1\nF3:a@x,\nE21:RET=HDRS ENVID=id+201,\nT3:b@y,\nT3:c@z,\nN29:NOTIFY=NEVER ORCPT=rfc822;C@z,\n",
                       0),
            0u)
      << file;
  auto env = nullq::envelope::decode(file, nullptr);
  ASSERT_TRUE(env.ok()) << env.error().detail;
  EXPECT_EQ(env->mail_dsn, m);
  EXPECT_EQ(env->rcpt_dsn, r);
}

TEST_F(QueueProgram, NullSenderIsAccepted) {
  auto r = queue(drop("", {"b@y"}, "x\n"));
  ASSERT_EQ(r.code, 0) << r.err;
}

std::string ns(const std::string& s) { return nullq::netstring::encode(s); }

struct BadInput {
  const char* name;
  std::string input;
  int code;
  const char* message;
};

class QueueRejects : public QueueProgram, public ::testing::WithParamInterface<BadInput> {};

TEST_P(QueueRejects, WithCodeAndOneLineAndNothingQueued) {
  const BadInput& b = GetParam();
  auto r = queue(b.input);
  EXPECT_EQ(r.code, b.code) << r.err;
  EXPECT_NE(r.err.find(b.message), std::string::npos) << r.err;
  EXPECT_EQ(r.err.rfind("nullq-queue: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  expect_nothing_queued();
}

INSTANTIATE_TEST_SUITE_P(
    Table, QueueRejects,
    ::testing::Values(BadInput{"empty_input", "", 65, "bad envelope framing"},
                      BadInput{"not_a_netstring", "hello\n", 65, "bad envelope framing"},
                      BadInput{"truncated_framing", "18:3:a@x,3:b", 65, "bad envelope framing"},
                      BadInput{"no_recipients", ns(ns("a@x")) + "Subject: x\n", 65, "no recipients"},
                      BadInput{"newline_in_recipient", ns(ns("a@x") + ns("b\n@y")) + "x\n", 65, "line break"},
                      BadInput{"nul_in_sender", ns(ns(std::string("a\0@x", 4)) + ns("b@y")) + "x\n", 65, "NUL"},
                      BadInput{"huge_framing", "999999999:", 65, "exceeds limit"},
                      // DSN items (0x01 + parameters) are as strict as the queue file's E and N records.
                      BadInput{"dsn_before_any_address", ns(ns("\x01RET=FULL")) + "x\n", 65, "bad sender"},
                      BadInput{"dsn_twice", ns(ns("a@x") + ns("b@y") + ns("\x01NOTIFY=NEVER") + ns("\x01NOTIFY=NEVER")) + "x\n",
                               65, "DSN parameters not right after an address"},
                      BadInput{"dsn_rcpt_param_on_sender", ns(ns("a@x") + ns("\x01NOTIFY=NEVER") + ns("b@y")) + "x\n", 65,
                               "unknown MAIL DSN parameter NOTIFY"},
                      BadInput{"dsn_not_canonical", ns(ns("a@x") + ns("b@y") + ns("\x01NOTIFY=delay")) + "x\n", 65,
                               "not in canonical form"},
                      BadInput{"dsn_long_envid", ns(ns("a@x") + ns("\x01" "ENVID=" + std::string(101, 'e')) + ns("b@y")) + "x\n",
                               65, "ENVID longer than 100 characters"},
                      BadInput{"dsn_control_in_orcpt", ns(ns("a@x") + ns("b@y") + ns("\x01ORCPT=rfc822;a+1Bb")) + "x\n", 65,
                               "not printable US-ASCII"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(QueueProgram, OversizeMessageIsRefusedAndNothingIsLeft) {
  auto r = queue(drop("a@x", {"b@y"}, std::string(5000, 'x') + "\n"), {"-s", "1000"});
  EXPECT_EQ(r.code, 65);
  EXPECT_EQ(r.err, "nullq-queue: message exceeds maximum size of 1000 bytes\n");
  expect_nothing_queued();
}

TEST_F(QueueProgram, FullDiskIsTemporaryAndNothingIsLeft) {
  // RLIMIT_FSIZE stands in for a full disk: write() fails the same way, with nothing committed.
  RunOptions o;
  o.file_size_limit = 4096;
  auto r = queue(drop("a@x", {"b@y"}, std::string(100000, 'x') + "\n"), {}, o);
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(r.code == 65 || r.code == 75) << r.code << " " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  expect_nothing_queued();
}

TEST_F(QueueProgram, ClosedStdinIsRefused) {
  RunOptions o;
  o.close_stdin = true;
  auto r = run({program("nullq-queue"), "-d", spool()}, o);
  EXPECT_EQ(r.code, 66);
  EXPECT_NE(r.err.find("standard input is closed"), std::string::npos) << r.err;
}

TEST_F(QueueProgram, BadFlagsAreUsageErrors) {
  auto r = run({program("nullq-queue"), "-x"});
  EXPECT_EQ(r.code, 64);
  EXPECT_NE(r.err.find("unknown argument -x"), std::string::npos);
  r = run({program("nullq-queue"), "-s", "lots"});
  EXPECT_EQ(r.code, 64);
  r = run({program("nullq-queue"), "-d"});
  EXPECT_EQ(r.code, 64);
  r = run({program("nullq-queue"), "-d", "relative/spool"});
  EXPECT_EQ(r.code, 64);
}

TEST_F(QueueProgram, UnwritableSpoolIsAPermissionError) {
  // Root writes anywhere: as root, the spool becomes nobody's and nullq-queue runs as nobody.
  RunOptions o;
  std::optional<nullq::testing::ProgramCopies> copies;
  if (::geteuid() == 0) {
    NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
    copies.emplace(std::vector<std::string>{"nullq-queue"});
    ASSERT_TRUE(copies->ok());
    o.user = std::make_pair(uid_t{65534}, gid_t{65534});
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(spool().c_str(), 0755), 0);
    ASSERT_EQ(::chown(spool().c_str(), 65534, 65534), 0);
  }
  auto as_caller = [&](const std::string& input) {
    if (!copies) return queue(input);
    o.input = input;
    return run({(*copies)("nullq-queue"), "-d", spool()}, o);
  };
  ASSERT_EQ(as_caller(drop("a@x", {"b@y"}, "x\n")).code, 0);
  ::chmod((spool() + "/tmp").c_str(), 0500);
  auto r = as_caller(drop("a@x", {"b@y"}, "x\n"));
  EXPECT_EQ(r.code, 77) << r.err;
  EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
  EXPECT_EQ(list_dir(spool() + "/new").size(), 1u) << "only the first message";
  ::chmod((spool() + "/tmp").c_str(), 0700);
}

TEST(QueueBinary, LinksOnlyTheCoreLibrary) {
  // Neither as a shared library (dynamic section) nor linked in statically (symbol table).
  auto dyn = run({"/usr/bin/readelf", "-d", program("nullq-queue")});
  ASSERT_EQ(dyn.code, 0) << dyn.err;
  for (const char* lib : {"yaml-cpp", "libuv", "libcares", "libgtest"})
    EXPECT_EQ(dyn.out.find(lib), std::string::npos) << "nullq-queue must not link " << lib << ":\n" << dyn.out;
  auto syms = run({"/usr/bin/nm", "-C", program("nullq-queue")});
  ASSERT_EQ(syms.code, 0) << syms.err;
  ASSERT_NE(syms.out.find("nullq::submit::submit"), std::string::npos) << "no symbol table to check";
  for (const char* sym : {"YAML::", " uv_", " ares_", "testing::"})
    EXPECT_EQ(syms.out.find(sym), std::string::npos) << "nullq-queue must not contain " << sym;
}

TEST_F(QueueProgram, KilledAtRandomPointsLeavesOnlyCompleteMessages) {
  // A large message written slowly; SIGKILL lands anywhere in read, write, fsync, link.
  std::string message;
  for (int i = 0; i < 20000; ++i) message += "line " + std::to_string(i) + " of a long message\n";
  std::string input = drop("a@x", {"b@y"}, message);
  std::mt19937 rng(12345);
  for (int round = 0; round < 60; ++round) {
    int in[2];
    ASSERT_EQ(::pipe(in), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(in[0], 0);
      ::close(in[0]);
      ::close(in[1]);
      ::execl(program("nullq-queue").c_str(), "nullq-queue", "-d", spool().c_str(), nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    std::size_t cut = rng() % (input.size() + 1);
    std::size_t sent = 0;
    while (sent < cut) {
      ssize_t n = ::write(in[1], input.data() + sent, std::min<std::size_t>(cut - sent, 65536));
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    if (cut == input.size()) ::close(in[1]), in[1] = -1;
    ::usleep(rng() % 3000);
    ::kill(pid, SIGKILL);
    if (in[1] >= 0) ::close(in[1]);
    ::waitpid(pid, nullptr, 0);
  }
  std::size_t complete = 0;
  for (const auto& name : list_dir(spool() + "/new")) {
    std::string file = read_file(spool() + "/new/" + name);
    std::size_t body = 0;
    auto env = nullq::envelope::decode(file, &body);
    ASSERT_TRUE(env.ok()) << name << ": " << env.error().detail;
    std::string msg = file.substr(body);
    ASSERT_GE(msg.size(), message.size());
    EXPECT_EQ(msg.substr(msg.size() - message.size()), message) << name << " is incomplete";
    ++complete;
  }
  RecordProperty("complete", static_cast<int>(complete));
}

}  // namespace

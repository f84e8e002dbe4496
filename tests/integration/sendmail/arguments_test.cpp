// The command line a new admin types: a sender the relay would refuse is refused now (exit 65, one
// line), as a bad recipient is; --help and --version answer on every name of the program.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nullq/envelope.hpp"
#include "nullq_build_config.h"
#include "process.hpp"

using nullq::testing::list_dir;
using nullq::testing::program;
using nullq::testing::read_file;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

namespace {

const std::string plain = "Subject: test\n\nbody\n";

class Arguments : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.write("nullq.yaml", "hostname: box.example.org\ndomain: example.org\nsmarthosts: [qmtp://127.0.0.1:1]\n"
                             "queue:\n  dir: " + spool() + "\n");
  }
  std::string spool() const { return tmp_ / "spool"; }
  nullq::testing::Run sendmail(std::vector<std::string> args, const std::string& input,
                               const std::string& argv0 = "sendmail") {
    RunOptions o;
    o.input = input;
    o.argv0 = argv0;
    o.env.emplace("NULLQ_CONFIG", tmp_ / "nullq.yaml");
    args.insert(args.begin(), program("nullq-sendmail"));
    return run(args, o);
  }
  std::vector<nullq::envelope::Envelope> queued() {
    std::vector<nullq::envelope::Envelope> out;
    for (const auto& name : list_dir(spool() + "/new")) {
      std::size_t body = 0;
      auto env = nullq::envelope::decode(read_file(spool() + "/new/" + name), &body);
      EXPECT_TRUE(env.ok()) << name;
      if (env.ok()) out.push_back(*env);
    }
    return out;
  }
  TempDir tmp_;
};

struct BadSender {
  const char* name;
  std::vector<std::string> argv;
  const char* err;  // the whole of stderr
};

class BadSenders : public Arguments, public ::testing::WithParamInterface<BadSender> {};

TEST_P(BadSenders, Exit65InOneLineAndNothingQueued) {
  const BadSender& b = GetParam();
  auto r = sendmail(b.argv, plain);
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_EQ(r.err, b.err);
  EXPECT_TRUE(list_dir(spool() + "/new").empty());
  EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadSenders,
    ::testing::Values(
        BadSender{"space", {"-f", "bad sender", "ok@example.org"},
                  "sendmail: bad sender 'bad sender': spaces in address (use \"Name <user@example.org>\")\n"},
        BadSender{"dash_r", {"-r", "bad sender", "ok@example.org"},
                  "sendmail: bad sender 'bad sender': spaces in address (use \"Name <user@example.org>\")\n"},
        BadSender{"attached", {"-fa@b@c", "ok@example.org"}, "sendmail: bad sender 'a@b@c': more than one @\n"},
        BadSender{"two", {"-f", "a@x.org, b@x.org", "ok@example.org"},
                  "sendmail: bad sender 'a@x.org, b@x.org': one address expected\n"},
        BadSender{"no_domain", {"-f", "a@", "ok@example.org"}, "sendmail: bad sender 'a@': missing local part or domain\n"},
        BadSender{"half_bracket", {"-f", "<a@x.org", "ok@example.org"}, "sendmail: bad sender '<a@x.org': unbalanced <\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Arguments, NullSenderAndPlainSendersStayValid) {
  for (const char* f : {"", "<>"}) {
    auto r = sendmail({"-f", f, "-i", "ok@example.org"}, plain);
    EXPECT_EQ(r.code, 0) << f << ": " << r.err;
  }
  ASSERT_EQ(sendmail({"-f", "Backup Job <backup@x.org>", "ok@example.org"}, plain).code, 0);
  ASSERT_EQ(sendmail({"-r", "root", "ok@example.org"}, plain).code, 0);
  auto q = queued();
  std::vector<std::string> senders;
  for (const auto& e : q) senders.push_back(e.sender);
  std::sort(senders.begin(), senders.end());
  EXPECT_EQ(senders, (std::vector<std::string>{"", "", "backup@x.org", "root@example.org"}));
}

TEST_F(Arguments, SmtpMailFromWithABadSenderIs553AndTheSessionGoesOn) {
  auto r = sendmail({"-bs"}, "HELO x\r\nMAIL FROM:<bad sender>\r\nMAIL FROM:<a@b@c>\r\nMAIL FROM:<>\r\n"
                             "RCPT TO:<c@y.org>\r\nDATA\r\nSubject: ok\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\r\n553 5.1.7 bad sender 'bad sender': spaces in address"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\r\n553 5.1.7 bad sender 'a@b@c': more than one @\r\n250 2.1.0 ok\r\n"), std::string::npos)
      << r.out;
  auto q = queued();
  ASSERT_EQ(q.size(), 1u) << r.out;
  EXPECT_EQ(q[0].sender, "");
}

TEST_F(Arguments, HelpAndVersionUnderEveryNameWithoutAConfig) {
  tmp_.write("nullq.yaml", "queue: [broken\n");  // help must not need a usable configuration
  for (const char* name : {"sendmail", "mailq", "newaliases"}) {
    auto h = sendmail({"--help"}, "", name);
    EXPECT_EQ(h.code, 0) << name << ": " << h.err;
    EXPECT_EQ(h.out.rfind(std::string("usage: ") + name, 0), 0u) << name << ": " << h.out;
    EXPECT_EQ(h.err, "") << name;
    if (std::string(name) != "newaliases") {
      EXPECT_NE(h.out.find("(default: $NULLQ_CONFIG, else " NULLQ_CONFIG_PATH ")"), std::string::npos) << h.out;
    }
    auto v = sendmail({"--version"}, "", name);
    EXPECT_EQ(v.code, 0) << name << ": " << v.err;
    EXPECT_EQ(v.out, "nullq-sendmail " NULLQ_VERSION "\n") << name;
  }
  // Options first, as callers write them, and help still wins over the message.
  auto h = sendmail({"-i", "--help", "a@example.org"}, plain);
  EXPECT_EQ(h.code, 0) << h.err;
  EXPECT_TRUE(list_dir(spool() + "/new").empty());
}

TEST_F(Arguments, UnknownLongOptionIsNamedWhole) {
  for (const char* name : {"sendmail", "mailq", "newaliases"}) {
    auto r = sendmail({"--bogus", "a@example.org"}, plain, name);
    EXPECT_EQ(r.code, 64) << name;
    EXPECT_EQ(r.err, std::string(name) + ": unknown option '--bogus'\n");
  }
  // "--" alone still ends the options.
  EXPECT_EQ(sendmail({"-i", "--", "a@example.org"}, plain).code, 0);
}

TEST_F(Arguments, MissingSpoolIsAnErrorNotAnEmptyQueue) {
  for (const auto& [argv, name] : std::vector<std::pair<std::vector<std::string>, std::string>>{{{}, "mailq"}, {{"-bp"}, "sendmail"}}) {
    auto r = sendmail(argv, "", name);
    EXPECT_EQ(r.code, 69) << r.out;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "mailq: the queue directory " + spool() + " does not exist: is nullq installed? (queue.dir in " +
                         (tmp_ / "nullq.yaml") + ")\n");
  }
}

}  // namespace

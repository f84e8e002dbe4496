// DSN requests (RFC 3461) as callers make them: sendmail -N/-R/-V and -bs's MAIL/RCPT parameters
// reach the queue file (both ways in: the one-process commit and the nullq-queue pipe); bad values
// are refused with one line (exit 64, or 501/555 with the session going on) and nothing is queued.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nullq/envelope.hpp"
#include "process.hpp"

using nullq::testing::list_dir;
using nullq::testing::program;
using nullq::testing::read_file;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;
namespace dsn = nullq::dsn;

namespace {

const std::string plain = "Subject: test\n\nbody\n";

class Dsn : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.write("nullq.yaml", "hostname: box.example.org\ndomain: example.org\nsmarthosts: [qmtp://127.0.0.1:1]\n"
                             "queue:\n  dir: " + spool() + "\n");
  }
  std::string spool() const { return tmp_ / "spool"; }
  nullq::testing::Run sendmail(std::vector<std::string> args, const std::string& input, bool through_queue = false) {
    RunOptions o;
    o.input = input;
    o.env.emplace("NULLQ_CONFIG", tmp_ / "nullq.yaml");
    if (through_queue) o.env.emplace("NULLQ_QUEUE_PROGRAM", program("nullq-queue"));
    args.insert(args.begin(), program("nullq-sendmail"));
    return run(args, o);
  }
  // The queued files (removed), decoded.
  std::vector<std::pair<nullq::envelope::Envelope, std::string>> take_queued() {
    std::vector<std::pair<nullq::envelope::Envelope, std::string>> out;
    for (const auto& name : list_dir(spool() + "/new")) {
      std::string text = read_file(spool() + "/new/" + name);
      std::size_t body = 0;
      auto env = nullq::envelope::decode(text, &body);
      EXPECT_TRUE(env.ok()) << name << ": " << (env.ok() ? "" : env.error().detail);
      if (env.ok()) out.emplace_back(*env, text);
      ::unlink((spool() + "/new/" + name).c_str());
    }
    return out;
  }
  void expect_nothing_queued() {
    EXPECT_TRUE(list_dir(spool() + "/new").empty());
    EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
  }
  TempDir tmp_;
};

TEST_F(Dsn, FlagsReachTheQueueFileEitherWayIn) {
  for (bool through_queue : {false, true}) {
    SCOPED_TRACE(through_queue ? "through nullq-queue" : "committed by sendmail");
    auto r = sendmail({"-N", "failure,Delay", "-R", "hdrs", "-Vrun+42 x", "-f", "app@example.org", "a@example.net",
                       "b"},
                      plain, through_queue);
    ASSERT_EQ(r.code, 0) << r.err;
    auto q = take_queued();
    ASSERT_EQ(q.size(), 1u);
    const auto& [env, text] = q[0];
    EXPECT_EQ(env.mail_dsn.ret, dsn::Ret::hdrs);
    EXPECT_EQ(env.mail_dsn.envid, "run+42 x");
    ASSERT_EQ(env.recipients, (std::vector<std::string>{"a@example.net", "b@example.org"}));
    ASSERT_EQ(env.rcpt_dsn.size(), 2u);
    EXPECT_EQ(env.rcpt_dsn[0].notify, dsn::notify_failure | dsn::notify_delay);
    EXPECT_EQ(env.rcpt_dsn[1].notify, dsn::notify_failure | dsn::notify_delay);
    // Readable in `nullq show`: the parameters as they go on the wire.
    EXPECT_NE(text.find("\nE27:RET=HDRS ENVID=run+2B42+20x,\nT13:a@example.net,\nN20:NOTIFY=FAILURE,DELAY,\n"),
              std::string::npos)
        << text;
  }
}

TEST_F(Dsn, NoFlagsNoRecords) {
  auto r = sendmail({"a@example.net"}, plain);
  ASSERT_EQ(r.code, 0) << r.err;
  auto q = take_queued();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_TRUE(q[0].first.mail_dsn.empty());
  EXPECT_TRUE(q[0].first.rcpt_dsn.empty());
  EXPECT_EQ(q[0].second.find("\nE"), std::string::npos);
  EXPECT_EQ(q[0].second.find("\nN"), std::string::npos);
}

TEST_F(Dsn, NeverAloneAndTheGluedForms) {
  auto r = sendmail({"-NNEVER", "-Rfull", "-V", "x", "a@example.net"}, plain);
  ASSERT_EQ(r.code, 0) << r.err;
  auto q = take_queued();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].first.mail_dsn.ret, dsn::Ret::full);
  ASSERT_EQ(q[0].first.rcpt_dsn.size(), 1u);
  EXPECT_EQ(q[0].first.rcpt_dsn[0].notify, dsn::notify_never);
}

struct BadFlag {
  const char* name;
  std::vector<std::string> argv;
  const char* err;
};

class BadDsnFlags : public Dsn, public ::testing::WithParamInterface<BadFlag> {};

TEST_P(BadDsnFlags, Exit64InOneLineAndNothingQueued) {
  auto r = sendmail(GetParam().argv, plain);
  EXPECT_EQ(r.code, 64) << r.err;
  EXPECT_EQ(r.err, GetParam().err);
  expect_nothing_queued();
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadDsnFlags,
    ::testing::Values(
        BadFlag{"notify_bogus", {"-N", "bogus", "a@example.net"},
                "sendmail: -N: bad NOTIFY value bogus (NEVER, or a comma list of SUCCESS, FAILURE and DELAY)\n"},
        BadFlag{"never_and_more", {"-N", "never,success", "a@example.net"},
                "sendmail: -N: bad NOTIFY value never,success: NEVER stands alone\n"},
        BadFlag{"notify_empty_item", {"-N", "success,,delay", "a@example.net"},
                "sendmail: -N: bad NOTIFY value success,,delay (NEVER, or a comma list of SUCCESS, FAILURE and DELAY)\n"},
        BadFlag{"ret", {"-R", "x", "a@example.net"}, "sendmail: -R: bad RET value x (FULL or HDRS)\n"},
        BadFlag{"envid_control", {"-V", "a\tb", "a@example.net"},
                "sendmail: -V: bad envelope id: the envelope id contains a byte that is not printable US-ASCII "
                "(\\x09)\n"},
        BadFlag{"envid_long", {"-V", std::string(101, 'e'), "a@example.net"},
                "sendmail: -V: bad envelope id: envelope id longer than 100 characters (as xtext): "
                "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee...\n"},
        BadFlag{"envid_8bit", {"-V", "caf\xc3\xa9", "a@example.net"},
                "sendmail: -V: bad envelope id: the envelope id contains a byte that is not printable US-ASCII "
                "(\\xc3)\n"},
        BadFlag{"notify_missing", {"a@example.net", "-N"}, "sendmail: option -N needs a value\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Dsn, SmtpSessionTakesTheParametersAndRefusesBadOnes) {
  const std::string session =
      "EHLO client\r\n"
      "MAIL FROM:<app@x.org> RET=FULL ENVID=QQ+2B1 SIZE=100 BODY=8BITMIME\r\n"
      "RCPT TO:<a@y.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;A+40y.org\r\n"
      "RCPT TO:<b@y.org> NOTIFY=NEVER,DELAY\r\n"  // 501
      "RCPT TO:<b@y.org> ORCPT=rfc822\r\n"        // 501
      "RCPT TO:<b@y.org> XYZZY=1\r\n"             // 555
      "RCPT TO:<b@y.org> NOTIFY=never\r\n"
      "RCPT TO:<c@y.org>\r\n"
      "DATA\r\nSubject: one\r\n\r\nx\r\n.\r\n"
      "MAIL FROM:<app@x.org> RET=NONE\r\n"        // 501
      "MAIL FROM:<app@x.org> ENVID=a+2\r\n"       // 501
      "MAIL FROM:<app@x.org> ENVID=" + std::string(101, 'e') + "\r\n"  // 501
      "MAIL FROM:<app@x.org> RET=HDRS RET=FULL\r\n"  // 501
      "MAIL FROM:<app@x.org> SMTPUTF8\r\n"        // 555
      "QUIT\r\n";
  auto r = sendmail({"-bs"}, session);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("250-DSN\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("501 5.5.4 bad NOTIFY value NEVER,DELAY: NEVER stands alone\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("501 5.5.4 bad ORCPT rfc822 (addr-type;xtext)\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("555 5.5.4 unsupported parameter XYZZY\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("501 5.5.4 bad RET value NONE (FULL or HDRS)\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("501 5.5.4 bad ENVID: bad xtext: '+' must be followed by two upper-case hex digits\r\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("501 5.5.4 ENVID longer than 100 characters\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("501 5.5.4 RET given twice\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("555 5.5.4 unsupported parameter SMTPUTF8\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("221 2.0.0 bye"), std::string::npos) << "the session goes on: " << r.out;
  auto q = take_queued();
  ASSERT_EQ(q.size(), 1u) << r.out;
  const auto& env = q[0].first;
  EXPECT_EQ(env.mail_dsn.ret, dsn::Ret::full);
  EXPECT_EQ(env.mail_dsn.envid, "QQ+1");
  ASSERT_EQ(env.recipients, (std::vector<std::string>{"a@y.org", "b@y.org", "c@y.org"}));
  ASSERT_EQ(env.rcpt_dsn.size(), 3u);
  EXPECT_EQ(env.rcpt_dsn[0].notify, dsn::notify_success | dsn::notify_failure);
  EXPECT_EQ(env.rcpt_dsn[0].orcpt_type, "rfc822");
  EXPECT_EQ(env.rcpt_dsn[0].orcpt, "A@y.org");
  EXPECT_EQ(env.rcpt_dsn[1].notify, dsn::notify_never);
  EXPECT_TRUE(env.rcpt_dsn[2].empty());
}

TEST_F(Dsn, SmtpSessionTakesDashNAsTheDefault) {
  auto r = sendmail({"-bs", "-N", "delay", "-V", "cli"},
                    "HELO c\r\nMAIL FROM:<app@x.org>\r\nRCPT TO:<a@y.org>\r\nRCPT TO:<b@y.org> NOTIFY=NEVER\r\n"
                    "DATA\r\nSubject: x\r\n\r\nx\r\n.\r\nQUIT\r\n",
                    true);
  ASSERT_EQ(r.code, 0) << r.err;
  auto q = take_queued();
  ASSERT_EQ(q.size(), 1u) << r.out;
  EXPECT_EQ(q[0].first.mail_dsn.envid, "cli");
  ASSERT_EQ(q[0].first.rcpt_dsn.size(), 2u);
  EXPECT_EQ(q[0].first.rcpt_dsn[0].notify, dsn::notify_delay);
  EXPECT_EQ(q[0].first.rcpt_dsn[1].notify, dsn::notify_never);
}

}  // namespace

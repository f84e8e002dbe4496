// `nullq route ADDRESS [--from SENDER]`: the rule a recipient takes, why, and the hosts in order;
// exit codes for malformed command lines and configs; `nullq check` prints the route table.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "process.hpp"

using nullq::testing::program;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

namespace {

const char* kConfig =
    "hostname: host.example.org\n"
    "smarthosts:\n"
    "  - {url: smtp://smtp.office365.com:587, name: m365-billing}\n"
    "  - {url: qmtp://hub.corp.example.com, name: qmtp-hub}\n"
    "  - {url: smtps://smtp.gmail.com, name: gmail}\n"
    "  - smtp://backup.example.net\n"
    "routes:\n"
    "  - {sender: \"*@billing.example.com\", hosts: [m365-billing]}\n"
    "  - {recipient_domain: [corp.example.com, \"*.corp.example.com\"], hosts: [qmtp-hub]}\n"
    "  - {default: true, hosts: [gmail, \"smtp://backup.example.net\"]}\n";

class Route : public ::testing::Test {
 protected:
  TempDir dir;
  std::string config = dir.path() + "/nullq.yaml";
  void SetUp() override { dir.write("nullq.yaml", kConfig); }
  nullq::testing::Run nullq(std::vector<std::string> args) {
    args.insert(args.begin(), program("nullq"));
    RunOptions o;
    o.env = {{"NULLQ_CONFIG", config}};
    return run(args, o);
  }
};

TEST_F(Route, RecipientDomainRule) {
  auto r = nullq({"route", "Boss@EU.Corp.Example.com"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "recipient: Boss@EU.Corp.Example.com\n"
            "sender: <> (no --from given: sender rules do not match)\n"
            "route: 2 (line 9): recipient_domain corp.example.com, *.corp.example.com -> qmtp-hub\n"
            "why: recipient domain EU.Corp.Example.com matches \"*.corp.example.com\"\n"
            "hosts, tried in order:\n"
            "  1. qmtp-hub (qmtp://hub.corp.example.com)\n");
}

TEST_F(Route, SenderRuleComesFirst) {
  auto r = nullq({"route", "boss@corp.example.com", "--from", "invoices@billing.example.com"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("route: 1 (line 8): sender *@billing.example.com -> m365-billing\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("why: sender invoices@billing.example.com matches \"*@billing.example.com\"\n"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  1. m365-billing (smtp://smtp.office365.com:587)\n"), std::string::npos) << r.out;
}

TEST_F(Route, DefaultRuleWithFailoverHostsAndABareName) {
  auto r = nullq({"route", "root", "--from=cron@host.example.org"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "recipient: root@host.example.org\n"
            "sender: cron@host.example.org\n"
            "route: 3 (line 10): default -> gmail, smtp://backup.example.net\n"
            "why: the default rule (no rule before it matched)\n"
            "hosts, tried in order:\n"
            "  1. gmail (smtps://smtp.gmail.com)\n"
            "  2. smtp://backup.example.net\n");
}

TEST_F(Route, WithoutRoutesEverySmartHost) {
  dir.write("nullq.yaml", "smarthosts: [qmtp://a.example, {url: qmtp://b.example, name: b}]\n");
  auto r = nullq({"route", "x@y.example", "--from", "<>"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("route: none configured: every smart host in order\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  1. qmtp://a.example\n  2. b (qmtp://b.example)\n"), std::string::npos) << r.out;
}

TEST_F(Route, BadCommandLinesAre64) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  } cases[] = {
      {{"route"}, "nullq: route needs a recipient address\n"},
      {{"route", "a@b.example", "c@d.example"}, "nullq: route takes one address, not also 'c@d.example'\n"},
      {{"route", "a@b.example", "--from"}, "nullq: --from needs a sender address (\"\" for the null sender)\n"},
      {{"route", "a@b.example", "--sender", "x@y"}, "nullq: route takes only --from SENDER, not '--sender'\n"},
      {{"route", "<a@b.example>"}, "nullq: '<a@b.example>' is not a mail address like user@example.org\n"},
      {{"route", "a@b.example", "--from", "x y@z"}, "nullq: --from 'x y@z' is not a mail address like user@example.org\n"},
  };
  for (const auto& c : cases) {
    auto r = nullq(c.args);
    EXPECT_EQ(r.code, 64) << c.args.back();
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.substr(0, r.err.find('\n') + 1), c.want);
  }
}

TEST_F(Route, BadRouteConfigIs78WithFileAndLine) {
  dir.write("nullq.yaml", "smarthosts: [{url: qmtp://a.example, name: hub}]\n"
                                     "routes:\n  - {default: true, hosts: [hbu]}\n");
  auto r = nullq({"route", "a@b.example"});
  EXPECT_EQ(r.code, 78);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "nullq: " + config + ":3: no smart host is called 'hbu' \xe2\x80\x94 did you mean 'hub'?\n");
}

TEST_F(Route, CheckPrintsTheRouteTable) {
  // Addresses where nothing listens: check's connections fail at once, without DNS.
  dir.write("nullq.yaml", "smarthosts:\n  - {url: 'qmtp://127.0.0.1:1', name: hub}\n  - qmqp://127.0.0.1:1\n"
                          "routes:\n  - {sender: [\"*@billing.example.com\", a@b.example], hosts: [hub]}\n"
                          "  - {default: true, hosts: [\"qmqp://127.0.0.1:1\", hub]}\n"
                          "queue:\n  dir: " + (dir / "spool") + "\n");
  auto r = nullq({"check"});
  EXPECT_NE(r.out.find("route 1 (line 5): sender *@billing.example.com, a@b.example -> hub\n"
                       "route 2 (line 6): default -> qmqp://127.0.0.1:1, hub\n"),
            std::string::npos)
      << r.out << r.err;
  dir.write("nullq.yaml", "smarthosts: [qmtp://127.0.0.1:1]\nqueue:\n  dir: " + (dir / "spool") + "\n");
  r = nullq({"check"});
  EXPECT_NE(r.out.find("routes: none: every recipient takes every smart host in order\n"), std::string::npos) << r.out;
}

}  // namespace

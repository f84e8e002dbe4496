// The admin programs' command lines as a new admin types them: --help and --version on each program,
// errors that name the whole option, "did you mean" for a mistyped command, -c like nullq-send's.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "nullq/queue.hpp"
#include "nullq_build_config.h"
#include "process.hpp"

using nullq::testing::program;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

namespace {

nullq::testing::Run nullq_run(std::vector<std::string> args, const std::string& config = "/nonexistent/nullq.yaml") {
  args.insert(args.begin(), program("nullq"));
  RunOptions o;
  o.env = {{"NULLQ_CONFIG", config}};
  return run(args, o);
}

TEST(AdminCli, EveryProgramAnswersHelpAndVersionWithoutAConfig) {
  // The configuration does not exist: help must not need it.
  for (const char* name : {"nullq", "nullq-send", "nullq-testhost"}) {
    RunOptions o;
    o.env = {{"NULLQ_CONFIG", "/nonexistent/nullq.yaml"}};
    auto h = run({program(name), "--help"}, o);
    EXPECT_EQ(h.code, 0) << name << ": " << h.err;
    EXPECT_EQ(h.out.rfind(std::string("usage: ") + name + " ", 0), 0u) << name << ": " << h.out;
    EXPECT_EQ(h.err, "") << name;
    auto v = run({program(name), "--version"}, o);
    EXPECT_EQ(v.code, 0) << name << ": " << v.err;
    EXPECT_EQ(v.out, std::string(name) + " " NULLQ_VERSION "\n") << name;
  }
}

TEST(AdminCli, HelpNamesTheCompiledInConfigPath) {
  for (const char* name : {"nullq", "nullq-send"}) {
    auto h = run({program(name), "--help"});
    EXPECT_NE(h.out.find("(default: $NULLQ_CONFIG, else " NULLQ_CONFIG_PATH ")\n"), std::string::npos)
        << name << ": " << h.out;
    EXPECT_EQ(h.out.find("compiled-in"), std::string::npos) << name << ": " << h.out;
  }
}

TEST(AdminCli, HelpAfterTheCommand) {
  for (const char* cmd : {"status", "check", "import-nullmailer"}) {
    auto r = nullq_run({cmd, "--help"});
    EXPECT_EQ(r.code, 0) << cmd << ": " << r.err;
    EXPECT_EQ(r.out.rfind("usage: nullq ", 0), 0u) << cmd << ": " << r.out;
  }
}

struct Bad {
  std::vector<std::string> args;
  const char* first_line;  // the whole first line of stderr; the usage follows
};

TEST(AdminCli, ErrorsNameTheWholeWordAndSuggest) {
  for (const Bad& b : {Bad{{"lsit"}, "nullq: unknown command 'lsit' (did you mean 'list'?)"},
                       Bad{{"stauts", "--json"}, "nullq: unknown command 'stauts' (did you mean 'status'?)"},
                       Bad{{"chek"}, "nullq: unknown command 'chek' (did you mean 'check'?)"},
                       Bad{{"import-nullmailr"}, "nullq: unknown command 'import-nullmailr' (did you mean 'import-nullmailer'?)"},
                       Bad{{"frobnicate"}, "nullq: unknown command 'frobnicate'"},
                       Bad{{"--bogus"}, "nullq: unknown option '--bogus'"},
                       Bad{{"status", "--jsn"}, "nullq: status takes only --json, not '--jsn'"},
                       Bad{{"metrcs"}, "nullq: unknown command 'metrcs' (did you mean 'metrics'?)"},
                       Bad{{"metrics", "--json"}, "nullq: metrics takes no arguments"},
                       Bad{{"-c"}, "nullq: -c needs a file name"},
                       Bad{{"oauth"}, "nullq: oauth needs login HOST or status"},
                       Bad{{"oauth", "lgin", "h"}, "nullq: oauth takes login HOST or status, not 'lgin'"},
                       Bad{{"oauth", "login"}, "nullq: oauth login needs one smart host (its host name or URL)"},
                       Bad{{"oauth", "login", "a", "b"}, "nullq: oauth login needs one smart host (its host name or URL)"},
                       Bad{{"oauth", "status", "x"}, "nullq: oauth takes login HOST or status, not 'status'"}}) {
    auto r = nullq_run(b.args);
    EXPECT_EQ(r.code, 64) << b.first_line;
    EXPECT_EQ(r.err.substr(0, r.err.find('\n')), b.first_line);
    EXPECT_NE(r.err.find("\nusage: nullq "), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  RunOptions o;
  auto send = run({program("nullq-send"), "--bogus"}, o);
  EXPECT_EQ(send.code, 64);
  EXPECT_EQ(send.err.substr(0, send.err.find('\n')), "nullq-send: unknown argument '--bogus'");
  auto host = run({program("nullq-testhost"), "--bogus"}, o);
  EXPECT_EQ(host.code, 64);
  EXPECT_EQ(host.err.substr(0, host.err.find('\n')), "nullq-testhost: unknown option '--bogus'");
}

TEST(AdminCli, DashCNamesTheConfigLikeNullqSend) {
  TempDir tmp;
  tmp.write("nullq.yaml", "hostname: box.example.org\nsmarthosts: [qmtp://127.0.0.1:1]\nqueue:\n  dir: " + (tmp / "spool") + "\n");
  ASSERT_TRUE(nullq::queue::ensure_spool(nullq::queue::Spool{tmp / "spool"}).ok());
  for (const auto& args : std::vector<std::vector<std::string>>{{"-c", tmp / "nullq.yaml", "status"},
                                                               {"status", "-c", tmp / "nullq.yaml"}}) {
    auto r = nullq_run(args);  // NULLQ_CONFIG names a file that does not exist: -c wins
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("queued"), std::string::npos) << r.out;
  }
}

TEST(AdminCli, StatusShowsTheOldestAgeInDaysHoursMinutes) {
  TempDir tmp;
  tmp.write("nullq.yaml", "hostname: box.example.org\nsmarthosts: [qmtp://127.0.0.1:1]\nqueue:\n  dir: " + (tmp / "spool") + "\n");
  nullq::queue::Spool spool{tmp / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(spool).ok());
  struct Age {
    std::int64_t seconds;
    const char* shown;
  };
  for (Age a : {Age{604800, "7d"}, Age{3 * 3600 + 5 * 60, "3h 5m"}}) {
    // A drop in new/ whose name says when it was queued (unix seconds, then microseconds).
    std::string name = std::to_string(std::time(nullptr) - a.seconds) + "000000P1Rage";
    std::ofstream(spool.incoming() + "/" + name) << "x";
    auto r = nullq_run({"-c", tmp / "nullq.yaml", "status"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find(std::string("\noldest:   ") + a.shown + "\n"), std::string::npos) << r.out;
    ASSERT_EQ(std::remove((spool.incoming() + "/" + name).c_str()), 0);
  }
}

TEST(AdminCli, MissingSpoolIsAnErrorNotZeros) {
  TempDir tmp;
  tmp.write("nullq.yaml", "hostname: box.example.org\nsmarthosts: [qmtp://127.0.0.1:1]\nqueue:\n  dir: " + (tmp / "none") + "\n");
  for (const char* json : {"", "--json"}) {
    std::vector<std::string> args{"-c", tmp / "nullq.yaml", "status"};
    if (*json) args.push_back(json);
    auto r = nullq_run(args);
    EXPECT_EQ(r.code, 69) << r.out;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "nullq: the queue directory " + (tmp / "none") + " does not exist: is nullq installed?\n");
  }
}

TEST(AdminCli, CheckLooksAtTheSpoolAndItsTrigger) {
  TempDir tmp;
  tmp.write("nullq.yaml", "hostname: box.example.org\nsmarthosts: [qmtp://127.0.0.1:1]\nqueue:\n  dir: " + (tmp / "spool") + "\n");
  auto missing = nullq_run({"-c", tmp / "nullq.yaml", "check"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("spool: " + (tmp / "spool") + ": does not exist: is nullq installed? (queue.dir)\n"),
            std::string::npos) << missing.out;
  nullq::queue::Spool spool{tmp / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(spool).ok());
  auto ok = nullq_run({"-c", tmp / "nullq.yaml", "check"});
  EXPECT_NE(ok.out.find("spool: " + spool.dir + " ok (owner "), std::string::npos) << ok.out;
  ASSERT_EQ(std::remove(spool.trigger().c_str()), 0);
  auto no_fifo = nullq_run({"-c", tmp / "nullq.yaml", "check"});
  EXPECT_EQ(no_fifo.code, 1);
  EXPECT_NE(no_fifo.out.find("spool: " + spool.trigger() + ": the trigger FIFO is missing\n"), std::string::npos)
      << no_fifo.out;
}

}  // namespace

// The token manager on a real uv loop with real child programs: token_command scripts written
// here, and a fake nullq-oauth (a script that records what it got and prints the oauth.hpp answers).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nullq/event.hpp"
#include "nullq/send/tokens.hpp"

namespace nullq::send {
namespace {

using namespace std::chrono_literals;

struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/nullq-tokens-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& p, const std::string& text, mode_t mode = 0644) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  ::chmod(p.c_str(), mode);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const char kSecret[] = "s3cr3t-\"client\"-VALUE";

class Tokens : public ::testing::Test {
 protected:
  void SetUp() override {
    // The fake nullq-oauth: records its stdin, argv, environment and command line per run, then
    // prints `answer` (and `stderr` to stderr), or sleeps when told to.
    helper_ = dir_.path + "/nullq-oauth";
    write_file(helper_,
               "#!/bin/sh\n"
               "d=" + dir_.path + "\n"
               "n=$(cat $d/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > $d/count\n"
               "cat > $d/stdin.$n\n"
               "echo \"$*\" > $d/argv.$n\n"
               "env > $d/env.$n\n"
               "tr '\\0' ' ' < /proc/$$/cmdline > $d/cmdline.$n\n"
               "[ -f $d/stderr ] && cat $d/stderr >&2\n"
               "[ -f $d/hang ] && exec sleep 60\n"
               "cat $d/answer\n",
               0755);
    answer(R"({"ok": true, "access_token": "at-1", "expires_in": 3600, "rotated": false})");
  }
  void answer(const std::string& json) { write_file(dir_.path + "/answer", json + "\n"); }
  int helper_runs() { return std::atoi(read_file(dir_.path + "/count").c_str()); }

  TokenSettings helper_settings(config::OAuthFlow flow = config::OAuthFlow::refresh_token) {
    TokenSettings s;
    s.host = "smtp.example.net";
    s.oauth.flow = flow;
    s.oauth.provider = config::OAuthProvider::generic;
    s.oauth.client_id = "client-1";
    s.oauth.token_url = "https://idp.test/token";
    s.oauth.scope = "mail offline_access";
    s.oauth.timeout = 5s;
    s.store = dir_.path + "/store.json";
    s.helper = helper_;
    return s;
  }
  TokenSettings command_settings(const std::string& script_body, std::chrono::seconds timeout = 5s) {
    const std::string cmd = dir_.path + "/token-command";
    write_file(cmd, "#!/bin/sh\n" + script_body, 0755);
    TokenSettings s;
    s.host = "smtp.example.net";
    s.oauth.flow = config::OAuthFlow::command;
    s.oauth.token_command = {cmd, "access", "user@example.net"};
    s.oauth.timeout = timeout;
    return s;
  }
  std::shared_ptr<TokenManager> make(TokenSettings s) {
    return TokenManager::make(loop_.get(), std::move(s),
                              [this](Priority p, const std::string& line) { log_.emplace_back(p, line); });
  }
  // One get(), run until it is answered.
  Result<client::TokenSource::Token> get(TokenManager& m) {
    std::optional<Result<client::TokenSource::Token>> got;
    m.get([&](Result<client::TokenSource::Token> r) { got.emplace(std::move(r)); });
    EXPECT_FALSE(got) << "never answered from inside get()";
    EXPECT_TRUE(loop_.run_until([&] { return got.has_value(); }, 30s));
    if (!got) return Error::temporary(ErrorDomain::none, "no answer");
    return std::move(*got);
  }
  std::string all_log() const {
    std::string s;
    for (const auto& [p, l] : log_) s += l + "\n";
    return s;
  }

  TempDir dir_;
  std::string helper_;
  event::Loop loop_;
  std::vector<std::pair<Priority, std::string>> log_;
};

TEST_F(Tokens, TokenCommandFirstLineIsTheTokenAndItIsKept) {
  auto m = make(command_settings("echo \"$@\" > " + dir_.path + "/args\necho '  tok-123  '\necho second line\n"));
  auto t = get(*m);
  ASSERT_TRUE(t.ok()) << t.error().detail;
  EXPECT_EQ(**t, "tok-123");
  EXPECT_EQ(read_file(dir_.path + "/args"), "access user@example.net\n");
  auto again = get(*m);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), t->get()) << "the same token, not a second run";
  EXPECT_EQ(m->runs(), 1u);
  EXPECT_TRUE(log_.empty()) << all_log();
  m->close();
}

TEST_F(Tokens, TokenCommandRunsWithAMinimalEnvironmentAndNoStdin) {
  ::setenv("NULLQ_TEST_LEAK", "should-not-pass", 1);
  auto m = make(command_settings("env > " + dir_.path + "/env\nwc -c > " + dir_.path + "/stdin\necho tok\n"));
  auto t = get(*m);
  ::unsetenv("NULLQ_TEST_LEAK");
  ASSERT_TRUE(t.ok()) << t.error().detail;
  const std::string env = read_file(dir_.path + "/env");
  EXPECT_FALSE(contains(env, "NULLQ_TEST_LEAK")) << env;
  EXPECT_TRUE(contains(env, "PATH=")) << env;
  EXPECT_TRUE(contains(env, "HOME=")) << env;
  EXPECT_EQ(read_file(dir_.path + "/stdin"), "0\n") << "stdin is /dev/null";
  m->close();
}

TEST_F(Tokens, TokenCommandThatFailsSaysHowAndLogsItsStderr) {
  auto m = make(command_settings("echo 'no account user@example.net' >&2\nexit 3\n"));
  auto t = get(*m);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.error().is_temporary());
  EXPECT_EQ(t.error().detail, "token_command for smtp.example.net exited with status 3; mail stays queued");
  ASSERT_EQ(log_.size(), 2u) << all_log();
  EXPECT_EQ(log_[0].second, "smtp.example.net: token_command: no account user@example.net");
  EXPECT_EQ(log_[1].second, t.error().detail);
  m->close();
}

TEST_F(Tokens, TokenCommandThatHangsIsKilledAtTheTimeout) {
  auto m = make(command_settings("exec sleep 60\n", 1s));
  auto t = get(*m);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().detail, "token_command for smtp.example.net timed out after 1s; mail stays queued");
  m->close();
}

// A run abandoned by close() (a reload or shutdown while a token_command runs) is killed and
// reaped: no zombie is left for the daemon's life.
TEST_F(Tokens, ARunAbandonedByCloseLeavesNoZombie) {
  const std::string pidfile = dir_.path + "/pid";
  auto m = make(command_settings("echo $$ > " + pidfile + "\nexec sleep 60\n", 30s));
  bool answered = false;
  m->get([&](Result<client::TokenSource::Token>) { answered = true; });
  // (The loop has nothing to wake it while the command runs: look every 10 ms, for up to 10 s.)
  for (int i = 0; i < 1000 && read_file(pidfile).empty(); ++i) loop_.run_until([] { return false; }, 10ms);
  const int pid = std::atoi(read_file(pidfile).c_str());
  ASSERT_GT(pid, 0);
  m->close();
  EXPECT_FALSE(answered);
  // Gone entirely: a zombie would still have /proc/PID (state Z) until this process reaped it.
  struct stat st {};
  EXPECT_NE(::stat(("/proc/" + std::to_string(pid)).c_str(), &st), 0)
      << "the killed token_command is still in the process table (a zombie)";
}

TEST_F(Tokens, TokenCommandThatPrintsNothingOrTooMuch) {
  auto m = make(command_settings("exit 0\n"));
  auto t = get(*m);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().detail, "token_command for smtp.example.net printed no token; mail stays queued");
  m->close();
  auto huge = make(command_settings("head -c 200000 /dev/zero | tr '\\0' a\n"));
  t = get(*huge);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().detail, "token_command for smtp.example.net printed more than 64 KiB; mail stays queued");
  huge->close();
  auto missing = make(command_settings(""));
  TokenSettings s = command_settings("");
  s.oauth.token_command = {dir_.path + "/no-such-program"};
  auto none = make(s);
  t = get(*none);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.error().detail, "token_command for smtp.example.net cannot be started: ")) << t.error().detail;
  none->close();
  missing->close();
}

TEST_F(Tokens, ManyWaitersShareOneRun) {
  auto m = make(helper_settings());
  std::vector<Result<client::TokenSource::Token>> got;
  for (int i = 0; i < 20; ++i) m->get([&](Result<client::TokenSource::Token> r) { got.push_back(std::move(r)); });
  ASSERT_TRUE(loop_.run_until([&] { return got.size() == 20; }, 30s));
  for (const auto& r : got) {
    ASSERT_TRUE(r.ok()) << r.error().detail;
    EXPECT_EQ(r->get(), got[0]->get());
  }
  EXPECT_EQ(**got[0], "at-1");
  EXPECT_EQ(helper_runs(), 1);
  m->close();
}

TEST_F(Tokens, TheClientSecretGoesToTheHelpersStdinOnly) {
  TokenSettings s = helper_settings(config::OAuthFlow::client_credentials);
  s.store.clear();
  s.oauth.client_secret = std::make_shared<const std::string>(kSecret);
  auto m = make(s);
  auto t = get(*m);
  ASSERT_TRUE(t.ok()) << t.error().detail;
  const std::string in = read_file(dir_.path + "/stdin.1");
  EXPECT_TRUE(contains(in, R"("client_secret":"s3cr3t-\"client\"-VALUE")")) << in;
  EXPECT_TRUE(contains(in, R"("flow":"client_credentials")")) << in;
  EXPECT_TRUE(contains(in, R"("token_url":"https://idp.test/token")")) << in;
  EXPECT_TRUE(contains(in, R"("client_id":"client-1")")) << in;
  EXPECT_TRUE(contains(in, R"("scope":"mail offline_access")")) << in;
  EXPECT_TRUE(contains(in, R"("timeout":5)")) << in;
  EXPECT_FALSE(contains(in, "store")) << in;
  EXPECT_EQ(read_file(dir_.path + "/argv.1"), "token\n");
  for (const char* f : {"/argv.1", "/env.1", "/cmdline.1"})
    EXPECT_FALSE(contains(read_file(dir_.path + f), "s3cr3t")) << f;
  EXPECT_FALSE(contains(all_log(), "s3cr3t"));
  m->close();
}

TEST_F(Tokens, RefreshTokenRequestNamesTheStore) {
  auto m = make(helper_settings());
  ASSERT_TRUE(get(*m).ok());
  const std::string in = read_file(dir_.path + "/stdin.1");
  EXPECT_TRUE(contains(in, R"("flow":"refresh_token")")) << in;
  EXPECT_TRUE(contains(in, R"("store":")" + dir_.path + "/store.json\"")) << in;
  EXPECT_FALSE(contains(in, "client_secret")) << in;
  m->close();
}

TEST_F(Tokens, ATokenAboutToDieIsNotHandedOut) {
  // 60 s of life: less than max(60 s, 10%) is left at once, so every get() fetches anew.
  answer(R"({"ok": true, "access_token": "short", "expires_in": 60})");
  auto m = make(helper_settings());
  ASSERT_TRUE(get(*m).ok());
  ASSERT_TRUE(get(*m).ok());
  EXPECT_EQ(helper_runs(), 2);
  // An hour of life: kept.
  answer(R"({"ok": true, "access_token": "long", "expires_in": 3600})");
  auto t = get(*m);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(**t, "long");
  ASSERT_TRUE(get(*m).ok());
  EXPECT_EQ(helper_runs(), 3);
  m->close();
}

TEST_F(Tokens, RejectedFetchesAnewUnlessTheTokenIsBrandNew) {
  auto m = make(helper_settings());
  auto t = get(*m);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(m->rejected(*t)) << "just fetched: a new one will not help";
  EXPECT_EQ(get(*m)->get(), t->get());
  m->close();

  TokenSettings s = helper_settings();
  s.fresh = 0ms;
  auto old = make(s);
  auto first = get(*old);
  ASSERT_TRUE(first.ok());
  answer(R"({"ok": true, "access_token": "at-2", "expires_in": 3600})");
  EXPECT_TRUE(old->rejected(*first));
  auto second = get(*old);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(**second, "at-2");
  EXPECT_TRUE(old->rejected(*first)) << "an older token: the current one may help";
  EXPECT_EQ(helper_runs(), 3);
  old->close();
}

TEST_F(Tokens, FailuresPauseFurtherRunsAndSayTheFix) {
  answer(R"({"ok": false, "error": "invalid_grant", "description": "AADSTS70000: revoked", "temporary": false})");
  auto m = make(helper_settings());
  auto t = get(*m);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.error().is_permanent());
  // The fix is in the one log line; every mail's error says what is wrong without repeating it.
  EXPECT_EQ(t.error().detail, "invalid_grant: the refresh token for smtp.example.net was revoked or expired");
  // Within the pause (10 s at first) the error comes back without a run.
  answer(R"({"ok": true, "access_token": "at-1", "expires_in": 3600})");
  auto again = get(*m);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().detail, t.error().detail);
  EXPECT_EQ(helper_runs(), 1);
  EXPECT_TRUE(m->failing());
  ASSERT_EQ(log_.size(), 1u) << all_log();
  EXPECT_EQ(log_[0].first, Priority::err);
  EXPECT_EQ(log_[0].second,
            "invalid_grant: the refresh token for smtp.example.net was revoked or expired; run: nullq oauth login "
            "smtp.example.net");
  m->close();
}

TEST_F(Tokens, OneLogLinePerChangeOfState) {
  TokenSettings s = helper_settings();
  s.retry_min = 0ms;  // no pause, so that every get() runs the helper
  auto m = make(s);
  answer(R"({"ok": false, "error": "network", "description": "Could not resolve host", "temporary": true})");
  for (int i = 0; i < 3; ++i) {
    auto t = get(*m);
    ASSERT_FALSE(t.ok());
    EXPECT_TRUE(t.error().is_temporary());
  }
  EXPECT_EQ(helper_runs(), 3);
  ASSERT_EQ(log_.size(), 1u) << all_log();
  EXPECT_EQ(log_[0].second,
            "network: the identity provider for smtp.example.net failed or cannot be reached (Could not resolve "
            "host); mail stays queued and nullq tries again");
  answer(R"({"ok": false, "error": "http_503", "description": "Service Unavailable", "temporary": true})");
  ASSERT_FALSE(get(*m).ok());
  ASSERT_FALSE(get(*m).ok());
  ASSERT_EQ(log_.size(), 2u) << all_log();
  answer("not json at all");
  ASSERT_FALSE(get(*m).ok());
  ASSERT_EQ(log_.size(), 3u) << all_log();
  EXPECT_EQ(log_[2].second, "nullq-oauth (" + helper_ + ") for smtp.example.net gave no JSON answer; mail stays queued");
  answer(R"({"ok": true, "access_token": "at-9", "expires_in": 60})");
  ASSERT_TRUE(get(*m).ok());
  ASSERT_TRUE(get(*m).ok());
  ASSERT_EQ(log_.size(), 4u) << all_log();
  EXPECT_EQ(log_[3].second, "smtp.example.net: an OAuth access token was fetched again; AUTH goes on");
  EXPECT_FALSE(contains(all_log(), "at-9"));
  m->close();
}

TEST_F(Tokens, HelperStderrIsOnePrintableCappedLine) {
  write_file(dir_.path + "/stderr", "first\nsecond \x1b[31mred\n" + std::string(5000, 'x'));
  auto m = make(helper_settings());
  ASSERT_TRUE(get(*m).ok());
  ASSERT_EQ(log_.size(), 1u) << all_log();
  const std::string& line = log_[0].second;
  EXPECT_EQ(line.rfind("smtp.example.net: nullq-oauth: first second \\x1b[31mred", 0), 0u) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_LT(line.size(), 400u);
  m->close();
}

TEST_F(Tokens, HelperThatHangsOrAnswersBadly) {
  write_file(dir_.path + "/hang", "");
  TokenSettings s = helper_settings();
  s.oauth.timeout = 1s;  // the helper gets 5 s of grace on top
  s.retry_min = 0ms;
  auto m = make(s);
  auto t = get(*m);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().detail, "nullq-oauth (" + helper_ + ") for smtp.example.net timed out after 6s; mail stays queued");
  ::unlink((dir_.path + "/hang").c_str());
  answer(R"({"ok": true, "access_token": "bad token with spaces"})");
  t = get(*m);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.error().detail, "gave no usable access_token")) << t.error().detail;
  EXPECT_FALSE(contains(all_log(), "bad token")) << all_log();
  answer(R"({"ok": true, "access_token": "ok", "expires_in": "soon"})");
  t = get(*m);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.error().detail, "gave a bad expires_in")) << t.error().detail;
  m->close();
}

TEST_F(Tokens, SettingsFromTheConfigUseTheHelperProgramAndStore) {
  ::setenv("NULLQ_OAUTH_PROGRAM", helper_.c_str(), 1);
  config::Config c;
  c.state_dir = dir_.path + "/state";
  config::SmartHost h;
  h.protocol = config::Protocol::smtp;
  h.host = "smtp.office365.com";
  h.port = 587;
  h.auth_user = "alerts@example.com";
  h.oauth.flow = config::OAuthFlow::refresh_token;
  h.oauth.token_url = "https://login.microsoftonline.com/organizations/oauth2/v2.0/token";
  TokenSettings s = token_settings(c, h);
  ::unsetenv("NULLQ_OAUTH_PROGRAM");
  EXPECT_EQ(s.helper, helper_);
  EXPECT_EQ(s.store, dir_.path + "/state/oauth/smtp.office365.com_587_alerts@example.com.json");
  EXPECT_EQ(s.host, "smtp.office365.com");
  auto m = make(s);
  ASSERT_TRUE(get(*m).ok());
  EXPECT_EQ(helper_runs(), 1);
  m->close();
}

}  // namespace
}  // namespace nullq::send

// `nullq-oauth token`, the real program, against the test identity provider: each grant, rotation
// and its durability order, the error classification, https only, and no secret where it must not be.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "child.hpp"
#include "fixture.hpp"

namespace nullq::testing {

namespace {

RunOptions with_input(std::string input) {
  RunOptions o;
  o.input = std::move(input);
  return o;
}

struct TokenRun {
  Run run;
  nlohmann::json answer;
};

TokenRun run_token(const nlohmann::json& request) {
  TokenRun t;
  t.run = run({program("nullq-oauth"), "token"}, with_input(request.dump()));
  auto j = nlohmann::json::parse(t.run.out, nullptr, false);
  t.answer = j.is_discarded() ? nlohmann::json::object() : j;
  return t;
}

// A port on 127.0.0.1 where nothing listens.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

void expect_failure(const TokenRun& t, const std::string& error, bool temporary) {
  EXPECT_EQ(t.run.code, 0) << t.run.err;
  EXPECT_EQ(t.answer.value("ok", true), false) << t.run.out;
  EXPECT_EQ(t.answer.value("error", ""), error) << t.run.out;
  EXPECT_EQ(t.answer.value("temporary", !temporary), temporary) << t.run.out;
  EXPECT_TRUE(t.answer.contains("description") && t.answer["description"].is_string()) << t.run.out;
  EXPECT_FALSE(t.answer.contains("access_token"));
  EXPECT_EQ(t.run.out.find(client_secret), std::string::npos);
  EXPECT_EQ(t.run.err.find(client_secret), std::string::npos);
}

using TokenTest = OAuthTest;

TEST_F(TokenTest, ClientCredentialsAnswerALiveAccessToken) {
  TokenRun t = run_token(token_request("client_credentials"));
  ASSERT_EQ(t.run.code, 0) << t.run.err;
  ASSERT_EQ(t.answer.value("ok", false), true) << t.run.out;
  std::string at = t.answer.value("access_token", "");
  EXPECT_EQ(idp_->check_token("me@example.com", at), "");
  EXPECT_EQ(t.answer.value("expires_in", 0), 300);
  EXPECT_EQ(t.answer.value("rotated", true), false);
  EXPECT_EQ(t.run.err, "");
  EXPECT_EQ(t.run.out.find(client_secret), std::string::npos);
  EXPECT_EQ(idp_->count("client_credentials"), 1u);
  EXPECT_EQ(mode_of(dir_ / "state/oauth"), 0u) << "client_credentials needs no store";
}

TEST_F(TokenTest, RefreshRotatesTheStoredTokenAndTheOldOneIsDead) {
  std::string old = idp_->issue_refresh_token("app");
  seed_store(old);
  TokenRun t = run_token(token_request("refresh_token"));
  ASSERT_EQ(t.answer.value("ok", false), true) << t.run.out << t.run.err;
  EXPECT_EQ(t.answer.value("rotated", false), true);
  EXPECT_EQ(idp_->check_token("me@example.com", t.answer.value("access_token", "")), "");
  nlohmann::json s = read_store();
  std::string now = s.value("refresh_token", "");
  EXPECT_NE(now, old);
  EXPECT_TRUE(idp_->refresh_token_live(now));
  EXPECT_FALSE(idp_->refresh_token_live(old));
  EXPECT_EQ(s.value("last_result", ""), "ok");
  EXPECT_GT(s.value("last_refresh", 0LL), 1LL);
  EXPECT_EQ(s.value("expires", 0LL), s.value("last_refresh", 0LL) + 300);
  EXPECT_EQ(mode_of(store_), 0600u);
  // Neither refresh token nor the secret was printed anywhere.
  for (const std::string& secret : {old, now, client_secret}) {
    EXPECT_EQ(t.run.out.find(secret), std::string::npos);
    EXPECT_EQ(t.run.err.find(secret), std::string::npos);
  }
  // The second refresh uses the rotated token: the program read what it wrote.
  TokenRun again = run_token(token_request("refresh_token"));
  EXPECT_EQ(again.answer.value("ok", false), true) << again.run.out;
  EXPECT_FALSE(idp_->refresh_token_live(now));
  EXPECT_EQ(idp_->count("refresh_token"), 2u);
}

TEST_F(TokenTest, TheStoreIsCreatedWith0700And0600WhenMissing) {
  // A store written by a login into a state directory without oauth/: see login_test.cpp; here the
  // lock file alone creates the directory on a refresh with no token yet.
  TokenRun t = run_token(token_request("refresh_token"));
  expect_failure(t, "no_refresh_token", false);
  EXPECT_EQ(mode_of(dir_ / "state/oauth"), 0700u);
  EXPECT_EQ(mode_of(store_ + ".lock"), 0600u);
  EXPECT_EQ(idp_->count("refresh_token"), 0u);
}

TEST_F(TokenTest, TheRotatedTokenIsStoredBeforeTheAnswerIsPrinted) {
  std::string old = idp_->issue_refresh_token("app");
  seed_store(old);
  // stdout starts full: a program that printed before storing would block with the old store.
  ChildOptions opt;
  opt.stdin_text = token_request("refresh_token").dump();
  opt.stdout_full = true;
  Child c({program("nullq-oauth"), "token"}, opt);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (read_store().value("refresh_token", old) == old && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::string stored = read_store().value("refresh_token", old);
  EXPECT_NE(stored, old) << "the store still holds the old token while the answer waits to be printed";
  // While it waits: nothing secret in its command line or environment.
  for (const char* what : {"cmdline", "environ"}) {
    std::string text = read_file("/proc/" + std::to_string(c.pid()) + "/" + what);
    EXPECT_EQ(text.find(client_secret), std::string::npos) << what;
    EXPECT_EQ(text.find(old), std::string::npos) << what;
  }
  c.drain_filler();
  EXPECT_EQ(c.wait(), 0) << c.err;
  auto answer = nlohmann::json::parse(c.out, nullptr, false);
  ASSERT_FALSE(answer.is_discarded()) << c.out;
  EXPECT_EQ(answer.value("ok", false), true);
  EXPECT_TRUE(idp_->refresh_token_live(stored));
}

TEST_F(TokenTest, ARefreshWaitsForTheStoreLockBeforeAsking) {
  std::string old = idp_->issue_refresh_token("app");
  seed_store(old);
  int lock = ::open((store_ + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX), 0);
  ChildOptions opt;
  opt.stdin_text = token_request("refresh_token").dump();
  Child c({program("nullq-oauth"), "token"}, opt);
  // /proc/locks lists a process blocked on a lock as "N: -> FLOCK ... <pid> ...".
  std::string waiter = " " + std::to_string(c.pid()) + " ";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool blocked = false;
  while (!blocked && std::chrono::steady_clock::now() < deadline) {
    std::string locks = read_file("/proc/locks");
    for (std::size_t at = locks.find("-> FLOCK"); at != std::string::npos && !blocked; at = locks.find("-> FLOCK", at + 1))
      blocked = locks.substr(at, locks.find('\n', at) - at).find(waiter) != std::string::npos;
    if (!blocked) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(blocked) << "nullq-oauth never waited for the store lock";
  EXPECT_EQ(idp_->count("refresh_token"), 0u) << "it asked the provider without holding the lock";
  ::close(lock);
  EXPECT_EQ(c.wait(), 0) << c.err;
  EXPECT_NE(c.out.find("\"ok\":true"), std::string::npos) << c.out;
  EXPECT_EQ(idp_->count("refresh_token"), 1u);
}

TEST_F(TokenTest, InvalidGrantNeedsTheAdminAndKeepsTheStoredToken) {
  std::string old = idp_->issue_refresh_token("app");
  seed_store(old);
  idp_->revoke_refresh_token(old);
  TokenRun t = run_token(token_request("refresh_token"));
  expect_failure(t, "invalid_grant", false);
  nlohmann::json s = read_store();
  EXPECT_EQ(s.value("refresh_token", ""), old);
  EXPECT_EQ(s.value("last_result", "").rfind("invalid_grant: ", 0), 0u) << s.dump();
  EXPECT_EQ(t.run.out.find(old), std::string::npos);
}

TEST_F(TokenTest, InvalidClientNeedsTheAdmin) {
  nlohmann::json r = token_request("client_credentials");
  r["client_secret"] = "wrong";
  expect_failure(run_token(r), "invalid_client", false);
  r["client_id"] = "nobody";
  expect_failure(run_token(r), "invalid_client", false);
}

TEST_F(TokenTest, ServiceUnavailableIsTemporary) {
  idp_->set_unavailable(true);
  expect_failure(run_token(token_request("client_credentials")), "http_503", true);
  std::string old = idp_->issue_refresh_token("app");
  seed_store(old);
  expect_failure(run_token(token_request("refresh_token")), "http_503", true);
  EXPECT_EQ(read_store().value("refresh_token", ""), old);
}

TEST_F(TokenTest, ConnectionRefusedIsTemporary) {
  nlohmann::json r = token_request("client_credentials");
  r["token_url"] = "https://127.0.0.1:" + std::to_string(closed_port()) + "/token";
  expect_failure(run_token(r), "network", true);
}

TEST_F(TokenTest, ACertificateFromAnotherCaIsRefused) {
  nlohmann::json r = token_request("client_credentials");
  r["ca_file"] = certs_.other_ca_cert;
  TokenRun t = run_token(r);
  expect_failure(t, "network", true);
  EXPECT_EQ(idp_->count("client_credentials"), 0u) << "the form went to an unverified server";
}

TEST_F(TokenTest, AnHttpUrlIsRefusedBeforeAnythingIsSent) {
  for (const char* url : {"http://127.0.0.1:1/token", "HTTP://x/token", "ftp://x/token", "https:///token", "/token"}) {
    nlohmann::json r = token_request("client_credentials");
    r["token_url"] = url;
    TokenRun t = run_token(r);
    expect_failure(t, "bad_request", false);
    EXPECT_EQ(t.answer.value("description", ""), "token_url must be an https:// URL") << url;
  }
}

TEST_F(TokenTest, WrongFieldsAreAnsweredAsBadRequestsAndNotJsonExits64) {
  struct Case {
    std::string input, says;
  } cases[] = {
      {R"({"flow":"password","token_url":"https://x/","client_id":"a"})", "\"flow\" must be"},
      {R"({"flow":"client_credentials","client_id":"a"})", "lacks \"token_url\""},
      {R"({"flow":"client_credentials","token_url":"https://x/","client_id":7})", "\"client_id\" in the request"},
      {R"({"flow":"refresh_token","token_url":"https://x/","client_id":"a"})", "needs \"store\""},
      {R"({"flow":"client_credentials","token_url":"https://x/","client_id":"a","timeout":0})", "\"timeout\""},
      {R"({"flow":"refresh_token","token_url":"https://x/","client_id":"a","store":"relative.json"})", "absolute"},
  };
  for (const auto& c : cases) {
    TokenRun t = run_token(nlohmann::json::parse(c.input));
    expect_failure(t, "bad_request", false);
    EXPECT_NE(t.answer.value("description", "").find(c.says), std::string::npos) << c.input << ": " << t.run.out;
  }
  for (std::string bad : {"not json", "[1]", "{\"a\":"}) {
    auto r = run({program("nullq-oauth"), "token"}, with_input(bad));
    EXPECT_EQ(r.code, 64) << bad;
    EXPECT_NE(r.err.find("the request is not a JSON object"), std::string::npos) << bad << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "");
  }
  auto big = run({program("nullq-oauth"), "token"}, with_input(std::string(70000, ' ')));
  EXPECT_EQ(big.code, 64);
  auto none = run({program("nullq-oauth")});
  EXPECT_EQ(none.code, 64);
  auto unknown = run({program("nullq-oauth"), "refresh"});
  EXPECT_EQ(unknown.code, 64);
  auto help = run({program("nullq-oauth"), "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage: nullq-oauth token"), std::string::npos);
  auto version = run({program("nullq-oauth"), "--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out.rfind("nullq-oauth ", 0), 0u);
}

}  // namespace

}  // namespace nullq::testing

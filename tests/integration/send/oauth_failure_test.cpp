// nullq-send with OAuth end to end, the failing paths: a revoked refresh token (the mail waits, one
// line names `nullq oauth login HOST`, `nullq check` says so too), an identity provider that
// answers 503, token_commands that fail, hang or print nothing; and no secret (client secret,
// refresh token, access token) in the log, the queue or a child's argv or environment.
// Set-up in oauth_fixture.hpp.
#include <dirent.h>
#include <signal.h>

#include <chrono>
#include <set>

#include "oauth_fixture.hpp"
#include "process.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

const std::string kBody = "From: alice@example.org\nSubject: oauth\n\nHello.\n";

// Pids of every process below `root` (children, their children...).
std::vector<pid_t> descendants(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> all;  // pid, ppid
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      const std::string stat = read_file("/proc/" + name + "/stat");
      const auto paren = stat.rfind(')');
      if (paren == std::string::npos || paren + 4 >= stat.size()) continue;
      // ") S PPID ..."
      all.emplace_back(std::stoi(name), std::atoi(stat.c_str() + stat.find(' ', paren + 2) + 1));
    }
    ::closedir(d);
  }
  std::vector<pid_t> out;
  std::set<pid_t> seen{root};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, ppid] : all)
      if (seen.count(ppid) && !seen.count(pid)) {
        seen.insert(pid);
        out.push_back(pid);
        grew = true;
      }
  }
  return out;
}

// NUL-separated /proc fields as a list.
std::vector<std::string> split0(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end = s.find('\0', pos);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

// Whether a process with exactly this argv exists.
bool process_running(const std::vector<std::string>& argv) {
  bool found = false;
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      if (split0(read_file("/proc/" + name + "/cmdline")) == argv) found = true;
    }
    ::closedir(d);
  }
  return found;
}

// 4. A revoked refresh token needs the admin: the mail stays queued uncharged, one line says the
// fix, and `nullq check` exits 1 with it.
TEST_F(SendOAuth, ARevokedRefreshTokenKeepsTheMailAndNamesTheFix) {
  const std::string rt = idp->issue_refresh_token("app");
  seed_store(rt);
  idp->revoke_refresh_token(rt);
  configure(host_line(refresh_token()), "  retry_min: 5m\n");
  s.inject("alice@example.org", {"a@example.org"}, kBody);
  s.inject("alice@example.org", {"b@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 2u) << r.err;
  for (const auto& name : q) EXPECT_EQ(attempts(name), 0u) << name << "\n" << r.err;
  EXPECT_TRUE(s.failed().empty());
  EXPECT_TRUE(host->received().empty()) << "no bounce either";
  EXPECT_EQ(count_of(r.err, "nullq oauth login 127.0.0.1"), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "invalid_grant: the refresh token for 127.0.0.1 was revoked or expired")) << r.err;
  EXPECT_EQ(idp->count("refresh_token"), 1u) << "not asked again for the second message";

  auto c = nullq::testing::run({bin_dir() + "/nullq", "check", "--config", s.config});
  EXPECT_EQ(c.code, 1) << c.out << c.err;
  EXPECT_TRUE(contains(c.out + c.err, "run: nullq oauth login 127.0.0.1")) << c.out << c.err;
  EXPECT_FALSE(contains(c.out + c.err, rt)) << "the refresh token is never shown";
  EXPECT_FALSE(contains(r.err, rt));
  EXPECT_FALSE(contains(queue_text(), rt));
  EXPECT_FALSE(contains(queue_text(), kClientSecret));
}

// 5. The identity provider answers 503: the mail waits, the token is asked for again (not
// hammered), and goes out once the provider is back. One line for the outage, one for the end.
TEST_F(SendOAuth, AnIdentityProviderAnswering503DelaysTheMailUntilItIsBack) {
  idp->set_unavailable(true);
  configure(host_line(client_credentials()), "  retry_min: 1s\n  retry_max: 2s\n");
  const std::string log = s.dir.path() + "/daemon.log";
  auto d = daemon(log);
  s.inject("alice@example.org", {"a@example.org"}, kBody);
  ASSERT_TRUE(eventually([&] { return contains(read_file(log), "http_503"); }, 30s)) << read_file(log);
  // Asked again while it is down (the token manager pauses 10 s after the first failure; a 503 is
  // answered before the IdP counts the grant, so count its connections).
  ASSERT_TRUE(eventually([&] { return idp->connections() >= 2; }, 40s)) << read_file(log);
  EXPECT_TRUE(host->received().empty());
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << read_file(log);
  EXPECT_EQ(attempts(q[0]), 0u) << q[0];
  idp->set_unavailable(false);
  EXPECT_TRUE(eventually([&] { return delivered("a@example.org"); }, 60s)) << read_file(log);
  EXPECT_TRUE(eventually([&] { return s.queued().empty(); }, 10s)) << read_file(log);
  EXPECT_EQ(stop(*d), 0) << read_file(log);
  const std::string text = read_file(log);
  // One line for the outage (each message's deferral names it too), one for its end.
  EXPECT_EQ(count_of(text, "nullq-send: http_503: the identity provider for 127.0.0.1 failed or cannot be reached"),
            1u)
      << text;
  EXPECT_EQ(count_of(text, "nullq-send: 127.0.0.1: an OAuth access token was fetched again"), 1u) << text;
  EXPECT_EQ(host->received().size(), 1u) << "no bounce";
  EXPECT_TRUE(s.failed().empty());
}

// 6. token_command: failing, hanging or silent commands keep the mail with one line each; a working
// one delivers.
TEST_F(SendOAuth, TokenCommandFailuresKeepTheMailWithOneLineEach) {
  struct Case {
    std::string name, body, timeout, says;
  };
  const std::vector<Case> cases = {
      {"fails", "echo 'no such account' >&2\nexit 1\n", "5s", "exited with status 1"},
      // The shell waits for its own child: the whole process group goes at the timeout.
      {"hangs", "sleep 59.25\necho late\n", "1s", "timed out after 1s"},
      {"silent", "exit 0\n", "5s", "printed no token"},
  };
  s.inject("alice@example.org", {"a@example.org"}, kBody);
  s.inject("alice@example.org", {"b@example.org"}, kBody);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string cmd = script("token-" + c.name, c.body);
    configure(host_line(token_command(cmd, c.timeout)), "  retry_min: 5m\n");
    RunResult r = s.once();
    EXPECT_EQ(r.status, 75) << r.err;
    auto q = s.queued();
    ASSERT_EQ(q.size(), 2u) << r.err;
    for (const auto& name : q) EXPECT_EQ(attempts(name), 0u) << name << "\n" << r.err;
    // The token source's one line (each message's deferral and the host's hold name it too).
    EXPECT_EQ(count_of(r.err, "nullq-send: token_command for 127.0.0.1 " + c.says + "; mail stays queued\n"), 1u)
        << r.err;
    EXPECT_TRUE(host->received().empty()) << r.err;
    EXPECT_TRUE(eventually([] { return !process_running({"sleep", "59.25"}); }, 10s)) << "nothing left running";
    // A new --once run starts without the holds of the last one.
    for (const auto& name : q) {
      const std::string fresh = name.substr(0, name.find(',')) + ",0,0";
      ASSERT_EQ(std::rename((s.spool + "/queue/" + name).c_str(), (s.spool + "/queue/" + fresh).c_str()), 0);
    }
  }
  const std::string cmd = script("token-works", "echo " + kCommandToken + "\n");
  configure(host_line(token_command(cmd)));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty()) << r.err;
  EXPECT_TRUE(delivered("a@example.org") && delivered("b@example.org")) << r.err;
  std::size_t authenticated = 0;
  for (const auto& c : host->smtp_connections()) {
    if (c.auth_user.empty()) continue;  // the failed runs' connections, which had no token to offer
    EXPECT_EQ(c.auth_mechanism, "XOAUTH2");
    ++authenticated;
  }
  EXPECT_GE(authenticated, 1u);
  EXPECT_FALSE(contains(r.err, kCommandToken)) << r.err;
}

// 7. No secret anywhere: the nullq-oauth helper (caught alive through a wrapper that waits a moment
// before it becomes the real helper) has argv "token" and the minimal environment; the log and the
// queue files hold no client secret, refresh token or access token the IdP issued.
TEST_F(SendOAuth, NoSecretInTheLogTheQueueOrAChildsArgvOrEnvironment) {
  const std::string rt = idp->issue_refresh_token("app");
  seed_store(rt);
  configure(host_line(refresh_token()), "  retry_min: 1s\n  retry_max: 2s\n", "log:\n  level: debug\n");
  const std::string wrapper = script("helper-wrapper", "sleep 2\nexec " + bin_dir() + "/nullq-oauth \"$@\"\n");
  const std::string log = s.dir.path() + "/daemon.log";
  auto d = daemon(log, {"NULLQ_OAUTH_PROGRAM=" + wrapper, "NULLQ_TEST_CANARY=canary-" + kClientSecret});
  s.inject("alice@example.org", {"a@example.org"}, kBody);
  std::string cmdline, environ_text, queue;
  ASSERT_TRUE(eventually([&] {
    for (pid_t p : descendants(d->pid())) {
      const std::string c = read_file("/proc/" + std::to_string(p) + "/cmdline");
      if (!contains(c, wrapper)) continue;
      cmdline = c;
      environ_text = read_file("/proc/" + std::to_string(p) + "/environ");
      return !environ_text.empty();
    }
    return false;
  }, 30s)) << read_file(log);
  queue += queue_text();  // the message waits for the token
  EXPECT_EQ(split0(cmdline), (std::vector<std::string>{"/bin/sh", wrapper, "token"}));
  for (const auto& e : split0(environ_text)) {
    EXPECT_FALSE(contains(e, kClientSecret)) << e;
    EXPECT_FALSE(contains(e, rt)) << e;
    EXPECT_FALSE(contains(e, "NULLQ_")) << "the minimal environment: " << e;
  }
  ASSERT_TRUE(eventually([&] { return delivered("a@example.org"); }, 30s)) << read_file(log);
  EXPECT_EQ(stop(*d), 0) << read_file(log);

  // A slow token_command, caught alive: argv as configured, the minimal environment.
  const std::string cmd = script("token-slow", "sleep 2\necho " + kCommandToken + "\n");
  configure(host_line(token_command(cmd)), "  retry_min: 1s\n  retry_max: 2s\n", "log:\n  level: debug\n");
  const std::string log2 = s.dir.path() + "/daemon2.log";
  auto d2 = daemon(log2, {"NULLQ_TEST_CANARY=canary-" + kClientSecret});
  s.inject("alice@example.org", {"b@example.org"}, kBody);
  ASSERT_TRUE(eventually([&] {
    for (pid_t p : descendants(d2->pid())) {
      const std::string c = read_file("/proc/" + std::to_string(p) + "/cmdline");
      if (!contains(c, cmd)) continue;
      cmdline = c;
      environ_text = read_file("/proc/" + std::to_string(p) + "/environ");
      return !environ_text.empty();
    }
    return false;
  }, 30s)) << read_file(log2);
  queue += queue_text();
  EXPECT_EQ(split0(cmdline), (std::vector<std::string>{"/bin/sh", cmd}));
  for (const auto& e : split0(environ_text)) {
    EXPECT_FALSE(contains(e, kClientSecret)) << e;
    EXPECT_FALSE(contains(e, "NULLQ_")) << e;
  }
  ASSERT_TRUE(eventually([&] { return delivered("b@example.org"); }, 30s)) << read_file(log2);
  EXPECT_EQ(stop(*d2), 0) << read_file(log2);

  const std::string logs = read_file(log) + read_file(log2);
  queue += queue_text();
  const auto issued = idp->issued_tokens();
  ASSERT_GE(issued.size(), 3u) << "the seeded refresh token, an access token and the rotated refresh token";
  std::vector<std::string> secrets = issued;
  secrets.push_back(kClientSecret);
  secrets.push_back(kCommandToken);
  for (const auto& secret : secrets) {
    EXPECT_FALSE(contains(logs, secret)) << secret << "\n" << logs;
    EXPECT_FALSE(contains(queue, secret)) << secret;
  }
  // The store keeps the refresh token only, never an access token.
  for (const auto& t : issued)
    if (t.rfind("at-", 0) == 0) {
      EXPECT_FALSE(contains(read_file(store()), t));
    }
  EXPECT_TRUE(contains(logs, "a@example.org")) << "the log did record the deliveries";
}

}  // namespace
}  // namespace nullq::send::it

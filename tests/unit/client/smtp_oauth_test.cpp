// SmtpConnection with OAuth 2.0 (XOAUTH2, OAUTHBEARER) against the in-process test host, which
// checks tokens through Options::oauth_check, and a fake TokenSource: the mechanism chosen, the
// 334 error-JSON dance, rejected() and Outcome::auth_token_rejected, a token source's error, a
// mechanism the server does not offer, the TLS rule, probe(), and that no token reaches a text.
#include <arpa/inet.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nullq/testhost.hpp"
#include "test_util.hpp"

namespace nullq::client::test {
namespace {

[[maybe_unused]] auto* const sigpipe_env = ::testing::AddGlobalTestEnvironment(new IgnoreSigpipe);

constexpr const char* live = "ya29.live-token-0123456789";
constexpr const char* stale = "ya29.stale-token-9876543210";
constexpr const char* user = "joe@example.com";

// Answers get() from the loop with the next of `answers` (the last repeats); with `hold` it keeps
// the callback for the test to call (or never).
class FakeTokens : public TokenSource {
 public:
  FakeTokens(uv_loop_s* loop, std::vector<Result<Token>> answers)
      : answers_(std::move(answers)), timer_(loop, [this] { fire(); }) {}

  void get(Callback cb) override {
    ++gets;
    pending_.push_back(std::move(cb));
    if (!hold) timer_.start(std::chrono::milliseconds{0});
  }
  bool rejected(const Token& token) override {
    rejected_tokens.push_back(token ? *token : "(null)");
    return rejected_answer;
  }
  static Result<Token> token(const char* t) { return Token(std::make_shared<const std::string>(t)); }
  std::deque<Callback> pending_;

  int gets = 0;
  bool hold = false;
  bool rejected_answer = true;
  std::vector<std::string> rejected_tokens;

 private:
  void fire() {
    while (!pending_.empty()) {
      auto cb = std::move(pending_.front());
      pending_.pop_front();
      Result<Token> r = answers_.size() > 1 ? answers_.front() : answers_.back();
      if (answers_.size() > 1) answers_.erase(answers_.begin());
      cb(std::move(r));
    }
  }
  std::vector<Result<Token>> answers_;
  event::Timer timer_;
};

Endpoint loopback(std::uint16_t port) {
  Endpoint ep;
  auto* a = reinterpret_cast<sockaddr_in*>(&ep.addr);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a->sin_port = htons(port);
  ep.len = sizeof(sockaddr_in);
  ep.text = "127.0.0.1:" + std::to_string(port);
  return ep;
}

std::unique_ptr<testhost::Server> start_host(testhost::SmtpCaps caps) {
  testhost::Options o;
  o.qmtp = o.qmqp = false;
  o.smtp = true;
  o.caps = caps;
  o.oauth_check = [](std::string_view u, std::string_view t) -> std::string {
    return u == user && t == live ? "" : "invalid_token";
  };
  auto s = testhost::Server::start(std::move(o));
  if (!s) ADD_FAILURE() << s.error().message();
  return s ? std::move(s).value() : nullptr;
}

Timeouts quick() {
  Timeouts t;
  t.connect = 5s;
  t.io = 10s;
  t.session = 30s;
  return t;
}

SmtpOptions oauth_opts(std::shared_ptr<TokenSource> tokens, AuthMechanism m = AuthMechanism::automatic) {
  SmtpOptions o;
  o.helo_name = "client.test";
  o.host = "smtp.example.com";
  o.starttls = StartTls::off;
  o.allow_plaintext_auth = true;
  o.auth_user = user;
  o.auth_mechanism = m;
  o.auth_token = std::move(tokens);
  o.timeouts.banner = o.timeouts.command = o.timeouts.data = o.timeouts.body = o.timeouts.dot = 10s;
  return o;
}

struct Session {
  event::Loop loop;
  std::vector<Outcome> outcomes;
  int closed = 0;
  std::unique_ptr<SmtpConnection> conn;

  void open(std::uint16_t port, SmtpOptions o) {
    conn = std::make_unique<SmtpConnection>(loop, loopback(port), quick(), std::move(o), [] {}, [this] { ++closed; });
  }
  ~Session() {
    conn.reset();
    EXPECT_EQ(loop.open_handles(), 0u) << "a handle outlived its session";
  }
  // One message; waits for its outcome and the connection's end.
  const Outcome& send_one() {
    EXPECT_TRUE(conn->submit(make_msg(7, "Subject: t\n\nhi\n", "a@x", {"b@y"}),
                             [this](Outcome o) { outcomes.push_back(std::move(o)); }));
    EXPECT_TRUE(loop.run_until([&] { return outcomes.size() == 1; }, 20s));
    conn->finish();
    EXPECT_TRUE(loop.run_until([&] { return closed == 1; }, 20s));
    static const Outcome none;
    return outcomes.empty() ? none : outcomes[0];
  }
};

testhost::SmtpCaps caps_offering(bool xoauth2, bool oauthbearer) {
  testhost::SmtpCaps c;
  c.xoauth2 = xoauth2;
  c.oauthbearer = oauthbearer;
  return c;
}

void expect_no_secret(const Outcome& o) {
  for (const auto& r : o.replies) {
    for (const char* t : {live, stale}) {
      EXPECT_EQ(r.text.find(t), std::string::npos) << r.text;
    }
  }
  EXPECT_EQ(o.warning.find("ya29"), std::string::npos);
}

TEST(SmtpOauth, AutomaticPrefersXoauth2AndDelivers) {
  auto host = start_host(testhost::SmtpCaps{});  // oauth_check: both offered
  ASSERT_TRUE(host);
  Session run;
  auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(live)});
  run.open(host->smtp_port(), oauth_opts(tokens));
  const Outcome& o = run.send_one();
  EXPECT_EQ(o.replies, (std::vector<Reply>{K("250 2.0.0 queued as testhost")}));
  EXPECT_FALSE(o.setup_failed);
  EXPECT_FALSE(o.auth_token_rejected);
  EXPECT_EQ(tokens->gets, 1);
  EXPECT_TRUE(tokens->rejected_tokens.empty());
  ASSERT_TRUE(host->wait_for_closed(1, 5s));
  auto conns = host->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].auth_mechanism, "XOAUTH2");
  EXPECT_EQ(conns[0].auth_user, user);
  ASSERT_EQ(host->received().size(), 1u);
  EXPECT_EQ(host->received()[0].auth_user, user);
}

TEST(SmtpOauth, OauthbearerWhenOnlyItIsOfferedOrWhenNamed) {
  for (bool named : {false, true}) {
    auto host = start_host(named ? testhost::SmtpCaps{} : caps_offering(false, true));
    ASSERT_TRUE(host);
    Session run;
    auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(live)});
    run.open(host->smtp_port(), oauth_opts(tokens, named ? AuthMechanism::oauthbearer : AuthMechanism::automatic));
    const Outcome& o = run.send_one();
    EXPECT_EQ(o.replies.at(0).verdict, Verdict::ok) << o.replies.at(0).text;
    ASSERT_TRUE(host->wait_for_closed(1, 5s));
    auto c = host->smtp_connections().at(0);
    EXPECT_EQ(c.auth_mechanism, "OAUTHBEARER") << named;
    EXPECT_EQ(c.auth_user, user);
    // RFC 7628 §3.1: the server's name and port as the client knows them.
    EXPECT_EQ(c.oauth_host, "smtp.example.com");
    EXPECT_EQ(c.oauth_port, std::to_string(host->smtp_port()));
  }
}

TEST(SmtpOauth, ADeadTokenGoesThroughTheErrorDanceAndIsReported) {
  for (auto mech : {AuthMechanism::xoauth2, AuthMechanism::oauthbearer}) {
    for (bool may_help : {true, false}) {
      auto host = start_host(testhost::SmtpCaps{});
      ASSERT_TRUE(host);
      Session run;
      auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(stale)});
      tokens->rejected_answer = may_help;
      run.open(host->smtp_port(), oauth_opts(tokens, mech));
      const Outcome& o = run.send_one();
      ASSERT_EQ(o.replies.size(), 1u);
      EXPECT_EQ(o.replies[0].verdict, Verdict::temporary);
      EXPECT_TRUE(o.setup_failed);
      EXPECT_EQ(o.auth_token_rejected, may_help);
      EXPECT_EQ(o.replies[0].text,
                "authentication failed: the server rejected the access token for joe@example.com: "
                "535 5.7.8 Username and Password not accepted (status=invalid_token)");
      EXPECT_EQ(tokens->rejected_tokens, (std::vector<std::string>{stale}));
      expect_no_secret(o);
      ASSERT_TRUE(host->wait_for_closed(1, 5s));
      auto c = host->smtp_connections().at(0);
      EXPECT_EQ(c.auth_attempts, 1u);
      EXPECT_EQ(c.auth_user, "");
      // The host answers 501 when the client's line after the error JSON is not the right one;
      // 535 means the dance was right. Nothing after it: no MAIL.
      EXPECT_EQ(std::count(c.commands.begin(), c.commands.end(), "MAIL"), 0);
      EXPECT_TRUE(host->received().empty());
    }
  }
}

TEST(SmtpOauth, ATokenSourceErrorIsASetupFailureWithItsText) {
  auto host = start_host(testhost::SmtpCaps{});
  ASSERT_TRUE(host);
  Session run;
  auto tokens = std::make_shared<FakeTokens>(
      run.loop, std::vector<Result<TokenSource::Token>>{
                    Error::temporary(ErrorDomain::remote, "the identity provider did not answer: connection refused")});
  run.open(host->smtp_port(), oauth_opts(tokens));
  const Outcome& o = run.send_one();
  ASSERT_EQ(o.replies.size(), 1u);
  EXPECT_TRUE(o.setup_failed);
  EXPECT_FALSE(o.auth_token_rejected);
  EXPECT_EQ(o.replies[0], Z("no OAuth access token for joe@example.com: the identity provider did not answer: "
                            "connection refused"));
  ASSERT_TRUE(host->wait_for_closed(1, 5s));
  EXPECT_EQ(host->smtp_connections().at(0).auth_attempts, 0u);
}

TEST(SmtpOauth, ANamedMechanismTheServerDoesNotOfferNamesWhatItOffers) {
  testhost::SmtpCaps caps = caps_offering(true, false);
  caps.auth = true;
  auto host = start_host(caps);
  ASSERT_TRUE(host);
  Session run;
  auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(live)});
  run.open(host->smtp_port(), oauth_opts(tokens, AuthMechanism::oauthbearer));
  const Outcome& o = run.send_one();
  EXPECT_TRUE(o.setup_failed);
  EXPECT_EQ(o.replies.at(0), Z("the server does not offer AUTH OAUTHBEARER (the server offers PLAIN LOGIN XOAUTH2)"));
  EXPECT_EQ(tokens->gets, 0) << "no token is fetched for a mechanism that cannot be used";
  ASSERT_TRUE(host->wait_for_closed(1, 5s));
  EXPECT_EQ(host->smtp_connections().at(0).auth_attempts, 0u);
}

TEST(SmtpOauth, AutomaticWithATokenNeedsAnOauthMechanism) {
  testhost::SmtpCaps caps;
  caps.auth = true;
  testhost::Options o;
  o.qmtp = o.qmqp = false;
  o.smtp = true;
  o.caps = caps;  // PLAIN LOGIN only, no oauth_check
  auto host = testhost::Server::start(std::move(o));
  ASSERT_TRUE(host);
  Session run;
  auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(live)});
  run.open((*host)->smtp_port(), oauth_opts(tokens));
  EXPECT_EQ(run.send_one().replies.at(0),
            Z("the server offers neither AUTH XOAUTH2 nor AUTH OAUTHBEARER (the server offers PLAIN LOGIN)"));
}

TEST(SmtpOauth, NoTokenOverPlaintextUnlessAllowed) {
  auto host = start_host(testhost::SmtpCaps{});
  ASSERT_TRUE(host);
  Session run;
  auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(live)});
  SmtpOptions opts = oauth_opts(tokens);
  opts.allow_plaintext_auth = false;
  run.open(host->smtp_port(), opts);
  const Outcome& o = run.send_one();
  EXPECT_TRUE(o.setup_failed);
  EXPECT_EQ(o.replies.at(0).text.rfind("refusing to send the access token over an unencrypted connection", 0), 0u)
      << o.replies.at(0).text;
  EXPECT_EQ(tokens->gets, 0);
  ASSERT_TRUE(host->wait_for_closed(1, 5s));
  EXPECT_EQ(host->smtp_connections().at(0).auth_attempts, 0u);
}

TEST(SmtpOauth, ProbeAuthenticatesWithAToken) {
  auto host = start_host(testhost::SmtpCaps{});
  ASSERT_TRUE(host);
  for (const char* t : {live, stale}) {
    Session run;
    auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(t)});
    run.open(host->smtp_port(), oauth_opts(tokens));
    run.conn->probe();
    ASSERT_TRUE(run.loop.run_until([&] { return run.closed == 1; }, 20s));
    if (t == live) {
      EXPECT_EQ(run.conn->error(), "");
      EXPECT_TRUE(run.conn->authenticated());
    } else {
      EXPECT_NE(run.conn->error().find("(status=invalid_token)"), std::string::npos) << run.conn->error();
      EXPECT_EQ(run.conn->error().find(stale), std::string::npos);
      EXPECT_FALSE(run.conn->authenticated());
    }
  }
}

TEST(SmtpOauth, ATokenThatNeverComesIsBoundedByTheCommandTimeout) {
  auto host = start_host(testhost::SmtpCaps{});
  ASSERT_TRUE(host);
  Session run;
  auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(live)});
  tokens->hold = true;
  SmtpOptions opts = oauth_opts(tokens);
  opts.timeouts.command = 300ms;
  run.open(host->smtp_port(), opts);
  const Outcome& o = run.send_one();
  EXPECT_TRUE(o.setup_failed);
  EXPECT_EQ(o.replies.at(0), Z("timed out waiting for an OAuth access token"));
  // The answer that comes after the connection is gone finds nothing to touch.
  ASSERT_EQ(tokens->pending_.size(), 1u);
  auto cb = std::move(tokens->pending_.front());
  run.conn.reset();
  cb(FakeTokens::token(live));
}

TEST(SmtpOauth, ATokenThatComesAfterTheServerLeftIsNotSent) {
  auto host = start_host(testhost::SmtpCaps{});
  ASSERT_TRUE(host);
  ASSERT_TRUE(host->set_smtp_script("close-after=ehlo").ok());
  Session run;
  auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(live)});
  tokens->hold = true;
  run.open(host->smtp_port(), oauth_opts(tokens));
  const Outcome& o = run.send_one();
  EXPECT_TRUE(o.setup_failed);
  EXPECT_EQ(o.replies.at(0), Z("connection closed before reply"));
  ASSERT_EQ(tokens->pending_.size(), 1u);
  auto cb = std::move(tokens->pending_.front());
  cb(FakeTokens::token(live));  // the connection is closed but alive: nothing is written, no callback
  EXPECT_EQ(run.outcomes.size(), 1u);
  EXPECT_EQ(run.closed, 1);
}

TEST(SmtpOauth, DestroyingTheConnectionWhileATokenIsAwaitedIsSafe) {
  auto host = start_host(testhost::SmtpCaps{});
  ASSERT_TRUE(host);
  Session run;
  auto tokens = std::make_shared<FakeTokens>(run.loop, std::vector<Result<TokenSource::Token>>{FakeTokens::token(live)});
  tokens->hold = true;
  run.open(host->smtp_port(), oauth_opts(tokens));
  ASSERT_TRUE(run.conn->submit(make_msg(1, "x\n", "a@x", {"b@y"}), [&](Outcome o) { run.outcomes.push_back(o); }));
  ASSERT_TRUE(run.loop.run_until([&] { return tokens->gets == 1; }, 20s));
  run.conn.reset();  // aborts; on_done is not called
  auto cb = std::move(tokens->pending_.front());
  cb(FakeTokens::token(live));
  EXPECT_TRUE(run.outcomes.empty());
}

}  // namespace
}  // namespace nullq::client::test

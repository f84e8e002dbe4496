// SMTP client sessions against canned-bytes servers on loopback (PROTOCOLS.md §5a).
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "smtp_fake.hpp"
#include "test_util.hpp"

namespace nullq::client::test {
namespace {

[[maybe_unused]] auto* const sigpipe_env = ::testing::AddGlobalTestEnvironment(new IgnoreSigpipe);

Timeouts quick() {
  Timeouts t;
  t.connect = 5s;
  t.io = 10s;
  t.session = 30s;
  return t;
}

SmtpOptions opts() {
  SmtpOptions o;
  o.helo_name = "client.test";
  o.host = "fake.test";
  o.timeouts.banner = 10s;
  o.timeouts.command = 10s;
  o.timeouts.data = 10s;
  o.timeouts.body = 10s;
  o.timeouts.dot = 10s;
  return o;
}

struct Harness {
  event::Loop loop;
  std::vector<Outcome> outcomes;
  int idles = 0;
  int closed = 0;
  std::unique_ptr<SmtpConnection> conn;

  Harness(const Endpoint& ep, SmtpOptions o = opts(), Timeouts t = quick()) {
    conn = std::make_unique<SmtpConnection>(loop, ep, t, std::move(o), [this] { ++idles; }, [this] { ++closed; });
  }
  ~Harness() {
    conn.reset();
    EXPECT_EQ(loop.open_handles(), 0u) << "a handle outlived its session";
  }
  bool submit(std::shared_ptr<const Message> m) {
    return conn->submit(std::move(m), [this](Outcome o) { outcomes.push_back(std::move(o)); });
  }
  bool wait(const std::function<bool()>& done) { return loop.run_until(done, 25s); }
};

TEST(Smtp, PipelinedMixedRecipientsDotStuffedThenQuit) {
  auto m = make_msg(3, "Subject: x\n\n.leading dot\nend", "a@x", {"ok@y", "gone@y", "later@y"});
  std::vector<std::string> group;
  std::string body;
  std::string quit;
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"PIPELINING", "SIZE 100000", "8BITMIME", "ENHANCEDSTATUSCODES"})) return;
    // Nothing is answered before the whole group is in: a client that waits for the MAIL reply
    // never gets here and the test fails on its timeout.
    group = s.lines(5);
    s.send("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n451 4.2.0 try later\r\n354 go\r\n");
    body = s.body();
    s.send("250 2.0.0 queued as 42\r\n");
    quit = s.line();
    s.send("221 bye\r\n");
  });
  Harness h(srv.endpoint());
  ASSERT_TRUE(h.submit(m));
  EXPECT_TRUE(h.conn->busy());
  EXPECT_FALSE(h.submit(make_msg(4, "x\n", "a@x", {"b@y"}))) << "one message at a time";
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1; }));
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  ASSERT_EQ(group.size(), 5u);
  EXPECT_EQ(group[0], "MAIL FROM:<a@x> SIZE=" + std::to_string(std::string("Subject: x\r\n\r\n..leading dot\r\nend\r\n.\r\n").size()));
  EXPECT_EQ(group[1], "RCPT TO:<ok@y>");
  EXPECT_EQ(group[2], "RCPT TO:<gone@y>");
  EXPECT_EQ(group[3], "RCPT TO:<later@y>");
  EXPECT_EQ(group[4], "DATA");
  EXPECT_EQ(body, "Subject: x\r\n\r\n..leading dot\r\nend\r\n.\r\n");
  EXPECT_EQ(quit, "QUIT");
  const Outcome& o = h.outcomes[0];
  EXPECT_EQ(o.tag, 3u);
  EXPECT_FALSE(o.connect_failed);
  ASSERT_EQ(o.replies.size(), 3u);
  EXPECT_EQ(o.replies[0], K("250 2.0.0 queued as 42"));
  EXPECT_EQ(o.replies[1], D("550 5.1.1 no such user"));
  EXPECT_EQ(o.replies[2], Z("451 4.2.0 try later"));
  EXPECT_EQ(h.conn->banner(), "220 fake.test ESMTP");
  EXPECT_EQ(h.idles, 1);
}

TEST(Smtp, ReusedConnectionSendsRsetAndAuthenticatesOnce) {
  auto m1 = make_msg(1, "one\n", "a@x", {"b@y"});
  auto m2 = make_msg(2, "two\n", "", {"c@y"});
  std::vector<std::string> seen;
  int auths = 0;
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"AUTH PLAIN LOGIN", "PIPELINING"})) return;
    for (int msg = 0; msg < 2;) {
      bool ok = false;
      std::string l = s.line(&ok);
      if (!ok) return;
      seen.push_back(l);
      if (l.rfind("AUTH PLAIN ", 0) == 0) {
        ++auths;
        s.send("235 2.7.0 ok\r\n");
      } else if (l == "DATA") {
        s.send("354 go\r\n");
        s.body();
        s.send("250 ok\r\n");
        ++msg;
      } else {
        s.send("250 ok\r\n");
      }
    }
    if (s.line() == "QUIT") s.send("221 bye\r\n");
  });
  SmtpOptions o = opts();
  o.starttls = StartTls::off;
  o.allow_plaintext_auth = true;
  o.auth_user = "tim";
  o.auth_password = std::make_shared<const std::string>("tanstaaftanstaaf");
  Harness h(srv.endpoint(), o);
  ASSERT_TRUE(h.submit(m1));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1; }));
  EXPECT_TRUE(h.conn->usable());
  ASSERT_TRUE(h.submit(m2));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 2; }));
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_EQ(auths, 1);
  ASSERT_GE(seen.size(), 8u);
  EXPECT_EQ(seen[0], "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  EXPECT_EQ(seen[1], "MAIL FROM:<a@x>");
  EXPECT_EQ(seen[4], "RSET");
  EXPECT_EQ(seen[5], "MAIL FROM:<>");
  EXPECT_EQ(seen[6], "RCPT TO:<c@y>");
  EXPECT_EQ(h.outcomes[0].replies, (std::vector<Reply>{K("250 ok")}));
  EXPECT_EQ(h.outcomes[1].replies, (std::vector<Reply>{K("250 ok")}));
}

TEST(Smtp, LockStepHeloFallbackAuthLoginAndNoDataWhenEveryRecipientFails) {
  auto m = make_msg(1, "x\n", "a@x", {"b@y", "c@y"});
  std::vector<std::string> seen;
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    s.send("220 old.test\r\n");
    seen.push_back(s.line());
    s.send("500 5.5.1 what is EHLO\r\n");
    seen.push_back(s.line());
    s.send("250 old.test\r\n");
    seen.push_back(s.line());  // MAIL: lock-step, one command at a time
    s.send("250 ok\r\n");
    seen.push_back(s.line());
    s.send("550 no\r\n");
    seen.push_back(s.line());
    s.send("450 busy\r\n");
    // No DATA now: every recipient failed.
    seen.push_back(s.line());
    s.send("221 bye\r\n");
  });
  Harness h(srv.endpoint());
  ASSERT_TRUE(h.submit(m));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1; }));
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_EQ(seen, (std::vector<std::string>{"EHLO client.test", "HELO client.test", "MAIL FROM:<a@x>",
                                            "RCPT TO:<b@y>", "RCPT TO:<c@y>", "QUIT"}));
  EXPECT_EQ(h.outcomes[0].replies, (std::vector<Reply>{D("550 no"), Z("450 busy")}));
}

TEST(Smtp, SizeRefusedEarlyAndSmtputf8MissingFailsThatRecipientOnly) {
  std::vector<std::string> seen;
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"SIZE 20", "8BITMIME"})) return;
    for (;;) {
      bool ok = false;
      std::string l = s.line(&ok);
      if (!ok) return;
      seen.push_back(l);
      if (l == "QUIT") {
        s.send("221 bye\r\n");
        return;
      }
      if (l == "DATA") {
        s.send("354 go\r\n");
        s.body();
      }
      s.send("250 ok\r\n");
    }
  });
  Harness h(srv.endpoint());
  ASSERT_TRUE(h.submit(make_msg(1, std::string(100, 'x') + "\n", "a@x", {"b@y", "c@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1; }));
  ASSERT_EQ(h.outcomes[0].replies.size(), 2u);
  EXPECT_EQ(h.outcomes[0].replies[0].verdict, Verdict::permanent);
  EXPECT_NE(h.outcomes[0].replies[0].text.find("exceeds the server's limit of 20 bytes"), std::string::npos)
      << h.outcomes[0].replies[0].text;
  ASSERT_TRUE(h.submit(make_msg(2, "caf\xc3\xa9\n", "a@x", {"j\xc3\xb6rg@y", "c@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 2; }));
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  // The oversize message never reached the wire; the second went with BODY=8BITMIME and only
  // the ASCII recipient.
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen[0], "MAIL FROM:<a@x> SIZE=10 BODY=8BITMIME");
  EXPECT_EQ(seen[1], "RCPT TO:<c@y>");
  EXPECT_EQ(seen[2], "DATA");
  EXPECT_EQ(h.outcomes[1].replies[0].verdict, Verdict::permanent);
  EXPECT_NE(h.outcomes[1].replies[0].text.find("SMTPUTF8"), std::string::npos);
  EXPECT_EQ(h.outcomes[1].replies[1], K("250 ok"));
}

TEST(Smtp, WrongPasswordKeepsMailQueuedAndSaysSo) {
  std::string rest;
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"AUTH LOGIN"})) return;
    if (s.line() != "AUTH LOGIN") return;
    s.send("334 VXNlcm5hbWU6\r\n");
    if (s.line() != "dGlt") return;
    s.send("334 UGFzc3dvcmQ6\r\n");
    if (s.line() != "c2VjcmV0") return;
    s.send("535 5.7.8 authentication credentials invalid\r\n");
    rest = s.rest();
  });
  SmtpOptions o = opts();
  o.starttls = StartTls::off;
  o.allow_plaintext_auth = true;
  o.auth_user = "tim";
  o.auth_password = std::make_shared<const std::string>("secret");
  Harness h(srv.endpoint(), o);
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "a@x", {"b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1 && h.closed == 1; }));
  srv.join();
  EXPECT_EQ(rest.find("MAIL"), std::string::npos) << "no mail after a failed AUTH";
  const Reply& r = h.outcomes[0].replies.at(0);
  EXPECT_EQ(r.verdict, Verdict::temporary);
  EXPECT_NE(r.text.find("rejected the user name or password"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("535 5.7.8"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("secret"), std::string::npos);
  // About the host, not the mail: the caller may try the next smart host.
  EXPECT_TRUE(h.outcomes[0].setup_failed);
  EXPECT_FALSE(h.outcomes[0].connect_failed);
  EXPECT_TRUE(h.outcomes[0].auth_failed) << "an AUTH failure for metrics and the status file";
  EXPECT_FALSE(h.outcomes[0].tls_failed);
}

TEST(Smtp, NoPasswordOverPlaintextUnlessAllowed) {
  std::string rest;
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"AUTH PLAIN"})) return;
    rest = s.rest(std::chrono::milliseconds(500));
  });
  SmtpOptions o = opts();  // opportunistic STARTTLS, the server offers none
  o.auth_user = "tim";
  o.auth_password = std::make_shared<const std::string>("secret");
  Harness h(srv.endpoint(), o);
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "a@x", {"b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1 && h.closed == 1; }));
  srv.join();
  EXPECT_EQ(rest.find("AUTH"), std::string::npos) << rest;
  const Reply& r = h.outcomes[0].replies.at(0);
  EXPECT_EQ(r.verdict, Verdict::temporary);
  EXPECT_NE(r.text.find("unencrypted"), std::string::npos) << r.text;
}

TEST(Smtp, StarttlsRequiredButNotOfferedSendsNoMail) {
  std::string rest;
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"PIPELINING"})) return;
    rest = s.rest(std::chrono::milliseconds(500));
  });
  SmtpOptions o = opts();
  o.starttls = StartTls::required;
  Harness h(srv.endpoint(), o);
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "a@x", {"b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1 && h.closed == 1; }));
  srv.join();
  EXPECT_EQ(rest.find("MAIL"), std::string::npos);
  EXPECT_EQ(h.outcomes[0].replies.at(0), Z("STARTTLS is required but the server does not offer it"));
  EXPECT_TRUE(h.outcomes[0].setup_failed);
  EXPECT_TRUE(h.outcomes[0].tls_failed) << "a TLS failure for metrics and the status file";
  EXPECT_FALSE(h.outcomes[0].auth_failed);
}

TEST(Smtp, BannerRefusalCountsAsNotReached) {
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    s.send("554 5.7.1 go away\r\n");
    s.rest(std::chrono::milliseconds(300));
  });
  Harness h(srv.endpoint());
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "a@x", {"b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1 && h.closed == 1; }));
  srv.join();
  EXPECT_TRUE(h.outcomes[0].connect_failed);
  EXPECT_EQ(h.outcomes[0].replies.at(0), Z("the server refused the session: 554 5.7.1 go away"));
}

TEST(Smtp, ConnectionRefused) {
  Harness h(refused_endpoint());
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "a@x", {"b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1 && h.closed == 1; }));
  EXPECT_TRUE(h.outcomes[0].connect_failed);
  EXPECT_EQ(h.outcomes[0].replies.at(0), Z("connection refused"));
}

TEST(Smtp, DotReplyTimeoutKeepsEveryRecipientTemporary) {
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"PIPELINING"})) return;
    s.lines(3);
    s.send("250 ok\r\n250 ok\r\n354 go\r\n");
    s.body();
    p.wait_close(std::chrono::seconds(10));  // never answer the final dot
  });
  SmtpOptions o = opts();
  o.timeouts.dot = 300ms;
  Harness h(srv.endpoint(), o);
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "a@x", {"b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1 && h.closed == 1; }));
  srv.join();
  EXPECT_EQ(h.outcomes[0].replies.at(0), Z("timed out waiting for the server"));
  EXPECT_FALSE(h.outcomes[0].setup_failed) << "the mail was on the wire: the answer is final";
}

TEST(Smtp, BannerTimeoutIsASetupFailure) {
  FakeServer srv([&](Peer& p) { p.wait_close(std::chrono::seconds(10)); });
  SmtpOptions o = opts();
  o.timeouts.banner = 300ms;
  Harness h(srv.endpoint(), o);
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "a@x", {"b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1 && h.closed == 1; }));
  srv.join();
  EXPECT_EQ(h.outcomes[0].replies.at(0), Z("timed out waiting for the server"));
  EXPECT_TRUE(h.outcomes[0].setup_failed);
  EXPECT_FALSE(h.outcomes[0].connect_failed);
  EXPECT_FALSE(h.outcomes[0].tls_failed);
  EXPECT_FALSE(h.outcomes[0].auth_failed);
}

TEST(Smtp, HostileRepliesEndTheSession) {
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    s.send("220 " + std::string(4096 + 100, 'A') + "\r\n");
    s.rest(std::chrono::milliseconds(300));
  });
  Harness h(srv.endpoint());
  ASSERT_TRUE(h.submit(make_msg(1, "x\n", "a@x", {"b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1 && h.closed == 1; }));
  srv.join();
  const Reply& r = h.outcomes[0].replies.at(0);
  EXPECT_EQ(r.verdict, Verdict::temporary);
  EXPECT_NE(r.text.find("protocol error: reply line longer than"), std::string::npos) << r.text;
}

TEST(Smtp, LargeBodyStreamsIntact) {
  std::string big;
  for (int i = 0; big.size() < 6 * 1024 * 1024; ++i) big += (i % 7 == 0 ? ".dot line " : "line ") + std::to_string(i) + "\n";
  // The wire form, built line by line independently of the codec.
  std::string want;
  for (std::size_t pos = 0; pos < big.size();) {
    std::size_t nl = big.find('\n', pos);
    std::string line = big.substr(pos, nl - pos);
    want += (line.rfind(".", 0) == 0 ? "." : "") + line + "\r\n";
    pos = nl + 1;
  }
  want += ".\r\n";
  std::size_t got_size = 0;
  bool same = false;
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"PIPELINING"})) return;
    s.lines(3);
    s.send("250 ok\r\n250 ok\r\n354 go\r\n");
    std::string b = s.body();
    got_size = b.size();
    same = b == want;
    s.send("250 ok\r\n");
    if (s.line() == "QUIT") s.send("221 bye\r\n");
  });
  Harness h(srv.endpoint());
  ASSERT_TRUE(h.submit(make_msg(1, big, "a@x", {"b@y"})));
  ASSERT_TRUE(h.wait([&] { return h.outcomes.size() == 1; }));
  h.conn->finish();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_EQ(got_size, want.size());
  EXPECT_TRUE(same);
  EXPECT_EQ(h.outcomes[0].replies.at(0), K("250 ok"));
}

}  // namespace
}  // namespace nullq::client::test

namespace nullq::client::test {
namespace {

TEST(Smtp, ProbeLogsInAndQuitsWithoutMail) {
  std::vector<std::string> seen;
  FakeServer srv([&](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"AUTH PLAIN", "SIZE 1000"})) return;
    seen.push_back(s.line());
    s.send("235 ok\r\n");
    seen.push_back(s.line());
    s.send("221 bye\r\n");
  });
  SmtpOptions o = opts();
  o.starttls = StartTls::off;
  o.allow_plaintext_auth = true;
  o.auth_user = "u";
  o.auth_password = std::make_shared<const std::string>("p");
  Harness h(srv.endpoint(), o);
  h.conn->probe();
  ASSERT_TRUE(h.wait([&] { return h.closed == 1; }));
  srv.join();
  EXPECT_EQ(h.conn->error(), "");
  EXPECT_TRUE(h.conn->authenticated());
  EXPECT_EQ(h.conn->banner(), "220 fake.test ESMTP");
  EXPECT_EQ(h.conn->extensions(), (std::vector<std::string>{"AUTH PLAIN", "SIZE 1000"}));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].rfind("AUTH PLAIN ", 0), 0u);
  EXPECT_EQ(seen[1], "QUIT");
  EXPECT_TRUE(h.outcomes.empty());
}

}  // namespace
}  // namespace nullq::client::test

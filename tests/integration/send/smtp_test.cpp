// SMTP delivery end to end: the real nullq-queue and nullq-send against a scripted ESMTP server on
// 127.0.0.1 (smtp_fake_server.hpp), mx:// with SMTP exchangers and the MXPS fallback through a fake
// DNS server, and the password_file rules.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "fake_dns.hpp"
#include "fake_server.hpp"
#include "harness.hpp"
#include "process.hpp"
#include "smtp_fake_server.hpp"

namespace nullq::send::it {
namespace {

const std::string kBody = "From: alice@example.org\nSubject: smtp\n\n.a line with a leading dot\nHello over SMTP.\n";
const std::string kWire = "From: alice@example.org\r\nSubject: smtp\r\n\r\n..a line with a leading dot\r\nHello over SMTP.\r\n";

TEST(SmtpSend, DeliversDotStuffedAndPipelined) {
  TestSpool s;
  SmtpFakeServer srv;
  s.write_config({srv.url()});
  s.inject("alice@example.org", {"bob@example.org", "carol@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  auto t = srv.transactions();
  ASSERT_EQ(t.size(), 1u) << r.err;
  EXPECT_EQ(t[0].sender, "alice@example.org");
  EXPECT_EQ(t[0].accepted, (std::vector<std::string>{"bob@example.org", "carol@example.org"}));
  // The queue file's message, CRLF and dot-stuffed (plus the Received line nullq-queue adds first).
  EXPECT_TRUE(t[0].data.size() >= kWire.size() && t[0].data.compare(t[0].data.size() - kWire.size(), kWire.size(), kWire) == 0)
      << t[0].data;
  EXPECT_TRUE(contains(r.err, "proto=smtp rcpts=2 status=sent text=\"250 2.0.0 queued\"")) << r.err;
  auto cmds = srv.commands();
  ASSERT_GE(cmds.size(), 5u);
  EXPECT_EQ(cmds.front(), "EHLO test.example");
  EXPECT_EQ(cmds.back(), "QUIT");
}

TEST(SmtpSend, MixedRecipientAnswersDeliverBounceAndRewriteTheQueueFile) {
  TestSpool s;
  SmtpFakeServer srv;
  srv.rcpt = [](const std::string& r) {
    if (r == "d@example.org") return std::string("550 5.1.1 mailbox unknown");
    if (r == "z@example.org") return std::string("452 4.2.2 mailbox full");
    return std::string("250 2.1.5 ok");
  };
  s.write_config({srv.url()});
  s.inject("alice@example.org", {"k@example.org", "d@example.org", "z@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << r.err;
  EXPECT_EQ(pending_rcpts(s.spool + "/queue/" + q[0]), (std::vector<std::string>{"z@example.org"}));
  auto t = srv.transactions();
  // The message to k, then the bounce for d to the sender over the same path.
  ASSERT_EQ(t.size(), 2u) << r.err;
  EXPECT_EQ(t[0].accepted, (std::vector<std::string>{"k@example.org"}));
  EXPECT_EQ(t[1].sender, "");
  EXPECT_EQ(t[1].accepted, (std::vector<std::string>{"alice@example.org"}));
  EXPECT_TRUE(contains(t[1].data, "d@example.org"));
  EXPECT_TRUE(contains(t[1].data, "5.1.1 mailbox unknown")) << "the enhanced code reaches the bounce";
  // RFC 3464: the server by name (here an address literal, not the smart host URL), and the
  // diagnostic typed by the protocol that gave it.
  EXPECT_TRUE(contains(t[1].data, "Status: 5.1.1\r\nRemote-MTA: dns; [127.0.0.1]\r\n"
                                  "Diagnostic-Code: smtp; 550 5.1.1 mailbox unknown\r\n"))
      << t[1].data;
  EXPECT_FALSE(contains(t[1].data, "X-QMTP")) << t[1].data;
  EXPECT_FALSE(contains(t[1].data, "smtp://")) << t[1].data;
  EXPECT_FALSE(contains(t[1].data, "Final-Recipient: rfc822; k@example.org"));
  EXPECT_TRUE(contains(r.err, "status=bounced text=\"550 5.1.1 mailbox unknown\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "status=deferred text=\"452 4.2.2 mailbox full\"")) << r.err;
}

TEST(SmtpSend, MessageRefusedAtTheDotStaysQueued) {
  TestSpool s;
  SmtpFakeServer srv;
  srv.dot_reply = "451 4.3.0 content filter unavailable";
  s.write_config({srv.url()});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  ASSERT_EQ(s.queued().size(), 1u);
  EXPECT_TRUE(contains(read_file(s.spool + "/queue/" + s.queued()[0]), "451 4.3.0 content filter unavailable"));
  // The server's answer is attributed to its smart host in `nullq status --json` (not only DNS errors).
  auto st = nullq::testing::run({bin_dir() + "/nullq", "--config", s.config, "status", "--json"});
  EXPECT_EQ(st.code, 0) << st.err;
  EXPECT_TRUE(contains(st.out, "{\"host\":\"" + srv.url() + "\",\"messages_with_error\":1,\"last_error\":\"" +
                                   srv.url() + " (127.0.0.1:" + std::to_string(srv.port()) +
                                   "): 451 4.3.0 content filter unavailable\""))
      << st.out;
}

class SmtpAuth : public ::testing::Test {
 protected:
  TestSpool s;
  SmtpFakeServer srv;
  std::string secret_path;
  const std::string password = "s3cr3t-Pa55";
  void SetUp() override {
    srv.auth_user = "relayuser";
    srv.auth_password = password;
    secret_path = s.dir.path() + "/relay.secret";
    write_file(secret_path, password + "\n");
    ::chmod(secret_path.c_str(), 0640);
  }
  std::string host_line(const std::string& user = "relayuser") const {
    return "{url: '" + srv.url() + "', starttls: 'off', auth: {user: " + user + ", password_file: " + secret_path +
           ", allow_plaintext: true}}";
  }
};

TEST_F(SmtpAuth, LogsInOncePerConnectionAndNeverLogsThePassword) {
  s.write_config({host_line()}, "log:\n  level: debug\n");
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  s.inject("alice@example.org", {"carol@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.transactions().size(), 2u) << r.err;
  std::size_t auths = 0;
  for (const auto& c : srv.commands()) auths += c.rfind("AUTH ", 0) == 0;
  EXPECT_EQ(auths, srv.connections()) << "AUTH once per connection, not per message";
  EXPECT_FALSE(contains(r.err, password)) << r.err;
  EXPECT_FALSE(contains(r.err, "czNjcjN0")) << "nor its base64";
}

TEST_F(SmtpAuth, WrongPasswordKeepsTheMailQueuedAndSaysSo) {
  write_file(secret_path, "wrong\n");
  ::chmod(secret_path.c_str(), 0600);
  s.write_config({host_line()});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  EXPECT_EQ(s.queued().size(), 1u);
  EXPECT_TRUE(srv.transactions().empty());
  EXPECT_TRUE(contains(r.err, "authentication failed: the server rejected the user name or password")) << r.err;
  EXPECT_FALSE(contains(r.err, "wrong")) << r.err;
}

TEST_F(SmtpAuth, WorldReadableOrMissingPasswordFileRefusesToStart) {
  ::chmod(secret_path.c_str(), 0644);
  s.write_config({host_line()});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 78) << r.err;
  EXPECT_TRUE(contains(r.err, "password_file " + secret_path + ": others may read or write it (mode 0644)")) << r.err;
  EXPECT_FALSE(contains(r.err, password));
  EXPECT_EQ(srv.connections(), 0u);
  EXPECT_EQ(s.incoming().size() + s.queued().size(), 1u) << "nothing lost";

  ::unlink(secret_path.c_str());
  RunResult r2 = s.once();
  EXPECT_EQ(r2.status, 78) << r2.err;
  EXPECT_TRUE(contains(r2.err, "password_file " + secret_path + ": No such file or directory")) << r2.err;
}

TEST_F(SmtpAuth, PasswordInTheConfigIsRefused) {
  s.write_config({"{url: '" + srv.url() + "', auth: {user: u, password: hunter2}}"});
  RunResult r = s.once();
  EXPECT_EQ(r.status, 78) << r.err;
  EXPECT_TRUE(contains(r.err, "passwords do not go into nullq.yaml")) << r.err;
  EXPECT_FALSE(contains(r.err, "hunter2"));
}

TEST_F(SmtpAuth, NoAuthOverPlaintextWithoutTls) {
  // Opportunistic STARTTLS, but the server offers none: the password is not sent in the clear.
  s.write_config({"{url: '" + srv.url() + "', auth: {user: relayuser, password_file: " + secret_path + "}}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  EXPECT_EQ(s.queued().size(), 1u);
  for (const auto& c : srv.commands()) EXPECT_NE(c.rfind("AUTH", 0), 0u) << c;
  EXPECT_TRUE(contains(r.err, "refusing to send the password over an unencrypted connection")) << r.err;
}

TEST_F(SmtpAuth, OneConnectionCarriesEveryMessageWithRsetAndOneLogin) {
  s.write_config({"{url: '" + srv.url() + "', connections: 1, starttls: 'off', auth: {user: relayuser, "
                  "password_file: " + secret_path + ", allow_plaintext: true}}"});
  for (const char* r : {"a@example.org", "b@example.org", "c@example.org"}) s.inject("alice@example.org", {r}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.transactions().size(), 3u) << r.err;
  EXPECT_EQ(srv.connections(), 1u) << r.err;
  std::size_t auths = 0, rsets = 0, quits = 0;
  for (const auto& c : srv.commands()) {
    auths += c.rfind("AUTH ", 0) == 0;
    rsets += c == "RSET";
    quits += c == "QUIT";
  }
  EXPECT_EQ(auths, 1u);
  EXPECT_EQ(rsets, 2u);
  EXPECT_EQ(quits, 1u);
}

// sendmail queues despite an error in a setting it does not need (a warning); nullq-send, which
// needs them all, refuses the file in one line, as `nullq check` does.
TEST(SmtpConfig, TypoInTheSmtpSectionIsRefusedExit78) {
  TestSpool s;
  s.write_config({"qmtp://127.0.0.1:1"}, "smtp: {dot_timout: 10m}\n");
  RunResult r = s.once();
  EXPECT_EQ(r.status, 78);
  EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "unknown key 'smtp.dot_timout'")) << r.err;
  RunResult check = run({bin_dir() + "/nullq", "--config", s.config, "check"});
  EXPECT_EQ(check.status, 78);
  EXPECT_TRUE(contains(check.err, "unknown key 'smtp.dot_timout'")) << check.err;
}

// The message's body from a queue file (after the envelope's blank line).
std::string body_of(const std::string& file) {
  std::size_t end = file.find("\n\n");
  return end == std::string::npos ? std::string() : file.substr(end + 2);
}

// A relay that refuses everything (554, no AUTH configured): the message bounces, the bounce is
// refused the same way, and failed/ still holds the message itself, byte for byte, for `nullq retry`.
TEST(SmtpSend, WhenTheBounceFailsTooTheMessageWaitsWholeInFailed) {
  TestSpool s;
  std::string id, queued;
  {
    SmtpFakeServer refusing;
    refusing.rcpt = [](const std::string&) { return std::string("554 5.7.1 Access denied"); };
    s.write_config({refusing.url()});
    id = s.inject("cron@test.example", {"root@example.org"}, kBody);
    queued = read_file(s.spool + "/new/" + id);
    RunResult r = s.once();
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(s.queued().empty()) << r.err;
    EXPECT_TRUE(s.incoming().empty()) << r.err;
    auto cmds = refusing.commands();
    EXPECT_NE(std::find(cmds.begin(), cmds.end(), "MAIL FROM:<>"), cmds.end()) << "the bounce was tried";
    EXPECT_TRUE(contains(r.err, "id=" + id + " kept in failed/ until its bounce id=")) << r.err;
  }
  auto failed = s.failed();
  ASSERT_EQ(failed.size(), 2u);  // the message, and its bounce that could not be delivered either
  ASSERT_NE(std::find(failed.begin(), failed.end(), id), failed.end());
  const std::string kept = read_file(s.spool + "/failed/" + id);
  EXPECT_EQ(body_of(kept), body_of(queued));
  EXPECT_TRUE(contains(body_of(kept), kBody));
  EXPECT_EQ(pending_rcpts(s.spool + "/failed/" + id), (std::vector<std::string>{"root@example.org"}));

  auto list = nullq::testing::run({bin_dir() + "/nullq", "--config", s.config, "list"});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_TRUE(contains(list.out, id + "  queued")) << list.out;
  EXPECT_TRUE(contains(list.out, "554 5.7.1 Access denied; kept until its bounce id=")) << list.out;
  auto retry = nullq::testing::run({bin_dir() + "/nullq", "--config", s.config, "retry", id});
  EXPECT_EQ(retry.code, 0) << retry.err;

  SmtpFakeServer accepting;  // the relay, fixed
  s.write_config({accepting.url()});
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto t = accepting.transactions();
  ASSERT_EQ(t.size(), 1u) << r.err;
  EXPECT_EQ(t[0].sender, "cron@test.example");
  EXPECT_EQ(t[0].accepted, (std::vector<std::string>{"root@example.org"}));
  EXPECT_TRUE(contains(t[0].data, kWire)) << t[0].data;
  failed = s.failed();
  EXPECT_EQ(failed.size(), 1u);
  EXPECT_EQ(std::find(failed.begin(), failed.end(), id), failed.end());
}

// Once the bounce is delivered, the message it reported leaves failed/: nothing piles up there.
TEST(SmtpSend, ADeliveredBounceReleasesTheMessage) {
  TestSpool s;
  SmtpFakeServer srv;
  srv.rcpt = [](const std::string& r) {
    return r == "root@example.org" ? std::string("550 5.1.1 no such user") : std::string("250 2.1.5 ok");
  };
  s.write_config({srv.url()});
  std::string id = s.inject("cron@test.example", {"root@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto t = srv.transactions();
  ASSERT_EQ(t.size(), 1u) << r.err;
  EXPECT_EQ(t[0].sender, "");
  EXPECT_TRUE(s.failed().empty()) << r.err;
  EXPECT_TRUE(contains(r.err, "original id=" + id + " removed from failed/")) << r.err;
}

TEST(SmtpSend, LargeMessageStreamsIntact) {
  TestSpool s;
  SmtpFakeServer srv;
  std::string big = "Subject: big\n\n";
  for (int i = 0; big.size() < 25u * 1000 * 1000; ++i) big += (i % 5 == 0 ? "." : "") + std::string(70, 'x') + "\n";
  s.write_config({srv.url()}, "", "  max_message_size: 40MiB\n");
  s.inject("alice@example.org", {"bob@example.org"}, big);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto t = srv.transactions();
  ASSERT_EQ(t.size(), 1u) << r.err;
  std::size_t dotted = 0;
  for (std::size_t p = t[0].data.find("\r\n..x"); p != std::string::npos; p = t[0].data.find("\r\n..x", p + 1)) ++dotted;
  std::size_t want = 0;
  for (std::size_t p = big.find("\n.x"); p != std::string::npos; p = big.find("\n.x", p + 1)) ++want;
  EXPECT_GT(want, 0u);
  EXPECT_EQ(dotted, want) << "every dot line stuffed";
  // The whole message arrived as its wire form, built here line by line.
  std::string wire;
  for (std::size_t pos = 0; pos < big.size();) {
    std::size_t nl = big.find('\n', pos);
    std::string line = big.substr(pos, nl - pos);
    wire += (line.rfind(".", 0) == 0 ? "." : "") + line + "\r\n";
    pos = nl + 1;
  }
  EXPECT_TRUE(t[0].data.size() >= wire.size() &&
              t[0].data.compare(t[0].data.size() - wire.size(), wire.size(), wire) == 0);
}

class SmtpMx : public ::testing::Test {
 protected:
  TestSpool s;
  FakeDns dns;
  RunResult once(std::uint16_t mxps_port, std::uint16_t smtp_port) {
    return s.once({"NULLQ_DNS_SERVERS=" + dns.servers(), "NULLQ_MXPS_PORT=" + std::to_string(mxps_port),
                   "NULLQ_MX_SMTP_PORT=" + std::to_string(smtp_port)});
  }
  const std::string body = "Subject: mx\n\nHello.\n";
};

TEST_F(SmtpMx, PlainExchangerGetsSmtp) {
  SmtpFakeServer smtp;
  dns.mx("plain.test", 10, "mail.plain.test");
  dns.a("mail.plain.test", "127.0.0.1");
  s.write_config({"mx://plain.test"});
  s.inject("alice@example.org", {"bob@plain.test"}, body);
  RunResult r = once(closed_port(), smtp.port());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(smtp.transactions().size(), 1u);
  EXPECT_TRUE(s.queued().empty());
}

TEST_F(SmtpMx, MxpsFallsBackToSmtpOnlyWhenTheQmtpConnectionFails) {
  SmtpFakeServer smtp;
  dns.mx("mxps.test", 12801, "q.mxps.test");
  dns.a("q.mxps.test", "127.0.0.1");
  s.write_config({"mx://mxps.test"});
  // QMTP answers: SMTP is not used.
  {
    FakeServer qmtp(Proto::qmtp);
    s.inject("alice@example.org", {"bob@mxps.test"}, body);
    RunResult r = once(qmtp.port(), smtp.port());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(qmtp.count(), 1u);
    EXPECT_EQ(smtp.connections(), 0u) << r.err;
  }
  // QMTP answers with a temporary failure: that is an answer, not a failed connection.
  {
    FakeServer qmtp(Proto::qmtp);
    qmtp.set_replier([](const Received& m) { return std::vector<std::string>(m.rcpts.size(), "Zbusy"); });
    s.inject("alice@example.org", {"carol@mxps.test"}, body);
    RunResult r = once(qmtp.port(), smtp.port());
    EXPECT_EQ(r.status, 75) << r.err;
    EXPECT_EQ(smtp.connections(), 0u) << r.err;
  }
  for (const auto& f : s.queued()) ::unlink((s.spool + "/queue/" + f).c_str());
  // Nothing listens on the QMTP port: SMTP on the same host takes the mail.
  s.inject("alice@example.org", {"dave@mxps.test"}, body);
  RunResult r = once(closed_port(), smtp.port());
  EXPECT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(smtp.transactions().size(), 1u) << r.err;
  EXPECT_EQ(smtp.transactions()[0].accepted, (std::vector<std::string>{"dave@mxps.test"}));
  EXPECT_TRUE(contains(r.err, "proto=qmtp rcpts=1 status=deferred text=\"connection refused\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "proto=smtp rcpts=1 status=sent")) << r.err;
}

TEST_F(SmtpMx, NullMxBouncesAtOnce) {
  dns.mx("nomail.test", 0, ".");
  s.write_config({"mx://nomail.test"});
  s.inject("alice@example.org", {"bob@nomail.test"}, body);
  RunResult r = once(closed_port(), closed_port());
  EXPECT_TRUE(s.queued().empty()) << "bounced in the first run, not retried";
  EXPECT_TRUE(contains(r.err, "domain nomail.test does not accept mail (null MX)")) << r.err;
  // No exchanger was found, so no protocol was chosen: the attempt says mx, not qmtp or smtp.
  EXPECT_TRUE(contains(r.err, "host=mx://nomail.test addr=- proto=mx rcpts=1 status=bounced")) << r.err;
  EXPECT_TRUE(contains(r.err, "bounce for 1 recipient(s)")) << r.err;
}

}  // namespace
}  // namespace nullq::send::it

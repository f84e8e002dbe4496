// SMTP delivery through the real nullq-queue and nullq-send against the real test smart host
// (testhost::Server in-process: STARTTLS and implicit TLS with certificates made at test time, AUTH
// against its credentials, the SMTP script for per-recipient answers), all on 127.0.0.1.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>

#include "harness.hpp"
#include "nullq/testcerts.hpp"
#include "nullq/testhost.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

// LF endings and a line starting with "." (dot-stuffed on the wire, CRLF only).
const std::string kBody = "From: alice@example.org\nSubject: testhost\n\n.a line with a leading dot\nHello.\n";

std::size_t count(const std::vector<std::string>& v, const std::string& x) {
  std::size_t n = 0;
  for (const auto& s : v) n += s == x;
  return n;
}

class SmtpTestHost : public ::testing::Test {
 protected:
  TestSpool s;
  testhost::CertFiles certs;
  std::unique_ptr<testhost::Server> host;

  void SetUp() override {
    std::string dir = s.dir.path() + "/certs";
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    auto c = testhost::make_certs(dir);
    ASSERT_TRUE(c.ok()) << c.error().message();
    certs = *c;
  }
  // Starts the test host with a certificate pair (the good one unless told).
  void start(testhost::Options o, const std::string& cert = "", const std::string& key = "") {
    o.qmtp = o.qmqp = false;
    o.smtp = true;
    o.cert_file = cert.empty() ? certs.server_cert : cert;
    o.key_file = key.empty() ? certs.server_key : key;
    auto h = testhost::Server::start(std::move(o));
    ASSERT_TRUE(h.ok()) << h.error().message();
    host = std::move(h).value();
  }
  testhost::Options tls_options() const {
    testhost::Options o;
    o.caps.starttls = true;
    return o;
  }
  std::string smtp_url() const { return "smtp://127.0.0.1:" + std::to_string(host->smtp_port()); }
  std::string tls_line(const std::string& url, const std::string& extra = "") const {
    return "{url: '" + url + "', starttls: required, tls: {ca_file: " + certs.ca_cert + "}" + extra + "}";
  }
  // (b), (c): a certificate that does not verify is refused before any mail is sent.
  void expect_refused(const RunResult& r, const std::string& reason) {
    EXPECT_EQ(r.status, 75) << r.err;
    EXPECT_TRUE(host->received().empty()) << r.err;
    for (const auto& c : host->smtp_connections()) {
      EXPECT_EQ(count(c.commands, "MAIL"), 0u) << "no MAIL after a failed verification";
      EXPECT_EQ(count(c.commands, "RCPT"), 0u);
    }
    auto q = s.queued();
    ASSERT_EQ(q.size(), 1u) << r.err;
    EXPECT_TRUE(contains(r.err, reason)) << r.err;
    EXPECT_TRUE(contains(read_file(s.spool + "/queue/" + q[0]), reason)) << read_file(s.spool + "/queue/" + q[0]);
  }
};

// (a) STARTTLS with a certificate that verifies against the test CA.
TEST_F(SmtpTestHost, StartTlsWithAVerifiedCertificateDelivers) {
  start(tls_options());
  s.write_config({tls_line(smtp_url())});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty()) << r.err;
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_TRUE(got[0].tls);
  EXPECT_EQ(got[0].protocol, "smtp");
  EXPECT_EQ(got[0].sender, "alice@example.org");
  EXPECT_EQ(got[0].recipients, (std::vector<std::string>{"bob@example.org"}));
  EXPECT_TRUE(contains(got[0].message, "Subject: testhost\n\n.a line with a leading dot\nHello.\n")) << got[0].message;
  auto conns = host->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_TRUE(conns[0].tls);
  EXPECT_FALSE(conns[0].tls_version.empty());
  EXPECT_FALSE(conns[0].plaintext_after_starttls);
  EXPECT_EQ(count(conns[0].commands, "STARTTLS"), 1u);
}

TEST_F(SmtpTestHost, WrongNameCertificateIsRefusedAndTheMessageStaysQueued) {
  start(tls_options(), certs.wrong_name_cert, certs.wrong_name_key);
  s.write_config({tls_line(smtp_url())});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  expect_refused(r, "certificate verify failed: IP address mismatch (CN=wrong.example");
}

TEST_F(SmtpTestHost, ExpiredCertificateIsRefusedAndTheMessageStaysQueued) {
  start(tls_options(), certs.expired_cert, certs.expired_key);
  s.write_config({tls_line(smtp_url())});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  expect_refused(r, "certificate verify failed: certificate has expired (CN=localhost");
}

// (d) smtps:// (implicit TLS from the first byte).
TEST_F(SmtpTestHost, ImplicitTlsDelivers) {
  testhost::Options o;
  o.smtps = true;
  start(o);
  s.write_config({"{url: 'smtps://127.0.0.1:" + std::to_string(host->smtps_port()) + "', tls: {ca_file: " +
                  certs.ca_cert + "}}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_EQ(got[0].protocol, "smtps");
  EXPECT_TRUE(got[0].tls);
  auto conns = host->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(count(conns[0].commands, "STARTTLS"), 0u) << "already in TLS";
}

// (e) AUTH PLAIN with a password_file, over STARTTLS; several messages on one connection.
TEST_F(SmtpTestHost, AuthOncePerConnectionForSeveralMessagesAndThePasswordNeverLogged) {
  const std::string password = "Tr0ub4dor-x9";
  testhost::Options o = tls_options();
  o.caps.auth = true;
  o.credentials["relayuser"] = password;
  start(o);
  std::string secret = s.dir.path() + "/relay.secret";
  write_file(secret, password + "\n");
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  s.write_config({tls_line(smtp_url(), ", connections: 1, auth: {user: relayuser, password_file: " + secret + "}")},
                 "log:\n  level: debug\n");
  for (const char* rc : {"a@example.org", "b@example.org", "c@example.org"}) s.inject("alice@example.org", {rc}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  auto got = host->received();
  ASSERT_EQ(got.size(), 3u) << r.err;
  for (const auto& m : got) {
    EXPECT_EQ(m.auth_user, "relayuser");
    EXPECT_TRUE(m.tls);
    EXPECT_EQ(m.connection, got[0].connection) << "one connection carries every message";
  }
  auto conns = host->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].auth_attempts, 1u);
  EXPECT_EQ(count(conns[0].commands, "AUTH"), 1u);
  EXPECT_EQ(conns[0].auth_mechanism, "PLAIN");
  EXPECT_FALSE(conns[0].auth_before_tls);
  EXPECT_EQ(conns[0].messages, 3u);
  EXPECT_FALSE(contains(r.err, password)) << r.err;
  EXPECT_FALSE(contains(r.err, "AHJlbGF5dXNlcgBUcjB1YjRkb3IteDk=")) << "nor the AUTH PLAIN response";
  EXPECT_FALSE(contains(r.err, "VHIwdWI0ZG9yLXg5")) << "nor its base64 alone";
}

// (f) pipelining: MAIL, RCPTs and DATA in one write when PIPELINING is offered.
TEST_F(SmtpTestHost, PipelinesWhenOffered) {
  testhost::Options o;
  o.caps.pipelining = true;
  start(o);
  s.write_config({"{url: '" + smtp_url() + "', starttls: 'off'}"});
  s.inject("alice@example.org", {"bob@example.org", "carol@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_TRUE(got[0].pipelined);
  EXPECT_EQ(got[0].rcpts.size(), 2u);
}

TEST_F(SmtpTestHost, WithoutPipeliningWaitsForEachAnswer) {
  testhost::Options o;
  o.caps.pipelining = false;
  start(o);
  s.write_config({"{url: '" + smtp_url() + "', starttls: 'off'}"});
  s.inject("alice@example.org", {"bob@example.org", "carol@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_FALSE(got[0].pipelined);
}

// (g) LF endings and a leading dot: the wire has CRLF only, and the dot comes back un-stuffed.
TEST_F(SmtpTestHost, NeverSendsABareLf) {
  start(testhost::Options{});
  s.write_config({"{url: '" + smtp_url() + "', starttls: 'off'}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody + "..two dots\n.\nlast\n");
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_FALSE(got[0].bare_lf);
  EXPECT_TRUE(contains(got[0].message, "\n.a line with a leading dot\nHello.\n..two dots\n.\nlast\n")) << got[0].message;
  auto conns = host->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_FALSE(conns[0].bare_lf);
}

// SMTP smuggling (RFC 5321 §2.3.8): a bare CR in the message must not let a receiver that ends
// DATA at <CR>.<CR> read the rest as a second transaction in nullq's (authenticated) session.
// Every bare CR and LF goes out as CRLF, the dot on the line so made is doubled, and SIZE= counts
// exactly the bytes sent.
TEST_F(SmtpTestHost, BareCrCannotSmuggleASecondTransaction) {
  testhost::Options o;
  o.caps.size = 1000000;
  o.smtp_script = "cr-dot-cr";
  start(o);
  s.write_config({"{url: '" + smtp_url() + "', starttls: 'off'}"});
  const std::string smuggled = "MAIL FROM:<ceo@victim.example>\r\nRCPT TO:<mallory@example.net>\r\nDATA\r\n"
                               "Subject: wire the money\r\n\r\nsmuggled\r\n.\r\n";
  s.inject("alice@example.org", {"bob@example.org"}, "Subject: x\n\nline1\r.\r\r\n" + smuggled + "tail\n");
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty()) << r.err;
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_EQ(got[0].sender, "alice@example.org");
  // The queue keeps LF line ends (the CRLF of "\r\r\n" became LF there): on the wire the two
  // bare CRs are line ends and the dot between them is doubled.
  const std::size_t start = got[0].data.find("Subject: x\r\n");
  ASSERT_NE(start, std::string::npos) << got[0].data;
  EXPECT_EQ(got[0].data.substr(start),
            "Subject: x\r\n\r\nline1\r\n..\r\nMAIL FROM:<ceo@victim.example>\r\nRCPT TO:<mallory@example.net>\r\n"
            "DATA\r\nSubject: wire the money\r\n\r\nsmuggled\r\n..\r\ntail\r\n");
  EXPECT_FALSE(got[0].bare_cr);
  EXPECT_FALSE(got[0].bare_lf);
  EXPECT_EQ(got[0].mail_params, "SIZE=" + std::to_string(got[0].data.size() + 3)) << "SIZE= is what was sent";
  auto conns = host->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(count(conns[0].commands, "MAIL"), 1u) << "no second transaction";
  EXPECT_EQ(count(conns[0].commands, "DATA"), 1u);
}

// (h) per-recipient answers from the script: 250 delivered, 450 stays queued, 550 bounced.
TEST_F(SmtpTestHost, MixedRecipientAnswersDeliverDeferAndBounce) {
  testhost::Options o;
  o.smtp_script = "rcpt=250|450:4.2.0|550:5.1.1";
  start(o);
  s.write_config({"{url: '" + smtp_url() + "', starttls: 'off'}"});
  s.inject("alice@example.org", {"k@example.org", "z@example.org", "d@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto got = host->received();
  // The message for k, then the bounce to the sender for d (the script answers its one recipient
  // with the first answer of the cycle, 250).
  ASSERT_GE(got.size(), 1u) << r.err;
  EXPECT_EQ(got[0].recipients, (std::vector<std::string>{"k@example.org"}));
  ASSERT_EQ(got[0].rcpts.size(), 3u);
  EXPECT_EQ(got[0].rcpts[1].code, 450);
  EXPECT_EQ(got[0].rcpts[2].code, 550);
  ASSERT_EQ(got.size(), 2u) << r.err;
  EXPECT_EQ(got[1].sender, "");
  EXPECT_EQ(got[1].recipients, (std::vector<std::string>{"alice@example.org"}));
  EXPECT_TRUE(contains(got[1].message, "d@example.org")) << got[1].message;
  EXPECT_FALSE(contains(got[1].message, "Final-Recipient: rfc822; k@example.org"));
  EXPECT_FALSE(contains(got[1].message, "Final-Recipient: rfc822; z@example.org"));
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << r.err;
  EXPECT_EQ(pending_rcpts(s.spool + "/queue/" + q[0]), (std::vector<std::string>{"z@example.org"}));
  EXPECT_TRUE(contains(r.err, "status=bounced")) << r.err;
  EXPECT_TRUE(contains(r.err, "status=deferred")) << r.err;
}

}  // namespace
}  // namespace nullq::send::it

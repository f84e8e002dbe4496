// `nullq check` against an SMTP smart host: the real nullq program against the test smart host
// (testhost::Server in-process, STARTTLS with a certificate from the test CA, AUTH against its
// credentials) on 127.0.0.1. A check is a session without mail: nothing is ever recorded.
// CheckScheme: what check says about a server that offers AUTH when none is configured, and about a
// scheme that does not fit the port (the test host's smtp and smtps listeners).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "nullq/queue.hpp"
#include "nullq/testcerts.hpp"
#include "nullq/testhost.hpp"
#include "process.hpp"

using nullq::testing::program;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

namespace {

bool contains(const std::string& s, const std::string& p) { return s.find(p) != std::string::npos; }

std::size_t count_lines_with(const std::string& text, const std::string& p) {
  std::size_t n = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    n += text.substr(pos, eol - pos).find(p) != std::string::npos;
    pos = eol + 1;
  }
  return n;
}

class CheckSmtp : public ::testing::Test {
 protected:
  const std::string password = "c0rrect-h0rse";
  TempDir tmp_;
  nullq::testhost::CertFiles certs_;
  std::unique_ptr<nullq::testhost::Server> host_;
  std::string secret_;

  void SetUp() override {
    ASSERT_EQ(::mkdir((tmp_ / "certs").c_str(), 0700), 0);
    auto c = nullq::testhost::make_certs(tmp_ / "certs");
    ASSERT_TRUE(c.ok()) << c.error().message();
    certs_ = *c;
    nullq::testhost::Options o;
    o.qmtp = o.qmqp = false;
    o.smtp = true;
    o.caps.starttls = true;
    o.caps.auth = true;
    o.credentials["relayuser"] = password;
    o.cert_file = certs_.server_cert;
    o.key_file = certs_.server_key;
    auto h = nullq::testhost::Server::start(std::move(o));
    ASSERT_TRUE(h.ok()) << h.error().message();
    host_ = std::move(h).value();
    secret_ = tmp_ / "relay.secret";
  }
  nullq::testing::Run check(const std::string& pass) {
    tmp_.write("relay.secret", pass + "\n");
    EXPECT_EQ(::chmod(secret_.c_str(), 0600), 0);
    tmp_.write("nullq.yaml", "hostname: box.example.org\nsmarthosts:\n  - {url: 'smtp://127.0.0.1:" +
                                 std::to_string(host_->smtp_port()) + "', starttls: required, tls: {ca_file: " +
                                 certs_.ca_cert + "}, auth: {user: relayuser, password_file: " + secret_ +
                                 "}}\nqueue:\n  dir: " + (tmp_ / "spool") + "\n");
    EXPECT_TRUE(nullq::queue::ensure_spool(nullq::queue::Spool{tmp_ / "spool"}).ok());  // check looks at it too
    RunOptions o;
    o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}};
    return run({program("nullq"), "check"}, o);
  }
};

TEST_F(CheckSmtp, ShowsBannerExtensionsTlsCertificateAndAuth) {
  auto r = check(password);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const std::string port = std::to_string(host_->smtp_port());
  const std::string line = "smtp://127.0.0.1:" + port + ": 127.0.0.1:" + port + " ";
  EXPECT_TRUE(contains(r.out, line + "banner: 220 testhost ESMTP\n")) << r.out;
  // The extensions of the EHLO after STARTTLS (STARTTLS itself is no longer offered there).
  EXPECT_TRUE(contains(r.out, line + "extensions: PIPELINING, 8BITMIME, AUTH PLAIN LOGIN, ENHANCEDSTATUSCODES\n")) << r.out;
  EXPECT_TRUE(contains(r.out, line + "TLS: TLSv1.3 ")) << r.out;
  EXPECT_TRUE(contains(r.out, ", certificate verified; subject CN=localhost,O=nullq test; issuer CN=nullq test CA")) << r.out;
  EXPECT_TRUE(contains(r.out, line + "AUTH as relayuser: ok\n")) << r.out;
  EXPECT_TRUE(contains(r.out, line + "ok\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "nullq check: OK")) << r.out;
  EXPECT_FALSE(contains(r.out + r.err, password));
  ASSERT_TRUE(host_->wait_for_closed(1, std::chrono::seconds(10)));
  EXPECT_TRUE(host_->received().empty()) << "a check sends no mail";
  auto conns = host_->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_TRUE(conns[0].tls);
  EXPECT_EQ(conns[0].auth_user, "relayuser");
  for (const auto& c : conns[0].commands) EXPECT_NE(c, "MAIL");
  EXPECT_TRUE(conns[0].quit);
}

// The session comes from `source:`; one that is not this machine's address is the host's problem.
TEST_F(CheckSmtp, ASourceThatCannotBeBoundIsAProblem) {
  tmp_.write("nullq.yaml", "hostname: box.example.org\nsmarthosts:\n  - {url: 'smtp://127.0.0.1:" +
                               std::to_string(host_->smtp_port()) + "', starttls: 'off', source: 192.0.2.10}\n" +
                               "queue:\n  dir: " + (tmp_ / "spool") + "\n");
  ASSERT_TRUE(nullq::queue::ensure_spool(nullq::queue::Spool{tmp_ / "spool"}).ok());
  RunOptions o;
  o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}};
  auto r = run({program("nullq"), "check"}, o);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "127.0.0.1:" + std::to_string(host_->smtp_port()) +
                                  " problem: cannot bind the source address 192.0.2.10: address not available\n"))
      << r.out;
  EXPECT_EQ(host_->smtp_connections().size(), 0u) << "nothing reached the server";
}

TEST_F(CheckSmtp, WrongPasswordIsOneLineAndNonZeroExit) {
  auto r = check("not-the-password");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(count_lines_with(r.out, "the server rejected the user name or password"), 1u) << r.out;
  const std::string port = std::to_string(host_->smtp_port());
  EXPECT_TRUE(contains(r.out, "smtp://127.0.0.1:" + port + ": 127.0.0.1:" + port +
                                  " problem: authentication failed: the server rejected the user name or password "
                                  "(535 5.7.8 authentication failed); check auth.user and the password_file\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "AUTH as relayuser: not done\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "nullq check: 1 problem(s)")) << r.out;
  EXPECT_FALSE(contains(r.out + r.err, "not-the-password")) << r.out;
  ASSERT_TRUE(host_->wait_for_closed(1, std::chrono::seconds(10)));
  EXPECT_TRUE(host_->received().empty());
  auto conns = host_->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].auth_attempts, 1u);
  EXPECT_TRUE(conns[0].auth_user.empty());
  for (const auto& c : conns[0].commands) EXPECT_NE(c, "MAIL");
}

// A test host with both listeners (STARTTLS and AUTH offered on the plain one), and `nullq check`
// against one smart host line.
class CheckScheme : public ::testing::Test {
 protected:
  TempDir tmp_;
  nullq::testhost::CertFiles certs_;
  std::unique_ptr<nullq::testhost::Server> host_;

  void SetUp() override {
    ASSERT_EQ(::mkdir((tmp_ / "certs").c_str(), 0700), 0);
    auto c = nullq::testhost::make_certs(tmp_ / "certs");
    ASSERT_TRUE(c.ok()) << c.error().message();
    certs_ = *c;
    nullq::testhost::Options o;
    o.qmtp = o.qmqp = false;
    o.smtp = o.smtps = true;
    o.caps.starttls = true;
    o.caps.auth = true;
    o.credentials["relayuser"] = "pw";
    o.cert_file = certs_.server_cert;
    o.key_file = certs_.server_key;
    auto h = nullq::testhost::Server::start(std::move(o));
    ASSERT_TRUE(h.ok()) << h.error().message();
    host_ = std::move(h).value();
  }
  // `url` with the test CA; `more` is added to the file (an smtp: section).
  nullq::testing::Run check(const std::string& url, const std::string& more = "", std::vector<std::string> extra = {}) {
    tmp_.write("nullq.yaml", "hostname: box.example.org\nsmarthosts:\n  - {url: '" + url + "', tls: {ca_file: " +
                                 certs_.ca_cert + "}}\nqueue:\n  dir: " + (tmp_ / "spool") + "\n" + more);
    EXPECT_TRUE(nullq::queue::ensure_spool(nullq::queue::Spool{tmp_ / "spool"}).ok());
    RunOptions o;
    o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}};
    std::vector<std::string> argv{program("nullq"), "check"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, o);
  }
  void no_mail_was_sent() {
    EXPECT_TRUE(host_->received().empty()) << "a check sends no mail";
    for (const auto& c : host_->smtp_connections())
      for (const auto& v : c.commands) EXPECT_NE(v, "MAIL");
  }
};

// Every MAIL gets 530/554 from a relay that requires AUTH: say so before the first message.
TEST_F(CheckScheme, AuthOfferedWithoutAuthConfiguredIsAWarningThatNamesTheFix) {
  const std::string url = "smtp://127.0.0.1:" + std::to_string(host_->smtp_port());
  auto r = check(url);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const std::string addr = "127.0.0.1:" + std::to_string(host_->smtp_port());
  EXPECT_TRUE(contains(r.out, url + ": " + addr +
                                  " warning: the server offers AUTH PLAIN LOGIN but no auth is configured; if it "
                                  "requires AUTH, every MAIL will be refused: add auth: {user: NAME, password_file: "
                                  "FILE} to this smart host\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "nullq check: OK")) << r.out;
  ASSERT_TRUE(host_->wait_for_closed(1, std::chrono::seconds(10)));
  no_mail_was_sent();
}

// smtp:// to a port where the server waits for a TLS handshake (465): no banner comes. check waits
// smtp.banner_timeout (1s here, not a fixed 30s), then finds that the server speaks TLS at once.
TEST_F(CheckScheme, SmtpToAnImplicitTlsPortSaysUseSmtps) {
  const std::string port = std::to_string(host_->smtps_port());
  const std::string url = "smtp://127.0.0.1:" + port;
  auto r = check(url, "smtp:\n  banner_timeout: 1s\n");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, url + ": 127.0.0.1:" + port + " banner: (none)\n")) << r.out;
  EXPECT_TRUE(contains(r.out, url + ": 127.0.0.1:" + port +
                                  " problem: no banner within 1s (smtp.banner_timeout); the server speaks TLS at once "
                                  "(implicit TLS, as on port 465) and sends no banner before it: use smtps://127.0.0.1:" +
                                  port + " instead of smtp://\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "nullq check: 1 problem(s)")) << r.out;
  ASSERT_TRUE(host_->wait_for_closed(2, std::chrono::seconds(10)));
  auto conns = host_->smtp_connections();
  ASSERT_EQ(conns.size(), 2u);
  EXPECT_TRUE(conns[1].tls) << "the second look is a TLS handshake";
  no_mail_was_sent();
}

// smtps:// to a port that greets in plain text (587, 25): OpenSSL would only say "wrong version
// number"; check looks at what the server sends and names the scheme that fits.
TEST_F(CheckScheme, SmtpsToAPlainTextPortSaysUseSmtp) {
  const std::string port = std::to_string(host_->smtp_port());
  const std::string url = "smtps://127.0.0.1:" + port;
  auto r = check(url);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, url + ": 127.0.0.1:" + port +
                                  " problem: the server greets in plain text (220 testhost ESMTP), it does not speak "
                                  "TLS at once: use smtp://127.0.0.1:" +
                                  port + " (STARTTLS) instead of smtps://\n"))
      << r.out;
  EXPECT_FALSE(contains(r.out, "wrong version number")) << r.out;
  EXPECT_TRUE(contains(r.out, "nullq check: 1 problem(s)")) << r.out;
  ASSERT_TRUE(host_->wait_for_closed(2, std::chrono::seconds(10)));
  no_mail_was_sent();
}

// The right schemes on the same listeners are fine: the hint comes from what the server does.
TEST_F(CheckScheme, FittingSchemesAreOk) {
  auto r = check("smtps://127.0.0.1:" + std::to_string(host_->smtps_port()));
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_FALSE(contains(r.out, "instead of")) << r.out;
  r = check("smtp://127.0.0.1:" + std::to_string(host_->smtp_port()), "smtp:\n  banner_timeout: 1s\n");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_FALSE(contains(r.out, "instead of")) << r.out;
}

// check --send: one real message through nullq-sendmail and nullq-send --once, each step said.
TEST_F(CheckScheme, SendDeliversOneTestMessageAndSaysEachStep) {
  const std::string url = "smtp://127.0.0.1:" + std::to_string(host_->smtp_port());
  auto r = check(url, "", {"--send", "ops@example.net"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "nullq check: OK\nsend: queued for <ops@example.net> as ")) << r.out;
  EXPECT_TRUE(contains(r.out, " delivered: a smart host accepted it\n")) << r.out;
  ASSERT_TRUE(host_->wait_for(1, std::chrono::seconds(10)));
  auto got = host_->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].recipients, std::vector<std::string>{"ops@example.net"});
  EXPECT_TRUE(contains(got[0].message, "Subject: nullq check: test message from box.example.org\n")) << got[0].message;
  EXPECT_TRUE(got[0].tls);
}

TEST_F(CheckScheme, SendThatIsDeferredSaysWhyAndKeepsTheMessage) {
  ASSERT_TRUE(host_->set_smtp_script("rcpt=451:4.3.0").ok());
  const std::string url = "smtp://127.0.0.1:" + std::to_string(host_->smtp_port());
  auto r = check(url, "", {"--send", "ops@example.net"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, " not delivered, kept for a later attempt: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "451 4.3.0")) << r.out;
  EXPECT_EQ(nullq::testing::list_dir(tmp_ / "spool/queue").size(), 1u);
  auto bad = check(url, "", {"--send"});
  EXPECT_EQ(bad.code, 64);
  EXPECT_EQ(bad.err.rfind("nullq: check --send needs one address\n", 0), 0u) << bad.err;
}

}  // namespace

// Failover between SMTP smart hosts when the failure is about the host, not the mail: a certificate
// that does not verify, a banner that never comes, AUTH refused (535). The real nullq-queue and
// nullq-send against two test smart hosts on 127.0.0.1: the first fails, the mail goes through the
// second in the same run, and the first's failure is in the log.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>

#include "harness.hpp"
#include "nullq/testcerts.hpp"
#include "nullq/testhost.hpp"

namespace nullq::send::it {
namespace {

const std::string kBody = "From: alice@example.org\nSubject: failover\n\nHello.\n";

class SmtpFailover : public ::testing::Test {
 protected:
  TestSpool s;
  testhost::CertFiles certs;
  std::unique_ptr<testhost::Server> first, second;

  void SetUp() override {
    std::string dir = s.dir.path() + "/certs";
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    auto c = testhost::make_certs(dir);
    ASSERT_TRUE(c.ok()) << c.error().message();
    certs = *c;
  }
  std::unique_ptr<testhost::Server> start(testhost::Options o, const std::string& cert, const std::string& key) {
    o.qmtp = o.qmqp = false;
    o.smtp = true;
    o.caps.starttls = true;
    o.cert_file = cert;
    o.key_file = key;
    auto h = testhost::Server::start(std::move(o));
    EXPECT_TRUE(h.ok()) << h.error().message();
    return h.ok() ? std::move(h).value() : nullptr;
  }
  std::string line(const testhost::Server& h, const std::string& extra = "") const {
    return "{url: 'smtp://127.0.0.1:" + std::to_string(h.smtp_port()) + "', starttls: required, tls: {ca_file: " +
           certs.ca_cert + "}" + extra + "}";
  }
  // The mail went through the second host in this one run; the first got no MAIL.
  void expect_delivered_by_second(const RunResult& r, const std::string& first_failure) {
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(s.queued().empty()) << r.err;
    EXPECT_TRUE(s.failed().empty()) << r.err;
    EXPECT_TRUE(first->received().empty());
    for (const auto& c : first->smtp_connections())
      for (const auto& v : c.commands) EXPECT_NE(v, "MAIL") << "no MAIL to the failing host";
    auto got = second->received();
    ASSERT_EQ(got.size(), 1u) << r.err;
    EXPECT_EQ(got[0].recipients, (std::vector<std::string>{"bob@example.org"}));
    EXPECT_TRUE(got[0].tls);
    const std::string addr1 = "127.0.0.1:" + std::to_string(first->smtp_port());
    EXPECT_TRUE(contains(r.err, "addr=" + addr1)) << r.err;
    EXPECT_TRUE(contains(r.err, first_failure)) << r.err;
    EXPECT_TRUE(contains(r.err, "status=sent")) << r.err;
  }
};

TEST_F(SmtpFailover, CertificateForTheWrongAddressMovesToTheNextHost) {
  first = start({}, certs.wrong_name_cert, certs.wrong_name_key);
  second = start({}, certs.server_cert, certs.server_key);
  ASSERT_TRUE(first && second);
  s.write_config({line(*first), line(*second)});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  expect_delivered_by_second(r, "certificate verify failed: IP address mismatch");
}

TEST_F(SmtpFailover, BannerThatNeverComesMovesToTheNextHost) {
  testhost::Options o;
  o.smtp_script = "hang=banner";
  first = start(o, certs.server_cert, certs.server_key);
  second = start({}, certs.server_cert, certs.server_key);
  ASSERT_TRUE(first && second);
  s.write_config({line(*first), line(*second)}, "smtp:\n  banner_timeout: 1s\n");
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  expect_delivered_by_second(r, "status=deferred");
  EXPECT_EQ(first->connections(), 1u);
}

TEST_F(SmtpFailover, AuthRefusedMovesToTheNextHost) {
  testhost::Options o1;
  o1.caps.auth = true;
  o1.credentials["relayuser"] = "a different password";
  testhost::Options o2;
  o2.caps.auth = true;
  o2.credentials["relayuser"] = "s3cret-pw";
  first = start(o1, certs.server_cert, certs.server_key);
  second = start(o2, certs.server_cert, certs.server_key);
  ASSERT_TRUE(first && second);
  std::string secret = s.dir.path() + "/relay.secret";
  write_file(secret, "s3cret-pw\n");
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  const std::string auth = ", auth: {user: relayuser, password_file: " + secret + "}";
  s.write_config({line(*first, auth), line(*second, auth)});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  expect_delivered_by_second(r, "authentication failed: the server rejected the user name or password (535");
  auto got = second->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].auth_user, "relayuser");
}

// Both hosts fail before MAIL: each is tried once in the run, and the message stays queued.
TEST_F(SmtpFailover, EveryHostFailingAtSetupKeepsTheMessageQueued) {
  first = start({}, certs.wrong_name_cert, certs.wrong_name_key);
  second = start({}, certs.expired_cert, certs.expired_key);
  ASSERT_TRUE(first && second);
  s.write_config({line(*first), line(*second)});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  ASSERT_EQ(s.queued().size(), 1u) << r.err;
  EXPECT_TRUE(first->received().empty());
  EXPECT_TRUE(second->received().empty());
  EXPECT_TRUE(contains(r.err, "IP address mismatch")) << r.err;
  EXPECT_TRUE(contains(r.err, "certificate has expired")) << r.err;
  EXPECT_EQ(first->connections(), 1u);
  EXPECT_EQ(second->connections(), 1u);
}

}  // namespace
}  // namespace nullq::send::it

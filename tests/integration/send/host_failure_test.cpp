// Failures that are the smart host's (AUTH refused, every address refused) are not charged to the
// mail: it stays queued with its attempt count unchanged, and the host is held and logged once.
// The real nullq-queue and nullq-send against the scripted ESMTP server; OAuth client secrets
// follow the password_file rules at start.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "fake_server.hpp"
#include "harness.hpp"
#include "smtp_fake_server.hpp"

namespace nullq::send::it {
namespace {

const std::string kBody = "From: alice@example.org\nSubject: host\n\nHello.\n";

std::size_t count_of(const std::string& s, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t pos = s.find(part); pos != std::string::npos; pos = s.find(part, pos + part.size())) ++n;
  return n;
}

class HostFailure : public ::testing::Test {
 protected:
  TestSpool s;
  SmtpFakeServer srv;
  std::string secret_path;
  void SetUp() override {
    srv.auth_user = "relayuser";
    srv.auth_password = "the-right-one";
    secret_path = s.dir.path() + "/relay.secret";
    write_file(secret_path, "a-wrong-one\n");
    ::chmod(secret_path.c_str(), 0600);
  }
  std::string auth_host() const {
    return "{url: '" + srv.url() + "', starttls: 'off', auth: {user: relayuser, password_file: " + secret_path +
           ", allow_plaintext: true}}";
  }
};

TEST_F(HostFailure, RefusedAuthIsNotChargedToTheMail) {
  s.write_config({auth_host()}, "", "  retry_min: 5m\n  retry_max: 1h\n");
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  s.inject("alice@example.org", {"carol@example.org"}, kBody);
  const long long before = static_cast<long long>(std::time(nullptr));
  RunResult r = s.once();
  const long long after = static_cast<long long>(std::time(nullptr));
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 2u) << r.err;
  for (const auto& name : q) {
    QueueName n = parse_name(name);
    EXPECT_EQ(n.attempts, 0u) << "the host's failure is not the message's: " << name;
    // Back when the host's hold (retry_min at first) ends.
    EXPECT_GE(n.next, before + 300) << name;
    EXPECT_LE(n.next, after + 300) << name;
  }
  EXPECT_TRUE(srv.transactions().empty());
  // One line for the host, not one per message.
  EXPECT_EQ(count_of(r.err, srv.url() + ": cannot take mail ("), 1u) << r.err;
  EXPECT_TRUE(contains(r.err, "without an attempt charged to them; next try in 5m")) << r.err;
  EXPECT_FALSE(contains(r.err, "a-wrong-one")) << r.err;
}

TEST_F(HostFailure, AHostThatRefusesConnectionsIsNotChargedEither) {
  s.write_config({"qmtp://127.0.0.1:" + std::to_string(closed_port())});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << r.err;
  EXPECT_EQ(parse_name(q[0]).attempts, 0u) << r.err;
}

TEST_F(HostFailure, AnAnswerAboutTheMailIsCharged) {
  srv.auth_password.clear();  // no AUTH offered
  srv.dot_reply = "451 4.3.0 try later";
  s.write_config({"{url: '" + srv.url() + "', starttls: 'off'}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << r.err;
  EXPECT_EQ(parse_name(q[0]).attempts, 1u) << r.err;
  EXPECT_FALSE(contains(r.err, "cannot take mail")) << r.err;
}

TEST_F(HostFailure, AFailingHostIsHeldWhileTheNextOneDelivers) {
  SmtpFakeServer good;
  s.write_config({auth_host(), "{url: '" + good.url() + "', starttls: 'off'}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty());
  ASSERT_EQ(good.transactions().size(), 1u) << r.err;
  EXPECT_EQ(count_of(r.err, srv.url() + ": cannot take mail ("), 1u) << r.err;
}

// An OAuth smart host (its token manager made at start, closed at the end) that the mail cannot
// get through: nullq-send starts, keeps the mail without charging it, and ends cleanly (the
// sanitizer build checks that no handle or child is left behind).
TEST_F(HostFailure, AnOAuthHostKeepsTheMailAndTheRunEndsCleanly) {
  const std::string cmd = s.dir.path() + "/token-command";
  write_file(cmd, "#!/bin/sh\necho tok3n-never-logged\n");
  ::chmod(cmd.c_str(), 0755);
  s.write_config({"{url: '" + srv.url() + "', starttls: 'off', auth: {user: relayuser, allow_plaintext: true, oauth: "
                  "{token_command: [" + cmd + "], timeout: 5s}}}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << r.err;
  EXPECT_EQ(parse_name(q[0]).attempts, 0u) << r.err;
  EXPECT_TRUE(srv.transactions().empty());
  EXPECT_FALSE(contains(r.err, "tok3n-never-logged")) << r.err;
}

TEST_F(HostFailure, AClientSecretOthersCanReadRefusesToStart) {
  const std::string client_secret = s.dir.path() + "/client.secret";
  write_file(client_secret, "cl1ent-s3cret\n");
  ::chmod(client_secret.c_str(), 0644);
  s.write_config({"{url: '" + srv.url() + "', auth: {user: alerts@example.com, oauth: {provider: microsoft, flow: "
                  "client_credentials, tenant: example.onmicrosoft.com, client_id: abc, client_secret_file: " +
                  client_secret + "}}}"});
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 78) << r.err;
  EXPECT_TRUE(contains(r.err, "client_secret_file " + client_secret + ": others may read or write it (mode 0644)"))
      << r.err;
  EXPECT_FALSE(contains(r.err, "cl1ent-s3cret"));
  EXPECT_EQ(srv.connections(), 0u);
  EXPECT_EQ(s.incoming().size() + s.queued().size(), 1u) << "nothing lost";
}

}  // namespace
}  // namespace nullq::send::it

// SMTP smart host keys, the smtp section and password_file reading.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "nullq/config.hpp"

namespace nullq::config {
namespace {

std::string err(const std::string& yaml) {
  auto c = parse_only(yaml, "nullq.yaml");
  return c.ok() ? std::string() : c.error().detail;
}

TEST(SmtpConfig, UrlsAndDefaults) {
  auto a = parse_smarthost("smtp://relay.example.org");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->protocol, Protocol::smtp);
  EXPECT_EQ(a->effective_port(), 25);
  EXPECT_EQ(a->starttls, StartTls::opportunistic);
  auto b = parse_smarthost("smtp://relay.example.org:587");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->starttls, StartTls::required) << "587 implies STARTTLS required";
  auto c = parse_smarthost("smtps://[2001:db8::1]");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->effective_port(), 465);
  EXPECT_EQ(c->host, "2001:db8::1");
  auto d = parse_smarthost("smtp://user:pw@relay.example.org");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().detail.find("no user or password in the URL"), std::string::npos);
  EXPECT_EQ(d.error().detail.find("pw@"), std::string::npos) << "the secret is not echoed";
}

TEST(SmtpConfig, PerHostKeysAndSmtpSection) {
  auto c = parse_only(
      "smarthosts:\n"
      "  - url: smtp://relay.example.org:2525\n"
      "    starttls: off\n"
      "    auth: {user: me, password_file: /etc/nullq/pw, allow_plaintext: true}\n"
      "  - url: smtps://smtp.example.net\n"
      "    tls: {verify: false, ca_file: /etc/ca.pem, min_version: 1.3}\n"
      "smtp:\n  helo: me.example.org\n  mx_tls: encrypt\n  dot_timeout: 20m\n",
      "nullq.yaml");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  const SmartHost& h = c->smarthosts[0];
  EXPECT_EQ(h.starttls, StartTls::off);
  EXPECT_EQ(h.auth_user, "me");
  EXPECT_EQ(h.password_file, "/etc/nullq/pw");
  EXPECT_TRUE(h.allow_plaintext);
  EXPECT_FALSE(h.password) << "load() never reads the secret";
  const SmartHost& t = c->smarthosts[1];
  EXPECT_FALSE(t.tls.verify);
  EXPECT_EQ(t.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(t.tls.min_version, TlsVersion::tls1_3);
  EXPECT_EQ(c->smtp.helo, "me.example.org");
  EXPECT_EQ(c->smtp.mx_tls, MxTls::encrypt);
  EXPECT_EQ(c->smtp.dot_timeout.count(), 1200);
  EXPECT_EQ(c->smtp.banner_timeout.count(), 300);
}

TEST(SmtpConfig, BadKeysSayWhat) {
  EXPECT_EQ(err("smarthosts:\n  - {url: 'smtp://r', auth: {user: u, password: hunter2}}\n").find("nullq.yaml:2: "
                                                                                                  "passwords do not go"),
            0u);
  EXPECT_EQ(err("smarthosts:\n  - {url: 'smtp://r', auth: {user: u, password: hunter2}}\n").find("hunter2"),
            std::string::npos);
  EXPECT_NE(err("smarthosts:\n  - {url: 'qmtp://r', starttls: off}\n").find("'starttls' is only for smtp://"),
            std::string::npos);
  EXPECT_NE(err("smarthosts:\n  - {url: 'smtp://r', starttls: sometimes}\n")
                .find("'starttls' must be required, opportunistic or off, not 'sometimes'"),
            std::string::npos);
  EXPECT_NE(err("smarthosts:\n  - {url: 'smtp://r', auth: {user: u}}\n").find("'auth' needs 'password_file'"),
            std::string::npos);
  EXPECT_NE(err("smarthosts:\n  - {url: 'smtp://r', auth: {user: u, password_file: rel}}\n")
                .find("'auth.password_file' must be an absolute path"),
            std::string::npos);
  EXPECT_NE(err("smarthosts:\n  - {url: 'smtp://r', auth: {user: u, password_file: /p, allow_plaintext: true}}\n")
                .find("'auth.allow_plaintext' needs 'starttls: off'"),
            std::string::npos);
  EXPECT_NE(err("smarthosts:\n  - {url: 'smtp://r', tls: {cert_file: /c}}\n").find("go together"), std::string::npos);
  EXPECT_NE(err("smtp:\n  mx_tls: always\n").find("'smtp.mx_tls' must be may, verify or encrypt"), std::string::npos);
  EXPECT_NE(err("smarthosts:\n  - {url: 'smtp://r', tls: {min_version: 1.1}}\n").find("must be 1.2 or 1.3"),
            std::string::npos);
}

class Secret : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nullq-secret-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/pw";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  Config with_file(const std::string& text, mode_t mode) {
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
    auto c = parse_only("smarthosts:\n  - {url: 'smtp://r', auth: {user: u, password_file: " + path_ + "}}\n", "n");
    EXPECT_TRUE(c.ok());
    return *c;
  }
  std::string dir_, path_;
};

TEST_F(Secret, ReadsOneLine) {
  Config c = with_file("p4ss word\n", 0600);
  ASSERT_TRUE(load_secrets(c).ok());
  ASSERT_TRUE(c.smarthosts[0].password);
  EXPECT_EQ(*c.smarthosts[0].password, "p4ss word");
}

TEST_F(Secret, RefusesWhatOthersCanReadAndSaysHowToFixIt) {
  Config c = with_file("p4ss\n", 0644);
  auto s = load_secrets(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().detail, "smtp://r: password_file " + path_ + ": others may read or write it (mode 0644); run chmod o-rwx " + path_);
  EXPECT_EQ(s.error().detail.find("p4ss"), std::string::npos);
  EXPECT_FALSE(c.smarthosts[0].password);
}

TEST_F(Secret, RefusesMissingEmptyAndMultiLineFiles) {
  Config c = with_file("", 0600);
  auto s = load_secrets(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().detail.find(": is empty"), std::string::npos);
  c = with_file("a\nb\n", 0600);
  s = load_secrets(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().detail.find("must hold one line"), std::string::npos);
  ::unlink(path_.c_str());
  s = load_secrets(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().detail.find("No such file or directory"), std::string::npos);
}

TEST_F(Secret, RefusesASymbolicLinkNamingTheFile) {
  Config c = with_file("p4ss\n", 0600);
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(path_.c_str(), link.c_str()), 0);
  c.smarthosts[0].password_file = link;
  auto s = load_secrets(c);
  ::unlink(link.c_str());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().detail, "smtp://r: password_file " + link + ": is a symbolic link; name the file itself");
  EXPECT_FALSE(c.smarthosts[0].password);
}

TEST_F(Secret, RefusesWhatItsGroupCanWrite) {
  Config c = with_file("p4ss\n", 0620);
  auto s = load_secrets(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().detail, "smtp://r: password_file " + path_ + ": its group may write it (mode 0620); run chmod g-w " + path_);
  EXPECT_FALSE(c.smarthosts[0].password);
  // Group-readable is how root:nullq 0640 works.
  c = with_file("p4ss\n", 0640);
  EXPECT_TRUE(load_secrets(c).ok());
}

TEST_F(Secret, RefusesAFileOwnedByNeitherRootNorTheReader) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving the file away needs root";
  Config c = with_file("p4ss\n", 0600);
  ASSERT_EQ(::chown(path_.c_str(), 65534, 65534), 0);
  auto s = load_secrets(c);
  ASSERT_FALSE(s.ok());
  const std::string detail = s.error().detail;
  EXPECT_EQ(detail.rfind("smtp://r: password_file " + path_ + ": owned by ", 0), 0u) << detail;
  EXPECT_NE(detail.find(", not by root or root (who reads it); run chown root " + path_), std::string::npos) << detail;
  EXPECT_EQ(detail.find('\n'), std::string::npos);
  EXPECT_FALSE(c.smarthosts[0].password);
}

// Last: it makes this test process non-dumpable, as nullq-send and nullq check become.
TEST_F(Secret, AProcessHoldingASecretIsNotDumpable) {
  Config c = with_file("p4ss\n", 0600);
  ASSERT_TRUE(load_secrets(c).ok());
  EXPECT_EQ(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

}  // namespace
}  // namespace nullq::config

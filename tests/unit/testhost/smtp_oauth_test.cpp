// The test host's XOAUTH2 and OAUTHBEARER (smtp_auth.cpp) over a real loopback socket, driven by a
// plain blocking client: what EHLO offers, a live token, a dead one (the 334 error JSON, then 535
// after the client's right answer, 501 after a wrong one), OAUTHBEARER's host/port check, and
// malformed responses.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "nullq/smtp.hpp"
#include "nullq/testhost.hpp"

using nullq::testhost::Options;
using nullq::testhost::Server;
namespace smtp = nullq::proto::smtp;
using namespace std::chrono_literals;

namespace {

// Blocking line client, 5 s per wait.
class Line {
 public:
  explicit Line(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Line() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // One whole reply; "" at EOF or after 5 s.
  std::string reply() {
    for (;;) {
      for (std::size_t start = 0;;) {
        std::size_t lf = buf_.find("\r\n", start);
        if (lf == std::string::npos) break;
        if (lf - start >= 4 && buf_[start + 3] == ' ') {
          std::string r = buf_.substr(0, lf + 2);
          buf_.erase(0, lf + 2);
          return r;
        }
        start = lf + 2;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) return "";
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return "";
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }
  std::string command(const std::string& line) {
    std::string s = line + "\r\n";
    EXPECT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
    return reply();
  }
  std::string greet() {
    reply();
    return command("EHLO client.test");
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

constexpr const char* good = "ya29.good";

struct Checks {
  std::mutex mu;
  std::vector<std::string> seen;  // "user token"
};

class SmtpOauthHost : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }
  std::unique_ptr<Server> start(Options o, bool with_check = true) {
    o.qmtp = o.qmqp = false;
    o.smtp = true;
    if (with_check) {
      o.oauth_check = [c = &checks_](std::string_view user, std::string_view token) -> std::string {
        std::lock_guard lock(c->mu);
        c->seen.push_back(std::string(user) + " " + std::string(token));
        return user == "joe@x" && token == good ? "" : "invalid_token";
      };
    }
    auto s = Server::start(std::move(o));
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(s).value() : nullptr;
  }
  Checks checks_;
};

std::string xoauth2(const std::string& user, const std::string& token) {
  return smtp::base64("user=" + user + "\x01" "auth=Bearer " + token + "\x01\x01");
}

TEST_F(SmtpOauthHost, EhloOffersWhatTheOptionsSay) {
  {
    auto srv = start(Options{});
    Line c(srv->smtp_port());
    EXPECT_NE(c.greet().find("250-AUTH XOAUTH2 OAUTHBEARER\r\n"), std::string::npos);
  }
  {
    Options o;
    o.caps.auth = true;
    auto srv = start(o);
    Line c(srv->smtp_port());
    EXPECT_NE(c.greet().find("250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n"), std::string::npos);
  }
  {
    Options o;
    auto caps = nullq::testhost::parse_caps("xoauth2,ENHANCEDSTATUSCODES");
    ASSERT_TRUE(caps);
    EXPECT_TRUE(caps->xoauth2);
    EXPECT_FALSE(caps->oauthbearer || caps->auth);
    o.caps = *caps;
    auto srv = start(o);
    Line c(srv->smtp_port());
    EXPECT_NE(c.greet().find("250-AUTH XOAUTH2\r\n"), std::string::npos);
    EXPECT_EQ(c.command("AUTH OAUTHBEARER"), "504 5.5.4 mechanism not supported\r\n");
    EXPECT_EQ(c.command("AUTH PLAIN AGpvZQBw"), "504 5.5.4 mechanism not supported\r\n");
  }
  {
    auto srv = start(Options{}, false);  // no check, no OAuth caps: no AUTH at all
    Line c(srv->smtp_port());
    EXPECT_EQ(c.greet().find("AUTH"), std::string::npos);
    EXPECT_EQ(c.command("AUTH XOAUTH2 " + xoauth2("joe@x", good)), "502 5.5.1 AUTH not offered\r\n");
  }
  auto both = nullq::testhost::parse_caps("OAuthBearer,XOAUTH2");
  ASSERT_TRUE(both);
  EXPECT_TRUE(both->xoauth2 && both->oauthbearer);
}

TEST_F(SmtpOauthHost, Xoauth2LiveTokenIsAcceptedAndRecorded) {
  auto srv = start(Options{});
  {
    Line c(srv->smtp_port());
    c.greet();
    EXPECT_EQ(c.command("AUTH XOAUTH2 " + xoauth2("joe@x", good)), "235 2.7.0 authenticated\r\n");
    c.command("QUIT");
  }
  ASSERT_TRUE(srv->wait_for_closed(1, 5s));
  auto conn = srv->smtp_connections().at(0);
  EXPECT_EQ(conn.auth_mechanism, "XOAUTH2");
  EXPECT_EQ(conn.auth_user, "joe@x");
  std::lock_guard lock(checks_.mu);
  EXPECT_EQ(checks_.seen, (std::vector<std::string>{std::string("joe@x ") + good}));
}

TEST_F(SmtpOauthHost, DeadTokenGetsTheErrorJsonThen535OrA501ForAWrongAnswer) {
  auto srv = start(Options{});
  for (const char* answer : {"", "AQ=="}) {
    Line c(srv->smtp_port());
    c.greet();
    std::string r = c.command("AUTH XOAUTH2 " + xoauth2("joe@x", "ya29.dead"));
    ASSERT_EQ(r.substr(0, 4), "334 ") << r;
    std::string json;
    ASSERT_TRUE(smtp::base64_decode(r.substr(4, r.size() - 6), json)) << r;
    EXPECT_EQ(json, R"({"status":"invalid_token","schemes":"Bearer","scope":"https://mail.google.com/"})");
    EXPECT_EQ(smtp::oauth_error_summary(r.substr(4, r.size() - 6)), "status=invalid_token");
    if (*answer == '\0') {
      EXPECT_EQ(c.command(answer), "535 5.7.8 Username and Password not accepted\r\n");
    } else {
      EXPECT_EQ(c.command(answer), "501 5.5.2 expected an empty line after the error challenge\r\n");
    }
  }
  for (const char* answer : {"AQ==", ""}) {
    Line c(srv->smtp_port());
    c.greet();
    std::string r = c.command("AUTH OAUTHBEARER " +
                              smtp::base64("n,a=joe@x,\x01host=h\x01port=25\x01" "auth=Bearer ya29.dead\x01\x01"));
    ASSERT_EQ(r.substr(0, 4), "334 ") << r;
    if (*answer != '\0') {
      EXPECT_EQ(c.command(answer), "535 5.7.8 Username and Password not accepted\r\n");
    } else {
      EXPECT_EQ(c.command(answer), "501 5.5.2 expected AQ== after the error challenge\r\n");
    }
  }
  ASSERT_TRUE(srv->wait_for_closed(4, 5s));
  for (const auto& conn : srv->smtp_connections()) {
    EXPECT_EQ(conn.auth_user, "");
    EXPECT_EQ(conn.auth_attempts, 1u);
  }
}

TEST_F(SmtpOauthHost, OauthbearerAfterAnEmpty334WithTheGs2UserUnescaped) {
  auto srv = start(Options{});
  {
    Line c(srv->smtp_port());
    c.greet();
    EXPECT_EQ(c.command("AUTH OAUTHBEARER"), "334 \r\n");
    EXPECT_EQ(c.command(smtp::base64(std::string("n,a=joe@x,\x01host=mail.example\x01port=587\x01") +
                                     "auth=Bearer " + good + "\x01\x01")),
              "235 2.7.0 authenticated\r\n");
  }
  {
    Line c(srv->smtp_port());
    c.greet();
    // "a=b,c=d" escaped as the gs2 header wants it; the check sees the real name (and refuses it).
    EXPECT_EQ(c.command("AUTH OAUTHBEARER " + smtp::base64(std::string("n,a=a=3Db=2Cc,\x01host=h\x01port=1\x01") +
                                                            "auth=Bearer " + good + "\x01\x01"))
                  .substr(0, 4),
              "334 ");
  }
  ASSERT_TRUE(srv->wait_for_closed(2, 5s));
  auto conn = srv->smtp_connections().at(0);
  EXPECT_EQ(conn.auth_mechanism, "OAUTHBEARER");
  EXPECT_EQ(conn.auth_user, "joe@x");
  EXPECT_EQ(conn.oauth_host, "mail.example");
  EXPECT_EQ(conn.oauth_port, "587");
  std::lock_guard lock(checks_.mu);
  ASSERT_EQ(checks_.seen.size(), 2u);
  EXPECT_EQ(checks_.seen[1], std::string("a=b,c ") + good);
}

TEST_F(SmtpOauthHost, MalformedResponsesGet501) {
  auto srv = start(Options{});
  Line c(srv->smtp_port());
  c.greet();
  const std::string bad501 = "501 5.5.2 bad XOAUTH2 response\r\n";
  EXPECT_EQ(c.command("AUTH XOAUTH2 " + smtp::base64(std::string("user=joe@x\x01" "auth=Bearer t\x01"))), bad501);
  EXPECT_EQ(c.command("AUTH XOAUTH2 " + smtp::base64(std::string("user=joe@x\x01" "auth=Basic t\x01\x01"))), bad501);
  EXPECT_EQ(c.command("AUTH XOAUTH2 " + smtp::base64(std::string("auth=Bearer t\x01\x01"))), bad501);
  EXPECT_EQ(c.command("AUTH XOAUTH2 !!!!"), "501 5.5.2 bad base64\r\n");
  EXPECT_EQ(c.command("AUTH OAUTHBEARER " + smtp::base64(std::string("n,a=joe@x,\x01port=25\x01" "auth=Bearer t\x01\x01"))),
            "501 5.5.2 OAUTHBEARER without host or port\r\n");
  EXPECT_EQ(c.command("AUTH OAUTHBEARER " + smtp::base64(std::string("n,a=joe@x,\x01host=h\x01" "auth=Bearer t\x01\x01"))),
            "501 5.5.2 OAUTHBEARER without host or port\r\n");
  EXPECT_EQ(c.command("AUTH OAUTHBEARER " + smtp::base64(std::string("p=tls-unique,,\x01host=h\x01port=1\x01" "auth=Bearer t\x01\x01"))),
            "501 5.5.2 bad OAUTHBEARER gs2 header\r\n");
  EXPECT_EQ(c.command("AUTH OAUTHBEARER"), "334 \r\n");
  EXPECT_EQ(c.command("*"), "501 5.5.2 AUTH cancelled or bad base64\r\n");
  std::lock_guard lock(checks_.mu);
  EXPECT_TRUE(checks_.seen.empty()) << "a malformed response is never checked";
}

TEST_F(SmtpOauthHost, WithoutACheckTheCredentialsHoldTheTokens) {
  Options o;
  o.caps.xoauth2 = true;
  o.credentials["joe@x"] = "tok";
  auto srv = start(o, false);
  Line c(srv->smtp_port());
  c.greet();
  EXPECT_EQ(c.command("AUTH XOAUTH2 " + xoauth2("joe@x", "nope")).substr(0, 4), "334 ");
  EXPECT_EQ(c.command(""), "535 5.7.8 Username and Password not accepted\r\n");
  EXPECT_EQ(c.command("AUTH XOAUTH2 " + xoauth2("joe@x", "tok")), "235 2.7.0 authenticated\r\n");
}

}  // namespace

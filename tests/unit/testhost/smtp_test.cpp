// The test smart host's SMTP side over real loopback sockets, driven by a plain blocking client
// in the test (OpenSSL directly for the TLS paths).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "nullq/testcerts.hpp"
#include "nullq/testhost.hpp"
#include "process.hpp"

using nullq::testhost::Options;
using nullq::testhost::Server;
using namespace std::chrono_literals;

namespace {

// A blocking SMTP client with a 5 s limit on every wait.
class Client {
 public:
  explicit Client(std::uint16_t port) {
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
  ~Client() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  void send(const std::string& s) {
    if (ssl_) {
      ASSERT_EQ(SSL_write(ssl_, s.data(), static_cast<int>(s.size())), static_cast<int>(s.size()));
    } else {
      ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
    }
  }
  // One whole reply (all its lines); "" at EOF or after 5 s.
  std::string reply() {
    for (;;) {
      std::size_t start = 0;
      for (;;) {
        std::size_t lf = buf_.find("\r\n", start);
        if (lf == std::string::npos) break;
        if (lf - start >= 4 && buf_[start + 3] == ' ') {
          std::string r = buf_.substr(0, lf + 2);
          buf_.erase(0, lf + 2);
          return r;
        }
        start = lf + 2;
      }
      if (!more(5000)) return "";
    }
  }
  std::string command(const std::string& line) {
    send(line + "\r\n");
    return reply();
  }
  // True if bytes (or EOF) came within `ms`.
  bool readable(int ms) {
    pollfd p{fd_, POLLIN, 0};
    return (ssl_ && SSL_pending(ssl_) > 0) || ::poll(&p, 1, ms) == 1;
  }
  bool at_eof() {
    if (!buf_.empty()) return false;
    return !more(5000);
  }
  // TLS with verification against `ca` for `host`; "" or the reason it failed.
  std::string tls(const std::string& ca, const std::string& host) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    SSL_set1_host(ssl_, host.c_str());
    SSL_set_fd(ssl_, fd_);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (SSL_connect(ssl_) == 1) return "";
    char err[256];
    ERR_error_string_n(ERR_get_error(), err, sizeof err);
    ERR_clear_error();
    SSL_free(ssl_);
    ssl_ = nullptr;
    return err;
  }

 private:
  bool more(int ms) {
    if (!readable(ms)) return false;
    char tmp[4096];
    int n = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp) : static_cast<int>(::recv(fd_, tmp, sizeof tmp, 0));
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

std::string code(const std::string& reply) { return reply.substr(0, 3); }
// The last line of a reply without CRLF.
std::string last_line(const std::string& reply) {
  std::size_t end = reply.size() >= 2 ? reply.size() - 2 : 0;
  std::size_t start = reply.rfind("\r\n", end > 0 ? end - 1 : 0);
  return reply.substr(start == std::string::npos || start >= end ? 0 : start + 2, end - (start == std::string::npos || start >= end ? 0 : start + 2));
}

class Smtp : public ::testing::Test {
 protected:
  // The test's own OpenSSL client writes with write(): a server that closed on purpose
  // (tls-fail) must give it EPIPE, not end the test program.
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }
  std::unique_ptr<Server> start(Options o) {
    o.qmtp = o.qmqp = false;
    o.smtp = true;
    auto s = Server::start(std::move(o));
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(s).value() : nullptr;
  }
  void certs() {
    auto made = nullq::testhost::make_certs(dir_.path());
    ASSERT_TRUE(made) << made.error().message();
    certs_ = *made;
  }
  Options tls_options() {
    Options o;
    o.caps.starttls = true;
    o.cert_file = certs_.server_cert;
    o.key_file = certs_.server_key;
    return o;
  }
  nullq::testing::TempDir dir_;
  nullq::testhost::CertFiles certs_;
};

TEST_F(Smtp, SessionIsRecordedWithEnvelopeBodyCommandsAndPipelining) {
  Options o;
  o.caps.size = 100000;
  auto srv = start(o);
  ASSERT_TRUE(srv);
  Client c(srv->smtp_port());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.reply(), "220 testhost ESMTP\r\n");
  EXPECT_EQ(c.command("EHLO client.example"),
            "250-testhost greets client.example\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
            "250 ENHANCEDSTATUSCODES\r\n");
  // One command at a time.
  EXPECT_EQ(c.command("MAIL FROM:<a@example.org> SIZE=40 BODY=8BITMIME"), "250 2.1.0 ok\r\n");
  EXPECT_EQ(c.command("RCPT TO:<b@example.net>"), "250 2.1.5 ok\r\n");
  EXPECT_EQ(c.command("RCPT TO:<c@example.net> NOTIFY=NEVER"), "250 2.1.5 ok\r\n");
  EXPECT_EQ(c.command("DATA"), "354 end data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(c.command("Subject: one\r\n\r\n..dot-stuffed\r\nlast\r\n."), "250 2.0.0 queued as testhost\r\n");
  // Pipelined: the whole transaction in one write.
  c.send("MAIL FROM:<>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.0 ok\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.5 ok\r\n");
  EXPECT_EQ(c.reply(), "354 end data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(c.command("two\r\n."), "250 2.0.0 queued as testhost\r\n");
  EXPECT_EQ(c.command("RSET"), "250 2.0.0 ok\r\n");
  EXPECT_EQ(c.command("QUIT"), "221 2.0.0 bye\r\n");
  EXPECT_TRUE(c.at_eof());
  ASSERT_TRUE(srv->wait_for_closed(1, 5s));

  auto got = srv->received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].protocol, "smtp");
  EXPECT_EQ(got[0].sender, "a@example.org");
  EXPECT_EQ(got[0].mail_params, "SIZE=40 BODY=8BITMIME");
  EXPECT_EQ(got[0].recipients, (std::vector<std::string>{"b@example.net", "c@example.net"}));
  ASSERT_EQ(got[0].rcpts.size(), 2u);
  EXPECT_EQ(got[0].rcpts[1].params, "NOTIFY=NEVER");
  EXPECT_EQ(got[0].rcpts[1].code, 250);
  EXPECT_EQ(got[0].message, "Subject: one\n\n.dot-stuffed\nlast\n");
  EXPECT_EQ(got[0].answers, "KK");
  EXPECT_EQ(got[0].final_code, 250);
  EXPECT_FALSE(got[0].pipelined);
  EXPECT_FALSE(got[0].tls);
  EXPECT_EQ(got[0].auth_user, "");
  EXPECT_EQ(got[0].connection, 1u);
  EXPECT_EQ(got[0].index_in_connection, 1u);
  EXPECT_EQ(got[1].sender, "");
  EXPECT_EQ(got[1].message, "two\n");
  EXPECT_TRUE(got[1].pipelined);
  EXPECT_EQ(got[1].index_in_connection, 2u);

  auto conns = srv->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].ehlo, "client.example");
  EXPECT_EQ(conns[0].commands, (std::vector<std::string>{"EHLO", "MAIL", "RCPT", "RCPT", "DATA", "MAIL", "RCPT",
                                                         "DATA", "RSET", "QUIT"}));
  EXPECT_EQ(conns[0].messages, 2u);
  EXPECT_TRUE(conns[0].quit);
  EXPECT_TRUE(conns[0].closed);
  EXPECT_FALSE(conns[0].bare_lf);
  EXPECT_FALSE(conns[0].tls);
}

TEST_F(Smtp, BareLfIsRecordedAndStillEndsALine) {
  auto srv = start(Options{});
  Client c(srv->smtp_port());
  c.reply();
  EXPECT_EQ(code(c.command("EHLO x")), "250");
  c.send("MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\nDATA\r\n");
  EXPECT_EQ(code(c.reply()), "250");
  EXPECT_EQ(code(c.reply()), "250");
  EXPECT_EQ(code(c.reply()), "354");
  EXPECT_EQ(code(c.command("body\nmore\r\n.")), "250");
  ASSERT_TRUE(srv->wait_for(1, 5s));
  EXPECT_TRUE(srv->received()[0].bare_lf);
  EXPECT_EQ(srv->received()[0].message, "body\nmore\n");
  EXPECT_TRUE(srv->smtp_connections()[0].bare_lf);
}

TEST_F(Smtp, ScriptedAnswersPerRecipientAndPerMessage) {
  Options o;
  o.smtp_script = "rcpt=250|550:5.1.1,dot=250/451;mail=452";
  auto srv = start(o);
  {
    Client c(srv->smtp_port());
    c.reply();
    c.command("EHLO x");
    for (int m = 0; m < 2; ++m) {
      EXPECT_EQ(c.command("MAIL FROM:<a@b>"), "250 2.1.0 ok\r\n");
      EXPECT_EQ(c.command("RCPT TO:<one@d>"), "250 2.1.5 ok\r\n");
      EXPECT_EQ(c.command("RCPT TO:<two@d>"), "550 5.1.1 rcpt rejected by script\r\n");
      EXPECT_EQ(c.command("RCPT TO:<three@d>"), "250 2.1.5 ok\r\n");
      EXPECT_EQ(code(c.command("DATA")), "354");
      EXPECT_EQ(c.command("x\r\n."), m == 0 ? "250 2.0.0 queued as testhost\r\n" : "451 4.3.0 dot deferred by script\r\n");
    }
  }
  {
    Client c(srv->smtp_port());  // the second step
    c.reply();
    c.command("EHLO x");
    EXPECT_EQ(c.command("MAIL FROM:<a@b>"), "452 4.3.0 mail deferred by script\r\n");
    EXPECT_EQ(c.command("RCPT TO:<one@d>"), "503 5.5.1 need MAIL first\r\n");
    EXPECT_EQ(c.command("DATA"), "503 5.5.1 need MAIL first\r\n");
  }
  auto got = srv->received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].recipients, (std::vector<std::string>{"one@d", "three@d"}));
  ASSERT_EQ(got[0].rcpts.size(), 3u);
  EXPECT_EQ(got[0].rcpts[1].address, "two@d");
  EXPECT_EQ(got[0].rcpts[1].code, 550);
  EXPECT_EQ(got[0].answers, "KK");
  EXPECT_EQ(got[1].final_code, 451);
  EXPECT_EQ(got[1].answers, "ZZ");
}

TEST_F(Smtp, NoValidRecipientsMeansNoData) {
  Options o;
  o.smtp_script = "rcpt=550";
  auto srv = start(o);
  Client c(srv->smtp_port());
  c.reply();
  c.command("EHLO x");
  c.command("MAIL FROM:<a@b>");
  EXPECT_EQ(code(c.command("RCPT TO:<c@d>")), "550");
  EXPECT_EQ(c.command("DATA"), "554 5.5.1 no valid recipients\r\n");
  EXPECT_EQ(c.command("RSET"), "250 2.0.0 ok\r\n");
  EXPECT_TRUE(srv->received().empty());
}

TEST_F(Smtp, Banner421ClosesTheConnection) {
  Options o;
  o.smtp_script = "banner=421";
  auto srv = start(o);
  Client c(srv->smtp_port());
  EXPECT_EQ(c.reply(), "421 testhost closing the connection\r\n");
  EXPECT_TRUE(c.at_eof());
}

TEST_F(Smtp, CloseAfterEhloAndAfterDot) {
  Options o;
  o.smtp_script = "close-after=ehlo;close-after=dot";
  auto srv = start(o);
  {
    Client c(srv->smtp_port());
    c.reply();
    EXPECT_EQ(code(c.command("EHLO x")), "250");
    EXPECT_TRUE(c.at_eof());
  }
  Client c(srv->smtp_port());
  c.reply();
  c.command("EHLO x");
  c.send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
  c.reply();
  c.reply();
  c.reply();
  EXPECT_EQ(c.command("x\r\n."), "250 2.0.0 queued as testhost\r\n");  // and the end of the stream
  EXPECT_TRUE(c.at_eof());
  EXPECT_EQ(srv->received().size(), 1u);
}

TEST_F(Smtp, FourAndFiveHundredsAtEachStage) {
  Options o;
  o.caps.auth = true;
  o.smtp_script = "ehlo=554;auth=454;data=451;rset=421;quit=500";
  auto srv = start(o);
  {
    Client c(srv->smtp_port());
    c.reply();
    EXPECT_EQ(c.command("EHLO x"), "554 ehlo rejected by script\r\n");
  }
  {
    Client c(srv->smtp_port());
    c.reply();
    c.command("EHLO x");
    EXPECT_EQ(c.command("AUTH PLAIN AHUAcA=="), "454 4.7.0 auth deferred by script\r\n");
  }
  {
    Client c(srv->smtp_port());
    c.reply();
    c.command("EHLO x");
    c.command("MAIL FROM:<a@b>");
    c.command("RCPT TO:<c@d>");
    EXPECT_EQ(c.command("DATA"), "451 4.3.0 data deferred by script\r\n");
  }
  {
    Client c(srv->smtp_port());
    c.reply();
    EXPECT_EQ(c.command("RSET"), "421 4.3.2 testhost closing the connection\r\n");
    EXPECT_TRUE(c.at_eof());
  }
  {
    Client c(srv->smtp_port());
    c.reply();
    EXPECT_EQ(c.command("QUIT"), "500 5.5.0 quit rejected by script\r\n");
  }
  EXPECT_TRUE(srv->received().empty());
}

TEST_F(Smtp, HangAndDelayAtTheFinalDot) {
  Options o;
  o.smtp_script = "hang;delay:100";
  auto srv = start(o);
  {
    Client c(srv->smtp_port());
    c.reply();
    c.command("EHLO x");
    c.command("MAIL FROM:<a@b>");
    c.command("RCPT TO:<c@d>");
    c.command("DATA");
    c.send("x\r\n.\r\n");
    EXPECT_FALSE(c.readable(300));  // no answer, no close
  }
  Client c(srv->smtp_port());
  c.reply();
  c.command("EHLO x");
  c.command("MAIL FROM:<a@b>");
  c.command("RCPT TO:<c@d>");
  c.command("DATA");
  EXPECT_EQ(c.command("x\r\n."), "250 2.0.0 queued as testhost\r\n");
}

TEST_F(Smtp, MultilineAndOverlongAnswers) {
  Options o;
  o.smtp_script = "multiline,long=mail";
  auto srv = start(o);
  Client c(srv->smtp_port());
  EXPECT_EQ(c.reply(), "220-testhost says:\r\n220-this answer has three lines\r\n220 testhost ESMTP\r\n");
  std::string mail = (c.command("EHLO x"), c.command("MAIL FROM:<a@b>"));
  EXPECT_TRUE(mail.starts_with("250-2.1.0 testhost says:\r\n")) << mail;
  EXPECT_GT(last_line(mail).size(), 1000u);
  EXPECT_EQ(last_line(mail).substr(0, 13), "250 2.1.0 ok ");
}

TEST_F(Smtp, StarttlsThenEhloAgainAndTheMessageIsMarkedTls) {
  certs();
  auto srv = start(tls_options());
  Client c(srv->smtp_port());
  c.reply();
  EXPECT_NE(c.command("EHLO x").find("250-STARTTLS\r\n"), std::string::npos);
  EXPECT_EQ(c.command("MAIL FROM:<a@b>"), "250 2.1.0 ok\r\n");
  EXPECT_EQ(c.command("STARTTLS"), "220 2.0.0 ready to start TLS\r\n");
  ASSERT_EQ(c.tls(certs_.ca_cert, "localhost"), "");
  // The transaction begun before TLS is forgotten; EHLO is needed again.
  EXPECT_EQ(c.command("MAIL FROM:<a@b>"), "503 5.5.1 EHLO first\r\n");
  std::string ehlo = c.command("EHLO x");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  EXPECT_EQ(c.command("STARTTLS"), "502 5.5.1 STARTTLS not offered\r\n");
  c.command("MAIL FROM:<a@b>");
  c.command("RCPT TO:<c@d>");
  c.command("DATA");
  EXPECT_EQ(code(c.command("secret\r\n.")), "250");
  EXPECT_EQ(code(c.command("QUIT")), "221");
  ASSERT_TRUE(srv->wait_for_closed(1, 5s));
  auto got = srv->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].tls);
  EXPECT_EQ(got[0].message, "secret\n");
  auto conn = srv->smtp_connections()[0];
  EXPECT_TRUE(conn.tls);
  EXPECT_EQ(conn.tls_version, "TLSv1.3");
  EXPECT_EQ(conn.sni, "localhost");
  EXPECT_FALSE(conn.plaintext_after_starttls);
  EXPECT_EQ(conn.commands, (std::vector<std::string>{"EHLO", "MAIL", "STARTTLS", "MAIL", "EHLO", "STARTTLS",
                                                     "MAIL", "RCPT", "DATA", "QUIT"}));
}

TEST_F(Smtp, PlaintextAfterStarttlsIsRecordedAndDiscarded) {
  certs();
  auto srv = start(tls_options());
  Client c(srv->smtp_port());
  c.reply();
  c.command("EHLO x");
  c.send("STARTTLS\r\nMAIL FROM:<injected@b>\r\n");
  EXPECT_EQ(code(c.reply()), "220");
  ASSERT_EQ(c.tls(certs_.ca_cert, "localhost"), "");
  EXPECT_EQ(code(c.command("EHLO x")), "250");
  EXPECT_EQ(code(c.command("QUIT")), "221");
  ASSERT_TRUE(srv->wait_for_closed(1, 5s));
  auto conn = srv->smtp_connections()[0];
  EXPECT_TRUE(conn.plaintext_after_starttls);
  EXPECT_EQ(conn.commands, (std::vector<std::string>{"EHLO", "STARTTLS", "EHLO", "QUIT"}));
}

TEST_F(Smtp, TlsFailAfterStarttls) {
  certs();
  Options o = tls_options();
  o.smtp_script = "tls-fail";
  auto srv = start(o);
  Client c(srv->smtp_port());
  c.reply();
  c.command("EHLO x");
  EXPECT_EQ(code(c.command("STARTTLS")), "220");
  EXPECT_NE(c.tls(certs_.ca_cert, "localhost"), "");
}

TEST_F(Smtp, ImplicitTlsListener) {
  certs();
  Options o = tls_options();
  o.caps.starttls = false;
  o.smtps = true;
  auto srv = start(o);
  ASSERT_NE(srv->smtps_port(), 0);
  Client c(srv->smtps_port());
  ASSERT_EQ(c.tls(certs_.ca_cert, "localhost"), "");
  EXPECT_EQ(c.reply(), "220 testhost ESMTP\r\n");
  EXPECT_EQ(c.command("EHLO x").find("STARTTLS"), std::string::npos);
  c.command("MAIL FROM:<a@b>");
  c.command("RCPT TO:<c@d>");
  c.command("DATA");
  EXPECT_EQ(code(c.command("x\r\n.")), "250");
  ASSERT_TRUE(srv->wait_for(1, 5s));
  EXPECT_EQ(srv->received()[0].protocol, "smtps");
  EXPECT_TRUE(srv->received()[0].tls);
  EXPECT_EQ(srv->smtp_connections()[0].protocol, "smtps");

  // A client that is not TLS gets nothing readable as SMTP.
  Options f = tls_options();
  f.smtps = true;
  f.smtp_script = "tls-fail";
  auto srv2 = start(f);
  Client d(srv2->smtps_port());
  EXPECT_NE(d.tls(certs_.ca_cert, "localhost"), "");
}

TEST_F(Smtp, AuthPlainAndLoginAreCheckedAndRecorded) {
  Options o;
  o.caps.auth = true;
  o.credentials["joe"] = "s3cret";
  auto srv = start(o);
  {
    Client c(srv->smtp_port());
    c.reply();
    EXPECT_NE(c.command("EHLO x").find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
    EXPECT_EQ(c.command("AUTH PLAIN AGpvZQB3cm9uZw=="), "535 5.7.8 authentication failed\r\n");  // \0joe\0wrong
    EXPECT_EQ(c.command("AUTH PLAIN AGpvZQBzM2NyZXQ="), "235 2.7.0 authenticated\r\n");        // \0joe\0s3cret
    EXPECT_EQ(c.command("AUTH PLAIN AGpvZQBzM2NyZXQ="), "503 5.5.1 already authenticated\r\n");
    c.command("MAIL FROM:<a@b>");
    c.command("RCPT TO:<c@d>");
    c.command("DATA");
    c.command("x\r\n.");
  }
  {
    Client c(srv->smtp_port());
    c.reply();
    c.command("EHLO x");
    EXPECT_EQ(c.command("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
    EXPECT_EQ(c.command("am9l"), "334 UGFzc3dvcmQ6\r\n");
    EXPECT_EQ(c.command("czNjcmV0"), "235 2.7.0 authenticated\r\n");
  }
  {
    Client c(srv->smtp_port());
    c.reply();
    c.command("EHLO x");
    EXPECT_EQ(c.command("AUTH PLAIN"), "334 \r\n");
    EXPECT_EQ(c.command("*"), "501 5.5.2 AUTH cancelled or bad base64\r\n");
    EXPECT_EQ(c.command("AUTH CRAM-MD5"), "504 5.5.4 mechanism not supported\r\n");
  }
  ASSERT_TRUE(srv->wait_for_closed(3, 5s));
  auto conns = srv->smtp_connections();
  ASSERT_EQ(conns.size(), 3u);
  EXPECT_EQ(conns[0].auth_attempts, 3u);
  EXPECT_EQ(conns[0].auth_user, "joe");
  EXPECT_EQ(conns[0].auth_mechanism, "PLAIN");
  EXPECT_TRUE(conns[0].auth_before_tls);
  EXPECT_EQ(conns[1].auth_mechanism, "LOGIN");
  EXPECT_EQ(conns[1].auth_attempts, 1u);
  EXPECT_EQ(conns[2].auth_user, "");
  EXPECT_EQ(conns[2].auth_attempts, 2u);
  ASSERT_EQ(srv->received().size(), 1u);
  EXPECT_EQ(srv->received()[0].auth_user, "joe");
}

TEST_F(Smtp, SizeIsEnforcedAtMailAndAtTheDot) {
  Options o;
  o.caps.size = 10;
  auto srv = start(o);
  Client c(srv->smtp_port());
  c.reply();
  c.command("EHLO x");
  EXPECT_EQ(c.command("MAIL FROM:<a@b> SIZE=11"), "552 5.3.4 message size exceeds fixed limit\r\n");
  EXPECT_EQ(code(c.command("MAIL FROM:<a@b> SIZE=5")), "250");
  c.command("RCPT TO:<c@d>");
  c.command("DATA");
  EXPECT_EQ(c.command("0123456789abcdef\r\n."), "552 5.3.4 message too big\r\n");
  ASSERT_EQ(srv->received().size(), 1u);
  EXPECT_EQ(srv->received()[0].final_code, 552);
  EXPECT_EQ(srv->received()[0].message, "");
}

TEST_F(Smtp, StrictSyntax) {
  auto srv = start(Options{});
  Client c(srv->smtp_port());
  c.reply();
  EXPECT_EQ(c.command("MAIL FROM:<a@b>"), "503 5.5.1 EHLO first\r\n");
  EXPECT_EQ(c.command("EHLO"), "501 5.5.4 EHLO needs a domain\r\n");
  c.command("EHLO x");
  EXPECT_EQ(c.command("MAIL FROM: <a@b>"), "501 5.5.4 syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(c.command("MAIL FROM:a@b"), "501 5.5.4 syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(c.command("mail from:<a@b>"), "250 2.1.0 ok\r\n");
  EXPECT_EQ(c.command("MAIL FROM:<a@b>"), "503 5.5.1 nested MAIL\r\n");
  EXPECT_EQ(c.command("RCPT TO:c@d"), "501 5.5.4 syntax: RCPT TO:<address>\r\n");
  EXPECT_EQ(c.command("XYZZY"), "500 5.5.2 command not recognized\r\n");
  EXPECT_EQ(c.command("NOOP"), "250 2.0.0 ok\r\n");
}

TEST(SmtpScript, BadScriptsAndCapsAreErrors) {
  for (const char* bad : {"bogus", "mail=99", "mail=250:3.1.0", "rcpt=250:4.1.1", "dot=2500", "hang=nowhere",
                          "close-after=", "delay:x", "banner=220,", "=250"}) {
    auto r = nullq::testhost::parse_smtp_script(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) { EXPECT_EQ(r.error().domain, nullq::ErrorDomain::usage); }
  }
  auto ok = nullq::testhost::parse_smtp_script("rcpt=250|550:5.1.1/451,dot=250/451:4.3.5,hang=dot;;banner=421");
  ASSERT_TRUE(ok) << ok.error().message();
  ASSERT_EQ(ok->size(), 3u);
  const auto& rcpt = (*ok)[0].answers[static_cast<std::size_t>(nullq::testhost::SmtpStage::rcpt)];
  ASSERT_EQ(rcpt.size(), 2u);
  ASSERT_EQ(rcpt[0].size(), 2u);
  EXPECT_EQ(rcpt[0][1].code, 550);
  EXPECT_EQ(rcpt[0][1].enhanced, "5.1.1");
  EXPECT_EQ(rcpt[1][0].code, 451);

  EXPECT_FALSE(nullq::testhost::parse_caps("PIPELINING,FOO"));
  EXPECT_FALSE(nullq::testhost::parse_caps("SIZE=0"));
  auto caps = nullq::testhost::parse_caps("starttls,SIZE=5000,auth");
  ASSERT_TRUE(caps);
  EXPECT_TRUE(caps->starttls && caps->auth);
  EXPECT_FALSE(caps->pipelining || caps->enhanced || caps->eightbitmime);
  EXPECT_EQ(caps->size, 5000u);

  Options o;
  o.smtps = true;
  auto s = Server::start(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "SMTPS and STARTTLS need a certificate and a key file");
  o.smtps = false;
  o.smtp = true;
  o.smtp_script = "nope";
  EXPECT_FALSE(Server::start(o));
  o.smtp_script = "";
  o.cert_file = "/nonexistent/cert.pem";
  o.key_file = "/nonexistent/key.pem";
  auto t = Server::start(o);
  ASSERT_FALSE(t);
  EXPECT_TRUE(t.error().message().starts_with("certificate /nonexistent/cert.pem: ")) << t.error().message();
}

TEST(SmtpProgram, MakeCertsAndServeOneMessage) {
  nullq::testing::TempDir dir;
  auto made = nullq::testing::run({nullq::testing::program("nullq-testhost"), "--make-certs", dir.path()});
  ASSERT_EQ(made.code, 0) << made.err;
  for (const char* f : {"ca.pem", "server.pem", "server.key", "wrong-name.pem", "expired.pem", "client.pem", "other-ca.pem"})
    EXPECT_FALSE(nullq::testing::read_file(dir / f).empty()) << f;
  auto bad = nullq::testing::run({nullq::testing::program("nullq-testhost"), "--smtp", "--caps", "FOO"});
  EXPECT_EQ(bad.code, 64);
  EXPECT_NE(bad.err.find("bad SMTP capability 'FOO'"), std::string::npos) << bad.err;
  auto nopass = nullq::testing::run({nullq::testing::program("nullq-testhost"), "--smtp", "--auth", "joe:" + dir / "none"});
  EXPECT_EQ(nopass.code, 64);
  EXPECT_NE(nopass.err.find("cannot read the password file"), std::string::npos) << nopass.err;
}

}  // namespace

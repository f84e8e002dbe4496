// SMTP over TLS against a canned server that runs the real tls::Engine (server side) with
// certificates made at test time: STARTTLS, implicit TLS, and certificates that must be refused.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nullq/testcerts.hpp"
#include "nullq/tls.hpp"
#include "smtp_fake.hpp"
#include "test_util.hpp"
#include "process.hpp"

namespace nullq::client::test {
namespace {

[[maybe_unused]] auto* const sigpipe_env = ::testing::AddGlobalTestEnvironment(new IgnoreSigpipe);

// The server's TLS over a Peer: ciphertext read into p.in from `pos`, plaintext out.
class TlsServer {
 public:
  TlsServer(Peer& p, std::size_t pos, std::shared_ptr<tls::Context> ctx) : p_(p), pos_(pos) {
    auto e = tls::Engine::server(std::move(ctx));
    if (e.ok()) e_ = std::move(e).value();
  }
  // Reads until `plain` holds `want` (or the peer/handshake fails); false on failure.
  bool read_until(const std::string& want) {
    while (plain.find(want) == std::string::npos) {
      if (!pump()) return false;
    }
    return true;
  }
  bool pump() {
    if (!e_) return false;
    if (pos_ == p_.in.size() && !p_.read_some(std::chrono::seconds(10))) return false;
    Status st = e_->receive(std::string_view(p_.in).substr(pos_), plain);
    pos_ = p_.in.size();
    std::string out = e_->take_output();
    if (!out.empty()) p_.send(out);
    return st.ok();
  }
  void send(const std::string& s) {
    (void)e_->send(s);
    p_.send(e_->take_output());
  }
  std::string plain;

 private:
  Peer& p_;
  std::size_t pos_;
  std::unique_ptr<tls::Engine> e_;
};

class Filter final : public SecureFilter {
 public:
  explicit Filter(std::unique_ptr<tls::Engine> e) : e_(std::move(e)) {}
  Status receive(std::string_view c, std::string& p) override { return e_->receive(c, p); }
  Status send(std::string_view p) override { return e_->send(p); }
  std::string take_output() override { return e_->take_output(); }
  bool established() const override { return e_->established(); }
  std::string describe() const override { return e_->peer().version + (e_->peer().verified ? " verified" : ""); }

 private:
  std::unique_ptr<tls::Engine> e_;
};

class SmtpTls : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = testhost::make_certs(dir_.path());
    ASSERT_TRUE(made.ok()) << made.error().message();
    certs_ = *made;
    auto c = tls::Context::make_client(tls::ClientOptions{true, certs_.ca_cert, "", "", tls::Version::tls1_2});
    ASSERT_TRUE(c.ok()) << c.error().message();
    client_ctx_ = *c;
  }
  std::shared_ptr<tls::Context> server_ctx(const std::string& cert, const std::string& key) {
    auto c = tls::Context::make_server(tls::ServerOptions{cert, key, tls::Version::tls1_2});
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : nullptr;
  }
  SmtpOptions opts(StartTls mode, bool implicit = false) {
    SmtpOptions o;
    o.helo_name = "client.test";
    o.host = "localhost";
    o.starttls = mode;
    o.implicit_tls = implicit;
    auto ctx = client_ctx_;
    o.tls = [ctx](std::string_view host) -> Result<std::unique_ptr<SecureFilter>> {
      auto e = tls::Engine::client(ctx, host);
      if (!e.ok()) return e.error();
      return std::unique_ptr<SecureFilter>(std::make_unique<Filter>(std::move(e).value()));
    };
    return o;
  }
  Timeouts quick() {
    Timeouts t;
    t.connect = 5s;
    t.io = 10s;
    t.session = 30s;
    return t;
  }
  nullq::testing::TempDir dir_;
  testhost::CertFiles certs_;
  std::shared_ptr<tls::Context> client_ctx_;
};

// A STARTTLS server: plaintext EHLO, STARTTLS, then the whole transaction inside TLS.
FakeServer::Script starttls_server(std::shared_ptr<tls::Context> ctx, std::string& inside, bool& plain_mail) {
  return [ctx, &inside, &plain_mail](Peer& p) {
    SmtpPeer s(p);
    if (!s.greet({"STARTTLS", "PIPELINING"})) return;
    if (s.line() != "STARTTLS") return;
    s.send("220 2.0.0 go ahead\r\n");
    TlsServer t(p, p.in.size(), ctx);
    if (!t.read_until("EHLO")) {
      plain_mail = p.in.find("MAIL FROM") != std::string::npos;
      return;
    }
    t.send("250-fake.test\r\n250 PIPELINING\r\n");
    if (!t.read_until("DATA\r\n")) return;
    t.send("250 ok\r\n250 ok\r\n354 go\r\n");
    if (!t.read_until("\r\n.\r\n")) return;
    t.send("250 2.0.0 queued over TLS\r\n");
    t.read_until("QUIT\r\n");
    t.send("221 bye\r\n");
    inside = t.plain;
  };
}

TEST_F(SmtpTls, StarttlsVerifiedCarriesTheTransaction) {
  std::string inside;
  bool plain_mail = false;
  FakeServer srv(starttls_server(server_ctx(certs_.server_cert, certs_.server_key), inside, plain_mail));
  event::Loop loop;
  std::vector<Outcome> out;
  int closed = 0;
  {
    SmtpConnection c(loop, srv.endpoint(), quick(), opts(StartTls::required), [] {}, [&] { ++closed; });
    ASSERT_TRUE(c.submit(make_msg(1, "secret body\n", "a@x", {"b@y"}), [&](Outcome o) { out.push_back(o); }));
    ASSERT_TRUE(loop.run_until([&] { return out.size() == 1; }, 20s));
    EXPECT_NE(c.tls_description().find("verified"), std::string::npos) << c.tls_description();
    c.finish();
    ASSERT_TRUE(loop.run_until([&] { return closed == 1; }, 20s));
  }
  srv.join();
  EXPECT_EQ(out[0].replies.at(0), K("250 2.0.0 queued over TLS"));
  EXPECT_NE(inside.find("MAIL FROM:<a@x>"), std::string::npos);
  EXPECT_NE(inside.find("secret body"), std::string::npos);
  EXPECT_EQ(srv.received.find("secret body"), std::string::npos) << "the body never went in the clear";
}

void expect_refused(SmtpTls& t, const std::string& cert, const std::string& key, SmtpOptions o,
                    std::shared_ptr<tls::Context> sctx, const char* what) {
  (void)t;
  (void)cert;
  (void)key;
  std::string inside;
  bool plain_mail = false;
  FakeServer srv(starttls_server(std::move(sctx), inside, plain_mail));
  event::Loop loop;
  std::vector<Outcome> out;
  int closed = 0;
  {
    SmtpConnection c(loop, srv.endpoint(), Timeouts{5s, 10s, 30s}, std::move(o), [] {}, [&] { ++closed; });
    ASSERT_TRUE(c.submit(make_msg(1, "x\n", "a@x", {"b@y"}), [&](Outcome r) { out.push_back(r); }));
    ASSERT_TRUE(loop.run_until([&] { return out.size() == 1 && closed == 1; }, 20s));
  }
  srv.join();
  const Reply& r = out[0].replies.at(0);
  EXPECT_EQ(r.verdict, Verdict::temporary) << what;
  EXPECT_NE(r.text.find("certificate verify failed"), std::string::npos) << what << ": " << r.text;
  EXPECT_FALSE(out[0].connect_failed);
  EXPECT_TRUE(out[0].setup_failed) << what;
  EXPECT_TRUE(out[0].tls_failed) << what << ": counted as a TLS failure (metrics, status file)";
  EXPECT_FALSE(out[0].auth_failed) << what;
  EXPECT_EQ(srv.received.find("MAIL FROM"), std::string::npos) << what;
  EXPECT_TRUE(inside.empty());
}

TEST_F(SmtpTls, WrongNameCertificateIsRefused) {
  expect_refused(*this, "", "", opts(StartTls::opportunistic),
                 server_ctx(certs_.wrong_name_cert, certs_.wrong_name_key), "wrong name");
}

TEST_F(SmtpTls, ExpiredCertificateIsRefused) {
  expect_refused(*this, "", "", opts(StartTls::opportunistic), server_ctx(certs_.expired_cert, certs_.expired_key),
                 "expired");
}

TEST_F(SmtpTls, ImplicitTlsBeforeTheBanner) {
  auto sctx = server_ctx(certs_.server_cert, certs_.server_key);
  std::string inside;
  FakeServer srv([&](Peer& p) {
    TlsServer t(p, 0, sctx);
    t.send("220 fake.test ESMTP over TLS\r\n");
    if (!t.read_until("EHLO")) return;
    t.send("250 fake.test\r\n");
    if (!t.read_until("MAIL FROM")) return;
    t.send("250 ok\r\n");
    if (!t.read_until("RCPT TO")) return;
    t.send("250 ok\r\n");
    if (!t.read_until("DATA\r\n")) return;
    t.send("354 go\r\n");
    if (!t.read_until("\r\n.\r\n")) return;
    t.send("250 done\r\n");
    inside = t.plain;
  });
  event::Loop loop;
  std::vector<Outcome> out;
  {
    SmtpConnection c(loop, srv.endpoint(), quick(), opts(StartTls::opportunistic, true), [] {}, [] {});
    ASSERT_TRUE(c.submit(make_msg(1, "x\n", "a@x", {"b@y"}), [&](Outcome o) { out.push_back(o); }));
    ASSERT_TRUE(loop.run_until([&] { return out.size() == 1; }, 20s));
    EXPECT_EQ(c.banner(), "220 fake.test ESMTP over TLS");
  }
  srv.join();
  EXPECT_EQ(out.at(0).replies.at(0), K("250 done"));
  EXPECT_NE(inside.find("RCPT TO:<b@y>"), std::string::npos);
}

}  // namespace
}  // namespace nullq::client::test

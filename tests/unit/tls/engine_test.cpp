// The TLS engine: a client Engine and a server Engine talking through memory, with certificates
// made at test time.
#include <gtest/gtest.h>

#include <string>

#include "nullq/testcerts.hpp"
#include "nullq/tls.hpp"
#include "../../../src/tls/impl.hpp"
#include "process.hpp"

using nullq::ErrorDomain;
using nullq::testhost::CertFiles;
using nullq::tls::ClientOptions;
using nullq::tls::Context;
using nullq::tls::Engine;
using nullq::tls::ServerOptions;
using nullq::tls::Version;

namespace {

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = nullq::testhost::make_certs(dir_.path());
    ASSERT_TRUE(made) << made.error().message();
    certs_ = *made;
  }

  std::shared_ptr<Context> client_ctx(ClientOptions o = {}) {
    if (o.ca_file.empty()) o.ca_file = certs_.ca_cert;
    auto c = Context::make_client(o);
    EXPECT_TRUE(c) << c.error().message();
    return c ? *c : nullptr;
  }
  std::shared_ptr<Context> server_ctx(const std::string& cert, const std::string& key) {
    auto c = Context::make_server(ServerOptions{cert, key});
    EXPECT_TRUE(c) << c.error().message();
    return c ? *c : nullptr;
  }

  nullq::testing::TempDir dir_;
  CertFiles certs_;
};

// Moves bytes both ways, `chunk` bytes per receive() call, until neither side has output.
// Bounded: a handshake needs a handful of flights.
struct Pair {
  std::unique_ptr<Engine> client, server;
  std::string client_plain, server_plain;
  nullq::Status client_status, server_status;

  void pump(std::size_t chunk = 1 << 20) {
    for (int round = 0; round < 50; ++round) {
      std::string c2s = client->take_output();
      std::string s2c = server->take_output();
      if (c2s.empty() && s2c.empty()) return;
      for (std::size_t i = 0; i < c2s.size() && server_status; i += chunk)
        server_status = server->receive(std::string_view(c2s).substr(i, chunk), server_plain);
      for (std::size_t i = 0; i < s2c.size() && client_status; i += chunk)
        client_status = client->receive(std::string_view(s2c).substr(i, chunk), client_plain);
    }
    ADD_FAILURE() << "still talking after 50 rounds";
  }
};

Pair connect(std::shared_ptr<Context> client, std::shared_ptr<Context> server, const std::string& host,
             std::size_t chunk = 1 << 20) {
  Pair p;
  auto c = Engine::client(client, host);
  EXPECT_TRUE(c) << c.error().message();
  auto s = Engine::server(server);
  EXPECT_TRUE(s) << s.error().message();
  if (!c || !s) return p;
  p.client = std::move(c).value();
  p.server = std::move(s).value();
  p.pump(chunk);
  return p;
}

TEST_F(Tls, HandshakeDataBothWaysInOddChunksAndCloseNotify) {
  auto sctx = server_ctx(certs_.server_cert, certs_.server_key);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{333}, std::size_t{1} << 20}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    auto c = Engine::client(client_ctx(), "localhost");
    ASSERT_TRUE(c) << c.error().message();
    Pair p;
    p.client = std::move(c).value();
    p.server = std::move(Engine::server(sctx)).value();
    // Held until the handshake is done, then sent.
    ASSERT_TRUE(p.client->send("EHLO early\r\n"));
    EXPECT_FALSE(p.client->established());
    p.pump(chunk);
    ASSERT_TRUE(p.client_status) << p.client_status.error().message();
    ASSERT_TRUE(p.server_status) << p.server_status.error().message();
    ASSERT_TRUE(p.client->established());
    ASSERT_TRUE(p.server->established());
    EXPECT_EQ(p.server_plain, "EHLO early\r\n");

    std::string big;
    for (int i = 0; big.size() < 100000; ++i) big += "line " + std::to_string(i) + "\r\n";
    ASSERT_TRUE(p.server->send("250 ok\r\n"));
    ASSERT_TRUE(p.client->send(big));
    p.pump(chunk);
    EXPECT_EQ(p.client_plain, "250 ok\r\n");
    EXPECT_EQ(p.server_plain, "EHLO early\r\n" + big);

    EXPECT_FALSE(p.server->peer_closed());
    p.client->shutdown();
    p.pump(chunk);
    ASSERT_TRUE(p.server_status) << p.server_status.error().message();
    EXPECT_TRUE(p.server->peer_closed());
    EXPECT_FALSE(p.client->send("x"));  // nothing may follow close_notify
  }
}


TEST_F(Tls, PeerInfoAfterAVerifiedHandshake) {
  Pair p = connect(client_ctx(), server_ctx(certs_.server_cert, certs_.server_key), "localhost");
  ASSERT_TRUE(p.client_status) << p.client_status.error().message();
  ASSERT_TRUE(p.client->established());
  nullq::tls::PeerInfo info = p.client->peer();
  EXPECT_EQ(info.version, "TLSv1.3");
  EXPECT_FALSE(info.cipher.empty());
  EXPECT_EQ(info.subject, "CN=localhost,O=nullq test");
  EXPECT_EQ(info.issuer, "CN=nullq test CA,O=nullq test");
  EXPECT_EQ(info.not_after.size(), std::string("2027-12-02 16:00:00 UTC").size()) << info.not_after;
  EXPECT_TRUE(info.not_after.ends_with(" UTC"));
  EXPECT_TRUE(info.verified);
  EXPECT_EQ(info.verify_error, "");
  EXPECT_FALSE(info.resumed);
  EXPECT_EQ(p.server->peer().server_name, "localhost");  // a name is sent as SNI
}

TEST_F(Tls, MinimumVersionTls12StillTalksToATls12OnlyServer) {
  // The client's default minimum is TLS 1.2: a server capped at 1.2 is accepted.
  auto s = Context::make_server(ServerOptions{certs_.server_cert, certs_.server_key});
  ASSERT_TRUE(s);
  SSL_CTX_set_max_proto_version((*s)->impl().ctx, TLS1_2_VERSION);
  Pair p = connect(client_ctx(), *s, "localhost");
  ASSERT_TRUE(p.client_status) << p.client_status.error().message();
  EXPECT_EQ(p.client->peer().version, "TLSv1.2");
  // A client that wants 1.3 refuses it.
  ClientOptions o;
  o.min_version = Version::tls1_3;
  Pair q = connect(client_ctx(o), *s, "localhost");
  ASSERT_FALSE(q.client_status && q.server_status);
  EXPECT_FALSE(q.client->established());
}

void expect_verify_failure(const Pair& p, const std::string& want) {
  ASSERT_FALSE(p.client_status);
  EXPECT_EQ(p.client_status.error().domain, ErrorDomain::protocol);
  EXPECT_TRUE(p.client_status.error().is_temporary());
  EXPECT_EQ(p.client_status.error().detail, want);
  EXPECT_FALSE(p.client->established());
  // The alert the client sent reaches the server as an error too.
  ASSERT_FALSE(p.server_status);
  EXPECT_TRUE(p.server_status.error().detail.starts_with("TLS alert from client: "))
      << p.server_status.error().detail;
}

TEST_F(Tls, WrongNameFails) {
  Pair p = connect(client_ctx(), server_ctx(certs_.wrong_name_cert, certs_.wrong_name_key), "localhost");
  expect_verify_failure(p, "certificate verify failed: hostname mismatch (CN=wrong.example,O=nullq test)");
}

TEST_F(Tls, ExpiredCertificateFails) {
  Pair p = connect(client_ctx(), server_ctx(certs_.expired_cert, certs_.expired_key), "localhost");
  expect_verify_failure(p, "certificate verify failed: certificate has expired (CN=localhost,O=nullq test)");
}

TEST_F(Tls, UnknownCaFails) {
  ClientOptions o;
  o.ca_file = certs_.other_ca_cert;
  Pair p = connect(client_ctx(o), server_ctx(certs_.server_cert, certs_.server_key), "localhost");
  expect_verify_failure(p,
      "certificate verify failed: unable to get local issuer certificate (CN=localhost,O=nullq test)");
}

TEST_F(Tls, ErrorsAreFinal) {
  Pair p = connect(client_ctx(), server_ctx(certs_.expired_cert, certs_.expired_key), "localhost");
  ASSERT_FALSE(p.client_status);
  std::string plain;
  auto again = p.client->receive("more", plain);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().detail, p.client_status.error().detail);
  EXPECT_FALSE(p.client->send("MAIL FROM:<a@b>\r\n"));
  EXPECT_EQ(plain, "");
}

TEST_F(Tls, AddressLiteralsAreCheckedAgainstIpEntriesWithoutSni) {
  auto sctx = server_ctx(certs_.server_cert, certs_.server_key);
  for (const char* host : {"127.0.0.1", "::1", "[::1]"}) {
    SCOPED_TRACE(host);
    Pair p = connect(client_ctx(), sctx, host);
    ASSERT_TRUE(p.client_status) << p.client_status.error().message();
    EXPECT_TRUE(p.client->peer().verified);
    EXPECT_EQ(p.server->peer().server_name, "");  // no SNI for an address
  }
  // An address the certificate does not list.
  Pair p = connect(client_ctx(), sctx, "127.0.0.2");
  expect_verify_failure(p, "certificate verify failed: IP address mismatch (CN=localhost,O=nullq test)");
  // The wrong-name certificate has no IP entries at all.
  Pair q = connect(client_ctx(), server_ctx(certs_.wrong_name_cert, certs_.wrong_name_key), "127.0.0.1");
  expect_verify_failure(q, "certificate verify failed: IP address mismatch (CN=wrong.example,O=nullq test)");
}

TEST_F(Tls, VerifyOffAcceptsABadCertificateAndSaysWhy) {
  ClientOptions o;
  o.verify = false;
  Pair p = connect(client_ctx(o), server_ctx(certs_.expired_cert, certs_.expired_key), "localhost");
  ASSERT_TRUE(p.client_status) << p.client_status.error().message();
  ASSERT_TRUE(p.client->established());
  EXPECT_FALSE(p.client->peer().verified);
  EXPECT_EQ(p.client->peer().verify_error, "certificate has expired");

  ClientOptions unknown;
  unknown.verify = false;
  unknown.ca_file = certs_.other_ca_cert;
  Pair q = connect(client_ctx(unknown), server_ctx(certs_.wrong_name_cert, certs_.wrong_name_key), "localhost");
  ASSERT_TRUE(q.client_status) << q.client_status.error().message();
  EXPECT_FALSE(q.client->peer().verified);
  EXPECT_EQ(q.client->peer().verify_error, "unable to get local issuer certificate");
}

TEST_F(Tls, ClientCertificateLoads) {
  ClientOptions o;
  o.cert_file = certs_.client_cert;
  o.key_file = certs_.client_key;
  Pair p = connect(client_ctx(o), server_ctx(certs_.server_cert, certs_.server_key), "localhost");
  ASSERT_TRUE(p.client_status) << p.client_status.error().message();
  EXPECT_TRUE(p.client->established());
}

void expect_config_error(const nullq::Result<std::shared_ptr<Context>>& r, const std::string& want) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().domain, ErrorDomain::config);
  EXPECT_TRUE(r.error().is_permanent());
  EXPECT_EQ(r.error().message(), want);
}

TEST_F(Tls, BadOrMissingFilesAreConfigErrorsNamingTheFile) {
  std::string missing = dir_ / "missing.pem";
  dir_.write("garbage.pem", "this is not PEM\n");
  std::string garbage = dir_ / "garbage.pem";

  ClientOptions o;
  o.ca_file = missing;
  expect_config_error(Context::make_client(o), "TLS CA file " + missing + ": No such file or directory");
  o.ca_file = garbage;
  auto r = Context::make_client(o);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message().starts_with("TLS CA file " + garbage + ": ")) << r.error().message();
  EXPECT_EQ(r.error().domain, ErrorDomain::config);

  ClientOptions c;
  c.ca_file = certs_.ca_cert;
  c.cert_file = certs_.client_cert;
  expect_config_error(Context::make_client(c),
                      "TLS client certificate " + certs_.client_cert + " given without a key");
  c.key_file = missing;
  expect_config_error(Context::make_client(c), "TLS client key " + missing + ": No such file or directory");
  c.key_file = certs_.server_key;
  expect_config_error(Context::make_client(c),
                      "TLS client key " + certs_.server_key + " does not match " + certs_.client_cert);
  c.cert_file = garbage;
  c.key_file = certs_.client_key;
  r = Context::make_client(c);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message().starts_with("TLS client certificate " + garbage + ": ")) << r.error().message();

  expect_config_error(Context::make_server(ServerOptions{missing, certs_.server_key}),
                      "TLS certificate " + missing + ": No such file or directory");
  expect_config_error(Context::make_server(ServerOptions{certs_.server_cert, missing}),
                      "TLS key " + missing + ": No such file or directory");
  r = Context::make_server(ServerOptions{certs_.server_cert, garbage});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message().starts_with("TLS key " + garbage + ": ")) << r.error().message();
  expect_config_error(Context::make_server(ServerOptions{certs_.server_cert, certs_.client_key}),
                      "TLS key " + certs_.client_key + " does not match " + certs_.server_cert);
  expect_config_error(Context::make_server(ServerOptions{}), "TLS server needs a certificate and a key file");
}

TEST_F(Tls, GarbageFromThePeerIsAProtocolError) {
  auto c = Engine::client(client_ctx(), "localhost");
  ASSERT_TRUE(c);
  EXPECT_FALSE((*c)->take_output().empty());  // the ClientHello
  std::string plain;
  auto st = (*c)->receive("220 smtp.example ESMTP not TLS at all\r\n", plain);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().domain, ErrorDomain::protocol);
  EXPECT_TRUE(st.error().is_temporary());
  EXPECT_TRUE(st.error().detail.starts_with("TLS handshake failed: ")) << st.error().detail;
  EXPECT_EQ(st.error().detail.find('\n'), std::string::npos);
  EXPECT_EQ(plain, "");

  auto s = Engine::server(server_ctx(certs_.server_cert, certs_.server_key));
  ASSERT_TRUE(s);
  st = (*s)->receive("EHLO client.example\r\n", plain);
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().detail.starts_with("TLS handshake failed: ")) << st.error().detail;
}

TEST_F(Tls, GarbageAfterTheHandshakeIsAProtocolError) {
  Pair p = connect(client_ctx(), server_ctx(certs_.server_cert, certs_.server_key), "localhost");
  ASSERT_TRUE(p.client->established());
  std::string plain;
  auto st = p.client->receive(std::string(64, 'x'), plain);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().domain, ErrorDomain::protocol);
  EXPECT_TRUE(st.error().detail.starts_with("TLS read failed: ")) << st.error().detail;
}

TEST_F(Tls, SessionsAreResumedPerHost) {
  auto cctx = client_ctx();
  auto sctx = server_ctx(certs_.server_cert, certs_.server_key);
  Pair first = connect(cctx, sctx, "localhost");
  ASSERT_TRUE(first.client->established());
  EXPECT_FALSE(first.client->peer().resumed);
  // TLS 1.3 tickets come after the handshake; the client takes them in with the next read.
  ASSERT_TRUE(first.server->send("220 ready\r\n"));
  first.pump();
  EXPECT_EQ(first.client_plain, "220 ready\r\n");

  Pair second = connect(cctx, sctx, "localhost");
  ASSERT_TRUE(second.client_status) << second.client_status.error().message();
  EXPECT_TRUE(second.client->peer().resumed);
  EXPECT_TRUE(second.server->peer().resumed);
  EXPECT_TRUE(second.client->peer().verified);  // the resumed session keeps the verified peer
  EXPECT_EQ(second.client->peer().subject, "CN=localhost,O=nullq test");

  // Another host name has its own (empty) slot.
  Pair other = connect(cctx, sctx, "127.0.0.1");
  ASSERT_TRUE(other.client_status) << other.client_status.error().message();
  EXPECT_FALSE(other.client->peer().resumed);

  // A fresh client context has no sessions.
  Pair fresh = connect(client_ctx(), sctx, "localhost");
  EXPECT_FALSE(fresh.client->peer().resumed);
}

TEST_F(Tls, Tls12SessionsAreResumedToo) {
  auto s = Context::make_server(ServerOptions{certs_.server_cert, certs_.server_key});
  ASSERT_TRUE(s);
  SSL_CTX_set_max_proto_version((*s)->impl().ctx, TLS1_2_VERSION);
  auto cctx = client_ctx();
  Pair first = connect(cctx, *s, "localhost");
  ASSERT_TRUE(first.client->established());
  Pair second = connect(cctx, *s, "localhost");
  ASSERT_TRUE(second.client_status) << second.client_status.error().message();
  EXPECT_EQ(second.client->peer().version, "TLSv1.2");
  EXPECT_TRUE(second.client->peer().resumed);
}

}  // namespace

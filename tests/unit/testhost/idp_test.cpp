// The test identity provider over real loopback TLS, with a plain OpenSSL client writing raw HTTP.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "idp_http.hpp"
#include "nullq/testcerts.hpp"
#include "nullq/testhost_idp.hpp"
#include "process.hpp"

using nullq::testhost::Idp;
using nullq::testhost::IdpOptions;

namespace {

struct Answer {
  int status = 0;
  std::string head, body;
};

// One HTTPS exchange: the raw request bytes out, the whole answer in (the server closes).
Answer exchange(std::uint16_t port, const std::string& ca, const std::string& raw) {
  Answer a;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return a;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set1_host(ssl, "127.0.0.1");
  SSL_set_fd(ssl, fd);
  std::string in;
  if (SSL_connect(ssl) == 1 && SSL_write(ssl, raw.data(), static_cast<int>(raw.size())) > 0) {
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) in.append(buf, static_cast<std::size_t>(n));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  std::size_t end = in.find("\r\n\r\n");
  if (in.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return a;
  a.status = std::stoi(in.substr(9, 3));
  a.head = in.substr(0, end);
  a.body = in.substr(end + 4);
  return a;
}

std::string post(const std::string& path, const std::string& body, const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The value of a JSON string or number field in the IdP's flat answers ("" when absent).
std::string field(const std::string& json, const std::string& name) {
  std::size_t at = json.find("\"" + name + "\":");
  if (at == std::string::npos) return "";
  at += name.size() + 3;
  if (json[at] == '"') return json.substr(at + 1, json.find('"', at + 1) - at - 1);
  return json.substr(at, json.find_first_of(",}", at) - at);
}

std::string s256(const std::string& verifier) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), d);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, d, sizeof d);
  std::string s(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

class IdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = nullq::testhost::make_certs(dir_.path());
    ASSERT_TRUE(made) << made.error().message();
    certs_ = *made;
    IdpOptions o;
    o.cert_file = certs_.server_cert;
    o.key_file = certs_.server_key;
    o.clients = {{"app", "s3cret"}, {"public", ""}};
    o.token_lifetime = 120;
    o.user = "me@example.com";
    auto idp = Idp::start(o);
    ASSERT_TRUE(idp) << idp.error().message();
    idp_ = std::move(*idp);
  }
  Answer send(const std::string& raw) { return exchange(idp_->port(), certs_.ca_cert, raw); }
  Answer token(const std::string& body, const std::string& extra = "") { return send(post("/token", body, extra)); }

  nullq::testing::TempDir dir_;
  nullq::testhost::CertFiles certs_;
  std::unique_ptr<Idp> idp_;
};

TEST_F(IdpTest, ClientCredentialsIssueALiveTokenForTheUserUntilExpired) {
  Answer a = token("grant_type=client_credentials&client_id=app&client_secret=s3cret&scope=x");
  ASSERT_EQ(a.status, 200) << a.head << a.body;
  EXPECT_NE(a.head.find("Content-Type: application/json"), std::string::npos);
  EXPECT_NE(a.head.find("Cache-Control: no-store"), std::string::npos);
  std::string at = field(a.body, "access_token");
  ASSERT_FALSE(at.empty()) << a.body;
  EXPECT_EQ(field(a.body, "expires_in"), "120");
  EXPECT_EQ(field(a.body, "token_type"), "Bearer");
  EXPECT_EQ(field(a.body, "refresh_token"), "");
  EXPECT_EQ(idp_->check_token("me@example.com", at), "");
  EXPECT_EQ(idp_->check_token("other@example.com", at), "invalid_token");
  EXPECT_EQ(idp_->check_token("me@example.com", at + "x"), "invalid_token");
  idp_->expire_access_tokens();
  EXPECT_EQ(idp_->check_token("me@example.com", at), "invalid_token");
  EXPECT_EQ(idp_->count("client_credentials"), 1u);
}

TEST_F(IdpTest, BasicAuthenticationWorksAndBadClientsGetInvalidClient401) {
  // "app:s3cret" in base64
  EXPECT_EQ(token("grant_type=client_credentials", "Authorization: Basic YXBwOnMzY3JldA==\r\n").status, 200);
  Answer wrong = token("grant_type=client_credentials&client_id=app&client_secret=nope");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(field(wrong.body, "error"), "invalid_client");
  EXPECT_NE(wrong.head.find("WWW-Authenticate: Basic"), std::string::npos);
  EXPECT_EQ(field(token("grant_type=client_credentials&client_id=who&client_secret=x").body, "error"), "invalid_client");
  EXPECT_EQ(token("grant_type=client_credentials&client_id=app").status, 401);  // no secret
  Answer pub = token("grant_type=client_credentials&client_id=public");
  EXPECT_EQ(pub.status, 400);
  EXPECT_EQ(field(pub.body, "error"), "unauthorized_client");
}

TEST_F(IdpTest, GrantErrorsFollowRfc6749) {
  struct Case {
    std::string body;
    int status;
    std::string error;
  } cases[] = {
      {"client_id=app&client_secret=s3cret", 400, "invalid_request"},
      {"grant_type=password&client_id=app&client_secret=s3cret", 400, "unsupported_grant_type"},
      {"grant_type=refresh_token&client_id=app&client_secret=s3cret", 400, "invalid_request"},
      {"grant_type=refresh_token&refresh_token=rt-nope&client_id=app&client_secret=s3cret", 400, "invalid_grant"},
      {"grant_type=authorization_code&code=x&code_verifier=y&client_id=public", 400, "invalid_grant"},
      {"grant_type=client_credentials&grant_type=x&client_id=app", 400, "invalid_request"},
      {"grant_type=x&client_id=%zz", 400, "invalid_request"},
  };
  for (const auto& c : cases) {
    Answer a = token(c.body);
    EXPECT_EQ(a.status, c.status) << c.body;
    EXPECT_EQ(field(a.body, "error"), c.error) << c.body;
  }
  EXPECT_EQ(send("GET /token HTTP/1.1\r\nHost: a\r\n\r\n").status, 405);
  EXPECT_EQ(send(post("/nothing", "a=b")).status, 404);
  EXPECT_EQ(send("POST /token HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}").status, 415);
  EXPECT_EQ(send("POST /token HTTP/1.1\r\nHost: a\r\n\r\n").status, 411);
}

TEST_F(IdpTest, EveryRefreshRotatesAndTheOldTokenIsRefused) {
  std::string rt = idp_->issue_refresh_token("app");
  Answer a = token("grant_type=refresh_token&refresh_token=" + rt + "&client_id=app&client_secret=s3cret");
  ASSERT_EQ(a.status, 200) << a.body;
  std::string next = field(a.body, "refresh_token");
  ASSERT_FALSE(next.empty());
  EXPECT_NE(next, rt);
  EXPECT_FALSE(idp_->refresh_token_live(rt));
  EXPECT_TRUE(idp_->refresh_token_live(next));
  Answer again = token("grant_type=refresh_token&refresh_token=" + rt + "&client_id=app&client_secret=s3cret");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(field(again.body, "error"), "invalid_grant");
  // Another client may not use it; a revoked token is refused.
  EXPECT_EQ(field(token("grant_type=refresh_token&refresh_token=" + next + "&client_id=public").body, "error"), "invalid_grant");
  idp_->revoke_refresh_token(next);
  EXPECT_EQ(field(token("grant_type=refresh_token&refresh_token=" + next + "&client_id=app&client_secret=s3cret").body, "error"),
            "invalid_grant");
  EXPECT_EQ(idp_->count("refresh_token"), 4u);
}

TEST_F(IdpTest, DeviceFlowFollowsItsScript) {
  idp_->set_device_script({"authorization_pending", "authorization_pending", "approve"});
  Answer d = send(post("/devicecode", "client_id=public&scope=mail"));
  ASSERT_EQ(d.status, 200) << d.body;
  std::string dc = field(d.body, "device_code");
  EXPECT_FALSE(field(d.body, "user_code").empty());
  EXPECT_EQ(field(d.body, "verification_uri"), idp_->url("/device"));
  EXPECT_EQ(field(d.body, "interval"), "0");
  EXPECT_EQ(field(d.body, "expires_in"), "600");
  std::string poll = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=public&device_code=" + dc;
  EXPECT_EQ(field(token(poll).body, "error"), "authorization_pending");
  EXPECT_EQ(field(token(poll).body, "error"), "authorization_pending");
  Answer ok = token(poll);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_FALSE(field(ok.body, "refresh_token").empty());
  EXPECT_EQ(field(token(poll).body, "error"), "invalid_grant");  // used
  for (std::string end : {"access_denied", "expired_token"}) {
    idp_->set_device_script({end});
    std::string code = field(send(post("/devicecode", "client_id=public")).body, "device_code");
    std::string p = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=public&device_code=" + code;
    EXPECT_EQ(field(token(p).body, "error"), end);
  }
  EXPECT_EQ(idp_->count("devicecode"), 3u);
  EXPECT_EQ(idp_->count("urn:ietf:params:oauth:grant-type:device_code"), 6u);
  EXPECT_EQ(idp_->count("too_fast"), 0u);
}

TEST_F(IdpTest, DevicePollsSoonerThanTheIntervalGetSlowDown) {
  // After a scripted slow_down the interval is 5 seconds: an immediate poll is too fast and does
  // not take the script's next step.
  idp_->set_device_script({"slow_down", "approve"});
  std::string dc = field(send(post("/devicecode", "client_id=public")).body, "device_code");
  std::string poll = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=public&device_code=" + dc;
  EXPECT_EQ(field(token(poll).body, "error"), "slow_down");
  EXPECT_EQ(field(token(poll).body, "error"), "slow_down");
  EXPECT_EQ(idp_->count("too_fast"), 1u);
}

TEST_F(IdpTest, AuthorizationCodeNeedsTheRightVerifierAndIsSingleUse) {
  std::string verifier(43, 'v');
  std::string redirect = "http://127.0.0.1:5555/";
  std::string query = "response_type=code&client_id=public&redirect_uri=" + nullq::testhost::http::url_encode(redirect) +
                      "&state=st%2B1&code_challenge=" + s256(verifier) + "&code_challenge_method=S256";
  Answer a = send("GET /authorize?" + query + " HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(a.status, 302) << a.body;
  std::size_t loc = a.head.find("Location: " + redirect + "?code=");
  ASSERT_NE(loc, std::string::npos) << a.head;
  std::string code = a.head.substr(loc + 10 + redirect.size() + 6);
  code = code.substr(0, code.find('&'));
  EXPECT_NE(a.head.find("&state=st%2B1"), std::string::npos) << a.head;
  std::string exchange_body = "grant_type=authorization_code&client_id=public&code=" + code +
                              "&redirect_uri=" + nullq::testhost::http::url_encode(redirect) + "&code_verifier=";
  Answer bad = token(exchange_body + std::string(43, 'w'));
  EXPECT_EQ(field(bad.body, "error"), "invalid_grant");
  // The code was spent by the failed attempt too.
  EXPECT_EQ(field(token(exchange_body + verifier).body, "error"), "invalid_grant");
  auto second = idp_->authorize(query);
  ASSERT_TRUE(second);
  std::string code2 = second->substr(second->find("code=") + 5);
  code2 = code2.substr(0, code2.find('&'));
  Answer good = token("grant_type=authorization_code&client_id=public&code=" + code2 + "&redirect_uri=" +
                      nullq::testhost::http::url_encode(redirect) + "&code_verifier=" + verifier);
  EXPECT_EQ(good.status, 200) << good.body;
  EXPECT_FALSE(field(good.body, "refresh_token").empty());
  idp_->set_auto_approve(false);
  auto denied = idp_->authorize(query);
  ASSERT_TRUE(denied);
  EXPECT_EQ(*denied, redirect + "?error=access_denied&state=st%2B1");
  EXPECT_FALSE(idp_->authorize("response_type=code&client_id=public&redirect_uri=https%3A%2F%2Fevil%2F&code_challenge=" +
                               s256(verifier) + "&code_challenge_method=S256"));
  EXPECT_FALSE(idp_->authorize("response_type=code&client_id=public&redirect_uri=" + nullq::testhost::http::url_encode(redirect) +
                               "&code_challenge=" + s256(verifier) + "&code_challenge_method=plain"));
  EXPECT_EQ(idp_->count("authorize"), 5u);
}

TEST_F(IdpTest, UnavailableAnswers503ToEverything) {
  idp_->set_unavailable(true);
  Answer a = token("grant_type=client_credentials&client_id=app&client_secret=s3cret");
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.body.find("{"), std::string::npos);  // not an OAuth error: a load balancer's page
  EXPECT_EQ(send(post("/devicecode", "client_id=public")).status, 503);
  idp_->set_unavailable(false);
  EXPECT_EQ(token("grant_type=client_credentials&client_id=app&client_secret=s3cret").status, 200);
}

TEST_F(IdpTest, GarbageAndEarlyCloseDoNotStopTheServer) {
  Answer junk = send("NOT HTTP\r\n\r\n");
  EXPECT_EQ(junk.status, 400);
  // A client that connects and leaves without a TLS handshake.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(idp_->port());
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ::close(fd);
  EXPECT_EQ(token("grant_type=client_credentials&client_id=app&client_secret=s3cret").status, 200);
  EXPECT_GE(idp_->connections(), 3u);
}

}  // namespace

// SASL for SMTP AUTH (src/proto/sasl.cpp): XOAUTH2 and OAUTHBEARER encodings against the published
// example vectors, the OAuth error challenge, EHLO's AUTH line, and the client's side of the
// exchange (SaslClient) for every mechanism, including the 334 error-JSON dance.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nullq/smtp.hpp"

namespace smtp = nullq::proto::smtp;
using Kind = smtp::SaslClient::Step::Kind;

namespace {

smtp::Reply reply(int code, std::string text) {
  smtp::Reply r;
  r.code = code;
  r.enhanced = smtp::enhanced_code(text);
  r.lines = {std::move(text)};
  return r;
}

std::string b64d(std::string_view s) {
  std::string out;
  EXPECT_TRUE(smtp::base64_decode(s, out)) << s;
  return out;
}

// Google's XOAUTH2 page: the initial client response for someuser@example.com.
constexpr const char* google_token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
constexpr const char* google_ir =
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==";
// RFC 7628 §4.1: user@example.com at server.example.com:587.
constexpr const char* rfc_token = "vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==";
constexpr const char* rfc_ir =
    "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2c9PQEB";
// RFC 7628 §4.3's failure challenge (unpadded, as curl's test suite sends it too) and Google's.
constexpr const char* rfc_error =
    "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0";
constexpr const char* google_error =
    "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K";

TEST(Sasl, Xoauth2MatchesGooglesExample) {
  EXPECT_EQ(smtp::auth_xoauth2("someuser@example.com", google_token), google_ir);
  EXPECT_EQ(b64d(google_ir), std::string("user=someuser@example.com\x01" "auth=Bearer ") + google_token + "\x01\x01");
  // curl's test 922 (user "user", token mF_9.B5f-4.1JqM): an independent second vector.
  EXPECT_EQ(smtp::auth_xoauth2("user", "mF_9.B5f-4.1JqM"), "dXNlcj11c2VyAWF1dGg9QmVhcmVyIG1GXzkuQjVmLTQuMUpxTQEB");
}

TEST(Sasl, OauthbearerMatchesRfc7628AndEscapesTheAuthzid) {
  EXPECT_EQ(smtp::auth_oauthbearer("user@example.com", "server.example.com", 587, rfc_token), rfc_ir);
  EXPECT_EQ(b64d(smtp::auth_oauthbearer("a,b=c", "h", 25, "T")),
            std::string("n,a=a=2Cb=3Dc,\x01host=h\x01port=25\x01" "auth=Bearer T\x01\x01"));
}

TEST(Sasl, Base64DecodeTakesPaddedAndUnpaddedAndRefusesTheRest) {
  std::string out;
  EXPECT_TRUE(smtp::base64_decode("AQ==", out));
  EXPECT_EQ(out, "\x01");
  EXPECT_TRUE(smtp::base64_decode("AQ", out));
  EXPECT_EQ(out, "\x01");
  EXPECT_TRUE(smtp::base64_decode("", out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(smtp::base64_decode("A", out));
  EXPECT_FALSE(smtp::base64_decode("AQ=", out));
  EXPECT_FALSE(smtp::base64_decode("A=Q=", out));
  EXPECT_FALSE(smtp::base64_decode("AQ==\r", out));
  EXPECT_FALSE(smtp::base64_decode("not base64!", out));
  EXPECT_EQ(smtp::base64(b64d(rfc_ir)), rfc_ir);
}

TEST(Sasl, OauthErrorSummary) {
  EXPECT_EQ(smtp::oauth_error_summary(google_error), "status=401");
  EXPECT_EQ(smtp::oauth_error_summary(rfc_error), "status=invalid_token");
  EXPECT_EQ(smtp::oauth_error_summary(smtp::base64(R"({"status":401})")), "status=401");
  // Hostile: control bytes escaped, long values capped, one line.
  const std::string s = smtp::oauth_error_summary(smtp::base64("{\"status\":\"a\\u001b[31m\\nb" + std::string(500, 'x') + "\"}"));
  EXPECT_EQ(s.rfind("status=a\\x1b[31m\\x0ab", 0), 0u) << s;
  EXPECT_LT(s.size(), 100u);
  EXPECT_EQ(s.find('\n'), std::string::npos);
  // Garbage never throws and gives "".
  for (const char* junk : {"", "%%%", "AQ==", "e30=" /* {} */, "WzEsMl0=" /* [1,2] */, "eyJzdGF0dXMiOnRydWV9" /* {"status":true} */,
                           "eyJzdGF0dXMiOiIifQ==" /* {"status":""} */, "eyJzdGF0dXMiOiI0MDEi" /* truncated */})
    EXPECT_EQ(smtp::oauth_error_summary(junk), "") << junk;
}

TEST(Sasl, EhloAuthLineAnyCaseAndOldStyle) {
  smtp::Reply r = reply(250, "mx.example");
  r.lines.push_back("auth plain xoauth2 OAuthBearer");
  r.lines.push_back("AUTH=LOGIN");
  auto c = smtp::parse_ehlo(r);
  EXPECT_TRUE(c.auth_plain && c.auth_login && c.auth_xoauth2 && c.auth_oauthbearer);
  EXPECT_EQ(c.auth_mechanisms, (std::vector<std::string>{"PLAIN", "XOAUTH2", "OAUTHBEARER", "LOGIN"}));
  smtp::Reply only = reply(250, "mx.example");
  only.lines.push_back("AUTH XOAUTH2");
  auto o = smtp::parse_ehlo(only);
  EXPECT_TRUE(o.auth_xoauth2);
  EXPECT_FALSE(o.auth_oauthbearer || o.auth_plain || o.auth_login);
  smtp::Reply none = reply(250, "mx.example");
  none.lines.push_back("XOAUTH2");  // not an AUTH line
  EXPECT_FALSE(smtp::parse_ehlo(none).auth_xoauth2);
}

smtp::SaslClient::Credentials creds(std::string_view secret) {
  return {"someuser@example.com", secret, "smtp.example.com", 587};
}

TEST(SaslClient, Xoauth2InitialResponseThen235) {
  smtp::SaslClient c(smtp::Sasl::xoauth2, creds(google_token));
  auto s = c.start();
  EXPECT_EQ(s.kind, Kind::send);
  EXPECT_EQ(s.line, std::string("AUTH XOAUTH2 ") + google_ir + "\r\n");
  EXPECT_EQ(c.on_reply(reply(235, "2.7.0 Accepted")).kind, Kind::done);
  EXPECT_TRUE(c.finished());
}

TEST(SaslClient, Xoauth2ErrorChallengeGetsAnEmptyLineThen535) {
  smtp::SaslClient c(smtp::Sasl::xoauth2, creds(google_token));
  c.start();
  auto s = c.on_reply(reply(334, google_error));
  EXPECT_EQ(s.kind, Kind::send);
  EXPECT_EQ(s.line, "\r\n");
  s = c.on_reply(reply(535, "5.7.8 Username and Password not accepted"));
  EXPECT_EQ(s.kind, Kind::failed);
  EXPECT_EQ(s.code, 535);
  EXPECT_EQ(s.oauth_error, "status=401");
  EXPECT_EQ(s.error,
            "authentication failed: the server rejected the access token for someuser@example.com: "
            "535 5.7.8 Username and Password not accepted (status=401)");
}

TEST(SaslClient, OauthbearerErrorChallengeGetsAQThen535) {
  smtp::SaslClient c(smtp::Sasl::oauthbearer, {"user@example.com", rfc_token, "server.example.com", 587});
  EXPECT_EQ(c.start().line, std::string("AUTH OAUTHBEARER ") + rfc_ir + "\r\n");
  auto s = c.on_reply(reply(334, rfc_error));
  EXPECT_EQ(s.line, "AQ==\r\n");
  s = c.on_reply(reply(535, "5.7.8 Authentication credentials invalid"));
  EXPECT_EQ(s.kind, Kind::failed);
  EXPECT_NE(s.error.find("(status=invalid_token)"), std::string::npos) << s.error;
  // 454: the server could not check the token; not a refusal of it.
  smtp::SaslClient t(smtp::Sasl::oauthbearer, creds("tok"));
  t.start();
  s = t.on_reply(reply(454, "4.7.0 Temporary authentication failure"));
  EXPECT_EQ(s.code, 454);
  EXPECT_EQ(s.error, "authentication failed: 454 4.7.0 Temporary authentication failure");
}

TEST(SaslClient, ALongResponseWaitsForTheEmpty334) {
  const std::string token(1800, 'J');  // Microsoft's JWTs are this long
  smtp::SaslClient c(smtp::Sasl::xoauth2, creds(token));
  EXPECT_EQ(c.start().line, "AUTH XOAUTH2\r\n");
  auto s = c.on_reply(reply(334, ""));
  EXPECT_EQ(s.line, smtp::auth_xoauth2("someuser@example.com", token) + "\r\n");
  // Then the same dance as with an initial response.
  EXPECT_EQ(c.on_reply(reply(334, google_error)).line, "\r\n");
  EXPECT_EQ(c.on_reply(reply(535, "5.7.8 no")).kind, Kind::failed);
  // 512 octets with CRLF is the limit: the longest line that fits goes as it is, a longer one not.
  std::string fits;
  for (std::size_t n = 300; n < 600; ++n) {
    std::string t(n, 'x');
    smtp::SaslClient probe(smtp::Sasl::xoauth2, creds(t));
    const std::string l = probe.start().line;
    if (l.size() <= 512 && l.rfind("AUTH XOAUTH2 ", 0) == 0) fits = t;
  }
  smtp::SaslClient edge(smtp::Sasl::xoauth2, creds(fits));
  const std::string line = edge.start().line;
  EXPECT_GE(line.size(), 509u);  // base64 grows in steps of 4
  EXPECT_LE(line.size(), 512u);
  EXPECT_EQ(line.rfind("AUTH XOAUTH2 ", 0), 0u);
  smtp::SaslClient over(smtp::Sasl::xoauth2, creds(fits + "xxx"));
  EXPECT_EQ(over.start().line, "AUTH XOAUTH2\r\n");
}

TEST(SaslClient, PlainAndLoginKeepTheirWording) {
  smtp::SaslClient p(smtp::Sasl::plain, {"tim", "tanstaaftanstaaf", "", 0});
  EXPECT_EQ(p.start().line, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
  auto s = p.on_reply(reply(535, "5.7.8 authentication credentials invalid"));
  EXPECT_EQ(s.error,
            "authentication failed: the server rejected the user name or password (535 5.7.8 authentication "
            "credentials invalid); check auth.user and the password_file");
  smtp::SaslClient l(smtp::Sasl::login, {"tim", "secret", "", 0});
  EXPECT_EQ(l.start().line, "AUTH LOGIN\r\n");
  EXPECT_EQ(l.on_reply(reply(334, "VXNlcm5hbWU6")).line, "dGlt\r\n");
  EXPECT_EQ(l.on_reply(reply(334, "UGFzc3dvcmQ6")).line, "c2VjcmV0\r\n");
  EXPECT_EQ(l.on_reply(reply(235, "ok")).kind, Kind::done);
  // A challenge PLAIN has no use for ends the exchange.
  smtp::SaslClient q(smtp::Sasl::plain, {"tim", "pw", "", 0});
  q.start();
  s = q.on_reply(reply(334, "what"));
  EXPECT_EQ(s.kind, Kind::failed);
  EXPECT_EQ(s.error, "authentication failed: unexpected challenge 334 what");
}

TEST(SaslClient, A334AfterTheDummyOrAnythingAfterTheEndFails) {
  smtp::SaslClient c(smtp::Sasl::oauthbearer, creds("tok"));
  c.start();
  c.on_reply(reply(334, rfc_error));
  auto s = c.on_reply(reply(334, rfc_error));
  EXPECT_EQ(s.kind, Kind::failed);
  EXPECT_EQ(c.on_reply(reply(235, "ok")).kind, Kind::failed);
  // A 235 after the dummy is not success: RFC 7628 §3.2.3 says the server fails the exchange.
  smtp::SaslClient d(smtp::Sasl::xoauth2, creds("tok"));
  d.start();
  d.on_reply(reply(334, google_error));
  EXPECT_EQ(d.on_reply(reply(235, "ok")).kind, Kind::failed);
}

TEST(SaslClient, NoSecretInAnyErrorTextEvenWhenTheServerEchoesIt) {
  const std::string token = "ya29.SECRET-token-value";
  for (auto mech : {smtp::Sasl::plain, smtp::Sasl::login, smtp::Sasl::xoauth2, smtp::Sasl::oauthbearer}) {
    smtp::SaslClient c(mech, {"u@x", token, "h", 25});
    std::string sent = c.start().line;
    if (mech == smtp::Sasl::login) {
      sent += c.on_reply(reply(334, "VXNlcm5hbWU6")).line;
      sent += c.on_reply(reply(334, "UGFzc3dvcmQ6")).line;
    }
    // Every base64 word the client sent, echoed back with the token itself.
    std::vector<std::string> words;
    for (std::size_t p = 0; p < sent.size();) {
      std::size_t e = sent.find_first_of(" \r\n", p);
      if (e == std::string::npos) e = sent.size();
      if (e - p > 8 && sent.substr(p, e - p) != smtp::to_string(mech)) words.push_back(sent.substr(p, e - p));
      p = e + 1;
    }
    ASSERT_FALSE(words.empty());
    std::string echo = "5.7.8 bad token " + token;
    for (const auto& w : words) echo += " / " + w;
    auto s = c.on_reply(reply(535, echo));
    ASSERT_EQ(s.kind, Kind::failed);
    EXPECT_EQ(s.error.find(token), std::string::npos) << s.error;
    for (const auto& w : words) EXPECT_EQ(s.error.find(w), std::string::npos) << s.error;
    EXPECT_NE(s.error.find("[redacted]"), std::string::npos) << s.error;
  }
}

}  // namespace

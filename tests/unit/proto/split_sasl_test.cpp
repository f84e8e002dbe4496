// The AUTH exchange (SaslClient fed by the ReplyParser) comes to one outcome whatever the read
// boundaries of the server's bytes (split_harness.hpp): the XOAUTH2 and OAUTHBEARER error-JSON
// dance, a long token's empty 334, LOGIN, success, and a stream that breaks inside the dance.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nullq/smtp.hpp"
#include "split_harness.hpp"

namespace smtp = nullq::proto::smtp;
using nullq::test::Chunks;
using nullq::test::expect_same_outcome_at_every_split;

namespace {

// Runs one exchange over the server's bytes and describes it: every line sent, then the end.
nullq::test::RunReader exchange(smtp::Sasl mech, std::string secret) {
  return [mech, secret](const Chunks& chunks) {
    smtp::ReplyParser p;
    smtp::SaslClient c(mech, {"someuser@example.com", secret, "smtp.example.com", 587});
    std::string out = "sent " + c.start().line;
    for (auto chunk : chunks) {
      std::vector<smtp::Reply> replies;
      auto st = p.feed(chunk, replies);
      for (const auto& r : replies) {
        if (c.finished()) return out + "reply after the end";
        auto s = c.on_reply(r);
        if (s.kind == smtp::SaslClient::Step::Kind::send) out += "sent " + s.line;
        else if (s.kind == smtp::SaslClient::Step::Kind::done) out += "done; ";
        else out += "failed " + std::to_string(s.code) + ": " + s.error;
      }
      if (!st.ok()) return out + "; protocol error: " + st.error().detail;
    }
    return out;
  };
}

const std::string google_error =
    "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K";

TEST(SplitSasl, Xoauth2ErrorDance) {
  const std::string tok = "ya29.tok";
  const std::string got = expect_same_outcome_at_every_split(
      "334 " + google_error + "\r\n535-5.7.8 Username and Password not accepted.\r\n535 5.7.8 Learn more\r\n",
      exchange(smtp::Sasl::xoauth2, tok));
  EXPECT_EQ(got, "sent AUTH XOAUTH2 " + smtp::auth_xoauth2("someuser@example.com", tok) +
                     "\r\nsent \r\nfailed 535: authentication failed: the server rejected the access token for "
                     "someuser@example.com: 535 5.7.8 Username and Password not accepted. / 5.7.8 Learn more "
                     "(status=401)");
}

TEST(SplitSasl, OauthbearerLongTokenGoAheadThenErrorDance) {
  const std::string tok(1500, 'T');
  const std::string got = expect_same_outcome_at_every_split(
      "334 \r\n334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\r\n535 5.7.8 Authentication credentials invalid\r\n",
      exchange(smtp::Sasl::oauthbearer, tok));
  EXPECT_EQ(got, "sent AUTH OAUTHBEARER\r\nsent " +
                     smtp::auth_oauthbearer("someuser@example.com", "smtp.example.com", 587, tok) +
                     "\r\nsent AQ==\r\nfailed 535: authentication failed: the server rejected the access token "
                     "for someuser@example.com: 535 5.7.8 Authentication credentials invalid (status=invalid_token)");
}

TEST(SplitSasl, SuccessLoginAndBrokenStreams) {
  EXPECT_EQ(expect_same_outcome_at_every_split("235 2.7.0 Accepted\r\n", exchange(smtp::Sasl::xoauth2, "t")),
            "sent AUTH XOAUTH2 " + smtp::auth_xoauth2("someuser@example.com", "t") + "\r\ndone; ");
  EXPECT_EQ(expect_same_outcome_at_every_split("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n",
                                               exchange(smtp::Sasl::login, "pw")),
            "sent AUTH LOGIN\r\nsent c29tZXVzZXJAZXhhbXBsZS5jb20=\r\nsent cHc=\r\ndone; ");
  // The dance cut short: an incomplete 535 is held, a malformed line fails the stream.
  EXPECT_EQ(expect_same_outcome_at_every_split("334 " + google_error + "\r\n535 5.7.8 Userna",
                                               exchange(smtp::Sasl::xoauth2, "t")),
            "sent AUTH XOAUTH2 " + smtp::auth_xoauth2("someuser@example.com", "t") + "\r\nsent \r\n");
  EXPECT_EQ(expect_same_outcome_at_every_split("334 " + google_error + "\r\nxyz\r\n", exchange(smtp::Sasl::xoauth2, "t")),
            "sent AUTH XOAUTH2 " + smtp::auth_xoauth2("someuser@example.com", "t") +
                "\r\nsent \r\n; protocol error: malformed reply line: xyz");
}

}  // namespace

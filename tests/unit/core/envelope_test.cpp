#include "nullq/envelope.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "nullq/netstring.hpp"

using nullq::envelope::Envelope;
namespace env = nullq::envelope;

namespace {

Envelope sample() {
  Envelope e;
  e.sender = "alice@example";
  e.recipients = {"bob@example"};
  e.queued_at = 1795338653;
  e.uid = 1000;
  return e;
}

TEST(Envelope, EncodesTheDocumentedExample) {
  EXPECT_EQ(env::encode(sample()), "NQ1\nF13:alice@example,\nT11:bob@example,\nQ10:1795338653,\nU4:1000,\n\n");
}

TEST(Envelope, RoundTripsEveryField) {
  Envelope e = sample();
  e.sender = "";
  e.recipients = {"a@x", "b,c:d@y", "\"quoted local\"@z"};
  e.uid = -1;
  e.last_error = "Zmail server temporarily rejected message (#4.3.0)";
  e.warned = true;
  e.original_id = "1795338653123456P42R0123456789abcdef";
  e.bounce_id = "1795338654123456P43R0123456789abcdef";
  std::string file = env::encode(e) + "Subject: x\n\nbody\n";
  std::size_t body = 0;
  auto d = env::decode(file, &body);
  ASSERT_TRUE(d.ok()) << d.error().detail;
  EXPECT_EQ(*d, e);
  EXPECT_EQ(file.substr(body), "Subject: x\n\nbody\n");
}

TEST(Envelope, EveryTruncationFailsCleanly) {
  std::string file = env::encode(sample());
  for (std::size_t n = 0; n < file.size(); ++n) {
    std::size_t body = 0;
    auto d = env::decode(file.substr(0, n), &body);
    EXPECT_FALSE(d.ok()) << "prefix of " << n << " bytes";
  }
}

struct Bad {
  const char* name;
  std::string file;
  const char* want;
};

class EnvelopeRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(EnvelopeRejects, WithAReason) {
  std::size_t body = 0;
  auto d = env::decode(GetParam().file, &body);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().domain, nullq::ErrorDomain::format);
  EXPECT_NE(d.error().detail.find(GetParam().want), std::string::npos) << d.error().detail;
}

INSTANTIATE_TEST_SUITE_P(
    Table, EnvelopeRejects,
    ::testing::Values(Bad{"no_magic", "NQ2\nF0:,\n\n", "missing NQ1"},
                      Bad{"no_sender", "NQ1\nT3:a@b,\nQ1:1,\n\n", "no sender"},
                      Bad{"no_recipient", "NQ1\nF0:,\nQ1:1,\n\n", "no recipients"},
                      Bad{"no_queued_at", "NQ1\nF0:,\nT3:a@b,\n\n", "no queued-at"},
                      Bad{"out_of_order", "NQ1\nT3:a@b,\nF0:,\nQ1:1,\n\n", "out of order"},
                      Bad{"twice", "NQ1\nF0:,\nF0:,\nT3:a@b,\nQ1:1,\n\n", "out of order"},
                      Bad{"unknown_tag", "NQ1\nF0:,\nX0:,\n\n", "unknown record"},
                      Bad{"no_lf", "NQ1\nF0:,T3:a@b,\n", "not ended by LF"},
                      Bad{"newline_in_rcpt", "NQ1\nF0:,\nT4:a\n@b,\nQ1:1,\n\n", "line break"},
                      Bad{"nul_in_sender", std::string("NQ1\nF3:a\0b,\nT3:a@b,\nQ1:1,\n\n", 24), "NUL"},
                      Bad{"empty_recipient", "NQ1\nF0:,\nT0:,\nQ1:1,\n\n", "empty recipient"},
                      Bad{"bad_number", "NQ1\nF0:,\nT3:a@b,\nQ2:1x,\n\n", "bad number"},
                      Bad{"huge_number", "NQ1\nF0:,\nT3:a@b,\nQ20:99999999999999999999,\n\n", "bad number"},
                      Bad{"bad_netstring", "NQ1\nF01:a,\n\n", "leading zero"},
                      // Found by tests/fuzz/envelope_fuzz (tests/data/fuzz/envelope/): read as 95338653.
                      Bad{"double_minus", "NQ1\nF0:,\nT3:a@b,\nQ10:--95338653,\n\n", "bad number"},
                      Bad{"minus_zero", "NQ1\nF0:,\nT3:a@b,\nQ2:-0,\n\n", "bad number"},
                      Bad{"minus_in_uid", "NQ1\nF0:,\nT3:a@b,\nQ1:1,\nU3:1-2,\n\n", "bad number"},
                      Bad{"oversize_address", "NQ1\nF5000:", "exceeds limit"},
                      // O and B name files in failed/: only plain ids, never a path.
                      Bad{"path_as_original", "NQ1\nF0:,\nT3:a@b,\nQ1:1,\nO5:../x1,\n\n", "bad O record"},
                      Bad{"empty_bounce_id", "NQ1\nF0:,\nT3:a@b,\nQ1:1,\nB0:,\n\n", "bad B record"},
                      Bad{"bounce_before_original", "NQ1\nF0:,\nT3:a@b,\nQ1:1,\nB1:x,\nO1:y,\n\n", "out of order"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace

TEST(Drop, FramingRoundTrips) {
  std::string block = env::encode_drop("a@x", {"b@y", "c@z"});
  EXPECT_EQ(block, "18:3:a@x,3:b@y,3:c@z,,");
  std::string_view in = block;
  auto outer = nullq::netstring::take(in);
  ASSERT_TRUE(outer.ok());
  auto e = env::decode_drop(*outer);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->sender, "a@x");
  EXPECT_EQ(e->recipients, (std::vector<std::string>{"b@y", "c@z"}));
}

TEST(Drop, RejectsBadFraming) {
  EXPECT_FALSE(env::decode_drop("").ok());
  EXPECT_FALSE(env::decode_drop("3:a@x,").ok());
  EXPECT_FALSE(env::decode_drop("3:a@x,4:b\r@y,").ok());
  EXPECT_FALSE(env::decode_drop("3:a@x,3:b@y").ok());
}

TEST(Drop, RefusesControlCharactersInNewAddresses) {
  auto d = env::decode_drop("3:a@x,4:b\x1b@y,");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().detail, "bad recipient: address contains a control character (\\x1b)");
  d = env::decode_drop("4:a\x07@x,3:b@y,");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().detail, "bad sender: address contains a control character (\\x07)");
  d = env::decode_drop("0:,9:b\xc3\xa9@y.org,");  // UTF-8 (SMTPUTF8) is no control character
  ASSERT_TRUE(d.ok()) << d.error().detail;
  EXPECT_EQ(d->recipients, (std::vector<std::string>{"b\xc3\xa9@y.org"}));
}

TEST(Address, NewAddressesRefuseEveryControlCharacterButQueueFilesStillDecode) {
  for (int c = 1; c < 0x80; ++c) {
    std::string addr = std::string("a") + static_cast<char>(c) + "b@x.org";
    bool control = c < 0x20 || c == 0x7f;
    auto s = env::validate_new_address(addr, false);
    EXPECT_EQ(s.ok(), !control) << "byte " << c;
    if (control && c != '\r' && c != '\n') {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      EXPECT_EQ(s.error().detail, std::string("address contains a control character (") + hex + ")");
      // A queue file written before the check (an ESC in an address) is still read and delivered.
      Envelope e = sample();
      e.recipients = {addr};
      std::size_t body = 0;
      auto d = env::decode(env::encode(e), &body);
      ASSERT_TRUE(d.ok()) << "byte " << c << ": " << d.error().detail;
      EXPECT_EQ(d->recipients, e.recipients);
    }
  }
  EXPECT_TRUE(env::validate_new_address("", true).ok());
  EXPECT_FALSE(env::validate_new_address("", false).ok());
}

// Encoders against byte-exact golden files in tests/data/proto, and the server-side decoders back.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nullq/qmqp.hpp"
#include "nullq/qmtp.hpp"

namespace {

std::string slurp(const std::string& name) {
  const char* dir = std::getenv("NULLQ_TEST_DATA");
  std::string path = std::string(dir ? dir : "tests/data") + "/proto/" + name;
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing golden file " << path;
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Vector {
  std::string message, sender;
  std::vector<std::string> recipients;
};

Vector load(const std::string& name) {
  Vector v;
  v.message = slurp(name + ".msg");
  std::istringstream env(slurp(name + ".env"));
  std::getline(env, v.sender);
  for (std::string line; std::getline(env, line);) v.recipients.push_back(line);
  return v;
}

class Golden : public ::testing::TestWithParam<const char*> {};

TEST_P(Golden, QmqpRequestIsByteExact) {
  Vector v = load(GetParam());
  auto got = nullq::proto::qmqp::encode_request(v.message, v.sender, v.recipients);
  ASSERT_TRUE(got.ok());
  std::string want = slurp(std::string(GetParam()) + ".qmqp");
  EXPECT_EQ(*got, want);

  // Server side: the outer netstring's payload decodes back to the same fields.
  std::string_view in = want;
  auto outer = nullq::netstring::take(in);
  ASSERT_TRUE(outer.ok());
  EXPECT_TRUE(in.empty());
  auto req = nullq::proto::qmqp::decode_request(*outer);
  ASSERT_TRUE(req.ok()) << req.error().detail;
  EXPECT_EQ(req->message, v.message);
  EXPECT_EQ(req->sender, v.sender);
  EXPECT_EQ(req->recipients, v.recipients);
}

TEST_P(Golden, QmtpPackageIsByteExact) {
  Vector v = load(GetParam());
  auto got = nullq::proto::qmtp::encode_package(v.message, v.sender, v.recipients);
  ASSERT_TRUE(got.ok());
  std::string want = slurp(std::string(GetParam()) + ".qmtp");
  EXPECT_EQ(*got, want);

  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, want.size()}) {
    nullq::proto::qmtp::PackageParser p(1 << 20);
    std::size_t used = 0;
    while (used < want.size() && p.state() == nullq::proto::qmtp::PackageParser::State::need_more)
      used += p.feed(std::string_view(want).substr(used, chunk));
    ASSERT_EQ(p.state(), nullq::proto::qmtp::PackageParser::State::done) << p.error().detail;
    EXPECT_EQ(used, want.size());
    EXPECT_EQ(p.package().message, v.message);
    EXPECT_EQ(p.package().sender, v.sender);
    EXPECT_EQ(p.package().recipients, v.recipients);
  }
}

// The parts the sessions write (head, the message itself, tail) make the same bytes as the
// encoders, so a large message goes to the wire without a copy.
TEST_P(Golden, FramedPartsMakeTheSameBytes) {
  Vector v = load(GetParam());
  auto q = nullq::proto::qmqp::frame_request(v.message, v.sender, v.recipients);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->head + v.message + q->tail, slurp(std::string(GetParam()) + ".qmqp"));
  auto t = nullq::proto::qmtp::frame_package(v.message, v.sender, v.recipients);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->as_is);
  EXPECT_EQ(t->head + v.message + t->tail, slurp(std::string(GetParam()) + ".qmtp"));
}

INSTANTIATE_TEST_SUITE_P(Vectors, Golden,
                         ::testing::Values("example", "eightbit", "empty_sender", "hundred_rcpts", "empty_body",
                                           "no_final_newline"));

TEST(GoldenCrlf, QmtpNormalisesCrlfToLf) {
  Vector v = load("crlf");
  auto got = nullq::proto::qmtp::encode_package(v.message, v.sender, v.recipients);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, slurp("crlf.qmtp"));
}

TEST(GoldenCrlf, QmtpFramedPackageWithCrlfIsWholeInTheHead) {
  Vector v = load("crlf");
  auto got = nullq::proto::qmtp::frame_package(v.message, v.sender, v.recipients);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->as_is);
  EXPECT_EQ(got->head, slurp("crlf.qmtp"));
  EXPECT_EQ(got->tail, "");
}

TEST(GoldenExamples, MatchProtocolsDocument) {
  auto q = nullq::proto::qmqp::encode_request("Hi\n", "a@x", {"b@y"});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, "18:3:Hi\n,3:a@x,3:b@y,,");
  auto t = nullq::proto::qmtp::encode_package("Hi\n", "a@x", {"b@y"});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "4:\nHi\n,3:a@x,6:3:b@y,,");
}

TEST(Encoders, RefuseEmptyRecipientList) {
  auto q = nullq::proto::qmqp::encode_request("Hi\n", "a@x", {});
  ASSERT_FALSE(q.ok());
  EXPECT_TRUE(q.error().is_permanent());
  auto t = nullq::proto::qmtp::encode_package("Hi\n", "a@x", {});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().detail.find("no recipients"), std::string::npos);
}

}  // namespace

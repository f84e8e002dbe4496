#include "nullq/netstring.hpp"

#include <gtest/gtest.h>

#include <string>

using nullq::netstring::Parser;

namespace {

// Feeds `in` one byte at a time and in one piece; both must agree.
struct Outcome {
  Parser::State state;
  std::string payload;
  std::size_t consumed;
};

Outcome run(std::string_view in, std::size_t limit, std::size_t chunk) {
  Parser p(limit);
  std::size_t used = 0;
  while (used < in.size() && p.state() == Parser::State::need_more) {
    std::string_view part = in.substr(used, chunk);
    std::size_t n = p.feed(part);
    used += n;
    if (n < part.size()) break;
  }
  return {p.state(), p.done() ? p.payload() : std::string(), used};
}

}  // namespace

TEST(Netstring, EncodesExamples) {
  EXPECT_EQ(nullq::netstring::encode(""), "0:,");
  EXPECT_EQ(nullq::netstring::encode("hello world!"), "12:hello world!,");
  EXPECT_EQ(nullq::netstring::encode(std::string("a\0,:", 4)), std::string("4:a\0,:,", 7));
  EXPECT_EQ(nullq::netstring::encoded_size(0), 3u);
  EXPECT_EQ(nullq::netstring::encoded_size(12), 16u);
  EXPECT_EQ(nullq::netstring::encoded_size(100), 105u);
}

struct Case {
  const char* name;
  std::string input;
  std::size_t limit;
  Parser::State want;
  std::string payload;
};

class NetstringParse : public ::testing::TestWithParam<Case> {};

TEST_P(NetstringParse, AnyChunking) {
  const Case& c = GetParam();
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{7}, c.input.size() + 1}) {
    Outcome got = run(c.input, c.limit, chunk);
    EXPECT_EQ(got.state, c.want) << c.name << " chunk " << chunk;
    EXPECT_EQ(got.payload, c.payload) << c.name << " chunk " << chunk;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, NetstringParse,
    ::testing::Values(
        Case{"empty", "0:,", 10, Parser::State::done, ""},
        Case{"simple", "3:abc,", 10, Parser::State::done, "abc"},
        Case{"binary", std::string("3:\0:,,", 6), 10, Parser::State::done, std::string("\0:,", 3)},
        Case{"at_limit", "5:abcde,", 5, Parser::State::done, "abcde"},
        Case{"over_limit", "6:abcdef,", 5, Parser::State::failed, ""},
        Case{"huge_announced", "999999999:", 1000, Parser::State::failed, ""},
        Case{"ten_digits", "1000000000:", nullq::netstring::absolute_max, Parser::State::failed, ""},
        Case{"empty_length", ":abc,", 10, Parser::State::failed, ""},
        Case{"leading_zero", "03:abc,", 10, Parser::State::failed, ""},
        Case{"double_zero", "00:,", 10, Parser::State::failed, ""},
        Case{"non_digit", "3a:abc,", 10, Parser::State::failed, ""},
        Case{"sign", "-3:abc,", 10, Parser::State::failed, ""},
        Case{"space", " 3:abc,", 10, Parser::State::failed, ""},
        Case{"missing_comma", "3:abcd", 10, Parser::State::failed, ""},
        Case{"truncated", "3:ab", 10, Parser::State::need_more, ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Netstring, StopsAtEndOfNetstring) {
  Parser p(100);
  std::string in = "3:abc,4:defg,";
  EXPECT_EQ(p.feed(in), 6u);
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.payload(), "abc");
  p.reset();
  EXPECT_EQ(p.feed(std::string_view(in).substr(6)), 7u);
  EXPECT_EQ(p.payload(), "defg");
}

TEST(Netstring, FinishInsidePayloadFails) {
  Parser p(100);
  p.feed("5:ab");
  p.finish();
  EXPECT_TRUE(p.failed());
  EXPECT_NE(p.error().detail.find("inside payload"), std::string::npos);
}

TEST(Netstring, FinishBeforeAnythingFails) {
  Parser p(100);
  p.finish();
  EXPECT_TRUE(p.failed());
}

TEST(Netstring, ErrorIsProtocolDomain) {
  Parser p(3);
  p.feed("4:");
  ASSERT_TRUE(p.failed());
  EXPECT_EQ(p.error().domain, nullq::ErrorDomain::protocol);
  EXPECT_NE(p.error().detail.find("exceeds limit"), std::string::npos);
}

TEST(Netstring, DoesNotReserveAnnouncedSize) {
  Parser p(nullq::netstring::absolute_max);
  p.feed("999999999:");
  EXPECT_EQ(p.state(), Parser::State::need_more);
  EXPECT_EQ(p.announced(), 999999999u);
  EXPECT_LE(p.payload().capacity(), 65536u + 64);
}

TEST(NetstringTake, ConsumesOneAndAdvances) {
  std::string_view in = "3:abc,0:,";
  auto a = nullq::netstring::take(in);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "abc");
  EXPECT_EQ(in, "0:,");
  auto b = nullq::netstring::take(in);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "");
  EXPECT_TRUE(in.empty());
}

TEST(NetstringTake, RejectsBadInput) {
  for (std::string bad : {"", "3", "3:ab", "3:abc", "3:abcd", "03:abc,", "x:,", ":,", "1234567890:"}) {
    std::string_view in = bad;
    auto r = nullq::netstring::take(in);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(in, bad) << "input must not advance on error";
  }
  std::string_view in = "4:abcd,";
  EXPECT_FALSE(nullq::netstring::take(in, 3).ok());
}

TEST(NetstringSplit, NestedItemsMustFillExactly) {
  auto ok = nullq::netstring::split("3:a@x,3:b@y,");
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0], "a@x");
  EXPECT_EQ((*ok)[1], "b@y");
  EXPECT_TRUE(nullq::netstring::split("").ok());
  EXPECT_FALSE(nullq::netstring::split("3:a@x,3:b@").ok());
  EXPECT_FALSE(nullq::netstring::split("3:a@x,x").ok());
}

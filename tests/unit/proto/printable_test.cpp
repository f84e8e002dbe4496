// nullq::printable(): the one helper that makes outside text safe (escape as \xNN, cap), and
// proto::sanitize, its older name for server text.
#include <gtest/gtest.h>

#include <string>

#include "nullq/printable.hpp"
#include "nullq/reply.hpp"

using nullq::printable;

namespace {

struct Case {
  std::string in;
  std::size_t cap;
  std::string want;
};

TEST(Printable, EscapesEveryNonPrintableByte) {
  const Case cases[] = {
      {"plain text, kept: ~!@#$%^&*()\\", 512, "plain text, kept: ~!@#$%^&*()\\"},
      {"esc \x1b[2J and cr\r lf\n tab\t", 512, "esc \\x1b[2J and cr\\x0d lf\\x0a tab\\x09"},
      {std::string("nul\0del\x7f hi\xff\x80", 13), 512, "nul\\x00del\\x7f hi\\xff\\x80"},
      {"unknown escape character: \x1f", 512, "unknown escape character: \\x1f"},
      {"", 512, ""},
  };
  for (const auto& c : cases) EXPECT_EQ(printable(c.in, c.cap), c.want) << c.in;
}

TEST(Printable, CapsWithoutSplittingAnEscape) {
  EXPECT_EQ(printable("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(printable("abcdefghijk", 10), "abcdefg...");
  EXPECT_EQ(printable("abcdef\x1bghij", 10), "abcdef...");  // not "abcdef\x1..." cut mid-escape
  EXPECT_EQ(printable("\x01\x02\x03", 11), "\\x01\\x02...");
  EXPECT_EQ(printable("\x01\x02\x03", 10), "\\x01...");
  EXPECT_EQ(printable("\x01\x02\x03", 8), "\\x01...");
  EXPECT_EQ(printable("abcdef", 2), "..");
  std::string big(100000, '\x1b');
  EXPECT_LE(printable(big).size(), nullq::max_printable);
  EXPECT_GE(printable(big).size(), nullq::max_printable - 3);
}

TEST(Printable, IsIdempotentSoLayersEscapeOnce) {
  for (std::string s : {std::string("a\x1b[31mb\r\n"), std::string(600, '\x07'), std::string("x\\x41y")}) {
    for (std::size_t cap : {std::size_t{5}, std::size_t{64}, std::size_t{512}}) {
      std::string once = printable(s, cap);
      EXPECT_EQ(printable(once, cap), once);
      for (unsigned char c : once) EXPECT_TRUE(c >= 0x20 && c < 0x7f);
      EXPECT_LE(once.size(), cap);
    }
  }
}

TEST(Sanitize, IsPrintableUnderItsOlderName) {
  EXPECT_EQ(nullq::proto::sanitize("ok\x1b]0;owned\x07\r\n"), "ok\\x1b]0;owned\\x07\\x0d\\x0a");
  EXPECT_EQ(nullq::proto::sanitize(std::string(600, 'x')).size(), nullq::proto::max_reply_text);
}

}  // namespace

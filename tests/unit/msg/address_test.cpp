#include <gtest/gtest.h>

#include "nullq/msg.hpp"

using nullq::msg::parse_address_list;

namespace {

struct Case {
  const char* input;
  std::vector<std::pair<std::string, std::string>> want;  // (address, display)
};

class AddressList : public ::testing::TestWithParam<Case> {};

TEST_P(AddressList, Parses) {
  auto got = parse_address_list(GetParam().input);
  ASSERT_TRUE(got.ok()) << GetParam().input << ": " << got.error().detail;
  ASSERT_EQ(got->size(), GetParam().want.size()) << GetParam().input;
  for (std::size_t i = 0; i < got->size(); ++i) {
    EXPECT_EQ((*got)[i].address, GetParam().want[i].first) << GetParam().input;
    EXPECT_EQ((*got)[i].display, GetParam().want[i].second) << GetParam().input;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, AddressList,
    ::testing::Values(Case{"a@b", {{"a@b", ""}}},
                      Case{"root", {{"root", ""}}},
                      Case{"Name <a@b>", {{"a@b", "Name"}}},
                      Case{"\"Last, First\" <a@b>, c@d", {{"a@b", "Last, First"}, {"c@d", ""}}},
                      Case{"a@b (Comment, with comma)", {{"a@b", "Comment, with comma"}}},
                      Case{"  a@b ,, c@d , ", {{"a@b", ""}, {"c@d", ""}}},
                      Case{"team: x@y, z@w;, last@v", {{"x@y", ""}, {"z@w", ""}, {"last@v", ""}}},
                      Case{"<@relay.example:user@example.org>", {{"user@example.org", ""}}},
                      Case{"\"quoted local\"@example.org", {{"\"quoted local\"@example.org", ""}}},
                      Case{"undisclosed-recipients:;", {}},
                      Case{"", {}}));

TEST(AddressList, RejectsBrokenSyntax) {
  for (const char* bad : {"Name <a@b", "a@b>", "\"unterminated <a@b>", "a@b (open", "two words@b", "<a@b> trailing",
                          "a@b@c", "@b", "a@", "<a@b> <c@d>"}) {
    auto got = parse_address_list(bad);
    EXPECT_FALSE(got.ok()) << bad;
    if (!got.ok()) {
      EXPECT_EQ(got.error().detail.rfind("bad address '", 0), 0u) << got.error().detail;
    }
  }
}

TEST(AddressList, ControlCharactersAreRefusedAndShownSafely) {
  auto got = parse_address_list(std::string("a\r@b", 4));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().detail.find('\r'), std::string::npos);
}

struct SenderCase {
  const char* input;
  const char* want;  // the addr-spec, or the error text when `ok` is false
  bool ok;
};

class Sender : public ::testing::TestWithParam<SenderCase> {};

TEST_P(Sender, ParsesOrSaysWhy) {
  const SenderCase& c = GetParam();
  auto got = nullq::msg::parse_sender(c.input);
  if (c.ok) {
    ASSERT_TRUE(got.ok()) << c.input << ": " << got.error().detail;
    EXPECT_EQ(*got, c.want) << c.input;
  } else {
    ASSERT_FALSE(got.ok()) << c.input << " -> " << *got;
    EXPECT_EQ(got.error().domain, nullq::ErrorDomain::format);
    EXPECT_EQ(got.error().detail, c.want) << c.input;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, Sender,
    ::testing::Values(SenderCase{"", "", true},
                      SenderCase{"a@example.org", "a@example.org", true},
                      SenderCase{"root", "root", true},
                      SenderCase{"Backup <backup@example.org>", "backup@example.org", true},
                      SenderCase{"\"quoted local\"@example.org", "\"quoted local\"@example.org", true},
                      SenderCase{"bad sender", "bad sender 'bad sender': spaces in address (use \"Name <user@example.org>\")", false},
                      SenderCase{"a@b, c@d", "bad sender 'a@b, c@d': one address expected", false},
                      SenderCase{"(just a comment)", "bad sender '(just a comment)': no address", false},
                      SenderCase{"a@", "bad sender 'a@': missing local part or domain", false},
                      SenderCase{"a@b@c", "bad sender 'a@b@c': more than one @", false},
                      SenderCase{"<a@b", "bad sender '<a@b': unbalanced <", false},
                      SenderCase{"a\x1b@b", "bad sender: address contains a control character (\\x1b)", false}));

}  // namespace

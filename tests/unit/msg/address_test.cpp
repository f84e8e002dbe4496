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

}  // namespace

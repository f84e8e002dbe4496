// nullq-queue's limits file: its syntax, and that only a file root wrote is believed.
#include "nullq/limits.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "process.hpp"

namespace {

using nullq::limits::Limits;
using nullq::testing::TempDir;

TEST(LimitsParse, KeysCommentsAndSizes) {
  auto l = nullq::limits::parse("# nullq-queue\n\nmax_message_size: 10MiB  # users\nmin_free:1GB\n", "limits");
  ASSERT_TRUE(l) << l.error().detail;
  EXPECT_EQ(l->max_message_size, 10u * 1024 * 1024);
  EXPECT_EQ(l->min_free, 1'000'000'000u);
  auto empty = nullq::limits::parse("", "limits");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->max_message_size, nullq::limits::default_max_message_size);
  EXPECT_EQ(empty->min_free, nullq::limits::default_min_free);
  auto off = nullq::limits::parse("min_free: 0\n", "limits");
  ASSERT_TRUE(off);
  EXPECT_EQ(off->min_free, 0u);
}

TEST(LimitsParse, BadLinesNameFileAndLine) {
  struct Case {
    const char* text;
    const char* want;
  };
  for (const Case& c : {Case{"max_message_size 10\n", "limits:1: expected 'key: value'"},
                        Case{"\nmin_free: lots\n", "limits:2: bad size 'lots'"},
                        Case{"max_size: 10\n", "limits:1: unknown key 'max_size'"},
                        Case{"max_message_size: 0\n", "limits:1: max_message_size must be more than 0"},
                        Case{"min_free: 99999999999GiB\n", "limits:1: size '99999999999GiB' is too large"}}) {
    auto l = nullq::limits::parse(c.text, "limits");
    ASSERT_FALSE(l) << c.text;
    EXPECT_EQ(l.error().detail.rfind(c.want, 0), 0u) << l.error().detail;
  }
}

TEST(LimitsLoad, AMissingFileGivesTheCompiledInValues) {
  TempDir d;
  auto l = nullq::limits::load(d / "none");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->max_message_size, nullq::limits::default_max_message_size);
}

// Another user's file, or one anybody but root could have written, says nothing.
TEST(LimitsLoad, OnlyRootsFileNotWritableByOthersIsBelieved) {
  if (::geteuid() != 0) GTEST_SKIP() << "making a file root's and another's needs root";
  TempDir d;
  d.write("limits", "max_message_size: 1000\nmin_free: 5\n");
  const std::string path = d / "limits";
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto root = nullq::limits::load(path);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->max_message_size, 1000u);
  EXPECT_EQ(root->min_free, 5u);
  for (mode_t mode : {0664, 0646}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto l = nullq::limits::load(path);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->max_message_size, nullq::limits::default_max_message_size) << std::oct << mode;
  }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_EQ(::chown(path.c_str(), 65534, 0), 0);
  auto other = nullq::limits::load(path);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->max_message_size, nullq::limits::default_max_message_size);
  // Root's file that does not parse is an error, not silently the defaults.
  ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
  d.write("limits", "max_message_size: huge\n");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_FALSE(nullq::limits::load(path));
}

TEST(Reserve, HugeReserveIsATemporaryErrorAndNoneIsAlwaysMet) {
  TempDir d;
  auto avail = nullq::limits::free_space(d.path());
  ASSERT_TRUE(avail);
  EXPECT_GT(*avail, 0u);
  EXPECT_TRUE(nullq::limits::check_reserve(d.path(), 0).ok());
  auto s = nullq::limits::check_reserve(d.path(), 1ull << 62);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().is_temporary());
  EXPECT_EQ(s.error().message().rfind("insufficient disk space", 0), 0u) << s.error().message();
}

}  // namespace

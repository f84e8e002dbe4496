// When the NULLQ_* variables are believed: never by a set-id program or one started by it with
// differing ids (Postfix's unsafe()).
#include "nullq/environment.hpp"

#include <gtest/gtest.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cstdlib>

namespace {

using nullq::environment::unsafe;

TEST(Unsafe, TheIdsAndAtSecureDecide) {
  struct Case {
    uid_t ruid, euid;
    gid_t rgid, egid;
    bool at_secure;
    bool want;
  };
  const Case cases[] = {
      {1000, 1000, 1000, 1000, false, false},  // an ordinary run
      {0, 0, 0, 0, false, false},              // root's own
      {1000, 0, 1000, 1000, false, true},      // started by a set-uid-root program that kept its ids
      {1000, 1000, 1000, 8, false, true},      // by a set-gid one
      {0, 1000, 0, 0, false, true},            // root with a dropped effective uid
      {1000, 1000, 1000, 1000, true, true},    // set-id itself whose ids were since made equal
  };
  for (const auto& c : cases)
    EXPECT_EQ(unsafe(c.ruid, c.euid, c.rgid, c.egid, c.at_secure), c.want)
        << c.ruid << "/" << c.euid << " " << c.rgid << "/" << c.egid << " at_secure=" << c.at_secure;
}

TEST(TrustedGetenv, ReadsTheVariableInAnOrdinaryProcessAndTakesEmptyAsUnset) {
  ASSERT_FALSE(unsafe()) << "the test runs with equal ids and without AT_SECURE";
  ::setenv("NULLQ_TEST_VARIABLE", "/x", 1);
  ASSERT_NE(nullq::environment::trusted_getenv("NULLQ_TEST_VARIABLE"), nullptr);
  EXPECT_STREQ(nullq::environment::trusted_getenv("NULLQ_TEST_VARIABLE"), "/x");
  ::setenv("NULLQ_TEST_VARIABLE", "", 1);
  EXPECT_EQ(nullq::environment::trusted_getenv("NULLQ_TEST_VARIABLE"), nullptr);
  ::unsetenv("NULLQ_TEST_VARIABLE");
  EXPECT_EQ(nullq::environment::trusted_getenv("NULLQ_TEST_VARIABLE"), nullptr);
}

}  // namespace

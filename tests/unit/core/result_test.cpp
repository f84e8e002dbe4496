#include "nullq/result.hpp"

#include <gtest/gtest.h>

#include <cerrno>

using nullq::Error;
using nullq::ErrorDomain;
using nullq::ErrorKind;
using nullq::Result;

TEST(Result, HoldsValueOrError) {
  Result<int> v = 42;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 42);
  Result<int> e = Error::permanent(ErrorDomain::format, "bad");
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(e.error().is_permanent());
  EXPECT_EQ(e.error().message(), "bad");
}

TEST(Result, VoidResult) {
  nullq::Status s;
  EXPECT_TRUE(s.ok());
  nullq::Status f = Error::temporary(ErrorDomain::protocol, "eof");
  EXPECT_FALSE(f.ok());
  EXPECT_TRUE(f.error().is_temporary());
}

TEST(Result, ErrnoKinds) {
  Error full = Error::from_errno(ENOSPC, "write tmp/1");
  EXPECT_TRUE(full.is_temporary());
  EXPECT_EQ(full.domain, ErrorDomain::sys);
  EXPECT_EQ(full.message(), "write tmp/1: No space left on device");
  EXPECT_TRUE(Error::from_errno(EFBIG, "write").is_permanent());
}

TEST(ResultDeath, ValueOfErrorAborts) {
  Result<int> e = Error::permanent(ErrorDomain::format, "bad");
  EXPECT_DEATH((void)e.value(), "");
}

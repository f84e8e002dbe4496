// The harness's own rule: a program run as another user must be a ProgramCopies copy, so that a build
// tree under /root (0700) cannot make such a test fail for a reason that has nothing to do with nullq.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "process.hpp"

namespace {

using nullq::testing::ProgramCopies;
using nullq::testing::RunOptions;

RunOptions as_nobody() {
  RunOptions o;
  o.user = std::make_pair(uid_t{65534}, gid_t{65534});
  return o;
}

nullq::testing::Run result;  // EXPECT_NONFATAL_FAILURE's statement may not use locals

TEST(Harness, ABuildTreeProgramRunAsAnotherUserFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(result = nullq::testing::run({nullq::testing::program("nullq-queue"), "-t"}, as_nobody()),
                          "is not a nullq::testing::ProgramCopies copy");
  EXPECT_EQ(result.code, 127);
  EXPECT_NE(result.err.find(nullq::testing::program("nullq-queue")), std::string::npos) << result.err;
}

TEST(Harness, ACopyThatIsGoneNoLongerCounts) {
  std::string path;
  {
    ProgramCopies copies({"nullq-queue"});
    ASSERT_TRUE(copies.ok());
    path = copies("nullq-queue");
    struct stat st {};
    ASSERT_EQ(::stat(copies.dir().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u) << "other users can reach the copies";
  }
  static std::string gone;
  gone = path;
  EXPECT_NONFATAL_FAILURE(result = nullq::testing::run({gone}, as_nobody()), "ProgramCopies");
}

TEST(Harness, ACopyRunsAsAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "running a program as nobody needs root";
  NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
  ProgramCopies copies({"nullq-queue"});
  ASSERT_TRUE(copies.ok());
  auto r = nullq::testing::run({copies("nullq-queue"), "--bogus"}, as_nobody());
  EXPECT_EQ(r.code, 64) << r.err;  // it started (a usage error), rather than 126/127
}

}  // namespace

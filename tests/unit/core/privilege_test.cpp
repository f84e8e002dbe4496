// Account lookups from passwd and group files, and the refusals of become() that need no root.
#include "nullq/privilege.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.hpp"

namespace {

using nullq::privilege::lookup;
using nullq::privilege::lookup_uid;
using nullq::privilege::Sources;
using nullq::testing::TempDir;

// Sources on files of the test's own, with a getent that finds nobody.
Sources files_in(const TempDir& d, const std::string& passwd, const std::string& group) {
  d.write("passwd", passwd);
  d.write("group", group);
  d.write("getent", "#!/bin/sh\nexit 2\n");
  ::chmod((d / "getent").c_str(), 0755);
  return Sources{d / "passwd", d / "group", d / "getent"};
}

TEST(Lookup, ReadsUidGidAndGroupsFromTheFiles) {
  TempDir d;
  auto s = files_in(d, "root:x:0:0:r:/:/bin/sh\nnullq:x:120:121::/:/bin/false\n",
                    "nullq:x:121:\nnullq-drop:x:122:nullq\n");
  auto a = lookup("nullq", s);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->uid, 120u);
  EXPECT_EQ(a->gid, 121u);
  EXPECT_EQ(a->groups, (std::vector<gid_t>{121, 122}));
}

// 4294967296 cast to uid_t is 0: an entry with it would make the switch a switch to root.
TEST(Lookup, RefusesIdsThatDoNotFitAUid) {
  TempDir d;
  for (const std::string line : {"nullq:x:4294967296:121::/:/bin/false\n", "nullq:x:120:4294967296::/:/bin/false\n",
                                 "nullq:x:4294967295:121::/:/bin/false\n", "nullq:x:18446744073709551616:1::/:/x\n"}) {
    auto s = files_in(d, line, "nullq:x:121:\n");
    EXPECT_FALSE(lookup("nullq", s)) << line;
    EXPECT_FALSE(lookup_uid(0, s)) << line;
  }
  // A group line with such a gid gives no supplementary group 0.
  auto s = files_in(d, "nullq:x:120:121::/:/bin/false\n", "wheel:x:4294967296:nullq\n");
  auto a = lookup("nullq", s);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->groups, std::vector<gid_t>{121});
}

// Run as root here, become() must not switch to an account that is root itself; not as root, it
// switches nothing and says nothing (tested by the owner integration test).
TEST(Become, RefusesASpoolUserWithRootsUidOrGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "become() does nothing unless root";
  TempDir d;
  for (const std::string line : {"nullq:x:0:121::/:/bin/false\n", "nullq:x:120:0::/:/bin/false\n",
                                 "nullq:x:4294967296:121::/:/bin/false\n"}) {
    nullq::privilege::Owner owner{d.path(), "nullq", files_in(d, line, "nullq:x:121:\n")};
    // In a child: were the switch made, this process would stay switched.
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::string error;
      int rc = nullq::privilege::become(d.path(), owner, "test", error);
      if (::geteuid() != 0 || ::getegid() != 0) rc = 100;
      ssize_t n = ::write(pipe_fds[1], error.data(), error.size());
      (void)n;
      ::_exit(rc);
    }
    ::close(pipe_fds[1]);
    std::string error;
    char buf[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) error.append(buf, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 78) << line << error;
    EXPECT_NE(error.find("refusing to work on it as root"), std::string::npos) << error;
  }
}

}  // namespace

// The NSS-free lookups: /etc/passwd lines, and getent(1) for what the files do not hold.
#include "nullq/identity.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "process.hpp"

namespace {

using nullq::identity::canonical_hostname;
using nullq::identity::parse_passwd_line;
using nullq::identity::user_by_uid;
using nullq::testing::TempDir;

// A stand-in for getent that prints `output` and exits with `code`, recording its arguments.
std::string fake_getent(const TempDir& dir, const std::string& output, int code) {
  dir.write("getent", "#!/bin/sh\necho \"$@\" > " + (dir / "args") + "\nprintf '%s' '" + output + "'\nexit " +
                          std::to_string(code) + "\n");
  ::chmod((dir / "getent").c_str(), 0755);
  return dir / "getent";
}

TEST(PasswdLine, ReadsLoginGecosAndHome) {
  auto u = parse_passwd_line("alice:x:1001:1001:Alice Liddell,,,:/home/alice:/bin/sh\n", 1001);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->login, "alice");
  EXPECT_EQ(u->gecos, "Alice Liddell,,,");
  EXPECT_EQ(u->home, "/home/alice");
}

TEST(PasswdLine, RefusesOtherUidsNisAndMalformedLines) {
  EXPECT_FALSE(parse_passwd_line("alice:x:1001:1001:A:/h:/s", 1002));
  EXPECT_FALSE(parse_passwd_line("alice:x:10011:1001:A:/h:/s", 1001));
  EXPECT_FALSE(parse_passwd_line("+alice:x:1001:1001:A:/h:/s", 1001));
  EXPECT_FALSE(parse_passwd_line("+::::::", 0));
  EXPECT_FALSE(parse_passwd_line("alice:x:1001x:1001:A:/h:/s", 1001));
  EXPECT_FALSE(parse_passwd_line(":x:1001:1001:A:/h:/s", 1001));
  EXPECT_FALSE(parse_passwd_line("alice", 1001));
  EXPECT_FALSE(parse_passwd_line("", 0));
  // Wider than a uid: cut down to 32 bits, 4294967296 would be root.
  EXPECT_FALSE(parse_passwd_line("eve:x:4294967296:0:E:/h:/s", 0));
  EXPECT_FALSE(parse_passwd_line("eve:x:4294967295:0:E:/h:/s", 4294967295u));
}

TEST(UserByUid, TheFirstMatchingLineOfTheFileWins) {
  TempDir d;
  d.write("passwd", "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000:Bob,1:/home/bob:/bin/sh\n"
                    "bob2:x:1000:1000:Second:/home/bob2:/bin/sh\n");
  auto getent = fake_getent(d, "", 2);
  auto u = user_by_uid(1000, d / "passwd", getent);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->login, "bob");
  EXPECT_EQ(u->gecos, "Bob,1");
  EXPECT_TRUE(nullq::testing::read_file(d / "args").empty()) << "getent must not run when the file answers";
}

TEST(UserByUid, AskGetentForUsersTheFileDoesNotHold) {
  TempDir d;
  d.write("passwd", "root:x:0:0:root:/root:/bin/sh\n");
  auto getent = fake_getent(d, "ldapuser:*:5000:100:Directory User:/home/l:/bin/sh\n", 0);
  auto u = user_by_uid(5000, d / "passwd", getent);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->login, "ldapuser");
  EXPECT_EQ(u->gecos, "Directory User");
  EXPECT_EQ(nullq::testing::read_file(d / "args"), "passwd 5000\n");
}

TEST(UserByUid, UnknownEverywhereIsNothing) {
  TempDir d;
  d.write("passwd", "root:x:0:0:root:/root:/bin/sh\n");
  EXPECT_FALSE(user_by_uid(5000, d / "passwd", fake_getent(d, "", 2)));
  EXPECT_FALSE(user_by_uid(5000, d / "passwd", d / "no-such-getent"));
  // getent answering for somebody else is not believed.
  EXPECT_FALSE(user_by_uid(5000, d / "passwd", fake_getent(d, "eve:x:0:0:Eve:/:/bin/sh\n", 0)));
}

TEST(UserByUid, FindsThisProcessUserOnThisMachine) {
  auto u = user_by_uid(::getuid());
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->login.empty());
}

TEST(CanonicalHostname, TakesTheCanonicalNameGetentPrints) {
  TempDir d;
  auto getent = fake_getent(d, "192.0.2.7      STREAM mail.example.org\n192.0.2.7      DGRAM  \n", 0);
  EXPECT_EQ(canonical_hostname("mail", getent), "mail.example.org");
  EXPECT_EQ(nullq::testing::read_file(d / "args"), "ahosts mail\n");
}

TEST(CanonicalHostname, KeepsTheShortNameWhenNothingBetterComes) {
  TempDir d;
  EXPECT_EQ(canonical_hostname("vm", fake_getent(d, "127.0.0.1 STREAM vm\n", 0)), "vm");
  EXPECT_EQ(canonical_hostname("vm", fake_getent(d, "", 2)), "vm");
  EXPECT_EQ(canonical_hostname("vm", fake_getent(d, "127.0.0.1 STREAM bad_name.example;rm\n", 0)), "vm");
  EXPECT_EQ(canonical_hostname("vm", d / "missing"), "vm");
}

}  // namespace

// packaged_spool.hpp — a spool laid out exactly as etc/tmpfiles.d/nullq.conf (what the packages
// install) lays out /var/spool/nullq, under another directory, with stand-ins for the nullq user
// and the nullq-drop group. For the tests that run as root (set-id injection, the root flush).
//
// Purpose:   the packaged modes and owners are exercised nowhere else: the other tests use private
//            spools made by ensure_spool.
// Trust:     test code only.
// Errors:    anything it cannot set up fails the calling test (gtest assertions; check
//            HasFatalFailure() after the call).
// Threading: test thread.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "process.hpp"

namespace nullq::testing {

// `user_uid`/`user_gid` stand in for nullq:nullq, `drop_gid` for nullq-drop.
inline void lay_out_spool_as_packaged(const std::string& root, uid_t user_uid, gid_t user_gid, gid_t drop_gid) {
  std::filesystem::remove_all(root);
  const std::string conf = std::string(std::getenv("NULLQ_SOURCE_ROOT")) + "/etc/tmpfiles.d/nullq.conf";
  std::istringstream lines(read_file(conf));
  const std::string packaged = "/var/spool/nullq";
  std::string line;
  int made = 0;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string type, path, mode, user, group;
    if (!(f >> type >> path >> mode >> user >> group) || type[0] == '#') continue;
    if (path.rfind("/var/lib/nullq", 0) == 0) continue;  // the daemon's state directory, not the spool
    ASSERT_EQ(path.compare(0, packaged.size(), packaged), 0) << conf << ": " << line;
    std::string p = root + path.substr(packaged.size());
    if (type == "d") {
      ASSERT_EQ(::mkdir(p.c_str(), 0700), 0) << p;
    } else if (type == "p") {
      ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0) << p;
    } else if (type == "f") {
      int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
      ASSERT_GE(fd, 0) << p;
      ::close(fd);
    } else {
      FAIL() << conf << ": unexpected type in " << line;
    }
    ASSERT_EQ(user, "nullq") << line;
    ASSERT_TRUE(group == "nullq" || group == "nullq-drop") << line;
    ASSERT_EQ(::chown(p.c_str(), user_uid, group == "nullq-drop" ? drop_gid : user_gid), 0) << p;
    ASSERT_EQ(::chmod(p.c_str(), static_cast<mode_t>(std::stoul(mode, nullptr, 8))), 0) << p;
    ++made;
  }
  ASSERT_GE(made, 6) << conf;
}

}  // namespace nullq::testing

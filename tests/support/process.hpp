// process.hpp — run a built program from a test: argv, stdin bytes, extra environment, limits.
//
// Purpose:   integration tests drive the real binaries exactly as callers do.
// Trust:     test code only.
// Errors:    a program that cannot be started fails the calling test through the exit code 127.
// Threading: call from the test thread.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nullq::testing {

struct Run {
  int code = -1;       // exit status, or 128 + signal
  std::string out;
  std::string err;
};

struct RunOptions {
  std::string input;
  bool close_stdin = false;                     // start the program with fd 0 closed
  std::map<std::string, std::string> env;       // added to (or replacing in) the test's environment
  std::optional<rlim_t> file_size_limit;        // RLIMIT_FSIZE in the child
  std::chrono::milliseconds timeout{30000};     // the child is killed after this
  std::string argv0;                            // "" = argv[0] as given
  // Run as this uid:gid, no supplementary groups (root only). The program must then be a copy in a
  // ProgramCopies directory (or a system program under /usr or /bin): run() fails the test otherwise,
  // because the build tree may sit where that user cannot reach it (/root is 0700).
  std::optional<std::pair<uid_t, gid_t>> user;
  bool no_new_privs = false;                    // PR_SET_NO_NEW_PRIVS, as systemd's NoNewPrivileges=yes
};

Run run(const std::vector<std::string>& argv, const RunOptions& opt = {});

// $NULLQ_BIN_DIR/<name>
std::string program(const std::string& name);

// Why no program can run as another user here ("" when one can): every path starts at "/", so a
// root directory without search permission for others (a chroot unpacked from a tarball of a 0700
// directory) stops such a program before it starts, wherever its copy sits.
std::string why_others_cannot_run_programs();

// For the tests that run programs as another user (RunOptions::user): skip, saying why, where no
// program could run that way. Use in a test body or SetUp(), together with ProgramCopies.
#define NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS()                                         \
  do {                                                                                      \
    if (std::string why_ = ::nullq::testing::why_others_cannot_run_programs(); !why_.empty()) \
      GTEST_SKIP() << why_;                                                                 \
  } while (0)

// A temporary directory removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

// Copies of built programs for running them as another user (RunOptions::user): the build tree may
// sit under a home directory that user cannot enter (/root is 0700), so the copies go into a fresh
// 0755 directory under /tmp, removed with everything in it when the object goes. The only way a test
// runs a program as another user: run() refuses a program outside a live ProgramCopies directory.
class ProgramCopies {
 public:
  explicit ProgramCopies(const std::vector<std::string>& names);  // names in $NULLQ_BIN_DIR, or full paths
  ~ProgramCopies();
  ProgramCopies(const ProgramCopies&) = delete;
  ProgramCopies& operator=(const ProgramCopies&) = delete;
  // The copy of `name` (its base name in the copies' directory).
  std::string operator()(const std::string& name) const;
  // One more copy: the file `from` as `name` in the copies' directory; its path ("" if it failed).
  std::string add(const std::string& from, const std::string& name);
  const std::string& dir() const { return dir_; }
  bool ok() const { return ok_; }  // every copy was made

 private:
  std::string dir_;
  bool ok_ = true;
};

std::string read_file(const std::string& path);
// Names in `dir` (not . and ..), sorted; empty if it does not exist.
std::vector<std::string> list_dir(const std::string& dir);

}  // namespace nullq::testing

#include "process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

extern char** environ;

namespace nullq::testing {

namespace {

// The directories of the ProgramCopies alive now (tests run on one thread).
std::set<std::string>& live_copy_dirs() {
  static std::set<std::string> dirs;
  return dirs;
}

// Why `program` may not be run as another user ("" when it may): only copies made by ProgramCopies,
// and the system's own programs, are out of the build tree.
std::string why_not_as_other_user(const std::string& program) {
  if (program.rfind("/usr/", 0) == 0 || program.rfind("/bin/", 0) == 0) return "";
  std::string dir = program.substr(0, program.rfind('/') == std::string::npos ? 0 : program.rfind('/'));
  if (live_copy_dirs().count(dir) != 0) return "";
  return "test harness: " + program + " is run as another user but is not a nullq::testing::ProgramCopies copy "
         "(the build tree may sit where that user cannot reach it, as under /root)";
}

}  // namespace

Run run(const std::vector<std::string>& argv, const RunOptions& opt) {
  Run r;
  if (opt.user && !argv.empty()) {
    if (std::string why = why_not_as_other_user(argv[0]); !why.empty()) {
      ADD_FAILURE() << why;
      r.code = 127;
      r.err = why + "\n";
      return r;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits before reading all its input must not kill the test
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) return r;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (opt.close_stdin) ::close(0);
    else ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (const auto& [k, v] : opt.env) ::setenv(k.c_str(), v.c_str(), 1);
    if (opt.file_size_limit) {
      rlimit lim{*opt.file_size_limit, *opt.file_size_limit};
      ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    if (opt.user && (::setgroups(0, nullptr) != 0 || ::setgid(opt.user->second) != 0 ||
                     ::setuid(opt.user->first) != 0))
      ::_exit(126);
    if (opt.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(126);
    ::signal(SIGPIPE, SIG_DFL);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    if (!opt.argv0.empty()) args[0] = const_cast<char*>(opt.argv0.c_str());
    args.push_back(nullptr);
    ::execve(argv[0].c_str(), args.data(), environ);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  std::string_view input = opt.input;
  bool in_open = true;
  if (input.empty()) ::close(in[1]), in_open = false;
  int fds[2] = {out[0], err[0]};
  auto deadline = std::chrono::steady_clock::now() + opt.timeout;
  bool killed = false;
  while (fds[0] >= 0 || fds[1] >= 0) {
    pollfd p[3] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}, {in_open ? in[1] : -1, POLLOUT, 0}};
    int rc = ::poll(p, 3, 50);
    if (std::chrono::steady_clock::now() > deadline && !killed) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    if (rc <= 0) continue;
    for (int k = 0; k < 2; ++k) {
      if (fds[k] < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = ::read(fds[k], buf, sizeof buf);
      if (n > 0) (k == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      else {
        ::close(fds[k]);
        fds[k] = -1;
      }
    }
    if (in_open && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(in[1], input.data(), input.size());
      if (n > 0) input.remove_prefix(static_cast<std::size_t>(n));
      if ((n < 0 && errno != EAGAIN) || input.empty()) {
        ::close(in[1]);
        in_open = false;
      }
    }
  }
  if (in_open) ::close(in[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string why_others_cannot_run_programs() {
  for (const char* dir : {"/", "/tmp"}) {
    struct stat st {};
    if (::stat(dir, &st) != 0) return std::string("cannot stat ") + dir;
    if (!(st.st_mode & S_IXOTH)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return std::string(dir) + " has mode " + mode + ": no other user can reach a program here";
    }
  }
  return "";
}

std::string program(const std::string& name) {
  const char* dir = std::getenv("NULLQ_BIN_DIR");
  return std::string(dir ? dir : ".") + "/" + name;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "nullq-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& text) const {
  std::ofstream(path_ + "/" + name, std::ios::binary) << text;
}

ProgramCopies::ProgramCopies(const std::vector<std::string>& names) {
  std::string tmpl = "/tmp/nullq-programs-XXXXXX";  // not $TMPDIR: it may be private too
  if (!::mkdtemp(tmpl.data())) std::abort();
  dir_ = tmpl;
  if (::chmod(dir_.c_str(), 0755) != 0) ok_ = false;
  live_copy_dirs().insert(dir_);
  for (const auto& n : names) add(n.find('/') == std::string::npos ? program(n) : n, n);
}

std::string ProgramCopies::add(const std::string& from, const std::string& name) {
  std::string to = (*this)(name);
  std::error_code ec;
  std::filesystem::copy_file(from, to, ec);
  if (ec || ::chmod(to.c_str(), 0755) != 0) {
    ok_ = false;
    return "";
  }
  return to;
}

ProgramCopies::~ProgramCopies() {
  live_copy_dirs().erase(dir_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string ProgramCopies::operator()(const std::string& name) const {
  return dir_ + "/" + name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace nullq::testing

#include "spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace nullq::sendmail {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> v;
  for (const auto& a : argv) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 71;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 75;  // killed: nothing was committed that we know of; the caller may retry
}

}  // namespace

std::string locate(const char* env_name, const std::string& name, const std::string& installed_dir) {
  if (const char* e = std::getenv(env_name); e && *e) return e;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<std::size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    std::string sibling = dir + "/" + name;
    struct stat st {};
    if (::stat(sibling.c_str(), &st) == 0) return sibling;
  }
  return installed_dir + "/" + name;
}

Finished run(const std::vector<std::string>& argv, std::string_view input1, std::string_view input2) {
  Finished f;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    f.exit_code = 71;
    f.err = std::string("cannot create a pipe: ") + std::strerror(errno);
    return f;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  pid_t pid = 0;
  auto args = c_argv(argv);
  int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    f.exit_code = rc == ENOENT ? 69 : 71;
    f.err = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return f;
  }
  // Write stdin while draining stdout/stderr, so a child that answers early never deadlocks us.
  std::string_view parts[2] = {input1, input2};
  int part = 0;
  bool in_open = true;
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  int open_outputs = 2;
  while (open_outputs > 0 || in_open) {
    while (part < 2 && parts[part].empty()) ++part;
    if (in_open && part == 2) {
      ::close(in[1]);
      in_open = false;
    }
    pollfd p[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in_open ? in[1] : -1, POLLOUT, 0}};
    if (p[0].fd < 0 && p[1].fd < 0 && !in_open) break;
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (p[k].fd >= 0 && (p[k].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[4096];
        ssize_t n = ::read(p[k].fd, buf, sizeof buf);
        if (n > 0) (k == 0 ? f.out : f.err).append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) {
          ::close(k == 0 ? out[0] : err[0]);
          (k == 0 ? out[0] : err[0]) = -1;
          --open_outputs;
        }
      }
    }
    if (in_open && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(in[1], parts[part].data(), parts[part].size());
      if (n > 0) parts[part].remove_prefix(static_cast<std::size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        ::close(in[1]);  // EPIPE: the child stopped reading; its exit status says why
        in_open = false;
      }
    }
  }
  if (in_open) ::close(in[1]);
  if (out[0] >= 0) ::close(out[0]);
  if (err[0] >= 0) ::close(err[0]);
  f.exit_code = wait_child(pid);
  f.out = trim(f.out);
  f.err = trim(f.err);
  return f;
}

int run_inherit(const std::vector<std::string>& argv) {
  pid_t pid = 0;
  auto args = c_argv(argv);
  int rc = ::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) return rc == ENOENT ? 69 : 71;
  return wait_child(pid);
}

}  // namespace nullq::sendmail

#include "spawn.hpp"

#include "nullq/environment.hpp"

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

Child start(const std::vector<std::string>& argv) {
  Child c;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    c.failed = {71, {}, std::string("cannot create a pipe: ") + std::strerror(errno)};
    return c;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  auto args = c_argv(argv);
  int rc = ::posix_spawn(&c.pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    c.pid = -1;
    c.failed = {rc == ENOENT ? 69 : 71, {}, "cannot run " + argv[0] + ": " + std::strerror(rc)};
    return c;
  }
  c.in = in[1];
  c.out = out[0];
  c.err = err[0];
  return c;
}

Finished finish(Child& c, std::string_view input1, std::string_view input2) {
  if (c.pid < 0) return c.failed;
  Finished f;
  // Write stdin while draining stdout/stderr, so a child that answers early never deadlocks us.
  std::string_view parts[2] = {input1, input2};
  int part = 0;
  ::fcntl(c.in, F_SETFL, O_NONBLOCK);
  int open_outputs = 2;
  while (open_outputs > 0 || c.in >= 0) {
    while (part < 2 && parts[part].empty()) ++part;
    if (c.in >= 0 && part == 2) {
      ::close(c.in);
      c.in = -1;
    }
    pollfd p[3] = {{c.out, POLLIN, 0}, {c.err, POLLIN, 0}, {c.in, POLLOUT, 0}};
    if (p[0].fd < 0 && p[1].fd < 0 && c.in < 0) break;
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      int& fd = k == 0 ? c.out : c.err;
      if (fd >= 0 && (p[k].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[4096];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) (k == 0 ? f.out : f.err).append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) {
          ::close(fd);
          fd = -1;
          --open_outputs;
        }
      }
    }
    if (c.in >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(c.in, parts[part].data(), parts[part].size());
      if (n > 0) parts[part].remove_prefix(static_cast<std::size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        ::close(c.in);  // EPIPE: the child stopped reading; its exit status says why
        c.in = -1;
      }
    }
  }
  for (int* fd : {&c.in, &c.out, &c.err})
    if (*fd >= 0) ::close(*fd), *fd = -1;
  f.exit_code = wait_child(c.pid);
  c.pid = -1;
  f.out = trim(f.out);
  f.err = trim(f.err);
  return f;
}

void abandon(Child& c) {
  if (c.pid < 0) return;
  for (int* fd : {&c.in, &c.out, &c.err})
    if (*fd >= 0) ::close(*fd), *fd = -1;
  wait_child(c.pid);
  c.pid = -1;
}

int run_inherit(const std::vector<std::string>& argv) {
  pid_t pid = 0;
  auto args = c_argv(argv);
  int rc = ::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) return rc == ENOENT ? 69 : 71;
  return wait_child(pid);
}

}  // namespace nullq::sendmail

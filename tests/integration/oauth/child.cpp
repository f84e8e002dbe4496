// child.cpp — see child.hpp.
#include "child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nullq::testing {

namespace {

using Clock = std::chrono::steady_clock;

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

Child::Child(const std::vector<std::string>& argv, const ChildOptions& opt) {
  int in[2], out[2], err[2], fd3[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) return;
  if (opt.has_fd3 && ::pipe2(fd3, O_CLOEXEC)) return;
  if (opt.stdout_full) {
    int fl = ::fcntl(out[1], F_GETFL);
    ::fcntl(out[1], F_SETFL, fl | O_NONBLOCK);
    std::string block(4096, 'F');
    for (;;) {
      ssize_t n = ::write(out[1], block.data(), block.size());
      if (n <= 0) break;
      filler_ += static_cast<std::size_t>(n);
    }
    ::fcntl(out[1], F_SETFL, fl);
  }
  if (opt.has_fd3) {
    // The request is small (well under a pipe's 64 KiB): written before the child starts.
    write_all(fd3[1], opt.fd3_text);
    ::close(fd3[1]);
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    if (opt.has_fd3) ::dup2(fd3[0], 3);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (opt.has_fd3) ::close(fd3[0]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  if (!opt.stdin_text.empty()) write_all(in_, opt.stdin_text);
  if (opt.close_stdin) close_stdin();
}

Child::~Child() {
  if (pid_ > 0 && status_ < 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  for (int fd : {in_, out_, err_})
    if (fd >= 0) ::close(fd);
}

bool Child::pump(int ms) {
  pollfd p[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
  if (out_ < 0 && err_ < 0) return false;
  int rc = ::poll(p, 2, ms);
  if (rc <= 0) return true;
  for (int i = 0; i < 2; ++i) {
    if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
    char buf[4096];
    ssize_t n = ::read(p[i].fd, buf, sizeof buf);
    if (n > 0) {
      std::string& to = i == 0 ? out : err;
      to.append(buf, static_cast<std::size_t>(n));
      if (i == 0 && filler_ > 0) {  // the pre-filled bytes are not the child's
        std::size_t drop = std::min(filler_, out.size());
        out.erase(0, drop);
        filler_ -= drop;
      }
    } else if (n == 0) {
      ::close(p[i].fd);
      (i == 0 ? out_ : err_) = -1;
    }
  }
  return true;
}

bool Child::wait_for_output(const std::string& needle, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (out.find(needle) == std::string::npos) {
    if (Clock::now() >= deadline || !pump(50)) return out.find(needle) != std::string::npos;
  }
  return true;
}

bool Child::wait_for_error(const std::string& needle, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (err.find(needle) == std::string::npos) {
    if (Clock::now() >= deadline || !pump(50)) return err.find(needle) != std::string::npos;
  }
  return true;
}

void Child::write_stdin(const std::string& text) {
  if (in_ >= 0) write_all(in_, text);
}

void Child::close_stdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

void Child::drain_filler() {
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (filler_ > 0 && Clock::now() < deadline && pump(50)) {
  }
}

int Child::wait(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return 127;
  auto deadline = Clock::now() + limit;
  while (pump(50)) {
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      break;
    }
  }
  int st = 0;
  ::waitpid(pid_, &st, 0);
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return status_;
}

}  // namespace nullq::testing

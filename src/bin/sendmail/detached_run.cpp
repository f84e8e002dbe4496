// The delivery run sendmail starts without a daemon (see detached_run.hpp).
#include "detached_run.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nullq/environment.hpp"
#include "nullq/queue.hpp"
#include "nullq/send/lock.hpp"
#include "nullq_build_config.h"

extern char** environ;

namespace nullq::sendmail {

namespace {

// Where the run's stderr goes (see the header).
int open_log(const config::Config& cfg) {
  if (const char* path = environment::trusted_getenv("NULLQ_RUN_LOG"))
    if (int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC, 0600); fd >= 0) return fd;
  if (cfg.log_target == config::LogTarget::standard_error)
    if (int fd = ::open("/proc/1/fd/2", O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC); fd >= 0) return fd;
  return ::open("/dev/null", O_WRONLY | O_CLOEXEC);
}

// `fd` moved to 3 or above (close-on-exec), so that dup2() onto 0, 1 and 2 cannot overwrite it
// when the caller started sendmail with some of them closed.
int above_stdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return moved;
}

void close_from(int first) {
  if (::close_range(static_cast<unsigned>(first), ~0U, 0) == 0) return;
  long max = ::sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = first; fd < max; ++fd) ::close(fd);
}

int run_once(const std::string& send) {
  std::vector<std::string> argv{send, "--once", "--deferred-ok", "--log-summary"};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

// The grandchild: stdio away from the caller, then runs until new/ holds nothing new.
[[noreturn]] void run_rounds(const config::Config& cfg, const std::string& config_path) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGCHLD}) std::signal(s, SIG_DFL);
  int null_in = above_stdio(::open("/dev/null", O_RDWR | O_CLOEXEC));
  int log = above_stdio(open_log(cfg));
  if (null_in < 0 || log < 0) ::_exit(71);
  if (::dup2(null_in, STDIN_FILENO) < 0 || ::dup2(null_in, STDOUT_FILENO) < 0 || ::dup2(log, STDERR_FILENO) < 0)
    ::_exit(71);
  close_from(3);
  if (::chdir("/") != 0) ::_exit(71);
  ::setenv("NULLQ_CONFIG", config_path.c_str(), 1);
  std::string send = environment::locate("NULLQ_SEND_PROGRAM", "nullq-send", NULLQ_SBINDIR);
  std::set<std::string> seen;
  for (int round = 1; round <= max_rounds; ++round) {
    if (run_once(send) < 0) ::_exit(69);
    std::set<std::string> now = new_names(cfg.queue_dir);
    if (!again(seen, now, round)) break;
    seen = std::move(now);
  }
  ::_exit(0);
}

}  // namespace

bool may_deliver(const config::Config& cfg, uid_t ruid, uid_t euid, gid_t rgid, gid_t egid) {
  if (ruid != euid || rgid != egid) return false;  // set-id: not this program's business
  if (ruid == 0) return true;
  struct stat st {};
  queue::Spool spool{cfg.queue_dir};
  if (::stat(spool.queue().c_str(), &st) != 0 && ::stat(spool.dir.c_str(), &st) != 0) return false;
  return st.st_uid == ruid;
}

bool flusher_running(const std::string& queue_dir) {
  // Without O_CREAT: a probe must never create the lock (as root it would be root's).
  return send::SpoolLock::held(queue::Spool{queue_dir}.lock());
}

std::set<std::string> new_names(const std::string& queue_dir) {
  std::set<std::string> out;
  DIR* d = ::opendir(queue::Spool{queue_dir}.incoming().c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') out.insert(e->d_name);
  ::closedir(d);
  return out;
}

bool again(const std::set<std::string>& before, const std::set<std::string>& now, int rounds_done) {
  if (now.empty() || rounds_done >= max_rounds) return false;
  if (rounds_done < min_rounds) return true;
  for (const auto& n : now)
    if (!before.count(n)) return true;
  return false;
}

std::string start_detached_run(const config::Config& cfg, const std::string& config_path) {
  if (cfg.without_daemon != config::WithoutDaemon::deliver) return {};
  if (!may_deliver(cfg, ::getuid(), ::geteuid(), ::getgid(), ::getegid()))
    return "delivery.without_daemon is deliver, but uid " + std::to_string(::getuid()) +
           " cannot run nullq-send on " + cfg.queue_dir + " (only root, the " NULLQ_USER
           " user or the spool's owner can); the message waits for nullq-send";
  if (flusher_running(cfg.queue_dir)) return {};  // it was poked by the commit
  pid_t child = ::fork();
  if (child < 0) return std::string("cannot start a delivery run: ") + std::strerror(errno);
  if (child == 0) {
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild == 0) run_rounds(cfg, config_path);
    ::_exit(grandchild < 0 ? 71 : 0);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "cannot start a delivery run (fork failed)";
  return {};
}

}  // namespace nullq::sendmail

// injbench: the injection benchmark's driver (not a test).
//   injbench raw N DIR          N x (create tmp file, write 1 KB, fsync, link into new/, fsync new/, unlink)
//   injbench spawn N [-u UID:GID] -- CMD...
//                               N x (run CMD with the 1 KB message on stdin, wait); reports the peak RSS.
//                               -u: first become UID:GID (no supplementary groups), so that CMD runs
//                               as an ordinary user would run it
// Prints "rate=<msgs/s> maxrss_kb=<KB>" on stdout. CMD's stdout is /dev/null: run.sh parses that line,
// and a contender that printed would corrupt it.
#include <fcntl.h>
#include <grp.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

static std::string message() {
  std::string m = "To: bench@example.org\nSubject: benchmark message\n\n";
  while (m.size() < 1024) m += "The quick brown fox jumps over the lazy dog. 0123456789\n";
  return m.substr(0, 1023) + "\n";
}

static double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

static int raw(int n, const std::string& dir) {
  std::string msg = message();
  ::mkdir(dir.c_str(), 0755);
  std::string tmp = dir + "/tmp", nw = dir + "/new";
  ::mkdir(tmp.c_str(), 0755);
  ::mkdir(nw.c_str(), 0755);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    std::string name = std::to_string(::getpid()) + "." + std::to_string(i);
    std::string t = tmp + "/" + name, d = nw + "/" + name;
    int fd = ::open(t.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640);
    if (fd < 0 || ::write(fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size()) || ::fsync(fd) != 0) return 1;
    ::close(fd);
    if (::link(t.c_str(), d.c_str()) != 0) return 1;
    int dfd = ::open(nw.c_str(), O_RDONLY | O_DIRECTORY);
    ::fsync(dfd);
    ::close(dfd);
    ::unlink(t.c_str());
  }
  std::printf("rate=%.1f maxrss_kb=0\n", n / seconds_since(start));
  return 0;
}

static int spawn(int n, char** cmd) {
  std::string msg = message();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    int in[2];
    if (::pipe(in) != 0) return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    if (::posix_spawn(&pid, cmd[0], &fa, nullptr, cmd, environ) != 0) return 1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ssize_t w = ::write(in[1], msg.data(), msg.size());  // a program that reads nothing (EPIPE) is fine
    (void)w;
    ::close(in[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "injbench: %s exited with status %d\n", cmd[0], WEXITSTATUS(status));
      return 1;
    }
  }
  double secs = seconds_since(start);
  rusage ru{};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  std::printf("rate=%.1f maxrss_kb=%ld\n", n / secs, ru.ru_maxrss);
  return 0;
}

static bool become(const char* spec) {
  unsigned uid = 0, gid = 0;
  if (std::sscanf(spec, "%u:%u", &uid, &gid) != 2) return false;
  return ::setgroups(0, nullptr) == 0 && ::setgid(gid) == 0 && ::setuid(uid) == 0 && ::getuid() == uid;
}

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  if (argc >= 4 && std::strcmp(argv[1], "raw") == 0) return raw(std::atoi(argv[2]), argv[3]);
  if (argc >= 7 && std::strcmp(argv[1], "spawn") == 0 && std::strcmp(argv[3], "-u") == 0 &&
      std::strcmp(argv[5], "--") == 0) {
    if (!become(argv[4])) {
      std::fprintf(stderr, "injbench: cannot become %s\n", argv[4]);
      return 1;
    }
    return spawn(std::atoi(argv[2]), argv + 6);
  }
  if (argc >= 5 && std::strcmp(argv[1], "spawn") == 0 && std::strcmp(argv[3], "--") == 0)
    return spawn(std::atoi(argv[2]), argv + 4);
  std::fprintf(stderr, "usage: injbench raw N DIR | injbench spawn N -- CMD...\n");
  return 64;
}

// nullq-queue: the only set-id program. Commits one message from stdin into the spool.
// Usage: nullq-queue [-d SPOOLDIR] [-s MAXBYTES]   (-d only when not set-id)
//        nullq-queue [-d SPOOLDIR] -t               wake a running nullq-send; exit 69 if none runs
// It trusts nothing it inherits: fds, environment, umask, limits and paths are set here. Its size
// limit and free-space reserve are its own (limits.hpp: compiled in, or root's limits file); -s can
// only lower the size limit.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "nullq/limits.hpp"
#include "nullq/submit.hpp"
#include "nullq_build_config.h"

extern char** environ;

namespace {

// The spool used when none is given. The test build (tests/integration/queue) compiles a copy of this
// program with a spool of its own, so that a test can run it set-id against a spool laid out like
// the package's; installed programs are always built with NULLQ_SPOOL_DIR.
#ifdef NULLQ_TEST_SPOOL_DIR
constexpr const char* compiled_spool_dir = NULLQ_TEST_SPOOL_DIR;
#else
constexpr const char* compiled_spool_dir = NULLQ_SPOOL_DIR;
#endif
#ifdef NULLQ_TEST_LIMITS_FILE
constexpr const char* limits_file = NULLQ_TEST_LIMITS_FILE;
#else
constexpr const char* limits_file = NULLQ_SYSCONFDIR "/limits";
#endif

[[noreturn]] void die(int code, const std::string& msg) {
  std::string line = "nullq-queue: " + msg + "\n";
  ssize_t n = ::write(2, line.data(), line.size());
  (void)n;
  std::_Exit(code);
}

// fds 0-2 must exist so that no file we open becomes "stdout" by accident.
void secure_fds() {
  struct stat st {};
  if (::fstat(0, &st) != 0) die(66, "standard input is closed; the message must come on a pipe");
  for (int fd = 1; fd <= 2; ++fd)
    if (::fstat(fd, &st) != 0 && ::open("/dev/null", O_RDWR) != fd) std::_Exit(74);
}

bool parse_size(const char* s, std::uint64_t& out) {
  if (!*s) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (*end || errno || s[0] == '-') return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  secure_fds();
  const bool setid = ::getuid() != ::geteuid() || ::getgid() != ::getegid();
  static char* empty_env[] = {nullptr};
  environ = empty_env;
  ::umask(027);
  ::alarm(86400);
  std::signal(SIGXFSZ, SIG_IGN);  // over RLIMIT_FSIZE, write() fails with EFBIG instead

  std::string spool_dir = compiled_spool_dir;
  std::uint64_t asked_size = nullq::submit::absolute_max_size;
  bool custom_spool = false;
  bool poke = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-d" || a == "-s") && i + 1 >= argc) die(64, "option " + a + " needs a value");
    if (a == "-t") {
      poke = true;
    } else if (a == "-d") {
      spool_dir = argv[++i];
      custom_spool = true;
    } else if (a == "-s") {
      std::uint64_t v = 0;
      if (!parse_size(argv[++i], v)) die(64, "bad size for -s: " + std::string(argv[i]));
      asked_size = std::min(asked_size, v);
    } else {
      die(64, "unknown argument " + a + " (usage: nullq-queue [-d SPOOLDIR] [-s MAXBYTES] | [-d SPOOLDIR] -t)");
    }
  }
  if (custom_spool && setid) die(77, "-d is refused when running set-id");
  if (custom_spool && (spool_dir.empty() || spool_dir[0] != '/')) die(64, "-d needs an absolute path");

  // Installed setgid, but the bit did not take effect (e.g. systemd NoNewPrivileges=yes).
  struct stat self {};
  if (!setid && ::getuid() != 0 && ::stat("/proc/self/exe", &self) == 0 && (self.st_mode & S_ISGID) &&
      self.st_gid != ::getegid() && !custom_spool)
    die(77, "the set-group-id bit did not take effect (NoNewPrivileges?); cannot write to the spool");

  if (poke) {
    // `sendmail -q` by a user who may not run a flush: one byte into the trigger, only when a flusher
    // holds it open (no path or byte from the caller is used).
    std::signal(SIGPIPE, SIG_IGN);
    auto r = nullq::queue::poke_flusher(nullq::queue::Spool{spool_dir});
    if (!r) die(nullq::submit::exit_code_for(r.error()), r.error().message());
    if (!*r) die(69, "no nullq-send is running");
    return 0;
  }

  auto limits = nullq::limits::load(limits_file);
  if (!limits) die(78, limits.error().detail);
  const std::uint64_t max_size =
      std::min({limits->max_message_size, asked_size, nullq::submit::absolute_max_size});

  rlimit fs{};
  fs.rlim_cur = fs.rlim_max = max_size + 16 * 1024 * 1024 + 65536;
  struct rlimit cur {};
  if (::getrlimit(RLIMIT_FSIZE, &cur) == 0 && (cur.rlim_max == RLIM_INFINITY || cur.rlim_max > fs.rlim_max))
    ::setrlimit(RLIMIT_FSIZE, &fs);

  nullq::queue::Spool spool{spool_dir};
  if (custom_spool)
    if (auto s = nullq::queue::ensure_spool(spool); !s) die(nullq::submit::exit_code_for(s.error()), s.error().message());

  auto out = nullq::submit::submit(
      0, {spool, max_size, ::getuid(), static_cast<std::int64_t>(std::time(nullptr)), std::nullopt, limits->min_free});
  if (out.exit_code != 0) die(out.exit_code, out.message);
  std::string line = out.id + "\n";
  ssize_t n = ::write(1, line.data(), line.size());
  (void)n;
  return 0;
}

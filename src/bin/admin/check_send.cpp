// `nullq check --send ADDRESS`: one real test message through the normal path, each step on a line
// of its own: nullq-sendmail queues it (as any program's mail), nullq-send --once delivers what is
// due (or pokes the running flusher), and the spool then says where the message is: gone
// (accepted by a smart host), still queued (deferred, with the last error) or in failed/.
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "commands.hpp"
#include "nullq/envelope.hpp"
#include "nullq/environment.hpp"
#include "nullq/printable.hpp"
#include "nullq/queue.hpp"
#include "nullq_build_config.h"

extern char** environ;

namespace nullq::admin {

namespace {

// `name` beside this program (a build tree, a test), else where it is installed; $ENV_NAME first
// when the environment may be trusted.
std::string sibling(const char* env_name, const std::string& name) {
  if (const char* e = environment::trusted_getenv(env_name); e && *e) return e;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<std::size_t>(n));
    std::string path = dir.substr(0, dir.rfind('/')) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return std::string(NULLQ_SBINDIR) + "/" + name;
}

struct Ran {
  int code = -1;     // exit status; -1 = could not run or killed
  std::string err;   // its standard error
};

// Runs argv with `input` on its standard input and its standard error captured (standard output
// goes to ours). The input is small (one short message), so it is written whole before reading.
Ran run(const std::vector<std::string>& argv, const std::string& input) {
  Ran r;
  int in[2], er[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return r;
  if (::pipe2(er, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, er[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(er[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(er[0]);
    r.err = argv[0] + ": " + std::strerror(rc);
    return r;
  }
  for (std::size_t off = 0; off < input.size();) {
    ssize_t n = ::write(in[1], input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  ::close(in[1]);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(er[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.err.size() < 65536) r.err.append(buf, static_cast<std::size_t>(n));
  }
  ::close(er[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return r;
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  return r;
}

std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return printable(s, 400);
}

// Where `id` is now: "queue" (with its file), "new", "failed" or "" (gone).
std::string where_is(const queue::Spool& s, const std::string& id, std::string& file) {
  for (const auto& [dir, label] : {std::pair{s.queue(), "queue"}, std::pair{s.incoming(), "new"},
                                   std::pair{s.failed(), "failed"}}) {
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        auto q = queue::parse_queue_name(n);
        if (n == id || (q && q->id == id)) {
          ::closedir(d);
          file = dir + "/" + n;
          return label;
        }
      }
      ::closedir(d);
    }
  }
  return "";
}

std::string last_error_of(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  std::string head(64 * 1024, '\0');
  head.resize(std::fread(head.data(), 1, head.size(), f));
  std::fclose(f);
  auto env = envelope::decode(head, nullptr);
  return env ? printable(env->last_error, 400) : std::string();
}

}  // namespace

int check_send(const config::Config& cfg, const std::string& address, std::FILE* out) {
  // The same configuration for both programs, whatever chose it here (--config or the default).
  ::setenv("NULLQ_CONFIG", cfg.path.c_str(), 1);
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  const std::string message = "To: " + address + "\nSubject: nullq check: test message from " + cfg.hostname +
                              "\n\nThis message was sent by `nullq check --send` on " + cfg.hostname + " at " + date +
                              "\nto test delivery through its smart hosts. Nothing needs to be done.\n";
  const std::string sendmail = sibling("NULLQ_SENDMAIL_PROGRAM", "nullq-sendmail");
  Ran q = run({sendmail, "-v", "-i", "--", address}, message);
  const std::string marker = "queued as ";
  std::size_t at = q.err.find(marker);
  if (q.code != 0 || at == std::string::npos) {
    std::fprintf(out, "send: not queued (%s exit %d): %s\n", sendmail.c_str(), q.code, one_line(q.err).c_str());
    return 1;
  }
  std::string id = q.err.substr(at + marker.size());
  id = id.substr(0, id.find_first_of("\r\n "));
  std::fprintf(out, "send: queued for <%s> as %s\n", printable(address, 200).c_str(), id.c_str());

  const std::string send = sibling("NULLQ_SEND_PROGRAM", "nullq-send");
  Ran d = run({send, "--once", "--quiet"}, "");
  if (!d.err.empty()) std::fprintf(out, "send: nullq-send --once: %s\n", one_line(d.err).c_str());
  std::string file;
  const std::string place = where_is(queue::Spool{cfg.queue_dir}, id, file);
  if (place.empty()) {
    std::fprintf(out, "send: %s delivered: a smart host accepted it\n", id.c_str());
    return 0;
  }
  if (place == "new") {
    std::fprintf(out, "send: %s is waiting in new/ for the running nullq-send (nullq show %s, or the log)\n",
                 id.c_str(), id.c_str());
    return 0;
  }
  std::string why = last_error_of(file);
  std::fprintf(out, "send: %s %s%s%s\n", id.c_str(),
               place == "queue" ? "not delivered, kept for a later attempt" : "refused, kept in failed/",
               why.empty() ? "" : ": ", why.c_str());
  return 1;
}

}  // namespace nullq::admin

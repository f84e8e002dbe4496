// `nullq oauth login HOST` and the store summary of `nullq oauth status` (see oauth.hpp).
#include "oauth.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nullq/clock_text.hpp"
#include "nullq/oauth.hpp"
#include "nullq/printable.hpp"
#include "nullq/send/tokens.hpp"
#include "commands.hpp"

namespace nullq::admin {

namespace {

std::string utc(std::int64_t t) { return clock_text(t, "%Y-%m-%d %H:%M:%S UTC", true); }

// mkdir -p for the store directory; created ones (and a root-owned oauth/ itself) go to `uid`:`gid`.
bool make_store_dir(const std::string& dir, uid_t uid, gid_t gid, std::string& why) {
  std::string path;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty()) continue;
    if (::mkdir(path.c_str(), 0700) == 0) {
      if (::geteuid() == 0 && ::chown(path.c_str(), uid, gid) != 0) {
        why = path + ": chown: " + std::strerror(errno);
        return false;
      }
    } else if (errno != EEXIST) {
      why = path + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && ::geteuid() == 0 && st.st_uid == 0 && uid != 0) {
    if (::chown(dir.c_str(), uid, gid) != 0 || ::chmod(dir.c_str(), 0700) != 0) {
      why = dir + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

// Runs the helper's login with `request` on fd 3 and the terminal on 0, 1 and 2.
int run_login(const std::string& request, std::FILE* err) {
  const std::string program = oauth::helper_program();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    std::fprintf(err, "nullq: pipe: %s\n", std::strerror(errno));
    return 71;
  }
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(err, "nullq: fork: %s\n", std::strerror(errno));
    return 71;
  }
  if (pid == 0) {
    // fd 3 = the request. dup2 clears close-on-exec on the copy, but does nothing when the pipe
    // already is fd 3 (fds 0-2 open, nothing else: the usual case): clear it there by hand.
    if (p[0] == 3 ? ::fcntl(3, F_SETFD, 0) < 0 : ::dup2(p[0], 3) < 0) ::_exit(71);
    char* const argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>("login"), nullptr};
    ::execv(program.c_str(), argv);
    std::fprintf(stderr, "nullq: cannot run %s: %s\n", program.c_str(), std::strerror(errno));
    ::_exit(69);
  }
  ::close(p[0]);
  // The request is a few KiB at most: it fits the pipe, so writing it before waiting cannot block.
  std::size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::write(p[1], request.data() + off, request.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  ::close(p[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  std::fprintf(err, "nullq: %s ended by signal %d\n", program.c_str(), WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return 75;
}

}  // namespace

const config::SmartHost* find_oauth_host(const config::Config& cfg, const std::string& name, std::string& why) {
  std::vector<const config::SmartHost*> found;
  for (const auto& h : cfg.smarthosts) {
    if (h.oauth.flow == config::OAuthFlow::none) continue;
    if (h.text == name || h.host == name || h.auth_user + "@" + h.host == name) found.push_back(&h);
  }
  if (found.size() == 1) return found[0];
  if (found.empty()) {
    std::string names;
    for (const auto& h : cfg.smarthosts)
      if (h.oauth.flow != config::OAuthFlow::none) names += (names.empty() ? "" : ", ") + h.host;
    why = "no smart host with auth.oauth is '" + printable(name, 200) + "'" +
          (names.empty() ? std::string(" (none has auth.oauth)") : " (OAuth smart hosts: " + names + ")");
  } else {
    why = "several OAuth smart hosts are '" + printable(name, 200) + "': name one as USER@HOST";
  }
  return nullptr;
}

std::string oauth_store_summary(const config::Config& cfg, const config::SmartHost& host, bool& usable) {
  usable = true;
  if (host.oauth.flow == config::OAuthFlow::command) return "tokens from token_command";
  const std::string path = oauth::store_path(cfg, host);
  std::ifstream in(path);
  if (!in) {
    if (host.oauth.flow == config::OAuthFlow::refresh_token) {
      usable = false;
      return errno == ENOENT ? "no refresh token yet: run nullq oauth login " + host.host
                             : path + ": " + std::strerror(errno);
    }
    return "no token fetched yet";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    usable = false;
    return path + ": not a token store (run nullq oauth login " + host.host + ")";
  }
  auto num = [&j](const char* k) -> std::int64_t {
    auto it = j.find(k);
    return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
  };
  std::string s;
  if (host.oauth.flow == config::OAuthFlow::refresh_token) {
    auto rt = j.find("refresh_token");
    if (rt == j.end() || !rt->is_string() || rt->get_ref<const std::string&>().empty()) {
      usable = false;
      return "no refresh token stored: run nullq oauth login " + host.host;
    }
    if (std::int64_t o = num("obtained")) s = "refresh token from " + utc(o);
  }
  if (std::int64_t r = num("last_refresh")) {
    std::string result = "?";
    if (auto it = j.find("last_result"); it != j.end() && it->is_string()) result = printable(it->get<std::string>(), 300);
    s += std::string(s.empty() ? "" : ", ") + "last refresh " + utc(r) + ": " + result;
    if (result != "ok") usable = false;
  }
  if (std::int64_t e = num("expires"))
    s += std::string(s.empty() ? "" : ", ") + "access token valid until " + utc(e);
  return s.empty() ? "no token fetched yet" : s;
}

int oauth_login(const config::Config& cfg, const std::vector<std::string>& args, const privilege::Owner& owner,
                std::FILE* out, std::FILE* err) {
  (void)out;
  if (args.size() != 2) {
    std::fprintf(err, "nullq: oauth login needs one smart host (its host name or URL)\n");
    return 64;
  }
  std::string why;
  const config::SmartHost* found = find_oauth_host(cfg, args[1], why);
  if (!found) {
    std::fprintf(err, "nullq: %s\n", why.c_str());
    return 64;
  }
  if (found->oauth.flow != config::OAuthFlow::refresh_token) {
    std::fprintf(err, "nullq: %s uses %s: there is nothing to log in to (login is for flow: refresh_token)\n",
                 found->text.c_str(), config::to_string(found->oauth.flow));
    return 64;
  }
  // The store belongs to the spool's user, who runs the daemon.
  struct stat sp {};
  uid_t uid = 0;
  gid_t gid = 0;
  if (::stat(cfg.queue_dir.c_str(), &sp) == 0) {
    uid = sp.st_uid;
    gid = sp.st_gid;
  }
  const std::string dir = cfg.state_dir + "/oauth";
  if (!make_store_dir(dir, uid, gid, why)) {
    std::fprintf(err, "nullq: cannot make the token store: %s\n", why.c_str());
    return 73;
  }
  if (int rc = privilege::become(cfg.queue_dir, owner, "nullq", why); rc != 0) {
    std::fprintf(err, "%s\n", why.c_str());
    return rc;
  }
  config::Config sc = cfg;
  if (auto s = config::load_secrets(sc); !s.ok()) {
    std::fprintf(err, "nullq: %s\n", s.error().message().c_str());
    return 78;
  }
  const config::SmartHost* host = find_oauth_host(sc, args[1], why);
  if (*send::login_kind(host->oauth) == '\0') {
    std::fprintf(err, "nullq: %s: neither auth.oauth.device_url nor auth.oauth.authorize_url is set: nothing to log in with\n",
                 host->text.c_str());
    return 78;
  }
  return run_login(send::helper_request(send::token_settings(sc, *host), send::HelperOp::login), err);
}

int oauth_status(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  (void)err;
  config::Config sc = cfg;
  int problems = 0;
  if (auto sec = config::load_secrets(sc); !sec.ok()) {
    std::fprintf(out, "%s\n", sec.error().message().c_str());
    ++problems;
  }
  bool any = false;
  for (const auto& h : sc.smarthosts) {
    if (h.oauth.flow == config::OAuthFlow::none) continue;
    any = true;
    if (!h.oauth.client_secret_file.empty() && !h.oauth.client_secret) continue;  // said above
    problems += check_smtp_host(sc, h, out);
  }
  if (!any) {
    std::fputs("no smart host uses OAuth (auth.oauth in nullq.yaml)\n", out);
    return 0;
  }
  if (problems == 0) std::fputs("nullq oauth status: OK\n", out);
  else std::fprintf(out, "nullq oauth status: %d problem(s)\n", problems);
  return problems == 0 ? 0 : 1;
}

}  // namespace nullq::admin

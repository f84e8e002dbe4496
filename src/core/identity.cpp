#include "nullq/identity.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <charconv>
#include <fstream>

extern char** environ;

namespace nullq::identity {

namespace {

std::string_view field(std::string_view& rest) {
  auto colon = rest.find(':');
  std::string_view f = rest.substr(0, colon);
  rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
  return f;
}

}  // namespace

std::optional<User> parse_passwd_line(std::string_view line, uid_t uid) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.empty() || line[0] == '+' || line[0] == '-' || line[0] == '#') return std::nullopt;
  std::string_view rest = line;
  std::string_view login = field(rest);
  field(rest);  // password
  std::string_view uid_text = field(rest);
  field(rest);  // gid
  std::string_view gecos = field(rest);
  std::string_view home = field(rest);
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(uid_text.data(), uid_text.data() + uid_text.size(), value);
  if (login.empty() || uid_text.empty() || ec != std::errc{} || end != uid_text.data() + uid_text.size() ||
      value >= 0xffffffffUL || value != uid)  // (uid_t)-1 and wider numbers are no uid
    return std::nullopt;
  return User{std::string(login), std::string(gecos), std::string(home)};
}

std::optional<std::string> capture(const char* const* argv, std::size_t max_bytes) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return std::nullopt;
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (text.size() < max_bytes) text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return std::nullopt;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return text;
}

std::optional<User> user_by_uid(uid_t uid, const std::string& passwd_file, const std::string& getent) {
  std::ifstream in(passwd_file);
  for (std::string line; std::getline(in, line);)
    if (auto u = parse_passwd_line(line, uid)) return u;
  std::string uid_text = std::to_string(uid);
  const char* argv[] = {getent.c_str(), "passwd", uid_text.c_str(), nullptr};
  auto out = capture(argv);
  if (!out) return std::nullopt;
  return parse_passwd_line(out->substr(0, out->find('\n')), uid);
}

std::string canonical_hostname(const std::string& host, const std::string& getent) {
  // "ADDRESS STREAM CANONNAME" on the first line; the canonical name appears once, on that line.
  const char* argv[] = {getent.c_str(), "ahosts", host.c_str(), nullptr};
  auto out = capture(argv);
  if (!out) return host;
  std::string first = out->substr(0, out->find('\n'));
  auto last_space = first.find_last_of(" \t");
  if (last_space == std::string::npos) return host;
  std::string name = first.substr(last_space + 1);
  if (name.find('.') == std::string::npos || name.size() > 253) return host;
  for (char ch : name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-')) return host;
  return name;
}

}  // namespace nullq::identity

// SMTP passwords from password_file and OAuth client secrets from client_secret_file (see load_secrets in include/nullq/config.hpp).
//
// One reader for secrets: nullq-send and `nullq check`, after they switched to the spool's user
// (so that a file the daemon cannot read fails at start, not at the first SIGHUP). The file must
// be the file itself (no symbolic link), belong to root or to the user reading it, and not be
// writable by its group or readable or writable by others (nullq-sendmail runs as every user; a
// secret they can read or replace is no secret). Buffers that held the secret are wiped.
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "nullq/config.hpp"
#include "nullq/privilege.hpp"

namespace nullq::config {

namespace {

constexpr std::size_t max_secret = 4096;

void wipe(std::string& s) {
  if (!s.empty()) ::explicit_bzero(s.data(), s.size());
}

// Owns the password for the life of the configuration; wipes it when the last user lets go.
std::shared_ptr<const std::string> keep(std::string&& text) {
  return std::shared_ptr<const std::string>(new std::string(std::move(text)), [](const std::string* p) {
    wipe(*const_cast<std::string*>(p));
    delete p;
  });
}

std::string mode_text(mode_t m) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(m & 07777));
  return mode;
}

// One secret file of smart host `h`: `key` names it in errors ("password_file"), `what` is what
// its one line holds ("the password").
Result<std::shared_ptr<const std::string>> read_one(const SmartHost& h, const char* key, const std::string& path,
                                                    const std::string& what) {
  auto bad = [&](const std::string& why) {
    return Error::permanent(ErrorDomain::config, h.text + ": " + key + " " + path + ": " + why);
  };
  // O_NOFOLLOW: a link could point the reader (root at start) at a file of someone else's choice.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) return bad("is a symbolic link; name the file itself");
    if (err == EACCES)
      return bad(std::string(std::strerror(err)) + ": the daemon (user " + privilege::current_user() +
                 ") cannot read it; it is " + privilege::ownership_hint(path));
    return bad(std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return bad("not a regular file");
  }
  if (st.st_mode & (S_IROTH | S_IWOTH)) {
    ::close(fd);
    return bad("others may read or write it (mode " + mode_text(st.st_mode) + "); run chmod o-rwx " + path);
  }
  if (st.st_mode & S_IWGRP) {
    ::close(fd);
    return bad("its group may write it (mode " + mode_text(st.st_mode) + "); run chmod g-w " + path);
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    ::close(fd);
    return bad("owned by " + privilege::user_name(st.st_uid) + ", not by root or " + privilege::current_user() +
               " (who reads it); run chown root " + path);
  }
  if (st.st_size > static_cast<off_t>(max_secret)) {
    ::close(fd);
    return bad("larger than 4 KiB; it must hold only " + what);
  }
  std::string text(max_secret, '\0');
  std::size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      wipe(text);
      return bad(std::strerror(err));
    }
    if (n == 0 || (got += static_cast<std::size_t>(n)) == text.size()) break;
  }
  ::close(fd);
  // One line: the password; a final newline (as editors write it) is not part of it.
  auto refuse = [&](const std::string& why) {
    wipe(text);
    return bad(why);
  };
  std::size_t len = got;
  if (auto nl = std::string_view(text.data(), got).find('\n'); nl != std::string_view::npos) {
    if (std::string_view(text.data(), got).find_first_not_of("\r\n", nl) != std::string_view::npos)
      return refuse("must hold one line, " + what);
    len = nl;
  }
  if (len > 0 && text[len - 1] == '\r') --len;
  if (len == 0) return refuse("is empty");
  if (std::string_view(text.data(), len).find('\0') != std::string_view::npos) return refuse("holds a NUL byte");
  // Shrink in place (no reallocation, so no unwiped copy): what follows the password is zeroed.
  ::explicit_bzero(text.data() + len, text.size() - len);
  text.resize(len);
  return keep(std::move(text));
}

}  // namespace

Status load_secrets(Config& c) {
  for (auto& h : c.smarthosts) {
    if (!h.is_smtp() || h.auth_user.empty()) continue;
    // Before the secret is in memory: no core file, no ptrace by the same user, no /proc/PID/mem.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (!h.password_file.empty()) {
      auto s = read_one(h, "password_file", h.password_file, "the password");
      if (!s.ok()) return s.error();
      h.password = std::move(s).value();
    }
    if (!h.oauth.client_secret_file.empty()) {
      auto s = read_one(h, "client_secret_file", h.oauth.client_secret_file, "the client secret");
      if (!s.ok()) return s.error();
      h.oauth.client_secret = std::move(s).value();
    }
  }
  return {};
}

}  // namespace nullq::config

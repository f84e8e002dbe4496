// SMTP passwords from password_file (see load_secrets in include/nullq/config.hpp).
//
// One reader for secrets: nullq-send and `nullq check`. The file must not be readable or
// writable by others (nullq-sendmail runs as every user; a secret they can read is no secret).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "nullq/config.hpp"

namespace nullq::config {

namespace {

constexpr std::size_t max_secret = 4096;

Result<std::shared_ptr<const std::string>> read_one(const SmartHost& h) {
  const std::string& path = h.password_file;
  auto bad = [&](const std::string& why) {
    return Error::permanent(ErrorDomain::config, h.text + ": password_file " + path + ": " + why);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return bad(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return bad("not a regular file");
  }
  if (st.st_mode & (S_IROTH | S_IWOTH)) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return bad(std::string("others may read or write it (mode ") + mode + "); run chmod o-rwx " + path);
  }
  if (st.st_size > static_cast<off_t>(max_secret)) {
    ::close(fd);
    return bad("larger than 4 KiB; it must hold only the password");
  }
  std::string text(max_secret, '\0');
  std::size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return bad(std::strerror(err));
    }
    if (n == 0 || (got += static_cast<std::size_t>(n)) == text.size()) break;
  }
  ::close(fd);
  text.resize(got);
  // One line: the password; a final newline (as editors write it) is not part of it.
  if (auto nl = text.find('\n'); nl != std::string::npos) {
    if (text.find_first_not_of("\r\n", nl) != std::string::npos) return bad("must hold one line, the password");
    text.resize(nl);
  }
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) return bad("is empty");
  if (text.find('\0') != std::string::npos) return bad("holds a NUL byte");
  return std::make_shared<const std::string>(std::move(text));
}

}  // namespace

Status load_secrets(Config& c) {
  for (auto& h : c.smarthosts) {
    if (!h.is_smtp() || h.auth_user.empty()) continue;
    auto s = read_one(h);
    if (!s.ok()) return s.error();
    h.password = std::move(s).value();
  }
  return {};
}

}  // namespace nullq::config

// store.cpp — see store.hpp.
#include "store.hpp"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace nullq::oauth {

namespace {

constexpr std::size_t max_store = 64 * 1024;

std::string dir_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status write_all(int fd, const std::string& data, const std::string& what) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, what);
    off += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

Result<StoreLock> StoreLock::acquire(const std::string& store_path) {
  std::string dir = dir_of(store_path);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Error::from_errno(errno, "create " + dir);
  std::string lock = store_path + ".lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error::from_errno(errno, "open " + lock);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return Error::from_errno(err, "lock " + lock);
  }
  return StoreLock(fd);
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::optional<Store>> read_store(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<Store>{};
    return Error::from_errno(errno, "open " + path);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Error::from_errno(err, "read " + path);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_store) {
      ::close(fd);
      return Error::permanent(ErrorDomain::format, path + " is larger than 64 KiB");
    }
  }
  ::close(fd);
  auto j = nlohmann::json::parse(text, nullptr, false);
  explicit_bzero(text.data(), text.size());
  if (j.is_discarded() || !j.is_object()) return Error::permanent(ErrorDomain::format, path + " is not a JSON object");
  Store s;
  auto str = [&](const char* name, std::string& out) {
    if (!j.contains(name)) return true;
    if (!j[name].is_string()) return false;
    out = j[name].get<std::string>();
    return true;
  };
  auto num = [&](const char* name, long long& out) {
    if (!j.contains(name)) return true;
    if (!j[name].is_number_integer()) return false;
    out = j[name].get<long long>();
    return true;
  };
  if (!str("refresh_token", s.refresh_token) || !str("last_result", s.last_result) || !num("obtained", s.obtained) ||
      !num("last_refresh", s.last_refresh) || !num("expires", s.expires))
    return Error::permanent(ErrorDomain::format, path + " has a field of the wrong type");
  return std::optional<Store>{std::move(s)};
}

Status write_store(const std::string& path, const Store& store) {
  nlohmann::json j = {{"refresh_token", store.refresh_token}, {"obtained", store.obtained},
                      {"last_refresh", store.last_refresh}, {"last_result", store.last_result},
                      {"expires", store.expires}};
  std::string text = j.dump() + "\n";
  std::string dir = dir_of(path);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    explicit_bzero(text.data(), text.size());
    return Error::from_errno(errno, "create " + tmp);
  }
  Status w = write_all(fd, text, "write " + tmp);
  explicit_bzero(text.data(), text.size());
  if (w && ::fchmod(fd, 0600) != 0) w = Error::from_errno(errno, "chmod " + tmp);
  if (w && ::fsync(fd) != 0) w = Error::from_errno(errno, "fsync " + tmp);
  if (::close(fd) != 0 && w) w = Error::from_errno(errno, "close " + tmp);
  if (w && ::rename(tmp.c_str(), path.c_str()) != 0) w = Error::from_errno(errno, "rename " + tmp);
  if (!w) {
    ::unlink(tmp.c_str());
    return w;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Error::from_errno(errno, "open " + dir);
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return Error::from_errno(err, "fsync " + dir);
  return {};
}

}  // namespace nullq::oauth

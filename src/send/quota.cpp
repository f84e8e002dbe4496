// Daily counts and quota holds per smart host, in <state_dir>/limits (see include/nullq/send/quota.hpp).
#include "nullq/send/quota.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nullq::send {

namespace {

constexpr std::int64_t day = 24 * 3600;

// The last time-of-day reset at or before `now` (unix s, UTC).
std::int64_t last_reset(int minutes, std::int64_t now) {
  const std::int64_t at = static_cast<std::int64_t>(minutes) * 60;
  std::int64_t midnight = now - ((now % day) + day) % day;
  std::int64_t r = midnight + at;
  return r > now ? r - day : r;
}

Error file_error(const std::string& what, const std::string& path) {
  return Error::temporary(ErrorDomain::sys, "cannot " + what + " " + path + ": " + std::strerror(errno), errno);
}

}  // namespace

std::int64_t window_end(const config::HostLimits& l, std::int64_t start) {
  if (l.quota_reset_at >= 0) return last_reset(l.quota_reset_at, start) + day;
  return start + l.quota_reset.count();
}

std::int64_t quota_release(const config::HostLimits& l, std::int64_t now) {
  if (l.quota_reset_at >= 0) return last_reset(l.quota_reset_at, now) + day;
  return now + l.quota_reset.count();
}

QuotaWindow& QuotaStore::at(const std::string& host, const config::HostLimits& l, std::int64_t now) {
  QuotaWindow& w = hosts_[host];
  if (w.start != 0 && now >= window_end(l, w.start)) {
    w.count = 0;
    w.start = 0;
  }
  return w;
}

Status QuotaStore::load() {
  hosts_.clear();
  if (path_.empty()) return {};
  std::ifstream in(path_);
  if (!in) {
    if (errno == ENOENT) return {};
    return file_error("read", path_);
  }
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string host;
    QuotaWindow w;
    if (ls >> host >> w.count >> w.start >> w.held_until) hosts_[host] = w;
  }
  return {};
}

Status QuotaStore::save() const {
  if (path_.empty()) return {};
  std::string text;
  for (const auto& [host, w] : hosts_) {
    if (host.find_first_of(" \t\r\n") != std::string::npos || (w.count == 0 && w.held_until == 0)) continue;
    text += host + " " + std::to_string(w.count) + " " + std::to_string(w.start) + " " +
            std::to_string(w.held_until) + "\n";
  }
  const std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return file_error("write", tmp);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = file_error("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    Error e = file_error("replace", path_);
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
}

}  // namespace nullq::send

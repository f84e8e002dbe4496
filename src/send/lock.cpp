// The flusher lock (see include/nullq/send/lock.hpp).
#include "nullq/send/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace nullq::send {

Result<SpoolLock> SpoolLock::try_acquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error::from_errno(errno, "open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Error::temporary(ErrorDomain::sys, "another nullq-send holds " + path, EWOULDBLOCK);
    }
    return Error::from_errno(err, "lock " + path);
  }
  return SpoolLock(fd);
}

bool SpoolLock::held(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) return false;
  const bool busy = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the shared lock, if it was taken
  return busy;
}

bool SpoolLock::is_busy(const Error& e) { return e.domain == ErrorDomain::sys && e.code == EWOULDBLOCK; }

SpoolLock& SpoolLock::operator=(SpoolLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

SpoolLock::~SpoolLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace nullq::send

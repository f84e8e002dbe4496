// send/lock.hpp — the spool's flusher lock: only one nullq-send (daemon or --once) at a time.
//
// Purpose:   flock(LOCK_EX|LOCK_NB) on spool/lock, held for the life of the object.
// Trust:     the lock file is in the spool, owned by the flusher's user.
// Errors:    busy => Error temporary, domain sys, code EWOULDBLOCK (see is_busy); other failures
//            are Error::from_errno.
// Threading: single owner.
#pragma once

#include <string>

#include "nullq/result.hpp"

namespace nullq::send {

class SpoolLock {
 public:
  static Result<SpoolLock> try_acquire(const std::string& path);
  static bool is_busy(const Error& e);
  // True when some flusher holds the lock at `path` now: a shared, non-blocking probe that is let
  // go at once and never creates the file (no file: false). For `nullq status`, and for sendmail
  // deciding whether to start a run.
  static bool held(const std::string& path);

  SpoolLock(SpoolLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  SpoolLock& operator=(SpoolLock&& o) noexcept;
  SpoolLock(const SpoolLock&) = delete;
  SpoolLock& operator=(const SpoolLock&) = delete;
  ~SpoolLock();

 private:
  explicit SpoolLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace nullq::send

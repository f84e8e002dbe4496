// store.hpp — the refresh-token store file: <state_dir>/oauth/<store_name>.json (see oauth.hpp).
//
// Purpose:   read and durably replace one host's store, under an exclusive lock held for the whole
//            token request, so that two refreshes never race and a rotated refresh token is on
//            disk before the access token leaves the program.
// Trust:     the file is ours but read as untrusted JSON (capped, type-checked). It holds a secret:
//            mode 0600, directory 0700, never printed.
// Errors:    Result errors: sys for I/O (temporary), format for a malformed file (permanent).
// Threading: one StoreLock per process and store; the functions are reentrant.
#pragma once

#include <optional>
#include <string>

#include "nullq/result.hpp"

namespace nullq::oauth {

struct Store {
  std::string refresh_token;
  long long obtained = 0, last_refresh = 0, expires = 0;  // unix times
  std::string last_result;                                // "ok" | "<error>: <description>"
};

// An flock(LOCK_EX) on "<store>.lock" (0600) beside the store; released when the object goes.
// Creates the store's directory with mode 0700 when it is missing (the parent must exist).
class StoreLock {
 public:
  static Result<StoreLock> acquire(const std::string& store_path);
  StoreLock(StoreLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  StoreLock& operator=(StoreLock&&) = delete;
  ~StoreLock();

 private:
  explicit StoreLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// nullopt when the file does not exist.
Result<std::optional<Store>> read_store(const std::string& path);
// Temp file 0600 in the same directory, write, fsync, rename over `path`, fsync the directory.
Status write_store(const std::string& path, const Store& store);

}  // namespace nullq::oauth

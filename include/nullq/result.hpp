// result.hpp — Error and Result<T>, the error currency of every nullq module.
//
// Purpose:   carry an environment, network or data failure back to the caller with its kind
//            (temporary or permanent) as a field, never as text to parse.
// Trust:     none; plain values.
// Errors:    calling value() on an error, or error() on a value, is a bug and aborts.
// Threading: values; safe to move between threads.
//
// GCC 12 has no std::expected in C++20; this is the one place to switch when it does.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace nullq {

enum class ErrorKind {
  temporary,  // try again later (qmail exit 71-ish, QMTP/QMQP 'Z', sysexits 75)
  permanent,  // will never succeed as is (qmail 11-40, 'D', sysexits 64/65)
};

enum class ErrorDomain {
  none,
  sys,       // code is an errno value
  uv,        // code is a libuv error (negative)
  ares,      // code is an ARES_* status
  protocol,  // a peer broke QMQP/QMTP/netstring framing
  format,    // local data is malformed (queue file, message, address)
  config,    // configuration is unusable
  usage,     // a caller's command line is wrong
  remote,    // the remote server said Z or D; detail holds its (sanitised) text
};

const char* to_string(ErrorDomain d) noexcept;

struct Error {
  ErrorKind kind = ErrorKind::temporary;
  ErrorDomain domain = ErrorDomain::none;
  int code = 0;
  std::string detail;

  static Error temporary(ErrorDomain d, std::string detail, int code = 0) {
    return Error{ErrorKind::temporary, d, code, std::move(detail)};
  }
  static Error permanent(ErrorDomain d, std::string detail, int code = 0) {
    return Error{ErrorKind::permanent, d, code, std::move(detail)};
  }
  // errno failures: ENOSPC, EDQUOT, EIO, EAGAIN... are temporary; only a few are permanent
  // (ENAMETOOLONG, EINVAL, EFBIG, E2BIG). `what` says what was being done ("write tmp/123").
  static Error from_errno(int err, std::string what);

  bool is_temporary() const noexcept { return kind == ErrorKind::temporary; }
  bool is_permanent() const noexcept { return kind == ErrorKind::permanent; }
  // One line for logs and stderr: "<detail>" plus ": <strerror>" for sys errors.
  std::string message() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { check(true); return std::get<0>(v_); }
  const T& value() const& { check(true); return std::get<0>(v_); }
  T&& value() && { check(true); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { check(false); return std::get<1>(v_); }
  Error&& error() && { check(false); return std::get<1>(std::move(v_)); }

 private:
  void check(bool want_value) const {
    if (ok() != want_value) std::abort();
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const& {
    if (ok_) std::abort();
    return err_;
  }
  Error&& error() && {
    if (ok_) std::abort();
    return std::move(err_);
  }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace nullq

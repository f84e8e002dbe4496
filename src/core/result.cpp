#include "nullq/result.hpp"

#include <cerrno>
#include <cstring>

namespace nullq {

const char* to_string(ErrorDomain d) noexcept {
  switch (d) {
    case ErrorDomain::none: return "none";
    case ErrorDomain::sys: return "system";
    case ErrorDomain::uv: return "libuv";
    case ErrorDomain::ares: return "dns";
    case ErrorDomain::protocol: return "protocol";
    case ErrorDomain::format: return "format";
    case ErrorDomain::config: return "config";
    case ErrorDomain::usage: return "usage";
    case ErrorDomain::remote: return "remote";
  }
  return "unknown";
}

Error Error::from_errno(int err, std::string what) {
  ErrorKind kind = ErrorKind::temporary;
  switch (err) {
    case ENAMETOOLONG:
    case EINVAL:
    case EFBIG:
    case E2BIG:
      kind = ErrorKind::permanent;
      break;
    default:
      break;
  }
  return Error{kind, ErrorDomain::sys, err, std::move(what)};
}

std::string Error::message() const {
  if (domain == ErrorDomain::sys && code != 0) return detail + ": " + std::strerror(code);
  return detail;
}

}  // namespace nullq

// sd_notify by hand: one datagram to $NOTIFY_SOCKET (see include/nullq/send/notify.hpp).
#include "nullq/send/notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace nullq::send {

Status sd_notify_to(std::string_view path, std::string_view state) {
  if (path.empty()) return {};
  if (path[0] != '/' && path[0] != '@') return {};  // only paths and abstract names
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) return Error::permanent(ErrorDomain::sys, "NOTIFY_SOCKET too long");
  std::memcpy(sa.sun_path, path.data(), path.size());
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error::from_errno(errno, "socket for NOTIFY_SOCKET");
  ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa), len);
  int err = errno;
  ::close(fd);
  if (n < 0) return Error::from_errno(err, "send to NOTIFY_SOCKET");
  return {};
}

Status sd_notify(std::string_view state) {
  const char* p = std::getenv("NOTIFY_SOCKET");
  if (!p || !*p) return {};
  return sd_notify_to(p, state);
}

}  // namespace nullq::send

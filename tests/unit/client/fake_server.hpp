// fake_server.hpp — a canned-bytes server for the client tests: plain blocking sockets on a thread,
// bound to loopback port 0, one accepted connection, a scripted exchange with deadlines.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "nullq/client.hpp"

namespace nullq::client::test {

inline std::string ns(std::string_view s) { return std::to_string(s.size()) + ":" + std::string(s) + ","; }

// Bytes taken by the complete netstring at the front of `s`; 0 when incomplete or malformed.
inline std::size_t ns_size(std::string_view s) {
  std::size_t i = 0;
  std::size_t len = 0;
  while (i < s.size() && i < 10 && s[i] >= '0' && s[i] <= '9') len = len * 10 + static_cast<std::size_t>(s[i++] - '0');
  if (i == 0 || i >= s.size() || s[i] != ':') return 0;
  std::size_t total = i + 1 + len + 1;
  return s.size() >= total ? total : 0;
}

// Complete QMTP packages (three netstrings each) at the front of `s`.
inline std::size_t count_packages(std::string_view s) {
  std::size_t n = 0;
  for (;;) {
    std::string_view rest = s;
    for (int k = 0; k < 3; ++k) {
      std::size_t sz = ns_size(rest);
      if (sz == 0) return n;
      rest.remove_prefix(sz);
    }
    s = rest;
    ++n;
  }
}

// The server's side of the one connection. Every wait is bounded.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}
  std::string in;    // everything received so far
  bool eof = false;  // the client half-closed or closed
  bool error = false;

  // Reads once (waiting up to `limit`); false on EOF, error or timeout.
  bool read_some(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) {
      eof = true;
      return false;
    }
    if (n < 0) {
      error = true;
      return false;
    }
    in.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  bool read_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(left)) return done();
    }
    return true;
  }
  bool read_packages(std::size_t n) {
    return read_until([&] { return count_packages(in) >= n; });
  }
  bool read_bytes(std::size_t n) {
    return read_until([&] { return in.size() >= n; });
  }
  bool read_netstring() {
    return read_until([&] { return ns_size(in) != 0; });
  }
  // True when the client's EOF arrives (after any further bytes) within the limit.
  bool wait_eof(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    read_until([&] { return eof; }, limit);
    return eof;
  }
  // EOF or a reset.
  bool wait_close(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    read_until([&] { return eof || error; }, limit);
    return eof || error;
  }
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        error = true;
        return;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_;
};

class FakeServer {
 public:
  using Script = std::function<void(Peer&)>;

  // `ipv6`: bind ::1; ok() is false when the host has no IPv6 loopback.
  explicit FakeServer(Script script, bool ipv6 = false,
                      std::chrono::milliseconds accept_limit = std::chrono::seconds(10))
      : script_(std::move(script)), ipv6_(ipv6), accept_limit_(accept_limit) {
    fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ipv6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ep_.addr);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      ep_.len = sizeof(sockaddr_in6);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ep_.addr);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ep_.len = sizeof(sockaddr_in);
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&ep_.addr), ep_.len) != 0 || ::listen(fd_, 8) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    socklen_t len = ep_.len;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ep_.addr), &len);
    port_ = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&ep_.addr)->sin6_port
                       : reinterpret_cast<sockaddr_in*>(&ep_.addr)->sin_port);
    ep_.text = (ipv6 ? "[::1]:" : "127.0.0.1:") + std::to_string(port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeServer() { join(); }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  bool ok() const { return fd_ >= 0; }
  const Endpoint& endpoint() const { return ep_; }
  // Waits for the script to end (it is bounded by its deadlines). Results are stable afterwards.
  void join() {
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  // After join(): what the client sent and whether it closed its side.
  std::string received;
  bool saw_eof = false;    // an orderly EOF (FIN) from the client
  bool saw_close = false;  // EOF or a reset
  std::atomic<int> accepted{0};

 private:
  void serve() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(accept_limit_.count())) <= 0) return;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    ++accepted;
    Peer peer(c);
    script_(peer);
    received = peer.in;
    saw_eof = peer.eof;
    saw_close = peer.eof || peer.error;
    ::close(c);
  }

  Script script_;
  bool ipv6_;
  std::chrono::milliseconds accept_limit_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  Endpoint ep_;
  std::thread thread_;
};

// An endpoint on which nothing listens: bind a port, read it back, close the socket.
inline Endpoint refused_endpoint() {
  Endpoint ep;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto* a = reinterpret_cast<sockaddr_in*>(&ep.addr);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ep.len = sizeof(sockaddr_in);
  ::bind(fd, reinterpret_cast<sockaddr*>(&ep.addr), ep.len);
  socklen_t len = ep.len;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ep.addr), &len);
  ::close(fd);
  ep.text = "127.0.0.1:" + std::to_string(ntohs(a->sin_port));
  return ep;
}

// A listener whose accept queue is full, so Linux drops further SYNs and a connect hangs until the
// client's own timer fires. ok() is false if the queue could not be filled.
class FullListener {
 public:
  FullListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto* a = reinterpret_cast<sockaddr_in*>(&ep_.addr);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ep_.len = sizeof(sockaddr_in);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&ep_.addr), ep_.len) != 0 || ::listen(fd_, 0) != 0) return;
    socklen_t len = ep_.len;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ep_.addr), &len);
    ep_.text = "127.0.0.1:" + std::to_string(ntohs(a->sin_port));
    // Backlog 0 holds one finished handshake; fill it (and one more for good measure).
    for (int i = 0; i < 2; ++i) {
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&ep_.addr), ep_.len);
      fillers_[i] = c;
    }
    // The first filler completes at once; the second must then hang.
    pollfd p[2] = {{fillers_[0], POLLOUT, 0}, {fillers_[1], POLLOUT, 0}};
    ::poll(&p[0], 1, 2000);
    ok_ = (p[0].revents & POLLOUT) && ::poll(&p[1], 1, 300) == 0;
  }
  ~FullListener() {
    for (int c : fillers_)
      if (c >= 0) ::close(c);
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  const Endpoint& endpoint() const { return ep_; }

 private:
  int fd_ = -1;
  int fillers_[2] = {-1, -1};
  bool ok_ = false;
  Endpoint ep_;
};

}  // namespace nullq::client::test

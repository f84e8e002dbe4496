#include "listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace nullq::send::it {

Listener::Listener(const std::string& ip, std::uint16_t port, std::size_t max_connections)
    : ip_(ip), max_connections_(max_connections) {
  const bool v6 = ip.find(':') != std::string::npos;
  listen_fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss{};
  socklen_t slen;
  if (v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, ip.c_str(), &sa->sin6_addr);
    sa->sin6_port = htons(port);
    slen = sizeof *sa;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    ::inet_pton(AF_INET, ip.c_str(), &sa->sin_addr);
    sa->sin_port = htons(port);
    slen = sizeof *sa;
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), slen) != 0 || ::listen(listen_fd_, 128) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("test server: bind/listen failed on " + ip);
  }
  socklen_t len = sizeof ss;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port) : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

Listener::~Listener() {
  stop();
  ::close(listen_fd_);
}

void Listener::start(std::function<void(int fd)> serve) {
  serve_ = std::move(serve);
  acceptor_ = std::thread([this] { accept_loop(); });
}

void Listener::stop() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

std::string Listener::url(const std::string& scheme) const {
  const bool v6 = ip_.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + ip_ + "]" : ip_) + ":" + std::to_string(port_);
}

void Listener::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (stop_ || connections_ >= max_connections_) {
      ::close(fd);
      continue;
    }
    ++connections_;
    char text[INET6_ADDRSTRLEN] = {};
    if (peer.ss_family == AF_INET6)
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, text, sizeof text);
    else
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, text, sizeof text);
    std::lock_guard<std::mutex> g(mu_);
    peers_.push_back(text);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] {
      serve_(fd);
      std::lock_guard<std::mutex> g(mu_);
      open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
      ::close(fd);
    });
  }
}

std::vector<std::string> Listener::peers() {
  std::lock_guard<std::mutex> g(mu_);
  return peers_;
}

void send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace nullq::send::it

// listener.hpp — the TCP side of the integration tests' scripted servers (fake_server,
// smtp_fake_server): listens on a loopback address, accepts on a thread of its own and serves each
// connection on a thread of its own, bounded in number.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace nullq::send::it {

class Listener {
 public:
  // Binds `ip` ("127.0.0.1" or "::1") and `port` (0 = any) and listens. Throws if the port is taken.
  Listener(const std::string& ip, std::uint16_t port, std::size_t max_connections);
  ~Listener();  // stop()
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Starts accepting: `serve` runs on a thread per connection; the listener closes the descriptor
  // when it returns. Connections past `max_connections` (over the listener's life) are closed
  // unserved, so that a runaway client cannot exhaust the test.
  void start(std::function<void(int fd)> serve);
  // Shuts every connection down and joins every thread. The owner calls it first in its destructor,
  // before the state that `serve` uses goes away.
  void stop();

  bool stopping() const { return stop_; }
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& scheme) const;  // "qmtp://127.0.0.1:PORT", "smtp://[::1]:PORT"
  std::size_t connections() const { return connections_; }
  // The peer address of every connection accepted, in order ("127.0.0.2", "::1").
  std::vector<std::string> peers();

 private:
  void accept_loop();

  std::string ip_;
  std::size_t max_connections_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::function<void(int)> serve_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::vector<std::string> peers_;
  std::atomic<std::size_t> connections_{0};
};

// Writes all of `s` (MSG_NOSIGNAL); stops quietly when the peer has gone.
void send_all(int fd, const std::string& s);

}  // namespace nullq::send::it

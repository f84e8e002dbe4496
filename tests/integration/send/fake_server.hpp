// fake_server.hpp — a small scripted QMTP/QMQP server on 127.0.0.1:0 for nullq-send's
// integration tests (blocking sockets, one thread per connection, bounded).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "listener.hpp"

namespace nullq::send::it {

enum class Proto { qmtp, qmqp };

struct Received {
  std::string sender;
  std::vector<std::string> rcpts;
  std::string message;
};

enum class Fault {
  none,
  hang,               // read the request, never answer
  close_mid_request,  // read a few bytes, close
  garbage,            // answer bytes that are no netstring
  oversize,           // answer a 100 KiB netstring
  drip,               // answer one byte every few milliseconds
  early_reply,        // QMQP: answer D after the first bytes, half-close, drain
  junk_after_answer,  // answer, and in the same write "junk after the answer\r\n"
  stall,              // QMQP: read the request, never answer; the connection ends when the client closes
};

class FakeServer {
 public:
  using Replier = std::function<std::vector<std::string>(const Received&)>;  // "Kok", per recipient

  // Listens on `ip` ("127.0.0.1" or "::1") and `port` (0 = any). Throws if the port is taken.
  explicit FakeServer(Proto p, const std::string& ip = "127.0.0.1", std::uint16_t port = 0);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  std::uint16_t port() const { return listener_.port(); }
  std::string url() const;  // "qmtp://127.0.0.1:PORT" or "qmtp://[::1]:PORT"

  void set_replier(Replier r);
  void set_fault(Fault f);
  std::vector<Received> received();
  std::size_t count();
  std::size_t connections() const { return listener_.connections(); }
  std::vector<std::string> peers() { return listener_.peers(); }
  std::size_t max_concurrent() const { return max_concurrent_; }

 private:
  void serve(int fd);
  bool serve_qmtp(int fd, Fault f);
  void serve_qmqp(int fd, Fault f);
  std::vector<std::string> replies_for(const Received& r);
  void answer(int fd, const std::string& payload, Fault f);

  Proto proto_;
  std::mutex mu_;
  std::vector<Received> received_;
  Replier replier_;
  Fault fault_ = Fault::none;
  // Connections counted as the client's: from accept until the answer (QMQP) or the end (QMTP).
  // One whose client has closed it is not counted even before its thread sees the end: the client
  // may open the next at once, and the count is of what the client holds.
  void count_in(int fd);
  void count_out(int fd);
  std::mutex count_mu_;
  std::vector<int> counted_;
  std::atomic<std::size_t> max_concurrent_{0};
  Listener listener_;  // last: built after the state its threads use
};

}  // namespace nullq::send::it

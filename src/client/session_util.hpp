// session_util.hpp — what the QMTP, QMQP and SMTP sessions share (private to src/client).
//
// Purpose:   one wording for every temporary failure a session reports (listed in client.hpp), and
//            the queue of callbacks a session defers to the next loop turn.
// Trust:     none; libuv error names only.
// Errors:    none.
// Threading: the loop's thread.
#pragma once

#include <arpa/inet.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nullq/client.hpp"
#include "nullq/event.hpp"
#include "nullq/reply.hpp"

namespace nullq::client::detail {

// Why the server was never reached, for the temporary reply of every recipient.
// A failure to bind Endpoint::source comes as bind_failure(uv error): a status of its own, so that
// the text says which step failed (TcpStream).
inline constexpr int bind_failure_base = -1000000;
inline constexpr int bind_failure(int uv_status) { return bind_failure_base + uv_status; }

inline std::string connect_failure_text(int status, const Endpoint& ep) {
  if (status < bind_failure_base / 2) {
    char text[INET6_ADDRSTRLEN] = "";
    const auto* s = &ep.source;
    if (s->ss_family == AF_INET6)
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(s)->sin6_addr, text, sizeof text);
    else
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(s)->sin_addr, text, sizeof text);
    return std::string("cannot bind the source address ") + text + ": " + uv_strerror(status - bind_failure_base);
  }
  switch (status) {
    case UV_ECONNREFUSED: return "connection refused";
    case UV_ETIMEDOUT: return "connection timed out";
    default: return std::string("cannot connect: ") + uv_strerror(status);
  }
}

inline std::string read_failure_text(int status) {
  return std::string("connection closed before reply (") + uv_strerror(status) + ")";
}

inline constexpr const char* text_closed = "connection closed before reply";
inline constexpr const char* text_io_timeout = "timed out waiting for the server";
inline constexpr const char* text_session_timeout = "session time limit reached";

inline proto::Reply temporary(std::string text) { return proto::Reply{proto::Verdict::temporary, std::move(text)}; }

// Callbacks that must not run inside the caller's own submit()/finish(): post() queues them and a
// zero timer runs them, in order, on the next loop turn. A callback may destroy the session that owns
// this queue (and so the queue): the rest of that turn's callbacks are then dropped.
class Deferred {
 public:
  explicit Deferred(uv_loop_s* loop) : timer_(loop, [this] { run(); }) {}

  void post(std::function<void()> fn) {
    posted_.push_back(std::move(fn));
    timer_.start(std::chrono::milliseconds{0});
  }

 private:
  void run() {
    std::weak_ptr<int> token = alive_;
    auto list = std::move(posted_);
    posted_.clear();
    for (auto& fn : list) {
      fn();
      if (token.expired()) return;
    }
  }

  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires with this queue
  std::vector<std::function<void()>> posted_;
  event::Timer timer_;
};

}  // namespace nullq::client::detail

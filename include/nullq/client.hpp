// client.hpp — QMTP and QMQP client sessions on the libuv loop (PROTOCOLS.md §2, §3, §5).
//
// Purpose:   deliver messages to one server address; report one Reply per recipient per message.
// Trust:     everything the server sends is hostile; replies are framed, capped and sanitised by the
//            codecs in qmtp.hpp / qmqp.hpp.
// Errors:    never thrown. Every submitted message gets exactly one on_done callback: answered
//            recipients keep their K/Z/D; unanswered ones get Verdict::temporary with a text saying
//            why (timeout, EOF, protocol error, connection refused). `connect_failed` tells the caller
//            the server was never reached, so it may try the next address and open its circuit breaker.
//            Texts: "connection refused", "connection timed out", "cannot connect: <uv error>",
//            "timed out waiting for the server", "session time limit reached",
//            "connection closed before reply[ (<uv error>)]", "protocol error: <detail>".
// Threading: loop thread only. Callbacks are noexcept trampolines; none runs after the object is
//            destroyed (destroying aborts the connection), and none runs from inside a call the
//            caller made (constructor, submit, finish): they always come from the loop. A callback
//            may destroy the object that called it.
//            The process must ignore SIGPIPE (event::ignore_sigpipe()).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nullq/reply.hpp"

struct uv_loop_s;

namespace nullq::client {

struct Timeouts {
  std::chrono::milliseconds connect{10'000};
  std::chrono::milliseconds io{60'000};         // re-armed on every read or write progress
  std::chrono::milliseconds session{3'600'000}; // hard cap for one connection
};

// What to deliver. Shared so that a message retried on another connection is not copied.
struct Message {
  std::uint64_t tag = 0;                 // caller's id, echoed in the outcome
  std::string body;                      // LF line endings
  std::string sender;
  std::vector<std::string> recipients;   // non-empty
};

struct Outcome {
  std::uint64_t tag = 0;
  std::vector<proto::Reply> replies;     // one per recipient, same order
  bool connect_failed = false;           // the server was never reached
  std::string server;                    // "127.0.0.1:209" for logs
  std::string warning;                   // printable; e.g. bytes the server sent after its answer
};

using DoneCallback = std::function<void(Outcome)>;

struct Endpoint {
  sockaddr_storage addr{};               // with port set
  socklen_t len = 0;
  std::string text;                      // "127.0.0.1:209" or "[::1]:209"
};

// One QMTP connection carrying many pipelined packages.
class QmtpConnection {
 public:
  // `on_idle` runs after a package is answered when the connection can take more (it is then
  // below max_in_flight, often at zero); `on_closed` runs once when the connection is gone (after
  // every on_done). max_in_flight 0 means 1.
  QmtpConnection(uv_loop_s* loop, Endpoint endpoint, Timeouts timeouts, unsigned max_in_flight,
                 std::function<void()> on_idle, std::function<void()> on_closed);
  ~QmtpConnection();
  QmtpConnection(const QmtpConnection&) = delete;
  QmtpConnection& operator=(const QmtpConnection&) = delete;

  // Connects on first use. Returns false (and does not take the message) when the connection is
  // closing, finishing, broken, or already has max_in_flight packages unanswered. The package is
  // encoded once and written while earlier answers are read (pipelining). A message the codec
  // refuses (no recipients) is taken and answered from the loop with permanent replies (none
  // for an empty list) without touching the wire.
  bool submit(std::shared_ptr<const Message> msg, DoneCallback on_done);
  std::size_t in_flight() const;
  bool usable() const;  // not closing, not finishing, not failed
  // Half-close after the last package (shutdown(SHUT_WR)), then close once every answer is in.
  // With nothing in flight it closes at once (on_closed still comes from the loop).
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One QMQP delivery: connect, send the request, read the single response, close. A response that
// arrives while the request is still being written (Postfix rejecting an oversize message, then
// closing) is used; write errors (EPIPE/ECONNRESET) only stop the writing.
class QmqpDelivery {
 public:
  QmqpDelivery(uv_loop_s* loop, Endpoint endpoint, Timeouts timeouts, std::shared_ptr<const Message> msg,
               DoneCallback on_done);
  ~QmqpDelivery();  // aborts if still running (on_done is then not called)
  QmqpDelivery(const QmqpDelivery&) = delete;
  QmqpDelivery& operator=(const QmqpDelivery&) = delete;
  bool finished() const;  // on_done has run (or is running)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nullq::client

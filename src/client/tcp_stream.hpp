// tcp_stream.hpp — the TCP plumbing shared by the QMTP and QMQP sessions (private to src/client).
//
// Purpose:   one outgoing TCP connection on the loop: connect with a timeout, an I/O timer re-armed
//            on progress, a session cap, chunked writes with back-pressure, reading all the time,
//            half-close, and a close after which no callback reaches the owner.
// Trust:     bytes read are passed on raw; the session codecs frame and cap them.
// Errors:    reported through Handler with libuv error codes; never thrown. Every failure, even one
//            libuv reports synchronously, reaches the handler from a loop callback, never from
//            inside a call the owner made.
// Threading: loop thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "nullq/client.hpp"

namespace nullq::client::detail {

class TcpStream {
 public:
  enum class Timeout { connect, io, session };

  class Handler {
   public:
    virtual ~Handler() = default;
    // status 0: connected. Else a uv error (UV_ETIMEDOUT when the connect timer fired).
    virtual void on_connect(int status) = 0;
    // `bytes` live in a buffer shared by every stream of the thread: valid during the call only.
    virtual void on_data(std::string_view bytes) = 0;
    virtual void on_eof() = 0;
    virtual void on_read_error(int status) = 0;
    // The first failed write (EPIPE, ECONNRESET...). Reading goes on; queued bytes are dropped.
    virtual void on_write_error(int status) = 0;
    // The I/O timer (while waiting) or the session cap fired. Connect timeouts go to on_connect.
    virtual void on_timeout(Timeout which) = 0;
    // A write completed (progress); a session that streams a large body feeds more here.
    virtual void on_written() {}
  };

  TcpStream(uv_loop_s* loop, Handler& handler, Timeouts timeouts);
  ~TcpStream();  // close(): no callback after this
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  // Starts connecting and the session cap. Call once.
  void connect(const Endpoint& ep);
  // Queues bytes; they are written in order once connected, in chunks, without copying. The
  // string stays alive until libuv is done with it.
  void write(std::shared_ptr<const std::string> bytes);
  // The same for bytes that `owner` keeps alive (a slice of a message body, written without a copy).
  void write(std::shared_ptr<const void> owner, std::string_view bytes);
  // Half-close (SHUT_WR) once every queued byte is written.
  void shutdown();
  // Whether an answer or write progress is expected: arms or stops the I/O timer.
  void set_waiting(bool waiting);
  // Changes the I/O timeout (SMTP has one per stage, RFC 5321 §4.5.3.2); a running timer restarts
  // with the new value.
  void set_io_timeout(std::chrono::milliseconds t);
  // Closes the socket and the timers; the handler is never called again. Idempotent.
  void close();

  bool connected() const;
  bool write_failed() const;
  // Bytes queued by write() and not yet completed by the kernel.
  std::size_t unwritten_bytes() const;

 private:
  struct Box;
  Box* box_;
};

}  // namespace nullq::client::detail

// TCP plumbing shared by the QMTP and QMQP sessions (see tcp_stream.hpp).
#include "tcp_stream.hpp"

#include <uv.h>

#include <algorithm>
#include <deque>
#include <utility>

#include "nullq/event.hpp"
#include "session_util.hpp"

namespace nullq::client::detail {

namespace {
// Writes are split so that a slow peer still shows progress to the I/O timer (libuv reports only
// whole writes) and so that the kernel, not libuv's queue, holds most unsent bytes.
constexpr std::size_t write_chunk = 256 * 1024;
constexpr std::size_t write_high_water = 256 * 1024;
constexpr std::size_t read_buf_size = 64 * 1024;
constexpr int handle_count = 5;  // tcp + four timers

// One read buffer for every stream on the (loop) thread: libuv fills it and calls on_read at once,
// and the handlers copy what they keep, so it is free again before the next read. A buffer per
// connection would make each QMQP delivery allocate and free 64 KiB.
thread_local char read_buf[read_buf_size];

std::uint64_t ms(std::chrono::milliseconds d) { return static_cast<std::uint64_t>(d.count() < 1 ? 1 : d.count()); }
}  // namespace

struct TcpStream::Box {
  uv_tcp_t tcp;
  uv_timer_t connect_timer;
  uv_timer_t io_timer;
  uv_timer_t session_timer;
  uv_timer_t defer_timer;  // delivers failures libuv reported synchronously, from the loop
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;

  Handler* handler = nullptr;  // null once closed
  Timeouts timeouts;
  int open_handles = 0;
  bool closed = false;
  bool connect_started = false;
  bool connect_over = false;  // connected, failed or timed out: later connect callbacks are ignored
  bool connected = false;
  bool write_failed = false;
  bool want_shutdown = false;
  bool shutdown_sent = false;
  bool waiting = false;
  int deferred_connect = 0;
  int deferred_write = 0;

  struct Pending {
    std::shared_ptr<const void> owner;  // keeps `bytes` valid
    std::string_view bytes;
    std::size_t offset = 0;
  };
  std::deque<Pending> pending;  // not yet handed to uv_write
  std::size_t unwritten = 0;    // pending + handed to libuv but not completed

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp); }

  void progress() {
    if (waiting && connected) uv_timer_start(&io_timer, on_io_timer, ms(timeouts.io), 0);
  }

  struct WriteReq {
    uv_write_t req;
    std::shared_ptr<const void> owner;  // keeps the buffer alive until the callback
    std::size_t len = 0;
    Box* box = nullptr;
  };

  void pump();
  void maybe_shutdown();
  void fail_write_later(int rc);

  static void on_io_timer(uv_timer_t* t) noexcept;
  static void on_defer(uv_timer_t* t) noexcept;
  static void on_connected(uv_connect_t* req, int status) noexcept;
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
};

void TcpStream::Box::on_io_timer(uv_timer_t* t) noexcept {
  auto* b = static_cast<Box*>(t->data);
  if (b->closed || b->handler == nullptr) return;
  event::call_guarded("client io timer", [b] { b->handler->on_timeout(Timeout::io); });
}

void TcpStream::Box::on_connected(uv_connect_t* req, int status) noexcept {
  auto* b = static_cast<Box*>(req->data);
  if (b->closed || status == UV_ECANCELED || b->connect_over) return;
  b->connect_over = true;
  uv_timer_stop(&b->connect_timer);
  if (status == 0) {
    b->connected = true;
    uv_tcp_nodelay(&b->tcp, 1);
    // Read from the start, also while writing: a server may answer (and close) before it has
    // read everything, and a pipelining client that does not read can deadlock with it.
    status = uv_read_start(
        b->stream(),
        [](uv_handle_t*, size_t, uv_buf_t* buf) noexcept { *buf = uv_buf_init(read_buf, sizeof read_buf); },
        on_read);
    if (status == 0) {
      if (b->waiting) uv_timer_start(&b->io_timer, on_io_timer, ms(b->timeouts.io), 0);
      b->pump();
      if (b->closed) return;
    }
  }
  event::call_guarded("client connect", [b, status] { b->handler->on_connect(status); });
}

void TcpStream::Box::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* b = static_cast<Box*>(s->data);
  if (b->closed || b->handler == nullptr || nread == 0) return;
  if (nread > 0) {
    b->progress();
    std::string_view bytes(buf->base, static_cast<std::size_t>(nread));
    event::call_guarded("client read", [b, bytes] { b->handler->on_data(bytes); });
  } else if (nread == UV_EOF) {
    event::call_guarded("client read", [b] { b->handler->on_eof(); });
  } else {
    int st = static_cast<int>(nread);
    uv_read_stop(s);
    event::call_guarded("client read", [b, st] { b->handler->on_read_error(st); });
  }
}

void TcpStream::Box::fail_write_later(int rc) {
  write_failed = true;
  for (auto& p : pending) unwritten -= p.bytes.size() - p.offset;
  pending.clear();
  deferred_write = rc;
  uv_timer_start(&defer_timer, on_defer, 0, 0);
}

void TcpStream::Box::on_defer(uv_timer_t* t) noexcept {
  auto* b = static_cast<Box*>(t->data);
  if (b->closed || b->handler == nullptr) return;
  if (b->deferred_connect != 0) {
    int rc = std::exchange(b->deferred_connect, 0);
    b->connect_over = true;
    uv_timer_stop(&b->connect_timer);
    event::call_guarded("client connect", [b, rc] { b->handler->on_connect(rc); });
    if (b->closed) return;
  }
  if (b->deferred_write != 0) {
    int rc = std::exchange(b->deferred_write, 0);
    event::call_guarded("client write", [b, rc] { b->handler->on_write_error(rc); });
  }
}

void TcpStream::Box::pump() {
  if (!connected || closed || write_failed) return;
  while (!pending.empty() && uv_stream_get_write_queue_size(stream()) < write_high_water) {
    Pending& p = pending.front();
    std::size_t n = std::min(write_chunk, p.bytes.size() - p.offset);
    auto* r = new WriteReq;
    r->owner = p.owner;
    r->len = n;
    r->box = this;
    r->req.data = r;
    // libuv takes a non-const pointer but only reads from it.
    uv_buf_t buf = uv_buf_init(const_cast<char*>(p.bytes.data() + p.offset), static_cast<unsigned>(n));
    int rc = uv_write(&r->req, stream(), &buf, 1, [](uv_write_t* req, int status) noexcept {
      auto* wr = static_cast<WriteReq*>(req->data);
      Box* b = wr->box;
      std::size_t len = wr->len;
      delete wr;
      if (b->closed || status == UV_ECANCELED) return;
      if (status < 0) {
        // libuv keeps reading after a failed write; the owner decides what the failure means.
        b->unwritten -= len;
        if (b->write_failed) return;
        b->write_failed = true;
        for (auto& q : b->pending) b->unwritten -= q.bytes.size() - q.offset;
        b->pending.clear();
        event::call_guarded("client write", [b, status] { b->handler->on_write_error(status); });
        return;
      }
      b->unwritten -= len;
      b->progress();
      b->pump();
      if (b->closed || b->handler == nullptr) return;
      event::call_guarded("client write", [b] { b->handler->on_written(); });
    });
    if (rc != 0) {
      delete r;
      fail_write_later(rc);
      return;
    }
    p.offset += n;
    if (p.offset == p.bytes.size()) pending.pop_front();
  }
  maybe_shutdown();
}

void TcpStream::Box::maybe_shutdown() {
  if (!want_shutdown || shutdown_sent || !connected || closed || write_failed || !pending.empty()) return;
  shutdown_sent = true;
  // libuv waits for its own write queue to drain before it calls shutdown(2).
  uv_shutdown(&shutdown_req, stream(), [](uv_shutdown_t*, int) noexcept {});
}

TcpStream::TcpStream(uv_loop_s* loop, Handler& handler, Timeouts timeouts) : box_(new Box) {
  Box* b = box_;
  b->handler = &handler;
  b->timeouts = timeouts;
  uv_tcp_init(loop, &b->tcp);
  uv_timer_init(loop, &b->connect_timer);
  uv_timer_init(loop, &b->io_timer);
  uv_timer_init(loop, &b->session_timer);
  uv_timer_init(loop, &b->defer_timer);
  b->open_handles = handle_count;
  b->tcp.data = b;
  b->connect_timer.data = b;
  b->io_timer.data = b;
  b->session_timer.data = b;
  b->defer_timer.data = b;
  b->connect_req.data = b;
  b->shutdown_req.data = b;
}

TcpStream::~TcpStream() { close(); }

void TcpStream::connect(const Endpoint& ep) {
  Box* b = box_;
  if (b == nullptr || b->connect_started) return;
  b->connect_started = true;
  uv_timer_start(&b->session_timer, [](uv_timer_t* t) noexcept {
    auto* bb = static_cast<Box*>(t->data);
    if (bb->closed || bb->handler == nullptr) return;
    event::call_guarded("client session timer", [bb] { bb->handler->on_timeout(Timeout::session); });
  }, ms(b->timeouts.session), 0);
  uv_timer_start(&b->connect_timer, [](uv_timer_t* t) noexcept {
    auto* bb = static_cast<Box*>(t->data);
    if (bb->closed || bb->handler == nullptr || bb->connect_over) return;
    bb->connect_over = true;
    event::call_guarded("client connect timer", [bb] { bb->handler->on_connect(UV_ETIMEDOUT); });
  }, ms(b->timeouts.connect), 0);
  int rc = 0;
  // A smart host's `source:`; a refusal is the host's failure, with a text of its own.
  if (ep.source_len > 0) rc = uv_tcp_bind(&b->tcp, reinterpret_cast<const sockaddr*>(&ep.source), 0);
  if (rc != 0) rc = bind_failure(rc);
  if (rc == 0)
    rc = uv_tcp_connect(&b->connect_req, &b->tcp, reinterpret_cast<const sockaddr*>(&ep.addr), Box::on_connected);
  if (rc != 0) {
    // E.g. ENETUNREACH or EAFNOSUPPORT come back at once: report them from the loop.
    b->deferred_connect = rc;
    uv_timer_start(&b->defer_timer, Box::on_defer, 0, 0);
  }
}

void TcpStream::write(std::shared_ptr<const std::string> bytes) {
  std::string_view view = *bytes;
  write(std::move(bytes), view);
}

void TcpStream::write(std::shared_ptr<const void> owner, std::string_view bytes) {
  Box* b = box_;
  if (b == nullptr || b->write_failed || b->want_shutdown || bytes.empty()) return;
  b->unwritten += bytes.size();
  b->pending.push_back(Box::Pending{std::move(owner), bytes, 0});
  b->pump();
}

void TcpStream::shutdown() {
  Box* b = box_;
  if (b == nullptr) return;
  b->want_shutdown = true;
  b->maybe_shutdown();
}

void TcpStream::set_waiting(bool waiting) {
  Box* b = box_;
  if (b == nullptr) return;
  b->waiting = waiting;
  if (!waiting) {
    uv_timer_stop(&b->io_timer);
  } else if (b->connected && !uv_is_active(reinterpret_cast<uv_handle_t*>(&b->io_timer))) {
    uv_timer_start(&b->io_timer, Box::on_io_timer, ms(b->timeouts.io), 0);
  }
}

void TcpStream::set_io_timeout(std::chrono::milliseconds t) {
  Box* b = box_;
  if (b == nullptr) return;
  b->timeouts.io = t;
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&b->io_timer))) {
    uv_timer_start(&b->io_timer, Box::on_io_timer, ms(t), 0);
  }
}

void TcpStream::close() {
  Box* b = std::exchange(box_, nullptr);
  if (b == nullptr) return;
  b->closed = true;
  b->handler = nullptr;
  b->pending.clear();
  auto done = [](uv_handle_t* h) {
    auto* bb = static_cast<Box*>(h->data);
    if (--bb->open_handles == 0) delete bb;
  };
  // The TCP handle first: its cancelled requests call back (and are ignored) before any close
  // callback can free the box.
  uv_close(reinterpret_cast<uv_handle_t*>(&b->tcp), done);
  uv_close(reinterpret_cast<uv_handle_t*>(&b->connect_timer), done);
  uv_close(reinterpret_cast<uv_handle_t*>(&b->io_timer), done);
  uv_close(reinterpret_cast<uv_handle_t*>(&b->session_timer), done);
  uv_close(reinterpret_cast<uv_handle_t*>(&b->defer_timer), done);
}

bool TcpStream::connected() const { return box_ != nullptr && box_->connected; }
bool TcpStream::write_failed() const { return box_ != nullptr && box_->write_failed; }
std::size_t TcpStream::unwritten_bytes() const { return box_ ? box_->unwritten : 0; }

}  // namespace nullq::client::detail

// One pipelined QMTP connection (see include/nullq/client.hpp, PROTOCOLS.md §3 and §5).
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <optional>
#include <utility>

#include "nullq/client.hpp"
#include "nullq/event.hpp"
#include "nullq/printable.hpp"
#include "nullq/qmtp.hpp"
#include "session_util.hpp"
#include "tcp_stream.hpp"

namespace nullq::client {

using namespace std::chrono_literals;

struct QmtpConnection::Impl final : detail::TcpStream::Handler {
  enum class State { idle, connecting, connected, closed };

  struct Package {
    std::uint64_t id = 0;  // ours, in write order; the caller's tag may repeat
    std::shared_ptr<const Message> msg;
    DoneCallback done;
    std::vector<std::optional<proto::Reply>> replies;
  };
  using Delivery = std::pair<DoneCallback, Outcome>;

  Impl(uv_loop_s* loop, Endpoint ep, Timeouts t, unsigned max, std::function<void()> idle,
       std::function<void()> closed)
      : endpoint(std::move(ep)),
        max_in_flight(max == 0 ? 1 : max),
        on_idle(std::move(idle)),
        on_closed(std::move(closed)),
        stream(loop, *this, t),
        deferred(loop) {}

  Endpoint endpoint;
  unsigned max_in_flight;
  std::function<void()> on_idle;
  std::function<void()> on_closed;
  detail::TcpStream stream;
  detail::Deferred deferred;  // callbacks that must not run inside the caller's submit()/finish()
  std::shared_ptr<int> life = std::make_shared<int>(0);  // expires when the Impl is destroyed

  State state = State::idle;
  bool finishing = false;
  bool eof = false;
  std::deque<Package> in_flight;
  std::uint64_t next_id = 1;
  proto::qmtp::ResponseReader reader;

  bool usable() const { return state != State::closed && !finishing && !eof && !stream.write_failed(); }

  void post(std::function<void()> fn) { deferred.post(std::move(fn)); }

  Outcome outcome_for(Package& p, const std::string& why, bool connect_failed) const {
    Outcome o;
    o.tag = p.msg->tag;
    o.server = endpoint.text;
    o.connect_failed = connect_failed;
    o.replies.reserve(p.replies.size());
    for (auto& r : p.replies) o.replies.push_back(r ? std::move(*r) : detail::temporary(why));
    return o;
  }

  // Runs the callbacks; false when one of them destroyed us (then touch nothing).
  bool deliver(std::vector<Delivery>& list) {
    std::weak_ptr<int> token = life;
    for (auto& [cb, o] : list) {
      if (cb) cb(std::move(o));
      if (token.expired()) return false;
    }
    return true;
  }

  void close_and_report(std::vector<Delivery> list) {
    state = State::closed;
    stream.close();
    if (!deliver(list)) return;
    auto cb = std::move(on_closed);
    on_closed = nullptr;
    if (cb) cb();
  }

  // Ends the connection: every unanswered recipient gets a temporary reply saying `why`.
  void fail_all(const std::string& why, bool connect_failed, std::vector<Delivery> list = {}) {
    if (state == State::closed) return;
    for (auto& p : in_flight) list.emplace_back(std::move(p.done), outcome_for(p, why, connect_failed));
    in_flight.clear();
    close_and_report(std::move(list));
  }

  bool submit(std::shared_ptr<const Message> msg, DoneCallback done) {
    if (!usable() || in_flight.size() >= max_in_flight) return false;
    auto enc = proto::qmtp::frame_package(msg->body, msg->sender, msg->recipients);
    if (!enc) {
      // Nothing a server could answer (e.g. no recipients): refuse it from the loop, for good.
      Outcome o;
      o.tag = msg->tag;
      o.server = endpoint.text;
      o.replies.assign(msg->recipients.size(),
                       proto::Reply{proto::Verdict::permanent, "cannot send: " + enc.error().message()});
      post([cb = std::move(done), o = std::move(o)]() mutable { cb(std::move(o)); });
      return true;
    }
    Package p;
    p.id = next_id++;
    p.replies.resize(msg->recipients.size());
    p.msg = msg;
    p.done = std::move(done);
    reader.expect(p.id, p.replies.size());
    in_flight.push_back(std::move(p));
    // The body is written from the message itself, which the write keeps alive: no copy.
    proto::qmtp::Framed& f = enc.value();
    stream.write(std::make_shared<const std::string>(std::move(f.head)));
    if (f.as_is) {
      std::string_view body = msg->body;
      stream.write(std::move(msg), body);
      stream.write(std::make_shared<const std::string>(std::move(f.tail)));
    }
    stream.set_waiting(true);
    if (state == State::idle) {
      state = State::connecting;
      stream.connect(endpoint);
    }
    return true;
  }

  void finish() {
    if (state == State::closed || finishing) return;
    finishing = true;
    if (in_flight.empty()) {
      // Nothing to wait for: close now, report from the loop.
      state = State::closed;
      stream.close();
      post([this] {
        auto cb = std::move(on_closed);
        on_closed = nullptr;
        if (cb) cb();
      });
      return;
    }
    // Half-close once the last package is out: qmail-qmtpd flushes its answers only when it reads
    // again, so it needs to see our EOF. We close when every answer is in.
    stream.shutdown();
  }

  // ---- TcpStream::Handler ----
  void on_connect(int status) override {
    if (status != 0) {
      fail_all(detail::connect_failure_text(status, endpoint), true);
      return;
    }
    state = State::connected;
  }

  void on_data(std::string_view bytes) override {
    std::vector<proto::qmtp::Answer> answers;
    Status st = reader.feed(bytes, answers);
    std::vector<Delivery> list;
    for (auto& a : answers) {
      auto it = in_flight.begin();
      while (it != in_flight.end() && it->id != a.package) ++it;
      if (it == in_flight.end() || a.recipient >= it->replies.size()) std::abort();  // reader bug
      it->replies[a.recipient] = std::move(a.reply);
      if (a.package_complete) {
        list.emplace_back(std::move(it->done), outcome_for(*it, detail::text_closed, false));
        in_flight.erase(it);
      }
    }
    if (!st.ok()) {
      // Answers complete before the bad bytes stand, however the reads were split; when nothing
      // was left waiting, the bytes came after the last answer and only earn a warning.
      if (in_flight.empty()) {
        for (auto& d : list) d.second.warning = printable(st.error().message(), 200);
      }
      fail_all("protocol error: " + st.error().message(), false, std::move(list));
      return;
    }
    if (list.empty()) return;
    if (in_flight.empty()) stream.set_waiting(false);
    if (finishing && in_flight.empty()) {
      close_and_report(std::move(list));
      return;
    }
    if (!deliver(list)) return;
    if (state != State::closed && usable() && on_idle) {
      auto cb = on_idle;  // it may destroy us
      cb();
    }
  }

  void on_eof() override {
    eof = true;
    fail_all(detail::text_closed, false);  // with nothing in flight this is a plain close
  }

  void on_read_error(int status) override { fail_all(detail::read_failure_text(status), false); }

  void on_write_error(int) override {
    // The server closed or reset while we wrote. Answers it sent first may still be in our
    // receive buffer: keep reading until EOF, an error or the I/O timer.
    if (in_flight.empty()) fail_all(detail::text_closed, false);
  }

  void on_timeout(detail::TcpStream::Timeout which) override {
    fail_all(which == detail::TcpStream::Timeout::session ? detail::text_session_timeout : detail::text_io_timeout,
             false);
  }
};

QmtpConnection::QmtpConnection(uv_loop_s* loop, Endpoint endpoint, Timeouts timeouts, unsigned max_in_flight,
                               std::function<void()> on_idle, std::function<void()> on_closed)
    : impl_(std::make_unique<Impl>(loop, std::move(endpoint), timeouts, max_in_flight, std::move(on_idle),
                                   std::move(on_closed))) {}

QmtpConnection::~QmtpConnection() = default;

bool QmtpConnection::submit(std::shared_ptr<const Message> msg, DoneCallback on_done) {
  return impl_->submit(std::move(msg), std::move(on_done));
}

std::size_t QmtpConnection::in_flight() const { return impl_->in_flight.size(); }

bool QmtpConnection::usable() const { return impl_->usable(); }

void QmtpConnection::finish() { impl_->finish(); }

}  // namespace nullq::client

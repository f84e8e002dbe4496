// One QMQP delivery: connect, send the request, read the single response, close
// (see include/nullq/client.hpp, PROTOCOLS.md §2, §5 and §8).
#include <utility>

#include "nullq/client.hpp"
#include "nullq/event.hpp"
#include "nullq/printable.hpp"
#include "nullq/qmqp.hpp"
#include "session_util.hpp"
#include "tcp_stream.hpp"

namespace nullq::client {

using namespace std::chrono_literals;

struct QmqpDelivery::Impl final : detail::TcpStream::Handler {
  Impl(uv_loop_s* loop, Endpoint ep, Timeouts t, std::shared_ptr<const Message> m, DoneCallback done)
      : endpoint(std::move(ep)),
        msg(std::move(m)),
        on_done(std::move(done)),
        stream(loop, *this, t),
        post_timer(loop, [this] { complete(std::move(early_), false); }) {}

  Endpoint endpoint;
  std::shared_ptr<const Message> msg;
  DoneCallback on_done;
  detail::TcpStream stream;
  event::Timer post_timer;
  proto::Reply early_;  // a result decided before the loop ran (the request cannot be encoded)
  proto::qmqp::ResponseReader reader;
  bool finished = false;

  void start() {
    auto enc = proto::qmqp::frame_request(msg->body, msg->sender, msg->recipients);
    if (!enc) {
      early_ = proto::Reply{proto::Verdict::permanent, "cannot send: " + enc.error().message()};
      post_timer.start(0ms);
      return;
    }
    // The framing around the body, and the body from the message itself (no copy); each buffer
    // lives with the write requests until libuv is done with it.
    stream.write(std::make_shared<const std::string>(std::move(enc.value().head)));
    stream.write(msg, msg->body);
    stream.write(std::make_shared<const std::string>(std::move(enc.value().tail)));
    stream.set_waiting(true);
    stream.connect(endpoint);
  }

  // The one on_done. Runs last: the callback may destroy us.
  void complete(proto::Reply reply, bool connect_failed) {
    if (finished) return;
    finished = true;
    stream.close();
    Outcome o;
    o.tag = msg->tag;
    o.server = endpoint.text;
    o.connect_failed = connect_failed;
    o.replies.assign(msg->recipients.size(), reply);
    if (reader.state() == proto::qmqp::ResponseReader::State::done && reader.trailing() > 0) {
      // The verdict stands however the bytes were split into reads; the extra bytes are reported.
      o.warning = "qmqp: " + std::to_string(reader.trailing()) + " byte(s) after the response: " +
                  printable(reader.trailing_sample(), 80);
    }
    auto cb = std::move(on_done);
    on_done = nullptr;
    if (cb) cb(std::move(o));
  }

  // ---- TcpStream::Handler ----
  void on_connect(int status) override {
    if (status != 0) complete(detail::temporary(detail::connect_failure_text(status, endpoint)), true);
  }

  void on_data(std::string_view bytes) override {
    // The reply is used as soon as it is complete, even while we are still writing: Postfix
    // answers an oversize request early and closes.
    switch (reader.feed(bytes)) {
      case proto::qmqp::ResponseReader::State::done:
        complete(reader.reply(), false);
        break;
      case proto::qmqp::ResponseReader::State::failed:
        complete(detail::temporary("protocol error: " + reader.error().message()), false);
        break;
      case proto::qmqp::ResponseReader::State::need_more:
        break;
    }
  }

  void on_eof() override {
    if (reader.finish() == proto::qmqp::ResponseReader::State::done) {
      complete(reader.reply(), false);
    } else {
      complete(detail::temporary(detail::text_closed), false);
    }
  }

  void on_read_error(int status) override { complete(detail::temporary(detail::read_failure_text(status)), false); }

  // EPIPE/ECONNRESET while writing: the server may have answered and closed; keep reading.
  void on_write_error(int) override {}

  void on_timeout(detail::TcpStream::Timeout which) override {
    complete(detail::temporary(which == detail::TcpStream::Timeout::session ? detail::text_session_timeout
                                                                             : detail::text_io_timeout),
             false);
  }
};

QmqpDelivery::QmqpDelivery(uv_loop_s* loop, Endpoint endpoint, Timeouts timeouts, std::shared_ptr<const Message> msg,
                           DoneCallback on_done)
    : impl_(std::make_unique<Impl>(loop, std::move(endpoint), timeouts, std::move(msg), std::move(on_done))) {
  impl_->start();
}

QmqpDelivery::~QmqpDelivery() = default;

bool QmqpDelivery::finished() const { return impl_->finished; }

}  // namespace nullq::client

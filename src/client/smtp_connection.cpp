// One ESMTP connection: banner, EHLO/HELO, STARTTLS, AUTH, then messages one after another with
// RSET between them, pipelined when offered (see include/nullq/client.hpp, PROTOCOLS.md §5a).
//
// Every command sent waits in `expect` for its reply, in order, so pipelined groups and
// lock-step servers are handled by the same code. TLS is a filter: bytes from the socket go
// through it before the reply parser, and everything written goes through it.
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <optional>
#include <utility>

#include "nullq/client.hpp"
#include "nullq/event.hpp"
#include "nullq/long_lines.hpp"
#include "nullq/smtp.hpp"
#include "session_util.hpp"
#include "smtp_auth.hpp"
#include "smtp_dsn.hpp"
#include "tcp_stream.hpp"

namespace nullq::client {

using namespace std::chrono_literals;
namespace smtp = proto::smtp;

namespace {
constexpr std::size_t body_chunk = 64 * 1024;       // encoded per step while streaming DATA
constexpr std::size_t body_high_water = 256 * 1024;  // stop feeding while this much is unwritten
}  // namespace

struct SmtpConnection::Impl final : detail::TcpStream::Handler {
  enum class Step { banner, ehlo, helo, starttls, auth, rset, mail, rcpt, data, dot, quit };
  enum class State { idle, setup, ready, closed };

  struct Expect {
    Step step;
    std::size_t index = 0;  // recipient index for rcpt
  };

  struct Txn {
    std::shared_ptr<const Message> msg;
    DoneCallback done;
    std::vector<std::optional<proto::Reply>> replies;
    std::vector<std::size_t> accepted;
    bool mail_ok = false;
    bool data_sent = false;   // DATA was written (pipelined or not)
    bool on_wire = false;     // MAIL was sent: the next message needs RSET
    std::size_t body_pos = 0;
    bool body_done = false;
    bool streaming = false;
    smtp::BodyEncoder encoder;
    // Lines over 998 bytes: the message as it goes over SMTP (see nullq/long_lines.hpp); empty
    // `prepared_note` = the queued bytes go as they are (the common case: one scan, no copy).
    std::string prepared;
    std::string prepared_note;
    bool prepared_checked = false;
    const std::string& body() const { return prepared_note.empty() ? msg->body : prepared; }
    std::deque<std::pair<std::string, Expect>> outbox;  // not yet written (lock-step servers)
  };
  using Delivery = std::pair<DoneCallback, Outcome>;

  Impl(uv_loop_s* loop, Endpoint ep, Timeouts t, SmtpOptions o, std::function<void()> idle,
       std::function<void()> closed)
      : endpoint(std::move(ep)),
        opts(std::move(o)),
        on_idle(std::move(idle)),
        on_closed(std::move(closed)),
        stream(loop, *this, t),
        deferred(loop) {}

  Endpoint endpoint;
  SmtpOptions opts;
  std::function<void()> on_idle;
  std::function<void()> on_closed;
  detail::TcpStream stream;
  detail::Deferred deferred;  // callbacks that must not run inside the caller's submit()/finish()
  std::shared_ptr<int> life = std::make_shared<int>(0);

  State state = State::idle;
  bool finishing = false;
  bool quitting = false;
  bool need_rset = false;
  bool authed = false;
  bool banner_seen = false;
  std::string banner_text;
  smtp::Capabilities caps;
  smtp::ReplyParser parser;
  std::unique_ptr<SecureFilter> filter;
  std::unique_ptr<detail::SmtpAuth> auth;  // once AUTH has begun
  std::deque<Expect> expect;
  std::optional<Txn> txn;
  std::string plain;  // decrypted bytes, reused
  std::string last_error;
  bool tls_failed = false;  // TLS was required and could not be started

  bool usable() const { return state != State::closed && !finishing && !stream.write_failed(); }
  bool busy() const { return txn.has_value(); }

  void post(std::function<void()> fn) { deferred.post(std::move(fn)); }

  // ---- writing ----
  void put(const std::string& bytes) {
    if (state == State::closed) return;
    if (filter) {
      Status st = filter->send(bytes);
      flush_filter();
      if (!st.ok()) {
        fail_all(st.error().message(), false);
        return;
      }
      return;
    }
    stream.write(std::make_shared<const std::string>(bytes));
  }

  void flush_filter() {
    if (!filter) return;
    std::string out = filter->take_output();
    if (!out.empty()) stream.write(std::make_shared<const std::string>(std::move(out)));
  }

  void command(const std::string& line, Expect e, std::chrono::milliseconds timeout) {
    expect.push_back(e);
    stream.set_io_timeout(timeout);
    stream.set_waiting(true);
    put(line);
  }

  // ---- ending ----
  Outcome outcome_for(Txn& t, const std::string& why, bool connect_failed, bool setup_failed = false) const {
    Outcome o;
    o.tag = t.msg->tag;
    o.server = endpoint.text;
    if (t.on_wire) o.notice = t.prepared_note;
    o.connect_failed = connect_failed;
    o.auth_token_rejected = auth && auth->token_rejected();
    o.token_unavailable = auth && auth->token_unavailable();
    o.setup_failed = setup_failed && !connect_failed && !t.on_wire;
    if (o.setup_failed) {  // where the session stopped, for metrics and nullq status
      o.tls_failed = tls_failed || (filter && !filter->established());
      o.auth_failed = !o.tls_failed && auth && !authed;
    }
    o.replies.reserve(t.replies.size());
    for (auto& r : t.replies) o.replies.push_back(r ? std::move(*r) : detail::temporary(why));
    return o;
  }

  void closed_now() {
    auto cb = std::move(on_closed);
    on_closed = nullptr;
    if (cb) cb();
  }

  // Ends the connection; an unfinished message gets `why` for every unanswered recipient.
  void fail_all(const std::string& why, bool connect_failed) {
    if (state == State::closed) return;
    // Before the session was ready no MAIL went out: the failure is the host's, not the mail's.
    const bool in_setup = state == State::setup;
    last_error = why;
    state = State::closed;
    stream.close();
    std::weak_ptr<int> token = life;
    if (txn) {
      Delivery d{std::move(txn->done), outcome_for(*txn, why, connect_failed, in_setup)};
      txn.reset();
      if (d.first) d.first(std::move(d.second));
      if (token.expired()) return;
    }
    closed_now();
  }

  // ---- the caller's side ----
  bool submit(std::shared_ptr<const Message> msg, DoneCallback done) {
    if (!usable() || txn) return false;
    Txn t;
    t.replies.resize(msg->recipients.size());
    t.msg = std::move(msg);
    t.done = std::move(done);
    txn = std::move(t);
    if (state == State::idle) {
      state = State::setup;
      stream.set_io_timeout(opts.timeouts.banner);
      stream.set_waiting(true);
      expect.push_back(Expect{Step::banner});
      stream.connect(endpoint);
    } else if (state == State::ready) {
      // From the loop, never inside the caller's submit(): a message refused before the wire
      // would otherwise call back synchronously.
      post([this] { start_message(); });
    }
    return true;
  }

  void finish() {
    if (state == State::closed || finishing) return;
    finishing = true;
    if (txn) return;  // QUIT after this message
    if (state == State::ready) {
      quit();
      return;
    }
    state = State::closed;
    stream.close();
    post([this] { closed_now(); });
  }

  void probe() {
    if (state != State::idle) return;
    finishing = true;
    state = State::setup;
    stream.set_io_timeout(opts.timeouts.banner);
    stream.set_waiting(true);
    expect.push_back(Expect{Step::banner});
    stream.connect(endpoint);
  }

  void quit() {
    quitting = true;
    command("QUIT\r\n", Expect{Step::quit}, opts.timeouts.command);
  }

  // ---- setup: banner, EHLO, STARTTLS, AUTH ----
  bool encrypted() const { return filter != nullptr; }

  void send_ehlo() { command(smtp::ehlo(opts.helo_name), Expect{Step::ehlo}, opts.timeouts.command); }

  bool start_tls() {
    if (!opts.tls) {
      tls_failed = true;
      fail_all("TLS is not available in this build", false);
      return false;
    }
    auto f = opts.tls(opts.host);
    if (!f.ok()) {
      tls_failed = true;
      fail_all(f.error().message(), false);
      return false;
    }
    filter = std::move(f).value();
    flush_filter();  // the ClientHello
    return true;
  }

  void after_ehlo() {
    if (!encrypted() && opts.starttls != StartTls::off) {
      if (caps.starttls && opts.tls) {
        command("STARTTLS\r\n", Expect{Step::starttls}, opts.timeouts.command);
        return;
      }
      if (opts.starttls == StartTls::required) {
        tls_failed = true;
        fail_all(caps.starttls ? "STARTTLS is required but TLS is not available in this build"
                               : "STARTTLS is required but the server does not offer it",
                 false);
        return;
      }
    }
    if (!opts.auth_user.empty() && !authed) {
      start_auth();
      return;
    }
    become_ready();
  }

  void start_auth() {
    if (!auth) {
      detail::SmtpAuth::Hooks hooks;
      // A token may come after the connection failed: then there is nothing left to do.
      hooks.send = [this](const std::string& line) {
        if (state != State::closed) command(line, Expect{Step::auth}, opts.timeouts.command);
      };
      hooks.succeeded = [this] {
        if (state == State::closed) return;
        authed = true;
        become_ready();
      };
      hooks.failed = [this](const std::string& why) { fail_all(why, false); };
      std::string host = opts.host.empty() ? detail::address_of(endpoint) : opts.host;
      auth = std::make_unique<detail::SmtpAuth>(opts, std::move(host), detail::port_of(endpoint), std::move(hooks));
    }
    // Waiting for a token counts against the command timeout, as a reply would.
    stream.set_io_timeout(opts.timeouts.command);
    stream.set_waiting(true);
    auth->start(caps, encrypted());
  }

  void become_ready() {
    state = State::ready;
    if (txn) {
      start_message();
    } else if (finishing) {
      quit();
    } else {
      stream.set_waiting(false);
    }
  }

  // ---- one message ----
  // Recipients the server cannot take are answered here, before the wire (PROTOCOLS.md §5a).
  void start_message() {
    if (!txn || state != State::ready) return;
    Txn& t = *txn;
    const Message& m = *t.msg;
    const bool utf8_sender = smtp::needs_smtputf8(m.sender);
    bool utf8 = utf8_sender;
    for (const auto& r : m.recipients) utf8 = utf8 || smtp::needs_smtputf8(r);
    if (!t.prepared_checked) {
      // Done here, once per message and connection, so that SIZE= counts the bytes really sent.
      t.prepared_checked = true;
      if (auto p = smtp::prepare_for_smtp(m.body)) {
        t.prepared = std::move(p->bytes);
        t.prepared_note = std::move(p->done);
      }
    }
    const std::string& body = t.body();
    const std::uint64_t size = smtp::wire_size(body);
    auto all = [&](proto::Verdict v, const std::string& text) {
      for (auto& r : t.replies)
        if (!r) r = proto::Reply{v, text};
    };
    if (caps.size && caps.size_limit && size > caps.size_limit) {
      all(proto::Verdict::permanent, "message size " + std::to_string(size) + " exceeds the server's limit of " +
                                         std::to_string(caps.size_limit) + " bytes (SIZE)");
    } else if (utf8_sender && !caps.smtputf8) {
      all(proto::Verdict::permanent, "the sender address needs SMTPUTF8, which the server does not offer");
    }
    smtp::MailParams p;
    if (caps.size) p.size = size;
    p.eightbit = caps.eightbitmime && smtp::is_8bit(body);
    p.smtputf8 = utf8 && caps.smtputf8;
    if (caps.dsn) p.dsn = dsn_mail_params(m);
    auto mail = smtp::mail_from(m.sender, p);
    if (!mail.ok()) all(proto::Verdict::permanent, mail.error().message());
    std::size_t to_send = 0;
    if (need_rset) t.outbox.emplace_back("RSET\r\n", Expect{Step::rset});
    if (mail.ok()) t.outbox.emplace_back(*mail, Expect{Step::mail});
    for (std::size_t i = 0; i < m.recipients.size(); ++i) {
      if (t.replies[i]) continue;
      if (!caps.smtputf8 && smtp::needs_smtputf8(m.recipients[i])) {
        t.replies[i] = proto::Reply{proto::Verdict::permanent,
                                    "the address needs SMTPUTF8, which the server does not offer"};
        continue;
      }
      auto rc = smtp::rcpt_to(m.recipients[i], caps.dsn ? dsn_rcpt_params(m, i) : std::string());
      if (!rc.ok()) {
        t.replies[i] = proto::Reply{proto::Verdict::permanent, rc.error().message()};
        continue;
      }
      t.outbox.emplace_back(*rc, Expect{Step::rcpt, i});
      ++to_send;
    }
    if (to_send == 0) {
      // Nothing for the server: answer now; an RSET queued above is simply not needed yet.
      t.outbox.clear();
      message_done();
      return;
    }
    need_rset = false;
    t.on_wire = true;
    t.outbox.emplace_back("DATA\r\n", Expect{Step::data});
    send_outbox();
  }

  std::chrono::milliseconds timeout_for(Step s) const {
    switch (s) {
      case Step::data: return opts.timeouts.data;
      case Step::dot: return opts.timeouts.dot;
      default: return opts.timeouts.command;
    }
  }

  // PIPELINING: the whole group (RSET, MAIL, RCPTs, DATA) in one write. Otherwise one command,
  // then its reply.
  void send_outbox() {
    if (!txn) return;
    Txn& t = *txn;
    if (t.outbox.empty()) return;
    if (caps.pipelining) {
      std::string group;
      Step last = Step::mail;
      while (!t.outbox.empty()) {
        group += t.outbox.front().first;
        expect.push_back(t.outbox.front().second);
        last = t.outbox.front().second.step;
        if (last == Step::data) t.data_sent = true;
        t.outbox.pop_front();
      }
      stream.set_io_timeout(timeout_for(last));
      stream.set_waiting(true);
      put(group);
      return;
    }
    if (!expect.empty()) return;
    auto [line, e] = std::move(t.outbox.front());
    t.outbox.pop_front();
    if (e.step == Step::data) t.data_sent = true;
    command(line, e, timeout_for(e.step));
  }

  void stream_body() {
    if (!txn || !txn->streaming || state == State::closed) return;
    Txn& t = *txn;
    const std::string& body = t.body();
    while (!t.body_done && stream.unwritten_bytes() < body_high_water) {
      std::string piece;
      std::size_t n = std::min(body_chunk, body.size() - t.body_pos);
      t.encoder.feed(std::string_view(body).substr(t.body_pos, n), piece);
      t.body_pos += n;
      if (t.body_pos == body.size()) {
        t.encoder.finish(piece);
        t.body_done = true;
        t.streaming = false;
        expect.push_back(Expect{Step::dot});
        stream.set_io_timeout(opts.timeouts.dot);
      }
      put(piece);
      if (state == State::closed) return;
    }
  }

  void message_done() {
    if (!txn) return;
    Txn t = std::move(*txn);
    txn.reset();
    need_rset = need_rset || t.on_wire;
    Outcome o = outcome_for(t, "no reply", false);
    std::weak_ptr<int> token = life;
    if (t.done) t.done(std::move(o));
    if (token.expired() || state == State::closed) return;
    if (finishing) {
      quit();
      return;
    }
    stream.set_waiting(false);
    if (on_idle && usable() && !txn) {
      auto cb = on_idle;
      cb();
    }
  }

  // ---- replies ----
  void on_reply(const smtp::Reply& r) {
    if (expect.empty()) {
      fail_all("protocol error: unexpected reply " + r.text(), false);
      return;
    }
    Expect e = expect.front();
    expect.pop_front();
    const int cls = r.code / 100;
    switch (e.step) {
      case Step::banner:
        banner_seen = true;
        banner_text = r.text();
        if (cls != 2) {
          fail_all("the server refused the session: " + r.text(), true);
          return;
        }
        send_ehlo();
        return;
      case Step::ehlo:
        if (cls == 2) {
          caps = smtp::parse_ehlo(r);
          after_ehlo();
        } else if (cls == 5) {
          command(smtp::helo(opts.helo_name), Expect{Step::helo}, opts.timeouts.command);
        } else {
          fail_all("EHLO refused: " + r.text(), false);
        }
        return;
      case Step::helo:
        if (cls != 2) {
          fail_all("HELO refused: " + r.text(), false);
          return;
        }
        caps = smtp::Capabilities{};
        after_ehlo();
        return;
      case Step::starttls:
        if (r.code != 220) {
          if (opts.starttls == StartTls::required) {
            tls_failed = true;
            fail_all("STARTTLS is required but the server refused it: " + r.text(), false);
            return;
          }
          caps.starttls = false;  // go on in the clear (opportunistic)
          after_ehlo();
          return;
        }
        // Bytes after the 220 were sent before the handshake and must not be trusted
        // (command injection, RFC 3207 §5 / CVE-2011-0411).
        if (parser.buffered() != 0 || !expect.empty()) {
          fail_all("protocol error: data after the STARTTLS reply", false);
          return;
        }
        if (!start_tls()) return;
        caps = smtp::Capabilities{};  // forget everything learned before (RFC 3207)
        send_ehlo();
        return;
      case Step::auth:
        if (auth) auth->on_reply(r);
        return;
      case Step::quit:
        state = State::closed;
        stream.close();
        closed_now();
        return;
      default:
        break;
    }
    if (!txn) {
      fail_all("protocol error: unexpected reply " + r.text(), false);
      return;
    }
    Txn& t = *txn;
    proto::Reply mapped{r.verdict(), r.text()};
    switch (e.step) {
      case Step::rset:
        if (cls != 2) {
          fail_all("RSET refused: " + r.text(), false);
          return;
        }
        break;
      case Step::mail:
        if (cls == 2) {
          t.mail_ok = true;
        } else {
          for (auto& x : t.replies)
            if (!x) x = mapped;
          t.outbox.clear();
        }
        break;
      case Step::rcpt:
        if (!t.mail_ok) break;  // the MAIL reply already answers every recipient
        if (cls == 2) {
          t.accepted.push_back(e.index);
        } else {
          t.replies[e.index] = mapped;
        }
        if (!caps.pipelining && t.outbox.size() == 1 && t.accepted.empty() && !expect.size()) {
          // Only DATA left and nobody accepted: do not send it (RFC 5321 §3.3).
          t.outbox.clear();
        }
        break;
      case Step::data:
        if (r.code == 354) {
          if (t.accepted.empty() || !t.mail_ok) {
            // A pipelining server that said 354 with no valid recipient: end the empty DATA.
            put(".\r\n");
            expect.push_front(Expect{Step::dot});
            t.accepted.clear();
            return;
          }
          t.streaming = true;
          stream.set_io_timeout(opts.timeouts.body);
          stream_body();
          return;
        }
        if (t.mail_ok) {
          proto::Reply why = cls == 5 ? mapped : proto::Reply{proto::Verdict::temporary, r.text()};
          for (std::size_t i : t.accepted) t.replies[i] = why;
        }
        message_done();
        return;
      case Step::dot:
        for (std::size_t i : t.accepted) t.replies[i] = cls == 2 || cls == 5 ? mapped : proto::Reply{proto::Verdict::temporary, r.text()};
        message_done();
        return;
      default:
        break;
    }
    // Lock-step: the next command of the transaction. With nothing left (MAIL refused, or
    // every RCPT refused) the transaction ends here.
    if (!t.outbox.empty()) {
      send_outbox();
      return;
    }
    if (expect.empty()) message_done();
  }

  // ---- TcpStream::Handler ----
  void on_connect(int status) override {
    if (status != 0) {
      fail_all(detail::connect_failure_text(status, endpoint), true);
      return;
    }
    if (opts.implicit_tls) start_tls();
  }

  void on_data(std::string_view bytes) override {
    if (state == State::closed) return;
    std::string_view in = bytes;
    if (filter) {
      plain.clear();
      Status st = filter->receive(bytes, plain);
      flush_filter();
      if (!st.ok()) {
        fail_all(st.error().message(), false);
        return;
      }
      in = plain;
    }
    std::vector<smtp::Reply> replies;
    Status st = parser.feed(in, replies);
    std::weak_ptr<int> token = life;
    for (const auto& r : replies) {
      on_reply(r);
      if (token.expired() || state == State::closed) return;
    }
    if (!st.ok()) fail_all("protocol error: " + st.error().message(), false);
  }

  void on_written() override {
    if (txn && txn->streaming) stream_body();
  }

  void on_eof() override {
    if (quitting) {
      state = State::closed;
      stream.close();
      closed_now();
      return;
    }
    fail_all(detail::text_closed, false);
  }

  void on_read_error(int status) override { fail_all(detail::read_failure_text(status), false); }

  void on_write_error(int) override {
    // Replies the server sent before closing may still be in the receive buffer: keep reading.
    if (!txn && expect.empty()) fail_all(detail::text_closed, false);
  }

  void on_timeout(detail::TcpStream::Timeout which) override {
    if (quitting && !txn) {
      state = State::closed;
      stream.close();
      closed_now();
      return;
    }
    if (which == detail::TcpStream::Timeout::io && auth && auth->waiting_for_token()) {
      fail_all("timed out waiting for an OAuth access token", false);
      return;
    }
    fail_all(which == detail::TcpStream::Timeout::session ? detail::text_session_timeout : detail::text_io_timeout,
             false);
  }
};

SmtpConnection::SmtpConnection(uv_loop_s* loop, Endpoint endpoint, Timeouts timeouts, SmtpOptions options,
                               std::function<void()> on_idle, std::function<void()> on_closed)
    : impl_(std::make_unique<Impl>(loop, std::move(endpoint), timeouts, std::move(options), std::move(on_idle),
                                   std::move(on_closed))) {}

SmtpConnection::~SmtpConnection() = default;

bool SmtpConnection::submit(std::shared_ptr<const Message> msg, DoneCallback on_done) {
  return impl_->submit(std::move(msg), std::move(on_done));
}
bool SmtpConnection::busy() const { return impl_->busy(); }
bool SmtpConnection::usable() const { return impl_->usable(); }
void SmtpConnection::finish() { impl_->finish(); }
std::string SmtpConnection::banner() const { return impl_->banner_text; }
std::vector<std::string> SmtpConnection::extensions() const { return impl_->caps.keywords; }
void SmtpConnection::probe() { impl_->probe(); }
std::string SmtpConnection::error() const { return impl_->last_error; }
bool SmtpConnection::authenticated() const { return impl_->authed; }
std::string SmtpConnection::tls_description() const { return impl_->filter ? impl_->filter->describe() : std::string(); }

}  // namespace nullq::client

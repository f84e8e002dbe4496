#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

#include "nullq/netstring.hpp"
#include "nullq/qmqp.hpp"
#include "nullq/qmtp.hpp"
#include "nullq/testcerts.hpp"
#include "nullq/testhost.hpp"
#include "allowance.hpp"
#include "smtp_session.hpp"

namespace nullq::testhost {

namespace {

constexpr int poll_ms = 100;  // how often blocked threads look at the stop flag

std::string answer_text(char letter) {
  switch (letter) {
    case 'K': return "ok " + std::to_string(std::time(nullptr)) + " qp " + std::to_string(::getpid());
    case 'Z': return "mail server temporarily rejected message (#4.3.0)";
    default: return "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)";
  }
}

}  // namespace

struct Server::Impl {
  Options opt;
  int qmtp_fd = -1, qmqp_fd = -1, smtp_fd = -1, smtps_fd = -1;
  std::uint16_t qmtp_port = 0, qmqp_port = 0, smtp_port = 0, smtps_port = 0;
  SSL_CTX* tls = nullptr;
  std::vector<SmtpStep> smtp_script;
  std::size_t next_smtp_step = 0;
  std::vector<std::unique_ptr<SmtpConnection>> smtp_connections;
  std::atomic<bool> stopping{false};
  std::thread acceptor;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<Step> script;
  std::size_t next_step = 0;
  std::vector<Received> received;
  std::vector<std::thread> workers;
  std::set<int> open_fds;
  unsigned accepted = 0, peak = 0;
  std::unique_ptr<Allowance> allowance;  // Options::limits

  ~Impl() {
    if (tls) SSL_CTX_free(tls);
  }

  Step take_step() {
    std::lock_guard lock(mu);
    Step s = script[next_step < script.size() ? next_step : script.size() - 1];
    ++next_step;
    return s;
  }

  void record(Received r) {
    if (opt.on_message) opt.on_message(r);
    std::lock_guard lock(mu);
    received.push_back(std::move(r));
    cv.notify_all();
  }

  // Waits for input; false on stop, error or EOF. Appends what came.
  bool read_some(int fd, std::string& buf) {
    while (!stopping) {
      pollfd p{fd, POLLIN, 0};
      int rc = ::poll(&p, 1, poll_ms);
      if (rc < 0 && errno != EINTR) return false;
      if (rc <= 0) continue;
      char tmp[65536];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

  bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  void pause(int ms) {
    for (int waited = 0; waited < ms && !stopping; waited += 10)
      std::this_thread::sleep_for(std::chrono::milliseconds(ms - waited < 10 ? ms - waited : 10));
  }

  // Sends `reply` the way the step says. Returns false if the connection must close.
  bool deliver_answer(int fd, const Step& s, std::string_view reply) {
    switch (s.kind) {
      case StepKind::garbage:
        send_all(fd, "HTTP/1.0 500 this is not a netstring\r\n");
        return false;
      case StepKind::oversize:
        send_all(fd, netstring::encode("K" + std::string(70000, 'x')));
        return false;
      case StepKind::drip:
        for (char c : reply) {
          if (stopping || !send_all(fd, std::string_view(&c, 1))) return false;
          pause(s.ms);
        }
        return true;
      case StepKind::delay:
        pause(s.ms);
        return send_all(fd, reply);
      case StepKind::close_after_answer:
        send_all(fd, reply);
        return false;
      default:
        return send_all(fd, reply);
    }
  }

  static char letter_for(const Step& s, std::size_t i) {
    if (s.kind != StepKind::answer) return 'K';
    return s.letters[i % s.letters.size()];
  }

  // A server that never answers: it takes what comes and keeps the connection open, also after
  // the client's half-close (QMTP, QMQP), until the server stops.
  void hang(int fd) {
    std::string sink;
    while (read_some(fd, sink)) sink.clear();
    while (!stopping) std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }

  void serve_qmqp(int fd) {
    Step s = take_step();
    std::string buf;
    netstring::Parser outer(opt.max_message + 1024 * 1024);
    if (s.kind == StepKind::early_d) {
      if (read_some(fd, buf)) send_all(fd, proto::qmqp::encode_response(proto::Verdict::permanent, "netstring length exceeds storage limit while receiving message content"));
      return;
    }
    while (!outer.done()) {
      if (!read_some(fd, buf)) return;
      if (s.kind == StepKind::close_mid) return;
      outer.feed(buf);  // bytes after the request are ignored
      buf.clear();
      if (outer.failed()) {
        send_all(fd, proto::qmqp::encode_response(proto::Verdict::permanent, "malformed or oversize request (#5.3.4)"));
        return;
      }
    }
    if (s.kind == StepKind::hang) return hang(fd);
    auto req = proto::qmqp::decode_request(outer.payload());
    if (!req) {
      send_all(fd, proto::qmqp::encode_response(proto::Verdict::permanent, "malformed request (#5.5.2)"));
      return;
    }
    char l = letter_for(s, 0);
    Received r;
    r.protocol = "qmqp";
    r.sender = req->sender;
    r.recipients = req->recipients;
    r.message = req->message;
    r.answers = std::string(1, l);
    record(std::move(r));
    deliver_answer(fd, s, proto::qmqp::encode_response(static_cast<proto::Verdict>(l), answer_text(l)));
  }

  void serve_qmtp(int fd) {
    unsigned packages = 0;
    proto::qmtp::PackageParser parser(opt.max_message);
    std::string buf;
    for (;;) {
      if (buf.empty() && !read_some(fd, buf)) return;
      Step s = take_step();
      if (s.kind == StepKind::close_mid) return;
      while (parser.state() == proto::qmtp::PackageParser::State::need_more) {
        std::size_t used = parser.feed(buf);
        buf.erase(0, used);
        if (parser.state() != proto::qmtp::PackageParser::State::need_more) break;
        if (!read_some(fd, buf)) return;
      }
      if (parser.state() == proto::qmtp::PackageParser::State::failed) {
        // qmail-qmtpd just drops such a connection; say why first when the message is too big.
        if (parser.error().detail.find("exceeds limit") != std::string::npos)
          send_all(fd, proto::qmtp::encode_response(proto::Verdict::permanent, "message is too big (#5.3.4)"));
        return;
      }
      if (s.kind == StepKind::hang) return hang(fd);
      proto::qmtp::Package pkg = std::move(parser.package());
      parser.reset();
      if (std::string no = allowance->message(++packages); !no.empty() && !pkg.recipients.empty()) {
        // As a provider answers: the refusal for every recipient; a 421 also ends the connection.
        const auto v = no[0] == '5' ? proto::Verdict::permanent : proto::Verdict::temporary;
        std::string refusal;
        for (std::size_t i = 0; i < pkg.recipients.size(); ++i) refusal += proto::qmtp::encode_response(v, no);
        if (!send_all(fd, refusal) || no.compare(0, 3, "421") == 0) return;
        continue;
      }
      Received r;
      r.protocol = "qmtp";
      r.sender = pkg.sender;
      r.recipients = pkg.recipients;
      r.message = pkg.message;
      std::string reply;
      for (std::size_t i = 0; i < pkg.recipients.size(); ++i) {
        char l = letter_for(s, i);
        r.answers.push_back(l);
        reply += proto::qmtp::encode_response(static_cast<proto::Verdict>(l), answer_text(l));
      }
      record(std::move(r));
      if (reply.empty()) continue;  // an empty recipient list gets no answer at all
      if (!deliver_answer(fd, s, reply)) return;
    }
  }

  void serve(int fd, bool qmtp) {
    if (qmtp) serve_qmtp(fd);
    else serve_qmqp(fd);
    std::lock_guard lock(mu);
    open_fds.erase(fd);
    ::close(fd);
  }

  // The session closes fd itself (after its TLS close_notify); the fd leaves open_fds first so
  // that stop() never shuts down a number already reused.
  void serve_smtp_connection(int fd, bool implicit_tls, SmtpStep step, SmtpConnection* conn) {
    SmtpEnv env{opt, stopping, tls, mu, [this](Received r) { record(std::move(r)); }, allowance.get()};
    struct Forget {
      Impl* self;
      int fd;
      ~Forget() {
        std::lock_guard lock(self->mu);
        self->open_fds.erase(fd);
      }
    };
    {
      Forget forget{this, fd};
      int dup_fd = ::dup(fd);  // the session owns and closes its own descriptor
      if (dup_fd < 0) return;
      serve_smtp(env, dup_fd, implicit_tls, std::move(step), conn);
    }
    ::close(fd);
    std::lock_guard lock(mu);
    cv.notify_all();
  }

  void accept_loop() {
    while (!stopping) {
      pollfd p[4] = {{qmtp_fd, POLLIN, 0}, {qmqp_fd, POLLIN, 0}, {smtp_fd, POLLIN, 0}, {smtps_fd, POLLIN, 0}};
      int rc = ::poll(p, 4, poll_ms);
      if (rc <= 0) continue;
      for (int i = 0; i < 4; ++i) {
        if (p[i].fd < 0 || !(p[i].revents & POLLIN)) continue;
        int fd = ::accept4(p[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::lock_guard lock(mu);
        ++accepted;
        open_fds.insert(fd);
        if (open_fds.size() > peak) peak = static_cast<unsigned>(open_fds.size());
        if (i < 2) {
          bool qmtp = i == 0;
          workers.emplace_back([this, fd, qmtp] { serve(fd, qmtp); });
          continue;
        }
        bool implicit_tls = i == 3;
        SmtpStep step = smtp_script[next_smtp_step < smtp_script.size() ? next_smtp_step : smtp_script.size() - 1];
        ++next_smtp_step;
        auto conn = std::make_unique<SmtpConnection>();
        conn->id = static_cast<unsigned>(smtp_connections.size() + 1);
        conn->protocol = implicit_tls ? "smtps" : "smtp";
        SmtpConnection* c = conn.get();
        smtp_connections.push_back(std::move(conn));
        workers.emplace_back([this, fd, implicit_tls, step = std::move(step), c]() mutable {
          serve_smtp_connection(fd, implicit_tls, std::move(step), c);
        });
      }
    }
  }

  Result<int> listen_on(std::uint16_t& port) {
    bool v6 = opt.bind.find(':') != std::string::npos;
    int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error::from_errno(errno, "socket");
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      if (::inet_pton(AF_INET6, opt.bind.c_str(), &a->sin6_addr) != 1) {
        ::close(fd);
        return Error::permanent(ErrorDomain::usage, "bad bind address " + opt.bind);
      }
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      if (::inet_pton(AF_INET, opt.bind.c_str(), &a->sin_addr) != 1) {
        ::close(fd);
        return Error::permanent(ErrorDomain::usage, "bad bind address " + opt.bind);
      }
      len = sizeof *a;
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 128) != 0) {
      int err = errno;
      ::close(fd);
      return Error::from_errno(err, "bind " + opt.bind);
    }
    len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return fd;
  }
};

Result<std::vector<Step>> parse_script(std::string_view script) {
  std::vector<Step> steps;
  while (true) {
    std::size_t semi = script.find(';');
    std::string_view word = script.substr(0, semi);
    Step s;
    auto with_ms = [&](std::string_view prefix, StepKind kind) {
      if (word.substr(0, prefix.size()) != prefix) return false;
      std::string_view n = word.substr(prefix.size());
      if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string_view::npos) return false;
      s.kind = kind;
      s.ms = std::stoi(std::string(n));
      return true;
    };
    if (word == "early-D") s.kind = StepKind::early_d;
    else if (word == "hang") s.kind = StepKind::hang;
    else if (word == "close-mid") s.kind = StepKind::close_mid;
    else if (word == "garbage") s.kind = StepKind::garbage;
    else if (word == "oversize") s.kind = StepKind::oversize;
    else if (word == "close-after-answer") s.kind = StepKind::close_after_answer;
    else if (with_ms("drip:", StepKind::drip) || with_ms("delay:", StepKind::delay)) {
    } else if (!word.empty() && word.find_first_not_of("KZD") == std::string_view::npos) {
      s.kind = StepKind::answer;
      s.letters = std::string(word);
    } else {
      return Error::permanent(ErrorDomain::usage, "bad script step '" + std::string(word) + "'");
    }
    steps.push_back(s);
    if (semi == std::string_view::npos) break;
    script.remove_prefix(semi + 1);
  }
  return steps;
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::start(Options options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->allowance = std::make_unique<Allowance>(impl->opt.limits);
  auto script = parse_script(impl->opt.script);
  if (!script) return std::move(script).error();
  impl->script = std::move(*script);
  auto smtp_script = parse_smtp_script(impl->opt.smtp_script);
  if (!smtp_script) return std::move(smtp_script).error();
  impl->smtp_script = std::move(*smtp_script);
  if (impl->opt.smtps || (impl->opt.smtp && impl->opt.caps.starttls)) {
    if (impl->opt.cert_file.empty() || impl->opt.key_file.empty())
      return Error::permanent(ErrorDomain::usage, "SMTPS and STARTTLS need a certificate and a key file");
  }
  if (!impl->opt.cert_file.empty() || !impl->opt.key_file.empty()) {
    auto ctx = server_tls_context(impl->opt.cert_file, impl->opt.key_file);
    if (!ctx) return std::move(ctx).error();
    impl->tls = *ctx;
  }
  auto close_all = [&] {
    for (int fd : {impl->qmtp_fd, impl->qmqp_fd, impl->smtp_fd, impl->smtps_fd})
      if (fd >= 0) ::close(fd);
  };
  if (impl->opt.qmtp) {
    auto fd = impl->listen_on(impl->qmtp_port);
    if (!fd) return std::move(fd).error();
    impl->qmtp_fd = *fd;
  }
  if (impl->opt.qmqp) {
    auto fd = impl->listen_on(impl->qmqp_port);
    if (!fd) {
      close_all();
      return std::move(fd).error();
    }
    impl->qmqp_fd = *fd;
  }
  if (impl->opt.smtp) {
    auto fd = impl->listen_on(impl->smtp_port);
    if (!fd) {
      close_all();
      return std::move(fd).error();
    }
    impl->smtp_fd = *fd;
  }
  if (impl->opt.smtps) {
    auto fd = impl->listen_on(impl->smtps_port);
    if (!fd) {
      close_all();
      return std::move(fd).error();
    }
    impl->smtps_fd = *fd;
  }
  Impl* p = impl.get();
  impl->acceptor = std::thread([p] { p->accept_loop(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() { stop(); }

void Server::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  {
    std::lock_guard lock(impl_->mu);
    for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : impl_->workers) t.join();
  if (impl_->qmtp_fd >= 0) ::close(impl_->qmtp_fd);
  if (impl_->qmqp_fd >= 0) ::close(impl_->qmqp_fd);
  if (impl_->smtp_fd >= 0) ::close(impl_->smtp_fd);
  if (impl_->smtps_fd >= 0) ::close(impl_->smtps_fd);
}

std::uint16_t Server::qmtp_port() const { return impl_->qmtp_port; }
std::uint16_t Server::qmqp_port() const { return impl_->qmqp_port; }
std::uint16_t Server::smtp_port() const { return impl_->smtp_port; }
std::uint16_t Server::smtps_port() const { return impl_->smtps_port; }

std::vector<SmtpConnection> Server::smtp_connections() const {
  std::lock_guard lock(impl_->mu);
  std::vector<SmtpConnection> out;
  out.reserve(impl_->smtp_connections.size());
  for (const auto& c : impl_->smtp_connections) out.push_back(*c);
  return out;
}

bool Server::wait_for_closed(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] {
    std::size_t closed = 0;
    for (const auto& c : impl_->smtp_connections) closed += c->closed ? 1 : 0;
    return closed >= count;
  });
}

Status Server::set_smtp_script(std::string_view script) {
  auto s = parse_smtp_script(script);
  if (!s) return std::move(s).error();
  std::lock_guard lock(impl_->mu);
  impl_->smtp_script = std::move(*s);
  impl_->next_smtp_step = 0;
  return {};
}

std::vector<Received> Server::received() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}

bool Server::wait_for(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->received.size() >= count; });
}

Status Server::set_script(std::string_view script) {
  auto s = parse_script(script);
  if (!s) return std::move(s).error();
  std::lock_guard lock(impl_->mu);
  impl_->script = std::move(*s);
  impl_->next_step = 0;
  return {};
}

unsigned Server::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->accepted;
}

unsigned Server::max_concurrent() const {
  std::lock_guard lock(impl_->mu);
  return impl_->peak;
}

unsigned Server::refusals() const { return impl_->allowance->refusals(); }
unsigned Server::first_refusal_run() const { return impl_->allowance->first_run(); }

}  // namespace nullq::testhost

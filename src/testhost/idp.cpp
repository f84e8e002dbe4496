// idp.cpp — the test identity provider's listener, TLS and connections; see testhost_idp.hpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "idp_impl.hpp"
#include "nullq/testcerts.hpp"

namespace nullq::testhost {

namespace {

constexpr int poll_ms = 100;  // how often blocked threads look at the stop flag

// Waits until `fd` is readable (or writable); false on stop or error.
bool wait_fd(int fd, short events, const std::atomic<bool>& stopping) {
  while (!stopping) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, poll_ms);
    if (rc < 0 && errno != EINTR) return false;
    if (rc > 0) return true;
  }
  return false;
}

}  // namespace

std::string random_token(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) std::abort();
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

void Idp::Impl::serve(int fd) {
  // A client that went away must give EPIPE, not a SIGPIPE that ends the test process.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  SSL* ssl = SSL_new(tls);
  SSL_set_fd(ssl, fd);
  // Non-blocking socket so the stop flag is honoured: SSL_accept/read/write retried on WANT_*.
  auto io = [&](auto op) -> int {
    for (;;) {
      int n = op();
      if (n > 0) return n;
      int e = SSL_get_error(ssl, n);
      if (e == SSL_ERROR_WANT_READ) {
        if (!wait_fd(fd, POLLIN, stopping)) return -1;
      } else if (e == SSL_ERROR_WANT_WRITE) {
        if (!wait_fd(fd, POLLOUT, stopping)) return -1;
      } else {
        return -1;
      }
    }
  };
  std::string buf;
  if (io([&] { return SSL_accept(ssl); }) > 0) {
    http::Request req;
    std::string answer;
    for (;;) {
      auto used = http::parse(buf, req);
      if (!used) {
        int status = used.error().code;
        answer = json_error(status, "invalid_request", used.error().detail);
        break;
      }
      if (*used > 0) {
        answer = handle(req);
        break;
      }
      char tmp[4096];
      int n = io([&] { return SSL_read(ssl, tmp, sizeof tmp); });
      if (n <= 0) break;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    std::size_t off = 0;
    while (off < answer.size()) {
      int n = io([&] { return SSL_write(ssl, answer.data() + off, static_cast<int>(answer.size() - off)); });
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    if (off == answer.size() && !answer.empty()) SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  ::close(fd);
}

void Idp::Impl::accept_loop() {
  while (!stopping) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, poll_ms) <= 0) continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    {
      std::lock_guard lock(mu);
      ++connections;
    }
    workers.emplace_back([this, fd] { serve(fd); });
  }
}

Result<std::unique_ptr<Idp>> Idp::start(IdpOptions opt) {
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(opt);
  auto ctx = server_tls_context(impl->opt.cert_file, impl->opt.key_file);
  if (!ctx) return ctx.error();
  impl->tls = *ctx;
  SSL_CTX_set_min_proto_version(impl->tls, TLS1_2_VERSION);
  bool v6 = impl->opt.bind.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error::from_errno(errno, "socket");
  impl->listen_fd = fd;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = 0;
  int ok = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    ok = ::inet_pton(AF_INET6, impl->opt.bind.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    ok = ::inet_pton(AF_INET, impl->opt.bind.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  if (ok != 1) {
    ::close(fd);
    impl->listen_fd = -1;
    return Error::permanent(ErrorDomain::usage, "bad bind address " + impl->opt.bind);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 128) != 0) {
    int err = errno;
    ::close(fd);
    impl->listen_fd = -1;
    return Error::from_errno(err, "bind " + impl->opt.bind);
  }
  len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  impl->port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  Impl* p = impl.get();
  impl->acceptor = std::thread([p] { p->accept_loop(); });
  return std::unique_ptr<Idp>(new Idp(std::move(impl)));
}

Idp::Idp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Idp::~Idp() { stop(); }

void Idp::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  for (auto& t : impl_->workers)
    if (t.joinable()) t.join();
  if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
  impl_->listen_fd = -1;
}

std::uint16_t Idp::port() const { return impl_->port; }

std::string Idp::url(std::string_view path) const {
  std::string host = impl_->opt.bind.find(':') != std::string::npos ? "[" + impl_->opt.bind + "]" : impl_->opt.bind;
  return "https://" + host + ":" + std::to_string(impl_->port) + std::string(path);
}

void Idp::set_unavailable(bool on) {
  std::lock_guard lock(impl_->mu);
  impl_->unavailable = on;
}

void Idp::set_device_script(std::vector<std::string> polls) {
  std::lock_guard lock(impl_->mu);
  if (polls.empty()) polls = {"approve"};
  impl_->device_script = std::move(polls);
}

void Idp::set_auto_approve(bool on) {
  std::lock_guard lock(impl_->mu);
  impl_->auto_approve = on;
}

void Idp::set_rotate_refresh_tokens(bool on) {
  std::lock_guard lock(impl_->mu);
  impl_->rotate = on;
}

std::string Idp::issue_refresh_token(std::string_view client_id) {
  std::lock_guard lock(impl_->mu);
  std::string t = "rt-" + random_token(24);
  impl_->refresh[t] = std::string(client_id);
  impl_->issued.push_back(t);
  return t;
}

void Idp::revoke_refresh_token(std::string_view token) {
  std::lock_guard lock(impl_->mu);
  impl_->refresh.erase(std::string(token));
}

bool Idp::refresh_token_live(std::string_view token) const {
  std::lock_guard lock(impl_->mu);
  return impl_->refresh.count(std::string(token)) > 0;
}

void Idp::expire_access_tokens() {
  std::lock_guard lock(impl_->mu);
  auto past = Clock::now() - std::chrono::seconds(1);
  for (auto& [token, a] : impl_->access) a.expires = past;
}

std::string Idp::check_token(std::string_view user, std::string_view token) const {
  std::lock_guard lock(impl_->mu);
  if (!impl_->opt.user.empty() && user != impl_->opt.user) return "invalid_token";
  auto it = impl_->access.find(std::string(token));
  if (it == impl_->access.end() || Clock::now() >= it->second.expires) return "invalid_token";
  return "";
}

Result<std::string> Idp::authorize(std::string_view query) {
  std::lock_guard lock(impl_->mu);
  ++impl_->counts["authorize"];
  return impl_->authorize_locked(query);
}

std::size_t Idp::count(std::string_view what) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->counts.find(std::string(what));
  return it == impl_->counts.end() ? 0 : it->second;
}

std::vector<std::string> Idp::issued_tokens() const {
  std::lock_guard lock(impl_->mu);
  return impl_->issued;
}

std::size_t Idp::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connections;
}

}  // namespace nullq::testhost

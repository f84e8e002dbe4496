// c-ares 1.18 on the libuv loop: sock_state_cb starts one uv_poll per socket, a uv_timer follows
// ares_timeout (PROTOCOLS.md §6). Handles live in heap boxes freed by their close callbacks.
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>

#include "nullq/dns.hpp"

namespace nullq::dns {

namespace {

constexpr std::size_t max_exchangers = 64;
constexpr std::size_t max_addresses = 64;

Error ares_error(int status, const std::string& what) {
  std::string text = what + ": " + ares_strerror(status);
  if (status == ARES_ENOTFOUND) return Error::permanent(ErrorDomain::ares, what + ": domain not found", status);
  return Error::temporary(ErrorDomain::ares, text, status);
}

bool owner_gone(int status) { return status == ARES_EDESTRUCTION || status == ARES_ECANCELLED; }

}  // namespace

struct Resolver::Impl {
  uv_loop_t* loop = nullptr;
  ares_channel channel = nullptr;
  uv_timer_t* timer = nullptr;
  std::map<ares_socket_t, uv_poll_t*> polls;
  std::mt19937 rng{std::random_device{}()};
  bool closed = false;
  // Pending requests; their callbacks are dropped when the resolver closes.
  struct Request {
    Impl* impl;
    std::string name;
    HostCallback host_cb;
    MxCallback mx_cb;
  };

  static void close_poll(uv_poll_t* p) {
    uv_poll_stop(p);
    uv_close(reinterpret_cast<uv_handle_t*>(p), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }

  void rearm() {
    if (!timer || closed) return;
    timeval tv{};
    timeval* t = ares_timeout(channel, nullptr, &tv);
    if (!t) {
      uv_timer_stop(timer);
      return;
    }
    std::uint64_t ms = static_cast<std::uint64_t>(t->tv_sec) * 1000 + static_cast<std::uint64_t>(t->tv_usec) / 1000;
    uv_timer_start(timer, on_timer, ms ? ms : 1, 0);
  }

  static void on_timer(uv_timer_t* t) noexcept {
    auto* self = static_cast<Impl*>(t->data);
    ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    self->rearm();
  }

  static void on_poll(uv_poll_t* p, int status, int events) noexcept {
    auto* self = static_cast<Impl*>(p->data);
    ares_socket_t fd = ARES_SOCKET_BAD;
    uv_fileno(reinterpret_cast<uv_handle_t*>(p), reinterpret_cast<uv_os_fd_t*>(&fd));
    // On a poll error let c-ares read and write, so it notices the failure itself.
    bool rd = status < 0 || (events & UV_READABLE);
    bool wr = status < 0 || (events & UV_WRITABLE);
    ares_process_fd(self->channel, rd ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
    self->rearm();
  }

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept {
    auto* self = static_cast<Impl*>(data);
    auto it = self->polls.find(fd);
    if (!readable && !writable) {
      if (it != self->polls.end()) {
        close_poll(it->second);
        self->polls.erase(it);
      }
      return;
    }
    uv_poll_t* p = nullptr;
    if (it == self->polls.end()) {
      p = new uv_poll_t;
      if (uv_poll_init_socket(self->loop, p, fd) != 0) {
        delete p;
        return;
      }
      p->data = self;
      self->polls.emplace(fd, p);
    } else {
      p = it->second;
    }
    uv_poll_start(p, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), on_poll);
  }

  static void on_addrinfo(void* arg, int status, int, ares_addrinfo* res) noexcept {
    std::unique_ptr<Request> req(static_cast<Request*>(arg));
    if (owner_gone(status) || req->impl->closed) {
      if (res) ares_freeaddrinfo(res);
      return;
    }
    if (status != ARES_SUCCESS) {
      Error e = status == ARES_ENODATA
                    ? Error::permanent(ErrorDomain::ares, "host " + req->name + " has no addresses", status)
                    : ares_error(status, "host " + req->name);
      req->host_cb(std::move(e));
      return;
    }
    std::vector<Address> out;
    for (ares_addrinfo_node* n = res ? res->nodes : nullptr; n && out.size() < max_addresses; n = n->ai_next) {
      Address a;
      if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(sockaddr_in)) {
        std::memcpy(&a.addr, n->ai_addr, sizeof(sockaddr_in));
        a.len = sizeof(sockaddr_in);
      } else if (n->ai_family == AF_INET6 && n->ai_addrlen >= sizeof(sockaddr_in6)) {
        std::memcpy(&a.addr, n->ai_addr, sizeof(sockaddr_in6));
        a.len = sizeof(sockaddr_in6);
      } else {
        continue;
      }
      char text[INET6_ADDRSTRLEN] = {};
      const void* src = n->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&a.addr)->sin_addr)
                                                : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&a.addr)->sin6_addr);
      inet_ntop(n->ai_family, src, text, sizeof text);
      a.text = text;
      reinterpret_cast<sockaddr_in*>(&a.addr)->sin_port = 0;  // same offset in sockaddr_in6
      out.push_back(std::move(a));
    }
    if (res) ares_freeaddrinfo(res);
    if (out.empty()) {
      req->host_cb(Error::permanent(ErrorDomain::ares, "host " + req->name + " has no addresses"));
      return;
    }
    req->host_cb(std::move(out));
  }

  static void on_mx(void* arg, int status, int, unsigned char* buf, int len) noexcept {
    std::unique_ptr<Request> req(static_cast<Request*>(arg));
    if (owner_gone(status) || req->impl->closed) return;
    if (status == ARES_ENODATA) {
      req->mx_cb(std::vector<Exchanger>{Exchanger{req->name, 0}});
      return;
    }
    if (status != ARES_SUCCESS) {
      req->mx_cb(ares_error(status, "MX of " + req->name));
      return;
    }
    ares_mx_reply* mx = nullptr;
    int rc = ares_parse_mx_reply(buf, len, &mx);
    if (rc == ARES_ENODATA) {
      req->mx_cb(std::vector<Exchanger>{Exchanger{req->name, 0}});
      return;
    }
    if (rc != ARES_SUCCESS) {
      req->mx_cb(ares_error(rc, "MX of " + req->name));
      return;
    }
    std::vector<Exchanger> out;
    bool null_mx = false;
    for (ares_mx_reply* m = mx; m && out.size() < max_exchangers; m = m->next) {
      std::string host = m->host ? m->host : "";
      if (host.empty() || host == ".") {
        null_mx = true;
        continue;
      }
      out.push_back(Exchanger{host, m->priority});
    }
    ares_free_data(mx);
    if (out.empty()) {
      if (null_mx) {
        req->mx_cb(Error::permanent(ErrorDomain::ares, "domain " + req->name + " does not accept mail (null MX)"));
        return;
      }
      out.push_back(Exchanger{req->name, 0});
    }
    order_exchangers(out, req->impl->rng);
    req->mx_cb(std::move(out));
  }
};

Resolver::Resolver(uv_loop_s* loop, Options options) : impl_(std::make_unique<Impl>()) {
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);
  if (library != ARES_SUCCESS) throw std::runtime_error(std::string("c-ares: ") + ares_strerror(library));
  impl_->loop = loop;
  ares_options o{};
  o.sock_state_cb = Impl::on_sock_state;
  o.sock_state_cb_data = impl_.get();
  o.timeout = options.timeout_ms;
  o.tries = options.tries;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int rc = ares_init_options(&impl_->channel, &o, mask);
  if (rc != ARES_SUCCESS) throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
  if (!options.servers.empty()) {
    rc = ares_set_servers_ports_csv(impl_->channel, options.servers.c_str());
    if (rc != ARES_SUCCESS) {
      ares_destroy(impl_->channel);
      throw std::runtime_error("c-ares: bad DNS servers '" + options.servers + "': " + ares_strerror(rc));
    }
  }
  impl_->timer = new uv_timer_t;
  uv_timer_init(loop, impl_->timer);
  impl_->timer->data = impl_.get();
}

Resolver::~Resolver() { close(); }

void Resolver::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  // Callbacks run with ARES_EDESTRUCTION and free their requests without calling the user.
  ares_destroy(impl_->channel);
  impl_->channel = nullptr;
  for (auto& [fd, p] : impl_->polls) Impl::close_poll(p);
  impl_->polls.clear();
  uv_timer_stop(impl_->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(impl_->timer), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  impl_->timer = nullptr;
}

void Resolver::resolve_host(const std::string& name, HostCallback cb) {
  Address lit;
  if (parse_literal(name, lit)) {
    cb(std::vector<Address>{lit});
    return;
  }
  if (impl_->closed) return;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  auto* req = new Impl::Request{impl_.get(), name, std::move(cb), {}};
  ares_getaddrinfo(impl_->channel, name.c_str(), nullptr, &hints, Impl::on_addrinfo, req);
  impl_->rearm();
}

void Resolver::resolve_mx(const std::string& domain, MxCallback cb) {
  if (impl_->closed) return;
  auto* req = new Impl::Request{impl_.get(), domain, {}, std::move(cb)};
  ares_query(impl_->channel, domain.c_str(), ns_c_in, ns_t_mx, Impl::on_mx, req);
  impl_->rearm();
}

}  // namespace nullq::dns

// Smart host -> ordered server addresses (see include/nullq/send/router.hpp).
#include "nullq/send/router.hpp"

#include "nullq/environment.hpp"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

namespace nullq::send {

namespace {

// MXPS (PROTOCOLS.md §4), as dns::mxps_qmtp; kept here so routing decisions need no DNS library.
bool qmtp_preference(std::uint16_t p) { return p >= 12801 && p <= 13041 && (p - 12801) % 16 == 0; }

}  // namespace

struct Router::Slot {
  std::shared_ptr<const Route> cached;
  std::int64_t expires = 0;
  bool pending = false;
  std::vector<Callback> waiters;
};

const char* to_string(Wire w) {
  switch (w) {
    case Wire::qmtp: return "qmtp";
    case Wire::qmqp: return "qmqp";
    case Wire::smtp: return "smtp";
  }
  return "?";
}

std::uint16_t mx_smtp_port() {
  const char* env = environment::trusted_getenv("NULLQ_MX_SMTP_PORT");
  if (env == nullptr || *env == '\0') return 25;
  char* end = nullptr;
  long v = std::strtol(env, &end, 10);
  if (*end != '\0' || v <= 0 || v > 65535) return 25;
  return static_cast<std::uint16_t>(v);
}

SmtpSetup smtp_setup(const config::Config& c) {
  SmtpSetup s;
  s.settings = c.smtp;
  s.helo = !c.smtp.helo.empty() ? c.smtp.helo : !c.hostname.empty() ? c.hostname : "localhost";
  s.mx_port = mx_smtp_port();
  return s;
}

std::shared_ptr<const client::SmtpOptions> smtp_options(const SmtpSetup& setup, const config::SmartHost& host,
                                                        const std::string& server_name, bool mx) {
  auto o = std::make_shared<client::SmtpOptions>();
  o->helo_name = setup.helo;
  o->host = server_name;
  bool verify = host.tls.verify;
  if (mx) {
    o->starttls = setup.settings.mx_tls == config::MxTls::encrypt ? client::StartTls::required
                                                                   : client::StartTls::opportunistic;
    verify = setup.settings.mx_tls != config::MxTls::may;
  } else {
    switch (host.starttls) {
      case config::StartTls::opportunistic: o->starttls = client::StartTls::opportunistic; break;
      case config::StartTls::required: o->starttls = client::StartTls::required; break;
      case config::StartTls::off: o->starttls = client::StartTls::off; break;
    }
    o->implicit_tls = host.protocol == config::Protocol::smtps;
    o->auth_user = host.auth_user;
    o->auth_password = host.password;
    o->allow_plaintext_auth = host.allow_plaintext;
    switch (host.mechanism) {
      case config::AuthMechanism::automatic: o->auth_mechanism = client::AuthMechanism::automatic; break;
      case config::AuthMechanism::plain: o->auth_mechanism = client::AuthMechanism::plain; break;
      case config::AuthMechanism::login: o->auth_mechanism = client::AuthMechanism::login; break;
      case config::AuthMechanism::xoauth2: o->auth_mechanism = client::AuthMechanism::xoauth2; break;
      case config::AuthMechanism::oauthbearer: o->auth_mechanism = client::AuthMechanism::oauthbearer; break;
    }
    if (host.oauth.flow != config::OAuthFlow::none && setup.tokens) o->auth_token = setup.tokens(host);
  }
  if (setup.tls) o->tls = setup.tls(host, mx, verify);
  using ms = std::chrono::milliseconds;
  o->timeouts.banner = std::chrono::duration_cast<ms>(setup.settings.banner_timeout);
  o->timeouts.command = std::chrono::duration_cast<ms>(setup.settings.command_timeout);
  o->timeouts.data = std::chrono::duration_cast<ms>(setup.settings.data_timeout);
  o->timeouts.body = std::chrono::duration_cast<ms>(setup.settings.body_timeout);
  o->timeouts.dot = std::chrono::duration_cast<ms>(setup.settings.dot_timeout);
  return o;
}


bool literal_address(const std::string& host, dns::Address& out) {
  out = dns::Address{};
  in_addr a4{};
  in6_addr a6{};
  if (::inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&out.addr);
    sa->sin_family = AF_INET;
    sa->sin_addr = a4;
    out.len = sizeof(sockaddr_in);
    out.text = host;
    return true;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&out.addr);
    sa->sin6_family = AF_INET6;
    sa->sin6_addr = a6;
    out.len = sizeof(sockaddr_in6);
    out.text = host;
    return true;
  }
  return false;
}

client::Endpoint make_endpoint(const dns::Address& a, std::uint16_t port) {
  client::Endpoint e;
  e.addr = a.addr;
  e.len = a.len;
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.addr.ss_family == AF_INET6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&e.addr);
    sa->sin6_port = htons(port);
    if (e.len == 0) e.len = sizeof(sockaddr_in6);
    ::inet_ntop(AF_INET6, &sa->sin6_addr, buf, sizeof buf);
    e.text = std::string("[") + buf + "]:" + std::to_string(port);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&e.addr);
    sa->sin_port = htons(port);
    if (e.len == 0) e.len = sizeof(sockaddr_in);
    ::inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof buf);
    e.text = std::string(buf) + ":" + std::to_string(port);
  }
  return e;
}

Router::Router(Lookup* lookup, std::vector<config::SmartHost> hosts, std::int64_t cache_ms,
               std::int64_t error_cache_ms)
    : lookup_(lookup),
      hosts_(std::move(hosts)),
      cache_ms_(cache_ms),
      error_cache_ms_(error_cache_ms),
      alive_(std::make_shared<bool>(true)) {
  for (std::size_t i = 0; i < hosts_.size(); ++i) slots_.push_back(std::make_unique<Slot>());
}

Router::~Router() { *alive_ = false; }

void Router::route(std::size_t index, std::int64_t now_ms, Callback cb) {
  last_now_ = now_ms;
  Slot& s = *slots_.at(index);
  if (s.cached && now_ms < s.expires) {
    auto r = s.cached;
    cb(r);
    return;
  }
  s.waiters.push_back(std::move(cb));
  if (!s.pending) start(index, now_ms);
}

namespace {

std::shared_ptr<Route> failed(Error e) {
  auto r = std::make_shared<Route>();
  r->error = std::move(e);
  return r;
}

}  // namespace

void Router::start(std::size_t index, std::int64_t /*now_ms*/) {
  Slot& s = *slots_[index];
  s.pending = true;
  const std::uint64_t gen = generation_;
  const config::SmartHost host = hosts_[index];
  std::weak_ptr<bool> alive = alive_;

  if (host.protocol != config::Protocol::mx) {
    const Wire wire = host.is_smtp() ? Wire::smtp : host.protocol == config::Protocol::qmtp ? Wire::qmtp : Wire::qmqp;
    std::shared_ptr<const client::SmtpOptions> opts;
    if (wire == Wire::smtp) opts = smtp_options(smtp_, host, host.host, false);
    dns::Address lit;
    if (literal_address(host.host, lit)) {
      auto r = std::make_shared<Route>();
      r->targets.push_back(Target{wire, make_endpoint(lit, host.effective_port()), host.host, opts, false, host.text});
      finish(index, gen, r);
      return;
    }
    if (!lookup_) {
      finish(index, gen, failed(Error::temporary(ErrorDomain::ares, "no resolver for " + host.host)));
      return;
    }
    lookup_->resolve_host(host.host, [this, alive, index, gen, host, wire, opts](Result<std::vector<dns::Address>> res) {
      auto a = alive.lock();
      if (!a || !*a) return;
      if (!res.ok()) {
        Error e = res.error();
        e.detail = "resolve " + host.host + ": " + e.detail;
        finish(index, gen, failed(std::move(e)));
        return;
      }
      auto r = std::make_shared<Route>();
      for (const auto& addr : res.value()) {
        r->targets.push_back(Target{wire, make_endpoint(addr, host.effective_port()), host.host, opts, false, host.text});
      }
      if (r->targets.empty()) {
        r->error = Error::temporary(ErrorDomain::ares, "resolve " + host.host + ": no addresses");
      }
      finish(index, gen, r);
    });
    return;
  }

  if (!lookup_) {
    finish(index, gen, failed(Error::temporary(ErrorDomain::ares, "no resolver for " + host.host)));
    return;
  }
  lookup_->resolve_mx(host.host, [this, alive, index, gen, host](Result<std::vector<dns::Exchanger>> res) {
    auto a = alive.lock();
    if (!a || !*a) return;
    if (!res.ok()) {
      Error e = res.error();
      e.detail = "mx lookup " + host.host + ": " + e.detail;
      finish(index, gen, failed(std::move(e)));
      return;
    }
    resolve_mx_hosts(index, gen, std::move(res).value());
  });
}

void Router::resolve_mx_hosts(std::size_t index, std::uint64_t gen, std::vector<dns::Exchanger> mx) {
  const config::SmartHost host = hosts_[index];
  struct Pending {
    std::vector<dns::Exchanger> usable;
    std::vector<std::vector<dns::Address>> addrs;
    std::vector<std::string> errors;
    std::vector<std::string> notes;
    std::size_t left = 0;
  };
  auto p = std::make_shared<Pending>();
  // A null MX (RFC 7505): one MX record whose exchanger is "." — the domain takes no mail.
  auto is_root = [](const std::string& h) { return h.empty() || h == "."; };
  if (mx.size() == 1 && is_root(mx[0].host)) {
    auto r = std::make_shared<Route>();
    r->error = Error::permanent(ErrorDomain::ares, "domain " + host.host + " accepts no mail (null MX, RFC 7505)");
    finish(index, gen, r);
    return;
  }
  for (const auto& x : mx) {
    if (is_root(x.host)) {
      p->notes.push_back("mx \".\" preference " + std::to_string(x.preference) + " ignored (null MX among others)");
      continue;
    }
    p->usable.push_back(x);
  }
  if (p->usable.empty()) {
    auto r = std::make_shared<Route>();
    r->notes = p->notes;
    std::string detail = "no usable mail exchanger for " + host.host;
    if (mx.empty()) detail += ": no MX records";
    for (const auto& n : p->notes) detail += ": " + n;
    r->error = Error::temporary(ErrorDomain::ares, detail);
    finish(index, gen, r);
    return;
  }
  p->addrs.resize(p->usable.size());
  p->errors.resize(p->usable.size());
  p->left = p->usable.size();
  std::weak_ptr<bool> alive = alive_;
  const std::uint16_t port = host.port ? host.port : mxps_port_;
  const std::uint16_t smtp_port = smtp_.mx_port ? smtp_.mx_port : 25;
  auto assemble = [this, index, gen, p, host, port, smtp_port]() {
    auto r = std::make_shared<Route>();
    r->notes = p->notes;
    for (std::size_t i = 0; i < p->usable.size(); ++i) {
      if (!p->errors[i].empty()) {
        r->notes.push_back("mx " + p->usable[i].host + ": " + p->errors[i]);
        continue;
      }
      const std::string& name = p->usable[i].host;
      auto opts = smtp_options(smtp_, host, name, true);
      const bool mxps = qmtp_preference(p->usable[i].preference);
      for (const auto& a : p->addrs[i]) {
        if (mxps) r->targets.push_back(Target{Wire::qmtp, make_endpoint(a, port), name, nullptr, false, host.text});
        r->targets.push_back(Target{Wire::smtp, make_endpoint(a, smtp_port), name, opts, mxps, host.text});
      }
    }
    if (r->targets.empty()) {
      std::string detail = "no usable mail exchanger for " + host.host;
      for (const auto& n : r->notes) detail += ": " + n;
      r->error = Error::temporary(ErrorDomain::ares, detail);
    }
    finish(index, gen, r);
  };
  // Copy the list first: a callback may run synchronously and `assemble` may then run before the
  // loop below is done.
  const std::vector<dns::Exchanger> usable = p->usable;
  for (std::size_t i = 0; i < usable.size(); ++i) {
    dns::Address lit;
    if (literal_address(usable[i].host, lit)) {
      p->addrs[i].push_back(lit);
      if (--p->left == 0) assemble();
      continue;
    }
    lookup_->resolve_host(usable[i].host, [alive, p, i, assemble](Result<std::vector<dns::Address>> res) {
      auto a = alive.lock();
      if (!a || !*a) return;
      if (res.ok()) {
        p->addrs[i] = std::move(res).value();
        if (p->addrs[i].empty()) p->errors[i] = "no addresses";
      } else {
        p->errors[i] = res.error().message();
      }
      if (--p->left == 0) assemble();
    });
  }
}

void Router::finish(std::size_t index, std::uint64_t gen, std::shared_ptr<const Route> route) {
  if (gen != generation_) return;  // reset() already answered the waiters
  if (!route->error) {
    auto ordered = std::make_shared<Route>(*route);
    order_targets(hosts_[index], *ordered);
    route = std::move(ordered);
  }
  Slot& s = *slots_[index];
  s.pending = false;
  s.cached = route;
  s.expires = last_now_ + (route->error ? error_cache_ms_ : cache_ms_);
  if (note_sink_) {
    for (const auto& n : route->notes) note_sink_(hosts_[index], n);
  }
  std::vector<Callback> waiters;
  waiters.swap(s.waiters);
  for (auto& cb : waiters) cb(route);
}

void Router::reset(Lookup* lookup, std::vector<config::SmartHost> hosts) {
  ++generation_;
  std::vector<Callback> orphans;
  for (auto& s : slots_) {
    for (auto& cb : s->waiters) orphans.push_back(std::move(cb));
  }
  lookup_ = lookup;
  hosts_ = std::move(hosts);
  slots_.clear();
  for (std::size_t i = 0; i < hosts_.size(); ++i) slots_.push_back(std::make_unique<Slot>());
  auto r = failed(Error::temporary(ErrorDomain::config, "configuration reloaded during the lookup"));
  for (auto& cb : orphans) cb(r);
}

}  // namespace nullq::send

// `nullq check`: can this machine reach its smart hosts? Resolution (c-ares for MX, with MXPS) and a
// TCP connect test per address, with one verdict line each.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "commands.hpp"
#include "nullq/dns.hpp"

namespace nullq::admin {

namespace {

// "ok", "connection refused", "timed out", ... for one address.
std::string connect_test(const sockaddr* sa, socklen_t len) {
  int fd = ::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  std::string verdict = "ok";
  if (::connect(fd, sa, len) != 0) {
    if (errno != EINPROGRESS) {
      verdict = std::strerror(errno);
    } else {
      pollfd p{fd, POLLOUT, 0};
      int rc = ::poll(&p, 1, 5000);
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      if (rc == 0) verdict = "timed out";
      else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) verdict = std::strerror(soerr);
    }
  }
  ::close(fd);
  if (verdict == "Connection refused") verdict = "connection refused";
  return verdict;
}

// Addresses of a name or literal, as "ip" strings plus sockaddrs.
std::vector<std::pair<std::string, sockaddr_storage>> addresses(const std::string& host, std::uint16_t port, std::string& error) {
  std::vector<std::pair<std::string, sockaddr_storage>> out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    error = ::gai_strerror(rc);
    return out;
  }
  for (addrinfo* a = res; a; a = a->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, a->ai_addr, a->ai_addrlen);
    char text[INET6_ADDRSTRLEN] = {};
    const void* src = a->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    ::inet_ntop(a->ai_family, src, text, sizeof text);
    out.emplace_back(text, ss);
  }
  ::freeaddrinfo(res);
  if (out.empty()) error = "no addresses";
  return out;
}

// Tests every address of host:port; returns the number of problems.
int check_host(const std::string& label, const std::string& host, std::uint16_t port, std::FILE* out) {
  std::string error;
  auto addrs = addresses(host, port, error);
  if (addrs.empty()) {
    std::fprintf(out, "%s: %s: %s\n", label.c_str(), host.c_str(), error.c_str());
    return 1;
  }
  int problems = 0;
  for (const auto& [text, ss] : addrs) {
    socklen_t len = ss.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    std::string v = connect_test(reinterpret_cast<const sockaddr*>(&ss), len);
    bool v6 = ss.ss_family == AF_INET6;
    std::fprintf(out, "%s: %s%s%s:%u %s\n", label.c_str(), v6 ? "[" : "", text.c_str(), v6 ? "]" : "", port, v.c_str());
    if (v != "ok") ++problems;
  }
  return problems;
}

// MX lookup with the same resolver nullq-send uses.
Result<std::vector<dns::Exchanger>> lookup_mx(const std::string& domain) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::optional<Result<std::vector<dns::Exchanger>>> got;
  {
    const char* servers = std::getenv("NULLQ_DNS_SERVERS");
    dns::Resolver r(&loop, dns::Options{5000, 2, servers ? servers : ""});
    r.resolve_mx(domain, [&](Result<std::vector<dns::Exchanger>> res) { got = std::move(res); });
    while (!got && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    r.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (!got) return Error::temporary(ErrorDomain::ares, "MX lookup of " + domain + " did not finish");
  return std::move(*got);
}

}  // namespace

int check(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  if (auto s = config::validate_for_delivery(cfg); !s) {
    std::fprintf(err, "nullq: %s\n", s.error().detail.c_str());
    return 78;
  }
  std::fprintf(out, "config: %s ok (hostname %s, spool %s)\n", cfg.path.c_str(), cfg.hostname.c_str(), cfg.queue_dir.c_str());
  int problems = 0;
  for (const auto& h : cfg.smarthosts) {
    if (h.protocol != config::Protocol::mx) {
      problems += check_host(h.text, h.host, h.effective_port(), out);
      continue;
    }
    auto mx = lookup_mx(h.host);
    if (!mx) {
      std::fprintf(out, "%s: %s\n", h.text.c_str(), mx.error().message().c_str());
      ++problems;
      continue;
    }
    int usable = 0;
    for (const auto& x : *mx) {
      if (!dns::mxps_qmtp(x.preference)) {
        std::fprintf(out, "%s: mx %s preference %u: SMTP only - nullq cannot deliver there\n", h.text.c_str(),
                     x.host.c_str(), x.preference);
        continue;
      }
      ++usable;
      std::fprintf(out, "%s: mx %s preference %u: QMTP (MXPS)\n", h.text.c_str(), x.host.c_str(), x.preference);
      problems += check_host(h.text, x.host, 209, out);
    }
    if (usable == 0) {
      std::fprintf(out, "%s: no exchanger speaks QMTP\n", h.text.c_str());
      ++problems;
    }
  }
  if (problems == 0) std::fputs("nullq check: OK\n", out);
  else std::fprintf(out, "nullq check: %d problem(s)\n", problems);
  return problems == 0 ? 0 : 1;
}

}  // namespace nullq::admin

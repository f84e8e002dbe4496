// A smart host's targets: its `source:` address, and the order of the address families (see
// order_targets in include/nullq/send/router.hpp).
#include <arpa/inet.h>

#include <cstring>

#include "nullq/send/router.hpp"

namespace nullq::send {

namespace {

int family_of(const Target& t) { return t.endpoint.addr.ss_family; }

// RFC 8305 §4: first family, other family, first, ... (each family in the resolver's order).
void interleave(std::vector<Target>& targets) {
  if (targets.size() < 2) return;
  const int first = family_of(targets.front());
  std::vector<Target> a, b;
  for (auto& t : targets) (family_of(t) == first ? a : b).push_back(std::move(t));
  targets.clear();
  for (std::size_t i = 0; i < a.size() || i < b.size(); ++i) {
    if (i < a.size()) targets.push_back(std::move(a[i]));
    if (i < b.size()) targets.push_back(std::move(b[i]));
  }
}

}  // namespace

const char* family_name(int family) { return family == AF_INET6 ? "IPv6" : "IPv4"; }

socklen_t source_address(const config::SmartHost& host, sockaddr_storage& out) {
  out = sockaddr_storage{};
  if (host.source.empty()) return 0;
  if (::inet_pton(AF_INET, host.source.c_str(), &reinterpret_cast<sockaddr_in*>(&out)->sin_addr) == 1) {
    out.ss_family = AF_INET;
    return sizeof(sockaddr_in);
  }
  if (::inet_pton(AF_INET6, host.source.c_str(), &reinterpret_cast<sockaddr_in6*>(&out)->sin6_addr) == 1) {
    out.ss_family = AF_INET6;
    return sizeof(sockaddr_in6);
  }
  return 0;  // the loader refuses anything else
}

void order_targets(const config::SmartHost& host, Route& route) {
  // mx:// keeps the exchangers' preference order (and each MXPS target's SMTP fallback behind it).
  if (host.protocol != config::Protocol::mx) interleave(route.targets);
  sockaddr_storage src;
  const socklen_t len = source_address(host, src);
  if (len == 0) return;
  std::vector<Target> kept;
  for (auto& t : route.targets) {
    if (family_of(t) != src.ss_family) {
      route.notes.push_back("address " + t.endpoint.text + " skipped: source " + host.source + " is " +
                            family_name(src.ss_family));
      continue;
    }
    t.endpoint.source = src;
    t.endpoint.source_len = len;
    kept.push_back(std::move(t));
  }
  route.targets = std::move(kept);
  if (route.targets.empty())
    route.error = Error::temporary(ErrorDomain::config, "no " + std::string(family_name(src.ss_family)) +
                                                            " address of " + host.host + " to reach from source " +
                                                            host.source);
}

}  // namespace nullq::send

// MX ordering and MXPS (PROTOCOLS.md §4); IP literals.
#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "nullq/dns.hpp"
#include "nullq/environment.hpp"

namespace nullq::dns {

bool mxps_qmtp(std::uint16_t p) { return p >= 12801 && p <= 13041 && (p - 12801) % 16 == 0; }
bool mxps_smtp(std::uint16_t p) { return p >= 12800 && p <= 13040 && p % 16 == 0; }

std::uint16_t mxps_qmtp_port() {
  if (const char* p = environment::trusted_getenv("NULLQ_MXPS_PORT")) {
    long port = std::strtol(p, nullptr, 10);
    if (port > 0 && port < 65536) return static_cast<std::uint16_t>(port);
  }
  return 209;
}

void order_exchangers(std::vector<Exchanger>& mx, std::mt19937& rng) {
  std::shuffle(mx.begin(), mx.end(), rng);  // equal preferences end up in random order...
  std::stable_sort(mx.begin(), mx.end(),    // ...and stay so after the stable sort.
                   [](const Exchanger& a, const Exchanger& b) { return a.preference < b.preference; });
}

bool parse_literal(const std::string& text, Address& out) {
  out = Address{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    out.len = sizeof *v4;
  } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    out.len = sizeof *v6;
  } else {
    out = Address{};
    return false;
  }
  out.text = text;
  return true;
}

}  // namespace nullq::dns

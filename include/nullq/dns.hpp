// dns.hpp — c-ares resolver on the libuv loop; MX lookup with MXPS ordering (PROTOCOLS.md §4, §6).
//
// Purpose:   turn smart host names and mx:// domains into addresses without blocking the loop.
// Trust:     DNS answers are hostile: counts and name lengths are capped; c-ares parses the wire.
// Errors:    callbacks receive Result: timeouts, SERVFAIL, refused => temporary (ErrorDomain::ares);
//            NXDOMAIN => permanent. MX lookups answered "no data" fall back to the name's own A/AAAA.
// Threading: loop thread only. Callbacks never run after close() or the destructor; a callback may run
//            synchronously inside the call that started the lookup (IP literals, cached failures).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "nullq/result.hpp"

struct uv_loop_s;

namespace nullq::dns {

struct Address {
  sockaddr_storage addr{};  // family and address; port is 0, the caller sets it
  socklen_t len = 0;
  std::string text;         // "192.0.2.1" or "2001:db8::1"
};

struct Exchanger {
  std::string host;
  std::uint16_t preference = 0;
  bool operator==(const Exchanger&) const = default;
};

// MXPS: 12801 <= p <= 13041 and (p - 12801) % 16 == 0 means QMTP.
bool mxps_qmtp(std::uint16_t preference);
// MXPS SMTP slice: 12800 <= p <= 13040 and p % 16 == 0 (for reporting).
bool mxps_smtp(std::uint16_t preference);
// The port QMTP is tried on at an MXPS exchanger: 209, unless NULLQ_MXPS_PORT moves it (tests, whose
// servers listen on ports the kernel chose). nullq-send and `nullq check` both ask here.
std::uint16_t mxps_qmtp_port();
// Ascending preference; equal preferences shuffled with `rng`.
void order_exchangers(std::vector<Exchanger>& mx, std::mt19937& rng);
// Parses an IPv4 or IPv6 literal (no brackets) into an Address; false if it is not a literal.
bool parse_literal(const std::string& text, Address& out);

struct Options {
  int timeout_ms = 5000;   // per try
  int tries = 2;
  std::string servers;     // "" = /etc/resolv.conf; tests: "127.0.0.1:5353" (ares_set_servers_ports_csv)
};

class Resolver {
 public:
  using HostCallback = std::function<void(Result<std::vector<Address>>)>;
  using MxCallback = std::function<void(Result<std::vector<Exchanger>>)>;

  // Throws std::runtime_error if c-ares cannot be initialised (start-up error).
  Resolver(uv_loop_s* loop, Options options);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // A and AAAA (every address; IPv6 and IPv4 as the system orders them). Literals need no DNS.
  void resolve_host(const std::string& name, HostCallback cb);
  // MX records ordered by order_exchangers(). No MX records (ARES_ENODATA) => one Exchanger for the
  // domain itself at preference 0. NXDOMAIN => permanent error.
  void resolve_mx(const std::string& domain, MxCallback cb);
  // Cancels every pending lookup without running its callback, and releases the loop handles.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nullq::dns

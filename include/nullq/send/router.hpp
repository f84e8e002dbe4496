// send/router.hpp — turns a smart host from the config into the ordered list of server addresses
// to try, and says why a smart host cannot be used.
//
// Purpose:   qmtp://host, qmqp://host, smtp://host, smtps://host: every address of the name, in
//            the resolver's order (IP literals need no DNS). mx://domain: MX lookup, ascending
//            preference (equal ones shuffled by the resolver); an MXPS preference means QMTP on port
//            209, each address followed by SMTP on port 25 of the same address as its fallback (tried
//            only when the QMTP connection fails); any other exchanger means SMTP on 25 with
//            opportunistic STARTTLS (smtp.mx_tls). No MX records: the domain's own A/AAAA (the
//            resolver answers with the domain at preference 0). A null MX (RFC 7505) => permanent.
//            Exchangers that cannot be resolved are reported in `notes` (and logged).
//            Results are cached for a while and concurrent requests for one smart host share a lookup.
// Trust:     DNS answers are capped and parsed by the dns module.
// Errors:    Route::error: DNS temporary failures => temporary; NXDOMAIN => permanent (for this
//            smart host only; the caller tries the next one).
// Threading: loop thread only. The callback may run synchronously inside route().
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nullq/client.hpp"
#include "nullq/config.hpp"
#include "nullq/dns.hpp"
#include "nullq/result.hpp"

namespace nullq::send {

// DNS behind an interface so that routing decisions are testable with a fake.
class Lookup {
 public:
  using HostCallback = std::function<void(Result<std::vector<dns::Address>>)>;
  using MxCallback = std::function<void(Result<std::vector<dns::Exchanger>>)>;
  virtual ~Lookup() = default;
  virtual void resolve_host(const std::string& name, HostCallback cb) = 0;
  virtual void resolve_mx(const std::string& domain, MxCallback cb) = 0;
};

// The real one: a dns::Resolver.
class ResolverLookup final : public Lookup {
 public:
  explicit ResolverLookup(dns::Resolver& r) : r_(r) {}
  void resolve_host(const std::string& name, HostCallback cb) override;
  void resolve_mx(const std::string& domain, MxCallback cb) override;

 private:
  dns::Resolver& r_;
};

enum class Wire { qmtp, qmqp, smtp };
const char* to_string(Wire w);

struct Target {
  Wire wire = Wire::qmtp;
  client::Endpoint endpoint;  // address with port; endpoint.text is "ip:port" / "[ip6]:port"
  std::string via;            // for logs: the exchanger name for mx://, else the host
  std::shared_ptr<const client::SmtpOptions> smtp;  // Wire::smtp only
  bool fallback = false;      // SMTP behind the MXPS QMTP target before it (same address)
  std::string profile;        // the smart host's text: sessions are shared only within one
};

// What SMTP targets are built from (the flusher fills it from the Config).
struct SmtpSetup {
  config::SmtpSettings settings;
  std::string helo = "localhost";
  std::uint16_t mx_port = 25;  // tests move it with NULLQ_MX_SMTP_PORT (nullq-send is never set-id)
  // The TLS filter for a host; `verify` false means no certificate check (MX "may"). Null when
  // TLS is unavailable: STARTTLS is then not tried, and hosts that require TLS fail with a reason.
  std::function<client::FilterFactory(const config::SmartHost& host, bool mx, bool verify)> tls;
  // The account's token source for a smart host with OAuth (auth.oauth): nullq-send's TokenManager
  // for that host. Empty, or null for the host: no token source (AUTH then fails with a reason).
  std::function<std::shared_ptr<client::TokenSource>(const config::SmartHost& host)> tokens;
};
// The session options for one SMTP smart host (mx: the exchanger `server_name`): TLS, AUTH with
// the password, or with the mechanism and token source of an OAuth host.
std::shared_ptr<const client::SmtpOptions> smtp_options(const SmtpSetup& setup, const config::SmartHost& host,
                                                        const std::string& server_name, bool mx);
// From the configuration: EHLO name (smtp.helo, else hostname), timeouts, mx_tls, the MX port.
// The TLS part is filled by the caller that links TLS.
SmtpSetup smtp_setup(const config::Config& c);
// The port override for SMTP at MX targets: NULLQ_MX_SMTP_PORT, else 25.
std::uint16_t mx_smtp_port();

struct Route {
  std::vector<Target> targets;       // in the order to try them
  std::vector<std::string> notes;    // why some exchangers/addresses were not usable
  std::optional<Error> error;        // set when targets is empty
};

// Fills an Endpoint from an address and port, with text "1.2.3.4:209" or "[::1]:209".
client::Endpoint make_endpoint(const dns::Address& a, std::uint16_t port);
// Parses an IPv4/IPv6 literal without DNS (used for literals so delivery needs no resolver).
bool literal_address(const std::string& host, dns::Address& out);

// address_order.cpp, applied to every route before it is cached: a smart host's `source:` is set on
// its targets, those of the other address family are dropped (in `notes`; none left: a temporary
// error); and a name's addresses are put in RFC 8305 §4 order, the families interleaved starting
// with the resolver's first, so that a broken IPv6 (or IPv4) path costs one failed connection
// before the other family is tried -- every address is still tried, one at a time, no racing.
void order_targets(const config::SmartHost& host, Route& route);
// A smart host's `source:` as a socket address (port 0) in `out`; its length, 0 when it has none.
socklen_t source_address(const config::SmartHost& host, sockaddr_storage& out);
// "IPv4" or "IPv6".
const char* family_name(int family);

class Router {
 public:
  using Callback = std::function<void(std::shared_ptr<const Route>)>;

  // `lookup` may be null only if every smart host is an IP literal.
  Router(Lookup* lookup, std::vector<config::SmartHost> hosts, std::int64_t cache_ms = 60'000,
         std::int64_t error_cache_ms = 5'000);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  const std::vector<config::SmartHost>& hosts() const { return hosts_; }
  // Resolves smart host number `index` (cached while fresh). `now_ms` from a monotonic clock.
  void route(std::size_t index, std::int64_t now_ms, Callback cb);
  // Forgets the cache. Waiters of lookups still running get a temporary error.
  void reset(Lookup* lookup, std::vector<config::SmartHost> hosts);
  // Port for MXPS exchangers: the smart host's own port if it has one, else this (209; tests move
  // it with NULLQ_MXPS_PORT, since nullq-send is never set-id).
  void set_mxps_port(std::uint16_t port) { mxps_port_ = port; }
  void set_smtp(SmtpSetup setup) { smtp_ = std::move(setup); }
  // Called once per finished lookup with each note (for the log).
  void set_note_sink(std::function<void(const config::SmartHost&, const std::string&)> sink) {
    note_sink_ = std::move(sink);
  }

 private:
  struct Slot;
  void start(std::size_t index, std::int64_t now_ms);
  void finish(std::size_t index, std::uint64_t generation, std::shared_ptr<const Route> route);
  void resolve_mx_hosts(std::size_t index, std::uint64_t generation, std::vector<dns::Exchanger> mx);

  Lookup* lookup_;
  std::vector<config::SmartHost> hosts_;
  std::int64_t cache_ms_;
  std::int64_t error_cache_ms_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::uint64_t generation_ = 0;
  std::int64_t last_now_ = 0;
  std::function<void(const config::SmartHost&, const std::string&)> note_sink_;
  std::shared_ptr<bool> alive_;
  std::uint16_t mxps_port_ = 209;
  SmtpSetup smtp_;
};

}  // namespace nullq::send

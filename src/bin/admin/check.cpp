// `nullq check`: can this machine reach its smart hosts? Resolution (c-ares for MX, with MXPS) and a
// TCP connect test per address, with one verdict line each. SMTP smart hosts get a whole session
// without mail: banner, EHLO extensions, TLS (version, cipher, certificate and whether it
// verified) and AUTH, then QUIT, with the timeouts nullq-send uses (delivery.*, smtp.*_timeout).
// What would fail later is said now: a server that offers AUTH when none is configured (a warning:
// it may require it), and a scheme that does not fit what the server does on its port (smtp:// to
// an implicit-TLS port, smtps:// to a plain-text one), found by trying the other scheme once.
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "commands.hpp"
#include "route.hpp"
#include "nullq/clock_text.hpp"
#include "nullq/client.hpp"
#include "nullq/dns.hpp"
#include "nullq/environment.hpp"
#include "nullq/event.hpp"
#include "nullq/identity.hpp"
#include "nullq/queue.hpp"
#include "nullq/reply.hpp"
#include "nullq/send/router.hpp"
#include "nullq/send/status_file.hpp"
#include "nullq/send/tokens.hpp"
#include "oauth.hpp"
#include "../../send/smtp_tls.hpp"
#include "nullq_build_config.h"

namespace nullq::admin {

namespace {

// "5m", "90s", "1h" (as the configuration writes durations).
std::string seconds_text(std::chrono::milliseconds d) {
  const long long s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s > 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s > 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

// A smart host's `source:`, as nullq-send binds it: addresses of the other family are skipped
// (said, not a problem); none left to test is a problem, as it is the host's failure there.
struct Source {
  explicit Source(const config::SmartHost& h) : host(h), len(send::source_address(h, addr)) {}
  // True (and said) when `a` is of the other family.
  bool skips(const dns::Address& a, const std::string& text, std::FILE* out) const {
    if (len == 0 || a.addr.ss_family == addr.ss_family) return false;
    std::fprintf(out, "%s: %s skipped: source %s is %s\n", host.text.c_str(), text.c_str(), host.source.c_str(),
                 send::family_name(addr.ss_family));
    return true;
  }
  // After the addresses of `name`: 1 (and said) when the source left none of them.
  int none_left(std::size_t tested, const std::string& name, std::FILE* out) const {
    if (len == 0 || tested > 0) return 0;
    std::fprintf(out, "%s: no %s address of %s to reach from source %s\n", host.text.c_str(),
                 send::family_name(addr.ss_family), name.c_str(), host.source.c_str());
    return 1;
  }
  const config::SmartHost& host;
  sockaddr_storage addr;
  socklen_t len;
};

// "ok", "connection refused", "timed out", ... for one address, within delivery.connect_timeout,
// from the smart host's source address when it has one.
std::string connect_test(const sockaddr* sa, socklen_t len, std::chrono::milliseconds timeout, const Source& src) {
  int fd = ::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  std::string verdict = "ok";
  if (src.len > 0 && ::bind(fd, reinterpret_cast<const sockaddr*>(&src.addr), src.len) != 0) {
    verdict = "cannot bind the source address " + src.host.source + ": " + uv_strerror(uv_translate_sys_error(errno));
  } else if (::connect(fd, sa, len) != 0) {
    if (errno != EINPROGRESS) {
      verdict = std::strerror(errno);
    } else {
      pollfd p{fd, POLLOUT, 0};
      int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(timeout.count(), 24 * 3600 * 1000LL)));
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

// Runs one lookup to its end with the resolver nullq-send uses (c-ares; NULLQ_DNS_SERVERS in tests),
// so that check answers what the flusher would find.
template <class T, class Start>
Result<T> lookup(const std::string& what, Start start) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::optional<Result<T>> got;
  {
    const char* servers = nullq::environment::trusted_getenv("NULLQ_DNS_SERVERS");
    dns::Resolver r(&loop, dns::Options{5000, 2, servers ? servers : ""});
    start(r, [&got](Result<T> res) { got = std::move(res); });
    while (!got && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    r.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (!got) return Error::temporary(ErrorDomain::ares, "lookup of " + what + " did not finish");
  return std::move(*got);
}

// Tests every address of host:port (smart host `h`: an exchanger's name for mx://); returns the
// number of problems.
int check_host(const config::Config& cfg, const config::SmartHost& h, const std::string& host, std::uint16_t port,
               std::FILE* out) {
  const char* label = h.text.c_str();
  auto addrs = lookup<std::vector<dns::Address>>(
      host, [&host](dns::Resolver& r, dns::Resolver::HostCallback cb) { r.resolve_host(host, std::move(cb)); });
  if (!addrs || addrs->empty()) {
    std::fprintf(out, "%s: %s: %s\n", label, host.c_str(), addrs ? "no addresses" : addrs.error().message().c_str());
    return 1;
  }
  const Source src(h);
  int problems = 0;
  std::size_t tested = 0;
  for (dns::Address a : *addrs) {
    const bool v6 = a.addr.ss_family == AF_INET6;
    if (v6) reinterpret_cast<sockaddr_in6*>(&a.addr)->sin6_port = htons(port);
    else reinterpret_cast<sockaddr_in*>(&a.addr)->sin_port = htons(port);
    const std::string text = (v6 ? "[" + a.text + "]" : a.text) + ":" + std::to_string(port);
    if (src.skips(a, text, out)) continue;
    ++tested;
    std::string v = connect_test(reinterpret_cast<const sockaddr*>(&a.addr), a.len,
                                 std::chrono::duration_cast<std::chrono::milliseconds>(cfg.connect_timeout), src);
    std::fprintf(out, "%s: %s %s\n", label, text.c_str(), v.c_str());
    if (v != "ok") ++problems;
  }
  return problems + src.none_left(tested, host, out);
}

// What one session without mail learned.
struct Probe {
  std::string banner, tls, err;
  std::vector<std::string> ext;
  bool authed = false;
};

// The client's timeouts from the configuration (delivery.connect_timeout, delivery.timeout,
// delivery.session_max; the smtp.*_timeout are in `o`), as nullq-send uses them.
client::Timeouts timeouts_of(const config::Config& cfg) {
  using ms = std::chrono::milliseconds;
  client::Timeouts t;
  t.connect = std::chrono::duration_cast<ms>(cfg.connect_timeout);
  t.io = std::chrono::duration_cast<ms>(cfg.io_timeout);
  t.session = std::chrono::duration_cast<ms>(cfg.session_max);
  return t;
}

// With `tokens` (an OAuth smart host), the access token comes from a token manager on this probe's
// loop, as nullq-send gets it: the helper or token_command runs, and its log lines go to `out`.
Probe probe(const client::Endpoint& ep, const client::Timeouts& t, client::SmtpOptions o,
            const send::TokenSettings* tokens = nullptr, std::FILE* out = nullptr, const std::string& label = {}) {
  event::Loop loop;
  bool closed = false;
  Probe p;
  std::shared_ptr<send::TokenManager> tm;
  if (tokens) {
    tm = send::TokenManager::make(loop, *tokens, [out, label](send::Priority, const std::string& line) {
      if (out) std::fprintf(out, "%s: token: %s\n", label.c_str(), line.c_str());
    });
    o.auth_token = tm;
  }
  client::SmtpConnection c(loop, ep, t, o, [] {}, [&closed] { closed = true; });
  c.probe();
  // The session keeps its own timeouts; this bound only guards against a session that never ends:
  // connect, banner, EHLO, STARTTLS, EHLO, AUTH (LOGIN takes three), QUIT.
  const auto bound = std::min<std::chrono::milliseconds>(t.session, t.connect + o.timeouts.banner +
                                                                        8 * o.timeouts.command + std::chrono::seconds(10));
  loop.run_until([&closed] { return closed; }, bound);
  p.banner = c.banner();
  p.ext = c.extensions();
  p.tls = c.tls_description();
  p.err = closed ? c.error() : "no end of the session within " + seconds_text(bound);
  p.authed = c.authenticated();
  if (tm) tm->close();
  return p;
}

// The same host under the other scheme, on the same port: smtps:// (TLS at once, certificate not
// checked: the question is only whether the server speaks TLS first) or smtp:// (no TLS, no AUTH:
// the question is only whether it greets in plain text).
std::optional<Probe> probe_other_scheme(const config::Config& cfg, const config::SmartHost& h,
                                        const client::Endpoint& ep) {
  config::Config alt = cfg;
  config::SmartHost o = h;
  o.port = h.effective_port();
  o.auth_user.clear();
  o.password.reset();
  o.allow_plaintext = false;
  if (h.protocol == config::Protocol::smtp) {
    o.protocol = config::Protocol::smtps;
    o.starttls = config::StartTls::opportunistic;
    o.tls.verify = false;
  } else {
    o.protocol = config::Protocol::smtp;
    o.starttls = config::StartTls::off;
  }
  alt.smarthosts = {o};
  std::vector<std::string> ignored;
  auto setup = send::make_smtp_setup(alt, ignored);
  if (!setup.ok()) return std::nullopt;
  auto opts = send::smtp_options(*setup, o, o.host, false);
  return probe(ep, timeouts_of(cfg), *opts);
}

// "smtp://relay.example.org:465" for the same host under `scheme`.
std::string with_scheme(const config::SmartHost& h, const char* scheme) {
  const bool v6 = h.host.find(':') != std::string::npos;
  return std::string(scheme) + "://" + (v6 ? "[" + h.host + "]" : h.host) + ":" + std::to_string(h.effective_port());
}

// A scheme that does not fit what the server does on that port: smtp:// where the server waits for
// a TLS handshake (port 465: no banner comes), or smtps:// where it greets in plain text (587, 25:
// OpenSSL reads the banner as a TLS record, "wrong version number"). Asked only when the session
// got no banner at all; "" when the other scheme does not work either.
std::string scheme_hint(const config::Config& cfg, const config::SmartHost& h, const client::Endpoint& ep,
                        const Probe& p) {
  if (!p.banner.empty() || p.err.empty()) return "";
  // No connection at all says nothing about the scheme.
  if (p.err == "connection refused" || p.err == "connection timed out" || p.err.rfind("cannot connect: ", 0) == 0)
    return "";
  auto other = probe_other_scheme(cfg, h, ep);
  if (!other || other->banner.empty()) return "";
  if (h.protocol == config::Protocol::smtp) {
    if (other->tls.empty()) return "";
    return "the server speaks TLS at once (implicit TLS, as on port 465) and sends no banner before it: use " +
           with_scheme(h, "smtps") + " instead of smtp://";
  }
  return "the server greets in plain text (" + other->banner +
         "), it does not speak TLS at once: use " + with_scheme(h, "smtp") + " (STARTTLS) instead of smtps://";
}

// One SMTP session without mail against every address of an SMTP smart host.
int check_smtp(const config::Config& cfg, const send::SmtpSetup& setup, const config::SmartHost& h, std::FILE* out) {
  auto addrs = lookup<std::vector<dns::Address>>(
      h.host, [&h](dns::Resolver& r, dns::Resolver::HostCallback cb) { r.resolve_host(h.host, std::move(cb)); });
  if (!addrs || addrs->empty()) {
    std::fprintf(out, "%s: %s: %s\n", h.text.c_str(), h.host.c_str(), addrs ? "no addresses" : addrs.error().message().c_str());
    return 1;
  }
  int problems = 0;
  auto opts = send::smtp_options(setup, h, h.host, false);
  const bool oauth = h.oauth.flow != config::OAuthFlow::none;
  const send::TokenSettings tokens = oauth ? send::token_settings(cfg, h) : send::TokenSettings{};
  const char* l = h.text.c_str();
  if (oauth) {
    bool usable = true;
    std::fprintf(out, "%s: OAuth %s (%s): %s\n", l, config::to_string(h.oauth.flow), config::to_string(h.oauth.provider),
                 oauth_store_summary(cfg, h, usable).c_str());
  }
  const Source src(h);
  std::size_t tested = 0;
  for (const auto& a : *addrs) {
    client::Endpoint ep = send::make_endpoint(a, h.effective_port());
    if (src.skips(a, ep.text, out)) continue;
    ++tested;
    ep.source = src.addr;
    ep.source_len = src.len;
    Probe p = probe(ep, timeouts_of(cfg), *opts, oauth ? &tokens : nullptr, out, h.text);
    std::fprintf(out, "%s: %s banner: %s\n", l, ep.text.c_str(), p.banner.empty() ? "(none)" : p.banner.c_str());
    std::string offered_auth;
    if (!p.ext.empty()) {
      std::string e;
      for (const auto& x : p.ext) {
        e += (e.empty() ? "" : ", ") + x;
        if (x == "AUTH" || x.rfind("AUTH ", 0) == 0) offered_auth = x;
      }
      std::fprintf(out, "%s: %s extensions: %s\n", l, ep.text.c_str(), e.c_str());
    }
    std::fprintf(out, "%s: %s TLS: %s\n", l, ep.text.c_str(), p.tls.empty() ? "none" : p.tls.c_str());
    if (!h.auth_user.empty())
      std::fprintf(out, "%s: %s AUTH as %s: %s\n", l, ep.text.c_str(), h.auth_user.c_str(), p.authed ? "ok" : "not done");
    else if (!offered_auth.empty())
      std::fprintf(out,
                   "%s: %s warning: the server offers %s but no auth is configured; if it requires AUTH, every "
                   "MAIL will be refused: add auth: {user: NAME, password_file: FILE} to this smart host\n",
                   l, ep.text.c_str(), offered_auth.c_str());
    if (p.err.empty()) {
      std::fprintf(out, "%s: %s ok\n", l, ep.text.c_str());
      continue;
    }
    std::string why = p.err;
    // No banner before the timeout: name the setting, so that a slow greeter can be given longer.
    if (p.banner.empty() && p.tls.empty() && why == "timed out waiting for the server" &&
        h.protocol == config::Protocol::smtp)
      why = "no banner within " + seconds_text(opts->timeouts.banner) + " (smtp.banner_timeout)";
    // The scheme's hint replaces OpenSSL's "wrong version number"; a missing banner stays said.
    if (std::string hint = scheme_hint(cfg, h, ep, p); !hint.empty())
      why = h.protocol == config::Protocol::smtp ? why + "; " + hint : hint;
    std::fprintf(out, "%s: %s problem: %s\n", l, ep.text.c_str(), why.c_str());
    ++problems;
  }
  return problems + src.none_left(tested, h.host, out);
}

}  // namespace

int check_smtp_host(const config::Config& cfg, const config::SmartHost& h, std::FILE* out) {
  std::vector<std::string> warnings;
  auto setup = send::make_smtp_setup(cfg, warnings);
  for (const auto& w : warnings) std::fprintf(out, "warning: %s\n", w.c_str());
  if (!setup.ok()) {
    std::fprintf(out, "%s\n", setup.error().message().c_str());
    return 1;
  }
  return check_smtp(cfg, *setup, h, out);
}


// The spool as nullq-send needs it: there, a directory, the nullq user's when it is the compiled-in
// one (a private spool belongs to whoever runs it), with its trigger FIFO. Returns the problems.
int check_spool(const config::Config& cfg, std::FILE* out) {
  queue::Spool s{cfg.queue_dir};
  struct stat st {};
  if (::stat(s.dir.c_str(), &st) != 0) {
    int e = errno;
    std::fprintf(out, "spool: %s: %s\n", s.dir.c_str(),
                 e == ENOENT ? "does not exist: is nullq installed? (queue.dir)" : std::strerror(e));
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    std::fprintf(out, "spool: %s: not a directory\n", s.dir.c_str());
    return 1;
  }
  auto user = identity::user_by_uid(st.st_uid);
  std::string owner = user ? user->login : "uid " + std::to_string(st.st_uid);
  int problems = 0;
  if (s.dir == NULLQ_SPOOL_DIR && owner != NULLQ_USER) {
    std::fprintf(out, "spool: %s is owned by %s, not %s (chown %s %s)\n", s.dir.c_str(), owner.c_str(), NULLQ_USER,
                 NULLQ_USER, s.dir.c_str());
    ++problems;
  }
  struct stat ft {};
  bool present = ::lstat(s.trigger().c_str(), &ft) == 0;
  int e = errno;
  if (!present || !S_ISFIFO(ft.st_mode)) {
    std::fprintf(out, "spool: %s: %s\n", s.trigger().c_str(),
                 present ? "not a FIFO" : e == ENOENT ? "the trigger FIFO is missing" : std::strerror(e));
    ++problems;
  }
  if (problems == 0) std::fprintf(out, "spool: %s ok (owner %s, trigger FIFO)\n", s.dir.c_str(), owner.c_str());
  return problems;
}

namespace {

// What the running nullq-send holds back now (its status file): a smart host out of its quota or
// daily count, slowed by throttling answers, or backing off after failures of its own. Warnings,
// not problems: the configuration is fine, and the mail waits for the host (nullq status).
void print_host_states(const config::Config& cfg, std::FILE* out) {
  const send::StatusRead st = send::read_status(queue::Spool{cfg.queue_dir});
  if (st.liveness != send::Liveness::running) return;
  for (const auto& h : st.snapshot.hosts) {
    if (h.state == "up") continue;
    std::string line = h.host + " is " + h.state + " by the running nullq-send";
    if (h.until) line += " until " + clock_text(*h.until);
    if (!h.reason.empty()) line += ": " + h.reason;
    std::fprintf(out, "warning: %s\n", proto::sanitize(line).c_str());
  }
}

}  // namespace

int check(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  if (auto s = config::validate_for_delivery(cfg); !s) {
    std::fprintf(err, "nullq: %s\n", s.error().detail.c_str());
    return 78;
  }
  std::fprintf(out, "config: %s ok (hostname %s, spool %s)\n", cfg.path.c_str(), cfg.hostname.c_str(), cfg.queue_dir.c_str());
  print_route_table(cfg, out);
  int problems = check_spool(cfg, out);
  print_host_states(cfg, out);
  // Secrets and TLS as nullq-send loads them (check may read the password_file too).
  config::Config sc = cfg;
  if (auto sec = config::load_secrets(sc); !sec.ok()) {
    std::fprintf(out, "%s\n", sec.error().message().c_str());
    ++problems;
  }
  std::vector<std::string> warnings;
  auto setup = send::make_smtp_setup(sc, warnings);
  for (const auto& w : warnings) std::fprintf(out, "warning: %s\n", w.c_str());
  if (!setup.ok()) {
    std::fprintf(out, "%s\n", setup.error().message().c_str());
    ++problems;
  }
  for (const auto& h : sc.smarthosts) {
    if (h.is_smtp()) {
      // A secret that could not be read was said above.
      if (!setup.ok() || (!h.password_file.empty() && !h.password)) continue;
      if (!h.oauth.client_secret_file.empty() && !h.oauth.client_secret) continue;
      problems += check_smtp(sc, *setup, h, out);
      continue;
    }
    if (h.protocol != config::Protocol::mx) {
      problems += check_host(sc, h, h.host, h.effective_port(), out);
      continue;
    }
    auto mx = lookup<std::vector<dns::Exchanger>>(
        h.host, [&h](dns::Resolver& r, dns::Resolver::MxCallback cb) { r.resolve_mx(h.host, std::move(cb)); });
    if (!mx) {
      std::fprintf(out, "%s: %s\n", h.text.c_str(), mx.error().message().c_str());
      ++problems;
      continue;
    }
    if (mx->size() == 1 && (mx->front().host.empty() || mx->front().host == ".")) {
      std::fprintf(out, "%s: null MX: the domain accepts no mail (RFC 7505)\n", h.text.c_str());
      ++problems;
      continue;
    }
    for (const auto& x : *mx) {
      if (!dns::mxps_qmtp(x.preference)) {
        std::fprintf(out, "%s: mx %s preference %u: SMTP\n", h.text.c_str(), x.host.c_str(), x.preference);
        problems += check_host(sc, h, x.host, send::mx_smtp_port(), out);
        continue;
      }
      std::fprintf(out, "%s: mx %s preference %u: QMTP (MXPS), SMTP when QMTP cannot connect\n", h.text.c_str(),
                   x.host.c_str(), x.preference);
      problems += check_host(sc, h, x.host, dns::mxps_qmtp_port(), out);
    }
  }
  if (problems == 0) std::fputs("nullq check: OK\n", out);
  else std::fprintf(out, "nullq check: %d problem(s)\n", problems);
  return problems == 0 ? 0 : 1;
}

}  // namespace nullq::admin

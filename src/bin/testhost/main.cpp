// nullq-testhost: the test smart host as a program (integration scripts, the README demo).
// Always stops by itself: after --count messages (exit 0) or at --timeout (exit 1).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "nullq/testcerts.hpp"
#include "nullq/testhost.hpp"
#include "nullq/testhost_idp.hpp"
#include "nullq_build_config.h"

namespace {

std::atomic<bool> got_term{false};
extern "C" void on_term(int) { got_term = true; }

constexpr const char* usage_text =
    "usage: nullq-testhost [--bind 127.0.0.1|::1] [--qmtp] [--qmqp] [--script S] "
    "[--smtp] [--smtps] [--caps LIST] [--auth USER:PASSFILE]... [--cert PEM --key PEM] "
    "[--smtp-script S] [--refuse-long-lines] [--store DIR] [--max-message BYTES] [--count N] [--timeout SECONDS] "
    "[--limit-connections N] [--limit-per-connection N] [--limit-rate N/MS] [--limit-quota N/MS] "
    "[--ready-file PATH]\n       [--idp --cert PEM --key PEM [--idp-client ID:SECRETFILE]... [--idp-user USER] [--token-lifetime SECONDS]]\n       nullq-testhost --make-certs DIR\n       nullq-testhost --help | --version\n";

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "nullq-testhost: %s\n%s", why.c_str(), usage_text);
  std::exit(64);
}

long number(const char* flag, const char* v) {
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (!*v || *end || n < 0) usage(std::string("bad number for ") + flag + ": " + v);
  return n;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// USER:PASSFILE: the password is the file's first line, so that it is never in argv.
void add_credentials(nullq::testhost::Options& opt, const std::string& spec) {
  std::size_t colon = spec.find(':');
  if (colon == 0 || colon == std::string::npos || colon + 1 == spec.size())
    usage("--auth wants USER:PASSFILE, not " + spec);
  std::string file = spec.substr(colon + 1);
  std::ifstream in(file);
  std::string password;
  if (!in || !std::getline(in, password)) usage("cannot read the password file " + file);
  opt.credentials[spec.substr(0, colon)] = password;
}

// ID:SECRETFILE: the client secret is the file's first line (an empty file: a public client).
void add_idp_client(nullq::testhost::IdpOptions& idp, const std::string& spec) {
  std::size_t colon = spec.find(':');
  if (colon == 0 || colon == std::string::npos || colon + 1 == spec.size())
    usage("--idp-client wants ID:SECRETFILE, not " + spec);
  std::string file = spec.substr(colon + 1);
  std::ifstream in(file);
  std::string secret;
  if (!in) usage("cannot read the client secret file " + file);
  std::getline(in, secret);
  idp.clients[spec.substr(0, colon)] = secret;
}

}  // namespace

int main(int argc, char** argv) {
  nullq::testhost::Options opt;
  opt.qmtp = opt.qmqp = false;
  std::string store, ready, make_certs;
  bool idp_on = false;
  nullq::testhost::IdpOptions idp_opt;
  long count = 0, timeout = 60;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--help") {
      std::fputs(usage_text, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("nullq-testhost %s\n", NULLQ_VERSION);
      return 0;
    } else if (a == "--bind") opt.bind = value();
    else if (a == "--qmtp") opt.qmtp = true;
    else if (a == "--qmqp") opt.qmqp = true;
    else if (a == "--script") opt.script = value();
    else if (a == "--store") store = value();
    else if (a == "--max-message") opt.max_message = static_cast<std::size_t>(number("--max-message", value()));
    else if (a == "--count") count = number("--count", value());
    else if (a == "--timeout") timeout = number("--timeout", value());
    else if (a == "--ready-file") ready = value();
    else if (a == "--smtp") opt.smtp = true;
    else if (a == "--smtps") opt.smtps = true;
    else if (a == "--caps") {
      auto caps = nullq::testhost::parse_caps(value());
      if (!caps) usage(caps.error().message());
      opt.caps = *caps;
    } else if (a == "--auth") add_credentials(opt, value());
    else if (a == "--cert") opt.cert_file = value();
    else if (a == "--key") opt.key_file = value();
    else if (a == "--smtp-script") opt.smtp_script = value();
    else if (a == "--refuse-long-lines") opt.refuse_long_lines = true;
    else if (a == "--make-certs") make_certs = value();
    // Provider-like limits (testhost.hpp ServerLimits); "refusals N" is printed when it stops.
    else if (a == "--limit-connections") opt.limits.connections = static_cast<unsigned>(number(a.c_str(), value()));
    else if (a == "--limit-per-connection") opt.limits.per_connection = static_cast<unsigned>(number(a.c_str(), value()));
    else if (a == "--limit-rate" || a == "--limit-quota") {
      std::string v = value();
      std::size_t slash = v.find('/');
      if (slash == std::string::npos) usage(a + " wants N/MS (messages per window of MS milliseconds), not " + v);
      unsigned count_per = static_cast<unsigned>(number(a.c_str(), v.substr(0, slash).c_str()));
      std::chrono::milliseconds window(number(a.c_str(), v.substr(slash + 1).c_str()));
      if (a == "--limit-rate") {
        opt.limits.rate = count_per;
        opt.limits.rate_window = window;
      } else {
        opt.limits.quota = count_per;
        opt.limits.quota_window = window;
      }
    }
    else if (a == "--idp") idp_on = true;
    else if (a == "--idp-client") add_idp_client(idp_opt, value());
    else if (a == "--idp-user") idp_opt.user = value();
    else if (a == "--token-lifetime") idp_opt.token_lifetime = static_cast<int>(number("--token-lifetime", value()));
    else usage("unknown option '" + a + "'");
  }
  if (!make_certs.empty()) {
    auto made = nullq::testhost::make_certs(make_certs);
    if (!made) {
      std::fprintf(stderr, "nullq-testhost: %s\n", made.error().message().c_str());
      return 73;
    }
    std::printf("certificates in %s: ca.pem server.pem wrong-name.pem expired.pem client.pem other-ca.pem (keys: *.key)\n",
                make_certs.c_str());
    return 0;
  }
  if (!opt.qmtp && !opt.qmqp && !opt.smtp && !opt.smtps && !idp_on) opt.qmtp = opt.qmqp = true;
  if (idp_on && (opt.cert_file.empty() || opt.key_file.empty())) usage("--idp needs --cert and --key");
  if (idp_opt.token_lifetime <= 0) usage("--token-lifetime must be positive");
  if (timeout <= 0) usage("--timeout must be positive");

  std::mutex out_mu;
  std::size_t stored = 0;
  opt.on_message = [&](const nullq::testhost::Received& r) {
    std::lock_guard lock(out_mu);
    std::string smtp;
    if (r.protocol == "smtp" || r.protocol == "smtps")
      smtp = " code=" + std::to_string(r.final_code) + " tls=" + (r.tls ? "yes" : "no") +
             " auth=" + (r.auth_user.empty() ? "-" : r.auth_user) + " conn=" + std::to_string(r.connection) +
             " msg=" + std::to_string(r.index_in_connection) + (r.pipelined ? " pipelined" : "") +
             (r.bare_lf ? " bare-lf" : "");
    std::printf("received %s from=<%s> to=%s bytes=%zu answer=%s%s\n", r.protocol.c_str(), r.sender.c_str(),
                join(r.recipients).c_str(), r.message.size(), r.answers.c_str(), smtp.c_str());
    std::fflush(stdout);
    if (!store.empty()) {
      std::ofstream f(store + "/" + std::to_string(++stored) + ".eml", std::ios::binary);
      f << "X-Testhost-Protocol: " << r.protocol << "\nX-Testhost-Sender: <" << r.sender << ">\n";
      for (const auto& rc : r.recipients) f << "X-Testhost-Recipient: <" << rc << ">\n";
      f << r.message;
    }
  };

  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<nullq::testhost::Idp> idp;
  if (idp_on) {
    idp_opt.bind = opt.bind;
    idp_opt.cert_file = opt.cert_file;
    idp_opt.key_file = opt.key_file;
    auto started = nullq::testhost::Idp::start(idp_opt);
    if (!started) {
      std::fprintf(stderr, "nullq-testhost: %s\n", started.error().message().c_str());
      return 71;
    }
    idp = std::move(*started);
    // The SMTP side takes XOAUTH2/OAUTHBEARER with the tokens this identity provider issued (the
    // server below is stopped before the provider).
    opt.oauth_check = [p = idp.get()](std::string_view u, std::string_view t) { return p->check_token(u, t); };
  }
  bool mail = opt.qmtp || opt.qmqp || opt.smtp || opt.smtps;
  auto server = mail ? nullq::testhost::Server::start(opt) : nullq::Result<std::unique_ptr<nullq::testhost::Server>>(nullptr);
  if (!server) {
    std::fprintf(stderr, "nullq-testhost: %s\n", server.error().message().c_str());
    return 71;
  }
  std::string lines;
  if (idp) lines += "idp " + opt.bind + " " + std::to_string(idp->port()) + "\n";
  if (opt.qmtp) lines += "qmtp " + opt.bind + " " + std::to_string((*server)->qmtp_port()) + "\n";
  if (opt.qmqp) lines += "qmqp " + opt.bind + " " + std::to_string((*server)->qmqp_port()) + "\n";
  if (opt.smtp) lines += "smtp " + opt.bind + " " + std::to_string((*server)->smtp_port()) + "\n";
  if (opt.smtps) lines += "smtps " + opt.bind + " " + std::to_string((*server)->smtps_port()) + "\n";
  {
    std::lock_guard lock(out_mu);
    std::fputs(lines.c_str(), stdout);
    std::fflush(stdout);
  }
  if (!ready.empty()) {
    std::string tmp = ready + ".tmp";
    std::ofstream(tmp) << lines;
    if (std::rename(tmp.c_str(), ready.c_str()) != 0) {
      std::perror("nullq-testhost: ready file");
      return 73;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  auto stop_all = [&] {
    if (*server) (*server)->stop();
    const auto& l = opt.limits;
    if (*server && (l.connections || l.per_connection || l.rate || l.quota)) {
      std::lock_guard lock(out_mu);
      std::printf("refusals %u\n", (*server)->refusals());
      std::fflush(stdout);
    }
    if (idp) idp->stop();
  };
  while (!got_term) {
    if (count > 0 && *server && (*server)->wait_for(static_cast<std::size_t>(count), std::chrono::milliseconds(50))) {
      stop_all();
      return 0;
    }
    if (count == 0 || !*server) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(stderr, "nullq-testhost: timed out after %ld s with %zu messages\n", timeout,
                   *server ? (*server)->received().size() : std::size_t{0});
      stop_all();
      return 1;
    }
  }
  stop_all();
  return 0;
}

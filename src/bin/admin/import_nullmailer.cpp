// nullmailer's /etc/nullmailer -> nullq.yaml: the writing half (nullmailer_files.cpp reads the files;
// see import_nullmailer.hpp for the formats).
#include "import_nullmailer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "nullmailer_files.hpp"
#include "nullq/queue.hpp"

namespace nullq::admin {

namespace {

std::string duration(unsigned long long s) {
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string url_host(const std::string& h) { return h.find(':') != std::string::npos ? "[" + h + "]" : h; }

// Why `dir` cannot take password files ("" when it can be tried).
std::string password_dir_problem(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int e = errno;
    return e == ENOENT ? "does not exist: create it (mkdir -m 0750 " + dir + ") or name another" : std::strerror(e);
  }
  return S_ISDIR(st.st_mode) ? "" : "is not a directory";
}

// Writes `password` to a new file in `dir` named after the host; never replaces a file (a
// different one of the same name gets a suffix), never leaves a partial one. Returns the path.
Result<std::string> write_password(const std::string& dir, const std::string& host, const std::string& password,
                                   std::string& owner) {
  std::string base;
  for (char c : host) base.push_back(c == ':' ? '_' : c);
  std::string tmp = dir + "/.import-" + queue::make_id();
  int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error::from_errno(errno, "create " + tmp);
  auto fail = [&](int e, const std::string& what) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error::from_errno(e, what);
  };
  std::string text = password + "\n";
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return fail(errno ? errno : EIO, "write " + tmp);
  owner.clear();
  if (::geteuid() == 0) {
    // Readable by nullq-send and `nullq check` (group nullq), never by the users who run sendmail.
    if (const group* g = ::getgrnam("nullq"); g != nullptr) {
      if (::fchown(fd, 0, g->gr_gid) != 0) return fail(errno, "chown " + tmp);
      owner = "root:nullq";
    }
  }
  if (::fchmod(fd, 0640) != 0) return fail(errno, "chmod " + tmp);
  if (::fsync(fd) != 0) return fail(errno, "fsync " + tmp);
  ::close(fd);
  std::string path;
  for (int n = 1; n < 100; ++n) {
    path = dir + "/" + base + (n == 1 ? std::string() : "-" + std::to_string(n)) + ".password";
    if (::link(tmp.c_str(), path.c_str()) == 0) break;
    int e = errno;
    if (e != EEXIST) {
      ::unlink(tmp.c_str());
      return Error::from_errno(e, "link " + path);
    }
    int same_error = 0;
    auto existing = read_control(path, same_error);
    if (existing && *existing == text) break;  // written by an earlier run: use it as it is
    path.clear();
  }
  ::unlink(tmp.c_str());
  if (path.empty()) return Error::permanent(ErrorDomain::sys, "no free name for " + dir + "/" + base + ".password");
  if (auto s = queue::fsync_dir(dir); !s) return std::move(s).error();
  return path;
}

struct Globals {
  std::string me, defaulthost, defaultdomain, idhost, adminaddr, allmailfrom, helohost, doublebounceto, bounceto;
  std::optional<unsigned long long> pausetime, maxpause, queuelifetime, sendtimeout;
  bool bouncelines = false;
};

// nullmailer's canonicalize(): a host without a dot (except localhost) gets ".defaultdomain".
std::string canonical(const std::string& host, const std::string& defaultdomain) {
  if (host.empty() || defaultdomain.empty() || host.find('.') != std::string::npos || host == "localhost") return host;
  return host + "." + defaultdomain;
}

void comment(std::string& y, const std::string& indent, const std::string& text) { y += indent + "# " + text + "\n"; }

// nullmailer's source= as nullq's `source:` (indented by `in`): an address carries over; a host
// name does not (nullq binds an address it is given, it resolves none), so it is left as a comment.
bool source_is_address(const Remote& r) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, r.source.c_str(), buf) == 1 || ::inet_pton(AF_INET6, r.source.c_str(), buf) == 1;
}

std::string source_key(const Remote& r, const std::string& in, const std::string& where, Report& rep) {
  if (r.source.empty()) return {};
  if (source_is_address(r)) return in + "source: " + yaml_scalar(r.source) + "\n";
  rep.warn(where, "source=" + r.source + ": nullq's source: takes a local address, not a host name (left out)");
  return in + "# source " + yaml_scalar(r.source) + ": nullq's source: takes a local address; put this host's address here\n";
}

void emit_remote(std::string& y, const Remote& r, const std::string& password_file, const std::string& where,
                 Report& rep) {
  const std::string in = "    ";
  if (r.dropped) {
    for (const auto& c : r.comments) comment(y, "  ", c);
    return;
  }
  comment(y, "  ", "remotes line " + std::to_string(r.line));
  for (const auto& c : r.comments) comment(y, "  ", c);
  std::string body;  // keys of the long form
  std::string url;
  if (r.proto == "qmqp") {
    url = "qmqp://" + url_host(r.host) + (r.port && r.port != 628 ? ":" + std::to_string(r.port) : "");
    if (r.tls || r.starttls) {
      // Taking it as plain QMQP would send in clear what nullmailer sent over TLS.
      rep.warn(where, "QMQP over TLS: nullq's QMQP has no TLS, so this remote is left out (commented)");
      comment(y, "  ", "nullmailer spoke QMQP over TLS here; nullq's QMQP has no TLS. Uncomment to send in clear,");
      comment(y, "  ", "or use qmtp:// or smtps:// if the server offers them.");
      y += "  # - " + url + "\n";
      return;
    }
    if (!r.user.empty() || !r.pass.empty() || r.auth_login)
      comment(y, "  ", "user/pass/auth-login: QMQP has no authentication (nullmailer ignored them too)");
    if (!r.source.empty() && source_is_address(r)) {
      y += "  - url: " + url + "\n" + source_key(r, in, where, rep);
    } else {
      y += source_key(r, "  ", where, rep);  // a comment, above the short form
      y += "  - " + url + "\n";
    }
    return;
  }
  // smtp
  unsigned def = r.tls ? 465 : 25;
  url = std::string(r.tls ? "smtps://" : "smtp://") + url_host(r.host) + (r.port && r.port != def ? ":" + std::to_string(r.port) : "");
  if (r.tls && r.starttls) body += in + "# ssl/tls and starttls: nullmailer used TLS from the start and no STARTTLS\n";
  if (!r.tls) {
    if (r.starttls) {
      body += in + "starttls: required\n";
    } else if (r.port == 587) {
      body += in + "# nullmailer used no STARTTLS here; port 587 alone would make nullq require it\n";
      body += in + "starttls: opportunistic\n";
    } else {
      body += in + "# nullmailer used no STARTTLS here; nullq uses it whenever the server offers it\n";
    }
  }
  if (!r.user.empty() && !r.pass.empty()) {
    body += in + "auth:\n";
    if (r.auth_login)
      body += in + "  # auth-login: nullq picks PLAIN or LOGIN from what the server offers\n";
    if (!r.tls && !r.starttls)
      body += in + "  # nullq sends the password only over TLS; nullmailer sent it in clear when STARTTLS was off\n";
    body += in + "  user: " + yaml_scalar(r.user) + "\n";
    body += in + "  password_file: " + yaml_scalar(password_file) + "\n";
  } else if (!r.user.empty() || !r.pass.empty()) {
    rep.warn(where, std::string(r.user.empty() ? "pass" : "user") +
                        "= without the other: nullmailer did not authenticate, nor will nullq");
    body += in + "# " + (r.user.empty() ? "pass" : "user") + " without the other: no authentication\n";
  } else if (r.auth_login) {
    body += in + "# auth-login without user/pass: nothing to carry over\n";
  }
  std::string tls;
  if (r.insecure) tls += in + "  verify: false\n";
  if (!r.ca_file.empty()) tls += in + "  ca_file: " + yaml_scalar(r.ca_file) + "\n";
  if (!r.cert_file.empty()) {
    tls += in + "  cert_file: " + yaml_scalar(r.cert_file) + "\n";
    // nullmailer's x509keyfile defaults to the certificate file itself.
    tls += in + "  key_file: " + yaml_scalar(r.key_file.empty() ? r.cert_file : r.key_file) + "\n";
  } else if (!r.key_file.empty()) {
    rep.warn(where, "x509keyfile= without x509certfile=: no client certificate (left out)");
    body += in + "# x509keyfile without x509certfile: no client certificate, left out\n";
  }
  if (!tls.empty()) body += in + "tls:\n" + tls;
  for (const std::string& p : {r.ca_file, r.cert_file, r.key_file})
    if (!p.empty() && p[0] != '/') rep.warn(where, "'" + p + "' is not an absolute path; nullq needs one");
  if (!r.crl_file.empty()) {
    rep.warn(where, "x509crlfile=: nullq does not check revocation lists (left out)");
    body += in + "# x509crlfile " + yaml_scalar(r.crl_file) + ": nullq does not check revocation lists (left out)\n";
  }
  if (r.der) {
    rep.warn(where, "x509fmtder: nullq reads PEM files only; convert them (openssl x509 -inform der)");
    body += in + "# x509fmtder: nullq reads PEM only; convert the files (openssl x509 -inform der -out FILE.pem)\n";
  }
  if (r.anon) {
    rep.warn(where, "tls-anon-auth: nullq has no anonymous TLS (left out)");
    body += in + "# tls-anon-auth: nullq has no anonymous TLS (left out)\n";
  }
  body += source_key(r, in, where, rep);
  bool has_keys = false;
  for (std::size_t i = 0; i < body.size();) {
    std::size_t e = body.find('\n', i);
    if (body.compare(i, in.size() + 1, in + "#") != 0) has_keys = true;
    i = e + 1;
  }
  if (!has_keys) {
    // Only comments: the short form, comments above it.
    for (std::size_t i = 0; i < body.size();) {
      std::size_t e = body.find('\n', i);
      y += "  " + body.substr(i + in.size(), e - i - in.size()) + "\n";
      i = e + 1;
    }
    y += "  - " + url + "\n";
  } else {
    y += "  - url: " + url + "\n" + body;
  }
}

bool read_number(const std::optional<std::string>& text, const std::string& where, Report& rep,
                 std::optional<unsigned long long>& out) {
  if (!text) return true;
  std::string v = first_line(*text);
  if (v.empty()) return true;
  unsigned long long n = 0;
  if (!parse_number(v, n) || n > 10ull * 365 * 86400) {
    rep.warn(where, "'" + v + "' is not a number of seconds (nullmailer used its default; so does nullq)");
    return false;
  }
  out = n;
  return true;
}

}  // namespace

int import_config(const ImportOptions& opt, std::FILE* out, std::FILE* err) {
  struct stat st {};
  int dir_error = ::stat(opt.dir.c_str(), &st) != 0 ? errno : (S_ISDIR(st.st_mode) ? 0 : ENOTDIR);
  if (dir_error != 0) {
    std::fprintf(err, "nullq: cannot read %s: %s\n", opt.dir.c_str(), std::strerror(dir_error));
    return dir_error == EACCES ? 77 : 74;
  }
  Report rep;
  auto file = [&](const char* name) -> std::pair<std::optional<std::string>, int> {
    int e = 0;
    auto t = read_control(opt.dir + "/" + name, e);
    return {t, e};
  };
  // Read everything first: nothing is printed or written unless every file could be read.
  const char* names[] = {"remotes",       "me",          "defaulthost", "defaultdomain", "idhost",
                         "adminaddr",     "allmailfrom", "pausetime",   "maxpause",      "queuelifetime",
                         "sendtimeout",   "helohost",    "doublebounceto", "bounceto",   "bouncelines"};
  std::vector<std::optional<std::string>> texts;
  for (const char* n : names) {
    auto [t, e] = file(n);
    if (e != 0) {
      std::fprintf(err, "nullq: cannot read %s/%s: %s%s\n", opt.dir.c_str(), n, std::strerror(e),
                   e == EACCES ? " (run as root)" : "");
      return e == EACCES ? 77 : 74;
    }
    texts.push_back(std::move(t));
  }
  auto text = [&](const char* n) -> const std::optional<std::string>& {
    for (std::size_t i = 0; i < std::size(names); ++i)
      if (std::strcmp(names[i], n) == 0) return texts[i];
    std::abort();  // a name not in the table: a bug here
  };
  auto value = [&](const char* n) { return text(n) ? first_line(*text(n)) : std::string(); };
  auto where = [&](const char* n) { return opt.dir + "/" + n; };

  Globals g;
  g.me = value("me");
  g.defaulthost = value("defaulthost");
  g.defaultdomain = value("defaultdomain");
  g.idhost = value("idhost");
  g.adminaddr = value("adminaddr");
  g.allmailfrom = value("allmailfrom");
  g.helohost = value("helohost");
  g.doublebounceto = value("doublebounceto");
  g.bounceto = value("bounceto");
  g.bouncelines = !value("bouncelines").empty();
  read_number(text("pausetime"), where("pausetime"), rep, g.pausetime);
  read_number(text("maxpause"), where("maxpause"), rep, g.maxpause);
  read_number(text("queuelifetime"), where("queuelifetime"), rep, g.queuelifetime);
  read_number(text("sendtimeout"), where("sendtimeout"), rep, g.sendtimeout);

  std::vector<Remote> remotes;
  if (text("remotes")) remotes = parse_remotes(*text("remotes"), where("remotes"), rep);

  // Password files, before anything is printed: a YAML naming a file that is not there is worse
  // than no YAML.
  std::vector<std::string> password_files(remotes.size());
  for (std::size_t i = 0; i < remotes.size(); ++i) {
    const Remote& r = remotes[i];
    if (r.dropped || r.proto != "smtp" || r.user.empty() || r.pass.empty()) continue;
    // The directory itself, named as such (not the temporary file that could not be created in it).
    if (std::string why = password_dir_problem(opt.password_dir); !why.empty()) {
      std::fprintf(err, "nullq: the password directory %s (--password-dir) %s; the password for %s (remotes line %u) goes there\n",
                   opt.password_dir.c_str(), why.c_str(), r.host.c_str(), r.line);
      return why.rfind(std::strerror(EACCES), 0) == 0 ? 77 : 73;
    }
    std::string owner;
    auto p = write_password(opt.password_dir, r.host, r.pass, owner);
    if (!p) {
      std::fprintf(err, "nullq: cannot write the password for %s (remotes line %u): %s\n", r.host.c_str(), r.line,
                   p.error().message().c_str());
      const Error& e = p.error();
      return e.domain == ErrorDomain::sys && (e.code == EACCES || e.code == EPERM) ? 77 : 73;
    }
    password_files[i] = *p;
    rep.lines.push_back("nullq: the password for " + r.host + " (remotes line " + std::to_string(r.line) +
                        ") is in " + *p + " (mode 0640" + (owner.empty() ? "" : ", " + owner) + ")");
  }

  std::string y;
  y += "# nullq.yaml from nullmailer's configuration in " + opt.dir + " (nullq import-nullmailer).\n";
  y += "# Keys left out keep nullq's defaults (see /etc/nullq/nullq.yaml or nullq.yaml(5)).\n";

  // Names. nullmailer: me = this host; defaulthost qualifies addresses without a host (nullq's
  // domain); defaultdomain is appended to host names without a dot, defaulthost and idhost included.
  std::string host_key, domain_key, idhost_key;
  if (!g.me.empty()) {
    if (valid_host(g.me)) host_key = g.me;
    else rep.warn(where("me"), "'" + g.me + "' is not a host name (left out)");
  }
  if (!g.defaulthost.empty()) {
    std::string d = canonical(g.defaulthost, g.defaultdomain);
    if (valid_host(d)) domain_key = d;
    else rep.warn(where("defaulthost"), "'" + d + "' is not a host name (left out)");
  } else if (!g.me.empty() && canonical(g.me, g.defaultdomain) != g.me) {
    domain_key = canonical(g.me, g.defaultdomain);
  }
  if (!g.idhost.empty()) {
    std::string d = canonical(g.idhost, g.defaultdomain);
    if (valid_host(d)) idhost_key = d;
    else rep.warn(where("idhost"), "'" + d + "' is not a host name (left out)");
  } else if (!domain_key.empty() && domain_key != host_key) {
    idhost_key = domain_key;  // nullmailer's idhost defaults to the canonical defaulthost
  }
  if (!host_key.empty()) {
    comment(y, "", "from me (Debian's nullmailer reads /etc/mailname instead, as nullq does without this key)");
    y += "hostname: " + yaml_scalar(host_key) + "\n";
  }
  if (!domain_key.empty()) {
    const std::string& src = g.defaulthost.empty() ? g.me : g.defaulthost;
    std::string from = std::string(g.defaulthost.empty() ? "me" : "defaulthost") +
                       (canonical(src, g.defaultdomain) != src ? " + defaultdomain" : "");
    comment(y, "", "from " + from + ": completes addresses without a host (root -> root@" + domain_key + ")");
    y += "domain: " + yaml_scalar(domain_key) + "\n";
  }
  if (!idhost_key.empty()) {
    comment(y, "", g.idhost.empty() ? "nullmailer's Message-ID host defaulted to defaulthost" : "from idhost");
    y += "idhost: " + yaml_scalar(idhost_key) + "\n";
  }
  if (!g.defaultdomain.empty()) {
    comment(y, "", "defaultdomain " + yaml_scalar(g.defaultdomain) +
                       ": nullq leaves addresses like user@host (no dot) as written");
    rep.note(where("defaultdomain"), "nullq does not append it to host names without a dot in addresses");
  }
  if (!g.helohost.empty() && g.helohost != (host_key.empty() ? g.me : host_key)) {
    rep.warn(where("helohost"), "nullq greets with hostname; helohost is left out");
    comment(y, "", "helohost " + yaml_scalar(g.helohost) + ": nullq greets (HELO/EHLO) with hostname (left out)");
  }

  if (!g.adminaddr.empty()) {
    // nullmailer allows several, comma-separated; nullq's admin is one address.
    std::vector<std::string> list;
    std::size_t p = 0;
    while (p <= g.adminaddr.size()) {
      std::size_t c = g.adminaddr.find(',', p);
      std::string a = strip(std::string_view(g.adminaddr).substr(p, c == std::string::npos ? std::string::npos : c - p));
      if (!a.empty()) list.push_back(a);
      if (c == std::string::npos) break;
      p = c + 1;
    }
    if (!list.empty() && plain_address(list[0])) {
      comment(y, "", "from adminaddr: mail for root, other local users and @localhost goes here");
      if (list.size() > 1) {
        rep.warn(where("adminaddr"), "nullq's admin is one address; " + std::to_string(list.size() - 1) +
                                         " more left out (use a list address on the relay)");
        comment(y, "", "adminaddr listed " + std::to_string(list.size()) + " addresses; nullq takes one, the first");
      }
      y += "admin: " + yaml_scalar(list[0]) + "\n";
    } else {
      rep.warn(where("adminaddr"), "'" + g.adminaddr + "' is not a mail address (left out)");
    }
  }
  if (!g.allmailfrom.empty()) {
    if (plain_address(g.allmailfrom)) {
      y += "rewrite:\n";
      comment(y, "  ", "from allmailfrom: the envelope sender of every message (nullmailer left From: as it was)");
      y += "  sender: " + yaml_scalar(g.allmailfrom) + "\n";
    } else {
      rep.warn(where("allmailfrom"), "'" + g.allmailfrom + "' is not a mail address (left out)");
    }
  }

  y += "\n";
  std::size_t kept = 0;
  for (const auto& r : remotes) kept += r.dropped ? 0 : 1;
  if (remotes.empty()) {
    rep.warn(where("remotes"), text("remotes") ? "no remote listed" : "not found; no smart host to carry over");
    y += "# No remotes: nullq-send needs at least one smart host, e.g. qmtp://relay.example.org\n";
    y += "smarthosts: []\n";
  } else {
    y += "# From remotes, in order (tried in order, as nullmailer did).\n";
    y += kept == 0 ? "smarthosts: []\n" : "smarthosts:\n";
    for (std::size_t i = 0; i < remotes.size(); ++i)
      emit_remote(y, remotes[i], password_files[i], where("remotes") + ":" + std::to_string(remotes[i].line), rep);
  }

  // Times. nullmailer retries the whole queue every pausetime seconds, doubling up to maxpause;
  // nullq keeps a backoff per message, from retry_min doubling to retry_max.
  std::string q;
  if (g.queuelifetime) {
    if (*g.queuelifetime == 0) {
      rep.warn(where("queuelifetime"), "0 (bounce at the first temporary failure) has no nullq equivalent (left out)");
    } else {
      q += "  lifetime: " + duration(*g.queuelifetime) + "      # from queuelifetime\n";
    }
  }
  if (g.pausetime && *g.pausetime == 0) {
    rep.note(where("pausetime"), "0 made nullmailer-send run once and exit; run `nullq-send --once` from cron for that");
    q += "  # pausetime 0 (one queue run, then exit): use nullq-send --once from cron instead of the daemon\n";
  } else if (g.pausetime || g.maxpause) {
    unsigned long long min = g.pausetime.value_or(60), max = g.maxpause.value_or(86400);
    if (max == 0) max = min;
    if (max < min) max = min;  // nullmailer's first pause is pausetime even above maxpause
    q += "  # nullmailer paused pausetime seconds between queue runs, doubling up to maxpause;\n";
    q += "  # nullq waits per message, from retry_min doubling (with jitter) up to retry_max.\n";
    if (g.pausetime) q += "  retry_min: " + duration(min) + "\n";
    // Without maxpause, nullq's own cap (1h) stays unless retry_min needs a higher one.
    if (g.maxpause || min > 3600) q += "  retry_max: " + duration(g.maxpause ? max : min) + "\n";
  }
  if (!q.empty()) y += "queue:\n" + q;

  if (g.sendtimeout) {
    std::string d;
    if (*g.sendtimeout == 0) {
      d += "  # sendtimeout 0 (no limit): nullq always bounds a connection (session_max, default 1h)\n";
    } else {
      d += "  # sendtimeout bounded one whole delivery; nullq bounds each connection (session_max)\n";
      d += "  # and, separately, each read or write (timeout, default 60s)\n";
      d += "  session_max: " + duration(*g.sendtimeout) + "\n";
      if (*g.sendtimeout < 60) d += "  timeout: " + duration(*g.sendtimeout) + "\n";
    }
    y += "delivery:\n" + d;
  }

  if (!g.doublebounceto.empty() || !g.bounceto.empty() || g.bouncelines) {
    std::string b;
    if (!g.doublebounceto.empty()) {
      if (plain_address(g.doublebounceto)) {
        b += "  admin: " + yaml_scalar(g.doublebounceto) + "   # from doublebounceto\n";
      } else {
        rep.warn(where("doublebounceto"), "'" + g.doublebounceto + "' is not a mail address (left out)");
      }
    }
    if (!g.bounceto.empty()) {
      rep.warn(where("bounceto"), "nullq sends bounces to the sender; bounceto is left out");
      b += "  # bounceto " + yaml_scalar(g.bounceto) + ": nullq bounces to the envelope sender (left out)\n";
    }
    if (g.bouncelines) b += "  # bouncelines: nullq's bounces carry the original header, not a number of lines\n";
    y += "bounce:\n" + b;
  }

  std::fputs(y.c_str(), out);
  std::fflush(out);
  for (const auto& l : rep.lines) std::fprintf(err, "%s\n", l.c_str());
  return rep.lost ? 1 : 0;
}

int import_nullmailer(const std::vector<std::string>& args, const std::string& config_path, std::FILE* out,
                      std::FILE* err) {
  ImportOptions opt;
  bool dir_given = false;
  auto usage = [&](const std::string& why) {
    std::fprintf(err,
                 "nullq: %s\nusage: nullq import-nullmailer [--password-dir DIR] [NULLMAILER-DIR]\n"
                 "       nullq [--config PATH] import-nullmailer --queue [--spool NULLMAILER-SPOOL]\n",
                 why.c_str());
    return 64;
  };
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto take = [&](std::string& dst) {
      if (i + 1 >= args.size() || args[i + 1].empty()) return false;
      dst = args[++i];
      return true;
    };
    if (a == "--queue") opt.queue = true;
    else if (a == "--spool") {
      if (!take(opt.spool)) return usage("--spool needs a directory");
    } else if (a == "--password-dir") {
      if (!take(opt.password_dir)) return usage("--password-dir needs a directory");
    } else if (!a.empty() && a[0] == '-') {
      return usage("unknown option '" + a + "'");
    } else if (!dir_given) {
      opt.dir = a;
      dir_given = true;
    } else {
      return usage("import-nullmailer takes one directory");
    }
  }
  if (!opt.queue) return import_config(opt, out, err);
  if (dir_given) return usage("--queue reads nullmailer's spool (--spool), not its configuration directory");
  auto cfg = config::load(config_path);
  if (!cfg) {
    std::fprintf(err, "nullq: %s\n", cfg.error().detail.c_str());
    return 78;
  }
  return import_queue(opt, *cfg, out, err);
}

}  // namespace nullq::admin

// The YAML document -> Config, with every error naming file, line and key.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>

#include "nullq/config.hpp"
#include "nullq/environment.hpp"
#include "nullq/identity.hpp"
#include "nullq/printable.hpp"
#include "nullq/suggest.hpp"
#include "reader.hpp"
#include "nullq_build_config.h"

namespace nullq::config {

using detail::Fail;
using detail::Reader;
namespace keys = detail::keys;

namespace {

// The first line (1-based) at or before `last` (0-based, -1 = anywhere) whose indentation holds a tab; 0 if none.
int tab_indented_line(std::string_view text, int last) {
  int line = 0;
  for (std::size_t pos = 0; pos < text.size() && (last < 0 || line <= last); ++line) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    for (std::size_t i = pos; i < end && (text[i] == ' ' || text[i] == '\t'); ++i)
      if (text[i] == '\t') return line + 1;
    pos = end + 1;
  }
  return 0;
}


// starttls, auth and tls of one smart host mapping (SMTP only).
void read_smtp_keys(const Reader& r, const YAML::Node& item, SmartHost& h) {
  const bool smtp = h.is_smtp();
  for (const char* k : {"starttls", "auth", "tls"}) {
    if (item[k] && !smtp) r.fail(item[k], std::string("'") + k + "' is only for smtp:// and smtps:// smart hosts");
  }
  if (auto n = item["starttls"]) {
    std::string v = r.str(n, "starttls");
    if (h.protocol == Protocol::smtps) r.fail(n, "'starttls' does not apply to smtps:// (TLS from the start)");
    if (v == "required") h.starttls = StartTls::required;
    else if (v == "opportunistic") h.starttls = StartTls::opportunistic;
    else if (v == "off") h.starttls = StartTls::off;
    else r.fail(n, "'starttls' must be required, opportunistic or off, not '" + v + "'");
  }
  if (auto a = item["auth"]) detail::read_auth(r, a, h);
  if (auto t = item["tls"]) {
    r.check_keys(t, "tls", keys::tls);
    h.tls_configured = true;
    if (auto n = t["verify"]) h.tls.verify = r.boolean(n, "tls.verify");
    auto path = [&](const char* key, std::string& out) {
      if (auto n = t[key]) {
        out = r.str(n, std::string("tls.") + key);
        if (out.empty() || out[0] != '/') r.fail(n, std::string("'tls.") + key + "' must be an absolute path");
      }
    };
    path("ca_file", h.tls.ca_file);
    path("cert_file", h.tls.cert_file);
    path("key_file", h.tls.key_file);
    if (h.tls.cert_file.empty() != h.tls.key_file.empty())
      r.fail(t, "'tls.cert_file' and 'tls.key_file' go together");
    if (auto n = t["min_version"]) {
      std::string v = r.str(n, "tls.min_version");
      if (v == "1.2") h.tls.min_version = TlsVersion::tls1_2;
      else if (v == "1.3") h.tls.min_version = TlsVersion::tls1_3;
      else r.fail(n, "'tls.min_version' must be 1.2 or 1.3, not '" + v + "'");
    }
  }
}

void read_smarthosts(const Reader& r, const YAML::Node& list, Config& c) {
  if (list.IsNull()) return;
  if (!list.IsSequence()) r.fail(list, "'smarthosts' must be a list, e.g. [qmtp://relay.example.org]");
  // (an SMTP smart host given as a plain string keeps the defaults of its URL)
  for (const auto& item : list) {
    if (item.IsMap()) {
      r.check_keys(item, "smarthosts[]", keys::smarthost);
      if (!item["url"]) r.fail(item, "a smart host mapping needs 'url'");
    }
    // (yaml-cpp's Node::operator= writes through to the document, so no reassigned Node here.)
    const YAML::Node url_node = item.IsMap() ? item["url"] : item;
    auto parsed = parse_smarthost(r.str(url_node, "smarthosts"));
    if (!parsed) r.fail(url_node, parsed.error().detail);
    SmartHost h = *parsed;
    if (item.IsMap()) {
      if (item["connections"]) h.connections = r.count(item["connections"], "connections", 1, 1000);
      if (item["pipeline"]) h.pipeline = r.count(item["pipeline"], "pipeline", 1, 10000);
      detail::read_limits(r, item, h);
      read_smtp_keys(r, item, h);
      detail::read_host_routing(r, item, h);
    }
    if (h.name.empty()) h.name = h.text;
    c.smarthosts.push_back(std::move(h));
  }
}

void read_delivery(const Reader& r, const YAML::Node& s, Config& c) {
  r.check_keys(s, "delivery", keys::delivery);
  if (auto n = s["connections"]) c.connections = r.count(n, "delivery.connections", 1, 10000);
  if (auto n = s["connect_timeout"]) c.connect_timeout = r.duration(n, "delivery.connect_timeout", false);
  if (auto n = s["timeout"]) c.io_timeout = r.duration(n, "delivery.timeout", false);
  if (auto n = s["session_max"]) c.session_max = r.duration(n, "delivery.session_max", false);
  if (auto n = s["cooldown"]) c.cooldown = r.duration(n, "delivery.cooldown", true);
  if (auto n = s["memory"]) c.memory = r.size(n, "delivery.memory");
  if (auto n = s["without_daemon"]) {
    std::string v = r.str(n, "delivery.without_daemon");
    if (v == "wait") c.without_daemon = WithoutDaemon::wait;
    else if (v == "deliver") c.without_daemon = WithoutDaemon::deliver;
    else r.fail(n, "'delivery.without_daemon' must be wait or deliver, not '" + v + "'");
  }
}

void read_smtp(const Reader& r, const YAML::Node& s, Config& c) {
  r.check_keys(s, "smtp", keys::smtp);
  if (auto n = s["helo"]) c.smtp.helo = r.host(n, "smtp.helo");
  if (auto n = s["mx_tls"]) {
    std::string v = r.str(n, "smtp.mx_tls");
    if (v == "may") c.smtp.mx_tls = MxTls::may;
    else if (v == "verify") c.smtp.mx_tls = MxTls::verify;
    else if (v == "encrypt") c.smtp.mx_tls = MxTls::encrypt;
    else r.fail(n, "'smtp.mx_tls' must be may, verify or encrypt, not '" + v + "'");
  }
  if (auto n = s["banner_timeout"]) c.smtp.banner_timeout = r.duration(n, "smtp.banner_timeout", false);
  if (auto n = s["command_timeout"]) c.smtp.command_timeout = r.duration(n, "smtp.command_timeout", false);
  if (auto n = s["data_timeout"]) c.smtp.data_timeout = r.duration(n, "smtp.data_timeout", false);
  if (auto n = s["body_timeout"]) c.smtp.body_timeout = r.duration(n, "smtp.body_timeout", false);
  if (auto n = s["dot_timeout"]) c.smtp.dot_timeout = r.duration(n, "smtp.dot_timeout", false);
}

// The keys nullq-sendmail needs to queue a message (the hard ones when reading leniently): the
// names and addresses it writes into headers and the envelope, the rewriting, where the spool is,
// and the size limit. Everything else is nullq-send's and `nullq check`'s to refuse.
void read_document(const Reader& r, const YAML::Node& root, Config& c) {
  if (root.IsNull()) return;
  r.check_keys(root, "", keys::top,
               {"hostname", "domain", "idhost", "admin", "rewrite", "queue"});
  if (auto n = root["hostname"]) c.hostname = r.host(n, "hostname");
  if (auto n = root["domain"]) c.domain = r.host(n, "domain");
  if (auto n = root["idhost"]) c.idhost = r.host(n, "idhost");
  if (auto n = root["admin"]) c.admin = r.address(n, "admin");
  if (auto s = root["rewrite"]) {
    r.check_keys(s, "rewrite", keys::rewrite, {"sender", "header_from"});
    if (auto n = s["sender"]) c.rewrite_sender = r.address(n, "rewrite.sender");
    if (auto n = s["header_from"]) c.rewrite_header_from = r.boolean(n, "rewrite.header_from");
  }
  if (auto n = root["smarthosts"]) r.soft([&] { read_smarthosts(r, n, c); });
  r.soft([&] { detail::read_routes(r, root["routes"], c); });
  if (auto s = root["queue"]) {
    r.check_keys(s, "queue", keys::queue,
                 {"dir", "max_message_size", "min_free"});
    if (auto n = s["dir"]) {
      c.queue_dir = r.str(n, "queue.dir");
      if (c.queue_dir.empty() || c.queue_dir[0] != '/') r.fail(n, "'queue.dir' must be an absolute path");
      while (c.queue_dir.size() > 1 && c.queue_dir.back() == '/') c.queue_dir.pop_back();
    }
    r.soft([&] {
      if (auto n = s["lifetime"]) c.lifetime = r.duration(n, "queue.lifetime", false);
      if (auto n = s["keep_failed"]) c.keep_failed = r.duration(n, "queue.keep_failed", true);
      if (auto n = s["retry_min"]) c.retry_min = r.duration(n, "queue.retry_min", false);
      if (auto n = s["retry_max"]) c.retry_max = r.duration(n, "queue.retry_max", false);
      if (c.retry_min > c.retry_max) r.fail(s, "'queue.retry_min' is longer than 'queue.retry_max'");
    });
    if (auto n = s["max_message_size"]) c.max_message_size = r.size(n, "queue.max_message_size");
    if (auto n = s["min_free"]) c.queue_min_free = r.size(n, "queue.min_free");
  }
  if (auto n = root["state_dir"]) {
    r.soft([&] {
      std::string dir = r.str(n, "state_dir");
      if (dir.empty() || dir[0] != '/') r.fail(n, "'state_dir' must be an absolute path");
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      c.state_dir = std::move(dir);
    });
  }
  if (auto s = root["delivery"]) r.soft([&] { read_delivery(r, s, c); });
  if (auto s = root["smtp"]) r.soft([&] { read_smtp(r, s, c); });
  if (auto s = root["bounce"]) {
    r.soft([&] {
      r.check_keys(s, "bounce", keys::bounce);
      if (auto n = s["enabled"]) c.bounce_enabled = r.boolean(n, "bounce.enabled");
      if (auto n = s["admin"]) c.bounce_admin = r.address(n, "bounce.admin");
      if (auto n = s["delay_warning"]) c.delay_warning = r.duration(n, "bounce.delay_warning", true);
    });
  }
  if (auto s = root["metrics"]) detail::read_metrics(r, s, c);
  if (auto s = root["log"]) {
    r.soft([&] {
      r.check_keys(s, "log", keys::log);
      if (auto n = s["level"]) {
        std::string v = r.str(n, "log.level");
        if (v == "error") c.log_level = LogLevel::error;
        else if (v == "warning") c.log_level = LogLevel::warning;
        else if (v == "info") c.log_level = LogLevel::info;
        else if (v == "debug") c.log_level = LogLevel::debug;
        else r.fail(n, "'log.level' must be error, warning, info or debug, not '" + v + "'");
      }
      if (auto n = s["target"]) {
        std::string v = r.str(n, "log.target");
        if (v == "auto") c.log_target = LogTarget::automatic;
        else if (v == "syslog") c.log_target = LogTarget::syslog;
        else if (v == "stderr") c.log_target = LogTarget::standard_error;
        else r.fail(n, "'log.target' must be auto, syslog or stderr, not '" + v + "'");
      }
      if (auto n = s["format"]) {
        std::string v = r.str(n, "log.format");
        if (v == "text") c.log_format = LogFormat::text;
        else if (v == "json") c.log_format = LogFormat::json;
        else r.fail(n, "'log.format' must be text or json, not '" + v + "'");
      }
    });
  }
}

std::string first_line_of(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return {};
  std::string s(buf, static_cast<std::size_t>(n));
  s = s.substr(0, s.find('\n'));
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  return s;
}

std::string fqdn() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  if (std::strchr(name, '.')) return name;
  return identity::canonical_hostname(name);
}

// Every error text leaves here through printable(): file names, keys and yaml-cpp's messages echo
// bytes of the file, which must not reach a terminal or syslog raw.
Error config_error(const std::string& text) { return Error::permanent(ErrorDomain::config, printable(text)); }

}  // namespace

std::string default_hostname(const std::string& mailname_path) {
  std::string s = first_line_of(mailname_path);
  return s.empty() ? fqdn() : s;
}

void fill_defaults(Config& c, const std::string& mailname_path) {
  if (c.hostname.empty()) c.hostname = default_hostname(mailname_path);
  if (c.domain.empty()) c.domain = c.hostname;
  if (c.idhost.empty()) c.idhost = c.hostname;
}

Result<Config> parse_only(std::string_view yaml_text, const std::string& name) {
  Config c;
  c.path = name;
  Reader r(name);
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    read_document(r, root, c);
  } catch (const Fail& f) {
    return Error::permanent(ErrorDomain::config, f.text);  // made printable by Reader::fail
  } catch (const YAML::Exception& e) {
    // yaml-cpp says "illegal block entry" or "illegal tab when looking for indentation" for a tab:
    // name the first line indented with one instead, up to the line it stumbled on.
    if (int tab = tab_indented_line(yaml_text, e.mark.line); tab > 0)
      return config_error(name + ":" + std::to_string(tab) + ": tabs are not allowed for indentation (use spaces)");
    std::string where = name + (e.mark.line >= 0 ? ":" + std::to_string(e.mark.line + 1) : std::string());
    return config_error(where + ": YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return config_error(name + ": " + e.what());
  }
  return c;
}

Result<Config> parse(std::string_view yaml_text, const std::string& name) {
  auto c = parse_only(yaml_text, name);
  if (c) fill_defaults(*c, "/etc/mailname");
  return c;
}

namespace {

Result<std::string> read_text(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return config_error("cannot read " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return config_error("cannot read " + path + ": not a regular file");
  }
  if (st.st_size > 1024 * 1024) {
    ::close(fd);
    return config_error("cannot read " + path + ": larger than 1 MiB");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      return config_error("cannot read " + path + ": " + std::strerror(err));
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return text;
}

Lenient built_in(const std::string& name, std::string problem) {
  Lenient l;
  l.config.path = name;
  fill_defaults(l.config, "/etc/mailname");
  l.problem = std::move(problem);
  l.defaults = true;
  return l;
}

}  // namespace

Result<Config> load(const std::string& path) {
  auto text = read_text(path);
  if (!text) return std::move(text).error();
  return parse(*text, path);
}

Result<Lenient> parse_for_injector(std::string_view yaml_text, const std::string& name) {
  Lenient l;
  l.config.path = name;
  Reader r(name);
  r.set_lenient(&l.problem);
  std::optional<YAML::Node> root;  // (not assigned: yaml-cpp's Node::operator= writes through)
  try {
    root.emplace(YAML::Load(std::string(yaml_text)));
  } catch (const YAML::Exception& e) {
    std::string where = name + (e.mark.line >= 0 ? ":" + std::to_string(e.mark.line + 1) : std::string());
    return built_in(name, printable(where + ": YAML syntax error: " + e.msg));
  } catch (const std::exception& e) {
    return built_in(name, printable(name + ": " + e.what()));
  }
  // Not a mapping: no setting can be told from it, so none is broken either.
  if (!root->IsNull() && !root->IsMap())
    return built_in(name, printable(name + ": the file must be a mapping of settings"));
  try {
    read_document(r, *root, l.config);
  } catch (const Fail& f) {
    return Error::permanent(ErrorDomain::config, f.text);
  } catch (const std::exception& e) {
    return config_error(name + ": " + e.what());
  }
  fill_defaults(l.config, "/etc/mailname");
  return l;
}

Result<Lenient> load_for_injector(const std::string& path) {
  auto text = read_text(path);
  if (!text) return built_in(path, text.error().detail);
  return parse_for_injector(*text, path);
}

std::string default_path() {
  // Not for a set-id caller: the file says where mail goes and which files nullq-send reads.
  if (const char* env = environment::trusted_getenv("NULLQ_CONFIG")) return env;
  return NULLQ_CONFIG_PATH;
}

Status validate_for_delivery(const Config& c) {
  if (c.smarthosts.empty())
    return Error::permanent(ErrorDomain::config,
                            (c.path.empty() ? std::string("config") : c.path) + ": no smart hosts configured ('smarthosts')");
  return {};
}

std::vector<std::string> accepted_keys() {
  std::vector<std::string> out;
  auto add = [&out](const std::string& prefix, std::span<const std::string_view> names) {
    for (std::string_view n : names) out.push_back(prefix + std::string(n));
  };
  add("", keys::top);
  add("rewrite.", keys::rewrite);
  add("smarthosts[].", keys::smarthost);
  add("smarthosts[].auth.", keys::auth);
  add("smarthosts[].auth.oauth.", keys::oauth);
  add("smarthosts[].tls.", keys::tls);
  add("routes[].", keys::route);
  add("queue.", keys::queue);
  add("delivery.", keys::delivery);
  add("smtp.", keys::smtp);
  add("bounce.", keys::bounce);
  add("log.", keys::log);
  add("metrics.", keys::metrics);
  return out;
}

}  // namespace nullq::config

// nullmailer's configuration files read as nullmailer reads them (see nullmailer_files.hpp).
#include "nullmailer_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "nullq/config.hpp"

namespace nullq::admin {

namespace {

constexpr std::size_t max_control_file = 1024 * 1024;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::optional<std::string> read_control(const std::string& path, int& error) {
  error = 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno != ENOENT) error = errno;
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    ::close(fd);
    return std::nullopt;
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_control_file) {
      error = EFBIG;
      ::close(fd);
      return std::nullopt;
    }
  }
  ::close(fd);
  return text;
}

std::string strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string first_line(const std::string& text) { return strip(std::string_view(text).substr(0, text.find('\n'))); }

bool parse_number(std::string_view s, unsigned long long& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string yaml_scalar(std::string_view s) {
  bool plain = !s.empty();
  for (std::size_t i = 0; plain && i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    plain = alnum || (i > 0 && std::strchr("._/+-@~", c) != nullptr) || (i == 0 && c == '/');
  }
  if (plain) return std::string(s);
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

bool plain_address(const std::string& a) { return !a.empty() && a.find_first_of(" \t\r\n<>,;\"") == std::string::npos; }

bool valid_host(const std::string& h) {
  std::string url = h.find(':') != std::string::npos ? "qmqp://[" + h + "]" : "qmqp://" + h;
  return config::parse_smarthost(url).ok();
}


namespace {

// Words of a remotes line, split as nullmailer's parse_args does. `unterminated` is set when a
// quote is not closed (nullmailer then takes the rest of the line).
std::vector<std::string> split_words(std::string_view line, bool& unterminated) {
  std::vector<std::string> words;
  unterminated = false;
  std::size_t i = 0;
  while (i < line.size()) {
    if (is_space(line[i])) {
      ++i;
      continue;
    }
    std::string w;
    while (i < line.size() && !is_space(line[i])) {
      char c = line[i];
      if (c == '\'') {
        std::size_t end = line.find('\'', i + 1);
        if (end == std::string_view::npos) unterminated = true, end = line.size();
        w.append(line.substr(i + 1, end - i - 1));
        i = end + 1;
      } else if (c == '"') {
        ++i;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) ++i;
          w.push_back(line[i++]);
        }
        if (i >= line.size()) unterminated = true;
        ++i;
      } else if (c == '\\') {
        if (i + 1 < line.size()) w.push_back(line[i + 1]);
        i += 2;
      } else {
        w.push_back(c);
        ++i;
      }
    }
    words.push_back(std::move(w));
  }
  return words;
}

enum class Kind { flag, value };
struct Option {
  const char* name;
  Kind kind;
};
constexpr Option known_options[] = {
    {"host", Kind::value},         {"port", Kind::value},         {"user", Kind::value},
    {"pass", Kind::value},         {"auth-login", Kind::flag},    {"source", Kind::value},
    {"tls", Kind::flag},           {"ssl", Kind::flag},           {"starttls", Kind::flag},
    {"x509certfile", Kind::value}, {"x509keyfile", Kind::value},  {"x509cafile", Kind::value},
    {"x509crlfile", Kind::value},  {"x509fmtder", Kind::flag},    {"insecure", Kind::flag},
    {"tls-anon-auth", Kind::flag}, {"daemon", Kind::flag},        {"syslog", Kind::flag},
};

const Option* find_option(std::string_view name) {
  for (const auto& o : known_options)
    if (name == o.name) return &o;
  return nullptr;
}

// Applies one option word to `r`; an unknown or malformed one is a warning and a comment instead.
void apply_option(std::string word, Remote& r, const std::string& where, Report& rep) {
  std::string name, value;
  bool has_value = false;
  if (word.rfind("--", 0) == 0) {
    word.erase(0, 2);
  } else if (word.size() >= 2 && word[0] == '-') {
    // Short options of the modules: -p PORT (attached), -d, -s.
    char letter = word[1];
    std::string rest = word.substr(2);
    if (letter == 'p') word = "port=" + rest;
    else if (letter == 'd' && rest.empty()) word = "daemon";
    else if (letter == 's' && rest.empty()) word = "syslog";
    else {
      rep.warn(where, "unknown option '-" + std::string(1, letter) + "' (left out)");
      r.comments.push_back("unknown option '-" + std::string(1, letter) + "' left out");
      return;
    }
  }
  std::size_t eq = word.find('=');
  name = word.substr(0, eq);
  if (eq != std::string::npos) value = word.substr(eq + 1), has_value = true;
  const Option* o = find_option(name);
  // The option's name only: a mistyped "pas=SECRET" must not print the secret.
  std::string shown = yaml_scalar(name);
  if (!o) {
    rep.warn(where, "unknown option '" + name + "' (left out)");
    r.comments.push_back("unknown option " + shown + " left out");
    return;
  }
  if (o->kind == Kind::flag && has_value) {
    rep.warn(where, "malformed option '" + name + "': it takes no value (left out)");
    r.comments.push_back("malformed option " + shown + " left out (it takes no value)");
    return;
  }
  if (o->kind == Kind::value && (!has_value || value.empty())) {
    rep.warn(where, "malformed option '" + name + "': it needs a value, as " + name + "=VALUE (left out)");
    r.comments.push_back("malformed option " + shown + " left out (it needs a value)");
    return;
  }
  if (name == "port") {
    unsigned long long p = 0;
    if (!parse_number(value, p) || p > 65535) {
      rep.warn(where, "malformed option 'port': '" + value + "' is not a port number (left out)");
      r.comments.push_back("malformed option port left out (not a port number)");
      return;
    }
    r.port = static_cast<unsigned>(p);
  } else if (name == "host") r.host = value;
  else if (name == "user") r.user = value;
  else if (name == "pass") r.pass = value;
  else if (name == "source") r.source = value;
  else if (name == "x509certfile") r.cert_file = value;
  else if (name == "x509keyfile") r.key_file = value;
  else if (name == "x509cafile") r.ca_file = value;
  else if (name == "x509crlfile") r.crl_file = value;
  else if (name == "auth-login") r.auth_login = true;
  else if (name == "tls" || name == "ssl") r.tls = true;
  else if (name == "starttls") r.starttls = true;
  else if (name == "x509fmtder") r.der = true;
  else if (name == "insecure") r.insecure = true;
  else if (name == "tls-anon-auth") r.anon = true;
  // daemon, syslog: where the module logs; nothing to carry over.
}

}  // namespace

std::vector<Remote> parse_remotes(const std::string& text, const std::string& file, Report& rep) {
  std::vector<Remote> out;
  unsigned lineno = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view raw = std::string_view(text).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++lineno;
    std::string line = strip(raw);
    if (line.empty() || line[0] == '#') continue;
    std::string where = file + ":" + std::to_string(lineno);
    bool unterminated = false;
    auto words = split_words(line, unterminated);
    if (words.empty()) continue;
    Remote r;
    r.line = lineno;
    r.host = words[0];
    r.proto = words.size() > 1 ? words[1] : "smtp";
    if (unterminated) {
      rep.warn(where, "a quote is not closed (taken to the end of the line, as nullmailer does)");
      r.comments.push_back("a quote is not closed on this line");
    }
    for (std::size_t i = 2; i < words.size(); ++i) apply_option(words[i], r, where, rep);
    if (r.proto != "smtp" && r.proto != "qmqp") {
      rep.warn(where, "unknown protocol '" + r.proto + "' (nullmailer has smtp and qmqp); this remote is left out");
      r.comments.assign(1, "remotes line " + std::to_string(lineno) + ": unknown protocol " + yaml_scalar(r.proto) +
                               ", left out");
      r.dropped = true;
    } else if (!valid_host(r.host)) {
      rep.warn(where, "'" + r.host + "' is not a host name or address; this remote is left out");
      r.comments.assign(1, "remotes line " + std::to_string(lineno) + ": bad host name, left out");
      r.dropped = true;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace nullq::admin

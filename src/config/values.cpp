// Scalar syntaxes of the config file: durations, sizes and smart host URLs.
#include <charconv>

#include "nullq/config.hpp"
#include "nullq/limits.hpp"

namespace nullq::config {

namespace {

Error bad(std::string detail) { return Error::permanent(ErrorDomain::config, std::move(detail)); }

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    char c = h[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
    if (c == '-' && label == 1) return false;
  }
  return true;
}

bool valid_ipv6(std::string_view h) {
  if (h.empty() || h.size() > 45) return false;
  int colons = 0;
  for (char c : h) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    if (!ok) return false;
    if (c == ':') ++colons;
  }
  return colons >= 2;
}

}  // namespace

Result<seconds> parse_duration(std::string_view text) {
  if (text.empty()) return bad("empty duration");
  std::uint64_t mult = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 's': mult = 1; digits.remove_suffix(1); break;
    case 'm': mult = 60; digits.remove_suffix(1); break;
    case 'h': mult = 3600; digits.remove_suffix(1); break;
    case 'd': mult = 86400; digits.remove_suffix(1); break;
    default: break;
  }
  std::uint64_t n = 0;
  if (!parse_u64(digits, n))
    return bad("bad duration '" + std::string(text) + "' (use e.g. 90s, 10m, 1h, 7d)");
  // "lifetime: 7" meant days more often than seconds: a bare number is refused, except 0.
  if (digits.size() == text.size() && n != 0)
    return bad("a duration needs a unit (s, m, h, d): " + std::string(text));
  constexpr std::uint64_t limit = 10ull * 365 * 86400;  // ten years is plenty and cannot overflow
  if (n > limit / mult) return bad("duration '" + std::string(text) + "' is too large");
  return seconds(static_cast<seconds::rep>(n * mult));
}

// One reading of sizes for nullq.yaml and nullq-queue's /etc/nullq/limits (core, which nullq-queue links).
Result<std::uint64_t> parse_size(std::string_view text) { return limits::parse_size(text); }

Result<SmartHost> parse_smarthost(std::string_view url) {
  SmartHost h;
  h.text = std::string(url);
  std::string_view rest;
  if (url.substr(0, 7) == "qmtp://") h.protocol = Protocol::qmtp, rest = url.substr(7);
  else if (url.substr(0, 7) == "qmqp://") h.protocol = Protocol::qmqp, rest = url.substr(7);
  else if (url.substr(0, 5) == "mx://") h.protocol = Protocol::mx, rest = url.substr(5);
  else if (url.substr(0, 7) == "smtp://") h.protocol = Protocol::smtp, rest = url.substr(7);
  else if (url.substr(0, 8) == "smtps://") h.protocol = Protocol::smtps, rest = url.substr(8);
  else
    return bad("smart host '" + std::string(url) + "' must start with qmtp://, qmqp://, smtp://, smtps:// or mx://");
  if (rest.find('@') != std::string_view::npos)
    // The URL is not echoed: it may hold a password.
    return bad("a smart host URL holds a user or password: no user or password in the URL; use 'auth' with a "
               "password_file");
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return bad("smart host '" + std::string(url) + "' has no host");

  std::string_view host = rest, port;
  if (rest[0] == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("smart host '" + std::string(url) + "': missing ']'");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("smart host '" + std::string(url) + "': junk after ']'");
      port = after.substr(1);
      if (port.empty()) return bad("smart host '" + std::string(url) + "': empty port");
    }
    if (!valid_ipv6(host)) return bad("smart host '" + std::string(url) + "': bad IPv6 address");
  } else {
    std::size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      if (rest.find(':', colon + 1) != std::string_view::npos)
        return bad("smart host '" + std::string(url) + "': write IPv6 addresses in brackets, e.g. qmtp://[::1]:209");
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return bad("smart host '" + std::string(url) + "': empty port");
    }
    if (!valid_hostname(host)) return bad("smart host '" + std::string(url) + "': bad host name");
  }
  if (!port.empty()) {
    if (h.protocol == Protocol::mx) return bad("smart host '" + std::string(url) + "': mx:// takes no port");
    std::uint64_t p = 0;
    if (!parse_u64(port, p) || p == 0 || p > 65535)
      return bad("smart host '" + std::string(url) + "': bad port '" + std::string(port) + "'");
    h.port = static_cast<std::uint16_t>(p);
  }
  h.host = std::string(host);
  if (h.protocol == Protocol::smtp && h.port == 587) h.starttls = StartTls::required;
  return h;
}

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::qmtp: return "qmtp";
    case Protocol::qmqp: return "qmqp";
    case Protocol::mx: return "mx";
    case Protocol::smtp: return "smtp";
    case Protocol::smtps: return "smtps";
  }
  return "?";
}

}  // namespace nullq::config

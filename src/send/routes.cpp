// Envelope -> route -> smart hosts (see include/nullq/send/routes.hpp).
#include "nullq/send/routes.hpp"

#include <cctype>

namespace nullq::send {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// The domain of an address: after its last '@'; "" without one.
std::string_view domain_of(std::string_view address) {
  std::size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

// The first pattern of `list` that `test` accepts, or nullptr.
template <class Test>
const std::string* first_match(const std::vector<std::string>& list, Test test) {
  for (const auto& p : list)
    if (test(p)) return &p;
  return nullptr;
}

const std::string* sender_hit(const config::RouteRule& r, std::string_view sender) {
  return first_match(r.senders, [&](const std::string& p) { return sender_matches(p, sender); });
}

const std::string* domain_hit(const config::RouteRule& r, std::string_view recipient) {
  std::string_view d = domain_of(recipient);
  return first_match(r.domains, [&](const std::string& p) { return domain_matches(p, d); });
}

bool rule_matches(const config::RouteRule& r, std::string_view sender, std::string_view recipient) {
  if (r.is_default) return true;
  if (!r.senders.empty() && !sender_hit(r, sender)) return false;
  if (!r.domains.empty() && !domain_hit(r, recipient)) return false;
  return true;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

bool domain_matches(std::string_view pattern, std::string_view domain) {
  if (domain.empty()) return false;
  if (pattern.substr(0, 2) == "*.") {
    // Subdomains only: "*.example.com" takes a.example.com, not example.com (list both for both).
    std::string_view base = pattern.substr(1);  // ".example.com"
    return domain.size() > base.size() && iequal(domain.substr(domain.size() - base.size()), base);
  }
  return iequal(pattern, domain);
}

bool sender_matches(std::string_view pattern, std::string_view sender) {
  if (sender.empty()) return false;  // the null sender (bounces) takes only the default rule
  if (pattern.substr(0, 2) == "*.") return domain_matches(pattern, domain_of(sender));
  if (pattern.substr(0, 2) == "*@") return iequal(pattern.substr(2), domain_of(sender));
  return iequal(pattern, sender);
}

std::size_t match_route(const config::Config& cfg, std::string_view sender, std::string_view recipient) {
  for (std::size_t i = 0; i < cfg.routes.size(); ++i)
    if (rule_matches(cfg.routes[i], sender, recipient)) return i;
  // The loader makes the last rule a default one; a table built otherwise falls back to every host.
  return all_hosts;
}

std::vector<std::size_t> route_hosts(const config::Config& cfg, std::size_t route) {
  if (route < cfg.routes.size()) return cfg.routes[route].hosts;
  std::vector<std::size_t> all;
  for (std::size_t i = 0; i < cfg.smarthosts.size(); ++i) all.push_back(i);
  return all;
}

std::string route_reason(const config::Config& cfg, std::size_t route, std::string_view sender,
                         std::string_view recipient) {
  if (route >= cfg.routes.size()) return "no routes: every smart host in order";
  const config::RouteRule& r = cfg.routes[route];
  if (r.is_default) return "the default rule (no rule before it matched)";
  std::string why;
  if (const std::string* p = sender_hit(r, sender))
    why = "sender " + std::string(sender) + " matches \"" + *p + "\"";
  if (const std::string* p = domain_hit(r, recipient))
    why += (why.empty() ? "" : " and ") + std::string("recipient domain ") + std::string(domain_of(recipient)) +
           " matches \"" + *p + "\"";
  return why;
}

std::string describe_route(const config::Config& cfg, std::size_t route) {
  std::string what;
  if (route >= cfg.routes.size()) {
    what = "every recipient";
  } else {
    const config::RouteRule& r = cfg.routes[route];
    if (r.is_default) what = "default";
    if (!r.senders.empty()) what = "sender " + join(r.senders);
    if (!r.domains.empty()) what += (what.empty() ? "" : ", ") + std::string("recipient_domain ") + join(r.domains);
  }
  std::string hosts;
  for (std::size_t h : route_hosts(cfg, route)) hosts += (hosts.empty() ? "" : ", ") + cfg.smarthosts[h].name;
  return what + " -> " + hosts;
}

}  // namespace nullq::send

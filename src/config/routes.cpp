// The routing part of nullq.yaml: a smart host's name, source address and recipients_per_message,
// and the ordered `routes:` list (see config.hpp, RouteRule). Every error names file and line.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "nullq/suggest.hpp"
#include "reader.hpp"

namespace nullq::config::detail {

namespace {

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool domain_ok(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  if (d.find("..") != std::string_view::npos) return false;
  return d.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-_") == std::string_view::npos;
}

// "example.com" or "*.example.com"; lower case.
bool domain_pattern_ok(std::string_view p) {
  if (p.substr(0, 2) == "*.") p.remove_prefix(2);
  return domain_ok(p);
}

// "user@example.com", "*@example.com" or "*.example.com"; lower case.
bool sender_pattern_ok(std::string_view p) {
  if (p.substr(0, 2) == "*.") return domain_ok(p.substr(2));
  std::size_t at = p.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view local = p.substr(0, at);
  if (local != "*" && local.find_first_of(" \t\r\n<>,;\"*") != std::string_view::npos) return false;
  return domain_ok(p.substr(at + 1));
}

// A single value or a list of them, each lower-cased and checked by `ok`.
std::vector<std::string> patterns(const Reader& r, const YAML::Node& n, const std::string& key,
                                  bool (*ok)(std::string_view), const std::string& example) {
  std::vector<std::string> out;
  auto one = [&](const YAML::Node& v) {
    std::string s = lower(r.str(v, key));
    if (!ok(s)) r.fail(v, "'" + key + "': bad pattern '" + s + "'", " (use e.g. " + example + ")");
    out.push_back(std::move(s));
  };
  if (n.IsSequence()) {
    if (n.size() == 0) r.fail(n, "'" + key + "' must not be empty");
    for (const auto& v : n) one(v);
  } else {
    one(n);
  }
  return out;
}

}  // namespace

void read_host_routing(const Reader& r, const YAML::Node& item, SmartHost& h) {
  if (auto n = item["name"]) {
    h.name = r.str(n, "name");
    if (h.name.empty() || h.name.size() > 100 ||
        h.name.find_first_of(" \t\r\n,[]{}#") != std::string::npos)
      r.fail(n, "'name' must be a short word without spaces, like m365-billing");
  }
  if (auto n = item["source"]) {
    h.source = r.str(n, "source");
    unsigned char buf[sizeof(in6_addr)];
    if (::inet_pton(AF_INET, h.source.c_str(), buf) != 1 && ::inet_pton(AF_INET6, h.source.c_str(), buf) != 1)
      r.fail(n, "'source' must be a local IPv4 or IPv6 address like 192.0.2.10 or 2001:db8::10, not '" + h.source + "'");
  }
  if (auto n = item["recipients_per_message"])
    h.recipients_per_message = r.count(n, "recipients_per_message", 1, 100000);
}

void read_routes(const Reader& r, const YAML::Node& list, Config& c) {
  if (!list || list.IsNull()) return;
  if (!list.IsSequence()) r.fail(list, "'routes' must be a list of rules, e.g. [{default: true, hosts: [relay]}]");
  if (list.size() == 0) r.fail(list, "'routes' is empty: leave it out to use every smart host in order");
  // Routes name smart hosts: names must tell them apart.
  for (std::size_t i = 0; i < c.smarthosts.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (c.smarthosts[i].name == c.smarthosts[j].name)
        r.fail(list, "two smart hosts are called '" + c.smarthosts[i].name + "': give them different 'name's");
  std::vector<std::string_view> names;
  for (const auto& h : c.smarthosts) names.push_back(h.name);
  for (const auto& item : list) {
    r.check_keys(item, "routes[]", keys::route);
    RouteRule rule;
    rule.line = item.Mark().line + 1;
    if (!c.routes.empty() && c.routes.back().is_default)
      r.fail(item, "a rule after the default one is never used: the default rule must be the last");
    if (auto n = item["default"]) {
      rule.is_default = r.boolean(n, "routes[].default");
      if (!rule.is_default) r.fail(n, "'default: false' means nothing: leave it out");
      if (item["sender"] || item["recipient_domain"])
        r.fail(n, "the default rule matches everything: it takes no 'sender' or 'recipient_domain'");
    }
    if (auto n = item["sender"])
      rule.senders = patterns(r, n, "routes[].sender", sender_pattern_ok,
                              "user@example.com, \"*@example.com\" or \"*.example.com\"");
    if (auto n = item["recipient_domain"])
      rule.domains = patterns(r, n, "routes[].recipient_domain", domain_pattern_ok,
                              "example.com or \"*.example.com\"");
    if (!rule.is_default && rule.senders.empty() && rule.domains.empty())
      r.fail(item, "a route needs 'sender', 'recipient_domain' or 'default: true'");
    const YAML::Node hosts = item["hosts"];
    if (!hosts) r.fail(item, "a route needs 'hosts': the names of its smart hosts, in order");
    if (!hosts.IsSequence() && !hosts.IsScalar()) r.fail(hosts, "'routes[].hosts' must be a list of smart host names");
    if (hosts.IsSequence() && hosts.size() == 0) r.fail(hosts, "'routes[].hosts' must not be empty");
    auto add = [&](const YAML::Node& v) {
      std::string name = r.str(v, "routes[].hosts");
      auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) {
        std::string_view best = closest(name, names);
        r.fail(v, "no smart host is called '" + name + "'",
               best.empty() ? std::string(" (set 'name' on a smart host, or use its URL)")
                            : " \xe2\x80\x94 did you mean '" + std::string(best) + "'?");
      }
      std::size_t index = static_cast<std::size_t>(it - names.begin());
      if (std::find(rule.hosts.begin(), rule.hosts.end(), index) != rule.hosts.end())
        r.fail(v, "smart host '" + name + "' is listed twice in this route");
      rule.hosts.push_back(index);
    };
    if (hosts.IsSequence()) {
      for (const auto& v : hosts) add(v);
    } else {
      add(hosts);
    }
    c.routes.push_back(std::move(rule));
  }
  if (!c.routes.back().is_default)
    r.fail(list, "'routes' needs a last rule '{default: true, hosts: [...]}' for the recipients no other rule takes");
}

}  // namespace nullq::config::detail

// Routes: sender and recipient-domain patterns (table tests), rule order, the default rule, and the
// configuration errors of `routes:` (file:line).
#include <gtest/gtest.h>

#include "nullq/config.hpp"
#include "nullq/send/router.hpp"
#include "nullq/send/routes.hpp"

namespace {

using nullq::config::Config;
using nullq::send::all_hosts;
using nullq::send::domain_matches;
using nullq::send::match_route;
using nullq::send::route_hosts;
using nullq::send::sender_matches;

Config load(const std::string& yaml) {
  auto c = nullq::config::parse_only(yaml, "nullq.yaml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().detail);
  return c.ok() ? *c : Config{};
}

std::string error_of(const std::string& yaml) {
  auto c = nullq::config::parse_only(yaml, "nullq.yaml");
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? std::string() : c.error().detail;
}

TEST(RoutePatterns, Sender) {
  struct Case {
    const char* pattern;
    const char* sender;
    bool want;
  } cases[] = {
      {"alerts@example.com", "alerts@example.com", true},
      {"alerts@example.com", "Alerts@EXAMPLE.com", true},
      {"alerts@example.com", "other@example.com", false},
      {"*@example.com", "anyone@example.com", true},
      {"*@example.com", "anyone@Example.COM", true},
      {"*@example.com", "anyone@sub.example.com", false},
      {"*@example.com", "anyone@badexample.com", false},
      {"*.example.com", "x@sub.example.com", true},
      {"*.example.com", "x@a.b.example.com", true},
      {"*.example.com", "x@example.com", false},  // subdomains only
      {"*.example.com", "x@badexample.com", false},
      {"*@example.com", "", false},  // the null sender takes only the default rule
      {"*.example.com", "", false},
      {"*@example.com", "example.com", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(sender_matches(c.pattern, c.sender), c.want) << c.pattern << " vs " << c.sender;
}

TEST(RoutePatterns, Domain) {
  struct Case {
    const char* pattern;
    const char* domain;
    bool want;
  } cases[] = {
      {"corp.example.com", "corp.example.com", true},
      {"corp.example.com", "CORP.Example.com", true},
      {"corp.example.com", "x.corp.example.com", false},
      {"*.corp.example.com", "x.corp.example.com", true},
      {"*.corp.example.com", "corp.example.com", false},
      {"*.corp.example.com", "xcorp.example.com", false},
      {"corp.example.com", "", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(domain_matches(c.pattern, c.domain), c.want) << c.pattern << " vs " << c.domain;
}

const char* three_routes =
    "smarthosts:\n"
    "  - {url: smtp://smtp.office365.com:587, name: m365-billing}\n"
    "  - {url: qmtp://hub.corp.example.com, name: qmtp-hub}\n"
    "  - {url: smtps://smtp.gmail.com, name: gmail}\n"
    "  - smtp://backup.example.net\n"
    "routes:\n"
    "  - {sender: \"*@billing.example.com\", hosts: [m365-billing]}\n"
    "  - {recipient_domain: [Corp.example.com, \"*.corp.example.com\"], hosts: [qmtp-hub]}\n"
    "  - {sender: [ops@example.com], recipient_domain: partner.example, hosts: [qmtp-hub, gmail]}\n"
    "  - {default: true, hosts: [gmail, \"smtp://backup.example.net\"]}\n";

TEST(Routes, FirstMatchWinsDefaultLast) {
  Config c = load(three_routes);
  ASSERT_EQ(c.routes.size(), 4u);
  EXPECT_EQ(c.routes[1].line, 8);
  struct Case {
    const char* sender;
    const char* rcpt;
    std::size_t want;
  } cases[] = {
      {"invoices@billing.example.com", "customer@gmail.com", 0},
      {"invoices@billing.example.com", "boss@corp.example.com", 0},  // the sender rule comes first
      {"cron@web1.example.com", "boss@corp.example.com", 1},
      {"cron@web1.example.com", "dev@eu.CORP.example.com", 1},
      {"cron@web1.example.com", "someone@example.org", 3},
      {"ops@example.com", "x@partner.example", 2},     // both match
      {"cron@example.com", "x@partner.example", 3},    // sender does not: not this rule
      {"ops@example.com", "x@other.example", 3},       // domain does not
      {"", "boss@corp.example.com", 1},                // a bounce still goes by recipient domain
      {"", "x@partner.example", 3},
      {"cron@example.com", "root", 3},                  // no domain: default
  };
  for (const auto& k : cases) EXPECT_EQ(match_route(c, k.sender, k.rcpt), k.want) << k.sender << " -> " << k.rcpt;
  EXPECT_EQ(route_hosts(c, 3), (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(route_hosts(c, 2), (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(nullq::send::describe_route(c, 1), "recipient_domain corp.example.com, *.corp.example.com -> qmtp-hub");
  EXPECT_EQ(nullq::send::route_reason(c, 2, "ops@example.com", "x@partner.example"),
            "sender ops@example.com matches \"ops@example.com\" and recipient domain partner.example matches "
            "\"partner.example\"");
}

TEST(Routes, WithoutRoutesEveryHostInOrder) {
  Config c = load("smarthosts: [qmtp://a.example, qmtp://b.example]\n");
  EXPECT_EQ(c.smarthosts[0].name, "qmtp://a.example");  // the default name is the URL
  EXPECT_EQ(match_route(c, "x@y.example", "z@w.example"), all_hosts);
  EXPECT_EQ(route_hosts(c, all_hosts), (std::vector<std::size_t>{0, 1}));
}

TEST(Routes, HostKeys) {
  Config c = load("smarthosts:\n  - {url: qmtp://a.example, source: 127.0.0.2, recipients_per_message: 50}\n"
                  "  - {url: qmtp://b.example, source: \"::1\"}\n");
  EXPECT_EQ(c.smarthosts[0].source, "127.0.0.2");
  EXPECT_EQ(c.smarthosts[0].recipients_per_message, 50u);
  EXPECT_EQ(c.smarthosts[1].source, "::1");
  EXPECT_EQ(c.smarthosts[1].recipients_per_message, 0u);
}

TEST(Routes, ConfigErrorsNameFileAndLine) {
  const std::string hosts = "smarthosts:\n  - {url: qmtp://a.example, name: hub}\n  - {url: smtp://b.example, name: relay}\n";
  struct Case {
    std::string routes;
    std::string want;
  } cases[] = {
      {"routes:\n  - {default: true, hosts: [hub, rely]}\n",
       "nullq.yaml:5: no smart host is called 'rely' \xe2\x80\x94 did you mean 'relay'?"},
      {"routes:\n  - {default: true, hosts: [hub]}\n  - {sender: \"*@x.example\", hosts: [relay]}\n",
       "nullq.yaml:6: a rule after the default one is never used: the default rule must be the last"},
      {"routes:\n  - {sender: \"*@x.example\", hosts: [relay]}\n",
       "nullq.yaml:5: 'routes' needs a last rule '{default: true, hosts: [...]}' for the recipients no other rule takes"},
      {"routes:\n  - {sender: \"*@x.example\", hosts: []}\n  - {default: true, hosts: [hub]}\n",
       "nullq.yaml:5: 'routes[].hosts' must not be empty"},
      {"routes:\n  - {sender: \"x.example\", hosts: [hub]}\n  - {default: true, hosts: [hub]}\n",
       "nullq.yaml:5: 'routes[].sender': bad pattern 'x.example' (use e.g. user@example.com, \"*@example.com\" or "
       "\"*.example.com\")"},
      {"routes:\n  - {recipient_domain: \"a..b\", hosts: [hub]}\n  - {default: true, hosts: [hub]}\n",
       "nullq.yaml:5: 'routes[].recipient_domain': bad pattern 'a..b' (use e.g. example.com or \"*.example.com\")"},
      {"routes:\n  - {recipient_domains: [a.example], hosts: [hub]}\n  - {default: true, hosts: [hub]}\n",
       "nullq.yaml:5: unknown key 'routes[].recipient_domains' \xe2\x80\x94 did you mean 'recipient_domain'?"},
      {"routes:\n  - {hosts: [hub]}\n  - {default: true, hosts: [hub]}\n",
       "nullq.yaml:5: a route needs 'sender', 'recipient_domain' or 'default: true'"},
      {"routes:\n  - {sender: \"*@x.example\"}\n  - {default: true, hosts: [hub]}\n",
       "nullq.yaml:5: a route needs 'hosts': the names of its smart hosts, in order"},
      {"routes:\n  - {default: true, sender: \"*@x.example\", hosts: [hub]}\n",
       "nullq.yaml:5: the default rule matches everything: it takes no 'sender' or 'recipient_domain'"},
      {"routes:\n  - {default: true, hosts: [hub, hub]}\n",
       "nullq.yaml:5: smart host 'hub' is listed twice in this route"},
      {"routes: []\n", "nullq.yaml:4: 'routes' is empty: leave it out to use every smart host in order"},
  };
  for (const auto& c : cases) EXPECT_EQ(error_of(hosts + c.routes), c.want) << c.routes;
  EXPECT_EQ(error_of("smarthosts:\n  - {url: qmtp://a.example, name: hub}\n  - {url: qmtp://b.example, name: hub}\n"
                     "routes:\n  - {default: true, hosts: [hub]}\n"),
            "nullq.yaml:5: two smart hosts are called 'hub': give them different 'name's");
  EXPECT_EQ(error_of("smarthosts:\n  - {url: qmtp://a.example, source: localhost}\n"),
            "nullq.yaml:2: 'source' must be a local IPv4 or IPv6 address like 192.0.2.10 or 2001:db8::10, not 'localhost'");
  EXPECT_EQ(error_of("smarthosts:\n  - {url: qmtp://a.example, recipients_per_message: 0}\n"),
            "nullq.yaml:2: 'recipients_per_message' must be a whole number from 1 to 100000, not '0'");
}

}  // namespace

namespace {

using nullq::send::Route;
using nullq::send::Target;

Target target(const std::string& ip) {
  nullq::dns::Address a;
  EXPECT_TRUE(nullq::send::literal_address(ip, a)) << ip;
  Target t;
  t.endpoint = nullq::send::make_endpoint(a, 209);
  return t;
}

std::vector<std::string> texts(const Route& r) {
  std::vector<std::string> out;
  for (const auto& t : r.targets) out.push_back(t.endpoint.text);
  return out;
}

nullq::config::SmartHost host(const std::string& url, const std::string& source = "") {
  auto h = nullq::config::parse_smarthost(url);
  EXPECT_TRUE(h.ok());
  h->source = source;
  return *h;
}

TEST(AddressOrder, FamiliesInterleavedFromTheFirst) {
  Route r;
  for (const char* ip : {"2001:db8::1", "2001:db8::2", "2001:db8::3", "192.0.2.1", "192.0.2.2"}) r.targets.push_back(target(ip));
  nullq::send::order_targets(host("qmtp://relay.example"), r);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"[2001:db8::1]:209", "192.0.2.1:209", "[2001:db8::2]:209",
                                                "192.0.2.2:209", "[2001:db8::3]:209"}));
  EXPECT_FALSE(r.error);
  Route v4first;
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "2001:db8::1"}) v4first.targets.push_back(target(ip));
  nullq::send::order_targets(host("qmtp://relay.example"), v4first);
  EXPECT_EQ(texts(v4first), (std::vector<std::string>{"192.0.2.1:209", "[2001:db8::1]:209", "192.0.2.2:209"}));
}

TEST(AddressOrder, MxKeepsPreferenceOrder) {
  Route r;
  for (const char* ip : {"2001:db8::1", "2001:db8::2", "192.0.2.1"}) r.targets.push_back(target(ip));
  nullq::send::order_targets(host("mx://example.com"), r);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"[2001:db8::1]:209", "[2001:db8::2]:209", "192.0.2.1:209"}));
}

TEST(AddressOrder, SourceKeepsItsFamilyAndIsSetOnEachTarget) {
  Route r;
  for (const char* ip : {"2001:db8::1", "192.0.2.1", "192.0.2.2"}) r.targets.push_back(target(ip));
  nullq::send::order_targets(host("qmtp://relay.example", "127.0.0.2"), r);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"192.0.2.1:209", "192.0.2.2:209"}));
  for (const auto& t : r.targets) {
    EXPECT_EQ(t.endpoint.source_len, sizeof(sockaddr_in));
    EXPECT_EQ(t.endpoint.source.ss_family, AF_INET);
  }
  EXPECT_EQ(r.notes, std::vector<std::string>{"address [2001:db8::1]:209 skipped: source 127.0.0.2 is IPv4"});
  EXPECT_FALSE(r.error);

  Route none;
  none.targets.push_back(target("192.0.2.1"));
  nullq::send::order_targets(host("qmtp://relay.example", "2001:db8::9"), none);
  EXPECT_TRUE(none.targets.empty());
  ASSERT_TRUE(none.error);
  EXPECT_TRUE(none.error->is_temporary());
  EXPECT_EQ(none.error->detail, "no IPv6 address of relay.example to reach from source 2001:db8::9");
}

}  // namespace

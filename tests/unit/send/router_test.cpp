#include "nullq/send/router.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>

namespace nullq::send {
namespace {

dns::Address addr(const std::string& ip) {
  dns::Address a;
  EXPECT_TRUE(literal_address(ip, a)) << ip;
  return a;
}

config::SmartHost host(config::Protocol p, std::string name, std::uint16_t port = 0) {
  config::SmartHost h;
  h.protocol = p;
  h.host = std::move(name);
  h.port = port;
  h.text = (p == config::Protocol::mx ? "mx://" : p == config::Protocol::qmqp ? "qmqp://" : "qmtp://") + h.host;
  return h;
}

// Answers are queued per name; lookups are held until answer() so tests see coalescing.
class FakeLookup : public Lookup {
 public:
  std::map<std::string, Result<std::vector<dns::Address>>> hosts;
  std::map<std::string, Result<std::vector<dns::Exchanger>>> mx;
  std::vector<std::pair<std::string, HostCallback>> pending_hosts;
  std::vector<std::pair<std::string, MxCallback>> pending_mx;
  int host_queries = 0;
  int mx_queries = 0;
  bool synchronous = true;

  void resolve_host(const std::string& name, HostCallback cb) override {
    ++host_queries;
    if (synchronous) {
      answer_host(name, cb);
    } else {
      pending_hosts.emplace_back(name, std::move(cb));
    }
  }
  void resolve_mx(const std::string& domain, MxCallback cb) override {
    ++mx_queries;
    auto it = mx.find(domain);
    if (it == mx.end()) {
      cb(Error::permanent(ErrorDomain::ares, "NXDOMAIN"));
    } else {
      cb(it->second);
    }
  }
  void answer_host(const std::string& name, const HostCallback& cb) {
    auto it = hosts.find(name);
    if (it == hosts.end()) {
      cb(Error::permanent(ErrorDomain::ares, "NXDOMAIN"));
    } else {
      cb(it->second);
    }
  }
  void flush() {
    auto p = std::move(pending_hosts);
    pending_hosts.clear();
    for (auto& [n, cb] : p) answer_host(n, cb);
  }
};

std::vector<std::string> texts(const Route& r) {
  std::vector<std::string> out;
  for (const auto& t : r.targets) out.push_back(std::string(to_string(t.wire)) + " " + t.endpoint.text);
  return out;
}

std::shared_ptr<const Route> route_now(Router& r, std::size_t i, std::int64_t now = 0) {
  std::shared_ptr<const Route> got;
  r.route(i, now, [&](std::shared_ptr<const Route> x) { got = std::move(x); });
  return got;
}

TEST(Router, LiteralsNeedNoDns) {
  Router r(nullptr, {host(config::Protocol::qmtp, "127.0.0.1", 2525), host(config::Protocol::qmqp, "::1")});
  auto a = route_now(r, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(texts(*a), (std::vector<std::string>{"qmtp 127.0.0.1:2525"}));
  auto b = route_now(r, 1);
  ASSERT_TRUE(b);
  EXPECT_EQ(texts(*b), (std::vector<std::string>{"qmqp [::1]:628"}));
  auto* sa = reinterpret_cast<const sockaddr_in6*>(&b->targets[0].endpoint.addr);
  EXPECT_EQ(sa->sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(sa->sin6_port), 628);
}

TEST(Router, EveryAddressOfANameInOrder) {
  FakeLookup dns;
  dns.hosts.emplace("relay.example", std::vector<dns::Address>{addr("2001:db8::5"), addr("192.0.2.7")});
  Router r(&dns, {host(config::Protocol::qmtp, "relay.example")});
  auto a = route_now(r, 0);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->error);
  EXPECT_EQ(texts(*a), (std::vector<std::string>{"qmtp [2001:db8::5]:209", "qmtp 192.0.2.7:209"}));
}

TEST(Router, NxdomainIsPermanentTimeoutTemporary) {
  FakeLookup dns;
  dns.hosts.emplace("slow.example", Error::temporary(ErrorDomain::ares, "timeout"));
  Router r(&dns, {host(config::Protocol::qmqp, "gone.example"), host(config::Protocol::qmqp, "slow.example")});
  auto a = route_now(r, 0);
  ASSERT_TRUE(a && a->error);
  EXPECT_TRUE(a->error->is_permanent());
  EXPECT_NE(a->error->detail.find("gone.example"), std::string::npos);
  auto b = route_now(r, 1);
  ASSERT_TRUE(b && b->error);
  EXPECT_TRUE(b->error->is_temporary());
  EXPECT_TRUE(b->targets.empty());
}

TEST(Router, MxpsExchangersUseQmtpWithSmtpFallbackOtherExchangersSmtp) {
  FakeLookup dns;
  // Already ordered by the resolver: ascending preference.
  dns.mx.emplace("example.org", std::vector<dns::Exchanger>{{"smtp.example.org", 10},
                                                            {"q1.example.org", 12801},
                                                            {"smtp2.example.org", 12816},
                                                            {"q2.example.org", 12817}});
  dns.hosts.emplace("q1.example.org", std::vector<dns::Address>{addr("192.0.2.1")});
  dns.hosts.emplace("q2.example.org", std::vector<dns::Address>{addr("192.0.2.2"), addr("192.0.2.3")});
  std::vector<std::string> logged;
  Router r(&dns, {host(config::Protocol::mx, "example.org")});
  r.set_note_sink([&](const config::SmartHost&, const std::string& n) { logged.push_back(n); });
  auto a = route_now(r, 0);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->error);
  // Each MXPS address: QMTP, then SMTP on 25 of the same address as its fallback.
  EXPECT_EQ(texts(*a), (std::vector<std::string>{"qmtp 192.0.2.1:209", "smtp 192.0.2.1:25", "qmtp 192.0.2.2:209",
                                                 "smtp 192.0.2.2:25", "qmtp 192.0.2.3:209", "smtp 192.0.2.3:25"}));
  EXPECT_EQ(a->targets[0].via, "q1.example.org");
  EXPECT_FALSE(a->targets[0].fallback);
  EXPECT_TRUE(a->targets[1].fallback);
  ASSERT_TRUE(a->targets[1].smtp);
  EXPECT_EQ(a->targets[1].smtp->host, "q1.example.org");
  EXPECT_EQ(a->targets[1].smtp->starttls, client::StartTls::opportunistic);
  EXPECT_TRUE(a->targets[1].smtp->auth_user.empty()) << "no login at MX hosts";
  // The SMTP exchangers do not resolve here: said, not skipped silently.
  ASSERT_EQ(a->notes.size(), 2u);
  EXPECT_EQ(a->notes[0], "mx smtp.example.org: NXDOMAIN");
  EXPECT_EQ(a->notes[1], "mx smtp2.example.org: NXDOMAIN");
  EXPECT_EQ(logged, a->notes);
}

TEST(Router, MxpsPortCanBeMovedForTests) {
  FakeLookup dns;
  dns.mx.emplace("example.org", std::vector<dns::Exchanger>{{"q.example.org", 12801}});
  dns.hosts.emplace("q.example.org", std::vector<dns::Address>{addr("192.0.2.1")});
  Router r(&dns, {host(config::Protocol::mx, "example.org"), host(config::Protocol::mx, "example.org", 2209)});
  r.set_mxps_port(4000);
  auto a = route_now(r, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(texts(*a), (std::vector<std::string>{"qmtp 192.0.2.1:4000", "smtp 192.0.2.1:25"}));
  auto b = route_now(r, 1);
  ASSERT_TRUE(b);
  EXPECT_EQ(texts(*b), (std::vector<std::string>{"qmtp 192.0.2.1:2209", "smtp 192.0.2.1:25"}))
      << "the smart host's own port wins";
}

TEST(Router, SmtpExchangersAreSmtpOnTheirPortAndUnresolvableOnesSayWhy) {
  FakeLookup dns;
  dns.mx.emplace("smtp-only.example", std::vector<dns::Exchanger>{{"mail.smtp-only.example", 10}});
  dns.mx.emplace("ok.example", std::vector<dns::Exchanger>{{"mx.ok.example", 10}});
  dns.hosts.emplace("mx.ok.example", std::vector<dns::Address>{addr("192.0.2.9")});
  Router r(&dns, {host(config::Protocol::mx, "smtp-only.example"), host(config::Protocol::mx, "ok.example")});
  SmtpSetup setup;
  setup.mx_port = 2525;
  setup.settings.mx_tls = config::MxTls::encrypt;
  r.set_smtp(setup);
  auto a = route_now(r, 0);
  ASSERT_TRUE(a && a->error);
  EXPECT_TRUE(a->error->is_temporary());
  EXPECT_NE(a->error->detail.find("mx mail.smtp-only.example: NXDOMAIN"), std::string::npos) << a->error->detail;
  auto b = route_now(r, 1);
  ASSERT_TRUE(b && !b->error);
  EXPECT_EQ(texts(*b), (std::vector<std::string>{"smtp 192.0.2.9:2525"}));
  EXPECT_FALSE(b->targets[0].fallback);
  EXPECT_EQ(b->targets[0].smtp->starttls, client::StartTls::required) << "mx_tls: encrypt";
}

TEST(Router, NullMxIsPermanentAtOnce) {
  FakeLookup dns;
  dns.mx.emplace("nomail.example", std::vector<dns::Exchanger>{{"", 0}});
  Router r(&dns, {host(config::Protocol::mx, "nomail.example")});
  auto a = route_now(r, 0);
  ASSERT_TRUE(a && a->error);
  EXPECT_TRUE(a->error->is_permanent());
  EXPECT_NE(a->error->detail.find("accepts no mail (null MX, RFC 7505)"), std::string::npos) << a->error->detail;
}

TEST(Router, SmtpSmartHostsCarryTheirSessionOptions) {
  auto h = config::parse_smarthost("smtp://192.0.2.5:587");
  ASSERT_TRUE(h.ok());
  h->auth_user = "me";
  h->password = std::make_shared<const std::string>("pw");
  auto s = config::parse_smarthost("smtps://192.0.2.6");
  ASSERT_TRUE(s.ok());
  Router r(nullptr, {*h, *s});
  auto a = route_now(r, 0);
  ASSERT_TRUE(a && !a->error);
  EXPECT_EQ(texts(*a), (std::vector<std::string>{"smtp 192.0.2.5:587"}));
  ASSERT_TRUE(a->targets[0].smtp);
  EXPECT_EQ(a->targets[0].smtp->starttls, client::StartTls::required) << "port 587 implies STARTTLS required";
  EXPECT_EQ(a->targets[0].smtp->auth_user, "me");
  EXPECT_EQ(*a->targets[0].smtp->auth_password, "pw");
  auto b = route_now(r, 1);
  ASSERT_TRUE(b && !b->error);
  EXPECT_EQ(texts(*b), (std::vector<std::string>{"smtp 192.0.2.6:465"}));
  EXPECT_TRUE(b->targets[0].smtp->implicit_tls);
}

TEST(Router, MxNxdomainIsPermanent) {
  FakeLookup dns;
  Router r(&dns, {host(config::Protocol::mx, "nowhere.example")});
  auto a = route_now(r, 0);
  ASSERT_TRUE(a && a->error);
  EXPECT_TRUE(a->error->is_permanent());
}

TEST(Router, UnresolvableExchangerIsNotedAndTheOthersUsed) {
  FakeLookup dns;
  dns.mx.emplace("example.net", std::vector<dns::Exchanger>{{"dead.example.net", 12801}, {"q.example.net", 12817}});
  dns.hosts.emplace("q.example.net", std::vector<dns::Address>{addr("192.0.2.9")});
  Router r(&dns, {host(config::Protocol::mx, "example.net")});
  auto a = route_now(r, 0);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->error);
  EXPECT_EQ(texts(*a), (std::vector<std::string>{"qmtp 192.0.2.9:209", "smtp 192.0.2.9:25"}));
  ASSERT_EQ(a->notes.size(), 1u);
  EXPECT_NE(a->notes[0].find("dead.example.net"), std::string::npos);
}

TEST(Router, ConcurrentRequestsShareOneLookupAndResultsAreCached) {
  FakeLookup dns;
  dns.synchronous = false;
  dns.hosts.emplace("relay.example", std::vector<dns::Address>{addr("192.0.2.1")});
  Router r(&dns, {host(config::Protocol::qmtp, "relay.example")}, 1000, 100);
  int answered = 0;
  for (int i = 0; i < 5; ++i) r.route(0, 0, [&](std::shared_ptr<const Route> x) { answered += x->error ? 0 : 1; });
  EXPECT_EQ(dns.host_queries, 1);
  EXPECT_EQ(answered, 0);
  dns.flush();
  EXPECT_EQ(answered, 5);
  r.route(0, 999, [&](std::shared_ptr<const Route>) { ++answered; });
  EXPECT_EQ(answered, 6) << "cached: answered synchronously";
  EXPECT_EQ(dns.host_queries, 1);
  r.route(0, 1000, [&](std::shared_ptr<const Route>) { ++answered; });
  EXPECT_EQ(dns.host_queries, 2) << "expired: looked up again";
}

TEST(Router, ResetAnswersWaitersWithATemporaryError) {
  FakeLookup dns;
  dns.synchronous = false;
  Router r(&dns, {host(config::Protocol::qmtp, "relay.example")});
  std::shared_ptr<const Route> got;
  r.route(0, 0, [&](std::shared_ptr<const Route> x) { got = std::move(x); });
  r.reset(&dns, {host(config::Protocol::qmtp, "127.0.0.2")});
  ASSERT_TRUE(got && got->error);
  EXPECT_TRUE(got->error->is_temporary());
  dns.flush();  // the old lookup's answer arrives late and is ignored
  auto b = route_now(r, 0);
  ASSERT_TRUE(b);
  EXPECT_EQ(texts(*b), (std::vector<std::string>{"qmtp 127.0.0.2:209"}));
}

}  // namespace
}  // namespace nullq::send

namespace nullq::send {
namespace {

// A stand-in for the token manager: the router only hands it on.
class NoTokens final : public client::TokenSource {
 public:
  void get(Callback) override {}
  bool rejected(const Token&) override { return true; }
};

TEST(Router, OAuthSmartHostsCarryTheirMechanismAndTokenSource) {
  auto h = config::parse_smarthost("smtp://192.0.2.5:587");
  ASSERT_TRUE(h.ok());
  h->auth_user = "alerts@example.com";
  h->mechanism = config::AuthMechanism::xoauth2;
  h->oauth.flow = config::OAuthFlow::client_credentials;
  auto p = config::parse_smarthost("smtp://192.0.2.6:587");
  ASSERT_TRUE(p.ok());
  p->auth_user = "me";
  p->mechanism = config::AuthMechanism::login;
  p->password = std::make_shared<const std::string>("pw");
  auto source = std::make_shared<NoTokens>();
  std::vector<std::string> asked;
  SmtpSetup setup;
  setup.tokens = [&](const config::SmartHost& host) -> std::shared_ptr<client::TokenSource> {
    asked.push_back(host.text);
    return source;
  };
  Router r(nullptr, {*h, *p});
  r.set_smtp(setup);
  auto a = route_now(r, 0);
  ASSERT_TRUE(a && !a->error);
  EXPECT_EQ(a->targets[0].smtp->auth_mechanism, client::AuthMechanism::xoauth2);
  EXPECT_EQ(a->targets[0].smtp->auth_token, source);
  EXPECT_EQ(a->targets[0].smtp->auth_user, "alerts@example.com");
  EXPECT_FALSE(a->targets[0].smtp->auth_password);
  auto b = route_now(r, 1);
  ASSERT_TRUE(b && !b->error);
  EXPECT_EQ(b->targets[0].smtp->auth_mechanism, client::AuthMechanism::login);
  EXPECT_FALSE(b->targets[0].smtp->auth_token) << "a password host has no token source";
  EXPECT_EQ(asked, std::vector<std::string>{"smtp://192.0.2.5:587"});
}

}  // namespace
}  // namespace nullq::send

// MXPS and MX ordering, literals, and the c-ares resolver on a real libuv loop against a fake DNS
// server on 127.0.0.1.
#include <gtest/gtest.h>
#include <uv.h>

#include <optional>
#include <set>

#include "fake_dns.hpp"
#include "nullq/dns.hpp"

using namespace nullq::dns;

namespace {

TEST(Mxps, QmtpSlice) {
  for (std::uint16_t p : {12801, 12817, 12833, 13041}) EXPECT_TRUE(mxps_qmtp(p)) << p;
  for (std::uint16_t p : {0, 10, 12800, 12802, 12816, 13040, 13057, 65535}) EXPECT_FALSE(mxps_qmtp(p)) << p;
  for (std::uint16_t p : {12800, 12816, 13040}) EXPECT_TRUE(mxps_smtp(p)) << p;
  for (std::uint16_t p : {12801, 10, 13056}) EXPECT_FALSE(mxps_smtp(p)) << p;
}

TEST(Order, AscendingWithEqualPreferencesShuffled) {
  std::set<std::string> first_seen;
  for (unsigned seed = 0; seed < 40; ++seed) {
    std::vector<Exchanger> mx{{"c", 20}, {"a", 10}, {"b", 10}, {"d", 30}};
    std::mt19937 rng(seed);
    order_exchangers(mx, rng);
    ASSERT_EQ(mx.size(), 4u);
    EXPECT_EQ(mx[0].preference, 10);
    EXPECT_EQ(mx[1].preference, 10);
    EXPECT_EQ(mx[2].host, "c");
    EXPECT_EQ(mx[3].host, "d");
    first_seen.insert(mx[0].host);
  }
  EXPECT_EQ(first_seen, (std::set<std::string>{"a", "b"})) << "both orders of the equal pair occur";
}

TEST(Literal, ParsesAddressesOnly) {
  Address a;
  ASSERT_TRUE(parse_literal("127.0.0.1", a));
  EXPECT_EQ(a.addr.ss_family, AF_INET);
  EXPECT_EQ(a.text, "127.0.0.1");
  ASSERT_TRUE(parse_literal("::1", a));
  EXPECT_EQ(a.addr.ss_family, AF_INET6);
  for (const char* no : {"relay.example.org", "[::1]", "", "1.2.3", "::1:"}) EXPECT_FALSE(parse_literal(no, a)) << no;
}

// Runs the loop until `done` or a 5 s deadline (a uv timer; no sleeps).
template <class Pred>
void run_until(uv_loop_t* loop, Pred done) {
  uv_timer_t deadline;
  uv_timer_init(loop, &deadline);
  uv_timer_start(&deadline, [](uv_timer_t* t) { uv_stop(t->loop); }, 5000, 0);
  while (!done() && uv_loop_alive(loop)) {
    uv_run(loop, UV_RUN_ONCE);
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&deadline))) break;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&deadline), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
}

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    resolver_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // close callbacks
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "the resolver left handles open";
  }
  Resolver& resolver(int timeout_ms = 1000) {
    resolver_ = std::make_unique<Resolver>(&loop_, Options{timeout_ms, 1, dns_.servers()});
    return *resolver_;
  }
  uv_loop_t loop_{};
  nullq::send::it::FakeDns dns_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(ResolverTest, LiteralNeedsNoQuery) {
  std::optional<nullq::Result<std::vector<Address>>> got;
  resolver().resolve_host("192.0.2.7", [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(got.has_value()) << "answered synchronously";
  ASSERT_TRUE(got->ok());
  EXPECT_EQ((*got)->at(0).text, "192.0.2.7");
}

TEST_F(ResolverTest, HostGetsEveryAddress) {
  dns_.a("relay.test", "127.0.0.1");
  dns_.a("relay.test", "127.0.0.2");
  dns_.aaaa("relay.test", "::1");
  std::optional<nullq::Result<std::vector<Address>>> got;
  resolver().resolve_host("relay.test", [&](auto r) { got = std::move(r); });
  run_until(&loop_, [&] { return got.has_value(); });
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->error().message();
  std::set<std::string> texts;
  for (const auto& a : **got) texts.insert(a.text);
  EXPECT_EQ(texts, (std::set<std::string>{"127.0.0.1", "127.0.0.2", "::1"}));
}

TEST_F(ResolverTest, MxOrderedByPreference) {
  dns_.mx("example.test", 13041, "qmtp-last.example.test");
  dns_.mx("example.test", 10, "smtp.example.test");
  dns_.mx("example.test", 12801, "qmtp.example.test");
  std::optional<nullq::Result<std::vector<Exchanger>>> got;
  resolver().resolve_mx("example.test", [&](auto r) { got = std::move(r); });
  run_until(&loop_, [&] { return got.has_value(); });
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->error().message();
  ASSERT_EQ((*got)->size(), 3u);
  EXPECT_EQ((*got)->at(0), (Exchanger{"smtp.example.test", 10}));
  EXPECT_EQ((*got)->at(1), (Exchanger{"qmtp.example.test", 12801}));
  EXPECT_EQ((*got)->at(2), (Exchanger{"qmtp-last.example.test", 13041}));
}

TEST_F(ResolverTest, NxdomainIsPermanent) {
  std::optional<nullq::Result<std::vector<Exchanger>>> got;
  resolver().resolve_mx("nowhere.test", [&](auto r) { got = std::move(r); });
  run_until(&loop_, [&] { return got.has_value(); });
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_TRUE(got->error().is_permanent()) << got->error().message();
}

TEST_F(ResolverTest, ServfailIsTemporary) {
  dns_.servfail("broken.test");
  std::optional<nullq::Result<std::vector<Exchanger>>> got;
  resolver().resolve_mx("broken.test", [&](auto r) { got = std::move(r); });
  run_until(&loop_, [&] { return got.has_value(); });
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_TRUE(got->error().is_temporary()) << got->error().message();
}

TEST_F(ResolverTest, NoMxFallsBackToTheDomainItself) {
  dns_.a("plain.test", "127.0.0.1");  // the name exists, without MX records
  std::optional<nullq::Result<std::vector<Exchanger>>> got;
  resolver().resolve_mx("plain.test", [&](auto r) { got = std::move(r); });
  run_until(&loop_, [&] { return got.has_value(); });
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->error().message();
  EXPECT_EQ(**got, (std::vector<Exchanger>{{"plain.test", 0}}));
}

TEST_F(ResolverTest, CloseWithLookupsInFlightRunsNoCallback) {
  dns_.mx("example.test", 10, "mx.example.test");
  bool called = false;
  Resolver& r = resolver();
  r.resolve_mx("example.test", [&](auto) { called = true; });
  r.close();
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_FALSE(called);
}

}  // namespace

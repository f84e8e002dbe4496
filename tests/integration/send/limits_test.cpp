// Provider limits end to end (issue 19): the real nullq-send against the test host with limits of
// its own (connections, messages per connection, a fixed rate window, a quota), all on 127.0.0.1.
// Every message is delivered exactly once, none is bounced, and the refusals after the first stay
// under 5% of the messages: nullq slows the host down instead of hammering it. (The rate achieved
// is a figure for bench/deliver, not asserted here.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <cstdio>

#include "harness.hpp"
#include "nullq/testhost.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

std::string ns(const std::string& s) { return std::to_string(s.size()) + ":" + s + ","; }

class Limits : public ::testing::Test {
 protected:
  TestSpool s;
  std::unique_ptr<testhost::Server> host;

  void start(testhost::ServerLimits limits, bool smtp = true) {
    testhost::Options o;
    o.qmtp = !smtp;
    o.qmqp = false;
    o.smtp = smtp;
    o.limits = limits;
    auto h = testhost::Server::start(std::move(o));
    ASSERT_TRUE(h.ok()) << h.error().message();
    host = std::move(h).value();
  }
  std::string smtp_url() const { return "smtp://127.0.0.1:" + std::to_string(host->smtp_port()); }
  std::string qmtp_url() const { return "qmtp://127.0.0.1:" + std::to_string(host->qmtp_port()); }
  // The daily counts go into the test's own state directory.
  void config(const std::string& smarthost) {
    const std::string state = s.dir.path() + "/state";
    ::mkdir(state.c_str(), 0700);
    s.write_config({smarthost}, "state_dir: " + state + "\nlog:\n  level: info\n", "  retry_min: 10m\n");
  }
  // `n` queue files written straight into queue/ (as bench/deliver does), each with its number in
  // the Subject, so that the host can count each one.
  void fill(int n) {
    for (const char* d : {"tmp", "new", "queue", "failed"}) ::mkdir((s.spool + "/" + d).c_str(), 0700);
    ::mkfifo((s.spool + "/trigger").c_str(), 0600);
    const long now = static_cast<long>(::time(nullptr));
    for (int i = 0; i < n; ++i) {
      const std::string env = "NQ1\nF" + ns("alice@example.org") + "\nT" + ns("bob@example.org") + "\nQ" +
                               ns(std::to_string(now)) + "\n\n";
      const std::string body = "From: alice@example.org\nSubject: m" + std::to_string(i) + "\n\nhello\n";
      char name[96];
      std::snprintf(name, sizeof name, "%ld%06dP1R%016x,0,0", now, i, static_cast<unsigned>(i));
      write_file(s.spool + "/queue/" + name, env + body);
    }
  }
  // Each of the n messages reached the host once and was accepted; nothing bounced or left.
  void expect_each_once(int n, const std::string& log) {
    std::map<std::string, int> seen;
    for (const auto& r : host->received()) {
      if (r.protocol.rfind("smtp", 0) == 0 && r.final_code != 250) continue;
      if (r.protocol == "qmtp" && r.answers != "K") continue;
      EXPECT_FALSE(r.sender.empty()) << "a bounce reached the host: " << r.message.substr(0, 300);
      auto at = r.message.find("Subject: m");
      ASSERT_NE(at, std::string::npos) << r.message.substr(0, 300);
      ++seen[r.message.substr(at + 9, r.message.find('\n', at) - at - 9)];
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(n)) << log.substr(0, 4000);
    for (const auto& [subject, count] : seen) EXPECT_EQ(count, 1) << subject << " delivered " << count << " times";
    EXPECT_TRUE(s.queued().empty()) << log.substr(0, 4000);
    EXPECT_TRUE(s.failed().empty()) << "nothing bounced or failed";
    EXPECT_FALSE(contains(log, "bounce for")) << log.substr(0, 4000);
  }
  // A host taking at most 2 recipients per message, answering the rest with `code` (452 or 552):
  // a message to 5 goes in 3 transactions of one run, each recipient once, nothing bounced.
  void expect_next_transactions(unsigned code) {
    testhost::ServerLimits l;
    l.recipients = 2;
    l.recipients_code = code;
    start(l);
    config("{url: '" + smtp_url() + "', starttls: 'off'}");
    const std::vector<std::string> rcpts{"r1@example.org", "r2@example.org", "r3@example.org", "r4@example.org",
                                         "r5@example.org"};
    s.inject("alice@example.org", rcpts, "Subject: many\n\nhello\n");
    auto r = s.once();
    EXPECT_EQ(r.status, 0) << r.err.substr(0, 4000);
    std::vector<std::string> got;
    std::vector<std::size_t> sizes;
    for (const auto& m : host->received()) {
      EXPECT_EQ(m.final_code, 250);
      EXPECT_FALSE(m.sender.empty()) << "a bounce reached the host: " << m.message.substr(0, 300);
      sizes.push_back(m.recipients.size());
      got.insert(got.end(), m.recipients.begin(), m.recipients.end());
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 2, 1})) << r.err.substr(0, 4000);
    EXPECT_EQ(got, rcpts) << "each recipient once";
    EXPECT_TRUE(s.queued().empty()) << r.err.substr(0, 4000);
    EXPECT_TRUE(s.failed().empty());
    EXPECT_TRUE(contains(r.err, std::to_string(code) + (code == 452 ? " 4.5.3" : " 5.5.3") + " Too many recipients"))
        << r.err.substr(0, 4000);
  }
  void expect_few_refusals(int n) {
    const unsigned refused = host->refusals();
    EXPECT_LT(refused > 0 ? refused - 1 : 0, static_cast<unsigned>(n) / 20)
        << refused << " refused attempts for " << n << " messages";
  }
};

constexpr int kMessages = 500;

TEST_F(Limits, ConnectionLimitLearnedFromRefusedConnections) {
  testhost::ServerLimits l;
  l.connections = 2;
  start(l);
  config("{url: '" + smtp_url() + "', starttls: 'off', connections: 6}");
  fill(kMessages);
  auto r = s.once();
  EXPECT_EQ(r.status, 0) << r.err.substr(0, 4000);
  expect_each_once(kMessages, r.err);
  expect_few_refusals(kMessages);
  EXPECT_GE(host->refusals(), 1u) << "the limit was reached (else this test shows nothing)";
  EXPECT_EQ(count_of(r.err, "throttled ("), 1u) << "the slow-down is logged once: " << r.err.substr(0, 4000);
}

TEST_F(Limits, RateWindowLearnedFromTooMuchMail) {
  testhost::ServerLimits l;
  l.rate = 100;  // per second, fixed windows (Postfix anvil)
  l.rate_window = 1000ms;
  start(l);
  config("{url: '" + smtp_url() + "', starttls: 'off'}");
  fill(kMessages);
  auto r = s.once();
  EXPECT_EQ(r.status, 0) << r.err.substr(0, 4000);
  expect_each_once(kMessages, r.err);
  expect_few_refusals(kMessages);
  EXPECT_GE(host->refusals(), 1u);
  EXPECT_TRUE(contains(r.err, "450 4.7.1 Error: too much mail from 127.0.0.1 (the host's pace; not charged)"))
      << r.err.substr(0, 4000);
}

// Over QMTP the refusal is a Z with the enhanced code. The packages in flight when the first one
// comes (connections x pipeline) are refused with it, as are the probes until the window opens
// again: that first run is one refusal, the host's. From then on the host has a pace and a
// connection carries one package at a time, so that each later refusal costs at most one package
// per connection: those stay under 5% of the messages.
TEST_F(Limits, RateWindowLearnedOverQmtp) {
  testhost::ServerLimits l;
  l.rate = 100;
  l.rate_window = 1000ms;
  start(l, false);
  config("{url: '" + qmtp_url() + "', connections: 4, pipeline: 32}");
  fill(kMessages);
  auto r = s.once();
  EXPECT_EQ(r.status, 0) << r.err.substr(0, 4000);
  expect_each_once(kMessages, r.err);
  EXPECT_LT(host->refusals() - host->first_refusal_run(), static_cast<unsigned>(kMessages) / 20)
      << host->refusals() << " refused, " << host->first_refusal_run() << " of them in the first run";
  EXPECT_GE(host->refusals(), 1u);
  EXPECT_TRUE(contains(r.err, "too much mail from 127.0.0.1 (the host's pace; not charged)")) << r.err.substr(0, 4000);
}

TEST_F(Limits, ConfiguredRateIsNeverRefused) {
  testhost::ServerLimits l;
  l.rate = 50;
  l.rate_window = 1000ms;
  start(l);
  config("{url: '" + smtp_url() + "', starttls: 'off', rate: 45/s}");
  fill(100);
  auto r = s.once();
  EXPECT_EQ(r.status, 0) << r.err.substr(0, 4000);
  expect_each_once(100, r.err);
  EXPECT_EQ(host->refusals(), 0u) << r.err.substr(0, 4000);
}

TEST_F(Limits, MessagesPerConnectionReconnects) {
  testhost::ServerLimits l;
  l.per_connection = 10;
  start(l);
  config("{url: '" + smtp_url() + "', starttls: 'off', messages_per_connection: 10}");
  fill(kMessages);
  auto r = s.once();
  EXPECT_EQ(r.status, 0) << r.err.substr(0, 4000);
  expect_each_once(kMessages, r.err);
  EXPECT_EQ(host->refusals(), 0u) << "nullq closed every connection after 10 messages";
  const auto conns = host->smtp_connections();
  EXPECT_GE(conns.size(), static_cast<std::size_t>(kMessages / 10));
  for (const auto& c : conns) {
    EXPECT_LE(c.messages, 10u);
    if (c.messages == 10) {
      EXPECT_TRUE(c.quit) << "a polite QUIT after the tenth message";
    }
  }
}

// 5.4.5 after N messages: nothing bounces (a 5xx that is a quota answer is not permanent for the
// message), the host is held until quota_reset, no attempt is charged, then the rest is delivered.
TEST_F(Limits, QuotaHoldsTheHostThenDelivers) {
  testhost::ServerLimits l;
  l.quota = 20;
  l.quota_window = 2000ms;
  start(l);
  config("{url: '" + smtp_url() + "', starttls: 'off', quota_reset: 2s}");
  fill(50);
  const std::string log = s.dir.path() + "/daemon.log";
  Child d({bin_dir() + "/nullq-send", "--stderr", "--config", s.config}, {}, log);
  ASSERT_TRUE(eventually([&] { return contains(read_file(log), "quota reached"); }, 30s)) << read_file(log);
  // Held: the messages wait in the queue with no attempt charged (",0," in their names).
  for (const auto& q : s.queued()) {
    if (q[0] == '.') continue;  // .tmp-*: a rewrite being made
    EXPECT_NE(q.find(",0,"), std::string::npos) << q;
  }
  ASSERT_TRUE(eventually([&] { return s.queued().empty(); }, 60s)) << read_file(log).substr(0, 4000);
  d.signal(SIGTERM);
  int status = -1;
  ASSERT_TRUE(d.wait(30s, status));
  const std::string text = read_file(log);
  expect_each_once(50, text);
  EXPECT_TRUE(contains(text, "550 5.4.5 Daily user sending limit exceeded")) << text.substr(0, 4000);
  EXPECT_GE(host->refusals(), 2u) << "two quota windows were used up";
}

// The same over QMTP, where a quota answer is a D: still no bounce.
TEST_F(Limits, QmtpQuotaAnswerIsNotPermanent) {
  testhost::ServerLimits l;
  l.quota = 5;
  l.quota_window = 2000ms;
  start(l, false);
  config("{url: '" + qmtp_url() + "', quota_reset: 2s}");
  fill(12);
  const std::string log = s.dir.path() + "/daemon.log";
  Child d({bin_dir() + "/nullq-send", "--stderr", "--config", s.config}, {}, log);
  ASSERT_TRUE(eventually([&] { return s.queued().empty(); }, 60s)) << read_file(log).substr(0, 4000);
  d.signal(SIGTERM);
  int status = -1;
  ASSERT_TRUE(d.wait(30s, status));
  const std::string text = read_file(log);
  expect_each_once(12, text);
  EXPECT_TRUE(contains(text, "quota reached")) << text.substr(0, 4000);
}

// RFC 5321 §4.5.3.1.10: a server that takes at most 2 recipients per message answers the rest
// "452 4.5.3 Too many recipients" (or, as older servers do, 552 5.5.3, which is meant as
// temporary): they go in the next transaction at once, in the same run, and nothing bounces.
TEST_F(Limits, TooManyRecipientsGoInTheNextTransactionAtOnce) { expect_next_transactions(452); }
TEST_F(Limits, TooManyRecipientsAs552AreNotBounced) { expect_next_transactions(552); }

// A daily count reached holds the host until the window ends, across a restart of nullq-send.
TEST_F(Limits, DailyCountHoldsAndSurvivesARestart) {
  start({});
  config("{url: '" + smtp_url() + "', starttls: 'off', daily: 3, quota_reset: 1h}");
  fill(5);
  auto r = s.once();
  EXPECT_EQ(r.status, 75) << r.err.substr(0, 4000);
  EXPECT_EQ(host->received().size(), 3u);
  EXPECT_EQ(s.queued().size(), 2u);
  for (const auto& q : s.queued()) EXPECT_NE(q.find(",0,"), std::string::npos) << "not charged: " << q;
  EXPECT_TRUE(s.failed().empty());
  EXPECT_TRUE(contains(read_file(s.dir.path() + "/state/limits"), smtp_url() + " 3 ")) << "counted in the state file";
  // Due again at once (as `nullq flush` would make them), and a new nullq-send process.
  for (const auto& q : s.queued()) {
    const std::string due = q.substr(0, q.rfind(',') + 1) + "0";
    ASSERT_EQ(::rename((s.spool + "/queue/" + q).c_str(), (s.spool + "/queue/" + due).c_str()), 0);
  }
  auto again = s.once();
  EXPECT_EQ(host->received().size(), 3u) << "a restart (nullq-send -q runs anew) does not reset the count: "
                                         << again.err.substr(0, 4000);
  EXPECT_EQ(s.queued().size(), 2u);
}

}  // namespace
}  // namespace nullq::send::it

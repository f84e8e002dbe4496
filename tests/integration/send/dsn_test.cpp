// DSN requests (RFC 3461) at delivery: passed on to SMTP servers that offer DSN (the test host
// records MAIL and RCPT parameters), left out for those that do not, and honoured by nullq's own
// reports: NOTIFY without FAILURE means no bounce (and nothing kept in failed/ for one), NOTIFY
// without DELAY no delay warning, RET=HDRS headers only, RET=FULL the whole message, ENVID and ORCPT
// shown. Messages come in through the real nullq-queue and its DSN framing.
#include <gtest/gtest.h>

#include <ctime>
#include <memory>

#include "harness.hpp"
#include "nullq/envelope.hpp"
#include "nullq/queue.hpp"
#include "nullq/testhost.hpp"
#include "smtp_fake_server.hpp"

namespace nullq::send::it {
namespace {

const std::string kBody = "From: alice@example.org\nSubject: dsn\n\nThe secret body line.\n";

dsn::RecipientParams notify(unsigned flags, const std::string& orcpt = "") {
  dsn::RecipientParams p;
  p.notify = flags;
  if (!orcpt.empty()) {
    p.orcpt_type = "rfc822";
    p.orcpt = orcpt;
  }
  return p;
}

// Through nullq-queue, with the DSN items of the drop framing.
void inject(TestSpool& s, const std::vector<std::string>& rcpts, const dsn::MessageParams& m,
            const std::vector<dsn::RecipientParams>& r) {
  RunResult q = run({bin_dir() + "/nullq-queue", "-d", s.spool}, {},
                    envelope::encode_drop("alice@example.org", rcpts, m, r) + kBody);
  ASSERT_EQ(q.status, 0) << q.err;
}

dsn::MessageParams ret_envid(dsn::Ret ret, const std::string& envid) {
  dsn::MessageParams m;
  m.ret = ret;
  m.envid = envid;
  return m;
}

class DsnWire : public ::testing::Test {
 protected:
  TestSpool s;
  std::unique_ptr<testhost::Server> host;
  void start(bool offer_dsn) {
    testhost::Options o;
    o.qmtp = o.qmqp = false;
    o.smtp = true;
    o.caps.dsn = offer_dsn;
    auto h = testhost::Server::start(std::move(o));
    ASSERT_TRUE(h.ok()) << h.error().message();
    host = std::move(h).value();
    s.write_config({"smtp://127.0.0.1:" + std::to_string(host->smtp_port())});
  }
};

TEST_F(DsnWire, AServerThatOffersDsnGetsTheParameters) {
  ASSERT_NO_FATAL_FAILURE(start(true));
  ASSERT_NO_FATAL_FAILURE(inject(s, {"b@example.org", "c@example.org", "d@example.org"},
                                 ret_envid(dsn::Ret::hdrs, "job 7+"),
                                 {notify(dsn::notify_success | dsn::notify_failure, "B@example.org"), {},
                                  notify(dsn::notify_never)}));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_NE(got[0].mail_params.find("RET=HDRS ENVID=job+207+2B"), std::string::npos) << got[0].mail_params;
  ASSERT_EQ(got[0].rcpts.size(), 3u);
  EXPECT_EQ(got[0].rcpts[0].params, "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;B@example.org");
  EXPECT_EQ(got[0].rcpts[1].params, "");
  EXPECT_EQ(got[0].rcpts[2].params, "NOTIFY=NEVER");
}

TEST_F(DsnWire, AServerThatDoesNotOfferDsnGetsNone) {
  ASSERT_NO_FATAL_FAILURE(start(false));
  ASSERT_NO_FATAL_FAILURE(inject(s, {"b@example.org"}, ret_envid(dsn::Ret::full, "job"),
                                 {notify(dsn::notify_success, "B@example.org")}));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_EQ(got[0].mail_params.find("RET="), std::string::npos) << got[0].mail_params;
  EXPECT_EQ(got[0].mail_params.find("ENVID="), std::string::npos) << got[0].mail_params;
  ASSERT_EQ(got[0].rcpts.size(), 1u);
  EXPECT_EQ(got[0].rcpts[0].params, "");
}

TEST(DsnQueue, PendingRecipientsKeepTheirOwnRequests) {
  TestSpool s;
  SmtpFakeServer srv;
  srv.rcpt = [](const std::string& r) {
    return r == "c@example.org" ? std::string("451 4.2.0 try later") : std::string("250 2.1.5 ok");
  };
  s.write_config({srv.url()});
  ASSERT_NO_FATAL_FAILURE(inject(s, {"b@example.org", "c@example.org", "d@example.org"}, {},
                                 {notify(dsn::notify_never), notify(dsn::notify_delay, "C@example.org"), {}}));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  auto q = s.queued();
  ASSERT_EQ(q.size(), 1u) << r.err;
  const std::string file = read_file(s.spool + "/queue/" + q[0]);
  auto env = envelope::decode(file, nullptr);
  ASSERT_TRUE(env.ok()) << env.error().detail;
  EXPECT_EQ(env->recipients, (std::vector<std::string>{"c@example.org"}));
  ASSERT_EQ(env->rcpt_dsn.size(), 1u) << file;
  EXPECT_EQ(env->rcpt_dsn[0], notify(dsn::notify_delay, "C@example.org")) << file;
}

// The server refuses every recipient but the sender (who gets the reports).
void refuse_all_but_alice(SmtpFakeServer& srv) {
  srv.rcpt = [](const std::string& r) {
    return r == "alice@example.org" ? std::string("250 2.1.5 ok") : std::string("550 5.1.1 mailbox unknown");
  };
}

TEST(DsnReports, NotifyNeverSendsNoBounceAndKeepsNothing) {
  TestSpool s;
  SmtpFakeServer srv;
  refuse_all_but_alice(srv);
  s.write_config({srv.url()});
  ASSERT_NO_FATAL_FAILURE(inject(s, {"b@example.org"}, {}, {notify(dsn::notify_never)}));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto t = srv.transactions();
  for (const auto& x : t) EXPECT_NE(x.sender, "") << "a bounce was sent: " << x.data;
  EXPECT_TRUE(s.queued().empty());
  EXPECT_TRUE(s.failed().empty()) << "nothing waits in failed/ for a report that never comes";
  EXPECT_TRUE(contains(r.err, "1 recipient(s) failed permanently, not reported to the sender (NOTIFY without "
                              "FAILURE): b@example.org: 550 5.1.1 mailbox unknown"))
      << r.err;
}

TEST(DsnReports, OnlyTheRecipientsThatAskedAreReportedWithEnvidOrcptAndHeaders) {
  TestSpool s;
  SmtpFakeServer srv;
  refuse_all_but_alice(srv);
  s.write_config({srv.url()});
  ASSERT_NO_FATAL_FAILURE(inject(s, {"b@example.org", "c@example.org", "d@example.org"},
                                 ret_envid(dsn::Ret::hdrs, "job 7"),
                                 {notify(dsn::notify_never), notify(dsn::notify_failure, "Orig+C@example.org"),
                                  notify(dsn::notify_success)}));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto t = srv.transactions();
  ASSERT_EQ(t.size(), 1u) << r.err;
  const std::string& bounce = t[0].data;
  EXPECT_EQ(t[0].sender, "");
  EXPECT_TRUE(contains(bounce, "Original-Envelope-Id: job 7\r\nReporting-MTA: dns; ")) << bounce;
  EXPECT_TRUE(contains(bounce, "\r\nOriginal-Recipient: rfc822;Orig+C@example.org\r\n"
                               "Final-Recipient: rfc822; c@example.org\r\nAction: failed\r\n"))
      << bounce;
  // The protocol that gave the answer names the diagnostic (RFC 3464 2.3.6).
  EXPECT_TRUE(contains(bounce, "Diagnostic-Code: smtp; 550 5.1.1 mailbox unknown\r\n")) << bounce;
  EXPECT_FALSE(contains(bounce, "X-QMTP")) << bounce;
  EXPECT_FALSE(contains(bounce, "Final-Recipient: rfc822; b@example.org")) << "NOTIFY=NEVER: " << bounce;
  EXPECT_FALSE(contains(bounce, "Final-Recipient: rfc822; d@example.org")) << "NOTIFY=SUCCESS: " << bounce;
  EXPECT_TRUE(contains(bounce, "Content-Type: text/rfc822-headers\r\n")) << bounce;
  EXPECT_TRUE(contains(bounce, "Subject: dsn\r\n")) << bounce;
  EXPECT_FALSE(contains(bounce, "The secret body line.")) << "RET=HDRS: " << bounce;
  // One recipient reported; its bounce was delivered, so the original left failed/ again.
  EXPECT_TRUE(contains(r.err, " bounce for 1 recipient(s) queued as id=")) << r.err;
  EXPECT_TRUE(contains(r.err, "2 recipient(s) failed permanently, not reported to the sender")) << r.err;
  EXPECT_TRUE(s.failed().empty());
  EXPECT_TRUE(s.queued().empty());
}

TEST(DsnReports, RetFullReturnsTheWholeMessage) {
  TestSpool s;
  SmtpFakeServer srv;
  refuse_all_but_alice(srv);
  s.write_config({srv.url()});
  ASSERT_NO_FATAL_FAILURE(inject(s, {"b@example.org"}, ret_envid(dsn::Ret::full, ""), {}));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto t = srv.transactions();
  ASSERT_EQ(t.size(), 1u) << r.err;
  EXPECT_TRUE(contains(t[0].data, "Content-Type: message/rfc822\r\n")) << t[0].data;
  EXPECT_TRUE(contains(t[0].data, "\r\nThe secret body line.\r\n")) << t[0].data;
  EXPECT_FALSE(contains(t[0].data, "Original-Envelope-Id")) << t[0].data;
}

// A message queued two hours ago that the server still defers, with delay warnings after one hour.
void queue_old_deferred(TestSpool& s, const std::vector<dsn::RecipientParams>& rcpt_dsn) {
  envelope::Envelope e;
  e.sender = "alice@example.org";
  e.recipients = {"b@example.org"};
  e.rcpt_dsn = rcpt_dsn;
  e.queued_at = static_cast<std::int64_t>(std::time(nullptr)) - 7200;
  auto d = queue::Drop::create(queue::Spool{s.spool});
  ASSERT_TRUE(d.ok()) << d.error().message();
  ASSERT_TRUE(d->write(envelope::encode(e) + kBody).ok());
  ASSERT_TRUE(d->commit().ok());
}

class DsnDelay : public ::testing::Test {
 protected:
  TestSpool s;
  SmtpFakeServer srv;
  void SetUp() override {
    srv.rcpt = [](const std::string& r) {
      return r == "alice@example.org" ? std::string("250 2.1.5 ok") : std::string("451 4.2.0 try later");
    };
    s.write_config({srv.url()}, "bounce:\n  delay_warning: 1h\n");
  }
  std::size_t warnings() {
    std::size_t n = 0;
    for (const auto& t : srv.transactions()) n += t.sender.empty() && contains(t.data, "Subject: Delayed Mail");
    return n;
  }
};

TEST_F(DsnDelay, NotifyWithoutDelayGetsNoWarning) {
  ASSERT_NO_FATAL_FAILURE(queue_old_deferred(s, {notify(dsn::notify_failure)}));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  EXPECT_EQ(warnings(), 0u) << r.err;
  EXPECT_EQ(s.queued().size(), 1u) << "still queued for the next try";
}

TEST_F(DsnDelay, NotifyDelayAndNoNotifyGetTheWarning) {
  ASSERT_NO_FATAL_FAILURE(queue_old_deferred(s, {notify(dsn::notify_delay | dsn::notify_failure)}));
  ASSERT_NO_FATAL_FAILURE(queue_old_deferred(s, {}));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 75) << r.err;
  EXPECT_EQ(warnings(), 2u) << r.err;
}

}  // namespace
}  // namespace nullq::send::it

// Delivery status notifications: who gets them, what they say, and how they are queued.
#include <gtest/gtest.h>

#include <sstream>

#include "nullq/bounce.hpp"
#include "process.hpp"

using nullq::bounce::Failure;
using nullq::bounce::Report;

namespace {

nullq::envelope::Envelope original(const std::string& sender, std::vector<std::string> rcpts) {
  nullq::envelope::Envelope e;
  e.sender = sender;
  e.recipients = std::move(rcpts);
  e.queued_at = 1795338653;
  return e;
}

const std::string message = "From: Alice <alice@example.org>\nSubject: caf\xc3\xa9 report\nTo: bob@example.net\n\nthe body is not quoted\n";

Report report(const nullq::envelope::Envelope& e, std::vector<Failure> f, std::string dbl = "postmaster@example.org") {
  Report r;
  r.id = "1795338653000000P1R00";
  r.original = &e;
  r.original_message = message;
  r.failures = std::move(f);
  r.hostname = "box.example.org";
  r.double_bounce_to = std::move(dbl);
  r.now = 1795340000;
  return r;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(Compose, GoesToTheSenderWithAThreePartReport) {
  auto e = original("alice@example.org", {"bob@example.net", "carol@example.net"});
  auto c = nullq::bounce::compose(report(e, {{"bob@example.net", true, "Dno such user (#5.1.1)", "relay.example.net", "X-QMTP"},
                                             {"carol@example.net", true, "Dmailbox full", "", ""}}));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->recipients, std::vector<std::string>{"alice@example.org"});
  const std::string& m = c->message;
  EXPECT_NE(m.find("From: Mail Delivery System <MAILER-DAEMON@box.example.org>\n"), std::string::npos);
  EXPECT_NE(m.find("To: alice@example.org\n"), std::string::npos);
  EXPECT_NE(m.find("Subject: Undelivered Mail Returned to Sender\n"), std::string::npos);
  EXPECT_NE(m.find("Auto-Submitted: auto-replied\n"), std::string::npos);
  std::size_t b = m.find("boundary=\"");
  ASSERT_NE(b, std::string::npos);
  std::string boundary = m.substr(b + 10, m.find('"', b + 10) - b - 10);
  EXPECT_EQ(message.find(boundary), std::string::npos);
  // Three parts and a closing delimiter.
  std::size_t parts = 0;
  for (const auto& l : lines(m)) parts += l == "--" + boundary;
  EXPECT_EQ(parts, 3u);
  EXPECT_NE(m.find("--" + boundary + "--\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: message/delivery-status\n\nReporting-MTA: dns; box.example.org\n"), std::string::npos);
  EXPECT_NE(m.find("Final-Recipient: rfc822; bob@example.net\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; relay.example.net\n"
                   "Diagnostic-Code: X-QMTP; Dno such user (#5.1.1)\n"),
            std::string::npos)
      << m;
  // No server named, no protocol: a local reason.
  EXPECT_NE(m.find("Final-Recipient: rfc822; carol@example.net\nAction: failed\nStatus: 5.0.0\n"
                   "Diagnostic-Code: X-Nullq; Dmailbox full\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("Content-Type: text/rfc822-headers\nContent-Transfer-Encoding: 8bit\n\nFrom: Alice "
                   "<alice@example.org>\nSubject: caf\xc3\xa9 report\n"),
            std::string::npos)
      << "original headers quoted as they were, 8-bit included (and said)";
  EXPECT_EQ(m.find("the body is not quoted"), std::string::npos);
}

TEST(Compose, RemoteMtaIsAHostNameOrAnAddressLiteral) {
  EXPECT_EQ(nullq::bounce::remote_mta("relay.example.org"), "relay.example.org");
  EXPECT_EQ(nullq::bounce::remote_mta("127.0.0.1"), "[127.0.0.1]");
  EXPECT_EQ(nullq::bounce::remote_mta("2001:db8::1"), "[IPv6:2001:db8::1]");
  EXPECT_EQ(nullq::bounce::remote_mta("[192.0.2.1]"), "[192.0.2.1]");
  EXPECT_EQ(nullq::bounce::diagnostic_type("smtp"), "smtp");
  EXPECT_EQ(nullq::bounce::diagnostic_type("qmtp"), "X-QMTP");
  EXPECT_EQ(nullq::bounce::diagnostic_type("qmqp"), "X-QMQP");
}

TEST(Compose, DiagnosticCodeNamesTheProtocolThatAnswered) {
  auto e = original("alice@example.org", {"a@example.net", "b@example.net", "c@example.net"});
  auto c = nullq::bounce::compose(report(e, {{"a@example.net", true, "550 5.1.1 unknown", "[127.0.0.1]", "smtp"},
                                             {"b@example.net", true, "Dno (#5.1.1)", "relay.example.net", "X-QMTP"},
                                             {"c@example.net", true, "no (#5.7.1)", "relay.example.net", "X-QMQP"}}));
  ASSERT_TRUE(c.has_value());
  const std::string& m = c->message;
  EXPECT_NE(m.find("Remote-MTA: dns; [127.0.0.1]\nDiagnostic-Code: smtp; 550 5.1.1 unknown\n"), std::string::npos) << m;
  EXPECT_NE(m.find("Diagnostic-Code: X-QMTP; Dno (#5.1.1)\n"), std::string::npos) << m;
  EXPECT_NE(m.find("Diagnostic-Code: X-QMQP; no (#5.7.1)\n"), std::string::npos) << m;
}

TEST(Compose, TooBigIsStatus534) {
  auto e = original("alice@example.org", {"a@example.net", "b@example.net", "c@example.net"});
  auto c = nullq::bounce::compose(report(
      e, {{"a@example.net", true, "552 message size exceeds fixed maximum message size", "[127.0.0.1]", "smtp"},
          {"b@example.net", true, "message size 9000 exceeds the server's limit of 100 bytes (SIZE)", "[127.0.0.1]",
           "smtp"},
          {"c@example.net", true, "552 5.2.2 mailbox full", "[127.0.0.1]", "smtp"}}));
  ASSERT_TRUE(c.has_value());
  const std::string& m = c->message;
  EXPECT_NE(m.find("Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.3.4\n"), std::string::npos) << m;
  EXPECT_NE(m.find("Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.3.4\n"), std::string::npos) << m;
  // An enhanced code given by the server wins.
  EXPECT_NE(m.find("Final-Recipient: rfc822; c@example.net\nAction: failed\nStatus: 5.2.2\n"), std::string::npos) << m;
}

TEST(Compose, DelayWarningSaysDelayed) {
  auto e = original("alice@example.org", {"bob@example.net"});
  Report r = report(e, {{"bob@example.net", false, "Zgreylisted, try later", "", ""}});
  r.delay_warning = true;
  auto c = nullq::bounce::compose(r);
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->message.find("Subject: Delayed Mail (still being retried)\n"), std::string::npos);
  EXPECT_NE(c->message.find("Action: delayed\nStatus: 4.0.0\n"), std::string::npos);
}

TEST(Compose, LoopRule) {
  auto bounce = original("", {"alice@example.org"});
  auto c = nullq::bounce::compose(report(bounce, {{"alice@example.org", true, "Dgone", "", ""}}));
  ASSERT_TRUE(c.has_value()) << "a failed bounce goes to the double-bounce address";
  EXPECT_EQ(c->recipients, std::vector<std::string>{"postmaster@example.org"});

  auto dbl = original("", {"postmaster@example.org"});
  EXPECT_FALSE(nullq::bounce::compose(report(dbl, {{"postmaster@example.org", true, "Dgone", "", ""}})).has_value())
      << "a failed double bounce is never reported again";
  EXPECT_FALSE(nullq::bounce::compose(report(bounce, {{"alice@example.org", true, "Dgone", "", ""}}, "")).has_value())
      << "no double-bounce address: nothing is sent";
}

TEST(Compose, NoLineLongerThan998) {
  auto e = original("alice@example.org", {"bob@example.net"});
  auto c = nullq::bounce::compose(report(e, {{"bob@example.net", true, "D" + std::string(5000, 'x'), "", ""}}));
  ASSERT_TRUE(c.has_value());
  for (const auto& l : lines(c->message)) EXPECT_LE(l.size(), 998u);
}

TEST(Compose, DsnRequestShowsEnvidAndOrcptAndRetFullReturnsTheMessage) {
  auto e = original("alice@example.org", {"bob@example.net", "carol@example.net"});
  e.mail_dsn.envid = "job 7";
  e.mail_dsn.ret = nullq::dsn::Ret::full;
  e.rcpt_dsn = {{}, {nullq::dsn::notify_failure, "rfc822", "Carol@example.net"}};
  auto c = nullq::bounce::compose(report(e, {{"bob@example.net", true, "550 no", "mx", "smtp"},
                                             {"carol@example.net", true, "550 no", "mx", "smtp"}}));
  ASSERT_TRUE(c);
  const std::string& m = c->message;
  EXPECT_NE(m.find("\nOriginal-Envelope-Id: job 7\nReporting-MTA: dns; box.example.org\n"), std::string::npos) << m;
  EXPECT_NE(m.find("\n\nFinal-Recipient: rfc822; bob@example.net\n"), std::string::npos) << "no ORCPT, none shown: " << m;
  EXPECT_NE(m.find("\n\nOriginal-Recipient: rfc822;Carol@example.net\nFinal-Recipient: rfc822; carol@example.net\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("Content-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n" + message), std::string::npos) << m;
  EXPECT_EQ(m.find("text/rfc822-headers"), std::string::npos) << m;
  // A delay warning never returns the body.
  auto rep = report(e, {{"bob@example.net", false, "451 later", "", ""}});
  rep.delay_warning = true;
  auto w = nullq::bounce::compose(rep);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->message.find("the body is not quoted"), std::string::npos);
}

TEST(Compose, RetHdrsAndATooLargeMessageReturnTheHeadersOnly) {
  auto e = original("alice@example.org", {"bob@example.net"});
  e.mail_dsn.ret = nullq::dsn::Ret::hdrs;
  auto c = nullq::bounce::compose(report(e, {{"bob@example.net", true, "550 no", "mx", "smtp"}}));
  ASSERT_TRUE(c);
  EXPECT_NE(c->message.find("Content-Type: text/rfc822-headers\n"), std::string::npos);
  EXPECT_EQ(c->message.find("the body is not quoted"), std::string::npos);
  EXPECT_EQ(c->message.find("Original-Envelope-Id"), std::string::npos);
  e.mail_dsn.ret = nullq::dsn::Ret::full;
  const std::string big = "Subject: big\n\n" + std::string(nullq::bounce::max_returned_message, 'x') + "\n";
  auto rep = report(e, {{"bob@example.net", true, "550 no", "mx", "smtp"}});
  rep.original_message = big;
  auto b = nullq::bounce::compose(rep);
  ASSERT_TRUE(b);
  EXPECT_NE(b->message.find("Content-Type: text/rfc822-headers\n\nSubject: big\n"), std::string::npos);
  EXPECT_LT(b->message.size(), 10000u);
}

// What is returned with 8-bit bytes in it is labelled 8bit, the part and the multipart around it
// (RFC 2045 6.4); 7-bit content keeps the default, no label.
TEST(Compose, EightBitContentReturnedIsLabelled8bit) {
  auto e = original("alice@example.org", {"bob@example.net"});
  e.mail_dsn.ret = nullq::dsn::Ret::full;
  auto rep = report(e, {{"bob@example.net", true, "550 no", "mx", "smtp"}});
  const std::string utf8 = "Subject: caf\xc3\xa9\n\nd\xc3\xa9j\xc3\xa0 vu\n";
  rep.original_message = utf8;
  auto full = nullq::bounce::compose(rep);
  ASSERT_TRUE(full);
  EXPECT_NE(full->message.find("Content-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n" + utf8),
            std::string::npos)
      << full->message;
  EXPECT_NE(full->message.find("boundary=\"nullq-"), std::string::npos);
  const std::string& fm = full->message;
  const std::size_t first = fm.find("Content-Transfer-Encoding: 8bit\n");
  ASSERT_NE(first, std::string::npos);
  EXPECT_LT(first, fm.find("\n\n")) << "the multipart's own header says 8bit too";
  e.mail_dsn.ret = nullq::dsn::Ret::hdrs;
  auto hrep = report(e, {{"bob@example.net", true, "550 no", "mx", "smtp"}});
  hrep.original_message = utf8;
  auto hdrs = nullq::bounce::compose(hrep);
  ASSERT_TRUE(hdrs);
  EXPECT_NE(hdrs->message.find("Content-Type: text/rfc822-headers\nContent-Transfer-Encoding: 8bit\n\nSubject: caf"),
            std::string::npos)
      << hdrs->message;
  hrep.original_message = "Subject: plain\n\nd\xc3\xa9j\xc3\xa0 vu\n";  // 8-bit only in the body, not returned
  auto plain = nullq::bounce::compose(hrep);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->message.find("Content-Transfer-Encoding"), std::string::npos) << plain->message;
}

TEST(Notify, DropUnwantedKeepsWhoAskedForTheReport) {
  auto e = original("alice@example.org", {"never@x", "failure@x", "delay@x", "none@x"});
  e.rcpt_dsn = {{nullq::dsn::notify_never, "", ""},
                {nullq::dsn::notify_failure, "", ""},
                {nullq::dsn::notify_delay | nullq::dsn::notify_success, "", ""},
                {}};
  auto all = [] {
    std::vector<Failure> f;
    for (const char* r : {"never@x", "failure@x", "delay@x", "none@x"}) f.push_back(Failure{r, true, "x", "", ""});
    return f;
  };
  auto names = [](const std::vector<Failure>& f) {
    std::vector<std::string> out;
    for (const auto& x : f) out.push_back(x.recipient);
    return out;
  };
  auto f = all();
  EXPECT_EQ(nullq::bounce::drop_unwanted(e, f, false), 2u);
  EXPECT_EQ(names(f), (std::vector<std::string>{"failure@x", "none@x"}));
  f = all();
  EXPECT_EQ(nullq::bounce::drop_unwanted(e, f, true), 2u);
  EXPECT_EQ(names(f), (std::vector<std::string>{"delay@x", "none@x"}));
}

TEST(Enqueue, WritesANullSenderMessageIntoNew) {
  nullq::testing::TempDir t;
  nullq::queue::Spool spool{t / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(spool).ok());
  auto e = original("alice@example.org", {"bob@example.net"});
  auto c = nullq::bounce::compose(report(e, {{"bob@example.net", true, "Dno", "", ""}}));
  ASSERT_TRUE(c.has_value());
  auto id = nullq::bounce::enqueue(spool, *c, 1795340000);
  ASSERT_TRUE(id.ok());
  std::string file = nullq::testing::read_file(spool.incoming() + "/" + *id);
  std::size_t body = 0;
  auto env = nullq::envelope::decode(file, &body);
  ASSERT_TRUE(env.ok()) << env.error().detail;
  EXPECT_EQ(env->sender, "");
  EXPECT_EQ(env->recipients, std::vector<std::string>{"alice@example.org"});
  EXPECT_EQ(env->uid, -1);
  EXPECT_EQ(file.substr(body), c->message);
}

}  // namespace

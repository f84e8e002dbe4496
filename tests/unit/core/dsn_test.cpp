// The DSN codec (RFC 3461) and where it is kept: the queue file's E and N records and the drop
// framing's 0x01 items. Strict: one spelling per value, every bad value named.
#include "nullq/dsn.hpp"

#include <gtest/gtest.h>

#include "nullq/envelope.hpp"
#include "nullq/netstring.hpp"

namespace dsn = nullq::dsn;
namespace env = nullq::envelope;

namespace {

std::string error_of(const nullq::Status& s) { return s.ok() ? "ok" : s.error().detail; }

TEST(Xtext, EncodesWhatMustBeEncodedAndDecodesStrictly) {
  EXPECT_EQ(dsn::xtext_encode("a+b=c d\x7f\x01~!"), "a+2Bb+3Dc+20d+7F+01~!");
  auto d = dsn::xtext_decode("a+2Bb+3Dc+20d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "a+b=c d");
  EXPECT_FALSE(dsn::xtext_decode("a+2b").ok()) << "lower-case hex is not xtext";
  EXPECT_FALSE(dsn::xtext_decode("a+2").ok());
  EXPECT_FALSE(dsn::xtext_decode("a+").ok());
  EXPECT_FALSE(dsn::xtext_decode("a=b").ok());
  EXPECT_FALSE(dsn::xtext_decode("a b").ok());
  EXPECT_FALSE(dsn::xtext_decode("caf\xc3\xa9").ok());
}

TEST(Notify, NeverAloneAnyCaseAnyOrder) {
  EXPECT_EQ(*dsn::parse_notify("never"), dsn::notify_never);
  EXPECT_EQ(*dsn::parse_notify("Delay,SUCCESS"), dsn::notify_delay | dsn::notify_success);
  EXPECT_EQ(dsn::notify_text(dsn::notify_delay | dsn::notify_success | dsn::notify_failure), "SUCCESS,FAILURE,DELAY");
  EXPECT_EQ(dsn::parse_notify("NEVER,FAILURE").error().detail, "bad NOTIFY value NEVER,FAILURE: NEVER stands alone");
  EXPECT_FALSE(dsn::parse_notify("").ok());
  EXPECT_FALSE(dsn::parse_notify("FAILURE,").ok());
  EXPECT_FALSE(dsn::parse_notify("SUCCES").ok());
}

TEST(Notify, WhatIsReported) {
  dsn::RecipientParams none, never{dsn::notify_never, "", ""}, fail{dsn::notify_failure, "", ""},
      delay{dsn::notify_delay | dsn::notify_success, "", ""};
  EXPECT_TRUE(dsn::wants_failure(none) && dsn::wants_delay(none));
  EXPECT_FALSE(dsn::wants_failure(never) || dsn::wants_delay(never));
  EXPECT_TRUE(dsn::wants_failure(fail));
  EXPECT_FALSE(dsn::wants_delay(fail));
  EXPECT_FALSE(dsn::wants_failure(delay));
  EXPECT_TRUE(dsn::wants_delay(delay));
}

TEST(Envid, PrintableAndAtMost100AsXtext) {
  EXPECT_EQ(error_of(dsn::validate_envid(std::string(100, 'e'))), "ok");
  EXPECT_NE(error_of(dsn::validate_envid(std::string(101, 'e'))).find("longer than 100"), std::string::npos);
  // 34 spaces are 102 characters as xtext.
  EXPECT_NE(error_of(dsn::validate_envid(std::string(34, ' '))).find("longer than 100"), std::string::npos);
  EXPECT_NE(error_of(dsn::validate_envid("a\nb")).find("(\\x0a)"), std::string::npos);
  EXPECT_FALSE(dsn::validate_envid("").ok());
}

TEST(Params, TheWireFormRoundTrips) {
  dsn::MessageParams m;
  ASSERT_TRUE(*dsn::set_mail_param(m, "ret", "hdrs"));
  ASSERT_TRUE(*dsn::set_mail_param(m, "EnvId", "QQ+2B1"));
  EXPECT_FALSE(*dsn::set_mail_param(m, "SIZE", "10"));
  EXPECT_EQ(dsn::mail_params(m), "RET=HDRS ENVID=QQ+2B1");
  EXPECT_EQ(*dsn::parse_mail_params("RET=HDRS ENVID=QQ+2B1"), m);
  dsn::RecipientParams r;
  ASSERT_TRUE(*dsn::set_rcpt_param(r, "orcpt", "rfc822;b+2Bx@y"));
  ASSERT_TRUE(*dsn::set_rcpt_param(r, "notify", "failure,success"));
  EXPECT_EQ(r.orcpt, "b+x@y");
  EXPECT_EQ(dsn::rcpt_params(r), "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@y");
  EXPECT_EQ(*dsn::parse_rcpt_params("NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@y"), r);
}

TEST(Params, TheQueueFormHasOneSpelling) {
  for (const char* bad : {"", "ret=HDRS", "RET=hdrs", "ENVID=x RET=HDRS", "RET=HDRS  ENVID=x", "RET=HDRS ",
                          "SIZE=1", "RET", "RET=HDRS RET=HDRS", "ENVID=a+2b"})
    EXPECT_FALSE(dsn::parse_mail_params(bad).ok()) << bad;
  for (const char* bad : {"", "NOTIFY=DELAY,FAILURE", "ORCPT=rfc822;x NOTIFY=NEVER", "NOTIFY=NEVER,DELAY",
                          "ORCPT=;x", "ORCPT=rfc 822;x", "ORCPT=rfc822;", "ORCPT=rfc822;a+0Ab"})
    EXPECT_FALSE(dsn::parse_rcpt_params(bad).ok()) << bad;
  dsn::RecipientParams r;
  EXPECT_FALSE(dsn::set_rcpt_param(r, "ORCPT", "rfc822;" + std::string(494, 'a')).ok());
  EXPECT_TRUE(dsn::set_rcpt_param(r, "ORCPT", "rfc822;" + std::string(493, 'a')).ok());
}

env::Envelope with_dsn() {
  env::Envelope e;
  e.sender = "a@x";
  e.recipients = {"b@y", "c@y", "d@y"};
  e.queued_at = 1795338653;
  e.mail_dsn.ret = dsn::Ret::hdrs;
  e.mail_dsn.envid = "id 1";
  e.rcpt_dsn = {{dsn::notify_never, "", ""}, {}, {dsn::notify_failure, "rfc822", "D@y"}};
  return e;
}

TEST(EnvelopeDsn, RecordsFollowTheirAddresses) {
  const std::string file = env::encode(with_dsn());
  EXPECT_EQ(file,
            "NQ1\nF3:a@x,\nE21:RET=HDRS ENVID=id+201,\nT3:b@y,\nN12:NOTIFY=NEVER,\nT3:c@y,\nT3:d@y,\n"
            "N31:NOTIFY=FAILURE ORCPT=rfc822;D@y,\nQ10:1795338653,\n\n");
  std::size_t body = 0;
  auto d = env::decode(file, &body);
  ASSERT_TRUE(d.ok()) << d.error().detail;
  EXPECT_EQ(*d, with_dsn());
  EXPECT_EQ(body, file.size());
}

TEST(EnvelopeDsn, BadRecordsAreRefused) {
  const std::string head = "NQ1\nF0:,\n";
  const std::string tail = "Q1:1,\n\n";
  struct Case {
    std::string file;
    const char* want;
  } cases[] = {
      {head + "T3:a@b,\nN12:NOTIFY=NEVER,\nN12:NOTIFY=NEVER,\n" + tail, "N not right after a T"},
      {head + "N12:NOTIFY=NEVER,\nT3:a@b,\n" + tail, "N not right after a T"},
      {head + "T3:a@b,\n" + "Q1:1,\nN12:NOTIFY=NEVER,\n\n", "N not right after a T"},
      {head + "T3:a@b,\nE8:RET=FULL,\n" + tail, "out of order"},
      {"NQ1\nF0:,\nE8:RET=FULL,\nE8:RET=FULL,\nT3:a@b,\n" + tail, "out of order"},
      {head + "E0:,\nT3:a@b,\n" + tail, "record E: empty MAIL DSN parameters"},
      {head + "E8:RET=full,\nT3:a@b,\n" + tail, "not in canonical form"},
      {head + "T3:a@b,\nN10:NOTIFY=BAD,\n" + tail, "bad NOTIFY value"},
      {head + "T3:a@b,\nN9:XYZZY=ONE,\n" + tail, "unknown RCPT DSN parameter XYZZY"},
  };
  for (const auto& c : cases) {
    std::size_t body = 0;
    auto d = env::decode(c.file, &body);
    ASSERT_FALSE(d.ok()) << c.file;
    EXPECT_NE(d.error().detail.find(c.want), std::string::npos) << c.file << " -> " << d.error().detail;
  }
}

TEST(EnvelopeDsn, OldFilesStillDecode) {
  auto d = env::decode("NQ1\nF0:,\nT3:a@b,\nQ1:1,\n\n", nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->mail_dsn.empty());
  EXPECT_TRUE(d->rcpt_dsn.empty());
}

TEST(EnvelopeDsn, PendingRecipientsKeepTheirRequests) {
  env::Envelope e = with_dsn();
  env::set_recipients(e, {"b@y", "d@y"});
  EXPECT_EQ(e.recipients, (std::vector<std::string>{"b@y", "d@y"}));
  ASSERT_EQ(e.rcpt_dsn.size(), 2u);
  EXPECT_EQ(e.rcpt_dsn[0].notify, dsn::notify_never);
  EXPECT_EQ(e.rcpt_dsn[1].orcpt, "D@y");
  env::set_recipients(e, {"d@y"});
  ASSERT_EQ(e.rcpt_dsn.size(), 1u);
  EXPECT_EQ(env::recipient_dsn(e, 0).orcpt, "D@y");
  EXPECT_TRUE(env::recipient_dsn(e, 7).empty());
  // The same address twice keeps each its own request.
  e = with_dsn();
  e.recipients = {"b@y", "b@y"};
  e.rcpt_dsn = {{}, {dsn::notify_delay, "", ""}};
  env::set_recipients(e, {"b@y", "b@y"});
  EXPECT_EQ(e.rcpt_dsn[1].notify, dsn::notify_delay);
}

TEST(DropDsn, ItemsFollowTheirAddresses) {
  const env::Envelope e = with_dsn();
  const std::string frame = env::encode_drop(e.sender, e.recipients, e.mail_dsn, e.rcpt_dsn);
  std::string_view in = frame;
  auto outer = nullq::netstring::take(in);
  ASSERT_TRUE(outer.ok());
  EXPECT_EQ(*outer, "3:a@x,22:\x01RET=HDRS ENVID=id+201,3:b@y,13:\x01NOTIFY=NEVER,3:c@y,3:d@y,"
                    "32:\x01NOTIFY=FAILURE ORCPT=rfc822;D@y,");
  auto d = env::decode_drop(*outer);
  ASSERT_TRUE(d.ok()) << d.error().detail;
  EXPECT_EQ(d->mail_dsn, e.mail_dsn);
  EXPECT_EQ(d->rcpt_dsn, e.rcpt_dsn);
  EXPECT_EQ(d->recipients, e.recipients);
  // Without requests the framing is byte for byte the old one.
  EXPECT_EQ(env::encode_drop("a@x", {"b@y"}, {}, {{}}), "12:3:a@x,3:b@y,,");
}

TEST(DropDsn, HostileItemsAreRefused) {
  struct Case {
    std::string payload;
    const char* want;
  } cases[] = {
      {"3:a@x,9:\x01RET=FULL,9:\x01RET=FULL,3:b@y,", "not right after an address"},
      {"3:a@x,3:b@y,13:\x01NOTIFY=NEVER,13:\x01NOTIFY=NEVER,", "not right after an address"},
      {"3:a@x,9:\x01RET=FULL,", "no recipients"},
      {"3:a@x,13:\x01NOTIFY=NEVER,3:b@y,", "unknown MAIL DSN parameter NOTIFY"},
      {"3:a@x,3:b@y,9:\x01RET=FULL,", "unknown RCPT DSN parameter RET"},
      {"3:a@x,3:b@y,1:\x01,", "empty RCPT DSN parameters"},
      {"3:a@x,3:b@y,13:\x01notify=never,", "not in canonical form"},
      {"3:a@x,3:b@y,14:\x01NOTIFY=NEVER\n,", "bad NOTIFY value"},
      {"3:a@x,3:b@y,2:\x02x,", "control character"},
  };
  for (const auto& c : cases) {
    auto d = env::decode_drop(c.payload);
    ASSERT_FALSE(d.ok()) << c.payload;
    EXPECT_NE(d.error().detail.find(c.want), std::string::npos) << c.payload << " -> " << d.error().detail;
  }
}

}  // namespace

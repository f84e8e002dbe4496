// Header fix-ups against golden files: tests/data/msg/<name>.in -> <name>.out (+ .env for the envelope).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "nullq/msg.hpp"

namespace msg = nullq::msg;

namespace {

std::string slurp(const std::string& name) {
  const char* dir = std::getenv("NULLQ_TEST_DATA");
  std::ifstream f(std::string(dir ? dir : "tests/data") + "/msg/" + name, std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

msg::Context context() {
  msg::Context c;
  c.login = "alice";
  c.gecos_name = "Alice Example";
  c.domain = "example.org";
  c.hostname = "box.example.org";
  c.idhost = "ids.example.org";
  c.now = 1795338653;
  c.local_zone_date = "Sun, 22 Nov 2026 10:30:53 +0000";
  c.id_token = "1795338653.0123456789abcdef";
  return c;
}

std::string envelope_text(const msg::Prepared& p) {
  std::string s = "sender " + p.sender + "\n";
  for (const auto& r : p.recipients) s += "rcpt " + r + "\n";
  return s;
}

struct Golden {
  const char* name;
  std::function<void(msg::Context&)> setup;
  bool ignore_dots;
};

void check(const Golden& g) {
  msg::Context c = context();
  g.setup(c);
  std::string in = msg::normalise_input(slurp(std::string(g.name) + ".in"), g.ignore_dots);
  auto p = msg::prepare(msg::split_message(in), c);
  ASSERT_TRUE(p.ok()) << g.name << ": " << p.error().detail;
  EXPECT_EQ(p->message, slurp(std::string(g.name) + ".out")) << g.name;
  EXPECT_EQ(envelope_text(*p), slurp(std::string(g.name) + ".env")) << g.name;
}

TEST(Prepare, CronStyleAddsMissingHeaders) {
  check({"cron", [](msg::Context& c) { c.full_name = "CronDaemon"; c.arguments = {"root"}; }, true});
}

TEST(Prepare, ExtractRecipientsRemovesBccAndKeepsArguments) {
  check({"extract", [](msg::Context& c) { c.extract_recipients = true; c.arguments = {"extra@example.net"}; }, true});
}

TEST(Prepare, ResentHeadersWinWithExtract) {
  check({"resent", [](msg::Context& c) { c.extract_recipients = true; }, true});
}

TEST(Prepare, MboxFromCrlfAndDotWithoutDashI) {
  check({"mbox", [](msg::Context& c) { c.arguments = {"bob@example.net"}; }, false});
}

TEST(Prepare, AdminGetsLocalMailAndRewriteSenderAndFrom) {
  check({"rewrite",
         [](msg::Context& c) {
           c.admin = "ops@example.net";
           c.rewrite_sender = "noreply@example.org";
           c.rewrite_header_from = true;
           c.arguments = {"root, alice@box.example.org, www-data@localhost, ext@example.com"};
         },
         true});
}

TEST(Prepare, NullSenderAndExistingHeadersKept) {
  check({"nullsender",
         [](msg::Context& c) {
           c.sender_given = true;
           c.sender = "";
           c.arguments = {"a@example.com"};
         },
         true});
}

TEST(Prepare, BccIsRemovedWithoutExtractTooAndAddsNoRecipient) {
  msg::Context c = context();
  c.arguments = {"a@example.com"};
  auto p = msg::prepare(msg::split_message("To: a@example.com\nBcc: secret@example.net\nResent-Bcc: x@example.net\n"
                                           "Subject: s\n\nbody\n"),
                        c);
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p->recipients, std::vector<std::string>{"a@example.com"});
  EXPECT_EQ(p->message.find("Bcc"), std::string::npos) << p->message;
  EXPECT_EQ(p->message.find("secret@"), std::string::npos) << p->message;
  EXPECT_NE(p->message.find("To: a@example.com\n"), std::string::npos) << p->message;
}

TEST(Prepare, NoRecipientsIsAUsageError) {
  msg::Context c = context();
  auto p = msg::prepare(msg::split_message("Subject: x\n\nbody\n"), c);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().domain, nullq::ErrorDomain::usage);
  c.extract_recipients = true;
  p = msg::prepare(msg::split_message("Subject: x\n\nbody\n"), c);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().detail.find("none in To, Cc or Bcc"), std::string::npos);
}

TEST(Prepare, BadAddressInToWithExtractNamesTheHeader) {
  msg::Context c = context();
  c.extract_recipients = true;
  auto p = msg::prepare(msg::split_message("To: Broken <a@b\n\nx\n"), c);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().detail.rfind("To: bad address", 0), 0u) << p.error().detail;
}

TEST(Split, NonHeaderFirstLineMeansNoHeaders) {
  auto p = msg::split_message("just text\nmore\n");
  EXPECT_TRUE(p.headers.empty());
  EXPECT_EQ(p.body, "just text\nmore\n");
  auto q = msg::split_message("Subject: a\n folded\nX-Y: z\n\nbody");
  ASSERT_EQ(q.headers.size(), 2u);
  EXPECT_EQ(q.headers[0].raw, "Subject: a\n folded\n");
  EXPECT_EQ(q.body, "body");
}

}  // namespace

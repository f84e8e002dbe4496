// ESMTP codec: reply parser (multi-line, caps, any chunking), enhanced codes, EHLO capabilities,
// commands, the streaming body encoder at every buffer boundary, AUTH encodings.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nullq/smtp.hpp"

namespace smtp = nullq::proto::smtp;
using nullq::proto::Verdict;

namespace {

std::vector<smtp::Reply> parse_all(const std::string& bytes, std::size_t chunk, bool& ok) {
  smtp::ReplyParser p;
  std::vector<smtp::Reply> out;
  ok = true;
  for (std::size_t i = 0; i < bytes.size(); i += chunk) {
    if (!p.feed(std::string_view(bytes).substr(i, chunk), out).ok()) {
      ok = false;
      break;
    }
  }
  return out;
}

TEST(SmtpReply, SingleAndMultiLineAtAnyChunking) {
  const std::string bytes =
      "220 mx.example ESMTP ready\r\n"
      "250-mx.example greets you\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"
      "550 5.1.1 <x@y>: no such user\r\n"
      "354 go ahead\n";  // a bare LF ends a line too
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{7}, bytes.size()}) {
    bool ok = false;
    auto r = parse_all(bytes, chunk, ok);
    ASSERT_TRUE(ok) << "chunk " << chunk;
    ASSERT_EQ(r.size(), 4u) << "chunk " << chunk;
    EXPECT_EQ(r[0].code, 220);
    EXPECT_EQ(r[0].verdict(), Verdict::ok);
    ASSERT_EQ(r[1].lines.size(), 3u);
    EXPECT_EQ(r[1].lines[2], "SIZE 1000");
    EXPECT_EQ(r[2].code, 550);
    EXPECT_EQ(r[2].enhanced, "5.1.1");
    EXPECT_EQ(r[2].verdict(), Verdict::permanent);
    EXPECT_EQ(r[2].text(), "550 5.1.1 <x@y>: no such user");
    EXPECT_EQ(r[3].code, 354);
    EXPECT_EQ(r[3].verdict(), Verdict::temporary);  // not a final answer: the session decides
  }
}

TEST(SmtpReply, IncompleteReplyIsHeldNotReported) {
  smtp::ReplyParser p;
  std::vector<smtp::Reply> out;
  ASSERT_TRUE(p.feed("250-first\r\n250", out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.feed(" last\r\n", out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].text(), "250 first / last");
}

TEST(SmtpReply, HostileTextIsSanitisedInText) {
  bool ok = false;
  auto r = parse_all(std::string("451 4.3.0 bad\x01\x7f\xff text\r\n"), 3, ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].text(), "451 4.3.0 bad\\x01\\x7f\\xff text");
  EXPECT_EQ(r[0].verdict(), Verdict::temporary);
}

struct BadCase {
  const char* name;
  std::string bytes;
};

TEST(SmtpReply, MalformedAndOversizeRepliesFailForGood) {
  std::vector<BadCase> cases = {
      {"no code", "hello\r\n"},
      {"short", "25\r\n"},
      {"bad separator", "250x ok\r\n"},
      {"code 6xx", "650 what\r\n"},
      {"code changes", "250-a\r\n251 b\r\n"},
      {"line too long", "250 " + std::string(smtp::max_line, 'a') + "\r\n"},
      {"long line without end", "250 " + std::string(smtp::max_line + 10, 'a')},
  };
  std::string many;
  for (std::size_t i = 0; i < smtp::max_lines + 1; ++i) many += "250-x\r\n";
  cases.push_back({"too many lines", many + "250 end\r\n"});
  for (const auto& c : cases) {
    smtp::ReplyParser p;
    std::vector<smtp::Reply> out;
    auto st = p.feed(c.bytes, out);
    ASSERT_FALSE(st.ok()) << c.name;
    EXPECT_EQ(st.error().domain, nullq::ErrorDomain::protocol) << c.name;
    EXPECT_TRUE(p.failed()) << c.name;
    EXPECT_FALSE(p.feed("250 ok\r\n", out).ok()) << c.name << ": stays failed";
    EXPECT_TRUE(out.empty()) << c.name;
  }
}

TEST(SmtpReply, EnhancedCodes) {
  EXPECT_EQ(smtp::enhanced_code("5.1.1 user unknown"), "5.1.1");
  EXPECT_EQ(smtp::enhanced_code("4.7.0"), "4.7.0");
  EXPECT_EQ(smtp::enhanced_code("2.0.0 Ok"), "2.0.0");
  EXPECT_EQ(smtp::enhanced_code("5.123.456 x"), "5.123.456");
  EXPECT_EQ(smtp::enhanced_code("3.1.1 no"), "");
  EXPECT_EQ(smtp::enhanced_code("5.1 short"), "");
  EXPECT_EQ(smtp::enhanced_code("5.1.1x"), "");
  EXPECT_EQ(smtp::enhanced_code("5.1234.1 x"), "");
  EXPECT_EQ(smtp::enhanced_code("mx.example ESMTP"), "");
}

TEST(SmtpEhlo, Capabilities) {
  smtp::Reply r;
  r.code = 250;
  r.lines = {"mx.example hello", "PIPELINING", "size 35882577", "8BITMIME", "SMTPUTF8", "STARTTLS",
             "ENHANCEDSTATUSCODES", "AUTH LOGIN PLAIN CRAM-MD5"};
  auto c = smtp::parse_ehlo(r);
  EXPECT_TRUE(c.esmtp);
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.size_limit, 35882577u);
  EXPECT_TRUE(c.eightbitmime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.enhanced);
  EXPECT_TRUE(c.auth_plain);
  EXPECT_TRUE(c.auth_login);
  EXPECT_EQ(c.keywords.size(), 7u);

  smtp::Reply bare;
  bare.code = 250;
  bare.lines = {"PIPELINING greeting only", "SIZE", "AUTH CRAM-MD5"};
  auto b = smtp::parse_ehlo(bare);
  EXPECT_FALSE(b.pipelining) << "the first line is the greeting";
  EXPECT_TRUE(b.size);
  EXPECT_EQ(b.size_limit, 0u);
  EXPECT_FALSE(b.auth_plain);
  EXPECT_FALSE(b.auth_login);
  EXPECT_FALSE(b.starttls);
  EXPECT_FALSE(b.dsn);
  EXPECT_FALSE(c.dsn);
  r.lines.push_back("dsn");
  EXPECT_TRUE(smtp::parse_ehlo(r).dsn);
}

TEST(SmtpCommands, Encoding) {
  auto m = smtp::mail_from("a@x", smtp::MailParams{1234, true, false, ""});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, "MAIL FROM:<a@x> SIZE=1234 BODY=8BITMIME\r\n");
  auto bounce = smtp::mail_from("", smtp::MailParams{});
  ASSERT_TRUE(bounce.ok());
  EXPECT_EQ(*bounce, "MAIL FROM:<>\r\n");
  auto u = smtp::mail_from("a@x", smtp::MailParams{0, false, true, ""});
  EXPECT_EQ(*u, "MAIL FROM:<a@x> SMTPUTF8\r\n");
  auto r = smtp::rcpt_to("b@y");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "RCPT TO:<b@y>\r\n");
  // DSN parameters (RFC 3461), already encoded by dsn::mail_params / dsn::rcpt_params.
  EXPECT_EQ(*smtp::rcpt_to("b@y", "NOTIFY=NEVER"), "RCPT TO:<b@y> NOTIFY=NEVER\r\n");
  EXPECT_EQ(*smtp::mail_from("a@x", smtp::MailParams{10, false, false, "RET=HDRS ENVID=x"}),
            "MAIL FROM:<a@x> SIZE=10 RET=HDRS ENVID=x\r\n");
  EXPECT_FALSE(smtp::rcpt_to("b@y>\r\nRSET").ok());
  EXPECT_FALSE(smtp::rcpt_to("").ok());
  EXPECT_FALSE(smtp::mail_from("a\n@x", smtp::MailParams{}).ok());
  EXPECT_EQ(smtp::mail_from("a\r@x", smtp::MailParams{}).error().kind, nullq::ErrorKind::permanent);
  EXPECT_EQ(smtp::ehlo("me.example"), "EHLO me.example\r\n");
  EXPECT_TRUE(smtp::needs_smtputf8("j\xc3\xb6rg@example.org"));
  EXPECT_FALSE(smtp::needs_smtputf8("jorg@example.org"));
  EXPECT_TRUE(smtp::is_8bit("caf\xc3\xa9\n"));
  EXPECT_FALSE(smtp::is_8bit("cafe\n"));
}

struct BodyCase {
  const char* name;
  std::string in;
  std::string want;
};

TEST(SmtpBody, DotStuffingAndCrlfAtEveryBoundary) {
  const std::vector<BodyCase> cases = {
      {"plain", "a\nb\n", "a\r\nb\r\n.\r\n"},
      {"leading dot", ".hidden\n", "..hidden\r\n.\r\n"},
      {"lone dot line", "a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n"},
      {"dot mid line", "a.b\n", "a.b\r\n.\r\n"},
      {"no final newline", "a\n.b", "a\r\n..b\r\n.\r\n"},
      {"crlf kept", "a\r\n.b\r\n", "a\r\n..b\r\n.\r\n"},
      {"empty", "", ".\r\n"},
      {"two dots", "..\n", "...\r\n.\r\n"},
      {"cr at end", "a\r", "a\r\n.\r\n"},
      {"empty lines", "\n\n.\n", "\r\n\r\n..\r\n.\r\n"},
      // RFC 5321 §2.3.8: no bare CR or LF on the wire; each is a line end, sent as CRLF, and the
      // dot-stuffing follows the lines so made (SMTP smuggling through "<CR>.<CR>").
      {"smuggling", "line1\r.\r\r\nMAIL FROM:<ceo@victim.example>\r\n",
       "line1\r\n..\r\n\r\nMAIL FROM:<ceo@victim.example>\r\n.\r\n"},
      {"cr dot cr", "a\r.\rb\n", "a\r\n..\r\nb\r\n.\r\n"},
      {"lf dot lf", "a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n"},
      {"lf dot cr lf", "a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"},
      {"bare cr mid line", "a\rb\n", "a\r\nb\r\n.\r\n"},
      {"cr cr lf", "a\r\r\n", "a\r\n\r\n.\r\n"},
      {"lf cr", "a\n\rb", "a\r\n\r\nb\r\n.\r\n"},
      {"only cr", "\r", "\r\n.\r\n"},
      {"cr dot at end", "a\r.", "a\r\n..\r\n.\r\n"},
      {"cr dot cr at end", "a\r.\r", "a\r\n..\r\n.\r\n"},
      {"dot cr first", ".\r", "..\r\n.\r\n"},
      {"three crs", "\r\r\r", "\r\n\r\n\r\n.\r\n"},
  };
  for (const auto& c : cases) {
    // Every split into two pieces and byte-by-byte: the state crosses buffer boundaries.
    for (std::size_t cut = 0; cut <= c.in.size(); ++cut) {
      smtp::BodyEncoder e;
      std::string out;
      e.feed(std::string_view(c.in).substr(0, cut), out);
      e.feed(std::string_view(c.in).substr(cut), out);
      e.finish(out);
      EXPECT_EQ(out, c.want) << c.name << " cut at " << cut;
    }
    smtp::BodyEncoder e;
    std::string out;
    for (char ch : c.in) e.feed(std::string_view(&ch, 1), out);
    e.finish(out);
    EXPECT_EQ(out, c.want) << c.name << " byte by byte";
    EXPECT_EQ(smtp::wire_size(c.in), c.want.size()) << c.name;
  }
}

TEST(SmtpAuth, Base64AndPlain) {
  EXPECT_EQ(smtp::base64(""), "");
  EXPECT_EQ(smtp::base64("f"), "Zg==");
  EXPECT_EQ(smtp::base64("fo"), "Zm8=");
  EXPECT_EQ(smtp::base64("foo"), "Zm9v");
  EXPECT_EQ(smtp::base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(smtp::base64(std::string("\xff\xfe\x00", 3)), "//4A");
  // RFC 4616 example shape: "\0tim\0tanstaaftanstaaf".
  EXPECT_EQ(smtp::auth_plain("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  EXPECT_EQ(smtp::base64("tim"), "dGlt");  // LOGIN sends each on its own line
}

}  // namespace

#include "nullq/send/log.hpp"

#include <gtest/gtest.h>

namespace nullq::send {
namespace {

TEST(Log, AttemptLineFormat) {
  Attempt a;
  a.id = "1795338653123456P42R0123456789abcdef";
  a.from = "alice@example.org";
  a.to = {"bob@example.org", "carol@example.org", "dave@example.org"};
  a.host = "qmtp://relay.example.org";
  a.addr = "192.0.2.1:209";
  a.proto = "qmtp";
  a.rcpts = 3;
  a.result = 'K';
  a.text = "ok 1795338653 qp 23807";
  a.ms = 12;
  EXPECT_EQ(format_attempt(a),
            "id=1795338653123456P42R0123456789abcdef from=<alice@example.org> "
            "to=<bob@example.org>,<carol@example.org>,<dave@example.org> host=qmtp://relay.example.org "
            "addr=192.0.2.1:209 proto=qmtp rcpts=3 status=sent text=\"ok 1795338653 qp 23807\" ms=12");
}

TEST(Log, StatusWords) {
  EXPECT_STREQ(status_word('K'), "sent");
  EXPECT_STREQ(status_word('Z'), "deferred");
  EXPECT_STREQ(status_word('D'), "bounced");
  Attempt a;
  a.id = "i";
  a.to = {"x@example.org"};
  a.rcpts = 1;
  a.proto = "smtp";
  a.result = 'D';
  a.text = "550 5.1.1 unknown";
  EXPECT_EQ(format_attempt(a), "id=i from=<> to=<x@example.org> host=- addr=- proto=smtp rcpts=1 status=bounced "
                               "text=\"550 5.1.1 unknown\" ms=0");
  a.result = 'Z';
  EXPECT_NE(format_attempt(a).find(" status=deferred "), std::string::npos);
}

TEST(Log, NoServerReached) {
  Attempt a;
  a.id = "x";
  a.from = "a@example.org";
  a.to = {"b@example.org"};
  a.host = "mx://example.org";
  a.proto = "mx";
  a.rcpts = 1;
  a.result = 'Z';
  a.text = "mx lookup example.org: timeout";
  EXPECT_EQ(format_attempt(a), "id=x from=<a@example.org> to=<b@example.org> host=mx://example.org addr=- proto=mx "
                               "rcpts=1 status=deferred text=\"mx lookup example.org: timeout\" ms=0");
}

TEST(Log, ManyRecipientsAreBounded) {
  Attempt a;
  a.id = "m";
  a.from = "a@example.org";
  for (int i = 0; i < 25; ++i) a.to.push_back("r" + std::to_string(i) + "@example.org");
  a.rcpts = 25;
  a.result = 'K';
  std::string line = format_attempt(a);
  EXPECT_NE(line.find(" to=<r0@example.org>,"), std::string::npos) << line;
  EXPECT_NE(line.find(",<r9@example.org> +15 more host=-"), std::string::npos) << line;
  EXPECT_EQ(line.find("r10@"), std::string::npos) << line;
  EXPECT_NE(line.find(" rcpts=25 "), std::string::npos) << line;
  // The caller may hand over only the first few addresses: rcpts still says how many there are.
  a.to.resize(max_log_rcpts);
  a.rcpts = 1000;
  EXPECT_NE(format_attempt(a).find(",<r9@example.org> +990 more host="), std::string::npos);
}

TEST(Log, AddressesCannotForgeFields) {
  EXPECT_EQ(log_address(""), "<>");
  EXPECT_EQ(log_address("a@b"), "<a@b>");
  EXPECT_EQ(log_address("\"x y\"@b"), "<\\x22x\\x20y\\x22@b>");
  EXPECT_EQ(log_address("a>,<b status=sent"), "<a\\x3e\\x2c\\x3cb\\x20status=sent>");
  EXPECT_EQ(log_address("a\nb"), "<a\\x0ab>");
  std::string long_addr(1000, 'a');
  EXPECT_LE(log_address(long_addr).size(), max_log_address + 8);
}

TEST(Log, ServerTextIsSanitisedAndQuotedUnambiguously) {
  EXPECT_EQ(quote_text("a\r\nb\tc"), "\"a\\x0d\\x0ab\\x09c\"");
  EXPECT_EQ(quote_text(std::string("x\0y\x7f\xff\x1b", 6)), "\"x\\x00y\\x7f\\xff\\x1b\"");
  EXPECT_EQ(quote_text("say \"hi\" \\o/"), "\"say \\x22hi\\x22 \\o/\"");
  EXPECT_EQ(quote_text("result=K fake=1"), "\"result=K fake=1\"");
  std::string long_text(2000, 'a');
  std::string q = quote_text(long_text);
  EXPECT_EQ(q.size(), 1 + max_log_text + 1);
  EXPECT_EQ(q.substr(q.size() - 4), "...\"");
  // A forged log line inside server text stays inside the quotes on the same line.
  Attempt a;
  a.id = "i";
  a.proto = "qmqp";
  a.text = "ok\nid=evil result=K";
  std::string line = format_attempt(a);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("text=\"ok\\x0aid=evil result=K\""), std::string::npos) << line;
}

TEST(Log, SinkChoice) {
  EXPECT_EQ(choose_sink(true, "8:1234"), LogSink::stderr_plain);
  EXPECT_EQ(choose_sink(false, "8:1234"), LogSink::stderr_journal);
  EXPECT_EQ(choose_sink(false, ""), LogSink::syslog);
  EXPECT_EQ(choose_sink(false, nullptr), LogSink::syslog);
}

TEST(Log, StderrRendering) {
  EXPECT_EQ(render_for_stderr(LogSink::stderr_journal, Priority::warning, "hello"), "<4>hello\n");
  EXPECT_EQ(render_for_stderr(LogSink::stderr_journal, Priority::info, "x"), "<6>x\n");
  EXPECT_EQ(render_for_stderr(LogSink::stderr_plain, Priority::err, "x"), "nullq-send: x\n");
}

TEST(Log, Levels) {
  log_init(LogSink::stderr_plain, config::LogLevel::warning);
  EXPECT_TRUE(log_enabled(Priority::err));
  EXPECT_TRUE(log_enabled(Priority::warning));
  EXPECT_FALSE(log_enabled(Priority::info));
  log_set_level(config::LogLevel::debug);
  EXPECT_TRUE(log_enabled(Priority::debug));
  log_set_level(config::LogLevel::info);
  EXPECT_TRUE(log_enabled(Priority::notice));
  EXPECT_FALSE(log_enabled(Priority::debug));
}

}  // namespace
}  // namespace nullq::send

#include "nullq/send/log.hpp"

#include <gtest/gtest.h>

namespace nullq::send {
namespace {

TEST(Log, AttemptLineFormat) {
  Attempt a;
  a.id = "1795338653123456P42R0123456789abcdef";
  a.host = "qmtp://relay.example.org";
  a.addr = "192.0.2.1:209";
  a.proto = "qmtp";
  a.rcpts = 3;
  a.result = 'K';
  a.text = "ok 1795338653 qp 23807";
  a.ms = 12;
  EXPECT_EQ(format_attempt(a),
            "id=1795338653123456P42R0123456789abcdef host=qmtp://relay.example.org addr=192.0.2.1:209 "
            "proto=qmtp rcpts=3 result=K text=\"ok 1795338653 qp 23807\" ms=12");
}

TEST(Log, NoServerReached) {
  Attempt a;
  a.id = "x";
  a.host = "mx://example.org";
  a.proto = "mx";
  a.rcpts = 1;
  a.result = 'Z';
  a.text = "mx lookup example.org: timeout";
  EXPECT_EQ(format_attempt(a), "id=x host=mx://example.org addr=- proto=mx rcpts=1 result=Z "
                               "text=\"mx lookup example.org: timeout\" ms=0");
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

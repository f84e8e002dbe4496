// log.target (the sink decision) and log.format: json (every line parsed by a real JSON parser).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "nullq/send/log.hpp"

namespace nullq::send {
namespace {

using config::LogTarget;

SinkFacts facts(bool force, bool journal, bool syslog) { return SinkFacts{force, journal, syslog}; }

TEST(LogTarget, Choice) {
  struct Row {
    LogTarget target;
    SinkFacts f;
    LogSink want;
  } rows[] = {
      // auto: the journal, else syslog where its socket is, else stderr (a container).
      {LogTarget::automatic, facts(false, true, true), LogSink::stderr_journal},
      {LogTarget::automatic, facts(false, false, true), LogSink::syslog},
      {LogTarget::automatic, facts(false, false, false), LogSink::stderr_plain},
      {LogTarget::syslog, facts(false, true, false), LogSink::syslog},
      {LogTarget::syslog, facts(false, false, false), LogSink::syslog},
      {LogTarget::standard_error, facts(false, false, true), LogSink::stderr_plain},
      {LogTarget::standard_error, facts(false, true, true), LogSink::stderr_journal},
      // --stderr (or --once at a terminal) wins over everything.
      {LogTarget::syslog, facts(true, true, true), LogSink::stderr_plain},
      {LogTarget::automatic, facts(true, true, true), LogSink::stderr_plain},
  };
  for (const auto& r : rows)
    EXPECT_EQ(choose_sink(r.target, r.f), r.want) << static_cast<int>(r.target) << " " << r.f.force_stderr << r.f.journal
                                                  << r.f.syslog_socket;
}

TEST(LogTarget, JournalStreamMustBeOurStderr) {
  int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  EXPECT_TRUE(journal_stream_is(mine.c_str(), fd));
  EXPECT_FALSE(journal_stream_is((mine + "0").c_str(), fd));  // inherited by a child whose stderr is elsewhere
  EXPECT_FALSE(journal_stream_is("", fd));
  EXPECT_FALSE(journal_stream_is(nullptr, fd));
  ::close(fd);
}

TEST(LogTarget, NoSyslogSocket) {
  char dir[] = "/tmp/nullq-logtarget-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string sock = std::string(dir) + "/log";
  EXPECT_FALSE(syslog_socket_present(sock));  // nothing there
  EXPECT_FALSE(syslog_socket_present(dir));   // not a socket
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_TRUE(syslog_socket_present(sock));
  // The path comes from the environment when it may be believed (tests); auto then picks stderr.
  ::setenv("NULLQ_SYSLOG_SOCKET", (std::string(dir) + "/none").c_str(), 1);
  EXPECT_EQ(syslog_socket_path(), std::string(dir) + "/none");
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_EQ(choose_sink(LogTarget::automatic, sink_facts(false)), LogSink::stderr_plain);
  ::setenv("NULLQ_SYSLOG_SOCKET", sock.c_str(), 1);
  EXPECT_EQ(choose_sink(LogTarget::automatic, sink_facts(false)), LogSink::syslog);
  ::unsetenv("NULLQ_SYSLOG_SOCKET");
  ::close(fd);
  ::unlink(sock.c_str());
  ::rmdir(dir);
}

nlohmann::json parsed(const std::string& line) {
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
  try {
    return nlohmann::json::parse(line);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << ": " << line;
    return {};
  }
}

constexpr std::int64_t t0 = 1796659992123;  // 2026-12-07T16:13:12.123Z

TEST(LogJson, AttemptHasTheTextLinesFields) {
  Attempt a;
  a.id = "1795338653123456P42R0123456789abcdef";
  a.from = "alice@example.org";
  a.to = {"bob@example.org", "carol@example.org"};
  a.host = "qmtp://relay.example.org";
  a.addr = "192.0.2.1:209";
  a.proto = "qmtp";
  a.rcpts = 2;
  a.result = 'K';
  a.text = "ok \"queued\" 1795338653";
  a.ms = 12;
  auto j = parsed(json_attempt(Priority::info, a, t0));
  EXPECT_EQ(j["time"], "2026-12-07T16:13:12.123Z");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["program"], "nullq-send");
  EXPECT_EQ(j["id"], a.id);
  EXPECT_EQ(j["from"], "alice@example.org");
  EXPECT_EQ(j["to"], nlohmann::json::array({"bob@example.org", "carol@example.org"}));
  EXPECT_FALSE(j.contains("more"));
  EXPECT_EQ(j["host"], "qmtp://relay.example.org");
  EXPECT_EQ(j["addr"], "192.0.2.1:209");
  EXPECT_EQ(j["proto"], "qmtp");
  EXPECT_EQ(j["rcpts"], 2);
  EXPECT_EQ(j["status"], "sent");
  EXPECT_EQ(j["text"], "ok \"queued\" 1795338653");
  EXPECT_EQ(j["ms"], 12);
}

TEST(LogJson, ManyRecipientsAndABounce) {
  Attempt a;
  a.id = "i";
  for (int i = 0; i < 13; ++i) a.to.push_back("r" + std::to_string(i) + "@example.org");
  a.rcpts = 13;
  a.proto = "smtp";
  a.result = 'D';
  a.text = "550 5.1.1 unknown";
  auto j = parsed(json_attempt(Priority::notice, a, t0));
  EXPECT_EQ(j["from"], "");
  EXPECT_EQ(j["to"].size(), max_log_rcpts);
  EXPECT_EQ(j["more"], 3);
  EXPECT_EQ(j["host"], "-");
  EXPECT_EQ(j["addr"], "-");
  EXPECT_EQ(j["status"], "bounced");
  EXPECT_EQ(j["level"], "notice");
}

TEST(LogJson, AnyBytesGiveValidJson) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string nasty[] = {all, "\xff\xfe", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                               "\xc0\xaf", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", "\"}\n{\"x\":1",
                               "a\\b\\", std::string("nul\0byte", 8)};
  for (const auto& s : nasty) {
    auto j = parsed(json_line(Priority::err, "id=X " + s, t0));
    EXPECT_EQ(j["id"], "X");
    EXPECT_TRUE(j["msg"].is_string());
    Attempt a;
    a.id = "i";
    a.from = s;
    a.to = {s};
    a.text = s;
    a.proto = "smtp";
    (void)parsed(json_attempt(Priority::info, a, t0));
  }
  // Valid UTF-8 stays as it is; a stray byte reads as printable() writes it.
  EXPECT_EQ(parsed(json_line(Priority::info, "caf\xc3\xa9", t0))["msg"], "caf\xc3\xa9");
  EXPECT_EQ(parsed(json_line(Priority::info, "a\xff" "b", t0))["msg"], "a\\xffb");
  EXPECT_EQ(parsed(json_line(Priority::info, "\xed\xa0\x80", t0))["msg"], "\\xed\\xa0\\x80");  // a surrogate
}

TEST(LogJson, TextLinesSplitIntoFieldsAndMessage) {
  auto j = parsed(json_line(Priority::err, "id=ABC addr=127.0.0.1:25 cannot record the retry: disk full", t0));
  EXPECT_EQ(j["level"], "err");
  EXPECT_EQ(j["id"], "ABC");
  EXPECT_EQ(j["addr"], "127.0.0.1:25");
  EXPECT_EQ(j["msg"], "cannot record the retry: disk full");
  j = parsed(json_line(Priority::info, "flushing: 2 message(s) queued, 1 smart host(s)", t0));
  EXPECT_EQ(j["msg"], "flushing: 2 message(s) queued, 1 smart host(s)");
  j = parsed(json_line(Priority::info, "key=\"quoted value\" n=3", t0));
  EXPECT_EQ(j["key"], "quoted value");
  EXPECT_EQ(j["n"], "3");
  EXPECT_FALSE(j.contains("msg"));
  // A line cannot overwrite the object's own fields.
  j = parsed(json_line(Priority::info, "level=debug time=0 x", t0));
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "level=debug time=0 x");
}

// log_line and log_attempt write JSON to stderr with log.format: json.
TEST(LogJson, SinkWritesOneObjectPerLine) {
  int saved = ::dup(STDERR_FILENO);
  char path[] = "/tmp/nullq-logjson-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::dup2(fd, STDERR_FILENO);
  log_init(LogSink::stderr_plain, config::LogLevel::info, config::LogFormat::json);
  log_line(Priority::warning, "id=Q something odd");
  Attempt a;
  a.id = "Q";
  a.to = {"x@example.org"};
  a.rcpts = 1;
  a.proto = "qmtp";
  a.result = 'Z';
  log_attempt(Priority::info, a);
  log_line(Priority::debug, "not shown");
  log_init(LogSink::stderr_plain, config::LogLevel::info, config::LogFormat::text);
  log_line(Priority::info, "plain again");
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string got;
  char buf[4096];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  ::unlink(path);
  std::size_t first = got.find('\n'), second = got.find('\n', first + 1);
  ASSERT_NE(second, std::string::npos) << got;
  auto j1 = parsed(got.substr(0, first));
  auto j2 = parsed(got.substr(first + 1, second - first - 1));
  EXPECT_EQ(j1["msg"], "something odd");
  EXPECT_EQ(j1["level"], "warning");
  EXPECT_EQ(j2["status"], "deferred");
  EXPECT_EQ(got.substr(second + 1), "nullq-send: plain again\n");
}

}  // namespace
}  // namespace nullq::send

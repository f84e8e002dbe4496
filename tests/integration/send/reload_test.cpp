// SIGHUP takes log.target and log.format as it takes the smart hosts: a daemon logging to syslog
// moves to standard error, in JSON, without a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

#include "fake_server.hpp"
#include "harness.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

const std::string kBody = "From: alice@example.org\nSubject: reload\n\nHello.\n";

TEST(Reload, LogTargetAndFormatTakeEffectOnSighup) {
  TestSpool s;
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()}, "log:\n  target: syslog\n  level: info\n");
  const std::string log = s.dir.path() + "/daemon.log";
  Child d({bin_dir() + "/nullq-send", "--config", s.config}, {}, log);
  s.inject("alice@example.org", {"bob@example.org"}, kBody);
  ASSERT_TRUE(eventually([&] { return srv.count() == 1 && s.queued().empty(); }, 20s)) << read_file(log);
  EXPECT_EQ(read_file(log), "") << "target syslog: nothing on standard error";

  s.write_config({srv.url()}, "log:\n  target: stderr\n  format: json\n  level: info\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return contains(read_file(log), "reloaded "); }, 20s)) << read_file(log);
  s.inject("alice@example.org", {"carol@example.org"}, kBody);
  ASSERT_TRUE(eventually([&] { return srv.count() == 2 && s.queued().empty(); }, 20s)) << read_file(log);
  d.signal(SIGTERM);
  int st = -1;
  ASSERT_TRUE(d.wait(15s, st));
  EXPECT_EQ(st, 0);
  const std::string text = read_file(log);
  std::size_t lines = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    EXPECT_EQ(line.rfind("{\"", 0), 0u) << "every line after the reload is JSON: " << line;
    ++lines;
    pos = eol == std::string::npos ? text.size() : eol + 1;
  }
  EXPECT_GE(lines, 3u) << text;  // reloaded, the delivery, the stop
  EXPECT_TRUE(contains(text, "carol@example.org")) << text;
}

}  // namespace
}  // namespace nullq::send::it

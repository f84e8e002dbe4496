// nullq-send's memory bound (delivery.memory): the real programs against a QMQP server that
// stalls, where every message in flight holds one connection, so the server sees how many the
// daemon has loaded at once. The RSS figures are in bench/memory.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "fake_server.hpp"
#include "harness.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

// A message of about `size` bytes (LF lines of 100 bytes).
std::string big_message(std::size_t size, int n) {
  std::string m = "From: alice@example.org\nTo: bob@example.org\nSubject: big " + std::to_string(n) + "\n\n";
  while (m.size() < size) m += std::string(99, static_cast<char>('a' + n % 26)) + "\n";
  return m;
}

TEST(Memory, NoMoreMessagesInFlightThanTheBudgetHoldsAndAllAreDeliveredOnceTheServerAnswers) {
  TestSpool s;
  FakeServer srv(Proto::qmqp);
  srv.set_fault(Fault::stall);
  // 400 KB messages and a 1 MiB budget: two at a time, whatever the connection bounds allow (8).
  s.write_config({"url: " + srv.url() + "\n    connections: 8"},
                 "delivery:\n  connections: 8\n  timeout: 1s\n  cooldown: off\n  memory: 1MiB\n",
                 "  retry_min: 1s\n  retry_max: 1s\n");
  const int n = 6;
  for (int i = 0; i < n; ++i) s.inject("alice@example.org", {"r" + std::to_string(i) + "@example.org"}, big_message(400'000, i));
  const std::string log = s.dir.path() + "/daemon.log";
  {
    Child d({bin_dir() + "/nullq-send", "--stderr", "--config", s.config}, {}, log);
    // Four stalled connections: with the bound, the first two have timed out and two more came.
    ASSERT_TRUE(eventually([&] { return srv.connections() >= 4; }, 30s)) << read_file(log);
    srv.set_fault(Fault::none);
    EXPECT_TRUE(eventually([&] { return s.queued().empty() && s.incoming().empty(); }, 60s)) << read_file(log);
    d.signal(SIGTERM);
    int st = -1;
    ASSERT_TRUE(d.wait(15s, st));
    EXPECT_EQ(st, 0) << read_file(log);
  }
  EXPECT_LE(srv.max_concurrent(), 2u) << "more messages in flight than delivery.memory holds\n" << read_file(log);
  EXPECT_GE(srv.max_concurrent(), 1u);
  std::size_t answered = 0;
  for (const auto& r : srv.received()) answered += r.message.size() > 400'000 ? 1 : 0;
  EXPECT_GE(answered, static_cast<std::size_t>(n)) << "every message arrives whole";
}

TEST(Memory, AMessageLargerThanTheBudgetStillGoes) {
  TestSpool s;
  FakeServer srv(Proto::qmtp);
  s.write_config({srv.url()}, "delivery:\n  memory: 64KiB\n");
  for (int i = 0; i < 3; ++i) s.inject("alice@example.org", {"bob@example.org"}, big_message(300'000, i));
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(srv.count(), 3u);
  EXPECT_TRUE(s.queued().empty());
}

}  // namespace
}  // namespace nullq::send::it

// Tests for the libuv owners in nullq/event.hpp (built into the 'client' suite).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "nullq/event.hpp"

namespace nullq::event {
namespace {

using namespace std::chrono_literals;

struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/nullq-event-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) std::abort();
    path = p;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(Event, TimerFiresOnceAndRepeats) {
  Loop loop;
  int once = 0;
  int rep = 0;
  Timer t1(loop, [&] { ++once; });
  Timer t2;
  t2 = Timer(loop, [&] {
    if (++rep == 3) t2.stop();
  });
  t1.start(1ms);
  t2.start(1ms, 1ms);
  EXPECT_TRUE(t1);
  ASSERT_TRUE(loop.run_until([&] { return once == 1 && rep == 3; }, 5s));
  EXPECT_FALSE(t1.active());
  EXPECT_FALSE(t2.active());
  loop.run();
  EXPECT_EQ(once, 1);
  EXPECT_EQ(rep, 3);
}

TEST(Event, RunUntilGivesUpAtTheLimit) {
  Loop loop;
  EXPECT_FALSE(loop.run_until([] { return false; }, 20ms));
  EXPECT_TRUE(loop.run_until([] { return true; }, 20ms));
  EXPECT_EQ(loop.open_handles(), 0u);  // its own timer and prepare handle are closing
}

TEST(Event, TimerAgainAndStop) {
  Loop loop;
  int n = 0;
  Timer t(loop, [&] { ++n; });
  t.set_repeat(1ms);
  t.again();  // starts with the repeat value
  EXPECT_TRUE(t.active());
  ASSERT_TRUE(loop.run_until([&] { return n >= 2; }, 5s));
  t.stop();
  EXPECT_FALSE(t.active());
  EXPECT_EQ(loop.run(), 0);  // nothing active any more: run returns at once
}

TEST(Event, DestroyingAnOwnerInsideItsCallbackIsSafe) {
  Loop loop;
  int n = 0;
  auto t = std::make_unique<Timer>();
  *t = Timer(loop, [&] {
    ++n;
    t.reset();  // destroys the owner (and, later, the callback's box) from inside the callback
  });
  t->start(0ms, 1ms);
  ASSERT_TRUE(loop.run_until([&] { return t == nullptr; }, 5s));
  loop.run();
  EXPECT_EQ(n, 1);
  EXPECT_EQ(loop.open_handles(), 0u);
}

TEST(Event, MovedFromOwnerIsEmptyAndMoveKeepsCallback) {
  Loop loop;
  int n = 0;
  Timer a(loop, [&] { ++n; });
  Timer b(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from owners are defined to be empty
  ASSERT_TRUE(b);
  b.start(0ms);
  ASSERT_TRUE(loop.run_until([&] { return n == 1; }, 5s));
}

TEST(Event, LoopDestructorClosesLeftoverRawHandles) {
  // A raw handle left open would make uv_loop_close fail; the destructor must close it.
  auto* t = new uv_timer_t;
  {
    Loop loop;
    uv_timer_init(loop, t);
    uv_timer_start(t, [](uv_timer_t*) {}, 100000, 0);
    EXPECT_EQ(loop.open_handles(), 1u);
  }
  delete t;  // closed without a callback by the destructor; the memory was ours
}

TEST(Event, SignalIsDelivered) {
  Loop loop;
  int got = 0;
  Signal s(loop, SIGHUP, [&](int sig) { got = sig; });
  ASSERT_EQ(::raise(SIGHUP), 0);
  ASSERT_TRUE(loop.run_until([&] { return got != 0; }, 5s));
  EXPECT_EQ(got, SIGHUP);
}

TEST(Event, IdleRunsUntilStopped) {
  Loop loop;
  int n = 0;
  Idle idle(loop, [&] {
    if (++n == 5) idle.stop();
  });
  idle.start();
  EXPECT_TRUE(idle.active());
  ASSERT_TRUE(loop.run_until([&] { return n == 5; }, 5s));
  EXPECT_FALSE(idle.active());
}

TEST(Event, AsyncWakesFromAnotherThread) {
  Loop loop;
  int n = 0;
  Async a(loop, [&] { ++n; });
  std::thread th([&] { a.send(); });
  ASSERT_TRUE(loop.run_until([&] { return n >= 1; }, 5s));
  th.join();
}

TEST(Event, FsEventSeesANewFile) {
  TempDir dir;
  Loop loop;
  int n = 0;
  FsEvent w(loop, [&] { ++n; });
  ASSERT_TRUE(w.start(dir.path).ok());
  std::ofstream(dir.path + "/x") << "x";
  ASSERT_TRUE(loop.run_until([&] { return n > 0; }, 5s));
}

TEST(Event, FsEventOnMissingDirectoryIsAnError) {
  TempDir dir;
  Loop loop;
  FsEvent w(loop, [] {});
  Status st = w.start(dir.path + "/missing");
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().is_temporary());
  EXPECT_NE(st.error().message().find("missing"), std::string::npos);
}

TEST(Event, FifoReaderDrainsPokesAndNeverSeesEof) {
  TempDir dir;
  std::string fifo = dir.path + "/trigger";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  Loop loop;
  std::size_t bytes = 0;
  bool error = false;
  FifoReader r(loop, [&](std::size_t n) { bytes += n; }, [&](const Error&) { error = true; });
  ASSERT_TRUE(r.open(fifo).ok());
  EXPECT_TRUE(r.is_open());
  for (int round = 0; round < 2; ++round) {
    // A poker opens, writes and closes: the reader must not see EOF (it holds a write end too).
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "xyz", 3), 3);
    ::close(fd);
    std::size_t want = 3u * static_cast<std::size_t>(round + 1);
    ASSERT_TRUE(loop.run_until([&] { return bytes >= want; }, 5s));
    EXPECT_EQ(bytes, want);
  }
  EXPECT_FALSE(error);
}

TEST(Event, FifoReaderRefusesARegularFile) {
  TempDir dir;
  std::string path = dir.path + "/plain";
  std::ofstream(path) << "x";
  Loop loop;
  FifoReader r(loop, [](std::size_t) {});
  Status st = r.open(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("not a FIFO"), std::string::npos);
  EXPECT_FALSE(r.is_open());
}

TEST(Event, FifoReaderOnMissingPathIsAnError) {
  TempDir dir;
  Loop loop;
  FifoReader r(loop, [](std::size_t) {});
  Status st = r.open(dir.path + "/none");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ENOENT);
}

TEST(Event, WorkRunsJobsOffTheLoopThreadAndCompletesOnIt) {
  Loop loop;
  Work work(loop);
  const auto loop_thread = std::this_thread::get_id();
  constexpr int jobs = 8;
  std::vector<std::thread::id> ran(jobs);
  std::vector<int> completed;
  for (int i = 0; i < jobs; ++i) {
    auto value = std::make_shared<int>(0);
    work.post(
        [&ran, i, value] {
          ran[i] = std::this_thread::get_id();
          *value = i + 100;
        },
              [&, i, value] {
                EXPECT_EQ(std::this_thread::get_id(), loop_thread);
                EXPECT_EQ(*value, i + 100);
                completed.push_back(i);
              });
  }
  EXPECT_EQ(work.pending(), static_cast<std::size_t>(jobs));
  ASSERT_TRUE(loop.run_until([&] { return work.pending() == 0; }, 5s));
  ASSERT_EQ(completed.size(), static_cast<std::size_t>(jobs));
  for (int i = 0; i < jobs; ++i) EXPECT_NE(ran[i], loop_thread) << "job " << i;
}

TEST(Event, WorkDropsCompletionsOfAGoneOwnerButFinishesTheJobs) {
  std::atomic<int> jobs_done{0};
  bool completed = false;
  {
    Loop loop;
    Work work(loop);
    for (int i = 0; i < 4; ++i)
      work.post(
          [&jobs_done] {
            std::this_thread::sleep_for(10ms);
            ++jobs_done;
          },
          [&completed] { completed = true; });
    work.reset();
    EXPECT_FALSE(work);
    EXPECT_EQ(work.pending(), 0u);
  }  // the loop's destructor waits for the jobs (and aborts if a request is left over)
  EXPECT_EQ(jobs_done.load(), 4);
  EXPECT_FALSE(completed);
}

TEST(EventDeath, WorkPostOnAnEmptyOwnerAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Work w;
        w.post([] {}, [] {});
      },
      "Work::post on an empty owner");
}

TEST(EventDeath, ExceptionInCallbackAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Loop loop;
        Timer t(loop, [] { throw std::runtime_error("boom"); });
        t.start(0ms);
        loop.run();
      },
      "exception escaped a libuv callback \\(timer\\): boom");
}

}  // namespace
}  // namespace nullq::event

// event.hpp — thin RAII owners of libuv handles (CONVENTIONS.md "libuv / c-ares", PROTOCOLS.md §7).
//
// Purpose:   a loop that refuses to leak, and move-only owners for the few handle kinds the daemon
//            needs (timer, signal, inotify hint, trigger FIFO, idle, async), plus jobs run on
//            libuv's thread pool (Work). Each owner keeps the raw
//            uv handle in a heap box that is freed in the close callback, because uv_close() is
//            asynchronous: destroying an owner stops its callbacks at once, the memory goes later.
// Trust:     FIFO bytes are only a "look now" hint; their content is never interpreted.
// Errors:    environment failures (missing directory, not a FIFO) return Status. Misuse (starting a
//            moved-from or empty owner, a loop that cannot close) is a bug and aborts. An exception
//            escaping a user callback is a bug: the noexcept trampoline prints it and aborts.
// Threading: loop thread only, except Async::send() which any thread may call, and the job
//            functions given to Work::post(), which run on a pool thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "nullq/result.hpp"

struct uv_loop_s;

namespace nullq::event {

// signal(SIGPIPE, SIG_IGN): a peer that closes early must give EPIPE, not kill the process.
void ignore_sigpipe() noexcept;

// Calls `f` and aborts with a message naming `where` if it throws. Use it in every C callback.
void report_escaped_exception(const char* where) noexcept;  // [[noreturn]] in practice
template <class F>
void call_guarded(const char* where, F&& f) noexcept {
  try {
    f();
  } catch (...) {
    report_escaped_exception(where);
  }
}

// Owns a uv_loop_t. The destructor closes handles still open (their owners must not outlive the
// loop), runs the loop until every close callback has run, and aborts unless uv_loop_close()
// succeeds — so a test that leaks a handle or a request fails loudly.
class Loop {
 public:
  Loop();  // aborts if uv_loop_init fails (out of fds/memory at start-up)
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_s* get() const noexcept { return loop_; }
  operator uv_loop_s*() const noexcept { return loop_; }

  // uv_run(UV_RUN_DEFAULT): until nothing is active or stop(). Returns uv_run's value.
  int run();
  // One non-blocking iteration (UV_RUN_NOWAIT).
  int run_nowait();
  // Runs until `done()` holds or `limit` passes (a uv timer, never a sleep). Returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit);
  void stop() noexcept;
  std::uint64_t now_ms() const noexcept;  // uv_now
  // Handles that are neither closing nor already closed (for leak checks in tests).
  std::size_t open_handles() const;

 private:
  uv_loop_s* loop_ = nullptr;
};

// A one-shot or repeating timer.
class Timer {
 public:
  Timer() = default;  // empty: every call but reset/assignment is a bug
  Timer(uv_loop_s* loop, std::function<void()> on_fire);
  ~Timer();
  Timer(Timer&& o) noexcept;
  Timer& operator=(Timer&& o) noexcept;

  void start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat = std::chrono::milliseconds{0});
  void stop();
  // uv_timer_again: restart with the repeat value (no-op when repeat is 0 and never started).
  void again();
  void set_repeat(std::chrono::milliseconds repeat);
  bool active() const;
  explicit operator bool() const noexcept { return box_ != nullptr; }
  void reset() noexcept;  // close now; becomes empty

 private:
  struct Box;
  Box* box_ = nullptr;
};

// A signal watcher (TERM/INT/HUP...), started by the constructor.
class Signal {
 public:
  Signal() = default;
  Signal(uv_loop_s* loop, int signum, std::function<void(int)> on_signal);
  ~Signal();
  Signal(Signal&& o) noexcept;
  Signal& operator=(Signal&& o) noexcept;
  void stop();
  explicit operator bool() const noexcept { return box_ != nullptr; }
  void reset() noexcept;

 private:
  struct Box;
  Box* box_ = nullptr;
};

// inotify on one directory. A hint only: events merge and drop, callers must rescan anyway.
class FsEvent {
 public:
  FsEvent() = default;
  FsEvent(uv_loop_s* loop, std::function<void()> on_change);
  ~FsEvent();
  FsEvent(FsEvent&& o) noexcept;
  FsEvent& operator=(FsEvent&& o) noexcept;
  // Starts watching `dir`; ErrorDomain::uv temporary on failure (e.g. ENOENT, ENOSPC for watches).
  Status start(const std::string& dir);
  void stop();
  explicit operator bool() const noexcept { return box_ != nullptr; }
  void reset() noexcept;

 private:
  struct Box;
  Box* box_ = nullptr;
};

// The trigger FIFO. Opened O_RDWR|O_NONBLOCK (on Linux it then never reports EOF, because we are a
// writer too) and read through a uv_pipe. `on_poke` runs once per readable burst with the number
// of bytes drained; the bytes themselves are discarded. A read error stops reading and calls
// `on_error` (if given) once.
class FifoReader {
 public:
  FifoReader() = default;
  FifoReader(uv_loop_s* loop, std::function<void(std::size_t)> on_poke,
             std::function<void(const Error&)> on_error = {});
  ~FifoReader();
  FifoReader(FifoReader&& o) noexcept;
  FifoReader& operator=(FifoReader&& o) noexcept;
  // Opens `path`, which must be a FIFO (anything else is refused: ErrorDomain::sys, code EINVAL,
  // detail "<path> is not a FIFO"), and starts reading. open(2) errors come back from_errno.
  Status open(const std::string& path);
  bool is_open() const noexcept;
  explicit operator bool() const noexcept { return box_ != nullptr; }
  void reset() noexcept;

 private:
  struct Box;
  Box* box_ = nullptr;
};

// Runs `on_idle` once per loop iteration while started (keeps the loop from blocking).
class Idle {
 public:
  Idle() = default;
  Idle(uv_loop_s* loop, std::function<void()> on_idle);
  ~Idle();
  Idle(Idle&& o) noexcept;
  Idle& operator=(Idle&& o) noexcept;
  void start();
  void stop();
  bool active() const;
  explicit operator bool() const noexcept { return box_ != nullptr; }
  void reset() noexcept;

 private:
  struct Box;
  Box* box_ = nullptr;
};

// Wakes the loop from another thread; sends coalesce. Destroy it on the loop thread.
class Async {
 public:
  Async() = default;
  Async(uv_loop_s* loop, std::function<void()> on_wake);
  ~Async();
  Async(Async&& o) noexcept;
  Async& operator=(Async&& o) noexcept;
  void send();  // any thread
  explicit operator bool() const noexcept { return box_ != nullptr; }
  void reset() noexcept;

 private:
  struct Box;
  Box* box_ = nullptr;
};

// Jobs on libuv's thread pool (uv_queue_work), each with a completion on the loop thread: for
// blocking file work (reading a queued message, unlinking it) that must not stall the sessions.
// A job runs on another thread, so it may touch only what it owns: captures by value, or a
// shared_ptr that nothing on the loop thread uses until the completion. Destroying (or reset()ing)
// the owner drops the completions that have not run yet; the jobs themselves always run to the
// end, and the loop's destructor waits for them.
class Work {
 public:
  Work() = default;  // empty: post() is a bug
  explicit Work(uv_loop_s* loop);
  ~Work();
  Work(Work&& o) noexcept;
  Work& operator=(Work&& o) noexcept;

  void post(std::function<void()> job, std::function<void()> done);
  // Jobs posted whose completion has not run yet.
  std::size_t pending() const noexcept;
  explicit operator bool() const noexcept { return state_ != nullptr; }
  void reset() noexcept;

 private:
  struct State;
  struct Req;
  std::shared_ptr<State> state_;
};

}  // namespace nullq::event

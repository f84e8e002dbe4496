// Loop ownership, SIGPIPE and the guard for exceptions escaping C callbacks (see nullq/event.hpp).
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "nullq/event.hpp"

namespace nullq::event {

void ignore_sigpipe() noexcept { std::signal(SIGPIPE, SIG_IGN); }

void report_escaped_exception(const char* where) noexcept {
  // Only called from inside a catch(...) block, so the current exception is set.
  try {
    throw;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nullq: bug: exception escaped a libuv callback (%s): %s\n", where, e.what());
  } catch (...) {
    std::fprintf(stderr, "nullq: bug: exception escaped a libuv callback (%s)\n", where);
  }
  std::abort();
}

Loop::Loop() {
  loop_ = new uv_loop_t;
  if (int rc = uv_loop_init(loop_); rc != 0) {
    std::fprintf(stderr, "nullq: uv_loop_init: %s\n", uv_strerror(rc));
    std::abort();
  }
}

Loop::~Loop() {
  // Owners must be gone by now; anything still open is closed without a callback (its owner, if
  // any, is a bug). Then only close callbacks and cancelled requests are left to run, so the
  // default run terminates.
  uv_walk(
      loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(loop_, UV_RUN_DEFAULT);
  if (int rc = uv_loop_close(loop_); rc != 0) {
    std::fprintf(stderr, "nullq: bug: uv_loop_close: %s (a handle or request outlived its loop)\n",
                 uv_strerror(rc));
    std::abort();
  }
  delete loop_;
}

int Loop::run() { return uv_run(loop_, UV_RUN_DEFAULT); }

int Loop::run_nowait() { return uv_run(loop_, UV_RUN_NOWAIT); }

bool Loop::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  if (done()) return true;
  // libuv runs due timers *before* it polls, so a condition met by a timer callback would still
  // block in the poll. A prepare handle (run just before polling) checks the condition and stops
  // the loop, which makes the poll non-blocking. The limit is a ref'd timer, so the loop always
  // has something to wait for.
  struct State {
    const std::function<bool()>* done;
    bool ok = false;
    bool expired = false;
  } st{&done};
  auto* prep = new uv_prepare_t;
  auto* t = new uv_timer_t;
  uv_prepare_init(loop_, prep);
  uv_timer_init(loop_, t);
  prep->data = &st;
  t->data = &st;
  uv_prepare_start(prep, [](uv_prepare_t* h) noexcept {
    auto* s = static_cast<State*>(h->data);
    call_guarded("run_until", [h, s] {
      if ((*s->done)()) {
        s->ok = true;
        uv_stop(h->loop);
      }
    });
  });
  uv_timer_start(
      t,
      [](uv_timer_t* h) noexcept {
        static_cast<State*>(h->data)->expired = true;
        uv_stop(h->loop);
      },
      static_cast<std::uint64_t>(limit.count() < 0 ? 0 : limit.count()), 0);
  while (!st.ok && !st.expired) {
    uv_run(loop_, UV_RUN_ONCE);
    if (done()) st.ok = true;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(prep), [](uv_handle_t* h) { delete reinterpret_cast<uv_prepare_t*>(h); });
  uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  return st.ok;
}

void Loop::stop() noexcept { uv_stop(loop_); }

std::uint64_t Loop::now_ms() const noexcept { return uv_now(loop_); }

std::size_t Loop::open_handles() const {
  std::size_t n = 0;
  uv_walk(
      loop_,
      [](uv_handle_t* h, void* arg) {
        if (!uv_is_closing(h)) ++*static_cast<std::size_t*>(arg);
      },
      &n);
  return n;
}

}  // namespace nullq::event

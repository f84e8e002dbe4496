// Timer, Signal, Idle and Async owners (see nullq/event.hpp).
#include <uv.h>

#include <utility>

#include "box.hpp"
#include "nullq/event.hpp"

namespace nullq::event {

// ---- Timer ----
struct Timer::Box {
  uv_timer_t handle;
  std::function<void()> on_fire;
};

Timer::Timer(uv_loop_s* loop, std::function<void()> on_fire) : box_(new Box) {
  box_->on_fire = std::move(on_fire);
  detail::check_uv(uv_timer_init(loop, &box_->handle), "uv_timer_init");
  box_->handle.data = box_;
}

NULLQ_EVENT_MOVE_OPS(Timer)

void Timer::start(std::chrono::milliseconds timeout, std::chrono::milliseconds repeat) {
  if (!box_) detail::misuse("Timer::start on an empty timer");
  auto ms = [](std::chrono::milliseconds d) { return static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count()); };
  detail::check_uv(uv_timer_start(
                       &box_->handle,
                       [](uv_timer_t* h) noexcept {
                         auto* b = static_cast<Box*>(h->data);
                         call_guarded("timer", [b] {
                           if (b->on_fire) b->on_fire();
                         });
                       },
                       ms(timeout), ms(repeat)),
                   "uv_timer_start");
}

void Timer::stop() {
  if (box_) uv_timer_stop(&box_->handle);
}

void Timer::again() {
  if (!box_) detail::misuse("Timer::again on an empty timer");
  if (box_->handle.timer_cb == nullptr) {
    // Never started: libuv would refuse (UV_EINVAL). Start it with the repeat value instead.
    auto rep = std::chrono::milliseconds(static_cast<std::int64_t>(uv_timer_get_repeat(&box_->handle)));
    if (rep.count() > 0) start(rep, rep);
    return;
  }
  detail::check_uv(uv_timer_again(&box_->handle), "uv_timer_again");
}

void Timer::set_repeat(std::chrono::milliseconds repeat) {
  if (!box_) detail::misuse("Timer::set_repeat on an empty timer");
  uv_timer_set_repeat(&box_->handle, static_cast<std::uint64_t>(repeat.count() < 0 ? 0 : repeat.count()));
}

bool Timer::active() const {
  return box_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&box_->handle));
}

// ---- Signal ----
struct Signal::Box {
  uv_signal_t handle;
  std::function<void(int)> on_signal;
};

Signal::Signal(uv_loop_s* loop, int signum, std::function<void(int)> on_signal) : box_(new Box) {
  box_->on_signal = std::move(on_signal);
  detail::check_uv(uv_signal_init(loop, &box_->handle), "uv_signal_init");
  box_->handle.data = box_;
  detail::check_uv(uv_signal_start(
                       &box_->handle,
                       [](uv_signal_t* h, int sig) noexcept {
                         auto* b = static_cast<Box*>(h->data);
                         call_guarded("signal", [b, sig] {
                           if (b->on_signal) b->on_signal(sig);
                         });
                       },
                       signum),
                   "uv_signal_start");
}

NULLQ_EVENT_MOVE_OPS(Signal)

void Signal::stop() {
  if (box_) uv_signal_stop(&box_->handle);
}

// ---- Idle ----
struct Idle::Box {
  uv_idle_t handle;
  std::function<void()> on_idle;
};

Idle::Idle(uv_loop_s* loop, std::function<void()> on_idle) : box_(new Box) {
  box_->on_idle = std::move(on_idle);
  detail::check_uv(uv_idle_init(loop, &box_->handle), "uv_idle_init");
  box_->handle.data = box_;
}

NULLQ_EVENT_MOVE_OPS(Idle)

void Idle::start() {
  if (!box_) detail::misuse("Idle::start on an empty idle handle");
  uv_idle_start(&box_->handle, [](uv_idle_t* h) noexcept {
    auto* b = static_cast<Box*>(h->data);
    call_guarded("idle", [b] {
      if (b->on_idle) b->on_idle();
    });
  });
}

void Idle::stop() {
  if (box_) uv_idle_stop(&box_->handle);
}

bool Idle::active() const {
  return box_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&box_->handle));
}

// ---- Async ----
struct Async::Box {
  uv_async_t handle;
  std::function<void()> on_wake;
};

Async::Async(uv_loop_s* loop, std::function<void()> on_wake) : box_(new Box) {
  box_->on_wake = std::move(on_wake);
  detail::check_uv(uv_async_init(loop, &box_->handle,
                                 [](uv_async_t* h) noexcept {
                                   auto* b = static_cast<Box*>(h->data);
                                   call_guarded("async", [b] {
                                     if (b->on_wake) b->on_wake();
                                   });
                                 }),
                   "uv_async_init");
  box_->handle.data = box_;
}

NULLQ_EVENT_MOVE_OPS(Async)

void Async::send() {
  if (!box_) detail::misuse("Async::send on an empty async handle");
  uv_async_send(&box_->handle);
}

}  // namespace nullq::event

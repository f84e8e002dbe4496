// Jobs on libuv's thread pool with completions on the loop thread (see nullq/event.hpp).
#include <uv.h>

#include <utility>

#include "box.hpp"
#include "nullq/event.hpp"

namespace nullq::event {

// Shared by the owner and its requests: a request that completes after the owner is gone sees
// alive == false and runs nothing. Touched on the loop thread only.
struct Work::State {
  uv_loop_s* loop = nullptr;
  bool alive = true;
  std::size_t pending = 0;
};

struct Work::Req {
  uv_work_t req;
  std::function<void()> job;
  std::function<void()> done;
  std::shared_ptr<State> state;
};

Work::Work(uv_loop_s* loop) : state_(std::make_shared<State>()) { state_->loop = loop; }

Work::~Work() { reset(); }

Work::Work(Work&& o) noexcept : state_(std::move(o.state_)) {}

Work& Work::operator=(Work&& o) noexcept {
  if (this != &o) {
    reset();
    state_ = std::move(o.state_);
  }
  return *this;
}

void Work::reset() noexcept {
  if (state_) state_->alive = false;
  state_.reset();
}

std::size_t Work::pending() const noexcept { return state_ ? state_->pending : 0; }

void Work::post(std::function<void()> job, std::function<void()> done) {
  if (!state_) detail::misuse("Work::post on an empty owner");
  auto* r = new Req{{}, std::move(job), std::move(done), state_};
  r->req.data = r;
  detail::check_uv(uv_queue_work(
                       state_->loop, &r->req,
                       [](uv_work_t* w) noexcept {
                         auto* req = static_cast<Req*>(w->data);
                         call_guarded("thread-pool job", [req] { req->job(); });
                       },
                       [](uv_work_t* w, int status) noexcept {
                         std::unique_ptr<Req> req(static_cast<Req*>(w->data));
                         --req->state->pending;
                         if (!req->state->alive || status != 0) return;  // owner gone, or cancelled
                         call_guarded("thread-pool completion", [&req] { req->done(); });
                       }),
                   "uv_queue_work");
  ++state_->pending;
}

}  // namespace nullq::event

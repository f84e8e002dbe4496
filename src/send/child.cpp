// One helper program run on the loop (see include/nullq/send/child.hpp).
//
// The handles (process, three pipes, timer) live in a heap box freed when the last of them is
// closed, as the event module's owners do. The run is over when the process has exited and both
// output pipes have reached EOF, or at once when it times out or prints too much (the process is
// then killed, and its handle stays open until libuv reaps it, so no zombie is left; a run abandoned
// by its owner is killed and reaped at once).
#include "nullq/send/child.hpp"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <memory>

#include "nullq/event.hpp"
#include "nullq/identity.hpp"

namespace nullq::send {

std::string ChildResult::describe(std::chrono::milliseconds timeout) const {
  if (spawn_error) return "cannot be started: " + spawn_error->detail;
  if (timed_out) return "timed out after " + std::to_string((timeout.count() + 999) / 1000) + "s";
  if (stdout_overflow) return "printed more than 64 KiB";
  if (term_signal != 0) return "killed by signal " + std::to_string(term_signal);
  if (exited && exit_status != 0) return "exited with status " + std::to_string(exit_status);
  return "failed";
}

std::vector<std::string> minimal_environment() {
  std::vector<std::string> env{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};
  // From /etc/passwd (then getent): nullq-send is static and must not load NSS in-process.
  if (auto u = identity::user_by_uid(::geteuid())) {
    env.push_back("HOME=" + (u->home.empty() ? std::string("/") : u->home));
    env.push_back("USER=" + u->login);
    env.push_back("LOGNAME=" + u->login);
  } else {
    env.push_back("HOME=/");
  }
  return env;
}

struct Child::Box {
  uv_process_t proc{};
  uv_pipe_t in{}, out{}, err{};
  uv_timer_t timer{};
  uv_write_t write_req{};
  int open = 0;             // handles initialised whose close callback has not run
  bool owner_gone = false;  // the Child was destroyed: no callback, free when closed
  bool finished = false;    // the callback has been given its result
  bool proc_alive = false;  // spawned and not yet reaped
  int pgid = 0;             // the child's process group (its pid), 0 before the spawn
  bool out_eof = false, err_eof = false;
  std::string input;        // may hold a secret: wiped when written or dropped
  ChildSpec spec;
  ChildResult result;
  std::function<void(ChildResult)> done;

  void wipe_input() {
    if (!input.empty()) ::explicit_bzero(input.data(), input.size());
    input.clear();
  }
  ~Box() { wipe_input(); }
};

namespace {

using Box = Child::Box;

void on_closed(uv_handle_t* h) noexcept {
  auto* b = static_cast<Box*>(h->data);
  if (--b->open == 0 && b->owner_gone) delete b;
}

void close_handle(Box*, void* handle) {
  auto* h = static_cast<uv_handle_t*>(handle);
  if (h->data == nullptr || uv_is_closing(h)) return;
  uv_close(h, on_closed);
}

// The child leads a process group of its own (UV_PROCESS_DETACHED: setsid), so that what it
// started (a shell script's commands) goes with it. The group is killed while the child lives or
// something in it still holds the output pipes.
void kill_child(Box* b) {
  if (b->pgid > 0 && (b->proc_alive || !b->out_eof || !b->err_eof)) (void)::kill(-b->pgid, SIGKILL);
  if (b->proc_alive) (void)uv_process_kill(&b->proc, SIGKILL);
}

// Ends the run: everything but a live process handle is closed; the result goes to the callback,
// which may destroy the Child (the box then waits only for its handles).
void finish(Box* b) {
  if (b->finished) return;
  b->finished = true;
  b->wipe_input();
  close_handle(b, &b->in);
  close_handle(b, &b->out);
  close_handle(b, &b->err);
  close_handle(b, &b->timer);
  if (!b->proc_alive) close_handle(b, &b->proc);
  auto done = std::move(b->done);
  ChildResult r = std::move(b->result);
  if (done && !b->owner_gone) event::call_guarded("child completion", [&] { done(std::move(r)); });
}

void maybe_done(Box* b) {
  if (!b->finished && !b->proc_alive && b->out_eof && b->err_eof) finish(b);
}

void on_alloc(uv_handle_t*, std::size_t suggested, uv_buf_t* buf) noexcept {
  buf->base = new char[suggested];
  buf->len = suggested;
}

void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
  std::unique_ptr<char[]> mem(buf->base);
  auto* b = static_cast<Box*>(s->data);
  const bool is_out = s == reinterpret_cast<uv_stream_t*>(&b->out);
  if (n < 0) {  // EOF or an error: this pipe is finished either way
    uv_read_stop(s);
    (is_out ? b->out_eof : b->err_eof) = true;
    maybe_done(b);
    return;
  }
  if (b->finished) return;
  const std::size_t got = static_cast<std::size_t>(n);
  if (is_out) {
    if (b->result.out.size() + got > b->spec.stdout_cap) {
      b->result.stdout_overflow = true;
      kill_child(b);
      finish(b);
      return;
    }
    b->result.out.append(buf->base, got);
  } else {
    const std::size_t room = b->spec.stderr_cap - std::min(b->spec.stderr_cap, b->result.err.size());
    b->result.err.append(buf->base, std::min(room, got));
  }
}

void on_exit(uv_process_t* p, int64_t status, int signal) noexcept {
  auto* b = static_cast<Box*>(p->data);
  b->proc_alive = false;
  if (b->finished || b->owner_gone) {
    close_handle(b, &b->proc);
    return;
  }
  b->result.exited = true;
  b->result.exit_status = static_cast<long>(status);
  b->result.term_signal = signal;
  close_handle(b, &b->proc);
  maybe_done(b);
}

void on_written(uv_write_t* w, int) noexcept {
  auto* b = static_cast<Box*>(w->data);
  b->wipe_input();
  // The request is all there is: closing stdin tells the child so (a write error, e.g. a child that
  // exited without reading, only ends the writing).
  close_handle(b, &b->in);
}

void on_timeout(uv_timer_t* t) noexcept {
  auto* b = static_cast<Box*>(t->data);
  if (b->finished) return;
  b->result.timed_out = true;
  kill_child(b);
  finish(b);
}

// Delivers a spawn failure from the loop (never from inside start()).
void on_spawn_failed(uv_timer_t* t) noexcept {
  finish(static_cast<Box*>(t->data));
}

// The owner lets go of a box: freed now if every handle is closed, else by the last close callback.
void release(Box* b) {
  b->owner_gone = true;
  if (b->open == 0) delete b;
}

}  // namespace

Child::Child(uv_loop_s* loop) : loop_(loop) {}

Child::~Child() {
  if (!box_) return;
  Box* b = box_;
  box_ = nullptr;
  b->done = nullptr;
  b->wipe_input();
  // The loop may be about to end: close everything now. libuv reaps only processes whose handles
  // are open, so a child still running is killed and reaped here (a run abandoned by close(),
  // reload or shutdown), or it would stay a zombie for the daemon's life. SIGKILL ends it within
  // milliseconds; the wait is bounded all the same.
  const int pid = b->proc_alive ? b->proc.pid : 0;
  kill_child(b);
  if (pid > 0) {
    for (int i = 0; i < 1000 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) {
      struct timespec ms {0, 1'000'000};
      ::nanosleep(&ms, nullptr);
    }
  }
  close_handle(b, &b->in);
  close_handle(b, &b->out);
  close_handle(b, &b->err);
  close_handle(b, &b->timer);
  close_handle(b, &b->proc);
  release(b);
}

bool Child::running() const { return box_ && !box_->finished; }

void Child::start(ChildSpec spec, std::function<void(ChildResult)> done) {
  if (box_) {
    if (!box_->finished) {
      std::fprintf(stderr, "nullq: bug: Child::start while a child runs\n");
      std::abort();
    }
    // The previous run is over; its box frees itself once its handles are closed.
    release(box_);
    box_ = nullptr;
  }
  auto* b = new Box;
  box_ = b;
  b->spec = std::move(spec);
  b->input = std::move(b->spec.input);
  b->spec.input.clear();
  b->done = std::move(done);
  auto init = [b](void* handle) {
    static_cast<uv_handle_t*>(handle)->data = b;
    ++b->open;
  };
  uv_timer_init(loop_, &b->timer);
  init(&b->timer);
  uv_pipe_init(loop_, &b->out, 0);
  init(&b->out);
  uv_pipe_init(loop_, &b->err, 0);
  init(&b->err);
  const bool feed = !b->input.empty();
  if (feed) {
    uv_pipe_init(loop_, &b->in, 0);
    init(&b->in);
  }

  std::vector<char*> args, envp;
  for (auto& a : b->spec.argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : b->spec.env) envp.push_back(e.data());
  envp.push_back(nullptr);
  uv_stdio_container_t stdio[3];
  stdio[0].flags = feed ? static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE) : UV_IGNORE;
  stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(&b->in);
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&b->out);
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&b->err);
  uv_process_options_t o{};
  o.exit_cb = on_exit;
  o.file = args.empty() || args[0] == nullptr ? "" : args[0];
  o.args = args.data();
  o.env = envp.data();
  o.stdio_count = 3;
  o.stdio = stdio;
  o.flags = UV_PROCESS_DETACHED;  // a process group of its own: see kill_child
  int rc = UV_EINVAL;
  if (!b->spec.argv.empty()) {
    rc = uv_spawn(loop_, &b->proc, &o);
    init(&b->proc);  // initialised even when uv_spawn fails: it must be closed
  }
  if (rc != 0) {
    b->result.spawn_error = Error::temporary(ErrorDomain::uv, std::string(uv_strerror(rc)), rc);
    b->out_eof = b->err_eof = true;
    uv_timer_start(&b->timer, on_spawn_failed, 0, 0);
    return;
  }
  b->proc_alive = true;
  b->pgid = b->proc.pid;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&b->out), on_alloc, on_read);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&b->err), on_alloc, on_read);
  if (feed) {
    b->write_req.data = b;
    uv_buf_t buf = uv_buf_init(b->input.data(), static_cast<unsigned>(b->input.size()));
    if (uv_write(&b->write_req, reinterpret_cast<uv_stream_t*>(&b->in), &buf, 1, on_written) != 0) {
      b->wipe_input();
      close_handle(b, &b->in);
    }
  }
  uv_timer_start(&b->timer, on_timeout, static_cast<std::uint64_t>(std::max<std::int64_t>(0, b->spec.timeout.count())),
                 0);
}

}  // namespace nullq::send

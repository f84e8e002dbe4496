// FsEvent (inotify hint) and FifoReader (the trigger FIFO) owners (see nullq/event.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <utility>

#include "box.hpp"
#include "nullq/event.hpp"

namespace nullq::event {

// ---- FsEvent ----
struct FsEvent::Box {
  uv_fs_event_t handle;
  std::function<void()> on_change;
};

FsEvent::FsEvent(uv_loop_s* loop, std::function<void()> on_change) : box_(new Box) {
  box_->on_change = std::move(on_change);
  detail::check_uv(uv_fs_event_init(loop, &box_->handle), "uv_fs_event_init");
  box_->handle.data = box_;
}

NULLQ_EVENT_MOVE_OPS(FsEvent)

Status FsEvent::start(const std::string& dir) {
  if (!box_) detail::misuse("FsEvent::start on an empty watcher");
  uv_fs_event_stop(&box_->handle);
  int rc = uv_fs_event_start(
      &box_->handle,
      [](uv_fs_event_t* h, const char*, int, int) noexcept {
        // Errors (status < 0) are hints too: the caller rescans either way.
        auto* b = static_cast<Box*>(h->data);
        call_guarded("fs_event", [b] {
          if (b->on_change) b->on_change();
        });
      },
      dir.c_str(), 0);
  if (rc != 0) return Error::temporary(ErrorDomain::uv, "watch " + dir + ": " + uv_strerror(rc), rc);
  return {};
}

void FsEvent::stop() {
  if (box_) uv_fs_event_stop(&box_->handle);
}

// ---- FifoReader ----
namespace {
// The default Linux pipe capacity: one read drains what a burst of pokes wrote.
constexpr std::size_t fifo_buf_size = 64 * 1024;
}  // namespace

struct FifoReader::Box {
  uv_pipe_t handle;
  std::function<void(std::size_t)> on_poke;
  std::function<void(const Error&)> on_error;
  bool open = false;
  char buf[fifo_buf_size];
};

FifoReader::FifoReader(uv_loop_s* loop, std::function<void(std::size_t)> on_poke,
                       std::function<void(const Error&)> on_error)
    : box_(new Box) {
  box_->on_poke = std::move(on_poke);
  box_->on_error = std::move(on_error);
  detail::check_uv(uv_pipe_init(loop, &box_->handle, 0), "uv_pipe_init");
  box_->handle.data = box_;
}

NULLQ_EVENT_MOVE_OPS(FifoReader)

bool FifoReader::is_open() const noexcept { return box_ && box_->open; }

Status FifoReader::open(const std::string& path) {
  if (!box_) detail::misuse("FifoReader::open on an empty reader");
  if (box_->open) detail::misuse("FifoReader::open twice");
  // O_RDWR: we are a writer as well, so the FIFO never reports EOF when the last poker leaves.
  int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Error::from_errno(errno, "open " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Error::from_errno(err, "stat " + path);
  }
  if (!S_ISFIFO(st.st_mode)) {
    ::close(fd);
    return Error::temporary(ErrorDomain::sys, path + " is not a FIFO", EINVAL);
  }
  if (int rc = uv_pipe_open(&box_->handle, fd); rc != 0) {
    ::close(fd);
    return Error::temporary(ErrorDomain::uv, "open " + path + ": " + uv_strerror(rc), rc);
  }
  box_->open = true;  // the handle owns fd now; uv_close closes it
  int rc = uv_read_start(
      reinterpret_cast<uv_stream_t*>(&box_->handle),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
        auto* b = static_cast<Box*>(h->data);
        *buf = uv_buf_init(b->buf, sizeof b->buf);
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) noexcept {
        auto* b = static_cast<Box*>(s->data);
        if (nread > 0) {
          call_guarded("fifo", [b, nread] {
            if (b->on_poke) b->on_poke(static_cast<std::size_t>(nread));
          });
        } else if (nread < 0) {
          uv_read_stop(s);
          Error e = Error::temporary(ErrorDomain::uv,
                                     std::string("trigger FIFO: ") + uv_strerror(static_cast<int>(nread)),
                                     static_cast<int>(nread));
          call_guarded("fifo", [b, &e] {
            if (b->on_error) b->on_error(e);
          });
        }
      });
  if (rc != 0) return Error::temporary(ErrorDomain::uv, "read " + path + ": " + uv_strerror(rc), rc);
  return {};
}

}  // namespace nullq::event

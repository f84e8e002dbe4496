// box.hpp — shared plumbing of the handle owners (private to src/event).
//
// Purpose:   the heap box and its asynchronous close; aborts for misuse.
// Trust:     none.
// Errors:    misuse and impossible libuv failures abort with a message.
// Threading: loop thread only.
#pragma once

#include <uv.h>

#include <cstdio>
#include <cstdlib>

namespace nullq::event::detail {

// Every Box has a member `handle` (the uv handle) whose data points back at the box. Closing hands
// the box to libuv; the close callback deletes it, which also destroys the user's callback.
template <class Box>
void close_box(Box*& box) noexcept {
  if (box == nullptr) return;
  auto* h = reinterpret_cast<uv_handle_t*>(&box->handle);
  box = nullptr;
  if (uv_is_closing(h)) return;  // the loop's destructor got there first; it owns the memory now
  uv_close(h, [](uv_handle_t* hh) { delete static_cast<Box*>(hh->data); });
}

[[noreturn]] inline void misuse(const char* what) noexcept {
  std::fprintf(stderr, "nullq: bug: %s\n", what);
  std::abort();
}

inline void check_uv(int rc, const char* what) noexcept {
  if (rc != 0) {
    std::fprintf(stderr, "nullq: bug: %s: %s\n", what, uv_strerror(rc));
    std::abort();
  }
}

}  // namespace nullq::event::detail

// Move operations are the same for every owner: the box pointer moves, the handle stays put.
#define NULLQ_EVENT_MOVE_OPS(Type)                          \
  Type::~Type() { reset(); }                                \
  Type::Type(Type&& o) noexcept : box_(o.box_) { o.box_ = nullptr; } \
  Type& Type::operator=(Type&& o) noexcept {                \
    if (this != &o) {                                       \
      reset();                                              \
      box_ = o.box_;                                        \
      o.box_ = nullptr;                                     \
    }                                                       \
    return *this;                                           \
  }                                                         \
  void Type::reset() noexcept { detail::close_box(box_); }

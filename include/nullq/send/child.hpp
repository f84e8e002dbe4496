// send/child.hpp — one run of a helper program on the libuv loop: argv, a request on stdin,
// stdout and stderr read with caps, a time limit.
//
// Purpose:   the token manager runs nullq-oauth and token_command with it (tokens.hpp): no shell,
//            no blocking, the child killed (SIGKILL) when it runs too long or prints too much;
//            it leads a process group of its own, and the whole group is killed (a script's
//            commands too), so nothing it started is left running.
// Trust:     the child's output is hostile: capped (stdout_cap, stderr_cap), never interpreted here.
//            `input` may hold a secret (the client secret): it goes to the child's stdin only and
//            is wiped from memory once written (or when the run ends).
// Errors:    never thrown; everything is in Result. The callback comes from the loop, never from
//            inside start(), exactly once per start() unless the Child is destroyed first.
// Threading: loop thread only. Destroying a Child kills a child still running and drops the
//            callback; the callback may destroy the Child that called it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nullq/result.hpp"

struct uv_loop_s;

namespace nullq::send {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0]: the program's absolute path
  std::vector<std::string> env;   // "NAME=value", the child's whole environment
  std::string input;              // written to stdin, which is then closed; "" = stdin is /dev/null
  std::chrono::milliseconds timeout{30'000};
  std::size_t stdout_cap = 64 * 1024;  // more is an error: the child is killed
  std::size_t stderr_cap = 4096;       // more is read and dropped
};

struct ChildResult {
  std::optional<Error> spawn_error;  // the program could not be started (uv_spawn)
  bool timed_out = false;            // killed after the timeout
  bool stdout_overflow = false;      // killed: printed more than stdout_cap
  bool exited = false;               // exit_status is valid
  long exit_status = -1;
  int term_signal = 0;               // the signal that ended it (0: none)
  std::string out;                   // stdout (at most stdout_cap bytes)
  std::string err;                   // stderr (the first stderr_cap bytes)
  bool ok() const { return !spawn_error && !timed_out && !stdout_overflow && exited && exit_status == 0 && term_signal == 0; }
  // "exited with status 3", "killed by signal 9", "timed out after 5s", ... for error texts.
  std::string describe(std::chrono::milliseconds timeout) const;
};

// The environment a helper gets: PATH, HOME, USER and LOGNAME of the user this process runs as,
// LANG=C.UTF-8; nothing inherited (no secret, no test variable, no LD_PRELOAD).
std::vector<std::string> minimal_environment();

class Child {
 public:
  explicit Child(uv_loop_s* loop);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Starts one run; a Child runs one program at a time (a second start() while running is a bug).
  void start(ChildSpec spec, std::function<void(ChildResult)> done);
  bool running() const;

  struct Box;  // (child.cpp's)

 private:
  uv_loop_s* loop_;
  Box* box_ = nullptr;
};

}  // namespace nullq::send

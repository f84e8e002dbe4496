// child.hpp — a running nullq-oauth the test talks to while it runs: stdin, stdout, stderr and
// file descriptor 3 are pipes, so a test can read the printed loopback port, paste an address,
// look at /proc/PID, or hold stdout full.
//
// Purpose:   drive `nullq-oauth login` (request on fd 3, the terminal on 0/1/2) and `token`.
// Trust:     test code only.
// Errors:    a failed fork or exec fails the test (exit code 127).
// Threading: test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace nullq::testing {

struct ChildOptions {
  std::string stdin_text;          // written at start (stdin stays open unless close_stdin)
  bool close_stdin = true;
  bool has_fd3 = false;
  std::string fd3_text;            // the request on fd 3, then closed
  bool stdout_full = false;        // start with the stdout pipe full: the child's writes block
};

class Child {
 public:
  Child(const std::vector<std::string>& argv, const ChildOptions& opt);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // Reads stdout until it holds `needle` or the deadline passes; true when found.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds limit = std::chrono::seconds(20));
  // Reads stderr until it holds `needle` or the deadline passes.
  bool wait_for_error(const std::string& needle, std::chrono::milliseconds limit = std::chrono::seconds(20));
  void write_stdin(const std::string& text);
  void close_stdin();
  // Empties the pre-filled stdout (stdout_full) so the child can go on.
  void drain_filler();
  // Waits for the exit (killing the child after `limit`) and collects the rest of its output.
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(30));

  std::string out, err;

 private:
  bool pump(int ms);  // reads what is available for up to ms; false when both pipes ended
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::size_t filler_ = 0;
  int status_ = -1;
};

}  // namespace nullq::testing

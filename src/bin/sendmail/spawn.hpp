// spawn.hpp — run a helper program (nullq-queue, nullq-send) with posix_spawn.
//
// Purpose:   find the sibling programs and run them cheaply: posix_spawn (vfork-like) instead of
//            fork + exec, which is most of an injection's cost.
// Trust:     runs as the caller; the set-id nullq-queue distrusts everything we hand it anyway.
// Errors:    returns an exit status (sysexits) and the child's stderr text; 69/71 when it can't run.
// Threading: single-threaded program.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace nullq::sendmail {

struct Finished {
  int exit_code = 0;       // child's exit status; 75 if it died by a signal
  std::string out;         // what it printed on stdout (the queue id), trimmed
  std::string err;         // what it printed on stderr, trimmed
};

// (Programs are found with environment::locate().)

// A started child with a pipe on each of stdin, stdout and stderr.
struct Child {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
  Finished failed;  // when pid < 0: why it could not be started
};

// Starts `argv` now, so that its start-up overlaps with the caller's own work.
Child start(const std::vector<std::string>& argv);

// Writes `input` (two parts, to avoid joining them) to the child's stdin, collects its output, waits.
Finished finish(Child& child, std::string_view input1, std::string_view input2);

// Closes the child's stdin without a byte (it commits nothing) and reaps it.
void abandon(Child& child);

// Runs `argv` with stdin, stdout and stderr inherited; returns the exit code.
int run_inherit(const std::vector<std::string>& argv);

}  // namespace nullq::sendmail

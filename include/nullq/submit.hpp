// submit.hpp — what nullq-queue does with its input: read the drop pipe, validate, commit.
//
// Purpose:   the body of the set-id program, callable from tests without the set-id shell around it.
// Trust:     `in_fd` carries caller-controlled bytes: the framing is length-capped before allocation,
//            addresses are validated, the message size is bounded.
// Errors:    every outcome is a sysexits code plus one line; nothing is left in new/ unless it is 0,
//            and the uncommitted tmp/ file is removed.
// Threading: single-threaded program.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "nullq/queue.hpp"

namespace nullq::submit {

// Absolute ceiling for one message; -s can only lower it.
inline constexpr std::uint64_t absolute_max_size = 1024ull * 1024 * 1024;

struct Outcome {
  int exit_code = 0;     // sysexits: 0, 65 data, 73 can't create, 74 I/O, 75 temporary, 77 permission
  std::string message;   // one line, empty on success
  std::string id;        // the queue id on success
};

// Reads the framing block and the message from `in_fd` to EOF and commits it into `spool`.
Outcome submit(int in_fd, const queue::Spool& spool, std::uint64_t max_size, uid_t uid, std::int64_t now);

// Maps a filesystem error to the sysexits code the caller should see.
int exit_code_for(const Error& e);

}  // namespace nullq::submit

// submit.hpp — one submission into the spool: read the drop framing, validate, write, commit.
//
// Purpose:   the one commit path of both injectors: the set-id nullq-queue (from its pipe) and
//            nullq-sendmail itself for callers that may write the spool anyway (root, nullq), so that
//            both write the same file: the queue envelope, a Received: line with the real uid, the
//            message with LF endings. Callable from tests without the set-id shell around it.
// Trust:     the input carries caller-controlled bytes: the framing is length-capped before
//            allocation, addresses are validated, the message size is bounded.
// Errors:    every outcome is a sysexits code plus one line; nothing is left in new/ unless it is 0,
//            and the uncommitted tmp/ file is removed. Below the free-space reserve (Target::min_free)
//            nothing is written, and a message that would take the spool below it is not committed:
//            75, "insufficient disk space ...".
// Threading: single-threaded programs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nullq/queue.hpp"

namespace nullq::submit {

// Absolute ceiling for one message; -s can only lower it.
inline constexpr std::uint64_t absolute_max_size = 1024ull * 1024 * 1024;

struct Outcome {
  int exit_code = 0;     // sysexits: 0, 65 data, 73 can't create, 74 I/O, 75 temporary, 77 permission
  std::string message;   // one line, empty on success
  std::string id;        // the queue id on success
};

struct Target {
  queue::Spool spool;
  std::uint64_t max_size = absolute_max_size;  // capped at absolute_max_size
  uid_t uid = 0;                               // the real uid, recorded in U and Received:
  std::int64_t now = 0;                        // unix seconds, recorded in Q and Received:
  std::optional<gid_t> group;                  // see queue::Drop::create; nullopt = the process's
  std::uint64_t min_free = 0;                  // bytes the spool's filesystem must keep free; 0 = no check
};

// nullq-queue: reads the framing block and the message from `in_fd` to EOF and commits it.
Outcome submit(int in_fd, const Target& target);

// nullq-sendmail's own commit: exactly the bytes it would send down nullq-queue's pipe, the
// framing block (envelope::encode_drop) and the message, committed by the same code.
Outcome submit(std::string_view framing, std::string_view message, const Target& target);

// Maps a filesystem error to the sysexits code the caller should see.
int exit_code_for(const Error& e);

}  // namespace nullq::submit

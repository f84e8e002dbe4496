// census.hpp — how many messages, and how many bytes, wait in each part of the spool.
//
// Purpose:   one count for every reader that must not see addresses: nullq-send's status file and
//            Prometheus textfile, `nullq metrics` and `nullq check --queue` run by root. new/ and
//            queue/ wait for delivery; "deferred" is the part of queue/ tried at least once (its
//            file name's attempt count); failed/ is kept for the admin. Bytes are the queue files'
//            sizes (envelope included), as Postfix's mailq counts them.
// Trust:     file names are parsed by queue::parse_queue_name; nothing is opened but the directories.
// Errors:    a directory that cannot be read (other than missing new/ or failed/) is an Error
//            (errno domain); a file gone between readdir and stat is not counted.
// Threading: any thread; blocking (readdir + fstatat of every file): nullq-send runs it on the pool.
#pragma once

#include <cstdint>

#include "nullq/queue.hpp"
#include "nullq/result.hpp"

namespace nullq::queue {

struct Tally {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

struct Census {
  Tally incoming;  // new/
  Tally queued;    // queue/
  Tally deferred;  // the part of queue/ tried at least once
  Tally failed;    // failed/
  std::int64_t oldest_queued_at = 0;  // unix seconds of the oldest message in new/ or queue/; 0 = none

  Tally waiting() const { return {incoming.messages + queued.messages, incoming.bytes + queued.bytes}; }
};

// The queue time an id starts with (unix seconds followed by six digits of microseconds); 0 if none.
std::int64_t queued_at_of_id(std::string_view id);

Result<Census> take_census(const Spool& spool);

}  // namespace nullq::queue

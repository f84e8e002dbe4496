// send/status_file.hpp — the summary nullq-send publishes for everyone: <queue.dir>/status.json.
//
// Purpose:   one small world-readable JSON file, from which an ordinary user's `mailq`, `nullq
//            check --queue` and monitoring agents count the queue without reading it (queue/ and
//            failed/ are private to the nullq user). It holds counts and bytes by state, the oldest
//            message's queue time, and per smart host its state and the class of its last error;
//            never an address, a subject or a queue id. It lives in the spool's root, which is
//            0755 in every spool nullq makes (tmpfiles.d, ensure_spool) and which the unit may
//            write (ReadWritePaths=): no directory of its own to create, and a private spool
//            (tests, demo) gets its own file. Mode 0644 whatever the umask (the unit's is 0077).
//            nullq-send rewrites it on change (at most once a second) and at exit marks it
//            stopped; readers believe "running" only while its pid lives.
// Trust:     the writer is nullq-send; readers treat the file as data (decode_status checks
//            types, and a malformed file is an error, never a crash).
// Errors:    Result on every I/O and parse failure.
// Threading: plain functions; any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/census.hpp"
#include "nullq/queue.hpp"
#include "nullq/result.hpp"

namespace nullq::send {

// One smart host as the status file shows it.
struct HostStatus {
  std::string host;                    // its text as configured ("qmtp://relay.example.org"), no credentials
  std::string state = "up";            // up | backing_off | slowed | held
  std::optional<std::int64_t> until;   // unix seconds the state lasts, when it has an end
  std::string last_error = "none";     // connect | tls | auth | token | temporary | permanent | none
  // Set by the host's limits (connections allowed now, a rate as "30/min", why it is slowed or
  // held); left out of the file while unset.
  std::optional<unsigned> concurrency;
  std::string rate;
  std::string reason;
};

struct StatusSnapshot {
  std::int64_t pid = 0;
  bool running = true;                 // false: written by a nullq-send on its way out
  std::int64_t started_at = 0;         // unix seconds
  std::int64_t written_at = 0;
  queue::Census census;
  std::vector<HostStatus> hosts;
};

std::string status_path(const queue::Spool& spool);  // <dir>/status.json

// One JSON object and a newline; `oldest_age_seconds` is computed against written_at.
std::string encode_status(const StatusSnapshot& s);
Result<StatusSnapshot> decode_status(std::string_view text);

// `content` into `path` through a temporary file in the same directory (mode `mode`, whatever
// the umask) renamed over it: a reader sees the old file or the new one, never a part. No fsync:
// the files written this way are regenerated.
Status write_atomically(const std::string& path, const std::string& content, mode_t mode);

// What a reader finds: the daemon's summary, and whether the daemon that wrote it still runs.
enum class Liveness {
  running,  // written by a nullq-send that is running now
  stopped,  // its writer marked it stopped on the way out
  stale,    // says running, but no process has its pid (killed, crashed)
  absent,   // no file (no nullq-send has run on this spool), or it cannot be read
};
struct StatusRead {
  Liveness liveness = Liveness::absent;
  StatusSnapshot snapshot;  // valid unless absent
  std::string problem;      // why absent, for the one line the caller prints ("" = no file)
};
StatusRead read_status(const queue::Spool& spool);

}  // namespace nullq::send

// spool.hpp — the flusher's side of the queue: accept drops, index queue/, record attempts.
//
// Purpose:   everything nullq-send and the nullq admin CLI do to files in new/, queue/, failed/, tmp/.
// Trust:     files in new/ are written by any local user: they are validated (envelope::decode, size)
//            before they enter queue/, and anything malformed is quarantined to failed/, never fatal.
// Errors:    filesystem failures return Error::from_errno; malformed files are reported, not returned.
// Threading: no shared state: one Store per thread. nullq-send gives copies to jobs on libuv's
//            thread pool, which read (load) and unlink (remove) queue files.
//
// queue/ file names carry the retry state (queue.hpp): <id>,<attempts>,<next-attempt>. The queued
// time is the leading unix seconds of the id, so a restart indexes 100,000 messages from readdir alone.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "nullq/envelope.hpp"
#include "nullq/queue.hpp"
#include "nullq/result.hpp"

namespace nullq::spool {

struct Entry {
  std::string id;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;  // unix seconds; 0 = due now
  std::int64_t queued_at = 0;     // unix seconds, from the id
  std::string file_name() const;  // "<id>,<attempts>,<next>"
};

struct Quarantined {
  std::string name;      // file name as found in new/
  std::string reason;    // one line
  bool left = false;     // true: not moved (this process may not read or move it; `reason` says why and the fix)
  bool removed = false;  // true: deleted, not kept (an oversize drop from a user; `reason` has uid, size, limit)
  // A removed drop whose envelope could be read (within its first MiB): the envelope (sender
  // rewritten as the policy says) and the message's header block, for a bounce.
  std::optional<envelope::Envelope> envelope{};
  std::string headers{};
};

// The limits of nullq.yaml applied again to drops from users. nullq-queue, set-gid and run directly,
// knows only its own limits (limits.hpp), not nullq.yaml: the size limit and rewrite.sender of the
// config are enforced by the caller's nullq-sendmail, which a user need not run. Drops whose U
// record or file owner is not a trusted uid (root and the daemon's user, whose sendmail reads the
// config and commits itself; no U record is the daemon's own bounce) are checked here: an oversize one is removed, not kept in failed/
// (it would hold the space for keep_failed), and the envelope sender of the others is rewritten.
struct IntakePolicy {
  std::vector<uid_t> trusted;
  std::string rewrite_sender;  // rewrite.sender; "" = none

  bool trusts(std::int64_t uid) const;
};

// What accept_new does with one well-formed drop.
struct IntakeVerdict {
  enum class Action { accept, rewrite, remove };
  Action action = Action::accept;
  std::string reason;  // remove: one line with the uid, the size and the limit
};
// `env` is the drop's envelope (its sender is rewritten in place for Action::rewrite and remove), `owner` the
// file's owner, `message_size` the bytes after the envelope, `max` queue.max_message_size.
IntakeVerdict judge_drop(const IntakePolicy& policy, envelope::Envelope& env, uid_t owner, std::uint64_t message_size,
                         std::uint64_t max);

struct Loaded {
  envelope::Envelope envelope;
  std::string message;          // the message after the envelope (LF endings)
  std::uint64_t body_offset = 0;  // load(): where the message starts in the file (the envelope's size)
};

class Store {
 public:
  Store(queue::Spool spool, std::uint64_t max_message_size);

  const queue::Spool& spool() const { return spool_; }
  // Without a policy (the default) every drop is taken as it is.
  void set_intake(IntakePolicy policy) { intake_ = std::move(policy); }

  // Moves every valid new/ file into queue/ as <id>,0,0 (rename, then fsync queue/); malformed or
  // oversize files go to failed/ and are listed in `bad`; with an intake policy, drops from users
  // are judged by judge_drop (removed ones are listed in `bad` with `removed` set). A file this process may not read or move
  // stays in new/ and is listed in `bad` with `left` set and the fix in `reason` (the others are
  // still accepted). Returns the accepted entries.
  Result<std::vector<Entry>> accept_new(std::vector<Quarantined>& bad);
  // Every well-formed name in queue/ (readdir only), sorted by id; of two names for one id (a crash
  // during reschedule) the one with fewer attempts is removed. Unknown names are listed in `bad`.
  Result<std::vector<Entry>> scan(std::vector<Quarantined>& bad) const;
  // Reads and validates one queued file. The file is read once, into the string that keeps the message.
  Result<Loaded> load(const Entry& entry) const;
  // The queued file's size in bytes (stat), what load() will hold in memory.
  Result<std::uint64_t> file_size(const Entry& entry) const;

  // Every recipient is done: remove the file.
  Status remove(const Entry& entry);
  // Attempt failed for some or all recipients: rename to the new retry state. When `remaining` is
  // given (fewer recipients than before, or a new last_error to record), the file is rewritten
  // atomically with that envelope and the same message first. Returns the updated entry.
  Result<Entry> reschedule(const Entry& entry, std::uint32_t attempts, std::int64_t next_attempt,
                           const Loaded* remaining);
  // As reschedule() with a new envelope, but the message is copied from the queued file itself,
  // from `body_offset` (Loaded::body_offset) to its end, rather than from memory: a retry costs no
  // copy of the message in memory, whatever its size. Blocking (write, fsync): thread pool.
  Result<Entry> rewrite(const Entry& entry, std::uint32_t attempts, std::int64_t next_attempt,
                        const envelope::Envelope& env, std::uint64_t body_offset);
  // Moves the file to failed/ (permanent failure kept for the admin), recording `reason` as last error.
  Status move_to_failed(const Entry& entry, const std::string& reason);
  // Writes `env` and `message` into failed/ as `id`, replacing a file of that name: a bounced message
  // kept until its bounce (env.bounce_id) is delivered, so that `nullq retry` can still send it.
  Status keep_failed(const std::string& id, const envelope::Envelope& env, std::string_view message);
  // The bounce `bounce_id` was delivered: removes failed/<original_id> if it still waits for that
  // bounce (its B record names it). True if removed; false if there is no such file (retried,
  // dropped) or it waits for another bounce.
  Result<bool> release_failed(const std::string& original_id, const std::string& bounce_id);
  // Removes tmp/ files older than `age` (crashed submissions). Returns how many.
  std::size_t remove_tmp_orphans(std::chrono::seconds age);
  // Removes failed/ files that came there more than `age` ago (queue.keep_failed). Returns how many.
  std::size_t expire_failed(std::chrono::seconds age);

 private:
  std::size_t remove_older(const std::string& dir, std::chrono::seconds age);

  queue::Spool spool_;
  std::uint64_t max_message_size_;
  std::optional<IntakePolicy> intake_;
};

// Delay before attempt number `attempts + 1`: min * 2^(attempts-1), capped at max, with +-25% jitter
// (never below min, never above max).
std::chrono::seconds backoff(std::uint32_t attempts, std::chrono::seconds min, std::chrono::seconds max,
                             std::mt19937& rng);

}  // namespace nullq::spool

// queue.hpp — the spool layout, unique ids, and the durable commit into new/ (DESIGN.md "Queue").
//
// Purpose:   everything both sides of the trust boundary need to know about the spool: nullq-queue
//            writes drops with Drop; the flusher reads new/ and keeps its state in queue/ file names.
// Trust:     file names found in the spool are hostile until parse_queue_name / valid_id accept them.
// Errors:    filesystem failures return Error::from_errno (ENOSPC, EDQUOT: temporary).
// Threading: no shared state; Drop is single-owner.
//
// Commit protocol (exit 0 from sendmail means durably queued): create tmp/<id> O_CREAT|O_EXCL 0640,
// write, fsync, link into new/<id>, fsync new/, unlink tmp/<id>, write one byte to the trigger FIFO
// (no reader is fine). A crash leaves nothing in new/ or one complete file there.
//
// queue/ names carry the retry state so a restart with 100,000 messages needs only readdir:
//   <id>,<attempts>,<next-attempt-unix-seconds>
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nullq/result.hpp"

namespace nullq::queue {

// The system spool's modes are set in etc/tmpfiles.d/nullq.conf (the packages apply it): tmp/ 1730
// and new/ 1770, owner nullq, group nullq-drop. new/ is readable by the group because nullq-queue
// must fsync it after the link, and a directory is fsynced through a descriptor opened for reading;
// the sticky bit keeps one drop-group process from removing or renaming another user's drop.
struct Spool {
  std::string dir;  // e.g. /var/spool/nullq

  std::string tmp() const { return dir + "/tmp"; }
  std::string incoming() const { return dir + "/new"; }
  std::string queue() const { return dir + "/queue"; }
  std::string failed() const { return dir + "/failed"; }
  std::string trigger() const { return dir + "/trigger"; }
  std::string lock() const { return dir + "/lock"; }
};

// Creates whatever is missing of the tree (dir, tmp, new, queue, failed, the trigger FIFO), with
// modes for a private single-user spool: used for unprivileged runs, never in the set-id path.
Status ensure_spool(const Spool& spool);

// time + pid + random bits, unguessable, sorting by time: [0-9A-Za-z] only (no '.' or ',', so queue
// names split cleanly), at most 64 characters. Form: <unix-seconds><6-digit usec>P<pid>R<16 hex>.
std::string make_id();
bool valid_id(std::string_view id);

struct QueueName {
  std::string id;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;  // unix seconds; 0 = due now
};
std::string format_queue_name(const QueueName& name);
std::optional<QueueName> parse_queue_name(std::string_view file_name);

// The group a drop file must have so that the flusher can read it and the submitters cannot: tmp/'s.
// In the packaged spool that is the drop group, which the set-gid nullq-queue gets by its bit and
// root or the nullq user sets with fchown; in a private spool it is its owner's.
Result<gid_t> drop_group(const Spool& spool);

// A submission being written into tmp/. Destroying an uncommitted Drop unlinks its tmp file.
class Drop {
 public:
  // `group`: when given and not the effective gid, the new file is fchown()ed to it before a byte is
  // written (the file is the caller's 0640 either way, under umask 027).
  static Result<Drop> create(const Spool& spool, std::optional<gid_t> group = std::nullopt);
  Drop(Drop&&) noexcept;
  Drop& operator=(Drop&&) noexcept;
  Drop(const Drop&) = delete;
  Drop& operator=(const Drop&) = delete;
  ~Drop();

  Status write(std::string_view bytes);
  std::uint64_t written() const noexcept { return written_; }
  // fsync, link into new/, fsync new/, unlink tmp, poke the trigger. Returns the id.
  Result<std::string> commit();

 private:
  Drop() = default;
  Spool spool_;
  std::string id_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
  bool committed_ = false;
};

// fsync(2) on a directory, so that a link, rename or unlink in it is durable.
Status fsync_dir(const std::string& path);

// Writes one byte to the trigger FIFO without blocking; "no reader" and a full FIFO are fine.
void poke_trigger(const Spool& spool);

// Writes one byte to the trigger FIFO only if a flusher holds it open (nullq-send, daemon or --once):
// true if one does (a full FIFO counts: a wake-up is pending), false if no reader or no FIFO exists.
// Anything else (not a FIFO, no permission) is an error.
Result<bool> poke_flusher(const Spool& spool);

}  // namespace nullq::queue

// send/scheduler.hpp — the in-memory index of queue/ and the order of delivery.
//
// Purpose:   keep every queued message's retry state (spool::Entry: id, attempts, next attempt);
//            hand out due messages oldest first (by id, which starts with the queue time); tell the
//            loop when the next one falls due, so an idle flusher sleeps until then.
// Trust:     entries come from Store::scan/accept_new, which validated the names.
// Errors:    none; misuse (taking a busy entry twice, releasing an unknown one) is a bug and aborts.
// Threading: loop thread only.
//
// A message handed out by take_due() is "busy" until release() (new retry state) or erase().
// reconcile() merges a fresh scan of queue/ without touching busy entries, so `nullq flush`
// (renames to next=0) and `nullq drop` (unlink) are picked up by a rescan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "nullq/spool.hpp"

namespace nullq::send {

class Scheduler {
 public:
  // Adds a new entry or replaces a non-busy one with the same id (busy entries are left alone).
  void upsert(const spool::Entry& e);
  void erase(const std::string& id);
  bool contains(const std::string& id) const { return by_id_.count(id) != 0; }
  bool busy(const std::string& id) const;

  // The oldest (smallest id) non-busy entry with next_attempt <= now, marked busy.
  std::optional<spool::Entry> take_due(std::int64_t now);
  bool has_due(std::int64_t now) const;
  // Ends a busy period with the entry's new state.
  void release(const spool::Entry& updated);
  // Earliest next_attempt among non-busy entries that are not yet due; nullopt if none.
  std::optional<std::int64_t> next_wakeup(std::int64_t now) const;
  // Every non-busy entry becomes due (next_attempt = 0).
  void make_all_due();
  // Merges a full scan of queue/: new ids are added, changed names updated, ids no longer on disk
  // forgotten; busy entries are untouched. Returns how many entries changed.
  std::size_t reconcile(const std::vector<spool::Entry>& scanned);

  std::size_t size() const { return by_id_.size(); }
  std::size_t busy_count() const { return busy_; }
  std::optional<spool::Entry> find(const std::string& id) const;

 private:
  struct Slot {
    spool::Entry entry;
    bool busy = false;
  };
  void index(const std::string& id, const Slot& s);
  void unindex(const std::string& id, const Slot& s);
  void promote(std::int64_t now);

  std::unordered_map<std::string, Slot> by_id_;
  std::set<std::pair<std::int64_t, std::string>> waiting_;  // (next_attempt, id), not yet seen due
  std::set<std::string> ready_;                              // due, not busy, by id (oldest first)
  std::size_t busy_ = 0;
};

}  // namespace nullq::send

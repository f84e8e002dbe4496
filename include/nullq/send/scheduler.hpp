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
//
// Memory: about 200 bytes per message (100,000 queued fit in 20 MB). Each id is stored once, as the
// key of by_id_; the two orderings hold pointers to those keys, which unordered_map keeps stable.
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
  // Merges a full scan of queue/ (sorted by id, as Store::scan returns it): new ids are added,
  // changed names updated, ids no longer on disk forgotten; busy entries are untouched. The ids are
  // moved out of `scanned`. Returns how many entries changed.
  std::size_t reconcile(std::vector<spool::Entry>&& scanned);

  std::size_t size() const { return by_id_.size(); }
  std::size_t busy_count() const { return busy_; }
  std::optional<spool::Entry> find(const std::string& id) const;

 private:
  struct Slot {
    std::int64_t next_attempt = 0;
    std::int64_t queued_at = 0;
    std::uint32_t attempts = 0;
    bool busy = false;
  };
  using Map = std::unordered_map<std::string, Slot>;
  struct ById {
    bool operator()(const std::string* a, const std::string* b) const { return *a < *b; }
  };
  struct ByTimeThenId {
    bool operator()(const std::pair<std::int64_t, const std::string*>& a,
                    const std::pair<std::int64_t, const std::string*>& b) const {
      return a.first != b.first ? a.first < b.first : *a.second < *b.second;
    }
  };
  static spool::Entry entry_of(const Map::value_type& kv);
  void index(const Map::value_type& kv);
  void unindex(const Map::value_type& kv);
  void assign(Map::value_type& kv, const spool::Entry& e);
  void promote(std::int64_t now);

  Map by_id_;
  std::set<std::pair<std::int64_t, const std::string*>, ByTimeThenId> waiting_;  // not yet seen due
  std::set<const std::string*, ById> ready_;  // due, not busy, by id (oldest first)
  std::size_t busy_ = 0;
};

}  // namespace nullq::send

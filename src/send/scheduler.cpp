// The in-memory queue index (see include/nullq/send/scheduler.hpp).
#include "nullq/send/scheduler.hpp"

#include <algorithm>
#include <cstdlib>

namespace nullq::send {

// Non-busy entries live in waiting_ keyed by (next_attempt, id) until they are seen due; take_due()
// then moves the due prefix into ready_, ordered by id, so "oldest first" holds among every due
// entry, not only among those that fell due in the same second.
spool::Entry Scheduler::entry_of(const Map::value_type& kv) {
  return spool::Entry{kv.first, kv.second.attempts, kv.second.next_attempt, kv.second.queued_at};
}

void Scheduler::index(const Map::value_type& kv) {
  if (kv.second.busy) return;
  waiting_.emplace(kv.second.next_attempt, &kv.first);
}

void Scheduler::unindex(const Map::value_type& kv) {
  if (kv.second.busy) return;
  if (ready_.erase(&kv.first) == 0) waiting_.erase({kv.second.next_attempt, &kv.first});
}

void Scheduler::assign(Map::value_type& kv, const spool::Entry& e) {
  kv.second.attempts = e.attempts;
  kv.second.next_attempt = e.next_attempt;
  kv.second.queued_at = e.queued_at;
}

void Scheduler::upsert(const spool::Entry& e) {
  auto it = by_id_.find(e.id);
  if (it == by_id_.end()) {
    it = by_id_.emplace(e.id, Slot{}).first;
    assign(*it, e);
    index(*it);
    return;
  }
  if (it->second.busy) return;
  unindex(*it);
  assign(*it, e);
  index(*it);
}

void Scheduler::erase(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  if (it->second.busy) {
    --busy_;
  } else {
    unindex(*it);
  }
  by_id_.erase(it);
}

bool Scheduler::busy(const std::string& id) const {
  auto it = by_id_.find(id);
  return it != by_id_.end() && it->second.busy;
}

void Scheduler::promote(std::int64_t now) {
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    ready_.insert(waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
  }
}

std::optional<spool::Entry> Scheduler::take_due(std::int64_t now) {
  promote(now);
  if (ready_.empty()) return std::nullopt;
  auto it = by_id_.find(**ready_.begin());
  ready_.erase(ready_.begin());
  if (it == by_id_.end()) std::abort();
  it->second.busy = true;
  ++busy_;
  return entry_of(*it);
}

bool Scheduler::has_due(std::int64_t now) const {
  return !ready_.empty() || (!waiting_.empty() && waiting_.begin()->first <= now);
}

void Scheduler::release(const spool::Entry& updated) {
  auto it = by_id_.find(updated.id);
  if (it == by_id_.end() || !it->second.busy) std::abort();
  it->second.busy = false;
  --busy_;
  assign(*it, updated);
  index(*it);
}

std::optional<std::int64_t> Scheduler::next_wakeup(std::int64_t now) const {
  if (!ready_.empty()) return now;
  if (waiting_.empty()) return std::nullopt;
  return waiting_.begin()->first;
}

void Scheduler::make_all_due() {
  for (auto& kv : by_id_) {
    if (kv.second.busy) continue;
    unindex(kv);
    kv.second.next_attempt = 0;
    index(kv);
  }
}

std::size_t Scheduler::reconcile(std::vector<spool::Entry>&& scanned) {
  auto by_id = [](const spool::Entry& a, const spool::Entry& b) { return a.id < b.id; };
  if (!std::is_sorted(scanned.begin(), scanned.end(), by_id)) std::sort(scanned.begin(), scanned.end(), by_id);
  std::size_t changed = 0;
  // First forget what is gone (while `scanned` still holds its ids), then merge, moving ids in.
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    spool::Entry probe;
    probe.id = it->first;
    if (!it->second.busy && !std::binary_search(scanned.begin(), scanned.end(), probe, by_id)) {
      unindex(*it);
      it = by_id_.erase(it);
      ++changed;
    } else {
      ++it;
    }
  }
  by_id_.reserve(scanned.size());
  for (auto& e : scanned) {
    auto it = by_id_.find(e.id);
    if (it == by_id_.end()) {
      it = by_id_.emplace(std::move(e.id), Slot{}).first;
      assign(*it, e);
      index(*it);
      ++changed;
    } else if (!it->second.busy && (it->second.attempts != e.attempts || it->second.next_attempt != e.next_attempt)) {
      unindex(*it);
      assign(*it, e);
      index(*it);
      ++changed;
    }
  }
  scanned.clear();
  scanned.shrink_to_fit();
  return changed;
}

std::optional<spool::Entry> Scheduler::find(const std::string& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return entry_of(*it);
}

}  // namespace nullq::send

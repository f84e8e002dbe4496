// The in-memory queue index (see include/nullq/send/scheduler.hpp).
#include "nullq/send/scheduler.hpp"

#include <cstdlib>
#include <unordered_set>

namespace nullq::send {

// Non-busy entries live in waiting_ keyed by (next_attempt, id) until they are seen due; take_due()
// then moves the due prefix into ready_, ordered by id, so "oldest first" holds among every due
// entry, not only among those that fell due in the same second.
void Scheduler::index(const std::string& id, const Slot& s) {
  if (s.busy) return;
  waiting_.emplace(s.entry.next_attempt, id);
}

void Scheduler::unindex(const std::string& id, const Slot& s) {
  if (s.busy) return;
  if (ready_.erase(id) == 0) waiting_.erase({s.entry.next_attempt, id});
}

void Scheduler::upsert(const spool::Entry& e) {
  auto it = by_id_.find(e.id);
  if (it == by_id_.end()) {
    Slot s;
    s.entry = e;
    auto [pos, inserted] = by_id_.emplace(e.id, std::move(s));
    (void)inserted;
    index(e.id, pos->second);
    return;
  }
  if (it->second.busy) return;
  unindex(e.id, it->second);
  it->second.entry = e;
  index(e.id, it->second);
}

void Scheduler::erase(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  if (it->second.busy) {
    --busy_;
  } else {
    unindex(id, it->second);
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
  std::string id = *ready_.begin();
  ready_.erase(ready_.begin());
  auto it = by_id_.find(id);
  if (it == by_id_.end()) std::abort();
  it->second.busy = true;
  ++busy_;
  return it->second.entry;
}

bool Scheduler::has_due(std::int64_t now) const {
  return !ready_.empty() || (!waiting_.empty() && waiting_.begin()->first <= now);
}

void Scheduler::release(const spool::Entry& updated) {
  auto it = by_id_.find(updated.id);
  if (it == by_id_.end() || !it->second.busy) std::abort();
  it->second.busy = false;
  --busy_;
  it->second.entry = updated;
  index(updated.id, it->second);
}

std::optional<std::int64_t> Scheduler::next_wakeup(std::int64_t now) const {
  if (!ready_.empty()) return now;
  if (waiting_.empty()) return std::nullopt;
  return waiting_.begin()->first;
}

void Scheduler::make_all_due() {
  for (auto& [id, slot] : by_id_) {
    if (slot.busy) continue;
    unindex(id, slot);
    slot.entry.next_attempt = 0;
    index(id, slot);
  }
}

std::size_t Scheduler::reconcile(const std::vector<spool::Entry>& scanned) {
  std::size_t changed = 0;
  std::unordered_set<std::string> seen;
  seen.reserve(scanned.size());
  for (const auto& e : scanned) {
    seen.insert(e.id);
    auto it = by_id_.find(e.id);
    if (it == by_id_.end()) {
      upsert(e);
      ++changed;
    } else if (!it->second.busy && (it->second.entry.attempts != e.attempts ||
                                    it->second.entry.next_attempt != e.next_attempt)) {
      upsert(e);
      ++changed;
    }
  }
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    if (!it->second.busy && !seen.count(it->first)) {
      unindex(it->first, it->second);
      it = by_id_.erase(it);
      ++changed;
    } else {
      ++it;
    }
  }
  return changed;
}

std::optional<spool::Entry> Scheduler::find(const std::string& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second.entry;
}

}  // namespace nullq::send

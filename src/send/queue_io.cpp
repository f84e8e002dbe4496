// Queue files read and removed on libuv's thread pool (see flusher_impl.hpp, DESIGN.md "Delivery").
//
// A due message's file is read before its delivery starts, and a delivered message's file is
// unlinked after it: both are blocking filesystem calls, and a large message or a slow disk would
// otherwise stall every session on the loop. They run in batches, so that the hand-over to the
// pool costs little next to the calls themselves. A job works on a copy of the Store (paths and
// the size limit) and on its own batch; the loop thread looks at the batch only in the completion.
#include <algorithm>

#include "flusher_impl.hpp"

namespace nullq::send {

namespace {

// Each job wakes a pool thread, which costs about as much as reading a small message: batches
// keep that cost low while many deliveries are running; with few running, a job goes out at once.
constexpr std::size_t batch_size = 64;  // files read, or unlinked, by one job
constexpr unsigned max_load_jobs = 2;  // one being read while the other's deliveries start

}  // namespace

void Flusher::load_due(std::int64_t now) {
  while (load_jobs_ < max_load_jobs) {
    const std::size_t busy = active_.size() + loading_;
    if (busy >= max_active_) return;
    const std::size_t room = max_active_ - busy;
    // With deliveries waiting for a connection there is no hurry: wait for a full batch. With
    // few or none (an idle daemon that was just poked), read what is due now.
    const bool starving = active_.size() < batch_size && load_jobs_ == 0;
    if (room < batch_size && !starving) return;
    auto job = std::make_shared<LoadBatch>();
    const std::size_t want = std::min(room, batch_size);
    while (job->entries.size() < want) {
      auto e = sched_.take_due(now);
      if (!e) break;
      job->entries.push_back(std::move(*e));
    }
    if (job->entries.empty()) return;
    loading_ += job->entries.size();
    ++load_jobs_;
    io_.post(
        [job, store = *store_] {
          job->results.reserve(job->entries.size());
          for (const auto& e : job->entries) job->results.push_back(store.load(e));
        },
        [this, job] { on_loaded(*job); });
  }
}

void Flusher::on_loaded(LoadBatch& batch) {
  --load_jobs_;
  loading_ -= batch.entries.size();
  for (std::size_t i = 0; i < batch.entries.size(); ++i) {
    if (stopping_) {
      sched_.release(batch.entries[i]);  // not started: it stays queued as it was
      continue;
    }
    start_message(batch.entries[i], std::move(batch.results[i]));
  }
  request_tick();
}

void Flusher::post_removals() {
  if (removing_ || removals_.empty()) return;
  if (removals_.size() < batch_size && active_.size() >= batch_size) return;  // more will come soon
  auto job = std::make_shared<RemoveBatch>();
  job->entries.swap(removals_);
  removing_ = true;
  io_.post(
      [job, store = *store_]() mutable {
        job->results.reserve(job->entries.size());
        for (const auto& e : job->entries) job->results.push_back(store.remove(e));
      },
      [this, job] { on_removed(*job); });
}

void Flusher::on_removed(RemoveBatch& batch) {
  removing_ = false;
  for (std::size_t i = 0; i < batch.entries.size(); ++i) {
    if (!batch.results[i].ok()) log_line(Priority::err, "id=" + batch.entries[i].id + " " + batch.results[i].error().message());
    sched_.erase(batch.entries[i].id);
  }
  request_tick();  // which posts what has gathered meanwhile
}

bool Flusher::io_idle() const { return io_.pending() == 0 && removals_.empty(); }

void Flusher::retire(const spool::Entry& e, bool to_failed, const std::string& reason) {
  if (to_failed) {
    Status s = store_->move_to_failed(e, reason);
    if (!s.ok()) log_line(Priority::err, "id=" + e.id + " " + s.error().message());
    sched_.erase(e.id);
    return;
  }
  // Until the unlink is done the id stays in the scheduler, busy, so that a rescan meanwhile
  // cannot take the file up again as a message to deliver.
  removals_.push_back(e);
  request_tick();
}

}  // namespace nullq::send

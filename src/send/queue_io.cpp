// Queue files read, rewritten and removed on libuv's thread pool (see flusher_impl.hpp, DESIGN.md
// "Delivery").
//
// A due message's file is read before its delivery starts, a retried message's file is rewritten
// (new envelope, the message copied file to file) and a delivered message's file is unlinked
// after it, and new/ is read and moved into queue/: all blocking filesystem calls, which with a
// large message or a slow disk would otherwise stall every session on the loop. They run in
// batches, so that the hand-over to the pool costs little next to the calls themselves. A job works
// on a copy of the Store (paths and the size limit) and on its own batch; the loop thread looks at
// the batch only in the completion.
//
// Memory (delivery.memory): a message is read only when the bytes held by the messages being
// delivered, plus the reservations of load jobs out, leave room for it; one always goes when
// nothing is held. A job reserves what is left when it is posted, reads entries while they fit
// and hands back the rest, which the scheduler gives out again, oldest first.
#include <algorithm>
#include <cerrno>

#include "flusher_impl.hpp"

namespace nullq::send {

namespace {

// Each job wakes a pool thread, which costs about as much as reading a small message: batches
// keep that cost low while many deliveries are running; with few running, a job goes out at once.
constexpr std::size_t batch_size = 64;  // files read, or unlinked, by one job
constexpr unsigned max_load_jobs = 2;  // one being read while the other's deliveries start

}  // namespace

void Flusher::load_due(std::int64_t now) {
  // Loaded messages waiting for a connection: more would only wait too. A finishing delivery ticks.
  if (dispatcher_->queued_jobs() >= batch_size) return;
  while (load_jobs_ < max_load_jobs) {
    const std::size_t busy = active_.size() + loading_;
    if (busy >= max_active_) return;
    const std::size_t room = max_active_ - busy;
    // With deliveries waiting for a connection there is no hurry: wait for a full batch. With
    // few or none (an idle daemon that was just poked), read what is due now.
    const bool starving = active_.size() < batch_size && load_jobs_ == 0;
    if (room < batch_size && !starving) return;
    // delivery.memory: what is loaded (or reserved by a job) stays within the budget, except that
    // one message always goes when nothing is held, so a message larger than the budget is sent
    // on its own. A message that did not fit waits until it does (a finishing delivery ticks).
    const std::uint64_t budget = cfg_.memory;
    const bool first_always = held_bytes_ == 0;
    if (!first_always && (held_bytes_ >= budget || held_bytes_ + deferred_need_ > budget)) return;
    std::uint64_t allowance = budget - std::min(held_bytes_, budget);
    // The first of two jobs leaves room for the second, unless a message is waiting for all of it.
    if (load_jobs_ == 0 && deferred_need_ == 0) allowance -= allowance / 2;
    auto job = std::make_shared<LoadBatch>();
    const std::size_t want = std::min(room, batch_size);
    while (job->entries.size() < want) {
      auto e = sched_.take_due(now);
      if (!e) break;
      job->entries.push_back(std::move(*e));
    }
    if (job->entries.empty()) return;
    job->allowance = allowance;
    job->first_always = first_always;
    held_bytes_ += allowance;
    loading_ += job->entries.size();
    ++load_jobs_;
    io_.post(
        [job, store = *store_] {
          job->results.reserve(job->entries.size());
          std::uint64_t used = 0;
          for (const auto& e : job->entries) {
            // A file that cannot be stat()ed is loaded anyway, for load() to say why.
            auto size = store.file_size(e);
            const bool first = job->results.empty() && job->first_always;
            if (size.ok() && !first && used + size.value() > job->allowance) {
              job->need = size.value();
              break;
            }
            if (size.ok()) used += size.value();
            job->results.push_back(store.load(e));
          }
        },
        [this, job] { on_loaded(*job); });
  }
}

void Flusher::on_loaded(LoadBatch& batch) {
  --load_jobs_;
  loading_ -= batch.entries.size();
  held_bytes_ -= batch.allowance;  // start_message() counts what each message holds
  deferred_need_ = batch.need;
  for (std::size_t i = 0; i < batch.entries.size(); ++i) {
    if (stopping_ || i >= batch.results.size()) {
      sched_.release(batch.entries[i]);  // not started: it stays queued as it was
      continue;
    }
    start_message(batch.entries[i], std::move(batch.results[i]));
  }
  request_tick();
}

void Flusher::post_removals() {
  if (removing_ || (removals_.empty() && to_failed_.empty())) return;
  // More will come soon; a move to failed/ does not wait for company.
  if (to_failed_.empty() && removals_.size() < batch_size && active_.size() >= batch_size) return;
  auto job = std::make_shared<RemoveBatch>();
  job->entries.swap(removals_);
  job->to_failed.swap(to_failed_);
  removing_ = true;
  io_.post(
      [job, store = *store_]() mutable {
        job->results.reserve(job->entries.size());
        for (const auto& e : job->entries) job->results.push_back(store.remove(e));
        // One at a time: a move to failed/ reads the whole file.
        for (const auto& [e, reason] : job->to_failed) job->failed_results.push_back(store.move_to_failed(e, reason));
      },
      [this, job] { on_removed(*job); });
}

void Flusher::on_removed(RemoveBatch& batch) {
  removing_ = false;
  for (std::size_t i = 0; i < batch.entries.size(); ++i) {
    if (!batch.results[i].ok()) log_line(Priority::err, "id=" + batch.entries[i].id + " " + batch.results[i].error().message());
    sched_.erase(batch.entries[i].id);
  }
  for (std::size_t i = 0; i < batch.to_failed.size(); ++i) {
    const std::string& id = batch.to_failed[i].first.id;
    if (!batch.failed_results[i].ok()) log_line(Priority::err, "id=" + id + " " + batch.failed_results[i].error().message());
    sched_.erase(id);
  }
  request_tick();  // which posts what has gathered meanwhile
}

void Flusher::post_rewrite(const Active& a, std::uint32_t attempts, std::int64_t next, envelope::Envelope env) {
  auto job = std::make_shared<Rewrite>();
  job->entry = a.entry;
  job->attempts = attempts;
  job->next = next;
  job->envelope = std::move(env);
  job->body_offset = a.body_offset;
  io_.post(
      [job, store = *store_]() mutable {
        job->result = store.rewrite(job->entry, job->attempts, job->next, job->envelope, job->body_offset);
      },
      [this, job] { on_rewritten(*job); });
}

void Flusher::on_rewritten(Rewrite& job) {
  const auto& r = job.result;
  if (r.ok()) {
    sched_.release(r.value());
  } else if (r.error().domain == ErrorDomain::sys && r.error().code == ENOENT) {
    sched_.erase(job.entry.id);  // removed meanwhile (nullq drop)
  } else {
    log_line(Priority::err, "id=" + job.entry.id + " cannot record the retry: " + r.error().message());
    spool::Entry e = job.entry;
    e.next_attempt = job.next;
    sched_.release(e);
  }
  request_tick();
}

void Flusher::post_accept() {
  if (accepting_) return;  // need_accept_ stays set: the completion ticks, and the next job goes then
  need_accept_ = false;
  accepting_ = true;
  auto job = std::make_shared<Intake>();
  io_.post([job, store = *store_]() mutable { job->result = store.accept_new(job->bad); },
           [this, job] {
             accepting_ = false;
             on_accepted(*job);
             request_tick();
           });
}

bool Flusher::io_idle() const { return io_.pending() == 0 && removals_.empty() && to_failed_.empty(); }

void Flusher::retire(const spool::Entry& e, bool to_failed, const std::string& reason) {
  // Until the unlink (or the move to failed/, which rewrites the file) is done on the pool, the id
  // stays in the scheduler, busy, so that a rescan meanwhile cannot take the file up again as a
  // message to deliver.
  if (to_failed) {
    to_failed_.emplace_back(e, reason);
  } else {
    removals_.push_back(e);
  }
  request_tick();
}

}  // namespace nullq::send

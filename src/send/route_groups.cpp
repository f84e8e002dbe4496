// One attempt of a message whose recipients take several routes (DESIGN.md "Routing"): the
// recipients are grouped by route and the groups delivered one after the other, each through the
// usual failover over its route's smart hosts and the usual per-recipient bookkeeping (settle,
// unreached in delivery.cpp). A smart host's recipients_per_message cuts a group further: the rest
// form the next group of the same route.
//
// Crash safety: when a group finished some recipients (delivered or bounced) and others are still
// to go, the queue file is rewritten (on the pool, as a retry's is) with those still pending before
// the next group starts. A kill -9 at any point thus loses no recipient and resends only the
// recipients of the group whose answers were not yet recorded -- the at-least-once window of a
// message with one route. The attempt's end is recorded as before: removal, failed/, or a retry
// with every recipient kept (attempts counted once per attempt, however many groups it had).
#include <algorithm>
#include <cerrno>

#include "flusher_impl.hpp"
#include "nullq/envelope.hpp"
#include "nullq/send/routes.hpp"

namespace nullq::send {

namespace {

// The DSN requests (NOTIFY, ORCPT) of `rcpts`, aligned with them, from the message's envelope.
std::vector<dsn::RecipientParams> dsn_of(const envelope::Envelope& env, const std::vector<std::string>& rcpts) {
  if (env.rcpt_dsn.empty()) return {};
  envelope::Envelope e;
  e.recipients = env.recipients;
  e.rcpt_dsn = env.rcpt_dsn;
  envelope::set_recipients(e, rcpts);
  return std::move(e.rcpt_dsn);
}

}  // namespace

void Flusher::begin_group(std::uint64_t tag) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  if (stopping_ && !a.pending.empty()) {
    // Stopping: what is not yet under way waits for the next run (recorded by finish_attempt).
    for (auto& r : a.pending) a.deferred.push_back(std::move(r));
    a.pending.clear();
    if (a.deferred_error.empty()) a.deferred_error = "not tried: nullq-send was stopping";
  }
  if (a.pending.empty()) {
    finish_attempt(tag);
    return;
  }
  const std::size_t route = match_route(cfg_, a.envelope.sender, a.pending.front());
  std::vector<std::string> group, rest;
  for (auto& r : a.pending)
    (match_route(cfg_, a.envelope.sender, r) == route ? group : rest).push_back(std::move(r));
  a.pending = std::move(rest);
  if (a.msg.use_count() > 1) {
    // A session may still hold the last group's message: this group gets its own.
    auto m = std::make_shared<client::Message>(*a.msg);
    a.msg = std::move(m);
  }
  a.msg->recipients = std::move(group);
  a.msg->rcpt_dsn = dsn_of(a.envelope, a.msg->recipients);
  a.hosts = route_hosts(cfg_, route);
  a.host_index = 0;
  a.route.reset();
  a.target_index = 0;
  a.permanent_routes = 0;
  a.any_temporary = false;
  a.token_retried = false;
  a.uncharged = false;
  a.last_error.clear();
  a.generation = generation_;
  if (route != all_hosts && log_enabled(Priority::debug))
    log_line(Priority::debug, "id=" + a.entry.id + " " + std::to_string(a.msg->recipients.size()) +
                                  " recipient(s) by route " + std::to_string(route + 1) + " (line " +
                                  std::to_string(cfg_.routes[route].line) + "): " + describe_route(cfg_, route));
  next_host(tag);
}

void Flusher::trim_group(Active& a, const config::SmartHost& h) {
  const std::size_t n = h.recipients_per_message;
  if (n == 0 || a.msg->recipients.size() <= n) return;
  auto& rcpts = a.msg->recipients;
  a.pending.insert(a.pending.begin(), std::make_move_iterator(rcpts.begin() + static_cast<long>(n)),
                   std::make_move_iterator(rcpts.end()));
  rcpts.resize(n);
  if (a.msg->rcpt_dsn.size() > n) a.msg->rcpt_dsn.resize(n);
}

void Flusher::group_done(std::uint64_t tag, bool changed) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  if (a.pending.empty()) {
    finish_attempt(tag);
  } else if (changed && !stopping_) {
    checkpoint(tag);
  } else {
    begin_group(tag);
  }
}

void Flusher::finish_attempt(std::uint64_t tag) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  if (a.deferred.empty()) {
    retire(a.entry, !a.to_failed_reason.empty(), a.to_failed_reason);
    if (!a.bounced_any && !a.envelope.original_id.empty()) release_original(a);
    done(tag);
    return;
  }
  std::vector<std::string> keep = std::move(a.deferred);
  a.deferred.clear();
  temporary(tag, std::move(keep), a.deferred_error.empty() ? "temporary failure" : a.deferred_error, a.charged);
}

void Flusher::checkpoint(std::uint64_t tag) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  auto job = std::make_shared<Rewrite>();
  job->entry = a.entry;
  job->attempts = a.entry.attempts;
  job->next = a.entry.next_attempt;  // the scheduler's entry stays busy until the attempt ends
  job->envelope = a.envelope;
  std::vector<std::string> keep = a.deferred;
  keep.insert(keep.end(), a.pending.begin(), a.pending.end());
  envelope::set_recipients(job->envelope, std::move(keep));  // each keeps its NOTIFY/ORCPT
  job->body_offset = a.body_offset;
  const std::uint64_t offset = envelope::encode(job->envelope).size();
  io_.post(
      [job, store = *store_]() mutable {
        job->result = store.rewrite(job->entry, job->attempts, job->next, job->envelope, job->body_offset);
      },
      [this, job, tag, offset] {
        auto it = active_.find(tag);
        if (it == active_.end()) {  // abandoned while stopping: the file holds at least what is pending
          request_tick();
          return;
        }
        Active& a = it->second;
        const auto& r = job->result;
        if (r.ok()) {
          a.entry = r.value();
          a.body_offset = offset;
        } else if (r.error().domain == ErrorDomain::sys && r.error().code == ENOENT) {
          sched_.erase(a.entry.id);  // removed meanwhile (nullq drop)
          done(tag);
          return;
        } else {
          // Going on loses nothing: the attempt's end records the outcome again.
          log_line(Priority::err, "id=" + a.entry.id + " cannot record the finished recipients yet: " +
                                      r.error().message());
        }
        begin_group(tag);
      });
}

}  // namespace nullq::send

// What happens to one message: smart hosts in order, every address of each, the circuit breaker,
// per-recipient results, retries with backoff, bounces and expiry (see flusher.hpp, DESIGN.md).
//
// Failover rule (qmail-qmqpc, PROTOCOLS.md §5): a message moves to the next address or smart host
// only while no server has said anything about it. A failure that is about the host -- the
// connection refused, or an SMTP session that failed before MAIL (no banner, TLS or certificate,
// AUTH) -- moves on, and the address cools down in the breaker. Once a server answered about the
// mail (even by dropping the connection mid-transaction), its answer is final for this attempt:
// the same recipients are not sent elsewhere.
#include <cerrno>

#include "flusher_impl.hpp"
#include "nullq/printable.hpp"

namespace nullq::send {

namespace {

Priority priority_for(char result) {
  switch (result) {
    case 'K': return Priority::info;
    case 'D': return Priority::warning;
    default: return Priority::notice;
  }
}

}  // namespace

void Flusher::log_attempt(const Active& a, const std::string& addr, char result,
                          const std::vector<std::size_t>* which, const std::string& text, std::int64_t ms) {
  Priority p = priority_for(result);
  if (!log_enabled(p)) return;
  const std::vector<std::string>& all = a.msg->recipients;
  const std::size_t rcpts = which ? which->size() : all.size();
  Attempt at;
  at.id = a.entry.id;
  at.from = a.msg->sender;
  for (std::size_t i = 0; i < rcpts && at.to.size() < max_log_rcpts; ++i) {
    const std::size_t k = which ? (*which)[i] : i;
    if (k < all.size()) at.to.push_back(all[k]);
  }
  at.host = a.host_text;
  at.addr = addr;
  at.proto = a.proto;
  at.rcpts = rcpts;
  at.result = result;
  at.text = text;
  at.ms = ms;
  send::log_attempt(p, at);
}

void Flusher::start_message(const spool::Entry& e, Result<spool::Loaded> loaded) {
  if (!loaded.ok()) {
    const Error& err = loaded.error();
    if (err.domain == ErrorDomain::sys && err.code == ENOENT) {
      sched_.erase(e.id);  // removed behind our back (nullq drop)
      return;
    }
    if (err.is_permanent()) {
      log_line(Priority::err, "id=" + e.id + " unreadable queue file moved to failed/: " + err.message());
      auto s = store_->move_to_failed(e, err.message());
      if (!s.ok()) log_line(Priority::err, "id=" + e.id + " " + s.error().message());
      sched_.erase(e.id);
      return;
    }
    log_line(Priority::err, "id=" + e.id + " cannot read the queue file: " + err.message());
    std::int64_t next = unix_now() + cfg_.retry_min.count();
    auto r = store_->reschedule(e, e.attempts, next, nullptr);
    spool::Entry upd = e;
    upd.next_attempt = next;
    sched_.release(r.ok() ? r.value() : upd);
    return;
  }
  Active a;
  a.tag = next_tag_++;
  a.entry = e;
  a.envelope = std::move(loaded.value().envelope);
  a.msg = std::make_shared<client::Message>();
  a.msg->tag = a.tag;
  a.body_offset = loaded.value().body_offset;
  a.held = a.body_offset + loaded.value().message.size();
  held_bytes_ += a.held;  // delivery.memory, until done()
  a.msg->body = std::move(loaded.value().message);
  a.msg->sender = a.envelope.sender;
  a.pending = a.envelope.recipients;  // grouped by route in begin_group (route_groups.cpp)
  a.msg->mail_dsn = a.envelope.mail_dsn;  // rcpt_dsn: per group, in begin_group
  a.generation = generation_;
  const std::uint64_t tag = a.tag;
  active_.emplace(tag, std::move(a));
  begin_group(tag);
}

void Flusher::next_host(std::uint64_t tag) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  if (a.generation != generation_) {
    // The configuration was reloaded while this message was being routed: start over with the
    // new routes and smart hosts (nothing has been sent anywhere yet for this group).
    a.pending.insert(a.pending.begin(), a.msg->recipients.begin(), a.msg->recipients.end());
    begin_group(tag);
    return;
  }
  if (a.host_index >= a.hosts.size()) {
    unreached(tag);
    return;
  }
  const config::SmartHost& h = router_->hosts()[a.hosts[a.host_index]];
  a.host_text = h.text;
  // Until a route names a server: an mx:// host's exchangers take QMTP or SMTP each.
  a.proto = h.is_smtp() ? "smtp" : config::to_string(h.protocol);
  if (hold_.held(h.text, unix_now())) {
    // Held after failures of its own (AUTH, a token that cannot be had, every address refused):
    // not tried again for every message that comes along.
    a.any_temporary = true;
    a.last_error = h.text + ": held after failures until the next try: " + hold_.why(h.text);
    if (log_enabled(Priority::debug)) log_line(Priority::debug, "id=" + a.entry.id + " skipping " + a.last_error);
    ++a.host_index;
    next_host(tag);
    return;
  }
  if (throttle_.held(h.text, unix_ms())) {
    // Out of its quota or daily count, or paused for long after throttling answers.
    a.any_temporary = true;
    a.last_error = h.text + ": " + throttle_.why(h.text, unix_ms());
    ++a.host_index;
    next_host(tag);
    return;
  }
  router_->route(a.hosts[a.host_index], now_ms(),
                 [this, tag](std::shared_ptr<const Route> r) { on_route(tag, std::move(r)); });
}

void Flusher::on_route(std::uint64_t tag, std::shared_ptr<const Route> route) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  if (a.generation != generation_) {
    next_host(tag);
    return;
  }
  if (route->error) {
    const bool perm = route->error->is_permanent();
    if (perm) {
      ++a.permanent_routes;
    } else {
      a.any_temporary = true;
    }
    const std::string why = route->error->message();
    a.last_error = why.find(a.host_text) == std::string::npos ? a.host_text + ": " + why : why;
    log_attempt(a, "-", perm ? 'D' : 'Z', nullptr, why, 0);
    monitor_->metrics().route_failed(a.host_text, perm);
    if (!perm) host_failed(a.host_text, why);
    ++a.host_index;
    next_host(tag);
    return;
  }
  a.route = std::move(route);
  a.target_index = 0;
  try_target(tag);
}

void Flusher::try_target(std::uint64_t tag) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  if (a.generation != generation_) {
    next_host(tag);
    return;
  }
  const config::SmartHost& h = router_->hosts()[a.hosts[a.host_index]];
  while (a.target_index < a.route->targets.size()) {
    const Target& t = a.route->targets[a.target_index];
    if (!breaker_->allowed(t.endpoint.text, now_ms())) {
      a.any_temporary = true;
      a.last_error = a.host_text + " (" + t.endpoint.text + ") refused a connection recently; cooling down";
      if (log_enabled(Priority::debug)) log_line(Priority::debug, "id=" + a.entry.id + " skipping " + a.last_error);
      ++a.target_index;
      continue;
    }
    a.attempt_started_ms = now_ms();
    a.proto = to_string(t.wire);  // mx:// mixes QMTP and SMTP targets
    trim_group(a, h);             // recipients_per_message
    dispatcher_->submit(t, Limits{h.connections, h.pipeline, h.text}, a.msg,
                        [this, tag](client::Outcome o) { on_outcome(tag, std::move(o)); });
    return;
  }
  // Every address refused, failed before MAIL or is cooling down: the host's problem.
  host_failed(a.host_text, a.last_error);
  ++a.host_index;
  next_host(tag);
}

void Flusher::on_outcome(std::uint64_t tag, client::Outcome o) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  const Target t = a.route->targets[a.target_index];
  const std::int64_t ms = now_ms() - a.attempt_started_ms;
  monitor_->metrics().attempt(a.host_text, o);
  if (o.auth_token_rejected && !a.token_retried) {
    // The server refused an OAuth token the account had kept (expired or revoked early): the
    // token source was told, so a new connection at once gets a new token. Once per message and
    // attempt; no breaker mark, the address is fine.
    a.token_retried = true;
    std::string why = o.replies.empty() || o.replies[0].text.empty() ? "token refused" : o.replies[0].text;
    log_attempt(a, t.endpoint.text, 'Z', nullptr, why + " (once more with a new token)", ms);
    const config::SmartHost& h = router_->hosts()[a.hosts[a.host_index]];
    a.attempt_started_ms = now_ms();
    dispatcher_->submit(t, Limits{h.connections, h.pipeline, h.text}, a.msg,
                        [this, tag](client::Outcome next) { on_outcome(tag, std::move(next)); });
    return;
  }
  if (paced_outcome(tag, o)) return;  // throttling or quota answers: the host's, not the message's
  if (o.connect_failed || o.setup_failed) {
    std::string why = o.replies.empty() || o.replies[0].text.empty() ? "connection failed" : o.replies[0].text;
    // No token to offer says nothing about the address: the host's hold paces the retries.
    if (!o.token_unavailable && breaker_->allowed(t.endpoint.text, now_ms()))
      breaker_->record_refused(t.endpoint.text, now_ms());
    a.any_temporary = true;
    // Named by its smart host, so that `nullq status` can attribute it (as for every failure).
    a.last_error = a.host_text + " (" + t.endpoint.text + "): " + why;
    log_attempt(a, t.endpoint.text, 'Z', nullptr, why, ms);
    ++a.target_index;
    try_target(tag);
    return;
  }
  breaker_->record_connected(t.endpoint.text);
  host_worked(a.host_text);
  if (!o.warning.empty()) {
    log_line(Priority::warning, "id=" + a.entry.id + " addr=" + t.endpoint.text + " warning: " + printable(o.warning));
  }
  if (!o.notice.empty()) {
    // One line per message and attempt: the queue file keeps what the caller wrote.
    log_line(Priority::notice, "id=" + a.entry.id + " addr=" + t.endpoint.text + " " + printable(o.notice));
  }
  too_many_is_temporary(o.replies);
  for (const auto& g : group_replies(o.replies)) {
    log_attempt(a, t.endpoint.text, static_cast<char>(g.verdict), &g.recipients, g.text, ms);
  }
  Split sp = split_replies(a.msg->recipients, o.replies);
  // Too many recipients for one transaction: the rest are the next group of the same route.
  a.pending.insert(a.pending.begin(), std::make_move_iterator(sp.next_transaction.begin()),
                   std::make_move_iterator(sp.next_transaction.end()));
  settle(tag, std::move(sp), bounce::remote_mta(t.via), bounce::diagnostic_type(to_string(t.wire)),
         a.host_text + " (" + t.endpoint.text + ")");
}

bool Flusher::report(const Active& a, std::vector<bounce::Failure> failures, bool delay_warning, bool& suppressed,
                     const std::string& keep_id, std::string* queued_id) {
  suppressed = false;
  if (!cfg_.bounce_enabled) {
    suppressed = true;
    return true;
  }
  bounce::Report rep;
  rep.id = a.entry.id;
  rep.original = &a.envelope;
  rep.original_message = a.msg->body;
  const std::size_t n = failures.size();
  rep.failures = std::move(failures);
  rep.delay_warning = delay_warning;
  rep.hostname = cfg_.hostname;
  rep.double_bounce_to = cfg_.bounce_admin.empty() ? cfg_.admin : cfg_.bounce_admin;
  rep.now = unix_now();
  auto composed = bounce::compose(rep);
  if (!composed) {
    suppressed = true;
    log_line(Priority::notice, "id=" + a.entry.id + " failure of a bounce is not reported again (kept in failed/ "
                               "when nothing else is left)");
    return true;
  }
  if (!delay_warning) composed->original_id = keep_id;
  auto id = bounce::enqueue(spool_, *composed, rep.now);
  if (!id.ok()) {
    log_line(Priority::err, "id=" + a.entry.id + " cannot queue the " +
                                (delay_warning ? "delay warning" : "bounce") + ": " + id.error().message());
    return false;
  }
  std::string to = composed->recipients.empty() ? "-" : composed->recipients.front();
  log_line(Priority::info, "id=" + a.entry.id + " " + (delay_warning ? "delay warning" : "bounce") + " for " +
                               std::to_string(n) + " recipient(s) queued as id=" + id.value() + " to <" + to + ">");
  if (queued_id) *queued_id = id.value();
  need_accept_ = true;
  request_tick();
  return true;
}

bool Flusher::fail_permanently(const Active& a, std::vector<bounce::Failure> failures, bool whole,
                               const std::string& reason, bool& suppressed) {
  // NOTIFY (RFC 3461): a recipient whose request leaves FAILURE out is not reported, and nothing is
  // kept in failed/ for a report that will never be sent.
  if (const std::size_t unwanted = bounce::drop_unwanted(a.envelope, failures, false); unwanted > 0) {
    log_line(Priority::info, "id=" + a.entry.id + " " + std::to_string(unwanted) +
                                 " recipient(s) failed permanently, not reported to the sender (NOTIFY without "
                                 "FAILURE): " + printable(reason));
    suppressed = false;
    if (failures.empty()) return true;
  }
  std::vector<std::string> rcpts;
  for (const auto& f : failures) rcpts.push_back(f.recipient);
  const std::string keep_id = whole ? a.entry.id : queue::make_id();
  std::string bounce_id;
  if (!report(a, std::move(failures), false, suppressed, keep_id, &bounce_id)) return false;
  if (suppressed) return true;
  // The report quotes only the headers: until it is delivered, the message itself stays (for the
  // failed recipients only, so that `nullq retry` sends nothing twice).
  envelope::Envelope env = a.envelope;
  envelope::set_recipients(env, std::move(rcpts));
  env.last_error = printable("failed permanently: " + reason + "; kept until its bounce id=" + bounce_id +
                                 " is delivered",
                             envelope::max_error_text);
  env.bounce_id = bounce_id;
  if (Status s = store_->keep_failed(keep_id, env, a.msg->body); !s.ok()) {
    log_line(Priority::err, "id=" + a.entry.id + " cannot keep the message in failed/ until its bounce id=" +
                                bounce_id + " is delivered; it stays queued: " + s.error().message());
    return false;
  }
  log_line(Priority::info, "id=" + a.entry.id + " kept in failed/" + (whole ? "" : " as id=" + keep_id) +
                               " until its bounce id=" + bounce_id + " is delivered");
  return true;
}

void Flusher::release_original(const Active& a) {
  auto r = store_->release_failed(a.envelope.original_id, a.entry.id);
  if (!r.ok()) {
    log_line(Priority::err, "id=" + a.entry.id + " cannot remove its original id=" + a.envelope.original_id +
                                " from failed/: " + r.error().message());
  } else if (r.value()) {
    log_line(Priority::info, "id=" + a.entry.id + " bounce delivered: original id=" + a.envelope.original_id +
                                 " removed from failed/");
  }
}

void Flusher::settle(std::uint64_t tag, Split sp, const std::string& remote, const std::string& diag_type,
                     const std::string& where) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  std::vector<std::string> remaining = std::move(sp.remaining);
  std::string last = sp.last_temporary_text.empty() ? "" : where + ": " + sp.last_temporary_text;
  // Other route groups of this attempt still to go, or kept: the message is not finished with.
  const bool others = !a.pending.empty() || !a.deferred.empty();
  bool bounced = false;
  bool to_failed = false;
  std::string failed_reason;
  monitor_->metrics().delivered(a.host_text, a.proto, sp.delivered.size(), unix_now());
  if (a.msg->sender.empty()) {
    if (!sp.delivered.empty()) ++summary_.bounces_sent;
  } else {
    summary_.delivered += sp.delivered.size();
  }
  if (!sp.bounced.empty()) {
    std::vector<bounce::Failure> failures;
    for (const auto& [rcpt, text] : sp.bounced) failures.push_back(bounce::Failure{rcpt, true, text, remote, diag_type});
    bool suppressed = false;
    const std::string reason = sp.bounced.front().first + ": " + sp.bounced.front().second;
    if (fail_permanently(a, std::move(failures), remaining.empty() && !others, reason, suppressed)) {
      bounced = true;
      summary_.bounced += sp.bounced.size();
      monitor_->metrics().bounced(a.host_text, a.proto, sp.bounced.size());
      if (suppressed) {
        failed_reason = sp.bounced.front().first + ": " + sp.bounced.front().second;
        if (remaining.empty() && !others) {
          to_failed = true;
        } else {
          log_line(Priority::warning, "id=" + a.entry.id + " " + std::to_string(sp.bounced.size()) +
                                          " recipient(s) failed permanently and cannot be reported: " +
                                          failed_reason);
        }
      }
    } else {
      // The report could not be queued, or the message not kept (disk full?): keep these
      // recipients and try again later.
      for (const auto& [rcpt, text] : sp.bounced) remaining.push_back(rcpt);
      last = "failed permanently, but the bounce could not be queued yet: " + sp.bounced.front().second;
    }
  }
  if (!a.uncharged) a.charged = true;  // not when the host's pace or quota kept the rest (pacing.cpp)
  if (bounced) a.bounced_any = true;
  if (to_failed) a.to_failed_reason = failed_reason;
  if (!remaining.empty()) {
    a.deferred_error = last.empty() ? "temporary failure" : last;
    a.deferred.insert(a.deferred.end(), remaining.begin(), remaining.end());
  }
  group_done(tag, !sp.delivered.empty() || bounced);
}

void Flusher::unreached(std::uint64_t tag) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  if (!a.any_temporary && a.permanent_routes > 0) {
    // Every smart host said "never" (NXDOMAIN): bounce now rather than retry for a week.
    std::vector<bounce::Failure> failures;
    for (const auto& r : a.msg->recipients) failures.push_back(bounce::Failure{r, true, a.last_error, "", ""});
    bool suppressed = false;
    const bool whole = a.pending.empty() && a.deferred.empty();
    if (fail_permanently(a, std::move(failures), whole, a.last_error, suppressed)) {
      if (suppressed && whole) a.to_failed_reason = a.last_error;
      a.bounced_any = true;
      summary_.bounced += a.msg->recipients.size();
      monitor_->metrics().bounced(a.host_text, a.proto, a.msg->recipients.size());
      group_done(tag, true);
      return;
    }
  }
  // No server said anything about these recipients: every smart host of their route failed for
  // reasons of its own (not charged, unless another group of the attempt was answered).
  a.deferred_error = a.last_error.empty() ? "no smart host could be reached" : a.last_error;
  a.deferred.insert(a.deferred.end(), a.msg->recipients.begin(), a.msg->recipients.end());
  group_done(tag, false);
}

void Flusher::temporary(std::uint64_t tag, std::vector<std::string> remaining, const std::string& last_error,
                        bool charged) {
  auto it = active_.find(tag);
  if (it == active_.end()) return;
  Active& a = it->second;
  const std::int64_t now = unix_now();
  const std::uint32_t attempts = charged ? a.entry.attempts + 1 : a.entry.attempts;
  const std::int64_t queued_at = a.envelope.queued_at > 0 ? a.envelope.queued_at : a.entry.queued_at;
  const std::int64_t age = now - queued_at;

  if (age >= cfg_.lifetime.count()) {
    const std::uint32_t tries = a.entry.attempts + 1;  // this one too, charged or not
    std::string diag = "gave up after " + std::to_string(tries) + " attempt" + (tries == 1 ? "" : "s") +
                       " over " + human_duration(age) + ": " + last_error;
    std::vector<bounce::Failure> failures;
    for (const auto& r : remaining) failures.push_back(bounce::Failure{r, false, diag, "", ""});
    bool suppressed = false;
    const std::size_t expired = remaining.size();
    if (fail_permanently(a, std::move(failures), true, diag, suppressed)) {
      retire(a.entry, suppressed, diag);
      log_line(Priority::warning, "id=" + a.entry.id + " expired: " + printable(diag));
      summary_.bounced += expired;
      monitor_->metrics().bounced(a.host_text, a.proto, expired);
      done(tag);
      return;
    }
    // The report could not be queued: keep the message and try again later.
  }

  summary_.deferred += remaining.size();
  monitor_->metrics().deferred(a.host_text, a.proto, remaining.size());
  ++summary_.deferred_messages;
  spool::Loaded upd;
  upd.envelope = a.envelope;
  envelope::set_recipients(upd.envelope, std::move(remaining));
  upd.envelope.last_error = printable(last_error, envelope::max_error_text);
  if (cfg_.delay_warning.count() > 0 && !upd.envelope.warned && age >= cfg_.delay_warning.count()) {
    std::vector<bounce::Failure> failures;
    for (const auto& r : upd.envelope.recipients) failures.push_back(bounce::Failure{r, false, last_error, "", ""});
    bounce::drop_unwanted(a.envelope, failures, true);  // NOTIFY without DELAY: no warning
    bool suppressed = false;
    if (!failures.empty() && report(a, std::move(failures), true, suppressed)) upd.envelope.warned = true;
  }
  std::int64_t next = now + spool::backoff(attempts, cfg_.retry_min, cfg_.retry_max, rng_).count();
  if (!charged) {
    // Back when the first of its smart hosts comes out of its hold (no host held: retry_min).
    std::int64_t first = 0;
    for (const auto& h : router_->hosts()) {
      const std::int64_t until = std::max(hold_.until(h.text), (throttle_.until_ms(h.text, now * 1000) + 999) / 1000);
      if (until > now && (first == 0 || until < first)) first = until;
    }
    next = first > 0 ? first : now + cfg_.retry_min.count();
  }
  // On the pool, the message copied from the old file: see on_rewritten for the scheduler's part.
  post_rewrite(a, attempts, next, std::move(upd.envelope));
  done(tag);
}

void Flusher::done(std::uint64_t tag) {
  auto it = active_.find(tag);
  if (it != active_.end()) {
    held_bytes_ -= it->second.held;
    active_.erase(it);
  }
  request_tick();
}

}  // namespace nullq::send

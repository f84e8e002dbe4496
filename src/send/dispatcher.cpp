// Connection pools per server address (see include/nullq/send/dispatcher.hpp).
#include "nullq/send/dispatcher.hpp"

#include <algorithm>
#include <deque>

#include "nullq/send/breaker.hpp"
#include "nullq/send/throttle.hpp"

namespace nullq::send {

// A reusable connection in a pool: QMTP (pipelined) or SMTP (one message at a time).
template <class Conn>
struct Dispatcher::Session {
  std::unique_ptr<Conn> conn;
  bool closed = false;     // on_closed ran: safe to destroy in pump()
  bool finishing = false;  // finish() called: takes no more messages
  unsigned taken = 0;      // messages handed to it (messages_per_connection)
};

namespace {

// Whether a live connection refuses another message for now. A QMTP connection takes packages up to
// its pipeline bound (submit() refuses past it) or, for a paced host, up to the host's bound
// (Throttle::in_flight); an SMTP connection carries one message at a time.
bool busy(const client::QmtpConnection& c, unsigned depth) { return c.in_flight() >= depth; }
bool busy(const client::SmtpConnection& c, unsigned = 0) { return c.busy(); }

}  // namespace

struct Dispatcher::QmqpRun {
  std::unique_ptr<client::QmqpDelivery> delivery;
  bool done = false;
};

struct Dispatcher::Pool {
  Target target;
  Limits limits;
  std::deque<Job> waiting;
  std::vector<std::unique_ptr<Session<client::QmtpConnection>>> qmtp;
  std::vector<std::unique_ptr<Session<client::SmtpConnection>>> smtp;
  std::vector<std::unique_ptr<QmqpRun>> runs;

  bool empty() const { return waiting.empty() && qmtp.empty() && smtp.empty() && runs.empty(); }
};

Dispatcher::Dispatcher(uv_loop_s* loop, Breaker& breaker, std::function<void()> request_pump)
    : loop_(loop), breaker_(breaker), request_pump_(std::move(request_pump)) {}

Dispatcher::~Dispatcher() { abandon_all(); }

void Dispatcher::submit(const Target& target, Limits limits, std::shared_ptr<const client::Message> msg,
                        client::DoneCallback on_done) {
  incoming_.push_back(Incoming{target, limits, Job{std::move(msg), std::move(on_done)}});
  request_pump_();
}

std::size_t Dispatcher::queued_jobs() const {
  std::size_t n = 0;
  for (const auto& [key, p] : pools_) n += p->waiting.size();
  return n;
}

Dispatcher::Pool& Dispatcher::pool_for(const Target& t, Limits limits) {
  // SMTP sessions carry a login and TLS settings: share them only within one smart host.
  std::string key = std::string(to_string(t.wire)) + " " + t.endpoint.text;
  if (t.wire == Wire::smtp) key += " " + t.profile + " " + t.via;
  auto it = pools_.find(key);
  if (it == pools_.end()) {
    auto p = std::make_unique<Pool>();
    p->target = t;
    p->limits = limits;
    it = pools_.emplace(key, std::move(p)).first;
  } else {
    it->second->limits = limits;  // the latest configuration wins
  }
  return *it->second;
}

bool Dispatcher::host_ready(Pool& p) {
  if (!throttle_ || p.limits.host.empty()) return true;
  const std::int64_t at = throttle_->ready_at(p.limits.host, unix_ms_());
  if (at == 0) return true;
  if (paced_until_ == 0 || at < paced_until_) paced_until_ = at;
  return false;
}

unsigned Dispatcher::host_connections(const Pool& p) const {
  if (!throttle_ || p.limits.host.empty()) return Throttle::unbounded;
  return throttle_->concurrency(p.limits.host);
}

std::size_t Dispatcher::host_sessions(const std::string& host) const {
  std::size_t n = 0;
  for (const auto& [key, q] : pools_) {
    if (q->limits.host != host) continue;
    for (const auto& c : q->smtp) n += !c->closed;
    for (const auto& c : q->qmtp) n += !c->closed;
    n += q->runs.size();
  }
  return n;
}

void Dispatcher::pump(std::int64_t now_ms) {
  paced_until_ = 0;
  std::vector<Incoming> in;
  in.swap(incoming_);
  for (auto& i : in) pool_for(i.target, i.limits).waiting.push_back(std::move(i.job));
  for (auto it = pools_.begin(); it != pools_.end();) {
    pump_pool(*it->second, now_ms);
    if (it->second->empty()) {
      it = pools_.erase(it);
    } else {
      ++it;
    }
  }
}

template <class Conn, class Open>
void Dispatcher::pump_sessions(Pool& p, std::vector<std::unique_ptr<Session<Conn>>>& sessions, Open open) {
  auto live = [](const Session<Conn>& c) { return !c.finishing && !c.closed && c.conn->usable(); };
  const unsigned per_connection = throttle_ && !p.limits.host.empty() ? throttle_->messages_per_connection(p.limits.host) : 0;
  const unsigned depth = throttle_ && !p.limits.host.empty() ? throttle_->in_flight(p.limits.host) : Throttle::unbounded;
  // A message went to `c`: counted for the host's pace, and the connection ends after its last one.
  auto handed = [&](Session<Conn>& c, const Job& j) {
    if (throttle_ && !p.limits.host.empty()) throttle_->sent(p.limits.host, j.msg->recipients.size(), unix_ms_());
    if (per_connection && ++c.taken >= per_connection && !c.finishing) {
      c.finishing = true;
      c.conn->finish();  // SMTP: QUIT after this message; QMTP: half-close after this package
    }
  };
  bool paced = false;
  while (!p.waiting.empty()) {
    if (!host_ready(p)) {
      paced = true;
      break;
    }
    Job& j = p.waiting.front();
    bool taken = false;
    for (auto& c : sessions) {
      // A copy of the callback: submit() takes it by value even when it refuses the job.
      if (live(*c) && !busy(*c->conn, depth) && c->conn->submit(j.msg, j.on_done)) {
        taken = true;
        handed(*c, j);
        break;
      }
    }
    if (taken) {
      p.waiting.pop_front();
      continue;
    }
    // With messages_per_connection, a connection saying QUIT still counts: the server counts it.
    auto live_count = static_cast<std::size_t>(std::count_if(sessions.begin(), sessions.end(), [&](const auto& c) {
      return per_connection ? !c->closed : live(*c);
    }));
    if (live_count >= p.limits.connections || open_ >= global_) break;
    // Slowed by throttling answers: the bound is the host's, over all its addresses.
    if (host_connections(p) != Throttle::unbounded && host_sessions(p.limits.host) >= host_connections(p)) break;
    auto c = std::make_unique<Session<Conn>>();
    Session<Conn>* raw = c.get();
    c->conn = open([this] { request_pump_(); },
                   [this, raw] {
                     raw->closed = true;
                     request_pump_();
                   });
    sessions.push_back(std::move(c));
    ++open_;
    ++opened_;
    if (!raw->conn->submit(j.msg, j.on_done)) break;  // a new connection takes one
    handed(*raw, j);
    p.waiting.pop_front();
  }
  // Held back for more than a moment by the host's pace: idle connections say goodbye meanwhile
  // (a paused host is not kept busy with open sessions).
  const bool long_wait = paced && paced_until_ - unix_ms_() > 2000;
  if (p.waiting.empty() || long_wait) {
    // Nothing more for this server now. QMTP half-closes, so that servers which answer only when
    // they next read (qmail-qmtpd) flush their answers; an idle SMTP connection says QUIT (RFC 5321
    // §4.1.1.10). A later message opens a new connection.
    for (auto& c : sessions) {
      if (!c->finishing && !c->closed && !busy(*c->conn, Throttle::unbounded)) {
        c->finishing = true;
        c->conn->finish();
      }
    }
  }
}

void Dispatcher::pump_pool(Pool& p, std::int64_t now_ms) {
  // Reap sessions that are over. Their callbacks have all run.
  open_ -= std::erase_if(p.qmtp, [](const auto& c) { return c->closed; });
  open_ -= std::erase_if(p.smtp, [](const auto& c) { return c->closed; });
  open_ -= std::erase_if(p.runs, [](const auto& r) { return r->done; });

  // The address refused a connection recently: fail queued jobs over to their next address.
  if (!p.waiting.empty() && !breaker_.allowed(p.target.endpoint.text, now_ms)) {
    std::deque<Job> jobs;
    jobs.swap(p.waiting);
    for (auto& j : jobs) {
      client::Outcome o;
      o.tag = j.msg->tag;
      o.connect_failed = true;
      o.server = p.target.endpoint.text;
      o.replies.assign(j.msg->recipients.size(),
                       proto::Reply{proto::Verdict::temporary, "connection refused recently; cooling down"});
      j.on_done(std::move(o));
    }
    return;
  }

  // The host is held (quota, daily count, a long pause): its jobs go back to the delivery code,
  // which sends them to the next smart host or back to the queue, uncharged.
  if (!p.waiting.empty() && throttle_ && !p.limits.host.empty() && throttle_->held(p.limits.host, unix_ms_())) {
    std::deque<Job> jobs;
    jobs.swap(p.waiting);
    const std::string why = throttle_->why(p.limits.host, unix_ms_());
    for (auto& j : jobs) {
      client::Outcome o;
      o.tag = j.msg->tag;
      o.server = p.target.endpoint.text;
      o.host_held = true;
      o.replies.assign(j.msg->recipients.size(), proto::Reply{proto::Verdict::temporary, "host held: " + why});
      j.on_done(std::move(o));
    }
    return;
  }

  if (p.target.wire == Wire::smtp) {
    pump_sessions(p, p.smtp, [&](std::function<void()> idle, std::function<void()> closed) {
      return std::make_unique<client::SmtpConnection>(loop_, p.target.endpoint, timeouts_,
                                                      p.target.smtp ? *p.target.smtp : client::SmtpOptions{},
                                                      std::move(idle), std::move(closed));
    });
    return;
  }
  if (p.target.wire == Wire::qmtp) {
    pump_sessions(p, p.qmtp, [&](std::function<void()> idle, std::function<void()> closed) {
      return std::make_unique<client::QmtpConnection>(loop_, p.target.endpoint, timeouts_,
                                                      p.limits.pipeline ? p.limits.pipeline : 1,
                                                      std::move(idle), std::move(closed));
    });
    return;
  }

  while (!p.waiting.empty() && p.runs.size() < std::min(p.limits.connections, host_connections(p)) &&
         open_ < global_ && host_ready(p)) {
    Job j = std::move(p.waiting.front());
    if (throttle_ && !p.limits.host.empty()) throttle_->sent(p.limits.host, j.msg->recipients.size(), unix_ms_());
    p.waiting.pop_front();
    auto r = std::make_unique<QmqpRun>();
    QmqpRun* raw = r.get();
    p.runs.push_back(std::move(r));
    ++open_;
    ++opened_;
    auto done = std::move(j.on_done);
    raw->delivery = std::make_unique<client::QmqpDelivery>(
        loop_, p.target.endpoint, timeouts_, j.msg, [this, raw, done](client::Outcome o) {
          raw->done = true;
          done(std::move(o));
          request_pump_();
        });
  }
}

void Dispatcher::abandon_all() {
  incoming_.clear();
  pools_.clear();
  open_ = 0;
}

}  // namespace nullq::send

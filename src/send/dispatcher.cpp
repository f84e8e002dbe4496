// Connection pools per server address (see include/nullq/send/dispatcher.hpp).
#include "nullq/send/dispatcher.hpp"

#include <deque>

#include "nullq/send/breaker.hpp"

namespace nullq::send {

struct Dispatcher::QmtpConn {
  std::unique_ptr<client::QmtpConnection> conn;
  bool closed = false;     // on_closed ran: safe to destroy in pump()
  bool finishing = false;  // finish() called: takes no more packages
};

struct Dispatcher::SmtpConn {
  std::unique_ptr<client::SmtpConnection> conn;
  bool closed = false;
  bool finishing = false;
};

struct Dispatcher::QmqpRun {
  std::unique_ptr<client::QmqpDelivery> delivery;
  bool done = false;
};

struct Dispatcher::Pool {
  Target target;
  Limits limits;
  std::deque<Job> waiting;
  std::vector<std::unique_ptr<QmtpConn>> conns;
  std::vector<std::unique_ptr<SmtpConn>> smtp;
  std::vector<std::unique_ptr<QmqpRun>> runs;

  bool empty() const { return waiting.empty() && conns.empty() && smtp.empty() && runs.empty(); }
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

void Dispatcher::pump(std::int64_t now_ms) {
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

void Dispatcher::pump_pool(Pool& p, std::int64_t now_ms) {
  // Reap sessions that are over. Their callbacks have all run.
  for (auto it = p.conns.begin(); it != p.conns.end();) {
    if ((*it)->closed) {
      it = p.conns.erase(it);
      --open_;
    } else {
      ++it;
    }
  }
  for (auto it = p.smtp.begin(); it != p.smtp.end();) {
    if ((*it)->closed) {
      it = p.smtp.erase(it);
      --open_;
    } else {
      ++it;
    }
  }
  for (auto it = p.runs.begin(); it != p.runs.end();) {
    if ((*it)->done) {
      it = p.runs.erase(it);
      --open_;
    } else {
      ++it;
    }
  }

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

  if (p.target.wire == Wire::smtp) {
    pump_smtp(p);
    return;
  }

  if (p.target.wire == Wire::qmtp) {
    while (!p.waiting.empty()) {
      bool taken = false;
      for (auto& c : p.conns) {
        if (c->finishing || c->closed || !c->conn->usable()) continue;
        Job& j = p.waiting.front();
        // A copy of the callback: submit() takes it by value even when it refuses the job.
        if (c->conn->submit(j.msg, j.on_done)) {
          p.waiting.pop_front();
          taken = true;
          break;
        }
      }
      if (taken) continue;
      std::size_t live = 0;
      for (auto& c : p.conns) {
        if (!c->finishing && !c->closed && c->conn->usable()) ++live;
      }
      if (live >= p.limits.connections || open_ >= global_) break;
      auto c = std::make_unique<QmtpConn>();
      QmtpConn* raw = c.get();
      c->conn = std::make_unique<client::QmtpConnection>(
          loop_, p.target.endpoint, timeouts_, p.limits.pipeline ? p.limits.pipeline : 1,
          [this]() { request_pump_(); },
          [this, raw]() {
            raw->closed = true;
            request_pump_();
          });
      p.conns.push_back(std::move(c));
      ++open_;
      ++opened_;
      Job& j = p.waiting.front();
      if (!raw->conn->submit(j.msg, j.on_done)) break;  // a new connection takes one
      p.waiting.pop_front();
    }
    if (p.waiting.empty()) {
      // Nothing more to send here now: half-close, so that servers which answer only when they
      // next read (qmail-qmtpd) flush their answers. A later message opens a new connection.
      for (auto& c : p.conns) {
        if (!c->finishing && !c->closed) {
          c->finishing = true;
          c->conn->finish();
        }
      }
    }
    return;
  }

  while (!p.waiting.empty() && p.runs.size() < p.limits.connections && open_ < global_) {
    Job j = std::move(p.waiting.front());
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

void Dispatcher::pump_smtp(Pool& p) {
  while (!p.waiting.empty()) {
    bool taken = false;
    for (auto& c : p.smtp) {
      if (c->finishing || c->closed || !c->conn->usable() || c->conn->busy()) continue;
      Job& j = p.waiting.front();
      if (c->conn->submit(j.msg, j.on_done)) {
        p.waiting.pop_front();
        taken = true;
        break;
      }
    }
    if (taken) continue;
    std::size_t live = 0;
    for (auto& c : p.smtp) {
      if (!c->finishing && !c->closed && c->conn->usable()) ++live;
    }
    if (live >= p.limits.connections || open_ >= global_) break;
    auto c = std::make_unique<SmtpConn>();
    SmtpConn* raw = c.get();
    c->conn = std::make_unique<client::SmtpConnection>(
        loop_, p.target.endpoint, timeouts_, p.target.smtp ? *p.target.smtp : client::SmtpOptions{},
        [this]() { request_pump_(); },
        [this, raw]() {
          raw->closed = true;
          request_pump_();
        });
    p.smtp.push_back(std::move(c));
    ++open_;
    ++opened_;
    Job& j = p.waiting.front();
    if (!raw->conn->submit(j.msg, j.on_done)) break;
    p.waiting.pop_front();
  }
  if (p.waiting.empty()) {
    // Nothing more for this server now: idle connections say QUIT (RFC 5321 §4.1.1.10).
    for (auto& c : p.smtp) {
      if (!c->finishing && !c->closed && !c->conn->busy()) {
        c->finishing = true;
        c->conn->finish();
      }
    }
  }
}

void Dispatcher::abandon_all() {
  incoming_.clear();
  pools_.clear();
  open_ = 0;
}

}  // namespace nullq::send

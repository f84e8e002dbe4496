// send/dispatcher.hpp — the connections: per server address, QMTP connections that are reused and
// pipelined, SMTP connections that carry one message after another (RSET between them), or one
// QMQP connection per message; bounded per host and globally.
//
// Purpose:   take (message, target) jobs and run them on the client sessions, respecting
//            SmartHost.connections per address, SmartHost.pipeline packages in flight per QMTP
//            connection, and the global Config.connections bound. A QMTP connection with nothing
//            more queued is half-closed (qmail-qmtpd answers only after it sees the next read); an
//            idle SMTP connection with nothing more queued sends QUIT.
// Trust:     server replies are handled by the client module.
// Errors:    every submitted job gets exactly one callback (unless abandon_all()); a job for an
//            address whose breaker is open is failed with connect_failed at once; a job for a smart
//            host that the Throttle holds is failed with Outcome::host_held.
// Threading: loop thread only. submit() never calls back synchronously; callbacks run from pump()
//            or from the client's libuv callbacks. Client objects are destroyed only in pump(),
//            never inside their own callbacks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nullq/client.hpp"
#include "nullq/send/router.hpp"

struct uv_loop_s;

namespace nullq::send {

class Breaker;
class Throttle;

struct Limits {
  unsigned connections = 4;  // per address
  unsigned pipeline = 32;    // QMTP packages in flight per connection
  std::string host;          // the smart host's text: its Throttle state ("" = none)
};

class Dispatcher {
 public:
  // `request_pump` asks the owner to call pump() soon (from a fresh loop callback).
  Dispatcher(uv_loop_s* loop, Breaker& breaker, std::function<void()> request_pump);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void set_timeouts(client::Timeouts t) { timeouts_ = t; }
  void set_global_limit(unsigned connections) { global_ = connections ? connections : 1; }
  // Host pacing (throttle.hpp): asked before a message is handed to a host, told when it is.
  // `unix_ms` is its clock.
  void set_throttle(Throttle* throttle, std::function<std::int64_t()> unix_ms) {
    throttle_ = throttle;
    unix_ms_ = std::move(unix_ms);
  }
  // The unix ms at which a job held back by a host's pace may go (0 = none waits for that).
  std::int64_t paced_until() const { return paced_until_; }

  void submit(const Target& target, Limits limits, std::shared_ptr<const client::Message> msg,
              client::DoneCallback on_done);
  // Starts queued jobs where there is room, half-closes QMTP connections with nothing more to
  // send, destroys finished sessions.
  void pump(std::int64_t now_ms);
  // Destroys every session without callbacks (shutdown); queued jobs are dropped too.
  void abandon_all();

  std::size_t open_sessions() const { return open_; }
  // Connections of one smart host (Limits::host) not yet closed, over all its addresses.
  std::size_t host_sessions(const std::string& host) const;
  std::size_t queued_jobs() const;
  bool idle() const { return open_ == 0 && queued_jobs() == 0 && incoming_.empty(); }
  // Connections opened so far (QMTP and SMTP connections, QMQP deliveries), for tests and status.
  std::uint64_t sessions_opened() const { return opened_; }

 private:
  struct Job {
    std::shared_ptr<const client::Message> msg;
    client::DoneCallback on_done;
  };
  template <class Conn>
  struct Session;
  struct QmqpRun;
  struct Pool;
  struct Incoming {
    Target target;
    Limits limits;
    Job job;
  };

  Pool& pool_for(const Target& t, Limits limits);
  void pump_pool(Pool& p, std::int64_t now_ms);
  // Offers waiting jobs to the pool's live QMTP or SMTP connections, opening new ones with `open`
  // under the per-address and global bounds; once nothing waits, idle connections are finished.
  template <class Conn, class Open>
  void pump_sessions(Pool& p, std::vector<std::unique_ptr<Session<Conn>>>& sessions, Open open);

  // Whether the pool's host lets one more message go now (pace, pause, daily count); notes when
  // it will in paced_until_.
  bool host_ready(Pool& p);
  unsigned host_connections(const Pool& p) const;

  uv_loop_s* loop_;
  Breaker& breaker_;
  Throttle* throttle_ = nullptr;
  std::function<std::int64_t()> unix_ms_;
  std::int64_t paced_until_ = 0;
  std::function<void()> request_pump_;
  client::Timeouts timeouts_;
  unsigned global_ = 16;
  std::size_t open_ = 0;
  std::uint64_t opened_ = 0;
  std::vector<Incoming> incoming_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;  // key: "qmtp 127.0.0.1:209 <profile> <via>"
};

}  // namespace nullq::send

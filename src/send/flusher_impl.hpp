// flusher_impl.hpp — the Flusher object behind send::run() (private to src/send).
//
// Purpose:   state shared by flusher.cpp (loop, wake-ups, start-up, signals) and delivery.cpp (what
//            happens to one message: route, failover, results, retries, bounces, expiry).
// Trust:     see flusher.hpp.
// Errors:    start() returns an exit code (>= 0) or -1 to run the loop.
// Threading: loop thread only, but for the jobs given to io_, which run on libuv's thread pool
//            and touch nothing but a copy of the Store and their own batch.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "nullq/bounce.hpp"
#include "nullq/client.hpp"
#include "nullq/config.hpp"
#include "nullq/dns.hpp"
#include "nullq/event.hpp"
#include "nullq/queue.hpp"
#include "nullq/send/breaker.hpp"
#include "nullq/send/dispatcher.hpp"
#include "nullq/send/flusher.hpp"
#include "nullq/send/host_hold.hpp"
#include "nullq/send/lock.hpp"
#include "nullq/send/log.hpp"
#include "nullq/send/outcome.hpp"
#include "nullq/send/router.hpp"
#include "nullq/send/scheduler.hpp"
#include "nullq/send/throttle.hpp"
#include "nullq/send/tokens.hpp"
#include "nullq/spool.hpp"
#include "monitor.hpp"

namespace nullq::send {

// One message being delivered.
struct Active {
  std::uint64_t tag = 0;
  spool::Entry entry;
  envelope::Envelope envelope;
  std::shared_ptr<client::Message> msg;   // body + current recipients, shared with the sessions
  std::uint64_t held = 0;                 // bytes of it counted against delivery.memory (file size)
  std::uint64_t body_offset = 0;          // where the message starts in its queue file
  std::uint64_t generation = 0;           // configuration it started with
  std::size_t host_index = 0;             // smart host being tried: an index into `hosts`
  std::string host_text;                  // its text, for logs ("qmtp://relay.example.org")
  const char* proto = "qmtp";
  std::shared_ptr<const Route> route;     // its addresses
  std::size_t target_index = 0;           // address being tried
  std::int64_t attempt_started_ms = 0;
  std::size_t permanent_routes = 0;       // smart hosts that said "never" (NXDOMAIN)
  bool any_temporary = false;             // some smart host may work later
  bool token_retried = false;             // the one retry after a refused OAuth token was made
  unsigned paced = 0;                     // times put back to its host after a throttling answer
  bool uncharged = false;                 // every temporary answer was the host's pace or quota
  std::string last_error;
  // route_groups.cpp: the recipients of one route (and at most a host's recipients_per_message) are
  // tried at a time; msg->recipients holds them.
  std::vector<std::size_t> hosts;         // the group's smart hosts (router_->hosts() indexes), in order
  std::vector<std::string> pending;       // not tried yet in this attempt, in envelope order
  std::vector<std::string> deferred;      // tried in this attempt, kept for a retry
  std::string deferred_error;             // why the last of them was kept
  bool charged = false;                   // a server answered about the message: the attempt counts
  bool bounced_any = false;               // a recipient failed permanently in this attempt
  std::string to_failed_reason;           // a failure nobody can be told of: failed/ if nothing is left
};

class Flusher {
 public:
  explicit Flusher(const Options& options);
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  int run();

  // Called from libuv trampolines.
  void tick();
  void request_tick();
  void reload();
  void begin_stop();
  void abandon_all();


 private:
  // flusher.cpp
  int start();
  void start_loop();
  void apply_limits();
  bool needs_dns() const;
  void make_resolver();
  void open_trigger();
  void watch_incoming();
  void accept_new();
  void rescan();
  void report_unusable(const std::string& dir, const std::vector<spool::Quarantined>& bad);
  void clean_spool();
  void arm_wake_timer();
  std::string status_text();
  void shutdown();
  std::int64_t unix_now() const;
  std::int64_t now_ms() const;

  // Messages read, or unlinked, or rewritten, on the thread pool (see queue_io.cpp).
  struct LoadBatch {
    std::vector<spool::Entry> entries;
    std::uint64_t allowance = 0;  // bytes of delivery.memory reserved for the batch
    bool first_always = false;    // nothing else is held: the first message goes, however large
    // Filled by the job: one result per entry read; the entries after them did not fit (`need`:
    // the size of the first of those) and go back to the scheduler.
    std::vector<Result<spool::Loaded>> results;
    std::uint64_t need = 0;
  };
  struct RemoveBatch {
    std::vector<spool::Entry> entries;
    std::vector<Status> results;
    std::vector<std::pair<spool::Entry, std::string>> to_failed;  // with the reason to record
    std::vector<Status> failed_results;
  };
  struct Rewrite {
    spool::Entry entry;
    std::uint32_t attempts = 0;
    std::int64_t next = 0;
    envelope::Envelope envelope;
    std::uint64_t body_offset = 0;
    Result<spool::Entry> result = spool::Entry{};
  };
  struct Intake {
    std::vector<spool::Quarantined> bad;
    Result<std::vector<spool::Entry>> result = std::vector<spool::Entry>{};
  };
  void load_due(std::int64_t now);
  void on_loaded(LoadBatch& batch);
  void post_removals();
  void on_removed(RemoveBatch& batch);
  // The retry's new envelope is written, and the message copied from the old file, on the pool;
  // the scheduler entry stays busy until then.
  void post_rewrite(const Active& a, std::uint32_t attempts, std::int64_t next, envelope::Envelope env);
  void on_rewritten(Rewrite& job);
  // new/ is read and moved into queue/ on the pool (accept_new at start, before the loop, is the
  // same work done at once); on_accepted indexes and reports the result on the loop.
  void post_accept();
  void on_accepted(Intake& job);
  bool io_idle() const;  // nothing being read, written or unlinked, nothing waiting to be unlinked

  // accounts.cpp: one TokenManager per OAuth smart host, made anew at start and on every reload
  // (a reload also ends a failure pause, e.g. after `nullq oauth login`), handed to the router.
  void make_tokens(SmtpSetup& setup);  // one TokenManager per OAuth host; the first token asked for at once when mail waits
  void close_tokens();
  // A smart host could not take a message for a reason of its own (held, logged once).
  void host_failed(const std::string& host, const std::string& why);
  void host_worked(const std::string& host);
  // monitor.cpp: the smart hosts' state for the status file.
  std::vector<HostStatus> host_statuses(std::int64_t now);

  // route_groups.cpp: one route group after the other within one attempt; between two, the queue
  // file is rewritten with the recipients still pending when the group finished some.
  void begin_group(std::uint64_t tag);
  void group_done(std::uint64_t tag, bool changed);
  void finish_attempt(std::uint64_t tag);
  void checkpoint(std::uint64_t tag);
  // recipients_per_message of smart host `h`: the rest go back to the front of `pending`.
  void trim_group(Active& a, const config::SmartHost& h);

  // pacing.cpp: throttling and quota answers slow or hold the smart host (throttle.hpp), not the
  // message. apply_pacing() at start and reload; paced_outcome() true when it disposed of the
  // message (put back to its host, or back to the queue uncharged).
  void apply_pacing();
  bool paced_outcome(std::uint64_t tag, client::Outcome& o);
  void arm_pace_timer();
  std::int64_t unix_ms() const;
  std::string pacing_status();

  // delivery.cpp
  void start_message(const spool::Entry& e, Result<spool::Loaded> loaded);
  // The message is finished with: its file moves to failed/ (to_failed) or is removed.
  void retire(const spool::Entry& e, bool to_failed, const std::string& reason);
  void next_host(std::uint64_t tag);
  void on_route(std::uint64_t tag, std::shared_ptr<const Route> route);
  void try_target(std::uint64_t tag);
  void on_outcome(std::uint64_t tag, client::Outcome o);
  // `remote`: the Remote-MTA name (bounce::remote_mta); `diag_type`: the Diagnostic-Code type.
  // `where`: "smart-host (ip:port)", the prefix of the error recorded for a retry (nullq status
  // attributes errors to smart hosts by it).
  void settle(std::uint64_t tag, Split split, const std::string& remote, const std::string& diag_type,
              const std::string& where);
  void unreached(std::uint64_t tag);
  // `charged`: false when no server said anything about the message (every smart host failed for
  // reasons of its own): its attempt count stays and it waits for the first host's hold to end.
  void temporary(std::uint64_t tag, std::vector<std::string> remaining, const std::string& last_error,
                 bool charged = true);
  // Queues a report for `failures`; false if it could not be queued (keep the recipients).
  // `suppressed` is set when the loop rule says not to report.
  // `keep_id`: the id under which the original waits in failed/ for this report (its O record);
  // `queued_id` receives the report's id.
  bool report(const Active& a, std::vector<bounce::Failure> failures, bool delay_warning, bool& suppressed,
              const std::string& keep_id = {}, std::string* queued_id = nullptr);
  // Reports the permanent failure of the recipients in `failures` and keeps the message for them in
  // failed/ until the report is delivered (nothing is lost if it cannot be): under its own id when
  // nothing else is left of it (`whole`), else as a copy under a new id. False if the report could
  // not be queued or the message not kept: keep the recipients queued (a second report beats a lost
  // message). `suppressed` as for report(): then nothing is kept here (the caller moves the file).
  bool fail_permanently(const Active& a, std::vector<bounce::Failure> failures, bool whole,
                        const std::string& reason, bool& suppressed);
  // A delivered report whose original waits in failed/ for it: that original is removed.
  void release_original(const Active& a);
  void done(std::uint64_t tag);
  // `which`: indexes into a.msg->recipients this line is about; nullptr for all of them.
  void log_attempt(const Active& a, const std::string& addr, char result, const std::vector<std::size_t>* which,
                   const std::string& text, std::int64_t ms);

  Options options_;
  std::string config_path_;
  config::Config cfg_;
  queue::Spool spool_;
  std::unique_ptr<SpoolLock> lock_;
  Scheduler sched_;
  std::unique_ptr<Breaker> breaker_;
  HostHold hold_{std::chrono::seconds(60), std::chrono::seconds(3600)};
  Throttle throttle_;                 // each smart host's pace, pauses and quota holds
  event::Timer pace_timer_;           // wakes the dispatcher when a paced message may go
  std::map<std::string, std::shared_ptr<TokenManager>> tokens_;  // by smart host text
  std::vector<std::weak_ptr<TokenManager>> all_tokens_;          // closed at shutdown
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<dns::Resolver> resolver_;
  std::unique_ptr<ResolverLookup> lookup_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<Monitor> monitor_;  // status file and metrics (monitor.hpp)
  std::mt19937 rng_;
  std::uint64_t next_tag_ = 1;
  std::uint64_t generation_ = 0;
  std::size_t max_active_ = 512;
  bool stopping_ = false;
  bool notify_ready_ = false;
  bool log_stderr_forced_ = false;  // --stderr, or --once at a terminal: log.target does not apply
  std::string last_status_;
  std::int64_t last_status_ms_ = 0;
  std::int64_t last_rescan_ms_ = 0;
  Summary summary_;

  bool need_accept_ = false;
  bool need_rescan_ = false;
  // Files in new/ or queue/ this process cannot use, each already logged once ("new/NAME").
  std::unordered_map<std::string, bool> reported_;
  bool tick_pending_ = false;
  std::unique_ptr<spool::Store> store_;
  std::unordered_map<std::uint64_t, Active> active_;
  std::size_t loading_ = 0;              // taken from the scheduler, being read on the pool
  // delivery.memory: bytes of queue files held by active_ messages plus what load jobs reserved;
  // `deferred_need_` is the size of a message that did not fit (0: none), so that the next load
  // waits until it does.
  std::uint64_t held_bytes_ = 0;
  std::uint64_t deferred_need_ = 0;
  bool accepting_ = false;               // an intake job is out
  unsigned load_jobs_ = 0;
  std::vector<spool::Entry> removals_;   // delivered, waiting for the next removal job
  std::vector<std::pair<spool::Entry, std::string>> to_failed_;  // for failed/, waiting for that job
  bool removing_ = false;                // a removal job is out

  // The handle owners are reset in shutdown(), before the loop is destroyed.
  std::unique_ptr<event::Loop> loop_;
  event::Idle tick_idle_;
  event::Timer wake_timer_;
  event::Timer rescan_timer_;
  event::Timer rescan_soon_timer_;
  event::Timer shutdown_timer_;
  event::FifoReader trigger_;
  event::FsEvent incoming_watch_;
  std::vector<event::Signal> signals_;
  event::Work io_;  // queue-file reads and unlinks
};

}  // namespace nullq::send

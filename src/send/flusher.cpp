// The flusher: loop, wake-ups, start-up and shutdown (see include/nullq/send/flusher.hpp).
// What happens to one message (routing, failover, results) is in delivery.cpp.
#include "nullq/send/flusher.hpp"

#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <algorithm>

#include "flusher_impl.hpp"
#include "nullq/environment.hpp"
#include "removed_bounce.hpp"
#include "smtp_tls.hpp"
#include "nullq/send/lock.hpp"
#include "nullq/send/notify.hpp"
#include "nullq_build_config.h"

namespace nullq::send {

namespace {

constexpr std::int64_t rescan_interval_ms = 5 * 60 * 1000;  // safety net for lost inotify events
constexpr std::int64_t rescan_min_gap_ms = 1000;            // queue/ readdir at most once a second
constexpr std::int64_t shutdown_grace_ms = 10 * 1000;       // in-flight sessions after TERM
constexpr std::chrono::hours tmp_orphan_age{36};

int spool_exit_code(const Error& e) {
  if (e.domain == ErrorDomain::sys) {
    switch (e.code) {
      case EROFS:
      case ENOENT:
      case ENOTDIR:
        return 73;  // EX_CANTCREAT
      case EIO:
        return 74;  // EX_IOERR
      default:
        break;
    }
  }
  return 75;  // EX_TEMPFAIL
}

// One line on stderr for a spool that cannot be used; returns the exit code.
int spool_failure(const Error& e, const std::string& prefix) {
  if (e.domain == ErrorDomain::sys && (e.code == EACCES || e.code == EPERM)) {
    // Typically `sendmail -q` run by an ordinary user: the spool belongs to the nullq user.
    std::fprintf(stderr,
                 "nullq-send: %s%s (only root and the %s user can flush the queue; a running nullq-send "
                 "delivers without being asked)\n",
                 prefix.c_str(), e.message().c_str(), NULLQ_USER);
    return 77;  // EX_NOPERM
  }
  std::fprintf(stderr, "nullq-send: %s%s\n", prefix.c_str(), e.message().c_str());
  return spool_exit_code(e);
}

}  // namespace

std::int64_t Flusher::unix_now() const { return static_cast<std::int64_t>(::time(nullptr)); }
std::int64_t Flusher::now_ms() const { return static_cast<std::int64_t>(loop_->now_ms()); }

Flusher::Flusher(const Options& options) : options_(options), rng_(std::random_device{}()) {}

Flusher::~Flusher() = default;

int Flusher::start() {
  // Configuration.
  config_path_ = options_.config_path.empty() ? config::default_path() : options_.config_path;
  auto loaded = config::load(config_path_);
  if (!loaded.ok()) {
    std::fprintf(stderr, "nullq-send: %s\n", loaded.error().message().c_str());
    return 78;
  }
  cfg_ = std::move(loaded).value();
  // Message bodies are large and short-lived: give each its own mapping, returned to the system
  // when it is freed. glibc otherwise raises its mmap threshold after the first large free (up to
  // 32 MiB), and later bodies land in heaps that do not shrink, so the RSS stays at its peak.
  (void)::mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  if (cfg_.smarthosts.empty()) {
    std::fprintf(stderr, "nullq-send: %s: no smart hosts configured (key 'smarthosts')\n", config_path_.c_str());
    return 78;
  }
  // A person who runs --once at a terminal wants to see what happens, not look for it in syslog.
  const bool at_terminal = options_.once && ::isatty(STDERR_FILENO) == 1;
  config::LogLevel level = cfg_.log_level;
  log_stderr_forced_ = options_.force_stderr || at_terminal;
  const LogSink sink = choose_sink(cfg_.log_target, sink_facts(log_stderr_forced_));
  if (at_terminal && options_.quiet && level != config::LogLevel::error) level = config::LogLevel::warning;
  // --quiet (cron, sendmail -q) where the log fell back to stderr (no syslog socket) stays as quiet
  // as it is with syslog: cron mails whatever a job prints, and a deferral is no failure.
  if (options_.quiet && !at_terminal && !options_.force_stderr && sink == LogSink::stderr_plain)
    level = config::LogLevel::error;
  log_init(sink, level, cfg_.log_format);

  // One owner for the spool: started as root, become its user before anything there is opened.
  privilege::Owner owner = options_.owner;
  if (owner.system_spool.empty()) owner.system_spool = NULLQ_SPOOL_DIR;
  if (owner.user.empty()) owner.user = NULLQ_USER;
  {
    std::string error, became;
    if (int rc = privilege::become(cfg_.queue_dir, owner, "nullq-send", error, &became); rc != 0) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return rc;
    }
    if (!became.empty() && log_enabled(Priority::debug)) log_line(Priority::debug, "started as root; running as " + became);
  }
  // Secrets as the user the daemon runs as: a file only root can read fails now, not at SIGHUP.
  if (auto sec = config::load_secrets(cfg_); !sec.ok()) {
    std::fprintf(stderr, "nullq-send: %s\n", sec.error().message().c_str());
    return 78;
  }

  // Spool: a private spool (tests, demo) is created on first use; the system one by the package.
  spool_ = queue::Spool{cfg_.queue_dir};
  struct stat st {};
  if (spool_.dir != owner.system_spool || ::stat(spool_.dir.c_str(), &st) != 0) {
    auto s = queue::ensure_spool(spool_);
    if (!s.ok()) return spool_failure(s.error(), "spool " + spool_.dir + ": ");
  }

  // One flusher at a time.
  auto lock = SpoolLock::try_acquire(spool_.lock());
  if (!lock.ok()) {
    if (SpoolLock::is_busy(lock.error())) {
      if (options_.once) {
        queue::poke_trigger(spool_);
        if (options_.log_summary) log_line(Priority::info, "a flusher is running; asked it to deliver now");
        else if (!options_.quiet) std::fputs("nullq-send: a flusher is running; asked it to deliver now\n", stderr);
        return 0;
      }
      std::fprintf(stderr, "nullq-send: another nullq-send is running (%s is locked)\n", spool_.lock().c_str());
      return 75;
    }
    return spool_failure(lock.error(), "");
  }
  lock_ = std::make_unique<SpoolLock>(std::move(lock).value());

  store_ = std::make_unique<spool::Store>(spool_, cfg_.max_message_size);
  // Root's and this user's drops come from a nullq-sendmail that applied the config; the others'
  // may come from nullq-queue run directly, which knows only its own limits.
  store_->set_intake({{0, ::geteuid()}, cfg_.rewrite_sender});

  // Index what is there before opening the loop: start-up errors are still exit codes here.
  clean_spool();
  accept_new();
  std::vector<spool::Quarantined> bad;
  auto scanned = store_->scan(bad);
  if (!scanned.ok()) {
    return spool_failure(scanned.error(), "");
  }
  report_unusable("queue/", bad);
  sched_.reconcile(std::move(scanned.value()));

  // The loop and its handles.
  event::ignore_sigpipe();
  loop_ = std::make_unique<event::Loop>();
  breaker_ = std::make_unique<Breaker>(std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.cooldown));
  dispatcher_ = std::make_unique<Dispatcher>(loop_->get(), *breaker_, [this] { request_tick(); });
  apply_limits();
  try {
    make_resolver();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nullq-send: resolver: %s\n", e.what());
    return 75;
  }
  router_ = std::make_unique<Router>(lookup_.get(), cfg_.smarthosts);
  router_->set_mxps_port(dns::mxps_qmtp_port());
  {
    std::vector<std::string> warnings;
    auto setup = make_smtp_setup(cfg_, warnings);
    if (!setup.ok()) {
      std::fprintf(stderr, "nullq-send: %s\n", setup.error().message().c_str());
      return 78;
    }
    for (const auto& w : warnings) log_line(Priority::warning, w);
    SmtpSetup smtp = std::move(setup).value();
    make_tokens(smtp);
    router_->set_smtp(std::move(smtp));
  }
  router_->set_note_sink([](const config::SmartHost& h, const std::string& note) {
    log_line(Priority::warning, h.text + ": " + note);
  });
  start_loop();
  monitor_ = std::make_unique<Monitor>(loop_->get(), spool_, unix_now(), [this](std::int64_t t) { return host_statuses(t); });
  monitor_->configure(cfg_);
  log_line(Priority::info, std::string(options_.once ? "flushing" : "started") + ": " +
                               std::to_string(sched_.size()) + " message(s) queued, " +
                               std::to_string(cfg_.smarthosts.size()) + " smart host(s)");
  if (!options_.once) {
    notify_ready_ = std::getenv("NOTIFY_SOCKET") != nullptr;
    if (notify_ready_) (void)sd_notify("READY=1\nSTATUS=" + status_text());
  }
  request_tick();
  return -1;
}

void Flusher::apply_limits() {
  client::Timeouts t;
  t.connect = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.connect_timeout);
  t.io = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.io_timeout);
  t.session = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.session_max);
  dispatcher_->set_timeouts(t);
  dispatcher_->set_global_limit(cfg_.connections);
  breaker_->set_cooldown(std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.cooldown));
  hold_.set_limits(cfg_.retry_min, cfg_.retry_max);
  apply_pacing();
  std::size_t per = static_cast<std::size_t>(cfg_.connections ? cfg_.connections : 1) * 32;
  max_active_ = std::clamp<std::size_t>(per, 64, 4096);
}

bool Flusher::needs_dns() const {
  for (const auto& h : cfg_.smarthosts) {
    dns::Address a;
    if (h.protocol == config::Protocol::mx || !literal_address(h.host, a)) return true;
  }
  return false;
}

void Flusher::make_resolver() {
  if (!needs_dns()) return;
  dns::Options o;
  if (const char* servers = environment::trusted_getenv("NULLQ_DNS_SERVERS")) o.servers = servers;
  resolver_ = std::make_unique<dns::Resolver>(loop_->get(), o);
  lookup_ = std::make_unique<ResolverLookup>(*resolver_);
}

void Flusher::start_loop() {
  uv_loop_s* loop = loop_->get();
  io_ = event::Work(loop);
  // An idle handle, not a 0 ms timer: libuv 1.44 runs a timer re-armed from its own callback in
  // the same pass, so a tick that asks for another tick would starve I/O. Idle callbacks run once
  // per loop iteration.
  tick_idle_ = event::Idle(loop, [this] {
    tick_idle_.stop();
    tick_pending_ = false;
    tick();
  });
  wake_timer_ = event::Timer(loop, [this] { request_tick(); });
  pace_timer_ = event::Timer(loop, [this] { request_tick(); });
  rescan_soon_timer_ = event::Timer(loop, [this] {
    need_rescan_ = true;
    request_tick();
  });
  shutdown_timer_ = event::Timer(loop, [this] {
    log_line(Priority::warning, "abandoning " + std::to_string(active_.size()) +
                                    " delivery(ies) at shutdown; the messages stay queued");
    abandon_all();
    loop_->stop();
  });
  for (int signo : {SIGTERM, SIGINT, SIGHUP}) {
    signals_.emplace_back(loop, signo, [this](int signum) {
      if (signum == SIGHUP) {
        reload();
      } else {
        begin_stop();
      }
    });
  }
  // The trigger: "look now". Also open in --once, so a poke during the run is not lost.
  trigger_ = event::FifoReader(
      loop,
      [this](std::size_t) {
        need_accept_ = true;
        need_rescan_ = true;
        request_tick();
      },
      [](const Error& e) { log_line(Priority::warning, "trigger FIFO: " + e.message()); });
  if (auto st = trigger_.open(spool_.trigger()); !st.ok()) {
    log_line(Priority::warning, spool_.trigger() + ": " + st.error().message() + "; relying on inotify and rescans");
  }
  if (!options_.once) {
    incoming_watch_ = event::FsEvent(loop, [this] {
      need_accept_ = true;
      request_tick();
    });
    if (auto st = incoming_watch_.start(spool_.incoming()); !st.ok()) {
      log_line(Priority::warning, "inotify on " + spool_.incoming() + ": " + st.error().message() +
                                      "; relying on the trigger and rescans");
    }
    rescan_timer_ = event::Timer(loop, [this] {
      need_accept_ = true;
      need_rescan_ = true;
      clean_spool();
      request_tick();
    });
    rescan_timer_.start(std::chrono::milliseconds(rescan_interval_ms), std::chrono::milliseconds(rescan_interval_ms));
  }
  // new/ was read before the trigger and the watch were there: a message dropped in between poked
  // no one and would wait for the rescan. Look once more, now that every later drop wakes us.
  need_accept_ = true;
}

// Crashed submissions in tmp/, and failed/ files kept for longer than queue.keep_failed. At start
// (so cron's --once runs do it too) and with every safety rescan.
void Flusher::clean_spool() {
  if (std::size_t n = store_->remove_tmp_orphans(tmp_orphan_age))
    log_line(Priority::notice, "removed " + std::to_string(n) + " stale file(s) from tmp/");
  if (cfg_.keep_failed.count() > 0)
    if (std::size_t n = store_->expire_failed(cfg_.keep_failed))
      log_line(Priority::notice, "removed " + std::to_string(n) + " file(s) kept in failed/ for longer than " +
                                     human_duration(cfg_.keep_failed.count()));
}

void Flusher::request_tick() {
  if (tick_pending_ || !tick_idle_) return;
  tick_pending_ = true;
  tick_idle_.start();
}

// At start, before the loop: the same work as post_accept(), done at once.
void Flusher::accept_new() {
  need_accept_ = false;
  Intake job;
  job.result = store_->accept_new(job.bad);
  on_accepted(job);
}

void Flusher::on_accepted(Intake& job) {
  std::vector<spool::Quarantined>& bad = job.bad;
  auto& r = job.result;
  std::vector<spool::Quarantined> left;
  for (auto& q : bad) {
    if (q.left) {
      left.push_back(std::move(q));
    } else if (q.removed) {
      log_line(Priority::warning, "new/" + q.name + ": " + q.reason);
      if (bounce_removed(cfg_, spool_, q, unix_now())) {
        need_accept_ = true;  // the bounce is in new/
        request_tick();
      }
    } else {
      log_line(Priority::warning, "quarantined new/" + q.name + " to failed/: " + q.reason);
    }
  }
  if (r.ok()) report_unusable("new/", left);
  else for (const auto& q : left) log_line(Priority::err, "new/" + q.name + ": " + q.reason + " (left in new/)");
  if (!r.ok()) {
    log_line(Priority::err, "accepting new/: " + r.error().message());
    return;
  }
  for (const auto& e : r.value()) {
    sched_.upsert(e);
    if (log_enabled(Priority::debug)) log_line(Priority::debug, "id=" + e.id + " accepted");
  }
}

void Flusher::rescan() {
  std::int64_t now = now_ms();
  if (last_rescan_ms_ && now - last_rescan_ms_ < rescan_min_gap_ms) {
    if (!rescan_soon_timer_.active()) {
      rescan_soon_timer_.start(std::chrono::milliseconds(rescan_min_gap_ms - (now - last_rescan_ms_)));
    }
    need_rescan_ = false;
    return;
  }
  need_rescan_ = false;
  last_rescan_ms_ = now;
  std::vector<spool::Quarantined> bad;
  auto r = store_->scan(bad);
  if (!r.ok()) {
    log_line(Priority::err, "scanning queue/: " + r.error().message());
    return;
  }
  report_unusable("queue/", bad);
  sched_.reconcile(std::move(r.value()));
}

// One line per file that is left where it is (unreadable, not movable, an unknown name), the first
// time it is seen; a file that goes away and comes back is reported again. Nothing is skipped
// without a word, and a daemon woken a thousand times does not say it a thousand times.
void Flusher::report_unusable(const std::string& dir, const std::vector<spool::Quarantined>& bad) {
  for (auto& [key, seen] : reported_)
    if (key.compare(0, dir.size(), dir) == 0) seen = false;
  for (const auto& q : bad) {
    auto [it, fresh] = reported_.try_emplace(dir + q.name, true);
    it->second = true;
    if (fresh) log_line(Priority::err, dir + q.name + ": " + q.reason + " (left in " + dir + ")");
  }
  std::erase_if(reported_, [&](const auto& kv) { return !kv.second; });
}

void Flusher::tick() {
  const std::int64_t now = unix_now();
  if (!stopping_) {
    if (need_accept_) post_accept();
    if (need_rescan_) rescan();
    load_due(now);
  }
  dispatcher_->pump(now_ms());
  arm_pace_timer();
  post_removals();
  if (monitor_) monitor_->changed();

  if (stopping_) {
    if (active_.empty() && io_idle()) loop_->stop();
    return;
  }
  if (options_.once) {
    if (active_.empty() && io_idle() && dispatcher_->idle() && !need_accept_ && !tick_pending_ &&
        !sched_.has_due(unix_now())) {
      loop_->stop();
      return;
    }
  }
  arm_wake_timer();
  if (notify_ready_) {
    std::int64_t ms = now_ms();
    std::string status = status_text();
    if (status != last_status_ && ms - last_status_ms_ >= 1000) {
      last_status_ = status;
      last_status_ms_ = ms;
      (void)sd_notify("STATUS=" + status);
    }
  }
}

void Flusher::arm_wake_timer() {
  const std::int64_t now = unix_now();
  wake_timer_.stop();
  if (sched_.has_due(now)) {
    // At capacity, or delivery.memory is taken: a finishing delivery ticks. Otherwise look again
    // in a second (defensive).
    if (active_.size() >= max_active_) return;
    if (held_bytes_ > 0 && (held_bytes_ >= cfg_.memory || held_bytes_ + deferred_need_ > cfg_.memory)) return;
    wake_timer_.start(std::chrono::milliseconds(1000));
    return;
  }
  auto next = sched_.next_wakeup(now);
  if (!next) return;
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::int64_t real_ms = static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  std::int64_t delay = *next * 1000 - real_ms + 5;  // fire once time(nullptr) >= next
  if (delay < 0) delay = 0;
  wake_timer_.start(std::chrono::milliseconds(delay));
}

std::string Flusher::status_text() {
  return std::to_string(sched_.size()) + " queued, " + std::to_string(active_.size()) + " in delivery" +
         pacing_status();
}

void Flusher::reload() {
  if (stopping_) return;
  auto loaded = config::load(config_path_);
  if (!loaded.ok()) {
    log_line(Priority::err, "reload failed, keeping the current configuration: " + loaded.error().message());
    return;
  }
  config::Config next = std::move(loaded).value();
  if (auto sec = config::load_secrets(next); !sec.ok()) {
    log_line(Priority::err, "reload failed, keeping the current configuration: " + sec.error().message());
    return;
  }
  if (next.smarthosts.empty()) {
    log_line(Priority::err, "reload failed, keeping the current configuration: " + config_path_ +
                                ": no smart hosts configured (key 'smarthosts')");
    return;
  }
  if (next.queue_dir != cfg_.queue_dir) {
    log_line(Priority::warning, "queue.dir changed to " + next.queue_dir + "; it takes effect on restart");
    next.queue_dir = cfg_.queue_dir;
  }
  config::Config old = std::move(cfg_);
  cfg_ = std::move(next);
  try {
    // The old channel read resolv.conf at start (c-ares 1.18): make a new one. Its pending lookups
    // are cancelled without callbacks; router_->reset() below answers their waiters.
    lookup_.reset();
    resolver_.reset();
    make_resolver();
  } catch (const std::exception& e) {
    log_line(Priority::err, std::string("reload: resolver: ") + e.what());
  }
  ++generation_;
  if (cfg_.log_target != old.log_target || cfg_.log_format != old.log_format)
    log_init(choose_sink(cfg_.log_target, sink_facts(log_stderr_forced_)), cfg_.log_level, cfg_.log_format);
  else
    log_set_level(cfg_.log_level);
  monitor_->configure(cfg_);
  apply_limits();
  breaker_->clear();
  hold_.clear();
  router_->reset(lookup_.get(), cfg_.smarthosts);
  {
    std::vector<std::string> warnings;
    auto setup = make_smtp_setup(cfg_, warnings);
    SmtpSetup smtp;
    if (setup.ok()) {
      for (const auto& w : warnings) log_line(Priority::warning, w);
      smtp = std::move(setup).value();
    } else {
      log_line(Priority::err, "reload: " + setup.error().message() + " (TLS hosts fail until it is fixed)");
      smtp = smtp_setup(cfg_);
    }
    make_tokens(smtp);
    router_->set_smtp(std::move(smtp));
  }
  log_line(Priority::info, "reloaded " + config_path_ + ": " + std::to_string(cfg_.smarthosts.size()) +
                               " smart host(s)");
  if (notify_ready_) (void)sd_notify("READY=1\nSTATUS=" + status_text());
  request_tick();
}

void Flusher::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  if (notify_ready_) (void)sd_notify("STOPPING=1");
  log_line(Priority::info, "stopping: " + std::to_string(active_.size()) + " delivery(ies) in flight");
  trigger_.reset();
  incoming_watch_.reset();
  rescan_timer_.reset();
  wake_timer_.stop();
  rescan_soon_timer_.stop();
  if (active_.empty() && io_idle()) {
    loop_->stop();
    return;
  }
  shutdown_timer_.start(std::chrono::milliseconds(shutdown_grace_ms));
  request_tick();
}

void Flusher::abandon_all() {
  dispatcher_->abandon_all();
  for (const auto& [tag, a] : active_) held_bytes_ -= a.held;
  active_.clear();
}

void Flusher::shutdown() {
  if (!loop_) return;
  if (dispatcher_) abandon_all();
  router_.reset();
  if (resolver_) resolver_->close();
  tick_idle_.reset();
  wake_timer_.reset();
  pace_timer_.reset();
  rescan_timer_.reset();
  rescan_soon_timer_.reset();
  shutdown_timer_.reset();
  trigger_.reset();
  incoming_watch_.reset();
  signals_.clear();
  // Delivered messages whose removal was still gathering a batch: remove them now, or the next
  // start would send them again (and failed ones would be tried again).
  for (const auto& e : removals_) {
    Status st = store_->remove(e);
    if (!st.ok()) log_line(Priority::err, "id=" + e.id + " " + st.error().message());
  }
  removals_.clear();
  for (const auto& [e, reason] : to_failed_) {
    Status st = store_->move_to_failed(e, reason);
    if (!st.ok()) log_line(Priority::err, "id=" + e.id + " " + st.error().message());
  }
  to_failed_.clear();
  if (monitor_) monitor_->stop();  // the status marked stopped, the textfile's last values
  monitor_.reset();
  io_.reset();  // jobs still out finish inside the loop's destructor, without their completions
  dispatcher_.reset();
  close_tokens();  // a helper still running is killed; its handles close with the loop
  lookup_.reset();
  resolver_.reset();
  loop_.reset();  // runs the close callbacks and checks nothing was left open
}

int Flusher::run() {
  int rc = start();
  if (rc >= 0) {
    shutdown();
    return rc;
  }
  loop_->run();
  shutdown();
  if (options_.once) {
    summary_.left = sched_.size();
    if (options_.log_summary) log_line(Priority::info, "flushed: " + format_summary(summary_));
    else if (!options_.quiet) std::fprintf(stderr, "nullq-send: %s\n", format_summary(summary_).c_str());
    return sched_.size() == 0 || options_.deferred_ok ? 0 : 75;
  }
  log_line(Priority::info, "stopped: " + std::to_string(sched_.size()) + " message(s) left queued");
  return 0;
}

int run(const Options& options) {
  Flusher f(options);
  return f.run();
}

}  // namespace nullq::send

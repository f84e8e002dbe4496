// The status file and the Prometheus textfile, kept by nullq-send (see monitor.hpp).
#include "monitor.hpp"

#include <uv.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <unistd.h>

#include "flusher_impl.hpp"
#include "nullq/send/log.hpp"

namespace nullq::send {

namespace {

constexpr std::int64_t census_gap_ms = 1000;   // the status file: at most once a second
constexpr std::int64_t metrics_gap_ms = 5000;  // the textfile: at most every 5 s

}  // namespace

Monitor::Monitor(uv_loop_s* loop, queue::Spool spool, std::int64_t started_at, HostsFn hosts)
    : loop_(loop),
      spool_(std::move(spool)),
      started_at_(started_at),
      hosts_(std::move(hosts)),
      metrics_(started_at),
      work_(loop),
      soon_(loop, [this] { changed(); }),
      metrics_timer_(loop, [this] { changed(); }) {}

Monitor::~Monitor() = default;

std::int64_t Monitor::now_ms() const { return static_cast<std::int64_t>(uv_now(loop_)); }

void Monitor::configure(const config::Config& cfg) {
  if (cfg.metrics_textfile != textfile_) last_metrics_.clear();
  textfile_ = cfg.metrics_textfile;
  std::vector<std::string> hosts;
  for (const auto& h : cfg.smarthosts) hosts.push_back(h.text);
  metrics_.set_hosts(hosts);
  changed();
}

void Monitor::changed() {
  dirty_ = true;
  if (in_flight_ || !work_ || soon_.active()) return;
  const std::int64_t since = now_ms() - last_census_ms_;
  if (since < census_gap_ms_) {
    soon_.start(std::chrono::milliseconds(census_gap_ms_ - since));
    return;
  }
  take_census();
}

void Monitor::take_census() {
  dirty_ = false;
  in_flight_ = true;
  last_census_ms_ = now_ms();
  auto result = std::make_shared<Result<queue::Census>>(queue::Census{});
  auto took_ms = std::make_shared<std::int64_t>(0);
  work_.post(
      [result, took_ms, spool = spool_] {
        const auto t0 = std::chrono::steady_clock::now();
        *result = queue::take_census(spool);
        *took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      },
      [this, result, took_ms] {
        in_flight_ = false;
        // A large queue takes long to count (a stat per file): then count less often, so that the
        // census never takes more than a twentieth of a pool thread.
        census_gap_ms_ = std::max<std::int64_t>(census_gap_ms, *took_ms * 20);
        if (result->ok()) {
          publish(result->value(), true);
        } else if (log_enabled(Priority::debug)) {
          log_line(Priority::debug, "status: " + result->error().message());
        }
        if (dirty_) changed();
      });
}

void Monitor::publish(const queue::Census& c, bool running) {
  const std::int64_t now = static_cast<std::int64_t>(::time(nullptr));
  StatusSnapshot s;
  s.pid = ::getpid();
  s.running = running;
  s.started_at = started_at_;
  s.census = c;
  s.hosts = hosts_(now);
  // Rewritten when what it says changes, not for its time alone: readers compute ages themselves.
  const std::string key = encode_status(s);
  if (key != last_status_key_ || !running) {
    s.written_at = now;
    write(status_path(spool_), encode_status(s), 0644, status_error_);
    last_status_key_ = key;
  }
  if (textfile_.empty()) return;
  const std::string text = metrics_.render(c, now);
  const std::int64_t since = now_ms() - last_metrics_ms_;
  if (text != last_metrics_ && (since >= metrics_gap_ms || !running)) {
    write(textfile_, text, 0644, metrics_error_);
    last_metrics_ = text;
    last_metrics_ms_ = now_ms();
  } else if (text != last_metrics_ || c.waiting().messages > 0) {
    // Changed too soon after the last write, or mail waits and its age grows: once more later.
    if (running && !metrics_timer_.active())
      metrics_timer_.start(std::chrono::milliseconds(std::max<std::int64_t>(metrics_gap_ms - since, 10)));
  }
}

void Monitor::write(const std::string& path, const std::string& content, mode_t mode, std::string& last_error) {
  Status st = write_atomically(path, content, mode);
  const std::string error = st.ok() ? "" : st.error().message();
  if (error != last_error && !error.empty()) log_line(Priority::warning, "cannot write " + path + ": " + error);
  last_error = error;
}

void Monitor::stop() {
  soon_.reset();
  metrics_timer_.reset();
  work_.reset();
  auto c = queue::take_census(spool_);
  if (c.ok()) publish(c.value(), false);
  else log_line(Priority::warning, "status at exit: " + c.error().message());
}

// The flusher's smart hosts as the status file shows them (flusher_impl.hpp).
std::vector<HostStatus> Flusher::host_statuses(std::int64_t now) {
  const std::vector<HostView> paced = throttle_.view(unix_ms());
  std::vector<HostStatus> out;
  for (const auto& h : cfg_.smarthosts) {
    HostStatus s;
    s.host = host_label(h.text);
    if (hold_.held(h.text, now)) {
      s.state = "backing_off";
      s.until = hold_.until(h.text);
    }
    for (const auto& v : paced)
      if (v.host == h.text) apply_pace(v, s);
    s.last_error = monitor_ ? monitor_->metrics().last_error(h.text) : "none";
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace nullq::send

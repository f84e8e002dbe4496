// monitor.hpp — what nullq-send publishes for monitoring (private to src/send): the status file
// (include/nullq/send/status_file.hpp) and, with metrics.textfile, the Prometheus textfile.
//
// Purpose:   the flusher calls changed() from every tick; at most once a second a census of the
//            spool (readdir + stat, on libuv's thread pool) is taken, and the status file is
//            rewritten when what it says has changed. The textfile is rewritten when its content
//            changed, at most every 5 seconds, and every 5 seconds while mail waits (its oldest
//            age grows). stop() writes both once more at exit, the status marked stopped.
// Trust:     none.
// Errors:    a file that cannot be written is logged once per change of its error, never fatal.
// Threading: loop thread, but for the census job, which touches only its own result.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nullq/census.hpp"
#include "nullq/config.hpp"
#include "nullq/event.hpp"
#include "nullq/send/metrics.hpp"
#include "nullq/send/status_file.hpp"

namespace nullq::send {

class Monitor {
 public:
  // `hosts` gives the smart hosts' state at the unix time it is passed.
  using HostsFn = std::function<std::vector<HostStatus>(std::int64_t now)>;
  Monitor(uv_loop_s* loop, queue::Spool spool, std::int64_t started_at, HostsFn hosts);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // At start and on reload: where the textfile goes (metrics.textfile) and which hosts are configured.
  void configure(const config::Config& cfg);
  Metrics& metrics() { return metrics_; }
  // Something may have changed: refresh within a second.
  void changed();
  // At exit, on the loop thread before the loop closes: the census now, both files written, the
  // status marked stopped. The handles are closed.
  void stop();

 private:
  void take_census();
  void publish(const queue::Census& c, bool running);
  void write(const std::string& path, const std::string& content, mode_t mode, std::string& last_error);
  std::int64_t now_ms() const;

  uv_loop_s* loop_;
  queue::Spool spool_;
  std::int64_t started_at_;
  HostsFn hosts_;
  Metrics metrics_;
  std::string textfile_;
  event::Work work_;
  event::Timer soon_;          // the next census, when the last was less than a second ago
  event::Timer metrics_timer_; // the next textfile, when the last was less than 5 s ago
  bool dirty_ = false;
  bool in_flight_ = false;
  std::int64_t last_census_ms_ = -1000000;
  std::int64_t census_gap_ms_ = 1000;  // at least a second; 20 times what the last census took
  std::int64_t last_metrics_ms_ = -1000000;
  std::string last_status_key_;   // the status as written, without its time
  std::string last_metrics_;
  std::string status_error_, metrics_error_;  // the last error logged for each file
};

}  // namespace nullq::send

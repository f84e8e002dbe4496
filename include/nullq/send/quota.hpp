// send/quota.hpp — each smart host's daily count and quota hold, kept in a small file so that a
// restart neither resets the count nor forgets a quota answer.
//
// Purpose:   per host text: recipients handed to it in the current window (`daily`), when the
//            window started, and until when a quota answer holds it. The window is
//            `quota_reset` long from its first message (24h), or runs to the next `quota_reset`
//            time of day (UTC, "00:00"). A quota answer holds the host until the next reset:
//            the time of day, or `quota_reset` after the refusal.
// Trust:     the state file is ours (nullq's state_dir) but may be damaged: lines that do not
//            parse are dropped (a count restarts at 0; nothing else depends on it).
// Errors:    save() returns an Error naming the file; the caller logs it once and goes on (the
//            count in memory stays right).
// Threading: loop thread only. Times are unix seconds.
//
// File format (<state_dir>/limits): one line per host, "HOST COUNT WINDOW_START HELD_UNTIL",
// written to a temporary file and renamed over the old one.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "nullq/config.hpp"
#include "nullq/result.hpp"

namespace nullq::send {

struct QuotaWindow {
  std::uint64_t count = 0;        // recipients handed to the host in this window
  std::int64_t start = 0;         // unix s; 0 = no window open
  std::int64_t held_until = 0;    // a quota answer holds the host until then (unix s)
};

// When the window that started at `start` ends (unix s).
std::int64_t window_end(const config::HostLimits& l, std::int64_t start);
// Until when a quota answer at `now` holds the host: the next reset.
std::int64_t quota_release(const config::HostLimits& l, std::int64_t now);

class QuotaStore {
 public:
  // "" = in memory only. load() reads what is there (a missing file is an empty store).
  explicit QuotaStore(std::string path = {}) : path_(std::move(path)) {}
  Status load();
  Status save() const;
  const std::string& path() const { return path_; }

  // The host's window as of `now`: a window that ended is closed (count 0) first.
  QuotaWindow& at(const std::string& host, const config::HostLimits& l, std::int64_t now);
  const std::map<std::string, QuotaWindow>& all() const { return hosts_; }

 private:
  std::string path_;
  std::map<std::string, QuotaWindow> hosts_;
};

}  // namespace nullq::send

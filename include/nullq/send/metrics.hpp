// send/metrics.hpp — nullq-send's counters, and the Prometheus text format they are written in.
//
// Purpose:   what the delivery code counts (one call per event, from delivery.cpp): recipients
//            delivered, deferred and bounced by smart host and protocol, attempts by reply class,
//            connection, TLS and AUTH failures by smart host, the last delivery per host, and the
//            class of each host's last error (the status file shows it). render() writes them with
//            the queue gauges in node_exporter's textfile format (HELP and TYPE lines, `_total`,
//            `_seconds`, `_bytes`); render_queue() writes the gauges alone (`nullq metrics`).
//            Labels are bounded: `host` is a configured smart host's text (its userinfo, which
//            config refuses anyway, cut off), `protocol` one of a few, never an address.
// Trust:     none; label values are escaped.
// Errors:    none.
// Threading: loop thread only (render* anywhere).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "nullq/census.hpp"
#include "nullq/client.hpp"

namespace nullq::send {

// "qmtp://relay.example.org": a smart host's text as a label (anything before an '@' dropped).
std::string host_label(const std::string& host_text);

// The queue gauges: messages and bytes by state (new, queued = in queue/ and not tried yet,
// deferred = tried at least once, failed; the states do not overlap) and the oldest message's age.
std::string render_queue(const queue::Census& c, std::int64_t now);

class Metrics {
 public:
  explicit Metrics(std::int64_t started_at = 0) : started_at_(started_at) {}
  // Smart hosts configured now: their failure counters are written even while zero.
  void set_hosts(const std::vector<std::string>& host_texts);

  // One delivery attempt's outcome, from the host `host` (its text).
  void attempt(const std::string& host, const client::Outcome& o);
  // The host could not be routed (DNS): no server was asked.
  void route_failed(const std::string& host, bool permanent);
  void delivered(const std::string& host, const std::string& proto, std::uint64_t n, std::int64_t now);
  void deferred(const std::string& host, const std::string& proto, std::uint64_t n);
  void bounced(const std::string& host, const std::string& proto, std::uint64_t n);

  // connect | tls | auth | token | temporary | permanent | none (no attempt yet, or it went through).
  std::string last_error(const std::string& host) const;

  std::string render(const queue::Census& c, std::int64_t now) const;

 private:
  struct HostCounters {
    std::uint64_t connection_failures = 0, tls_failures = 0, auth_failures = 0;
    std::int64_t last_delivery = 0;
    std::string last_error = "none";
  };
  struct Recipients {
    std::uint64_t delivered = 0, deferred = 0, bounced = 0;
  };
  HostCounters& host(const std::string& text);

  std::int64_t started_at_;
  std::map<std::string, HostCounters> hosts_;                          // by label
  std::map<std::pair<std::string, std::string>, Recipients> recipients_;  // by (label, protocol)
  std::map<std::string, std::uint64_t> replies_{{"2xx", 0}, {"4xx", 0}, {"5xx", 0}, {"none", 0}};
};

}  // namespace nullq::send

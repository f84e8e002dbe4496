// nullq-send's counters and their Prometheus text (see include/nullq/send/metrics.hpp).
#include "nullq/send/metrics.hpp"

#include <algorithm>

#include "nullq_build_config.h"

namespace nullq::send {

namespace {

// A label value: backslash, double quote and newline escaped, as the text format requires.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void head(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const std::string& labels, long double value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  char buf[64];
  std::snprintf(buf, sizeof buf, " %.0Lf\n", value);
  out += buf;
}

}  // namespace

std::string host_label(const std::string& host_text) {
  const std::size_t scheme = host_text.find("://");
  const std::size_t at = host_text.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return host_text;
  return host_text.substr(0, scheme + 3) + host_text.substr(at + 1);
}

std::string render_queue(const queue::Census& c, std::int64_t now) {
  const queue::Tally queued{c.queued.messages - c.deferred.messages, c.queued.bytes - c.deferred.bytes};
  const std::pair<const char*, const queue::Tally*> states[] = {
      {"new", &c.incoming}, {"queued", &queued}, {"deferred", &c.deferred}, {"failed", &c.failed}};
  std::string out;
  head(out, "nullq_queue_messages", "gauge",
       "Messages in the spool by state (new: not yet accepted; queued: not tried yet; deferred: tried at least "
       "once; failed: kept for the admin).");
  for (const auto& [state, t] : states) sample(out, "nullq_queue_messages", std::string("state=\"") + state + "\"", t->messages);
  head(out, "nullq_queue_bytes", "gauge", "Bytes of queue files in the spool by state.");
  for (const auto& [state, t] : states) sample(out, "nullq_queue_bytes", std::string("state=\"") + state + "\"", t->bytes);
  head(out, "nullq_queue_oldest_message_age_seconds", "gauge",
       "Age of the oldest message waiting for delivery (0 when none waits).");
  sample(out, "nullq_queue_oldest_message_age_seconds", "",
         c.oldest_queued_at ? std::max<std::int64_t>(0, now - c.oldest_queued_at) : 0);
  return out;
}

void Metrics::set_hosts(const std::vector<std::string>& host_texts) {
  for (const auto& h : host_texts) host(h);
}

Metrics::HostCounters& Metrics::host(const std::string& text) { return hosts_[host_label(text)]; }

void Metrics::attempt(const std::string& h, const client::Outcome& o) {
  HostCounters& c = host(h);
  if (o.connect_failed || o.setup_failed) {
    replies_["none"] += std::max<std::size_t>(1, o.replies.size());
    if (o.connect_failed) {
      ++c.connection_failures;
      c.last_error = "connect";
    } else if (o.token_unavailable) {
      c.last_error = "token";
    } else if (o.tls_failed) {
      ++c.tls_failures;
      c.last_error = "tls";
    } else if (o.auth_failed || o.auth_token_rejected) {
      ++c.auth_failures;
      c.last_error = "auth";
    } else {
      c.last_error = "temporary";
    }
    return;
  }
  bool temporary = false, permanent = false;
  for (const auto& r : o.replies) {
    switch (r.verdict) {
      case proto::Verdict::ok: ++replies_["2xx"]; break;
      case proto::Verdict::temporary: ++replies_["4xx"]; temporary = true; break;
      case proto::Verdict::permanent: ++replies_["5xx"]; permanent = true; break;
    }
  }
  c.last_error = temporary ? "temporary" : permanent ? "permanent" : "none";
}

void Metrics::route_failed(const std::string& h, bool permanent) {
  host(h).last_error = permanent ? "permanent" : "connect";
}

void Metrics::delivered(const std::string& h, const std::string& proto, std::uint64_t n, std::int64_t now) {
  if (n == 0) return;
  recipients_[{host_label(h), proto}].delivered += n;
  host(h).last_delivery = now;
}

void Metrics::deferred(const std::string& h, const std::string& proto, std::uint64_t n) {
  if (n) recipients_[{host_label(h), proto}].deferred += n;
}

void Metrics::bounced(const std::string& h, const std::string& proto, std::uint64_t n) {
  if (n) recipients_[{host_label(h), proto}].bounced += n;
}

std::string Metrics::last_error(const std::string& h) const {
  auto it = hosts_.find(host_label(h));
  return it == hosts_.end() ? "none" : it->second.last_error;
}

std::string Metrics::render(const queue::Census& c, std::int64_t now) const {
  std::string out = render_queue(c, now);
  using Field = std::uint64_t Recipients::*;
  const std::tuple<const char*, Field, const char*> kinds[] = {
      {"nullq_delivered_recipients_total", &Recipients::delivered, "Recipients a smart host accepted."},
      {"nullq_deferred_recipients_total", &Recipients::deferred, "Recipients kept for a later attempt."},
      {"nullq_bounced_recipients_total", &Recipients::bounced,
       "Recipients refused for good or expired (a bounce is due)."}};
  for (const auto& [name, field, help] : kinds) {
    head(out, name, "counter", help);
    for (const auto& [key, r] : recipients_)
      sample(out, name, "host=\"" + label(key.first) + "\",protocol=\"" + label(key.second) + "\"", r.*field);
  }
  head(out, "nullq_delivery_attempts_total", "counter",
       "Answers to delivery attempts, one per recipient, by reply class (none: no server answered).");
  for (const auto& [cls, n] : replies_) sample(out, "nullq_delivery_attempts_total", "class=\"" + cls + "\"", n);
  using HostField = std::uint64_t HostCounters::*;
  const std::tuple<const char*, HostField, const char*> failures[] = {
      {"nullq_connection_failures_total", &HostCounters::connection_failures,
       "Connections to a smart host that failed or were refused."},
      {"nullq_tls_failures_total", &HostCounters::tls_failures, "TLS handshakes with a smart host that failed."},
      {"nullq_auth_failures_total", &HostCounters::auth_failures, "SMTP AUTH refused by a smart host."}};
  for (const auto& [name, field, help] : failures) {
    head(out, name, "counter", help);
    for (const auto& [h, hc] : hosts_) sample(out, name, "host=\"" + label(h) + "\"", hc.*field);
  }
  head(out, "nullq_last_delivery_timestamp_seconds", "gauge",
       "When a smart host last accepted a recipient (unix time; absent until it has).");
  for (const auto& [h, hc] : hosts_)
    if (hc.last_delivery) sample(out, "nullq_last_delivery_timestamp_seconds", "host=\"" + label(h) + "\"", hc.last_delivery);
  head(out, "nullq_start_time_seconds", "gauge", "When nullq-send started (unix time).");
  sample(out, "nullq_start_time_seconds", "", started_at_);
  head(out, "nullq_build_info", "gauge", "nullq's version, as a label; the value is 1.");
  sample(out, "nullq_build_info", "version=\"" + label(NULLQ_VERSION) + "\"", 1);
  return out;
}

}  // namespace nullq::send

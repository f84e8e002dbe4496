// bounce.hpp — RFC 3464 delivery status notifications and delay warnings.
//
// Purpose:   tell the sender which recipients failed, and why; queue the report through the same
//            commit path as any message (queue::Drop into new/).
// Trust:     server text in diagnostics is already sanitised (proto::sanitize); the original headers
//            are copied as they were queued.
// Errors:    enqueue returns filesystem errors; compose never fails.
// Threading: pure functions plus one filesystem call.
//
// Loop rule: a report has the null sender. A failed message that itself had the null sender is
// reported to the double-bounce address (config bounce.admin, else admin); a failed message whose
// sender was null and whose only recipient is that address is not reported (the caller moves it to
// failed/). So a bounce never bounces twice.
//
// DSN (RFC 3461): the original's ENVID is shown as Original-Envelope-Id, each recipient's ORCPT as
// Original-Recipient; RET=FULL returns the whole message (message/rfc822) when it is not larger than
// max_returned_message, else (and for RET=HDRS or none) only its headers.
//
// Nothing lost: the report quotes only the original's headers, so nullq-send keeps the original (for
// the failed recipients) in failed/ until the report is delivered (Composed::original_id). When the
// report cannot be delivered either, the original is still there for `nullq retry`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/envelope.hpp"
#include "nullq/queue.hpp"
#include "nullq/result.hpp"

namespace nullq::bounce {

inline constexpr std::size_t max_returned_message = 1024 * 1024;  // RET=FULL: larger returns the headers

struct Failure {
  std::string recipient;
  bool permanent = true;     // false for a delay warning / expiry of temporary failures
  std::string diagnostic;    // sanitised server text or local reason
  std::string remote;        // Remote-MTA name (remote_mta()): "relay.example.org", "[192.0.2.1]"; "" if none
  // Diagnostic-Code type, the protocol that gave the answer (RFC 3464 2.3.6): "smtp", "X-QMTP" or
  // "X-QMQP"; "" for a local reason (a DNS failure, expiry, a size limit here): "X-Nullq".
  std::string diagnostic_type;
};

// The Remote-MTA name for a server: a host name as it is, an IP literal as an address literal
// ("[192.0.2.1]", "[IPv6:2001:db8::1]", RFC 5321 4.1.3). Brackets already around a literal are kept.
std::string remote_mta(std::string_view host);
// The Diagnostic-Code type for a protocol name ("smtp" -> "smtp", "qmtp" -> "X-QMTP", "qmqp" -> "X-QMQP").
std::string diagnostic_type(std::string_view proto);

// The DSN request (RFC 3461) the original envelope holds for `rcpt` (its first match); empty if none.
const dsn::RecipientParams& requested(const envelope::Envelope& env, std::string_view rcpt);
// Removes the failures whose recipients asked not to be reported: NOTIFY without FAILURE (NEVER
// too) for a failure report, without DELAY for a delay warning. NOTIFY not given: reported. Returns
// how many were removed. (NOTIFY=SUCCESS gets no "relayed" report: nullq-sendmail(8).)
std::size_t drop_unwanted(const envelope::Envelope& env, std::vector<Failure>& failures, bool delay_warning);

struct Report {
  std::string id;                      // the original's queue id
  const envelope::Envelope* original = nullptr;
  std::string_view original_message;   // headers are quoted in the report (text/rfc822-headers)
  std::vector<Failure> failures;
  bool delay_warning = false;          // "still trying" instead of "failed"
  std::string hostname;                // Reporting-MTA, From: MAILER-DAEMON@hostname
  std::string double_bounce_to;        // "" = none configured
  std::int64_t now = 0;                // unix seconds, for Date and Arrival-Date
};

struct Composed {
  std::vector<std::string> recipients; // sender is always null
  std::string message;                 // LF line endings
  std::string original_id;             // set by the caller when the original waits in failed/ for this
                                       // report's delivery (envelope O record); "" = none
};

// std::nullopt when the loop rule says not to report.
std::optional<Composed> compose(const Report& report);
// Queues `c` with the null sender into spool/new/ (queue::Drop). Returns the new id.
Result<std::string> enqueue(const queue::Spool& spool, const Composed& c, std::int64_t now);

}  // namespace nullq::bounce

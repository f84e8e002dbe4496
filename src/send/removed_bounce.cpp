// The bounce for a removed oversize drop (see removed_bounce.hpp).
#include "removed_bounce.hpp"

#include "nullq/bounce.hpp"
#include "nullq/send/log.hpp"

namespace nullq::send {

bool bounce_removed(const config::Config& cfg, const queue::Spool& spool, const spool::Quarantined& removed,
                    std::int64_t now) {
  if (!removed.envelope || !cfg.bounce_enabled) return false;
  bounce::Report rep;
  rep.id = removed.name;
  rep.original = &*removed.envelope;
  rep.original_message = removed.headers;
  // 5.3.4: message too big for system (RFC 3463).
  const std::string why = "5.3.4 message too large: it exceeds the limit of " + std::to_string(cfg.max_message_size) +
                          " bytes (queue.max_message_size) and was removed";
  for (const auto& r : removed.envelope->recipients) rep.failures.push_back(bounce::Failure{r, true, why, "", ""});
  rep.hostname = cfg.hostname;
  rep.double_bounce_to = cfg.bounce_admin.empty() ? cfg.admin : cfg.bounce_admin;
  rep.now = now;
  auto composed = bounce::compose(rep);
  if (!composed) return false;
  auto id = bounce::enqueue(spool, *composed, now);
  if (!id.ok()) {
    log_line(Priority::err, "new/" + removed.name + ": cannot queue the bounce: " + id.error().message());
    return false;
  }
  log_line(Priority::info, "new/" + removed.name + ": bounce queued as id=" + id.value() + " to <" +
                               (composed->recipients.empty() ? "-" : composed->recipients.front()) + ">");
  return true;
}

}  // namespace nullq::send

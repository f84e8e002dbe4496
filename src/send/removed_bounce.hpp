// removed_bounce.hpp — the bounce for a user's drop that accept_new removed as too large.
//
// Purpose:   a user who ran nullq-queue directly never heard of nullq.yaml's size limit; like a
//            sendmail that refused the message (exit 65), or Postfix's bounce, the sender is told.
// Trust:     the envelope and headers came from the user's drop (decoded and capped by the store).
// Errors:    a bounce that cannot be queued is logged; nothing is returned.
// Threading: loop thread (one filesystem write through bounce::enqueue).
#pragma once

#include <cstdint>

#include "nullq/config.hpp"
#include "nullq/spool.hpp"

namespace nullq::send {

// Queues the report for `removed` (Quarantined::removed with an envelope); true if one was queued.
bool bounce_removed(const config::Config& cfg, const queue::Spool& spool, const spool::Quarantined& removed,
                    std::int64_t now);

}  // namespace nullq::send

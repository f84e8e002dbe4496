// metrics.hpp — `nullq metrics`: the queue gauges nullq-send's textfile holds, counted from the
// spool, for cron-driven setups without a daemon (`nullq metrics > DIR/nullq.prom.tmp && mv ...`).
//
// Purpose:   nullq_queue_messages and nullq_queue_bytes by state and the oldest message's age, in
//            Prometheus text format on stdout (the counters exist only in a running nullq-send).
// Trust:     queue file names only; nothing is opened.
// Errors:    a spool that cannot be read: one line on stderr, 77 (permission; an ordinary user is
//            served from the running nullq-send's status file), 69 (no spool), 74 (I/O).
// Threading: single-threaded program.
#pragma once

#include <cstdio>

#include "nullq/config.hpp"

namespace nullq::admin {

int metrics(const config::Config& cfg, std::FILE* out, std::FILE* err);

}  // namespace nullq::admin

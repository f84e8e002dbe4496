// inject.hpp — one message from raw caller bytes to a committed queue file.
//
// Purpose:   the shared path of -bm (stdin) and -bs (each DATA): normalise, fix up headers, choose
//            the envelope, commit it: here, with the core's commit code, when the caller may write
//            the spool anyway (root, the nullq user: one process per message), else through the
//            set-gid nullq-queue (started early, so its start-up overlaps with our work).
// Trust:     message and arguments come from the caller; the commit code validates again.
// Errors:    a sysexits code and one line; 0 means durably queued.
// Threading: single-threaded program.
#pragma once

#include <string>

#include "nullq/config.hpp"
#include "nullq/dsn.hpp"
#include "nullq/msg.hpp"
#include "spawn.hpp"

namespace nullq::sendmail {

struct Injected {
  int exit_code = 0;
  std::string message;  // one line on failure
  std::string id;       // queue id on success
};

// What the caller asked of delivery status notifications (RFC 3461): -N/-R/-V, or -bs's MAIL and
// RCPT parameters. Kept in the queue file with the message.
struct DsnRequest {
  dsn::MessageParams message;                       // RET, ENVID
  dsn::RecipientParams every;                       // -N: for every recipient
  std::vector<dsn::RecipientParams> per_argument;   // -bs: one per ctx.arguments entry, or empty
};

// Fills the system parts of a msg::Context (login, gecos, clock, ids) from the config and process.
msg::Context system_context(const config::Config& cfg);

// True when the caller may write the spool itself: real and effective uid 0, or both the nullq user's
// (the owner of queue.dir whose login is NULLQ_USER). Postfix's sendmail skips postdrop likewise.
bool may_write_spool(const config::Config& cfg);

// Where one message goes. `self`: committed by this process. Otherwise `child` is nullq-queue.
struct Route {
  bool self = false;
  Child child;
};

// Chooses the route for one message: self when may_write_spool() and NULLQ_QUEUE_PROGRAM is unset (an
// explicit queue program is always used), else starts nullq-queue now. Called before the message is
// read, so that the program's start-up runs on another CPU while this one reads and prepares it.
Route open_route(const config::Config& cfg);

// Finishes an unused route: nullq-queue gets EOF without a byte and commits nothing.
void abandon(Route& route);

// Starts nullq-queue for one message (with -d for a private spool, -s queue.max_message_size).
Child start_queue(const config::Config& cfg);

// Prepares and queues one message (LF line endings already) by `route`, which is always finished or
// abandoned on return. A self commit refused for want of permission (root without CAP_DAC_OVERRIDE,
// a nullq user outside the drop group) has committed nothing, and goes through nullq-queue instead.
Injected inject(const config::Config& cfg, const msg::Context& ctx, std::string_view message, Route& route,
                const DsnRequest& request = {});

// open_route() then inject().
Injected inject(const config::Config& cfg, const msg::Context& ctx, std::string_view message,
                const DsnRequest& request = {});

// `sendmail -q` by a caller who may not write the spool: wakes a running nullq-send through
// `nullq-queue -t`. True if one was running and got the byte.
bool poke_running_flusher(const config::Config& cfg);

}  // namespace nullq::sendmail

// inject.hpp — one message from raw caller bytes to a committed queue file.
//
// Purpose:   the shared path of -bm (stdin) and -bs (each DATA): normalise, fix up headers, choose
//            the envelope, hand it to nullq-queue.
// Trust:     message and arguments come from the caller; nullq-queue validates again.
// Errors:    a sysexits code and one line; 0 means durably queued.
// Threading: single-threaded program.
#pragma once

#include <string>

#include "nullq/config.hpp"
#include "nullq/msg.hpp"
#include "spawn.hpp"

namespace nullq::sendmail {

struct Injected {
  int exit_code = 0;
  std::string message;  // one line on failure
  std::string id;       // queue id on success
};

// Fills the system parts of a msg::Context (login, gecos, clock, ids) from the config and process.
msg::Context system_context(const config::Config& cfg);

// Starts nullq-queue for one message. Called before the message is read, so that the program's
// start-up runs on another CPU while this one reads and prepares the message.
Child start_queue(const config::Config& cfg);

// Prepares and queues one message (LF line endings already) through a started nullq-queue, which is
// always finished or abandoned on return (abandoned, it commits nothing).
Injected inject(const config::Config& cfg, const msg::Context& ctx, std::string_view message, Child& queue);

// start_queue() then inject().
Injected inject(const config::Config& cfg, const msg::Context& ctx, std::string_view message);

}  // namespace nullq::sendmail

// mailq.hpp — `sendmail -bp` / `mailq`: list what is queued, and what failed, for the admin.
//
// Purpose:   one block per message (id, queued time, size, attempts, next try, sender, recipients,
//            last error), new/ and queue/ first, failed/ separately; the last line is Postfix's
//            summary of what waits: "-- N Kbytes in M Requests." ("Request." for one; N = the queue
//            files' bytes / 1024, rounded down, as Postfix's showq), or "Mail queue is empty".
// Trust:     queue files may be malformed; they are listed as such, never fatal.
// Errors:    an unreadable spool returns 77 with one line on stderr.
// Threading: single-threaded program.
#pragma once

#include <cstdio>

#include "nullq/config.hpp"

namespace nullq::sendmail {

int list_queue(const config::Config& cfg, std::FILE* out, std::FILE* err);

}  // namespace nullq::sendmail

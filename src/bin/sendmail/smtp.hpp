// smtp.hpp — `sendmail -bs`: an SMTP session on stdin/stdout (Symfony and Laravel use it).
//
// Purpose:   accept one or more messages through SMTP commands, each queued like `sendmail -i`.
// Trust:     the peer is the local caller; line length, message size and error count are bounded.
// Errors:    answered with SMTP codes; returns 0 after QUIT or EOF.
// Threading: single-threaded program.
#pragma once

#include <cstdio>

#include "nullq/config.hpp"
#include "options.hpp"

namespace nullq::sendmail {

// `queued` (if given) is set when a message was queued in the session.
int smtp_session(const config::Config& cfg, const Options& opt, std::FILE* in, std::FILE* out, bool* queued = nullptr);

}  // namespace nullq::sendmail

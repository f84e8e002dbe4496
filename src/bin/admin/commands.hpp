// commands.hpp — the `nullq` admin commands over the spool (status, list, show, flush, retry,
// bounce, drop) and the configuration/connectivity check.
//
// Purpose:   what a sysadmin runs to see and steer the queue without knowing its file layout.
// Trust:     run by root or the nullq user; ids from the command line are validated (queue::valid_id)
//            before they touch a path; queue files may be malformed and are shown as such.
// Errors:    each command returns an exit code (0 ok, 1 not found / problems, 64 usage, 74 I/O,
//            77 permission, 78 config) and prints one line on `err` when it fails.
// Threading: single-threaded program.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/config.hpp"

namespace nullq::admin {

// Every command `nullq` takes (main.cpp; the test of nullq(8) holds the page to it).
inline constexpr std::array<std::string_view, 12> command_names = {"status", "list",   "check", "flush",
                                                                   "show",   "retry",  "bounce", "drop",
                                                                   "oauth",  "import-nullmailer",
                                                                   "metrics", "route"};

int status(const config::Config& cfg, std::FILE* out, std::FILE* err);
// The same as one JSON object, for monitoring (the keys are documented in nullq(8)):
//   {"spool":"/var/spool/nullq","new":0,"queued":2,"due":1,"deferred":1,"failed":0,
//    "oldest_age_seconds":3600,"flusher_running":true,
//    "smarthosts":[{"host":"qmtp://relay","messages_with_error":2,"last_error":"...","last_error_at":1700000000}]}
// oldest_age_seconds is null when nothing waits; a smart host's last_error (and _at) is null when no
// queued message's last-error record names it. Exit codes as status.
int status_json(const config::Config& cfg, std::FILE* out, std::FILE* err);
int list(const config::Config& cfg, std::FILE* out, std::FILE* err);
// The id a command line names: an id, or a queue file name pasted from `ls queue/`
// (ID,ATTEMPTS,NEXT), which stands for its id. Anything else is returned as given (and refused).
std::string message_id(const std::string& given);
int show(const config::Config& cfg, const std::string& id, std::FILE* out, std::FILE* err);
int flush(const config::Config& cfg, std::FILE* out, std::FILE* err);
int retry(const config::Config& cfg, const std::string& id, std::FILE* out, std::FILE* err);
int bounce(const config::Config& cfg, const std::string& id, std::FILE* out, std::FILE* err);
int drop(const config::Config& cfg, const std::string& id, std::FILE* out, std::FILE* err);
// One SMTP smart host's session without mail, as check does it (banner, EHLO, TLS, AUTH with its
// password or OAuth token); `cfg` has its secrets loaded. Returns the number of problems.
int check_smtp_host(const config::Config& cfg, const config::SmartHost& h, std::FILE* out);
// Resolves and connects to every smart host; one verdict line each.
int check(const config::Config& cfg, std::FILE* out, std::FILE* err);
// `check --send ADDRESS`: queues one test message to ADDRESS with nullq-sendmail, runs
// nullq-send --once, and says where the message ended up, one "send: " line per step. 0 when a
// smart host accepted it (or the running flusher has it), 1 when not.
int check_send(const config::Config& cfg, const std::string& address, std::FILE* out);

}  // namespace nullq::admin

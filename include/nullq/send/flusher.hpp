// send/flusher.hpp — nullq-send: the queue flusher, as a daemon or for one run (--once).
//
// Purpose:   one libuv loop that accepts drops from new/, indexes queue/, delivers due messages
//            (oldest first) through the smart hosts with failover, records retries, bounces and
//            expires; woken only by the trigger FIFO, inotify on new/, a slow safety rescan
//            (5 min), due timers and signals.
//            Trigger byte: "look now" — accept new/ at once, and rescan queue/ (names only) so that
//            `nullq flush` renames (next=0) are seen; queue/ rescans are at most one per second.
// Trust:     drop files are hostile (validated by spool::Store); servers and DNS are hostile.
// Errors:    start-up problems are returned as an exit code with a one-line message on stderr:
//            64 usage, 78 configuration (also: started as root and the spool's user does not exist),
//            71 switching to that user failed, 73/74/75 spool, 77 the spool is not ours to open,
//            75 lock busy (daemon). Delivery problems are logged and kept in the queue, never fatal;
//            a queue file that cannot be read or moved is logged with its owner, mode and the fix.
// Privilege: started as root, it switches to the spool's user before it opens anything there
//            (privilege.hpp); the configuration is read first, as root.
// Logging:   syslog; stderr with priority prefixes under systemd; plain stderr with --stderr, and
//            for --once run at a terminal (with --quiet, warnings and errors only).
// Threading: one thread; run() owns the loop.
//
// Exit status of --once: 0 queue empty; 75 messages remain queued; a daemon already running is
// poked and --once exits 0 after saying so. The daemon exits 0 after TERM/INT.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nullq/privilege.hpp"

namespace nullq::send {

struct Options {
  std::string config_path;  // "" = config::default_path()
  bool once = false;
  bool quiet = false;  // --once: no summary line (cron mails any output)
  bool deferred_ok = false;  // --once: mail left queued for later exits 0, not 75 (sendmail -q);
                             // every other failure keeps its code
  bool force_stderr = false;
  bool log_summary = false;  // --once: the closing summary is a log line ("flushed: ..."), not
                             // stderr text (the run sendmail starts: delivery.without_daemon)
  bool help = false;
  bool version = false;
  // Whom a run started as root becomes (privilege.hpp); empty fields = the compiled-in spool and
  // user (NULLQ_SPOOL_DIR, NULLQ_USER). main() of a test build sets its own.
  privilege::Owner owner;
};

// Parses argv (without argv[0]). Returns false with a one-line `error` on a usage error.
bool parse_args(const std::vector<std::string>& args, Options& out, std::string& error);
const char* usage();

// Runs the flusher; returns the process exit status.
int run(const Options& options);

}  // namespace nullq::send

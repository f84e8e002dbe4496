// detached_run.hpp — delivery.without_daemon: deliver. After a commit, start one detached
// `nullq-send --once` when no flusher holds the spool lock (a container, a host without a service
// manager), so that the mail leaves within seconds.
//
// Purpose:   one run at a time, through the flusher lock: an arrival while a run (or the daemon)
//            holds it only pokes it (the commit already wrote the trigger byte). The run is a
//            grandchild in a session of its own (double fork + setsid): the caller reaps nothing,
//            keeps its exit code, and none of its descriptors stays open in the run (stdin and
//            stdout are /dev/null), so a caller waiting for EOF on sendmail's output (PHP, cron)
//            does not wait for the delivery. Its stderr (where nullq-send logs with log.target:
//            stderr) is $NULLQ_RUN_LOG when the environment is trusted (tests), else with
//            log.target: stderr the standard error of process 1 (in a container, the container's
//            log) when it may be opened, else /dev/null.
//            The race "the run decides it is done" / "a message is committed, sees the lock held,
//            starts nothing" is closed in the run: after each nullq-send --once it lists new/ and
//            runs again while anything is there, up to min_rounds runs, and after that while a name
//            is there that the previous look did not see (at most max_rounds runs). So a message
//            committed before the lock was released is taken by this run or by the next holder,
//            whose start-up accepts new/; a second run also covers a first one that lost the lock
//            to another sendmail's probe. A drop nullq-send leaves in new/ (unreadable) costs at
//            most min_rounds runs.
// Trust:     runs as the caller. Only a caller that could deliver starts a run: root (nullq-send
//            switches to the spool's user) or the owner of the spool's queue/ (nullq, or whoever
//            owns a private spool). Anyone else gets one warning line back; the mail stays queued.
// Errors:    never changes sendmail's exit code; returns a warning line ("" = none).
// Threading: single-threaded program; fork() is safe here.
#pragma once

#include <set>
#include <string>

#include "nullq/config.hpp"

namespace nullq::sendmail {

inline constexpr int min_rounds = 3;
inline constexpr int max_rounds = 20;

// After a commit: starts the run when the configuration asks for it, the caller may deliver and
// no flusher holds the lock. `config_path` is the file nullq-send is to read.
std::string start_detached_run(const config::Config& cfg, const std::string& config_path);

// Whether a process with these ids may run nullq-send --once on this spool (see Trust above).
bool may_deliver(const config::Config& cfg, uid_t ruid, uid_t euid, gid_t rgid, gid_t egid);

// True when some flusher holds spool/lock (a shared non-blocking probe; no lock file: false).
bool flusher_running(const std::string& queue_dir);

// Names in new/ now; and whether another run is due after `rounds_done` runs, given the names
// seen after the previous run (`before`) and now.
std::set<std::string> new_names(const std::string& queue_dir);
bool again(const std::set<std::string>& before, const std::set<std::string>& now, int rounds_done);

}  // namespace nullq::sendmail

// import_nullmailer.hpp — `nullq import-nullmailer`: nullmailer's configuration and queue into nullq.
//
// Purpose:   the way over from nullmailer. Reads /etc/nullmailer (remotes, me, defaulthost, ...) and
//            prints the equivalent nullq.yaml, with a comment wherever the meaning shifts; SMTP
//            passwords go to password files (never into the YAML, which every sendmail caller reads).
//            With --queue, moves the messages still in nullmailer's queue into nullq's spool.
// Trust:     nullmailer's files are the admin's but may be broken, hand-edited or half-written: every
//            line is checked, nothing unparsed is guessed at. Queue files are length-capped and
//            validated before anything is written. Secrets never reach stdout, a comment or an error.
// Errors:    exit 0 when everything was carried over; 1 when the YAML was printed but something was
//            left out (each said on stderr with file and line); 65 when queue files could not be
//            parsed (left in place, one line each); 64 usage; 73/74/75/77 when a file cannot be read or
//            written; 78 when nullq's own configuration (for --queue) is broken.
// Threading: single-threaded program.
//
// nullmailer's formats (2.x, as Debian 12 ships it):
//   control files: first line, whitespace stripped; empty = absent.
//   remotes:       one remote a line, "HOST [PROTOCOL [OPTION...]]", protocol smtp by default; lines
//                  starting with '#' and blank lines are skipped; words split as a shell would ('...',
//                  "..." with \ escapes, \x); each option is one word, "--" optional, NAME or NAME=VALUE.
//   queue files:   /var/spool/nullmailer/queue/<time>.<pid>: the envelope sender (empty for bounces),
//                  one recipient a line, an empty line, then the message as it is to be sent; its
//                  mtime is when it was queued (queuelifetime counts from there).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "nullq/config.hpp"

namespace nullq::admin {

struct ImportOptions {
  std::string dir = "/etc/nullmailer";         // nullmailer's configuration directory
  std::string password_dir = "/etc/nullq";     // where SMTP password files are written
  bool queue = false;                          // move the queue instead of printing the YAML
  std::string spool = "/var/spool/nullmailer";  // nullmailer's spool (its queue/ is moved)
};

// Prints the nullq.yaml for `opt.dir` on `out`, warnings and where passwords went on `err`.
int import_config(const ImportOptions& opt, std::FILE* out, std::FILE* err);

// Moves every message in `opt.spool`/queue into `cfg.queue_dir`/new: each one committed with
// queue::Drop (fsync, link, fsync new/) before its nullmailer file is unlinked, so a crash in
// between leaves a duplicate, never a loss. Unparsable files stay, one line each on `err`.
int import_queue(const ImportOptions& opt, const config::Config& cfg, std::FILE* out, std::FILE* err);

// `nullq import-nullmailer [--queue] [--spool DIR] [--password-dir DIR] [DIR]`; args[0] is the
// command name. `config_path` is nullq's configuration (read only for --queue, for queue.dir).
int import_nullmailer(const std::vector<std::string>& args, const std::string& config_path, std::FILE* out,
                      std::FILE* err);

}  // namespace nullq::admin

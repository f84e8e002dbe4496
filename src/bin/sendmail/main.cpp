// nullq-sendmail: the sendmail command line (also mailq and newaliases, by argv[0]).
// Runs as the caller. Exit 0 only when the message is durably queued; otherwise a sysexits code and
// one line on stderr, also sent to syslog because cron only logs the code. A configuration error in a
// setting it does not need to queue is a warning (one line, stderr and syslog), never a lost message.
#include <syslog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "detached_run.hpp"
#include "inject.hpp"
#include "mailq.hpp"
#include "nullq/config.hpp"
#include "nullq/environment.hpp"
#include "nullq_build_config.h"
#include "options.hpp"
#include "smtp.hpp"
#include "spawn.hpp"

namespace {

std::string program_name(const char* argv0) {
  std::string s = argv0 ? argv0 : "sendmail";
  return s.substr(s.rfind('/') + 1);
}

int fail(const std::string& prog, int code, const std::string& msg) {
  std::fprintf(stderr, "%s: %s\n", prog.c_str(), msg.c_str());
  ::openlog("nullq-sendmail", LOG_PID, LOG_MAIL);
  ::syslog(LOG_ERR, "uid %u: %s (exit %d)", static_cast<unsigned>(::getuid()), msg.c_str(), code);
  return code;
}

// A warning that does not change the exit code: the same line to stderr (cron mails it) and syslog.
void warn(const std::string& prog, const std::string& msg) {
  std::fprintf(stderr, "%s: warning: %s\n", prog.c_str(), msg.c_str());
  ::openlog("nullq-sendmail", LOG_PID, LOG_MAIL);
  ::syslog(LOG_WARNING, "uid %u: warning: %s", static_cast<unsigned>(::getuid()), msg.c_str());
}

// Reads stdin up to `limit` + 1 bytes (so "too big" can be told apart).
bool read_stdin(std::string& out, std::uint64_t limit) {
  char buf[65536];
  for (;;) {
    std::size_t n = std::fread(buf, 1, sizeof buf, stdin);
    out.append(buf, n);
    if (out.size() > limit) return true;
    if (n < sizeof buf) return !std::ferror(stdin);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string prog = program_name(argv[0]);
  if (prog != "mailq" && prog != "newaliases") prog = "sendmail";
  auto opt = nullq::sendmail::parse(prog, std::vector<std::string>(argv + 1, argv + argc));
  if (!opt) return fail(prog, 64, opt.error().detail);
  if (opt->mode == nullq::sendmail::Mode::help) {
    std::fputs(nullq::sendmail::usage_text(prog).c_str(), stdout);
    return 0;
  }
  if (opt->mode == nullq::sendmail::Mode::version) {
    std::printf("nullq-sendmail %s\n", NULLQ_VERSION);
    return 0;
  }
  if (opt->mode == nullq::sendmail::Mode::aliases) return 0;  // no aliases database: nothing to rebuild

  // A set-id caller that kept its ids must not choose the config (where mail goes, what is read).
  if (!opt->config.empty() && nullq::environment::unsafe())
    return fail(prog, 64, "-C is refused when run with differing real and effective ids (set-id)");
  std::string path = opt->config.empty() ? nullq::config::default_path() : opt->config;
  if (opt->mode == nullq::sendmail::Mode::flush) {
    // A flush runs nullq-send, which refuses a broken file anyway: say so here, in one line.
    auto cfg = nullq::config::load(path);
    if (!cfg) return fail(prog, 78, cfg.error().detail);
    // Whoever may not run a flush can still wake a running daemon (through nullq-queue, which may
    // write the trigger); without one, the flush below says why it cannot run.
    if (!nullq::sendmail::may_write_spool(*cfg) && nullq::sendmail::poke_running_flusher(*cfg)) {
      std::fprintf(stderr, "%s: asked the running nullq-send to deliver now\n", prog.c_str());
      return 0;
    }
    std::string send = nullq::environment::locate("NULLQ_SEND_PROGRAM", "nullq-send", NULLQ_SBINDIR);
    if (::access(send.c_str(), X_OK) != 0) return fail(prog, 69, "cannot flush: " + send + " is not installed");
    ::setenv("NULLQ_CONFIG", path.c_str(), 1);
    // Quiet as Postfix's sendmail -q: cron mails whatever a job prints. Errors still show.
    // Mail left queued for a later attempt (deferred, not yet due) is not a failure of the flush: the
    // queue stays, as after Postfix's `sendmail -q`, and the exit status is 0 (--deferred-ok). What
    // stops a flush (a spool or resolver problem) keeps its code and its line on stderr.
    return nullq::sendmail::run_inherit({send, "--once", "--quiet", "--deferred-ok"});
  }

  // Exit 0 means queued: an error in a setting this program does not use must not cost the
  // message (nullq-send, `nullq check` and the unit refuse the file; here it is a warning).
  auto loaded = nullq::config::load_for_injector(path);
  if (!loaded) return fail(prog, 78, loaded.error().detail);
  if (!loaded->problem.empty())
    warn(prog, loaded->problem + (loaded->defaults ? " (going on with the built-in settings)"
                                                   : " (a setting sendmail does not need; nullq-send refuses the file)"));
  const nullq::config::Config* cfg = &loaded->config;

  switch (opt->mode) {
    case nullq::sendmail::Mode::list:
      return nullq::sendmail::list_queue(*cfg, stdout, stderr);
    case nullq::sendmail::Mode::smtp: {
      bool queued = false;
      int rc = nullq::sendmail::smtp_session(*cfg, *opt, stdin, stdout, &queued);
      if (queued)
        if (std::string w = nullq::sendmail::start_detached_run(*cfg, path); !w.empty()) warn(prog, w);
      return rc;
    }
    default:
      break;
  }

  nullq::sendmail::Route queue = nullq::sendmail::open_route(*cfg);
  std::string raw;
  if (!read_stdin(raw, cfg->max_message_size + cfg->max_message_size / 8 + 65536)) {
    nullq::sendmail::abandon(queue);
    return fail(prog, 74, "cannot read the message from standard input");
  }
  std::string message = nullq::msg::normalise_input(raw, opt->ignore_dots);
  raw.clear();
  raw.shrink_to_fit();

  nullq::msg::Context ctx = nullq::sendmail::system_context(*cfg);
  ctx.extract_recipients = opt->extract;
  ctx.sender_given = opt->sender_given;
  ctx.sender = opt->sender;
  if (opt->name_given) ctx.full_name = opt->full_name;
  else if (const char* name = std::getenv("NAME"); name && *name) ctx.full_name = name;
  ctx.arguments = opt->recipients;
  nullq::sendmail::DsnRequest request{opt->mail_dsn, opt->notify, {}};
  auto r = nullq::sendmail::inject(*cfg, ctx, message, queue, request);
  if (r.exit_code != 0) return fail(prog, r.exit_code, r.message);
  if (opt->verbose) std::fprintf(stderr, "%s: queued as %s\n", prog.c_str(), r.id.c_str());
  message.clear();
  message.shrink_to_fit();  // a detached run is forked from this process: let it not keep the copy
  if (std::string w = nullq::sendmail::start_detached_run(*cfg, path); !w.empty()) warn(prog, w);
  return 0;
}

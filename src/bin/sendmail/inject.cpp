#include "inject.hpp"

#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <ctime>

#include "nullq/envelope.hpp"
#include "nullq/environment.hpp"
#include "nullq/identity.hpp"
#include "nullq/submit.hpp"
#include "nullq_build_config.h"
#include "spawn.hpp"

namespace nullq::sendmail {

namespace {

std::string id_token(std::int64_t now) {
  unsigned char b[8] = {};
  if (::getrandom(b, sizeof b, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof b))
    for (auto& c : b) c = static_cast<unsigned char>(::getpid() ^ std::time(nullptr));
  static const char hex[] = "0123456789abcdef";
  std::string s = std::to_string(now) + ".";
  for (unsigned char c : b) s += hex[c >> 4], s += hex[c & 15];
  return s;
}

std::vector<std::string> queue_argv(const config::Config& cfg) {
  std::vector<std::string> argv{environment::locate("NULLQ_QUEUE_PROGRAM", "nullq-queue", NULLQ_LIBEXECDIR)};
  if (cfg.queue_dir != NULLQ_SPOOL_DIR) {
    argv.push_back("-d");
    argv.push_back(cfg.queue_dir);
  }
  return argv;
}

// What nullq-queue does with its input, done here: the same core commit code, the same spool
// preparation for a private spool, the same umask, and the file given tmp/'s group (the drop group
// in the packaged spool, which nullq-queue gets from its set-gid bit).
submit::Outcome commit_here(const config::Config& cfg, std::string_view framing, std::string_view message) {
  ::umask(027);
  std::signal(SIGXFSZ, SIG_IGN);  // over RLIMIT_FSIZE, write() fails with EFBIG instead
  queue::Spool spool{cfg.queue_dir};
  if (cfg.queue_dir != NULLQ_SPOOL_DIR)
    if (auto s = queue::ensure_spool(spool); !s) return {submit::exit_code_for(s.error()), s.error().message(), {}};
  auto group = queue::drop_group(spool);
  if (!group) return {submit::exit_code_for(group.error()), group.error().message(), {}};
  return submit::submit(framing, message,
                        {spool, cfg.max_message_size, ::getuid(), static_cast<std::int64_t>(std::time(nullptr)), *group,
                         cfg.queue_min_free});
}

// Each prepared recipient's DSN request: the one of the argument that named it (-bs RCPT), else -N's.
std::vector<dsn::RecipientParams> recipient_dsn(const msg::Context& ctx, const std::vector<std::string>& rcpts,
                                                const DsnRequest& request) {
  std::vector<dsn::RecipientParams> out(rcpts.size(), request.every);
  std::vector<bool> set(rcpts.size(), false);
  for (std::size_t i = 0; i < request.per_argument.size() && i < ctx.arguments.size(); ++i) {
    auto addrs = msg::recipients_of(ctx.arguments[i], ctx);
    if (!addrs) continue;
    for (const auto& a : *addrs)
      for (std::size_t k = 0; k < rcpts.size(); ++k)
        if (!set[k] && rcpts[k] == a) {
          set[k] = true;
          out[k] = request.per_argument[i];
        }
  }
  bool any = false;
  for (const auto& p : out) any = any || !p.empty();
  if (!any) out.clear();
  return out;
}

}  // namespace

bool may_write_spool(const config::Config& cfg) {
  uid_t uid = ::getuid();
  if (uid != ::geteuid()) return false;
  if (uid == 0) return true;
  // A stat first, so that an ordinary user pays no passwd lookup before nullq-queue is started.
  struct stat st {};
  if (::stat(cfg.queue_dir.c_str(), &st) != 0 || st.st_uid != uid) return false;
  auto user = identity::user_by_uid(uid);
  return user && user->login == NULLQ_USER;
}

Route open_route(const config::Config& cfg) {
  Route r;
  r.self = !environment::trusted_getenv("NULLQ_QUEUE_PROGRAM") && may_write_spool(cfg);
  if (!r.self) r.child = start_queue(cfg);
  return r;
}

void abandon(Route& route) {
  if (!route.self) abandon(route.child);
}

bool poke_running_flusher(const config::Config& cfg) {
  auto argv = queue_argv(cfg);
  argv.push_back("-t");
  Child c = start(argv);
  return finish(c, {}, {}).exit_code == 0;
}

msg::Context system_context(const config::Config& cfg) {
  msg::Context c;
  c.domain = cfg.domain;
  c.hostname = cfg.hostname;
  c.idhost = cfg.idhost;
  c.admin = cfg.admin;
  c.rewrite_sender = cfg.rewrite_sender;
  c.rewrite_header_from = cfg.rewrite_header_from;
  if (auto user = identity::user_by_uid(::getuid())) {
    c.login = user->login;
    c.gecos_name = user->gecos.substr(0, user->gecos.find(','));
  } else {
    c.login = "uid" + std::to_string(::getuid());
  }
  c.now = static_cast<std::int64_t>(std::time(nullptr));
  c.id_token = id_token(c.now);
  return c;
}

Child start_queue(const config::Config& cfg) {
  std::vector<std::string> argv = queue_argv(cfg);
  argv.push_back("-s");
  argv.push_back(std::to_string(cfg.max_message_size));
  return start(argv);
}

Injected inject(const config::Config& cfg, const msg::Context& ctx, std::string_view message, Route& route,
                const DsnRequest& request) {
  auto refuse = [&route](int code, std::string why) {
    abandon(route);
    return Injected{code, std::move(why), {}};
  };
  if (message.size() > cfg.max_message_size)
    return refuse(65, "message exceeds maximum size of " + std::to_string(cfg.max_message_size) + " bytes");
  auto prepared = msg::prepare(msg::split_message(message), ctx);
  if (!prepared) return refuse(prepared.error().domain == ErrorDomain::usage ? 64 : 65, prepared.error().detail);
  for (const auto& r : prepared->recipients)
    if (auto s = envelope::validate_new_address(r, false); !s) return refuse(65, "bad recipient: " + s.error().detail);
  if (auto s = envelope::validate_new_address(prepared->sender, true); !s)
    return refuse(65, "bad sender: " + s.error().detail);

  std::string framing = envelope::encode_drop(prepared->sender, prepared->recipients, request.message,
                                              recipient_dsn(ctx, prepared->recipients, request));
  if (route.self) {
    submit::Outcome o = commit_here(cfg, framing, prepared->message);
    if (o.exit_code != 77) return {o.exit_code, std::move(o.message), std::move(o.id)};
    route.self = false;  // nothing was committed; the set-gid program may still be able to
    route.child = start_queue(cfg);
  }
  Finished f = finish(route.child, framing, prepared->message);
  if (f.exit_code != 0) return {f.exit_code, f.err.empty() ? "nullq-queue failed with status " + std::to_string(f.exit_code) : f.err, {}};
  return {0, {}, f.out};
}

Injected inject(const config::Config& cfg, const msg::Context& ctx, std::string_view message,
                const DsnRequest& request) {
  Route route = open_route(cfg);
  return inject(cfg, ctx, message, route, request);
}

}  // namespace nullq::sendmail

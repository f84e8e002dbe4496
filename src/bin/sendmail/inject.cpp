#include "inject.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <ctime>

#include "nullq/envelope.hpp"
#include "nullq/identity.hpp"
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

}  // namespace

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
  std::vector<std::string> argv{locate("NULLQ_QUEUE_PROGRAM", "nullq-queue", NULLQ_LIBEXECDIR)};
  if (cfg.queue_dir != NULLQ_SPOOL_DIR) {
    argv.push_back("-d");
    argv.push_back(cfg.queue_dir);
  }
  argv.push_back("-s");
  argv.push_back(std::to_string(cfg.max_message_size));
  return start(argv);
}

Injected inject(const config::Config& cfg, const msg::Context& ctx, std::string_view message, Child& queue) {
  auto refuse = [&queue](int code, std::string why) {
    abandon(queue);
    return Injected{code, std::move(why), {}};
  };
  if (message.size() > cfg.max_message_size)
    return refuse(65, "message exceeds maximum size of " + std::to_string(cfg.max_message_size) + " bytes");
  auto prepared = msg::prepare(msg::split_message(message), ctx);
  if (!prepared) return refuse(prepared.error().domain == ErrorDomain::usage ? 64 : 65, prepared.error().detail);
  for (const auto& r : prepared->recipients)
    if (auto s = envelope::validate_address(r, false); !s) return refuse(65, "bad recipient: " + s.error().detail);
  if (auto s = envelope::validate_address(prepared->sender, true); !s)
    return refuse(65, "bad sender: " + s.error().detail);

  std::string framing = envelope::encode_drop(prepared->sender, prepared->recipients);
  Finished f = finish(queue, framing, prepared->message);
  if (f.exit_code != 0) return {f.exit_code, f.err.empty() ? "nullq-queue failed with status " + std::to_string(f.exit_code) : f.err, {}};
  return {0, {}, f.out};
}

Injected inject(const config::Config& cfg, const msg::Context& ctx, std::string_view message) {
  Child queue = start_queue(cfg);
  return inject(cfg, ctx, message, queue);
}

}  // namespace nullq::sendmail

// nullq: the admin command. `nullq [--config PATH] COMMAND [ID]` (--config may also follow).
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "check_queue.hpp"
#include "commands.hpp"
#include "metrics.hpp"
#include "import_nullmailer.hpp"
#include "oauth.hpp"
#include "route.hpp"
#include "nullq/printable.hpp"
#include "nullq/privilege.hpp"
#include "nullq/suggest.hpp"
#include "nullq_build_config.h"

namespace {

constexpr const char* usage_text =
    "usage: nullq [--config PATH] status [--json]|list|check [--send ADDRESS]|flush\n"
    "       nullq [--config PATH] metrics | check --queue WARN,CRIT [--age WARN,CRIT]\n"
    "       nullq [--config PATH] show|retry|bounce|drop ID\n"
    "       nullq [--config PATH] oauth login HOST | oauth status\n"
    "       nullq [--config PATH] route ADDRESS [--from SENDER]\n"
    "       nullq import-nullmailer [--password-dir DIR] [NULLMAILER-DIR]\n"
    "       nullq [--config PATH] import-nullmailer --queue [--spool NULLMAILER-SPOOL]\n"
    "       nullq --help | --version\n"
    "  -c, --config PATH  configuration file (default: $NULLQ_CONFIG, else " NULLQ_CONFIG_PATH ")\n";


// "unknown command 'lsit' (did you mean 'list'?)"; an option gets "unknown option '--bogus'".
std::string unknown(const std::string& word) {
  if (word.size() > 1 && word[0] == '-') return "unknown option '" + nullq::printable(word, 80) + "'";
  std::string_view best = nullq::closest(word, nullq::admin::command_names);
  return "unknown command '" + nullq::printable(word, 80) + "'" +
         (best.empty() ? std::string() : " (did you mean '" + std::string(best) + "'?)");
}

int usage(const std::string& why) {
  std::fprintf(stderr, "nullq: %s\n%s", why.c_str(), usage_text);
  return 64;
}

// Whom flush, retry, bounce and drop become when started as root (privilege.hpp).
nullq::privilege::Owner spool_owner() {
#ifdef NULLQ_TEST_USER
  // A test build (tests/integration/owner): its own system spool, user and account files.
  return {NULLQ_TEST_SPOOL_DIR, NULLQ_TEST_USER, {NULLQ_TEST_PASSWD_FILE, NULLQ_TEST_GROUP_FILE}};
#else
  return {NULLQ_SPOOL_DIR, NULLQ_USER, {}};
#endif
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // fds 0-2 must exist: a socket or pipe opened later would otherwise take one of them, and libuv
  // aborts when it closes a descriptor <= 2 (nullq check and oauth status started with stdin closed).
  for (int fd = 0; fd <= 2; ++fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 && ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd) return 71;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string path = nullq::config::default_path();
  // --config PATH (or --config=PATH, or -c PATH as nullq-send takes it) before or after the command:
  // "nullq check --config x.yaml".
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == "--config" || args[i] == "-c") {
      if (i + 1 >= args.size() || args[i + 1].empty()) return usage(args[i] + " needs a file name");
      path = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    } else if (args[i].rfind("--config=", 0) == 0) {
      path = args[i].substr(9);
      if (path.empty()) return usage("--config needs a file name");
      args.erase(args.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
  if (args.empty()) return usage("no command given");
  const std::string cmd = args[0];
  // "nullq status --help" too: help wherever it is asked for.
  if (cmd == "--help" || cmd == "-h" || cmd == "help" || std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::fputs(usage_text, stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("nullq %s\n", NULLQ_VERSION);
    return 0;
  }
  if (cmd == "route") return nullq::admin::route_command(args, path, stdout, stderr);
  if (cmd == "import-nullmailer") return nullq::admin::import_nullmailer(args, path, stdout, stderr);
  if (cmd == "oauth") {
    const bool login = args.size() >= 2 && args[1] == "login";
    if (!login && !(args.size() == 2 && args[1] == "status"))
      return usage(args.size() < 2 ? "oauth needs login HOST or status"
                                   : "oauth takes login HOST or status, not '" + nullq::printable(args[1], 80) + "'");
    if (login && args.size() != 3) return usage("oauth login needs one smart host (its host name or URL)");
    auto cfg = nullq::config::load(path);
    if (!cfg) {
      std::fprintf(stderr, "nullq: %s\n", cfg.error().detail.c_str());
      return 78;
    }
    // login makes the token store for the spool's user, then becomes that user itself.
    if (login) return nullq::admin::oauth_login(*cfg, {args.begin() + 1, args.end()}, spool_owner(), stdout, stderr);
    std::string error;
    if (int rc = nullq::privilege::become(cfg->queue_dir, spool_owner(), "nullq", error); rc != 0) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return rc;
    }
    return nullq::admin::oauth_status(*cfg, stdout, stderr);
  }
  // The Nagios/Icinga plug-in: its own exit codes (3 for every problem), and no change of user,
  // so that a monitoring agent's account can run it.
  if (cmd == "check" && nullq::admin::is_check_queue(args)) return nullq::admin::check_queue(args, path, stdout);
  const bool wants_id = cmd == "show" || cmd == "retry" || cmd == "bounce" || cmd == "drop";
  const bool plain = cmd == "status" || cmd == "list" || cmd == "check" || cmd == "flush" || cmd == "metrics";
  if (!wants_id && !plain) return usage(unknown(cmd));
  if (wants_id && args.size() != 2) return usage(cmd + " needs one message id");
  const bool json = cmd == "status" && args.size() == 2 && args[1] == "--json";
  if (cmd == "status" && args.size() != 1 && !json)
    return usage("status takes only --json, not '" + nullq::printable(args.back(), 80) + "'");
  // check --send ADDRESS: one real test message after the checks.
  std::string send_to;
  if (cmd == "check" && args.size() >= 2 && (args[1] == "--send" || args[1].rfind("--send=", 0) == 0)) {
    send_to = args[1] == "--send" ? (args.size() == 3 ? args[2] : "") : args[1].substr(7);
    if (send_to.empty() || args.size() != (args[1] == "--send" ? 3u : 2u))
      return usage("check --send needs one address");
  } else if (cmd == "check" && args.size() != 1) {
    return usage("check takes only --send ADDRESS, not '" + nullq::printable(args[1], 80) + "'");
  }
  if (plain && args.size() != 1 && !json && send_to.empty()) return usage(cmd + " takes no arguments");

  auto cfg = nullq::config::load(path);
  if (!cfg) {
    std::fprintf(stderr, "nullq: %s\n", cfg.error().detail.c_str());
    return 78;
  }
  // The commands that change the spool run as its owner, so that nothing there becomes root's;
  // check runs as the daemon would, so that it reads the password_file as the daemon's user.
  if (cmd == "flush" || cmd == "retry" || cmd == "bounce" || cmd == "drop" || cmd == "check") {
    std::string error;
    if (int rc = nullq::privilege::become(cfg->queue_dir, spool_owner(), "nullq", error); rc != 0) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return rc;
    }
  }
  if (cmd == "status") return json ? nullq::admin::status_json(*cfg, stdout, stderr) : nullq::admin::status(*cfg, stdout, stderr);
  if (cmd == "list") return nullq::admin::list(*cfg, stdout, stderr);
  if (cmd == "metrics") return nullq::admin::metrics(*cfg, stdout, stderr);
  if (cmd == "check") {
    int rc = nullq::admin::check(*cfg, stdout, stderr);
    if (send_to.empty() || rc == 78) return rc;
    std::fflush(stdout);
    int sent = nullq::admin::check_send(*cfg, send_to, stdout);
    return rc != 0 ? rc : sent;
  }
  if (cmd == "flush") return nullq::admin::flush(*cfg, stdout, stderr);
  const std::string id = nullq::admin::message_id(args[1]);
  if (cmd == "show") return nullq::admin::show(*cfg, id, stdout, stderr);
  if (cmd == "retry") return nullq::admin::retry(*cfg, id, stdout, stderr);
  if (cmd == "bounce") return nullq::admin::bounce(*cfg, id, stdout, stderr);
  return nullq::admin::drop(*cfg, id, stdout, stderr);
}

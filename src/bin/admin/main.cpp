// nullq: the admin command. `nullq [--config PATH] COMMAND [ID]` (--config may also follow).
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "import_nullmailer.hpp"

namespace {

int usage(const std::string& why) {
  std::fprintf(stderr,
               "nullq: %s\nusage: nullq [--config PATH] status|list|check|flush\n"
               "       nullq [--config PATH] show|retry|bounce|drop ID\n"
               "       nullq import-nullmailer [--password-dir DIR] [NULLMAILER-DIR]\n"
               "       nullq [--config PATH] import-nullmailer --queue [--spool NULLMAILER-SPOOL]\n",
               why.c_str());
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string path = nullq::config::default_path();
  // --config PATH (or --config=PATH) before or after the command: "nullq check --config x.yaml".
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == "--config") {
      if (i + 1 >= args.size() || args[i + 1].empty()) return usage("--config needs a file name");
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
  if (cmd == "import-nullmailer") return nullq::admin::import_nullmailer(args, path, stdout, stderr);
  const bool wants_id = cmd == "show" || cmd == "retry" || cmd == "bounce" || cmd == "drop";
  const bool plain = cmd == "status" || cmd == "list" || cmd == "check" || cmd == "flush";
  if (!wants_id && !plain) return usage("unknown command '" + cmd + "'");
  if (wants_id && args.size() != 2) return usage(cmd + " needs one message id");
  if (plain && args.size() != 1) return usage(cmd + " takes no arguments");

  auto cfg = nullq::config::load(path);
  if (!cfg) {
    std::fprintf(stderr, "nullq: %s\n", cfg.error().detail.c_str());
    return 78;
  }
  if (cmd == "status") return nullq::admin::status(*cfg, stdout, stderr);
  if (cmd == "list") return nullq::admin::list(*cfg, stdout, stderr);
  if (cmd == "check") return nullq::admin::check(*cfg, stdout, stderr);
  if (cmd == "flush") return nullq::admin::flush(*cfg, stdout, stderr);
  if (cmd == "show") return nullq::admin::show(*cfg, args[1], stdout, stderr);
  if (cmd == "retry") return nullq::admin::retry(*cfg, args[1], stdout, stderr);
  if (cmd == "bounce") return nullq::admin::bounce(*cfg, args[1], stdout, stderr);
  return nullq::admin::drop(*cfg, args[1], stdout, stderr);
}

// nullq-send's command line (see include/nullq/send/flusher.hpp).
#include <string>
#include <vector>

#include "nullq/send/flusher.hpp"
#include "nullq_build_config.h"

namespace nullq::send {

const char* usage() {
  return "usage: nullq-send [--once [--quiet] [--deferred-ok] [--log-summary]] [--config PATH] [--stderr]\n"
         "  --once         deliver everything due, then exit (0: queue empty, 75: mail left queued)\n"
         "  --quiet        with --once: no closing summary on stderr, only errors (for cron)\n"
         "  --deferred-ok  with --once: exit 0, not 75, when the only thing left is mail queued for later\n"
         "  --log-summary  with --once: the closing summary goes to the log (as sendmail's runs do)\n"
         "  --config PATH  configuration file (default: $NULLQ_CONFIG, else " NULLQ_CONFIG_PATH ")\n"
         "  --stderr       log to stderr without priority prefixes (default: syslog, or the journal)\n";
}

bool parse_args(const std::vector<std::string>& args, Options& out, std::string& error) {
  out = Options{};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--once" || a == "-1") {
      out.once = true;
    } else if (a == "--quiet") {
      out.quiet = true;
    } else if (a == "--deferred-ok") {
      out.deferred_ok = true;
    } else if (a == "--log-summary") {
      out.log_summary = true;
    } else if (a == "--stderr") {
      out.force_stderr = true;
    } else if (a == "--help" || a == "-h") {
      out.help = true;
    } else if (a == "--version") {
      out.version = true;
    } else if (a == "--config" || a == "-c") {
      if (i + 1 >= args.size()) {
        error = a + " needs a file name";
        return false;
      }
      out.config_path = args[++i];
      if (out.config_path.empty()) {
        error = a + " needs a file name";
        return false;
      }
    } else if (a.rfind("--config=", 0) == 0) {
      out.config_path = a.substr(9);
      if (out.config_path.empty()) {
        error = "--config needs a file name";
        return false;
      }
    } else {
      error = "unknown argument '" + a + "'";
      return false;
    }
  }
  return true;
}

}  // namespace nullq::send

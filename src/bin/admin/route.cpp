// `nullq route` and the route table of `nullq check` (see route.hpp).
#include "route.hpp"

#include "nullq/printable.hpp"
#include "nullq/send/routes.hpp"

namespace nullq::admin {

namespace {

int usage(std::FILE* err, const std::string& why) {
  std::fprintf(err, "nullq: %s\nusage: nullq [--config PATH] route ADDRESS [--from SENDER]\n", why.c_str());
  return 64;
}

// A mail address as an envelope holds it: no spaces, brackets or separators.
bool plain_address(const std::string& a) {
  return !a.empty() && a.size() <= 320 && a.find_first_of(" \t\r\n<>,;\"()") == std::string::npos &&
         a.front() != '@' && a.back() != '@';
}

std::string host_list(const config::Config& cfg, std::size_t route) {
  std::string out;
  int n = 0;
  for (std::size_t h : send::route_hosts(cfg, route)) {
    const auto& host = cfg.smarthosts[h];
    std::string line = std::to_string(++n) + ". " + host.name;
    if (host.name != host.text) line += " (" + host.text + ")";
    out += "  " + printable(line, 600) + "\n";
  }
  return out;
}

}  // namespace

void print_route_table(const config::Config& cfg, std::FILE* out) {
  if (cfg.routes.empty()) {
    std::fprintf(out, "routes: none: every recipient takes every smart host in order\n");
    return;
  }
  for (std::size_t i = 0; i < cfg.routes.size(); ++i)
    std::fprintf(out, "route %zu (line %d): %s\n", i + 1, cfg.routes[i].line,
                 printable(send::describe_route(cfg, i), 1000).c_str());
}

int route_command(const std::vector<std::string>& args, const std::string& config_path, std::FILE* out,
                  std::FILE* err) {
  std::string address, from;
  bool from_given = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--from" || a == "-f") {
      if (i + 1 >= args.size()) return usage(err, a + " needs a sender address (\"\" for the null sender)");
      from = args[++i];
      from_given = true;
    } else if (a.rfind("--from=", 0) == 0) {
      from = a.substr(7);
      from_given = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage(err, "route takes only --from SENDER, not '" + printable(a, 80) + "'");
    } else if (address.empty()) {
      address = a;
    } else {
      return usage(err, "route takes one address, not also '" + printable(a, 80) + "'");
    }
  }
  if (address.empty()) return usage(err, "route needs a recipient address");
  if (!plain_address(address)) return usage(err, "'" + printable(address, 80) + "' is not a mail address like user@example.org");
  if (from == "<>") from.clear();
  if (!from.empty() && !plain_address(from))
    return usage(err, "--from '" + printable(from, 80) + "' is not a mail address like user@example.org");
  auto cfg = config::load(config_path);
  if (!cfg) {
    std::fprintf(err, "nullq: %s\n", cfg.error().detail.c_str());
    return 78;
  }
  // As nullq-sendmail would queue them: a bare name in the default domain, rewrite.sender forced.
  if (address.find('@') == std::string::npos) address += "@" + cfg->domain;
  if (!from.empty() && from.find('@') == std::string::npos) from += "@" + cfg->domain;
  std::string from_note;
  if (!cfg->rewrite_sender.empty()) {
    if (from_given && from != cfg->rewrite_sender) from_note = " (rewrite.sender replaces " + (from.empty() ? "<>" : from) + ")";
    from = cfg->rewrite_sender;
  } else if (!from_given) {
    from_note = " (no --from given: sender rules do not match)";
  }
  const std::size_t r = send::match_route(*cfg, from, address);
  std::fprintf(out, "recipient: %s\n", printable(address, 320).c_str());
  std::fprintf(out, "sender: %s%s\n", from.empty() ? "<>" : printable(from, 320).c_str(), printable(from_note, 400).c_str());
  if (r == send::all_hosts) {
    std::fprintf(out, "route: none configured: every smart host in order\n");
  } else {
    std::fprintf(out, "route: %zu (line %d): %s\n", r + 1, cfg->routes[r].line,
                 printable(send::describe_route(*cfg, r), 1000).c_str());
    std::fprintf(out, "why: %s\n", printable(send::route_reason(*cfg, r, from, address), 1000).c_str());
  }
  std::fprintf(out, "hosts, tried in order:\n%s", host_list(*cfg, r).c_str());
  return 0;
}

}  // namespace nullq::admin

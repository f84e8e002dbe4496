// route.hpp — `nullq route ADDRESS [--from SENDER]` and the route table `nullq check` prints.
//
// Purpose:   show which rule of `routes:` a recipient takes, why, and the smart hosts in order
//            (send/routes.hpp decides; this only prints).
// Trust:     the address and sender come from the command line: checked for shape, echoed printable.
// Errors:    exit 0 when shown, 64 for a malformed command line or address, 78 for a bad config.
// Threading: single-threaded program.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "nullq/config.hpp"

namespace nullq::admin {

// args[0] is "route". Loads the configuration from `config_path` itself.
int route_command(const std::vector<std::string>& args, const std::string& config_path, std::FILE* out,
                  std::FILE* err);
// "routes: ..." lines for `nullq check`: one per rule, or that every smart host is used in order.
void print_route_table(const config::Config& cfg, std::FILE* out);

}  // namespace nullq::admin

// check_queue.hpp — `nullq check --queue WARN,CRIT [--age WARN,CRIT]`, a Nagios/Icinga plug-in.
//
// Purpose:   one status line and the plug-in exit codes, so that nothing needs to parse mailq:
//              NULLQ QUEUE OK - 3 messages, oldest 5m | messages=3;10;20;0 oldest=300s;1800;7200;0
//            messages = what waits for delivery (new/ and queue/), oldest = the age of the oldest
//            of them. A value above WARN is WARNING (1), above CRIT CRITICAL (2) (the plug-in
//            guidelines' "10" = alert above 10); ages take s, m, h, d. Root and the nullq user
//            count the spool; any other user reads the status file of the running nullq-send.
// Trust:     the command line and the status file are data.
// Errors:    bad thresholds, a bad configuration, a spool that cannot be counted: UNKNOWN (3) and
//            one line on stdout (where monitoring reads it).
// Threading: single-threaded program.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace nullq::admin {

// args[0] is "check": true when the rest asks for the plug-in (--queue or --age).
bool is_check_queue(const std::vector<std::string>& args);
int check_queue(const std::vector<std::string>& args, const std::string& config_path, std::FILE* out);

}  // namespace nullq::admin

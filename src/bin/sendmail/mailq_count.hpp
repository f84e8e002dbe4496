// mailq_count.hpp — `mailq` for an ordinary user: the count line from nullq-send's status file.
//
// Purpose:   queue/ and failed/ are private to the nullq user, so a user's mailq (a monitoring
//            agent as nagios or zabbix, check_mailq -M postfix) cannot list them; it prints the
//            last line a listing would end with ("-- N Kbytes in M Requests." or "Mail queue is
//            empty"), counted from the status file of the running nullq-send, exit 0, and one line
//            on stderr saying that the list needs root. With no running nullq-send the file cannot
//            be trusted (mail may have come since it was written): one line saying so, exit 69
//            (EX_UNAVAILABLE), which check_mailq reports as CRITICAL.
// Trust:     the status file is data written by nullq-send; a malformed one is reported.
// Errors:    exit codes as above; never a partial listing.
// Threading: single-threaded program.
#pragma once

#include <cstdio>

#include "nullq/census.hpp"
#include "nullq/config.hpp"

namespace nullq::sendmail {

// Postfix's summary line for what waits (bytes / 1024 rounded down; "Request" for one).
void print_count_line(const queue::Tally& waiting, std::FILE* out);

int count_from_status(const config::Config& cfg, std::FILE* out, std::FILE* err);

}  // namespace nullq::sendmail

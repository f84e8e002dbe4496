// oauth.hpp — `nullq oauth login HOST` and `nullq oauth status`.
//
// Purpose:   login gets the first refresh token of a smart host with `flow: refresh_token`, on the
//            admin's terminal, through the nullq-oauth helper (device grant or authorization code
//            with PKCE, include/nullq/oauth.hpp), and leaves it in <state_dir>/oauth/ owned by the
//            spool's user. status shows, per OAuth smart host, the flow, the stored token's last
//            refresh and its result, and whether AUTH works now (a session without mail, as check).
// Trust:     run by root or nullq; the client secret goes to the helper through a pipe (fd 3),
//            never argv or the environment; the store is read for its dates and result only.
// Errors:    exit codes as the other commands (0 ok, 1 the provider refused or a check failed,
//            64 usage, 75 the provider could not be reached, 78 config), one line on `err`.
// Threading: single-threaded program.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "nullq/config.hpp"
#include "nullq/privilege.hpp"

namespace nullq::admin {

// The smart host that `name` designates: its URL as written, its host name, or USER@HOST (when
// one host name carries several accounts). Sets `why` when there is none or more than one.
const config::SmartHost* find_oauth_host(const config::Config& cfg, const std::string& name, std::string& why);

// `args` = {"login", HOST} as given after "oauth". Called before any switch of user: it creates the
// store directory for the spool's user, then switches (privilege::become) and runs the helper.
int oauth_login(const config::Config& cfg, const std::vector<std::string>& args, const privilege::Owner& owner,
                std::FILE* out, std::FILE* err);

// Every OAuth smart host: its flow, what the store says, and a session without mail (EHLO, TLS,
// AUTH with a token got now). Runs as the spool's user, as check. 0 when every AUTH worked.
int oauth_status(const config::Config& cfg, std::FILE* out, std::FILE* err);

// What the store says about one smart host, one line ("refresh token from 2026-12-07 10:00:00 UTC,
// last refresh 2026-12-07 11:00:00 UTC: ok, access token valid until ..."), or why there is none.
std::string oauth_store_summary(const config::Config& cfg, const config::SmartHost& host, bool& usable);

}  // namespace nullq::admin

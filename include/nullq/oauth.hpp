// oauth.hpp — how nullq-send and `nullq oauth` talk to the nullq-oauth helper program.
//
// Purpose:   the OAuth 2.0 token requests (RFC 6749) are HTTPS POSTs of a form with JSON answers.
//            They are made by one small program, $libexecdir/nullq/nullq-oauth, linked dynamically
//            with libcurl and nlohmann-json, so that the static, long-running nullq-send links
//            neither libcurl nor its many dependencies, and an HTTP stall or crash can never stop
//            the delivery loop. nullq-send runs it through libuv (request on stdin, answer on
//            stdout, a timeout, stderr to the log capped); `nullq oauth login` runs it on the
//            admin's terminal.
// Trust:     the request carries secrets (client secret) and the store holds refresh tokens:
//            neither is ever in argv, the environment or a log. The identity provider's answers are
//            hostile: sizes capped, every field type-checked, texts printable and capped.
// Errors:    the program always answers with one JSON object on stdout and exits 0 when it could
//            read its request; anything else (exit != 0, no JSON, timeout) is a temporary failure.
// Threading: plain values.
//
// ---- `nullq-oauth token` ----
// stdin, one JSON object:
//   {"flow": "client_credentials" | "refresh_token",
//    "token_url": "https://...", "client_id": "...", "client_secret": "..." (may be absent),
//    "scope": "a b c", "ca_file": "/path" (may be absent),
//    "store": "/var/lib/nullq/oauth/<store_name>.json"   (refresh_token: where the refresh token is),
//    "timeout": 30}                                       (seconds for the whole request)
// stdout on success:
//   {"ok": true, "access_token": "...", "expires_in": 3599, "rotated": true|false}
// stdout on failure (RFC 6749 §5.2 error code when the provider gave one, else a word of ours:
// "network", "http_503", "bad_answer", "no_refresh_token", "store"):
//   {"ok": false, "error": "invalid_grant", "description": "<printable, capped>", "temporary": false}
// temporary: network errors, timeouts, HTTP 5xx and 429, "temporarily_unavailable", "slow_down";
// everything else (invalid_grant, invalid_client, unauthorized_client, invalid_scope, a missing
// refresh token) needs the admin.
// Rotation (refresh_token): when the answer carries a new refresh token, it is written to the store
// (temp file, fsync, rename, fsync of the directory) BEFORE the access token is printed; the store
// is locked (flock) for the whole request so two refreshes never race.
//
// ---- `nullq-oauth login` ----
// The request (the same object, plus "device_url", "authorize_url", "login": "device" | "pkce",
// "user") comes on file descriptor 3; stdin, stdout and stderr are the admin's terminal. Device
// grant (RFC 8628): prints the verification URL and user code, polls (authorization_pending,
// slow_down, expired_token, access_denied). Authorization code with PKCE (RFC 7636, S256) and a
// loopback redirect on 127.0.0.1: prints the URL, takes the redirect on the port or a pasted URL,
// checks `state`. The refresh token goes to "store" as above. Exit 0 when stored, 1 when the
// provider refused (one line why), 75 when it could not be reached, 64 for a bad request.
//
// ---- the store: <state_dir>/oauth/<store_name>.json (0600, owned by nullq; directory 0700) ----
//   {"refresh_token": "...", "obtained": <unix time>, "last_refresh": <unix time>,
//    "last_result": "ok" | "<error>: <description>", "expires": <unix time of the last access token>}
// The access token itself is never stored.
#pragma once

#include <string>

#include "nullq/config.hpp"

namespace nullq::oauth {

// The store file's name for one smart host: "<host>_<port>_<user>.json" with every byte outside
// [A-Za-z0-9.@_-] written as '_' (so no '/' and no leading '.').
std::string store_name(const config::SmartHost& host);
// <state_dir>/oauth/<store_name>.
std::string store_path(const config::Config& c, const config::SmartHost& host);
// $NULLQ_LIBEXECDIR/nullq-oauth, or NULLQ_OAUTH_PROGRAM from a trusted environment (tests).
std::string helper_program();

}  // namespace nullq::oauth

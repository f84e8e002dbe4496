// commands.hpp — the two commands of nullq-oauth (include/nullq/oauth.hpp), callable from tests.
//
// Purpose:   `token`: one grant, the store updated (rotation) before the answer is made;
//            `login`: the device grant or the authorization code grant with PKCE, ending with a
//            refresh token in the store.
// Trust:     see oauth.hpp; no secret is ever written to `out`/`err` except the access token field
//            of the token answer.
// Errors:    run_token always returns an answer object; run_login returns the exit code
//            (0 stored, 1 refused, 75 unreachable, 64 bad request) after one line on `err`.
// Threading: main thread; run_login blocks for as long as the admin takes (capped).
#pragma once

#include <cstdio>
#include <string>

#include "request.hpp"

namespace nullq::oauth {

// The answer line for `nullq-oauth token` (a JSON object, no newline).
std::string run_token(const Request& r);

// `nullq-oauth login`: talks to the admin through `in` (a pasted redirect address), `out` (what to
// open, progress) and `err` (the one line of a failure).
int run_login(const Request& r, int in_fd, std::FILE* out, std::FILE* err);

}  // namespace nullq::oauth

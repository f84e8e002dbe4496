// login.hpp — pieces shared by the two login grants (login.cpp, login_pkce.cpp).
//
// Purpose:   finish a login (store the refresh token) and map failures to exit codes.
// Trust:     see commands.hpp.
// Errors:    exit codes 0, 1, 75, 64 as oauth.hpp says; one line on `err`.
// Threading: main thread.
#pragma once

#include <cstdio>

#include "grant.hpp"
#include "request.hpp"

namespace nullq::oauth {

constexpr int exit_stored = 0, exit_refused = 1, exit_usage = 64, exit_unreachable = 75;

// One line "nullq-oauth: <what>: <error> (<description>)" and the exit code for it.
int login_failed(std::FILE* err, const char* what, const Failure& f);
// Writes the tokens' refresh token to r.store under its lock; the exit code.
int store_login(const Request& r, const Tokens& t, std::FILE* out, std::FILE* err);
// The pkce login (login_pkce.cpp).
int login_pkce(const Request& r, int in_fd, std::FILE* out, std::FILE* err);

}  // namespace nullq::oauth

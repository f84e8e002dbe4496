// request.hpp — the JSON request nullq-oauth reads (include/nullq/oauth.hpp).
//
// Purpose:   one checked reading of the request for both commands.
// Trust:     the request comes from nullq-send or `nullq oauth` (trusted callers), but it carries
//            the client secret: no field is ever echoed, and bad values are named, not quoted.
// Errors:    a permanent usage Error saying which field is wrong (code 1), or that the text is not
//            a JSON object at all (code 0).
// Threading: plain values.
#pragma once

#include <string>
#include <string_view>

#include "nullq/result.hpp"

namespace nullq::oauth {

constexpr std::size_t max_request = 64 * 1024;

struct Request {
  std::string flow;  // token: "client_credentials" | "refresh_token"
  std::string token_url, client_id, client_secret, scope, ca_file, store;
  long timeout = 30;  // seconds for one HTTP request
  // login only
  std::string login;  // "device" | "pkce"
  std::string device_url, authorize_url, user;
  int redirect_port = 0;      // the loopback listener's port; 0 = any (an addition to oauth.hpp)
  long login_timeout = 600;   // seconds the admin has to sign in (an addition to oauth.hpp)
};

// `login`: the request of `nullq-oauth login` (needs "login" and its URL), else of `token`.
Result<Request> parse_request(std::string_view text, bool login);

}  // namespace nullq::oauth

// testhost_idp.hpp — a test OAuth 2.0 identity provider (token, device and authorize endpoints).
//
// Purpose:   stand in for Microsoft's or Google's token endpoint on loopback, over HTTPS with the
//            test CA's certificate (testcerts.hpp), so that the OAuth client code and the
//            nullq-oauth program are tested against real sockets, TLS and HTTP. It issues
//            opaque random tokens and remembers them, so that the test host's SMTP side can check
//            a bearer token (check_token, through testhost::Options::oauth_check).
// Trust:     requests come from the code under test: a small strict HTTP/1.1 reader with caps
//            (idp_http.hpp), form bodies only, every parameter checked.
// Errors:    start() returns an Error if the socket cannot be bound or the certificate not read.
//            Protocol errors are answered as RFC 6749 §5.2 JSON with the right HTTP status.
// Threading: one accept thread plus one thread per connection; every public method is thread-safe.
//
// Endpoints (https://127.0.0.1:<port>):
//   POST /token       grant_type = client_credentials | refresh_token (rotation: each refresh
//                     answers a new refresh token and invalidates the old) |
//                     urn:ietf:params:oauth:grant-type:device_code | authorization_code (PKCE S256
//                     checked, redirect_uri must match). Client authentication by client_id +
//                     client_secret in the body or HTTP Basic; a client registered with an empty
//                     secret is public (no client_credentials for it).
//   POST /devicecode  RFC 8628 §3.2: device_code, user_code, verification_uri, expires_in, interval.
//   GET  /authorize   response_type=code, client_id, redirect_uri, state, code_challenge(_method=S256):
//                     302 to redirect_uri?code=..&state=.. when approving, else ?error=access_denied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/result.hpp"

namespace nullq::testhost {

struct IdpOptions {
  std::string bind = "127.0.0.1";
  std::string cert_file, key_file;            // the server certificate (testcerts: server.pem/.key)
  std::map<std::string, std::string> clients;  // client_id -> client_secret ("" = a public client)
  int token_lifetime = 3600;                  // seconds an access token lives (expires_in)
  std::string user;                           // the mailbox tokens are for; "" = any user
  int device_interval = 0;                    // the "interval" answered by /devicecode (seconds)
  int device_expires_in = 600;                // the "expires_in" answered by /devicecode
};

class Idp {
 public:
  static Result<std::unique_ptr<Idp>> start(IdpOptions opt);
  ~Idp();
  Idp(const Idp&) = delete;
  Idp& operator=(const Idp&) = delete;
  void stop();  // closes the listener and joins every thread; idempotent

  std::uint16_t port() const;
  // "https://127.0.0.1:<port><path>"
  std::string url(std::string_view path) const;

  // ---- switches ----
  void set_unavailable(bool on);  // answer 503 (an HTML body, as a load balancer does) to everything
  // What successive device-code polls answer, one entry per poll, the last repeating:
  // "approve", or an error code: "authorization_pending", "slow_down", "access_denied",
  // "expired_token". Default {"approve"}. Each new /devicecode starts the script again.
  // Besides the script, a poll that comes sooner than the interval after the previous one (the
  // interval grows by 5 seconds with every slow_down) is answered slow_down and counted as
  // "too_fast", without taking a step.
  void set_device_script(std::vector<std::string> polls);
  // GET /authorize: true (default) redirects with a code, false with error=access_denied.
  void set_auto_approve(bool on);
  // A refresh token answered by a successful grant may be withheld (as some providers do for
  // client_credentials anyway): false makes refresh_token answers carry no new refresh token.
  void set_rotate_refresh_tokens(bool on);

  // ---- state, for tests ----
  // Issues a refresh token for `client_id` as if a login had happened (seeding a store).
  std::string issue_refresh_token(std::string_view client_id);
  void revoke_refresh_token(std::string_view token);
  bool refresh_token_live(std::string_view token) const;
  void expire_access_tokens();  // every access token issued so far is expired from now on
  // "" when `token` is a live access token for `user` (any user when IdpOptions::user is ""),
  // else "invalid_token" — the shape of testhost::Options::oauth_check.
  std::string check_token(std::string_view user, std::string_view token) const;
  // The same as GET /authorize with this query would answer: the Location of the redirect, or an
  // Error saying why the request is refused. Lets a test play the browser without HTTPS.
  Result<std::string> authorize(std::string_view query);

  // Requests seen per grant_type ("client_credentials", "refresh_token", "authorization_code",
  // "urn:ietf:params:oauth:grant-type:device_code"), and per other endpoint ("devicecode",
  // "authorize"), counted whatever the answer; "too_fast" for device polls that ignored the interval.
  std::size_t count(std::string_view what) const;
  std::size_t connections() const;
  // Every access and refresh token issued so far (rotated, revoked and expired ones too), in order:
  // what a test looks for where no secret may appear.
  std::vector<std::string> issued_tokens() const;

  struct Impl;

 private:
  explicit Idp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nullq::testhost

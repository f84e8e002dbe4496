// send/tokens.hpp — OAuth 2.0 access tokens for one SMTP account, fetched and kept on the loop.
//
// Purpose:   the client::TokenSource behind every connection to one OAuth smart host. It runs
//            the nullq-oauth helper (oauth.hpp: JSON request on stdin, JSON answer on stdout) or
//            the host's token_command (its first stdout line is the token) through libuv
//            (child.hpp), with the configured timeout; caches the token with its expiry; shares one
//            run among every get() waiting; fetches a new token ahead of expiry (once less than
//            max(60 s, 10% of its lifetime) is left, no connection is handed the old one);
//            takes rejected() as "fetch anew next time" unless the token is only seconds old.
//            A token_command's token has no known lifetime: it is kept for command_lifetime.
//            On failure every waiter gets the error and further runs wait for a pause that
//            doubles from retry_min to retry_max (a down identity provider is not hammered);
//            while a pause lasts, get() answers the last error at once. One log line per change of
//            state: working -> failing, the failing reason changes, failing -> working.
// Trust:     the helper's and the command's output is hostile: capped (64 KiB stdout, stderr to
//            the log capped and printable), parsed with nlohmann-json, every field type-checked.
//            The client secret goes into the helper's stdin only (never argv or environment);
//            tokens and secrets never reach a log line or an error text.
// Errors:    get() answers Error (temporary: the provider is down or slow, the helper or command
//            failed; permanent: the provider refused the grant or the client) naming the host, e.g.
//            "invalid_grant: the refresh token for smtp.office365.com was revoked or expired"; the
//            one log line of that state adds the fix ("; run: nullq oauth login smtp.office365.com"),
//            which the per-message lines and queue files then do not repeat.
// Threading: loop thread only; callbacks come from the loop, never from inside get(). Works on any
//            uv loop (nullq-send's, `nullq check`'s): call close() before the loop ends; it kills a
//            running child and drops the waiters without calling them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nullq/client.hpp"
#include "nullq/config.hpp"
#include "nullq/event.hpp"
#include "nullq/result.hpp"
#include "nullq/send/child.hpp"
#include "nullq/send/log.hpp"

struct uv_loop_s;

namespace nullq::send {

struct TokenSettings {
  std::string host;               // the smart host's name, as `nullq oauth login` takes it
  std::string user;               // auth.user
  config::OAuthSettings oauth;    // flow client_credentials, refresh_token or command
  std::string store;              // refresh_token: oauth::store_path()
  std::string helper;             // oauth::helper_program()
  std::chrono::milliseconds retry_min{10'000};    // first pause after a failure
  std::chrono::milliseconds retry_max{3'600'000};  // the pause doubles up to this
  std::chrono::milliseconds command_lifetime{300'000};  // a token_command's token is kept this long
  std::chrono::milliseconds fresh{5'000};          // rejected() of a token younger than this: false
};

// From the configuration: one smart host with OAuth (flow != none).
TokenSettings token_settings(const config::Config& c, const config::SmartHost& h);

// The helper's JSON request (include/nullq/oauth.hpp) for `nullq-oauth token` (nullq-send) or
// `nullq-oauth login` (`nullq oauth login`), without a final newline. Holds the client secret.
enum class HelperOp { token, login };
std::string helper_request(const TokenSettings& s, HelperOp op);
// "device" (RFC 8628) or "pkce" (RFC 7636), as `nullq oauth login` gets the first refresh token;
// "" when neither device_url nor authorize_url is known.
const char* login_kind(const config::OAuthSettings& o);

// Where the lines go: (priority, line); nullq-send passes log_line.
using TokenLog = std::function<void(Priority, const std::string&)>;

class TokenManager final : public client::TokenSource, public std::enable_shared_from_this<TokenManager> {
 public:
  static std::shared_ptr<TokenManager> make(uv_loop_s* loop, TokenSettings settings, TokenLog log);
  ~TokenManager() override;

  void get(Callback cb) override;
  bool rejected(const Token& token) override;
  // Kills a running child, stops the timers, drops the waiters (without calling them).
  void close();

  // For logs, `nullq check` and the flusher.
  bool failing() const { return failing_; }
  const std::optional<Error>& last_error() const { return last_error_; }
  std::int64_t expires_ms() const { return expires_ms_; }  // loop time of the cached token's end, 0 none
  unsigned runs() const { return runs_; }                  // children started (tests)

  TokenManager(uv_loop_s* loop, TokenSettings settings, TokenLog log);  // (make() is the way)

 private:
  void fetch();
  void on_child(ChildResult r);
  void succeed(std::string token, std::int64_t lifetime_ms);
  void fail(Error e, const std::string& reason);
  Result<std::pair<std::string, std::int64_t>> parse_helper(const ChildResult& r, std::string& reason) const;
  Result<std::pair<std::string, std::int64_t>> parse_command(const ChildResult& r, std::string& reason) const;
  ChildSpec request() const;
  bool usable(std::int64_t now) const;  // a token that is not due for refresh
  void answer_later(Callback cb, Result<Token> r);
  void flush_ready();
  std::int64_t now() const;
  std::string stderr_line(const ChildResult& r) const;

  uv_loop_s* loop_;
  TokenSettings s_;
  TokenLog log_;
  std::unique_ptr<Child> child_;
  event::Timer ready_timer_;
  std::vector<std::pair<Callback, Result<Token>>> ready_;
  std::vector<Callback> waiters_;
  bool closed_ = false;

  Token token_;
  std::int64_t fetched_ms_ = 0;
  std::int64_t expires_ms_ = 0;
  std::int64_t refresh_ms_ = 0;  // from here on get() waits for a new token

  bool failing_ = false;
  std::string failing_reason_;   // the error word last logged ("invalid_grant", "timeout"...)
  std::optional<Error> last_error_;
  std::int64_t hold_until_ms_ = 0;
  std::chrono::milliseconds pause_{0};
  unsigned runs_ = 0;
};

}  // namespace nullq::send

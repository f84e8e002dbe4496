// smtp_session.hpp — the test host's SMTP side, as the Server drives it (not part of the API).
//
// Purpose:   serve one SMTP or SMTPS connection the way an SmtpStep says and record what came.
// Trust:     the client is the code under test: every line is capped and parsed strictly.
// Errors:    a broken connection just ends the session; server_tls_context() (testcerts.hpp) returns an Error
//            naming the file it could not use.
// Threading: one session per connection thread; `mu` guards the SmtpConnection and records.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <mutex>

#include "nullq/testhost.hpp"

namespace nullq::testhost {

class Allowance;

struct SmtpEnv {
  const Options& opt;
  const std::atomic<bool>& stopping;
  SSL_CTX* tls = nullptr;                 // null when no certificate was given
  std::mutex& mu;                         // guards *conn
  std::function<void(Received)> record;   // takes mu itself
  Allowance* allowance = nullptr;         // Options::limits (allowance.hpp)
};

// Runs the whole connection; closes fd. `conn` stays owned by the server.
void serve_smtp(const SmtpEnv& env, int fd, bool implicit_tls, SmtpStep step, SmtpConnection* conn);

// ---- AUTH (smtp_auth.cpp) ----

// The mechanisms the EHLO AUTH line offers ("PLAIN LOGIN XOAUTH2 OAUTHBEARER"); "" = no AUTH line.
std::string auth_offer(const Options& opt);

// What one AUTH command came to, before the stage's answer.
struct AuthRun {
  enum class Kind { answer, error, gone };
  Kind kind = Kind::answer;
  std::string line;       // error: the whole answer line, without CRLF
  bool live = false;      // answer: the credentials or the token are good
  std::string user, mechanism, oauth_host, oauth_port;
  std::string text;       // answer: the text for a refusal ("" = the usual one)
};
// `arg` is what followed "AUTH ". `ask` writes "334 <challenge>" and reads the client's next line
// (false: the connection is gone). With `scripted` the script answers: no check, no 334 error JSON.
AuthRun run_auth(const Options& opt, const std::string& arg, bool scripted,
                 const std::function<bool(const std::string& challenge, std::string& line)>& ask);


}  // namespace nullq::testhost

// smtp_session.hpp — the test host's SMTP side, as the Server drives it (not part of the API).
//
// Purpose:   serve one SMTP or SMTPS connection the way an SmtpStep says and record what came.
// Trust:     the client is the code under test: every line is capped and parsed strictly.
// Errors:    a broken connection just ends the session; make_tls_context() returns an Error
//            naming the file it could not use.
// Threading: one session per connection thread; `mu` guards the SmtpConnection and records.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <mutex>

#include "nullq/testhost.hpp"

namespace nullq::testhost {

struct SmtpEnv {
  const Options& opt;
  const std::atomic<bool>& stopping;
  SSL_CTX* tls = nullptr;                 // null when no certificate was given
  std::mutex& mu;                         // guards *conn
  std::function<void(Received)> record;   // takes mu itself
};

// Runs the whole connection; closes fd. `conn` stays owned by the server.
void serve_smtp(const SmtpEnv& env, int fd, bool implicit_tls, SmtpStep step, SmtpConnection* conn);

Result<SSL_CTX*> make_tls_context(const std::string& cert_file, const std::string& key_file);

}  // namespace nullq::testhost

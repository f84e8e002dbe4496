// oauth_fixture.hpp — nullq-send with OAuth end to end: the real nullq-queue, nullq-send (--once and
// the daemon), nullq-oauth and nullq against an in-process test smart host (SMTP with STARTTLS,
// XOAUTH2/OAUTHBEARER checked against the identity provider) and an in-process test identity
// provider, both over TLS with certificates made at test time, all on 127.0.0.1.
//
// Purpose:   the set-up and helpers the OAuth test files share.
// Trust:     test code only.
// Errors:    set-up failures fail the test.
// Threading: test thread (the servers' callbacks run on their own threads).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"
#include "nullq/testcerts.hpp"
#include "nullq/testhost.hpp"
#include "nullq/testhost_idp.hpp"

namespace nullq::send::it {

inline const std::string kClientSecret = "cl1ent-S3CRET-5a7c0e";
inline const std::string kCommandToken = "cmd-t0ken-91d2b7e4";  // what the token_command scripts print
inline const std::string kUser = "me@example.com";

class SendOAuth : public ::testing::Test {
 protected:
  TestSpool s;
  testhost::CertFiles certs;
  std::unique_ptr<testhost::Idp> idp;
  std::unique_ptr<testhost::Server> host;
  std::string state;        // state_dir
  std::string secret_file;  // the client secret, 0640

  void SetUp() override;
  void TearDown() override;

  std::string smtp_url() const;
  // The smart host line: STARTTLS required with the test CA, auth.user kUser, `auth_extra` more
  // auth keys ("mechanism: oauthbearer, "), `oauth` the auth.oauth mapping's body.
  std::string host_line(const std::string& oauth, const std::string& auth_extra = "",
                        const std::string& extra = "") const;
  // The auth.oauth body for provider generic at the test IdP.
  std::string client_credentials() const;
  std::string refresh_token() const;
  std::string token_command(const std::string& script, const std::string& timeout = "5s") const;
  // Writes the config with state_dir and the host line; `queue_extra`, `extra_yaml` as for write_config.
  void configure(const std::string& line, const std::string& queue_extra = "", const std::string& extra_yaml = "");

  // <state_dir>/oauth/<store_name> for the test host and kUser.
  std::string store() const;
  // A store as `nullq oauth login` leaves it, holding `refresh_token`.
  void seed_store(const std::string& refresh_token);
  // The refresh token the store holds ("" when none can be read).
  std::string stored_refresh_token() const;
  // An executable script at dir/<name> with `body` after "#!/bin/sh\n".
  std::string script(const std::string& name, const std::string& body) const;

  // nullq-send without --once, stderr to `log`.
  std::unique_ptr<Child> daemon(const std::string& log, const std::vector<std::string>& env = {}) const;
  // SIGTERM and a bounded wait; the exit status.
  int stop(Child& d) const;

  // Recipients of the messages the test host took (one entry per message and recipient).
  std::vector<std::string> delivered_to() const;
  bool delivered(const std::string& rcpt) const;
  // Attempts charged to the queue file `name` ("id,attempts,next").
  static unsigned attempts(const std::string& name);
  // Every queue file's text (queue/, new/, failed/) concatenated.
  std::string queue_text() const;
};

}  // namespace nullq::send::it

// smtp_tls.hpp — TLS for the SMTP sessions of nullq-send and nullq check (private to src/send and
// src/bin/admin): tls::Engine behind client::SecureFilter, one tls::Context per distinct setting.
//
// Purpose:   fill SmtpSetup::tls. Contexts of smtp:// and smtps:// hosts are built at start, so a
//            bad ca_file/cert_file is a start-up error; the MX contexts (verify or not, smtp.mx_tls)
//            are built the first time an exchanger offers STARTTLS, so a daemon with no TLS host
//            never initialises OpenSSL's TLS state.
// Trust:     the files named in the config are the admin's; the peer's bytes go to OpenSSL.
// Errors:    make_smtp_setup() returns the Context error (ErrorDomain::config, names the file).
// Threading: loop thread only.
#pragma once

#include <string>
#include <vector>

#include "nullq/config.hpp"
#include "nullq/result.hpp"
#include "nullq/send/router.hpp"

namespace nullq::send {

// smtp_setup(c) plus TLS. `warnings` receives one line per host whose certificate is not checked
// (tls.verify: false).
Result<SmtpSetup> make_smtp_setup(const config::Config& c, std::vector<std::string>& warnings);

}  // namespace nullq::send

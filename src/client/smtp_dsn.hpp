// smtp_dsn.hpp — the DSN parameters (RFC 3461) of one message on an SMTP connection.
//
// Purpose:   what MAIL FROM and RCPT TO carry for a server that offers DSN: RET and ENVID of the
//            message, NOTIFY and ORCPT of each recipient, xtext-encoded (dsn.hpp). The connection
//            adds them only when the server's EHLO listed DSN; otherwise nothing is sent and nullq's
//            own reports honour the request (nullq-sendmail(8)).
// Trust:     the values were validated when the message was queued and again when it was read.
// Errors:    none.
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <string>

#include "nullq/client.hpp"

namespace nullq::client {

// "RET=HDRS ENVID=..." or "".
std::string dsn_mail_params(const Message& m);
// "NOTIFY=... ORCPT=rfc822;..." for recipient `i`, or "".
std::string dsn_rcpt_params(const Message& m, std::size_t i);

}  // namespace nullq::client

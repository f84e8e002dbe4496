#include "smtp_dsn.hpp"

namespace nullq::client {

std::string dsn_mail_params(const Message& m) { return dsn::mail_params(m.mail_dsn); }

std::string dsn_rcpt_params(const Message& m, std::size_t i) {
  return i < m.rcpt_dsn.size() ? dsn::rcpt_params(m.rcpt_dsn[i]) : std::string();
}

}  // namespace nullq::client

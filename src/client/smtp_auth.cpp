// AUTH for one SMTP connection: mechanism choice, the access token, the SASL exchange (see
// smtp_auth.hpp).
#include "smtp_auth.hpp"

#include <netinet/in.h>

#include <utility>

namespace nullq::client::detail {

namespace smtp = proto::smtp;

namespace {

bool offered(const smtp::Capabilities& caps, smtp::Sasl m) {
  switch (m) {
    case smtp::Sasl::plain: return caps.auth_plain;
    case smtp::Sasl::login: return caps.auth_login;
    case smtp::Sasl::xoauth2: return caps.auth_xoauth2;
    case smtp::Sasl::oauthbearer: return caps.auth_oauthbearer;
  }
  return false;
}

std::string offers(const smtp::Capabilities& caps) {
  if (caps.auth_mechanisms.empty()) return "the server offers no AUTH";
  std::string s = "the server offers";
  for (const auto& m : caps.auth_mechanisms) s += " " + m;
  return s;
}

bool is_oauth(smtp::Sasl m) { return m == smtp::Sasl::xoauth2 || m == smtp::Sasl::oauthbearer; }

}  // namespace

Result<smtp::Sasl> choose_mechanism(const SmtpOptions& o, const smtp::Capabilities& caps) {
  const bool token = o.auth_token != nullptr;
  auto named = [&](smtp::Sasl m) -> Result<smtp::Sasl> {
    if (is_oauth(m) && !token)
      return Error::permanent(ErrorDomain::config, std::string("AUTH ") + smtp::to_string(m) +
                                                       " needs an OAuth access token, and none is configured");
    if (!offered(caps, m))
      return Error::temporary(ErrorDomain::protocol, std::string("the server does not offer AUTH ") +
                                                         smtp::to_string(m) + " (" + offers(caps) + ")");
    return m;
  };
  switch (o.auth_mechanism) {
    case AuthMechanism::plain: return named(smtp::Sasl::plain);
    case AuthMechanism::login: return named(smtp::Sasl::login);
    case AuthMechanism::xoauth2: return named(smtp::Sasl::xoauth2);
    case AuthMechanism::oauthbearer: return named(smtp::Sasl::oauthbearer);
    case AuthMechanism::automatic: break;
  }
  if (token) {
    // XOAUTH2 first when both are offered: it is what Microsoft and Google document.
    if (caps.auth_xoauth2) return smtp::Sasl::xoauth2;
    if (caps.auth_oauthbearer) return smtp::Sasl::oauthbearer;
    return Error::temporary(ErrorDomain::protocol,
                            "the server offers neither AUTH XOAUTH2 nor AUTH OAUTHBEARER (" + offers(caps) + ")");
  }
  if (caps.auth_plain) return smtp::Sasl::plain;
  if (caps.auth_login) return smtp::Sasl::login;
  return Error::temporary(ErrorDomain::protocol, "the server offers neither AUTH PLAIN nor AUTH LOGIN");
}

std::uint16_t port_of(const Endpoint& ep) {
  if (ep.addr.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&ep.addr)->sin_port);
  if (ep.addr.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&ep.addr)->sin6_port);
  return 0;
}

std::string address_of(const Endpoint& ep) {
  std::string_view t = ep.text;
  if (!t.empty() && t.front() == '[') {
    auto close = t.find(']');
    return std::string(t.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  return std::string(t.substr(0, t.rfind(':')));
}

SmtpAuth::SmtpAuth(const SmtpOptions& options, std::string host, std::uint16_t port, Hooks hooks)
    : opts_(options), host_(std::move(host)), port_(port), hooks_(std::move(hooks)) {}

SmtpAuth::~SmtpAuth() = default;

void SmtpAuth::start(const smtp::Capabilities& caps, bool encrypted) {
  if (sasl_ || waiting_) return;  // once per connection
  auto mech = choose_mechanism(opts_, caps);
  const bool oauth = mech.ok() ? is_oauth(*mech) : opts_.auth_token != nullptr;
  if (!encrypted && !(opts_.starttls == StartTls::off && opts_.allow_plaintext_auth)) {
    hooks_.failed(std::string("refusing to send the ") + (oauth ? "access token" : "password") +
                  " over an unencrypted connection (the server offers no STARTTLS; set starttls: off and "
                  "auth.allow_plaintext: true to allow it)");
    return;
  }
  if (!mech.ok()) {
    hooks_.failed(mech.error().message());
    return;
  }
  if (!oauth) {
    begin(*mech, opts_.auth_password ? std::string_view(*opts_.auth_password) : std::string_view());
    return;
  }
  // The token is asked for now, not earlier: the source refreshes one about to expire. The
  // connection's I/O timer (the command timeout) bounds the wait.
  waiting_ = true;
  std::weak_ptr<int> alive = alive_;
  const smtp::Sasl m = *mech;
  opts_.auth_token->get([this, alive, m](Result<TokenSource::Token> t) {
    if (alive.expired() || !waiting_) return;
    waiting_ = false;
    if (!t.ok()) {
      token_unavailable_ = true;
      hooks_.failed("no OAuth access token for " + proto::sanitize(opts_.auth_user, 200) + ": " + t.error().message());
      return;
    }
    token_ = std::move(t).value();
    if (!token_ || token_->empty()) {
      token_unavailable_ = true;
      hooks_.failed("no OAuth access token for " + proto::sanitize(opts_.auth_user, 200) +
                    ": the token source gave an empty one");
      return;
    }
    begin(m, *token_);
  });
}

void SmtpAuth::begin(smtp::Sasl mech, std::string_view secret) {
  sasl_.emplace(mech, smtp::SaslClient::Credentials{opts_.auth_user, secret, host_, port_});
  auto step = sasl_->start();
  if (step.kind == smtp::SaslClient::Step::Kind::failed) {
    hooks_.failed(step.error);
    return;
  }
  hooks_.send(step.line);
}

void SmtpAuth::on_reply(const smtp::Reply& r) {
  if (!sasl_) {
    hooks_.failed("protocol error: unexpected reply " + r.text());
    return;
  }
  auto step = sasl_->on_reply(r);
  switch (step.kind) {
    case smtp::SaslClient::Step::Kind::send: hooks_.send(step.line); return;
    case smtp::SaslClient::Step::Kind::done: hooks_.succeeded(); return;
    case smtp::SaslClient::Step::Kind::failed: break;
  }
  if (step.code == 535 && token_ && opts_.auth_token) token_rejected_ = opts_.auth_token->rejected(token_);
  hooks_.failed(step.error);
}

}  // namespace nullq::client::detail

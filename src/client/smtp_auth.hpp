// smtp_auth.hpp — AUTH for one SMTP connection (private to src/client; PROTOCOLS.md §5a, §5c).
//
// Purpose:   choose the SASL mechanism (SmtpOptions::auth_mechanism against what EHLO offered),
//            refuse to send a secret over a connection without TLS unless allowed, get the access
//            token from the TokenSource for XOAUTH2 / OAUTHBEARER, and drive
//            proto::smtp::SaslClient. The connection writes the lines it is given and hands over the
//            replies to them.
// Trust:     server replies are hostile (the codec caps and sanitises them). The password and the
//            token go only into the lines to send, never into a text this reports.
// Errors:    every failure reaches Hooks::failed once, with one printable line naming what is wrong
//            (a mechanism not offered names those offered; a token source's error keeps its text);
//            after a 535 to a token, the TokenSource is told (rejected()) and token_rejected()
//            says whether it thinks a new token may help.
// Threading: loop thread only. Every hook is the last thing SmtpAuth does in that turn, so a hook
//            may destroy it. The TokenSource's callback is guarded: it does nothing once this
//            object is gone.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "nullq/client.hpp"
#include "nullq/result.hpp"
#include "nullq/smtp.hpp"

namespace nullq::client::detail {

// The mechanism for these options and this server, or why there is none.
Result<proto::smtp::Sasl> choose_mechanism(const SmtpOptions& options, const proto::smtp::Capabilities& caps);

// The port of an endpoint's address (OAUTHBEARER's port=), 0 if it has none.
std::uint16_t port_of(const Endpoint& endpoint);
// The address of an endpoint without its port ("127.0.0.1", "::1"), from its text.
std::string address_of(const Endpoint& endpoint);

class SmtpAuth {
 public:
  struct Hooks {
    std::function<void(const std::string& line)> send;  // write `line`, then expect one reply
    std::function<void()> succeeded;
    std::function<void(const std::string& why)> failed;
  };

  // `host` is the server's name for OAUTHBEARER (the endpoint's address when there is no name).
  SmtpAuth(const SmtpOptions& options, std::string host, std::uint16_t port, Hooks hooks);
  ~SmtpAuth();
  SmtpAuth(const SmtpAuth&) = delete;
  SmtpAuth& operator=(const SmtpAuth&) = delete;

  // After EHLO (again after STARTTLS): chooses the mechanism and starts, or fails.
  void start(const proto::smtp::Capabilities& caps, bool encrypted);
  // A reply to a line sent through Hooks::send.
  void on_reply(const proto::smtp::Reply& reply);

  bool waiting_for_token() const { return waiting_; }
  bool token_rejected() const { return token_rejected_; }
  // The token source had no token to give (OAuth): the session failed without AUTH being tried.
  bool token_unavailable() const { return token_unavailable_; }

 private:
  void begin(proto::smtp::Sasl mech, std::string_view secret);

  const SmtpOptions& opts_;
  std::string host_;
  std::uint16_t port_;
  Hooks hooks_;
  std::optional<proto::smtp::SaslClient> sasl_;
  TokenSource::Token token_;
  bool waiting_ = false;
  bool token_rejected_ = false;
  bool token_unavailable_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires with this object
};

}  // namespace nullq::client::detail

// client.hpp — QMTP, QMQP and SMTP client sessions on the libuv loop (PROTOCOLS.md §2, §3, §5, §5a).
//
// Purpose:   deliver messages to one server address; report one Reply per recipient per message.
// Trust:     everything the server sends is hostile; replies are framed, capped and sanitised by the
//            codecs in qmtp.hpp / qmqp.hpp.
// Errors:    never thrown. Every submitted message gets exactly one on_done callback: answered
//            recipients keep their K/Z/D; unanswered ones get Verdict::temporary with a text saying
//            why (timeout, EOF, protocol error, connection refused). `connect_failed` tells the caller
//            the server was never reached, so it may try the next address and open its circuit breaker.
//            Texts: "connection refused", "connection timed out", "cannot connect: <uv error>",
//            "timed out waiting for the server", "session time limit reached",
//            "connection closed before reply[ (<uv error>)]", "protocol error: <detail>".
// Threading: loop thread only. Callbacks are noexcept trampolines; none runs after the object is
//            destroyed (destroying aborts the connection), and none runs from inside a call the
//            caller made (constructor, submit, finish): they always come from the loop. A callback
//            may destroy the object that called it.
//            The process must ignore SIGPIPE (event::ignore_sigpipe()).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/dsn.hpp"
#include "nullq/reply.hpp"
#include "nullq/result.hpp"

struct uv_loop_s;

namespace nullq::client {

struct Timeouts {
  std::chrono::milliseconds connect{10'000};
  std::chrono::milliseconds io{60'000};         // re-armed on every read or write progress
  std::chrono::milliseconds session{3'600'000}; // hard cap for one connection
};

// What to deliver. Shared so that a message retried on another connection is not copied.
struct Message {
  std::uint64_t tag = 0;                 // caller's id, echoed in the outcome
  std::string body;                      // LF line endings
  std::string sender;
  std::vector<std::string> recipients;   // non-empty
  // DSN request (RFC 3461), sent to SMTP servers that offer DSN only (smtp_dsn.cpp); QMTP and QMQP
  // carry none of it. rcpt_dsn: empty, or aligned with recipients.
  dsn::MessageParams mail_dsn;
  std::vector<dsn::RecipientParams> rcpt_dsn;
};

struct Outcome {
  std::uint64_t tag = 0;
  std::vector<proto::Reply> replies;     // one per recipient, same order
  bool connect_failed = false;           // the server was never reached
  bool setup_failed = false;             // SMTP: reached, but the session failed before any MAIL
                                         // (banner, EHLO, TLS, AUTH, a timeout or close then):
                                         // nothing was said about the mail
  std::string server;                    // "127.0.0.1:209" for logs
  std::string warning;                   // printable; e.g. bytes the server sent after its answer
  std::string notice;                    // printable; SMTP: what was changed so the server takes
                                         // the message (lines over 998 bytes), "" = sent as queued
  bool auth_token_rejected = false;      // SMTP with OAuth: AUTH was refused (535) with a token the
                                         // TokenSource had not just fetched; it was told (rejected()),
                                         // so one more connection at once may succeed with a new one
  bool token_unavailable = false;        // SMTP with OAuth: no access token could be had (setup_failed
                                         // too): the account's failure, not the server address's
  bool tls_failed = false;               // SMTP, setup_failed: TLS could not be had (handshake,
                                         // certificate, STARTTLS required but refused or not offered)
  bool auth_failed = false;              // SMTP, setup_failed: AUTH was begun and did not succeed
  bool host_held = false;                // never sent: nullq-send holds the smart host (its quota,
                                         // daily count or a long pause; send/throttle.hpp)
};

using DoneCallback = std::function<void(Outcome)>;

struct Endpoint {
  sockaddr_storage addr{};               // with port set
  socklen_t len = 0;
  std::string text;                      // "127.0.0.1:209" or "[::1]:209"
  sockaddr_storage source{};             // local address bound before connecting (port 0)
  socklen_t source_len = 0;              // 0 = none: the kernel chooses
};

// One QMTP connection carrying many pipelined packages.
class QmtpConnection {
 public:
  // `on_idle` runs after a package is answered when the connection can take more (it is then
  // below max_in_flight, often at zero); `on_closed` runs once when the connection is gone (after
  // every on_done). max_in_flight 0 means 1.
  QmtpConnection(uv_loop_s* loop, Endpoint endpoint, Timeouts timeouts, unsigned max_in_flight,
                 std::function<void()> on_idle, std::function<void()> on_closed);
  ~QmtpConnection();
  QmtpConnection(const QmtpConnection&) = delete;
  QmtpConnection& operator=(const QmtpConnection&) = delete;

  // Connects on first use. Returns false (and does not take the message) when the connection is
  // closing, finishing, broken, or already has max_in_flight packages unanswered. The package is
  // encoded once and written while earlier answers are read (pipelining). A message the codec
  // refuses (no recipients) is taken and answered from the loop with permanent replies (none
  // for an empty list) without touching the wire.
  bool submit(std::shared_ptr<const Message> msg, DoneCallback on_done);
  std::size_t in_flight() const;
  bool usable() const;  // not closing, not finishing, not failed
  // Half-close after the last package (shutdown(SHUT_WR)), then close once every answer is in.
  // With nothing in flight it closes at once (on_closed still comes from the loop).
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One QMQP delivery: connect, send the request, read the single response, close. A response that
// arrives while the request is still being written (Postfix rejecting an oversize message, then
// closing) is used; write errors (EPIPE/ECONNRESET) only stop the writing.
class QmqpDelivery {
 public:
  QmqpDelivery(uv_loop_s* loop, Endpoint endpoint, Timeouts timeouts, std::shared_ptr<const Message> msg,
               DoneCallback on_done);
  ~QmqpDelivery();  // aborts if still running (on_done is then not called)
  QmqpDelivery(const QmqpDelivery&) = delete;
  QmqpDelivery& operator=(const QmqpDelivery&) = delete;
  bool finished() const;  // on_done has run (or is running)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- SMTP (PROTOCOLS.md §5a) ----

// TLS as one filter between the stream and the session (PROTOCOLS.md §5b): ciphertext in,
// plaintext out and the reverse. tls::Engine is the real one; tests may use others.
class SecureFilter {
 public:
  virtual ~SecureFilter() = default;
  virtual Status receive(std::string_view cipher, std::string& plain) = 0;
  virtual Status send(std::string_view plain) = 0;
  virtual std::string take_output() = 0;
  virtual bool established() const = 0;
  // "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate verified" for the log and nullq check.
  virtual std::string describe() const = 0;
};
// Starts the client side of TLS for `host` (SNI and name check); its first output is the hello.
using FilterFactory = std::function<Result<std::unique_ptr<SecureFilter>>(std::string_view host)>;

enum class StartTls { opportunistic, required, off };

// SASL mechanism for AUTH. automatic: with a TokenSource OAUTHBEARER or XOAUTH2 (whichever the
// server offers; XOAUTH2 when both, as Microsoft and Google document it), else PLAIN or LOGIN.
// A mechanism named but not offered by the server is a setup failure naming both.
enum class AuthMechanism { automatic, plain, login, xoauth2, oauthbearer };

// Where an SMTP connection gets an OAuth 2.0 access token (XOAUTH2, OAUTHBEARER). The daemon's
// implementation shares one token per account across connections, refreshes it before it expires
// and never blocks the loop (see include/nullq/send/tokens.hpp).
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  using Token = std::shared_ptr<const std::string>;  // never logged
  using Callback = std::function<void(Result<Token>)>;
  // Calls `cb` from the loop (never from inside get()) with a live access token, or an Error saying
  // in one line why there is none (temporary: the identity provider is down or slow; permanent: the
  // grant is revoked, the client is unknown...; the text names the fix). The caller guards its own
  // lifetime: `cb` may run after the caller is gone only if the caller made it safe to.
  virtual void get(Callback cb) = 0;
  // The server refused `token` (535). Returns true when a new token may help (the token was not
  // fetched just now), and then the next get() fetches a new one instead of returning this one.
  virtual bool rejected(const Token& token) = 0;
};

// RFC 5321 §4.5.3.2 (and PROTOCOLS.md §5a); every one re-armed on progress.
struct SmtpTimeouts {
  std::chrono::milliseconds banner{300'000};
  std::chrono::milliseconds command{300'000};  // EHLO, STARTTLS, AUTH, MAIL, RCPT, RSET, QUIT
  std::chrono::milliseconds data{120'000};     // the reply to DATA
  std::chrono::milliseconds body{180'000};     // each body write
  std::chrono::milliseconds dot{600'000};      // the reply to the final "."
};

struct SmtpOptions {
  std::string helo_name = "localhost";   // our name for EHLO/HELO
  std::string host;                      // the server's name (TLS: SNI and name check)
  StartTls starttls = StartTls::opportunistic;
  bool implicit_tls = false;             // smtps: TLS before the banner
  FilterFactory tls;                     // empty: no TLS available (STARTTLS is not tried)
  std::string auth_user;                 // "" = no AUTH
  std::shared_ptr<const std::string> auth_password;  // never logged
  bool allow_plaintext_auth = false;     // only honoured with starttls off
  AuthMechanism auth_mechanism = AuthMechanism::automatic;
  std::shared_ptr<TokenSource> auth_token;  // set: OAuth (XOAUTH2/OAUTHBEARER) with auth_user
  SmtpTimeouts timeouts;
};

// One SMTP connection carrying messages one after another (RSET between them). AUTH happens
// once per connection. Replies: 2xx -> K, 4xx -> Z, 5xx -> D, per recipient; the text is the
// sanitised server reply with its code and enhanced status code ("550 5.1.1 no such user").
// Outcome.connect_failed is set when the TCP connection failed or the banner refused us (554):
// nothing was said about the mail, so the caller may try the next address.
// Failures before any message transaction (TLS required but missing, TLS handshake or
// certificate failure, AUTH refused, no banner before the timeout) give every recipient a
// temporary reply that says what is wrong and set Outcome.setup_failed: they are about the host,
// and the caller may try the next one; 535 says "authentication failed: the server rejected the
// user name or password".
class SmtpConnection {
 public:
  SmtpConnection(uv_loop_s* loop, Endpoint endpoint, Timeouts timeouts, SmtpOptions options,
                 std::function<void()> on_idle, std::function<void()> on_closed);
  ~SmtpConnection();
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // Connects on first use. False (message not taken) when busy with a message or not usable.
  bool submit(std::shared_ptr<const Message> msg, DoneCallback on_done);
  bool busy() const;
  bool usable() const;
  // QUIT once the current message is done (at once when idle), then close; on_closed follows.
  void finish();
  // What the session learned (for nullq check and logs): banner, EHLO keywords, TLS.
  std::string banner() const;
  std::vector<std::string> extensions() const;
  std::string tls_description() const;  // "" without TLS
  // `nullq check`: connect, banner, EHLO, STARTTLS, AUTH, QUIT; no mail. on_closed reports the end;
  // then error() is "" when every step worked, else why not.
  void probe();
  std::string error() const;
  bool authenticated() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nullq::client

// testhost.hpp — a scriptable QMQP + QMTP + SMTP (STARTTLS, implicit TLS, AUTH) server for tests
// and the README demo.
//
// Purpose:   stand in for a smart host on loopback: record every message with its envelope and
//            answer the way a script says, including the ways real servers misbehave.
// Trust:     clients are the code under test; QMTP/QMQP input is parsed with the same strict
//            codecs; SMTP is parsed here (strictly: CRLF expected, a bare LF is recorded), and TLS
//            is OpenSSL used directly on the socket, not the tls module under test.
// Errors:    start() returns an Error if a socket cannot be bound; a bad script is an Error.
// Threading: one accept thread plus one thread per connection; every public method is thread-safe.
//            on_message is called on a connection thread.
//
// SCRIPT: steps separated by ';', one step per message (QMTP: per package) in arrival order; the
// last step repeats. Steps:
//   K | Z | D          answer that for every recipient (QMQP: for the message)
//   KDZ...             per-recipient answers cycling over the letters (QMQP uses the first)
//   early-D            QMQP: answer D as soon as the request starts, then close (Postfix, oversize)
//   hang               read everything, never answer
//   close-mid          close after part of the request, without an answer
//   garbage            answer bytes that are not a netstring
//   oversize           answer with a netstring longer than 64 KiB
//   drip:<ms>          answer K one byte every <ms> milliseconds
//   delay:<ms>         wait <ms>, then answer K
//   close-after-answer answer K, then close the connection (QMTP: even with packages pipelined)
// Example: "Z;K" defers the first message and accepts every later one.
//
// SMTP SCRIPT (Options::smtp_script, --smtp-script): steps separated by ';', one step per SMTP
// connection in accept order (smtp and smtps listeners share it); the last step repeats; an empty
// step (or script) answers everything the usual way. A step is items separated by ',':
//   STAGE=ANSWERS      the answers for a stage: banner ehlo starttls auth mail rcpt data dot rset quit
//                      ANSWERS = one ANSWER per message of the connection separated by '/', the last
//                      repeating; ANSWER = NNN or NNN:X.Y.Z (the enhanced code; without it one fitting
//                      the stage is used when ENHANCEDSTATUSCODES is offered). For rcpt an ANSWER is
//                      NNN[:X.Y.Z] values separated by '|', cycled over the message's recipients.
//                      A 421 answer at any stage closes the connection after it is sent.
//   close-after=STAGE  send the answers up to and including that stage's, then close at once (so a
//                      client sees the answers and the end of the stream in one read)
//   hang=STAGE         at that stage read everything and never answer ("hang" = hang=dot)
//   delay:<ms>         wait <ms> before the final-dot answer
//   tls-fail           STARTTLS: answer 220, then send bytes that are not TLS and close;
//                      smtps: the same right after accept
//   multiline          every answer except EHLO's comes as three lines (NNN-... NNN-... NNN ...)
//   long=STAGE         that stage's answer is one line of 1100 characters (RFC 5321 allows 512)
//   cr-dot-cr          DATA also ends at <CR>.<CR> inside a line, and what follows is read as
//                      commands: a receiver open to SMTP smuggling, to show that nothing gets through
// Examples: "banner=421" (busy), "rcpt=250|550:5.1.1" (every second recipient unknown),
// "dot=250/451" (the connection's second message deferred), "close-after=ehlo", "hang=dot".
// Options::refuse_long_lines (--refuse-long-lines) answers a message holding a DATA line over 998
// bytes with "500 5.5.2 Line too long" at the final dot, as strict receivers do.
// With credentials set, AUTH PLAIN and AUTH LOGIN check them (235 or 535 5.7.8) unless the script
// gives auth=....
// OAuth (smtp_auth.cpp): AUTH XOAUTH2 and AUTH OAUTHBEARER (RFC 7628) take an access token, on the
// AUTH line or after an empty 334. Options::oauth_check decides whether it is live for the user;
// without it a token is live when it equals credentials[user]. The EHLO AUTH line offers them when
// oauth_check is set, or when the caps name them (XOAUTH2, OAUTHBEARER: then only those named).
// A live token gets 235 (auth_mechanism "XOAUTH2"/"OAUTHBEARER"); a dead one gets, as Google
// answers, "334 " + base64 of {"status":"<the check's error>","schemes":"Bearer","scope":"..."},
// then, after the client's line (XOAUTH2: empty; OAUTHBEARER: "AQ==", anything else is 501),
// "535 5.7.8 Username and Password not accepted". An OAUTHBEARER response without host= or port=,
// or a response that is not the mechanism's format, gets 501 5.5.2. Default answers: 220 banner, 250 EHLO (with the capabilities), 220 STARTTLS,
// 235 AUTH, 250 MAIL, 250 RCPT, 354 DATA, 250 dot, 250 RSET, 221 QUIT; HELO gets 250 too.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/result.hpp"

namespace nullq::testhost {

enum class StepKind { answer, early_d, hang, close_mid, garbage, oversize, drip, delay, close_after_answer };

struct Step {
  StepKind kind = StepKind::answer;
  std::string letters = "K";  // for answer: one letter per recipient, cycled
  int ms = 0;                 // for drip and delay
};

Result<std::vector<Step>> parse_script(std::string_view script);

// One SMTP answer as scripted: code and enhanced code ("" = the stage's default).
struct SmtpAnswer {
  int code = 0;
  std::string enhanced;
};

enum class SmtpStage { banner, ehlo, starttls, auth, mail, rcpt, data, dot, rset, quit, none };
constexpr std::size_t smtp_stage_count = static_cast<std::size_t>(SmtpStage::none);

struct SmtpStep {
  // answers[stage][message index] (the last repeats); for rcpt each entry holds the '|' answers.
  std::vector<std::vector<SmtpAnswer>> answers[smtp_stage_count];
  SmtpStage close_after = SmtpStage::none;
  SmtpStage hang = SmtpStage::none;
  SmtpStage long_line = SmtpStage::none;
  int delay_ms = 0;
  bool tls_fail = false;
  bool multiline = false;
  bool cr_dot_cr = false;  // DATA also ends at <CR>.<CR> (a receiver open to SMTP smuggling)
};

Result<std::vector<SmtpStep>> parse_smtp_script(std::string_view script);
const char* to_string(SmtpStage stage);

// What the EHLO answer offers.
struct SmtpCaps {
  bool pipelining = true;
  std::size_t size = 0;       // SIZE n; 0 = not offered (and not enforced)
  bool eightbitmime = true;
  bool smtputf8 = false;
  bool starttls = false;      // needs Options::cert_file and key_file; not offered once in TLS
  bool auth = false;          // AUTH PLAIN LOGIN
  bool xoauth2 = false;       // AUTH XOAUTH2 (offered anyway with Options::oauth_check unless
  bool oauthbearer = false;   // AUTH OAUTHBEARER  one of these two is named)
  bool enhanced = true;       // ENHANCEDSTATUSCODES
  bool dsn = false;           // DSN (RFC 3461; MAIL and RCPT parameters are recorded either way)
};
// "PIPELINING,SIZE=10000,8BITMIME,SMTPUTF8,STARTTLS,AUTH,XOAUTH2,OAUTHBEARER,ENHANCEDSTATUSCODES,DSN"
// (any order, any
// subset, case-insensitive; "none" = nothing). Names not in the list are off.
Result<SmtpCaps> parse_caps(std::string_view list);

struct RcptAnswer {
  std::string address;
  std::string params;   // what followed the address ("" if nothing)
  int code = 0;
};

struct Received {
  std::string protocol;  // "qmtp", "qmqp", "smtp" or "smtps"
  std::string sender;
  std::vector<std::string> recipients;  // SMTP: the accepted ones
  std::string message;   // LF line endings (SMTP: un-dot-stuffed)
  std::string answers;   // one letter per recipient as answered ("" if none was sent); SMTP: the
                         // final-dot answer as K/Z/D for every accepted recipient
  // SMTP only:
  unsigned connection = 0;           // SmtpConnection::id
  unsigned index_in_connection = 0;  // 1 for the connection's first message
  std::string mail_params;           // what followed MAIL FROM:<...> ("SIZE=123 BODY=8BITMIME")
  std::vector<RcptAnswer> rcpts;     // every RCPT with its answer, accepted or not
  int final_code = 0;                // the answer to the final dot
  bool tls = false;
  std::string auth_user;             // "" = not authenticated
  bool pipelined = false;            // MAIL, every RCPT and DATA arrived in one read
  bool bare_lf = false;              // a line of this message ended in LF without CR
  bool bare_cr = false;              // a CR not followed by LF inside this message's DATA
  std::string data;                  // the DATA bytes exactly as received (dot-stuffed, line ends
                                     // as sent), without the line that ended them; capped like message
};

// One SMTP connection as the server saw it (updated while it runs).
struct SmtpConnection {
  unsigned id = 0;                   // 1, 2, ... in accept order
  std::string protocol;              // "smtp" or "smtps"
  std::string ehlo;                  // the last EHLO/HELO argument
  std::vector<std::string> commands; // verbs in order, upper case: EHLO STARTTLS AUTH MAIL RCPT DATA RSET QUIT NOOP...
  bool tls = false;                  // STARTTLS done (or smtps)
  std::string tls_version;           // "TLSv1.3"
  std::string sni;                   // the name the client sent ("" = none)
  bool plaintext_after_starttls = false;  // bytes came after STARTTLS before the handshake (injection)
  unsigned auth_attempts = 0;
  std::string auth_user;             // set once an AUTH succeeded
  std::string auth_mechanism;        // "PLAIN", "LOGIN", "XOAUTH2" or "OAUTHBEARER"
  std::string oauth_host;            // OAUTHBEARER: the host= and port= the client sent
  std::string oauth_port;
  bool auth_before_tls = false;      // an AUTH was sent on a connection without TLS
  unsigned messages = 0;             // messages that reached the final dot
  bool bare_lf = false;              // any line ended in LF without CR
  bool quit = false;                 // the client said QUIT
  bool closed = false;               // the connection is over
};

// Limits like a provider's, over the whole server (0 = off), answered as Postfix's anvil and the
// providers answer (issue 19). Checked when a connection opens (SMTP) and when a message starts
// (SMTP: at MAIL; QMTP: per package, answered for every recipient; a refused message is not
// recorded):
//   connections     more SMTP connections at once get "421 4.7.0 Error: too many connections from
//                   127.0.0.1" as their banner, then the close
//   per_connection  the next message of a connection gets "421 4.7.0 Error: too many messages in
//                   one connection", then the close (QMTP: Z with that text, then the close)
//   rate            messages per rate_window, fixed windows from the start (anvil): "450 4.7.1
//                   Error: too much mail from 127.0.0.1" (QMTP: Z)
//   quota           messages per quota_window (0 = never resets): "550 5.4.5 Daily user sending
//                   limit exceeded" (QMTP: D)
struct ServerLimits {
  unsigned connections = 0;
  unsigned per_connection = 0;
  unsigned rate = 0;
  std::chrono::milliseconds rate_window{1000};
  unsigned quota = 0;
  std::chrono::milliseconds quota_window{0};
  // SMTP: recipients per message; each RCPT past it is answered "452 4.5.3 Too many recipients"
  // (recipients_code 552: "552 5.5.3 Too many recipients", as older servers answer).
  unsigned recipients = 0;
  unsigned recipients_code = 452;
};

struct Options {
  std::string bind = "127.0.0.1";   // or "::1"
  bool qmtp = true;
  bool qmqp = true;
  std::string script = "K";
  std::size_t max_message = 64 * 1024 * 1024;
  std::function<void(const Received&)> on_message;  // called on a connection thread
  // SMTP (off unless asked for):
  bool smtp = false;                 // plain SMTP listener (STARTTLS if caps.starttls)
  bool smtps = false;                // implicit-TLS listener; needs cert_file and key_file
  SmtpCaps caps;
  std::map<std::string, std::string> credentials;  // user -> password for AUTH
  // XOAUTH2 / OAUTHBEARER: "" when `token` is live for `user`, else the error for the JSON of the
  // 334 answer ("invalid_token"). Called on a connection thread. Unset: see OAuth above.
  std::function<std::string(std::string_view user, std::string_view token)> oauth_check;
  std::string cert_file, key_file;   // PEM, for STARTTLS and smtps
  std::string smtp_script;           // see SMTP SCRIPT above
  ServerLimits limits;               // provider-like limits; see ServerLimits
  bool refuse_long_lines = false;    // a DATA line over 998 bytes (RFC 5321 §4.5.3.1.6) gets
                                     // "500 5.5.2 Line too long" at the final dot, as strict servers do
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> start(Options options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t qmtp_port() const;
  std::uint16_t qmqp_port() const;
  std::uint16_t smtp_port() const;
  std::uint16_t smtps_port() const;
  std::vector<Received> received() const;
  std::vector<SmtpConnection> smtp_connections() const;
  // True once `count` SMTP connections have ended; false at the deadline.
  bool wait_for_closed(std::size_t count, std::chrono::milliseconds timeout) const;
  Status set_smtp_script(std::string_view script);
  // True once at least `count` messages were recorded; false at the deadline.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) const;
  Status set_script(std::string_view script);
  unsigned connections() const;     // accepted so far
  unsigned max_concurrent() const;  // most connections open at once
  unsigned refusals() const;        // answers given because of Options::limits
  // Of those, the first run: from the first refusal to the next message taken (what was already on
  // its way when the limit was first reached, and the probes until it opened again).
  unsigned first_refusal_run() const;
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nullq::testhost

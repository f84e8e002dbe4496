// smtp.hpp — ESMTP client codec (PROTOCOLS.md §5a, RFC 5321 and its extensions), no I/O.
//
// Purpose:   the reply parser (multi-line, capped), enhanced status codes (RFC 3463), EHLO
//            capability parsing, command encoding, the streaming body encoder (every line end, bare
//            CR and bare LF included, -> CRLF and dot-stuffing decided across buffer boundaries,
//            no second copy of the message), and SASL for AUTH (RFC 4954): the PLAIN / LOGIN
//            encodings (RFC 4616), XOAUTH2 (Google's and Microsoft's format) and OAUTHBEARER
//            (RFC 7628), the error JSON an OAuth server sends in its 334 challenge, and SaslClient,
//            the client's side of one AUTH exchange as a state machine (src/proto/sasl.cpp).
// Trust:     every server byte is hostile: reply lines are capped (max_line) and so is their count
//            (max_lines); texts are sanitised before anything outside the codec sees them.
//            Addresses come from the queue file, which the daemon validated; command encoders still
//            refuse CR, LF and NUL so that no command can be split into two.
// Errors:    ReplyParser::feed returns ErrorDomain::protocol (temporary) on a malformed or
//            oversize reply and stays failed. Encoders return ErrorDomain::format (permanent) for an
//            address that cannot go on a command line. SaslClient never fails by throwing: a
//            refusal or a reply out of turn is a Step of kind failed with one printable line.
//            Secrets (passwords, access tokens and their base64) only ever appear in the lines
//            SaslClient gives to send, never in an error text, even when a server echoes them.
// Threading: values; one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/reply.hpp"
#include "nullq/result.hpp"

namespace nullq::proto::smtp {

inline constexpr std::size_t max_line = 4096;  // RFC 5321 says 512; accept more, never unbounded
inline constexpr std::size_t max_lines = 100;  // lines of one multi-line reply

struct Reply {
  int code = 0;                    // 200..599
  std::string enhanced;            // "5.1.1" when the first line starts with one, else ""
  std::vector<std::string> lines;  // raw text after "ddd-"/"ddd ", each capped at max_line

  // 'K' for 2xx, 'Z' for 4xx (and 1xx/3xx where they make no sense), 'D' for 5xx.
  Verdict verdict() const;
  // "550 5.1.1 no such user / second line": one printable capped line for logs and bounces.
  std::string text() const;
};

// Reads replies from the server's byte stream; any number per feed().
class ReplyParser {
 public:
  Status feed(std::string_view in, std::vector<Reply>& out);
  bool failed() const { return failed_; }
  // Bytes held of an incomplete reply (tests).
  std::size_t buffered() const { return line_.size(); }

 private:
  Status fail(std::string why);
  std::string line_;
  Reply cur_;
  bool in_reply_ = false;
  bool failed_ = false;
  Error error_;
};

// The enhanced status code at the start of `text` ("5.1.1 ..."), or "".
std::string enhanced_code(std::string_view text);

struct Capabilities {
  bool esmtp = false;         // EHLO answered (HELO fallback: everything false)
  bool pipelining = false;
  bool starttls = false;
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool enhanced = false;      // ENHANCEDSTATUSCODES
  bool size = false;          // SIZE offered
  bool dsn = false;           // DSN offered (RFC 3461)
  std::uint64_t size_limit = 0;  // 0 = none announced
  bool auth_plain = false;
  bool auth_login = false;
  bool auth_xoauth2 = false;
  bool auth_oauthbearer = false;
  std::vector<std::string> auth_mechanisms;  // every AUTH mechanism offered, upper case, sanitised
  std::vector<std::string> keywords;  // every extension line, sanitised, for nullq check
};
// From a 250 reply to EHLO (the first line is the greeting and not an extension). AUTH is read
// in any case, from "AUTH A B" and from the pre-RFC "AUTH=A B" some servers still send.
Capabilities parse_ehlo(const Reply& r);

// Whether an address needs SMTPUTF8 (has a byte >= 0x80).
bool needs_smtputf8(std::string_view address);
// Whether the body has a byte >= 0x80 (then BODY=8BITMIME is sent when offered).
bool is_8bit(std::string_view body);

struct MailParams {
  std::uint64_t size = 0;    // 0 = no SIZE parameter
  bool eightbit = false;     // BODY=8BITMIME
  bool smtputf8 = false;     // SMTPUTF8
  std::string dsn;           // "RET=... ENVID=..." (dsn::mail_params), "" = none
};
Result<std::string> mail_from(std::string_view sender, const MailParams& p);  // "MAIL FROM:<s> ...\r\n"
// "RCPT TO:<r>\r\n", or with `params` ("NOTIFY=... ORCPT=...", dsn::rcpt_params): "RCPT TO:<r> params\r\n"
Result<std::string> rcpt_to(std::string_view rcpt, std::string_view params = {});
std::string ehlo(std::string_view name);   // "EHLO name\r\n"
std::string helo(std::string_view name);

// The size the body takes on the wire after line-end normalisation and dot-stuffing, with the
// final ".\r\n" (what SIZE= announces; RFC 1870 allows an estimate, this is exact: it runs the
// BodyEncoder's own state machine and counts).
std::uint64_t wire_size(std::string_view body);

// Streams a body as DATA content. Every line end goes out as CRLF: CRLF stays, and a lone LF and
// a lone CR (RFC 5321 §2.3.8 forbids both on the wire; a receiver that ends data at "<CR>.<CR>"
// would otherwise run a smuggled transaction) each become CRLF. A '.' at the start of every line
// so made is doubled. All of it is decided across feed() boundaries (a CR that ends a chunk waits
// for the next byte). finish() adds CRLF when the body did not end with a line end, then ".\r\n".
// Appends to `out`; holds no copy of the body.
class BodyEncoder {
 public:
  void feed(std::string_view chunk, std::string& out);
  void finish(std::string& out);

 private:
  friend std::uint64_t wire_size(std::string_view body);
  template <class Sink>
  void encode(std::string_view chunk, Sink& out);
  template <class Sink>
  void end(Sink& out);

  bool line_start_ = true;
  bool pending_cr_ = false;  // the last byte fed was a CR; whether an LF follows is not known yet
};

// ---- SASL (RFC 4954) ----

std::string base64(std::string_view bytes);
// RFC 4648 base64, padding optional; false (and `out` unspecified) on any other byte.
bool base64_decode(std::string_view in, std::string& out);
// base64 of "\0user\0password" (RFC 4616), the AUTH PLAIN initial response.
std::string auth_plain(std::string_view user, std::string_view password);
// base64 of "user=U\x01auth=Bearer T\x01\x01", the XOAUTH2 initial response.
std::string auth_xoauth2(std::string_view user, std::string_view token);
// base64 of the RFC 7628 §3.1 client response "n,a=U,\x01host=H\x01port=P\x01auth=Bearer T\x01\x01"
// (in the gs2 authzid U, ',' is sent as "=2C" and '=' as "=3D").
std::string auth_oauthbearer(std::string_view user, std::string_view host, std::uint16_t port,
                             std::string_view token);
// The error an OAuth server puts in its 334 challenge (base64 of JSON: Google and Microsoft send
// {"status":"401","schemes":"Bearer","scope":"..."}, RFC 7628 {"status":"invalid_token",...}) as one
// printable, capped line: "status=401". "" when it is not base64 of a JSON object with a status.
std::string oauth_error_summary(std::string_view base64_challenge);

enum class Sasl { plain, login, xoauth2, oauthbearer };
const char* to_string(Sasl mechanism);  // "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"

// The client's side of one AUTH exchange, without I/O: start() gives the AUTH command, and every
// reply to what was sent gives the next line to send, success, or failure.
//  - An initial response goes on the AUTH line unless that line would pass 512 octets (RFC 4954
//    §4, RFC 5321 §4.5.3.1.4; Microsoft's tokens are 1-2.5 KB): then "AUTH MECH", and the response
//    after the server's empty 334. LOGIN sends the user and the password after one 334 each.
//  - XOAUTH2 and OAUTHBEARER: a 334 after the response carries the server's error JSON; the client
//    answers an empty line (XOAUTH2) or "AQ==" (OAUTHBEARER, RFC 7628 §3.2.3), and the reply after
//    that (535, or 454 when the server could not check the token) ends the exchange.
//  - 235 is success; anything else ends it as failed, with the final code.
class SaslClient {
 public:
  struct Credentials {
    std::string_view user;
    std::string_view secret;  // the password, or the access token
    std::string_view host;    // OAUTHBEARER: the server's name
    std::uint16_t port = 0;   // OAUTHBEARER: the server's port
  };
  struct Step {
    enum class Kind { send, done, failed };
    Kind kind = Kind::send;
    std::string line;   // send: the line to write with its CRLF; carries secrets, never log it
    std::string error;  // failed: "authentication failed: ..." (printable, one line, no secret)
    int code = 0;       // failed: the server's final reply code (535: credentials refused)
    std::string oauth_error;  // failed: the 334 challenge's summary ("status=401"), if one came
  };

  // The credentials are copied into the encoded response at once; nothing else is kept.
  SaslClient(Sasl mechanism, const Credentials& c);
  ~SaslClient();  // overwrites the encoded response
  SaslClient(const SaslClient&) = delete;
  SaslClient& operator=(const SaslClient&) = delete;

  Sasl mechanism() const { return mech_; }
  Step start();
  Step on_reply(const Reply& r);
  bool finished() const { return state_ == State::finished; }

 private:
  enum class State { initial, go_ahead, login_user, login_pass, response_sent, dummy_sent, finished };
  Step fail(const Reply& r);
  Step fail_text(std::string text, int code);
  std::string redact(std::string text) const;

  Sasl mech_;
  std::string user_;
  std::string response_;        // base64, the (first) client response
  std::string password_b64_;    // LOGIN: the second response
  std::string secret_;          // only to keep it out of error texts
  State state_ = State::initial;
  std::string oauth_error_;
};

}  // namespace nullq::proto::smtp

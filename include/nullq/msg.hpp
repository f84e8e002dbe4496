// msg.hpp — RFC 5322 header and address handling for the injector (nullq-sendmail).
//
// Purpose:   turn what a caller piped to sendmail into a queueable message: parse the header block
//            and address lists, pick the envelope, and make the header fix-ups a sysadmin expects.
// Trust:     the message and the command line come from any local user; sizes are bounded, and an
//            address that cannot be parsed is an error, never guessed at.
// Errors:    Result with ErrorDomain::format (permanent) and one line naming the bad header/address.
// Threading: pure functions; the clock and ids are inputs so tests are deterministic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/result.hpp"

namespace nullq::msg {

struct Mailbox {
  std::string display;  // decoded display name or comment, may be empty
  std::string address;  // addr-spec; may lack a domain ("root")
};

// "Name <a@b>, c@d (C), group: e@f;" -> mailboxes. Empty list is fine; broken syntax is an error.
Result<std::vector<Mailbox>> parse_address_list(std::string_view text);

// The envelope sender a caller named (sendmail -f/-r, MAIL FROM in -bs), without angle brackets:
// one address ("a@b", "root", "Name <a@b>"), returned as its addr-spec, not yet qualified; "" is the
// null sender. Errors (ErrorDomain::format): "bad sender 'bad sender': spaces in address", more than
// one address, unbalanced quotes or brackets — what a relay would refuse with 501/553 later.
Result<std::string> parse_sender(std::string_view given);

// The headers whose addresses are qualified: From, Sender, Reply-To, To, Cc, their Resent-* forms,
// Mail-Reply-To, Mail-Followup-To, Errors-To and Disposition-Notification-To (case-insensitive).
bool is_address_header(std::string_view name);

// Appends "@domain" to every bare local part in an address header's value, as nullmailer-inject and
// Postfix do: " root (Cron Daemon)\n" -> " root@example.org (Cron Daemon)\n", "Ops <ops>" -> "Ops
// <ops@example.org>". Display names, comments, encoded words, quoting, groups ("undisclosed-recipients:;")
// and folding stay byte for byte, and so does a value with nothing to qualify. nullopt when the value
// does not parse as an address list: the caller keeps the header unchanged rather than guess.
std::optional<std::string> qualify_addresses(std::string_view value, std::string_view domain);

struct Header {
  std::string name;   // as written
  std::string value;  // text after the colon, continuation lines included
  std::string raw;    // "Name: value\n\tmore\n", exactly as it will be written
};

struct Parsed {
  std::vector<Header> headers;
  std::string body;   // after the blank line (the blank line itself is not included)
};

// Splits a message with LF line endings into headers and body. A first line that is not a header
// means there are no headers; a later non-header line starts the body.
Parsed split_message(std::string_view message);

// Reads a message from sendmail's stdin conventions into LF form: CRLF -> LF, a leading mbox
// "From " line dropped, and unless `ignore_dots` a line holding only "." ends the message (what
// follows it is discarded, as sendmail does).
std::string normalise_input(std::string_view raw, bool ignore_dots);

struct Context {
  // From the command line.
  bool extract_recipients = false;         // -t
  bool sender_given = false;               // -f / -r
  std::string sender;                      // as given ("" = null sender)
  std::string full_name;                   // -F or $NAME
  std::vector<std::string> arguments;      // recipient arguments (header-style allowed)
  // From the system and config.
  std::string login;                       // the caller's user name
  std::string gecos_name;                  // passwd full name
  std::string domain;                      // qualifies bare addresses
  std::string hostname;                    // local host name ("user@hostname" is local)
  std::string idhost;                      // Message-ID host
  std::string admin;                       // local recipients go here when set
  std::string rewrite_sender;              // forced envelope sender
  bool rewrite_header_from = false;
  std::int64_t now = 0;                    // unix seconds
  std::string local_zone_date;             // preformatted Date: value for `now` (tests pass a fixed one)
  std::string id_token;                    // unique part of a generated Message-ID
};

struct Prepared {
  std::string sender;
  std::vector<std::string> recipients;
  std::string message;                     // headers + blank line + body, LF endings
};

// Applies every header fix-up and builds the envelope. Bare local parts in address headers (see
// is_address_header) get "@" + ctx.domain, when the domain is set. Errors: no recipients (ErrorDomain::usage),
// a malformed address in an argument or in To/Cc/Bcc with -t (ErrorDomain::format). Bcc and
// Resent-Bcc lines are always removed.
Result<Prepared> prepare(const Parsed& parsed, const Context& ctx);

// The envelope recipients one argument gives (as prepare() makes them: qualified, local names to
// ctx.admin), so that what was asked for an argument (a DSN request) can follow its addresses.
Result<std::vector<std::string>> recipients_of(std::string_view argument, const Context& ctx);

// Date: value for `when` in local time with a numeric zone, e.g. "Sun, 22 Nov 2026 14:03:07 +0100".
std::string rfc5322_date(std::int64_t when);

}  // namespace nullq::msg

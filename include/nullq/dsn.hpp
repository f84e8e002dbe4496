// dsn.hpp — Delivery Status Notification requests (RFC 3461): RET, ENVID, NOTIFY, ORCPT.
//
// Purpose:   one codec for the DSN parameters wherever they appear: sendmail's -N/-R/-V, the MAIL and
//            RCPT parameters of `sendmail -bs`, the queue file's E and N records, the drop pipe into
//            nullq-queue, and the parameters nullq sends to an SMTP server that offers DSN. Values are
//            kept decoded (ENVID and the ORCPT address as text, NOTIFY as flags) and encoded again
//            (xtext, canonical spelling) wherever they are written.
// Trust:     every input is caller-controlled (argv, -bs, the set-id program's pipe, a drop file):
//            lengths are capped (ENVID 100, ORCPT 500 characters as xtext, RFC 3461 4.2 and 4.4), and
//            decoded text must be printable US-ASCII (0x20-0x7e).
// Errors:    parse functions return ErrorDomain::format, ErrorKind::permanent, with one printable line
//            naming the bad value.
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "nullq/result.hpp"

namespace nullq::dsn {

inline constexpr std::size_t max_envid = 100;   // ENVID, as xtext
inline constexpr std::size_t max_orcpt = 500;   // the ORCPT value "type;xtext"
inline constexpr std::size_t max_addr_type = 32;

enum class Ret : std::uint8_t { unset, full, hdrs };

// NOTIFY flags; 0 = not given (nullq's default: report failures and delays).
inline constexpr unsigned notify_never = 1;
inline constexpr unsigned notify_success = 2;
inline constexpr unsigned notify_failure = 4;
inline constexpr unsigned notify_delay = 8;

// What MAIL FROM carries (one per message).
struct MessageParams {
  Ret ret = Ret::unset;
  std::string envid;  // decoded; "" = none
  bool empty() const { return ret == Ret::unset && envid.empty(); }
  bool operator==(const MessageParams&) const = default;
};

// What RCPT TO carries (one per recipient).
struct RecipientParams {
  unsigned notify = 0;        // notify_* flags; 0 = not given
  std::string orcpt_type;     // "rfc822" (as given); "" = no ORCPT
  std::string orcpt;          // the original address, decoded
  bool empty() const { return notify == 0 && orcpt_type.empty(); }
  bool operator==(const RecipientParams&) const = default;
};

// Whether a failure (or a delay) of this recipient is to be reported to the sender. NOTIFY not
// given means yes (RFC 3461 4.1 leaves the default to the MTA; nullq reports failures and delays).
bool wants_failure(const RecipientParams& p);
bool wants_delay(const RecipientParams& p);

// xtext (RFC 3461 4): bytes 0x21-0x7e except '+' and '=' as they are, every other byte as "+XX"
// (upper-case hex). decode is strict: "+XX" with upper-case hex only, no other byte outside 0x21-0x7e.
std::string xtext_encode(std::string_view text);
Result<std::string> xtext_decode(std::string_view xtext);

// -N and NOTIFY=: "NEVER", or a comma list of SUCCESS, FAILURE, DELAY; any case. NEVER stands alone.
Result<unsigned> parse_notify(std::string_view value);
std::string notify_text(unsigned flags);  // "NEVER", "SUCCESS,FAILURE,DELAY" order; "" for 0
// -R and RET=: FULL or HDRS, any case.
Result<Ret> parse_ret(std::string_view value);
const char* ret_text(Ret r);  // "FULL", "HDRS", "" for unset
// An envelope id as the caller means it (sendmail -V, decoded ENVID=): printable US-ASCII, at most
// max_envid characters once xtext-encoded.
Status validate_envid(std::string_view envid);
// An ORCPT value "addr-type;xtext" (ORCPT=, and the queue file): type an atom of letters, digits
// and '-', address non-empty printable US-ASCII once decoded, the whole at most max_orcpt characters.
Status parse_orcpt(std::string_view value, RecipientParams& into);

// One ESMTP parameter of MAIL (RET, ENVID) or RCPT (NOTIFY, ORCPT): `keyword` in any case. False when
// the keyword is not a DSN one (the caller decides: SIZE and BODY are MAIL's too; anything else is
// RFC 5321's 555). An error for a bad value or a parameter given twice.
Result<bool> set_mail_param(MessageParams& p, std::string_view keyword, std::string_view value);
Result<bool> set_rcpt_param(RecipientParams& p, std::string_view keyword, std::string_view value);

// The parameters as they go on the wire and into the queue file: "RET=HDRS ENVID=xtext",
// "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;xtext" (fixed order, upper-case keywords); "" when empty.
std::string mail_params(const MessageParams& p);
std::string rcpt_params(const RecipientParams& p);
// The reverse, strict: only the spelling mail_params/rcpt_params write is accepted (one encoding
// per value, so that a queue file re-encodes to its own bytes), and never an empty list.
Result<MessageParams> parse_mail_params(std::string_view text);
Result<RecipientParams> parse_rcpt_params(std::string_view text);

}  // namespace nullq::dsn

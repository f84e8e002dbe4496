// envelope.hpp — the queue file format and the injector -> nullq-queue pipe framing.
//
// Purpose:   the one place where the on-disk queue file and the drop pipe are defined.
// Trust:     decode_* input is hostile: drop files are written by any local user, and the pipe into
//            the set-id nullq-queue comes from the caller. Every field is length-capped and validated.
// Errors:    malformed input returns ErrorDomain::format, ErrorKind::permanent.
// Threading: pure functions.
//
// QUEUE FILE (tmp/, new/, queue/, failed/):
//
//   NQ1\n                      magic and version
//   F<netstring>\n             envelope sender; empty payload = null sender (bounces)
//   E<netstring>\n             optional: the message's DSN request as MAIL parameters, canonical
//                              (dsn::mail_params): "RET=HDRS ENVID=xtext"
//   T<netstring>\n             one per recipient still to deliver; at least one
//   N<netstring>\n             optional, right after the T it belongs to: that recipient's DSN request
//                              as RCPT parameters (dsn::rcpt_params): "NOTIFY=FAILURE ORCPT=rfc822;xtext"
//   Q<netstring>\n             queued-at, decimal unix seconds
//   U<netstring>\n             real uid of the submitter, decimal (absent for daemon-made bounces)
//   L<netstring>\n             optional: last delivery error, sanitised one line
//   W<netstring>\n             optional: "1" once a delay warning was sent
//   O<netstring>\n             optional, in a bounce: the queue id of the original, which waits in
//                              failed/ until this bounce is delivered (then it is removed)
//   B<netstring>\n             optional, in failed/: the queue id of the bounce whose delivery
//                              removes this file (it names this file in its O record)
//   \n                         end of envelope
//   <message>                  RFC 5322 message, LF line endings, to end of file
//
// Records appear in this order; F, T and Q are required, each tag at most once except T (and N, at
// most once after each T). A record is
// one tag byte, one netstring and LF, so any byte sequence in an address stays unambiguous (and is
// then rejected by validate_address anyway). Example (`nullq show ID` prints it as is):
//
//   NQ1
//   F13:alice@example,
//   T11:bob@example,
//   Q10:1795338653,
//   U4:1000,
//
//   Subject: hi
//   ...
//
// DROP PIPE (stdin of nullq-queue, written by nullq-sendmail):
//
//   <netstring( netstring(sender) netstring(rcpt1) ... netstring(rcptN) )><message bytes to EOF>
//
// An address may be followed by one item that starts with the byte 0x01 (which no address may
// hold): the DSN parameters of that address, canonical as in the E and N records ("\x01RET=HDRS
// ENVID=x" after the sender, "\x01NOTIFY=NEVER" after a recipient). Without them the framing is the
// one nullq has always written.
//
// The message on the pipe already has LF line endings; nullq-queue prepends its Received: line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/dsn.hpp"
#include "nullq/result.hpp"

namespace nullq::envelope {

inline constexpr std::size_t max_address = 998;       // RFC 5321 path is 256; be lenient, but bounded
inline constexpr std::size_t max_recipients = 10'000;
inline constexpr std::size_t max_error_text = 1024;

struct Envelope {
  std::string sender;                   // empty = null sender
  std::vector<std::string> recipients;  // pending recipients, in submission order
  std::int64_t queued_at = 0;           // unix seconds
  std::int64_t uid = -1;                // -1 = not recorded
  std::string last_error;               // empty = none
  bool warned = false;                  // delay warning already sent
  std::string original_id;              // O: a bounce's original, kept in failed/ ("" = none)
  std::string bounce_id;                // B: kept in failed/ until this bounce is delivered ("" = none)
  dsn::MessageParams mail_dsn;          // E: RET, ENVID
  // N: empty, or one per recipient, aligned with `recipients` (keep them aligned: set_recipients).
  std::vector<dsn::RecipientParams> rcpt_dsn;

  bool operator==(const Envelope&) const = default;
};

// No NUL, CR or LF; not longer than max_address; recipients must be non-empty. Sender may be empty.
// What every address in a queue file satisfies: decode() checks it.
Status validate_address(std::string_view addr, bool is_sender);
// validate_address, and no other control character (0x01-0x1f, 0x7f) either: what the sender and
// recipients of a new message must satisfy (sendmail's arguments and headers, -bs, nullq-queue's
// drop framing). No server would take such an address; the caller hears so now, not in a bounce.
// decode() keeps to validate_address, so that a file queued before this check is still delivered.
Status validate_new_address(std::string_view addr, bool is_sender);

// The DSN request of recipient `i` (empty when none was made).
const dsn::RecipientParams& recipient_dsn(const Envelope& env, std::size_t i);
// Replaces the recipients with `keep` (a subsequence of them, e.g. those still pending) and keeps
// each one's DSN request with it.
void set_recipients(Envelope& env, std::vector<std::string> keep);

// The queue file's envelope part, from "NQ1\n" through the blank line.
std::string encode(const Envelope& env);
// Parses the envelope at the front of a queue file; `body_offset` receives where the message starts.
Result<Envelope> decode(std::string_view file, std::size_t* body_offset);

// The drop pipe's framing block (netstring of netstrings), without the message.
std::string encode_drop(std::string_view sender, const std::vector<std::string>& recipients,
                        const dsn::MessageParams& mail_dsn = {}, const std::vector<dsn::RecipientParams>& rcpt_dsn = {});
// Parses a complete framing block's outer payload (the bytes inside the outer netstring), the DSN
// items included (Envelope::mail_dsn, rcpt_dsn).
Result<Envelope> decode_drop(std::string_view outer_payload);

}  // namespace nullq::envelope

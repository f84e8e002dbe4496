// long_lines.hpp — make a message with lines over 998 bytes acceptable to an SMTP server.
//
// Purpose:   RFC 5321 §4.5.3.1.6 limits a line to 998 bytes plus CRLF, and strict receivers refuse
//            the whole message otherwise ("500 Line too long"). Cron output of JSON or base64 often
//            has such lines. Applied at delivery time in the SMTP path only: the queue file keeps what
//            the caller wrote, and QMTP/QMQP (length-framed, no line limit) carry it unchanged.
// Trust:     the message is whatever a local user piped to sendmail; any bytes, any size.
// Errors:    none; every input gives a sendable result. Pure functions, no I/O.
// Threading: pure; call from any thread.
//
// What is done, in order of preference:
//  * The body of a plain message (no Content-Type, or a single text/* part, with no
//    Content-Transfer-Encoding or 7bit/8bit) is re-encoded as quoted-printable (RFC 2045 §6.7:
//    soft line breaks, lines of at most 76 characters, '=' and trailing blanks escaped). MIME-Version
//    is added when missing, Content-Transfer-Encoding set to quoted-printable, Content-Type kept
//    (text/plain added when missing). Decoding gives back exactly the caller's text (line ends as
//    CRLF/LF, which are the same line end in mail).
//  * Any other body (multipart, message/*, non-text, already base64 or quoted-printable) cannot be
//    re-encoded without rewriting its MIME structure: a line over 998 bytes is broken as Postfix's
//    smtp client does (smtp_line_length_limit): a line end and a SPACE are inserted after 998 bytes,
//    which keeps the damage to MIME small (base64 decoders skip the white space).
//  * A header line over 998 bytes is folded (RFC 5322 §2.2.3) at the last blank at or before the
//    limit, which unfolding undoes exactly; with no blank to fold at, a line end and a SPACE are
//    inserted at the limit as for the body (unfolding then leaves one extra space).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace nullq::proto::smtp {

// The longest line RFC 5321 allows, without its CRLF and "not counting the leading dot duplicated
// for transparency" (§4.5.3.1.6): a 998-byte line that starts with '.' is 999 bytes on the wire.
inline constexpr std::size_t max_line_length = 998;

// Whether any line (ended by CRLF, LF or a lone CR, as the DATA encoder ends lines) is longer than
// max_line_length. One scan, no copy.
bool has_long_line(std::string_view message);

struct PreparedMessage {
  std::string bytes;  // the message to send in place of the original (LF line ends)
  std::string done;   // one printable line for the log: what was changed and why
};

// nullopt when no line is over the limit (send the original unchanged); otherwise the message made
// sendable as described above.
std::optional<PreparedMessage> prepare_for_smtp(std::string_view message);

}  // namespace nullq::proto::smtp

// throttle_reply.hpp — is a server's refusal about the message, or about how fast or how much
// we send (the smart host or the account)?
//
// Purpose:   sort one reply text ("421 4.7.0 Try again later", "550 5.4.5 Daily user sending limit
//            exceeded", a QMTP "Z" text with "#4.7.1") into none | throttle | quota, so that the
//            delivery code slows or holds the HOST instead of charging or bouncing the message
//            (issue 19, DESIGN.md "host state lives with the host").
//              throttle: a temporary refusal that means "too fast / too many": 421 on any command;
//                        the enhanced codes 4.7.0 4.7.1 4.3.2 4.2.1 4.7.28 4.4.5 (RFC 3463 X.4.5 is
//                        "mail system congestion"), with or without a basic code (454/432/450/451/452
//                        carry them); the texts "throttl", "rate" as a word ("rate limit", "sending
//                        rate", not "separate" or "generated"), "too many", "too much mail",
//                        "try again later".
//              quota:    the account is out of its allowance, temporary or permanent: 5.4.5 (Gmail's
//                        "550 5.4.5 Daily user sending limit exceeded"), "quota exceeded", "daily ...
//                        limit", "sending limit exceeded" (SES "Daily message quota exceeded").
//            Never either: answers about a recipient's mailbox or address (X.1.x, X.2.x but 4.2.1,
//            e.g. "552 5.2.2 mailbox quota exceeded"), and "452 4.5.3 too many recipients", which
//            asks for the rest of the recipients in another transaction, not for a slower pace.
// Trust:     the text is the sanitised server reply (any bytes); only read.
// Errors:    none.
// Threading: pure function.
#pragma once

#include <string_view>

namespace nullq::proto {

enum class ReplyClass { none, throttle, quota };
const char* to_string(ReplyClass c);  // "none", "throttle", "quota"

// `permanent`: the reply was a 5xx (QMTP/QMQP D). A permanent reply is a quota or none.
ReplyClass classify_reply(std::string_view text, bool permanent);

// "Too many recipients" for this transaction (RFC 5321 §4.5.3.1.10): the enhanced code 4.5.3 or
// 5.5.3, or a basic 452/552 whose text says so. The 552 of older servers is meant as temporary.
bool too_many_recipients(std::string_view text);

}  // namespace nullq::proto

// send/outcome.hpp — what a server's per-recipient answers mean for the queued message.
//
// Purpose:   split one attempt's replies into delivered (K), bounced (D) and kept-for-retry (Z)
//            recipients, and group them for the one-line-per-result log.
// Trust:     replies were parsed and sanitised by the client codecs.
// Errors:    a reply count that does not match the recipients is a client bug: the missing ones are
//            treated as temporary (nothing is lost).
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nullq/reply.hpp"

namespace nullq::send {

struct Split {
  std::vector<std::string> delivered;
  std::vector<std::pair<std::string, std::string>> bounced;  // (recipient, server text)
  std::vector<std::string> remaining;                        // temporary: retry later
  std::vector<std::string> next_transaction;                 // too many recipients: again at once
  std::string last_temporary_text;                           // text of the last Z (for L record)
};
// A "too many recipients" answer (proto::too_many_recipients) is about the transaction's size,
// not the recipient: it is made temporary here (the 552 of older servers included, as RFC 5321
// §4.5.3.1.10 asks), before the answers are logged and split.
void too_many_is_temporary(std::vector<proto::Reply>& replies);
// When the server took some recipients of this transaction, those it found too many go in the
// next transaction at once (`next_transaction`); when it took none, they wait like any
// temporary answer (`remaining`), so that each transaction at once delivers at least one.
Split split_replies(const std::vector<std::string>& recipients, const std::vector<proto::Reply>& replies);

struct Group {
  proto::Verdict verdict = proto::Verdict::temporary;
  std::string text;
  std::size_t count = 0;
  std::vector<std::size_t> recipients;  // indexes into the message's recipients (count of them)
};
// Consecutive-or-not recipients with the same verdict and text, in order of first appearance.
std::vector<Group> group_replies(const std::vector<proto::Reply>& replies);

// What a --once run did, counted by recipient. A message with a null sender (a bounce or a delay
// warning, nullq's own or passed on) that is delivered counts as one bounce sent, not as delivered
// recipients; if it fails or waits, its recipient counts as bounced or deferred like any other.
struct Summary {
  std::uint64_t delivered = 0;         // recipients the server accepted
  std::uint64_t bounced = 0;           // recipients refused for good or expired (a bounce is due)
  std::uint64_t deferred = 0;          // recipients kept for a later attempt
  std::uint64_t bounces_sent = 0;      // null-sender messages delivered
  std::uint64_t deferred_messages = 0; // messages that were tried and kept
  std::uint64_t left = 0;              // messages in the queue at exit (tried or not yet due)
};
// "3 recipients: 1 delivered, 1 bounced, 1 deferred; 1 bounce sent" and, when messages that were not
// tried this run are left queued, "; 2 messages not yet due". No newline.
std::string format_summary(const Summary& s);

// "1h 2m", "3d 4h", "45s": a short human duration for bounce texts.
std::string human_duration(long long seconds);

}  // namespace nullq::send

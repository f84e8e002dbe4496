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
#include <string>
#include <vector>

#include "nullq/reply.hpp"

namespace nullq::send {

struct Split {
  std::vector<std::string> delivered;
  std::vector<std::pair<std::string, std::string>> bounced;  // (recipient, server text)
  std::vector<std::string> remaining;                        // temporary: retry later
  std::string last_temporary_text;                           // text of the last Z (for L record)
};
Split split_replies(const std::vector<std::string>& recipients, const std::vector<proto::Reply>& replies);

struct Group {
  proto::Verdict verdict = proto::Verdict::temporary;
  std::string text;
  std::size_t count = 0;
  std::vector<std::size_t> recipients;  // indexes into the message's recipients (count of them)
};
// Consecutive-or-not recipients with the same verdict and text, in order of first appearance.
std::vector<Group> group_replies(const std::vector<proto::Reply>& replies);

// "1h 2m", "3d 4h", "45s": a short human duration for bounce texts.
std::string human_duration(long long seconds);

}  // namespace nullq::send

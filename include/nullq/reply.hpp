// reply.hpp — the K/Z/D verdict shared by QMQP and QMTP, and sanitising of server text.
//
// Purpose:   one representation of a server's answer for the delivery code, logs and bounces.
// Trust:     server text is arbitrary bytes; sanitize() (= nullq::printable) makes it one printable, capped line.
// Errors:    none.
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nullq::proto {

enum class Verdict : char { ok = 'K', temporary = 'Z', permanent = 'D' };

struct Reply {
  Verdict verdict = Verdict::temporary;
  std::string text;  // sanitised server text after the verdict byte

  bool operator==(const Reply&) const = default;
};

inline constexpr std::size_t max_reply = 64 * 1024;  // a larger reply is a protocol error
inline constexpr std::size_t max_reply_text = 512;   // kept after sanitising

// nullq::printable() (printable.hpp) under its older name: non-printable bytes become \xNN, capped at
// `cap` bytes (with "..." when cut). One helper, so every place escapes alike.
std::string sanitize(std::string_view text, std::size_t cap = max_reply_text);

// Parses a reply netstring's payload: first byte K/Z/D, then text. Anything else is a protocol error
// (returned as std::nullopt-like false): returns false on an empty payload or a bad first byte.
bool parse_reply(std::string_view payload, Reply& out);

// NS(<verdict><text>): one answer as QMQP and QMTP servers send it.
std::string encode_reply(Verdict v, std::string_view text);

}  // namespace nullq::proto

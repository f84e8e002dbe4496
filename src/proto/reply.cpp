#include "nullq/reply.hpp"

#include "nullq/netstring.hpp"
#include "nullq/printable.hpp"

namespace nullq::proto {

std::string sanitize(std::string_view text, std::size_t cap) { return printable(text, cap); }

bool parse_reply(std::string_view payload, Reply& out) {
  if (payload.empty()) return false;
  switch (payload[0]) {
    case 'K': out.verdict = Verdict::ok; break;
    case 'Z': out.verdict = Verdict::temporary; break;
    case 'D': out.verdict = Verdict::permanent; break;
    default: return false;
  }
  out.text = sanitize(payload.substr(1));
  return true;
}

std::string encode_reply(Verdict v, std::string_view text) {
  std::string payload(1, static_cast<char>(v));
  payload.append(text);
  return netstring::encode(payload);
}

}  // namespace nullq::proto

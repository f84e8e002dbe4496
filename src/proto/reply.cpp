#include "nullq/reply.hpp"

#include "nullq/netstring.hpp"

namespace nullq::proto {

std::string sanitize(std::string_view text, std::size_t cap) {
  std::string out;
  out.reserve(text.size() < cap ? text.size() : cap);
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\r' || c == '\n' || c == '\t') out.push_back(' ');
    else if (c < 0x20 || c >= 0x7f) out.push_back('?');
    else out.push_back(static_cast<char>(c));
    if (out.size() > cap) break;
  }
  if (out.size() > cap) {
    out.resize(cap >= 3 ? cap - 3 : 0);
    out += "...";
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

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

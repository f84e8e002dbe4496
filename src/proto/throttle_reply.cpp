// Sorting refusals into throttle / quota / none (see include/nullq/throttle_reply.hpp).
#include "nullq/throttle_reply.hpp"

#include <array>
#include <cctype>
#include <string>

namespace nullq::proto {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Codes {
  int basic = 0;         // 421, 0 = none found
  int cls = 0;           // enhanced: 4 in 4.7.0; 0 = none found
  int subject = -1;
  int detail = -1;
};

// Reads digits at `i` (at most `max`); -1 when there are none.
int number(std::string_view s, std::size_t& i, std::size_t max) {
  std::size_t start = i;
  int v = 0;
  while (i < s.size() && i - start < max && is_digit(s[i])) v = v * 10 + (s[i++] - '0');
  if (i == start || (i < s.size() && is_digit(s[i]))) return -1;
  return v;
}

// The first basic code (three digits standing alone, 2xx-5xx) and the first enhanced code
// (c.sss.ddd, also qmail's "#4.3.0") anywhere in the text: client texts put a prefix before the
// server's answer ("the server refused the session: 421 4.7.0 ...").
Codes find_codes(std::string_view s) {
  Codes c;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!is_digit(s[i]) || (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '.'))) continue;
    std::size_t j = i;
    int first = number(s, j, 3);
    if (first < 0) continue;
    if (j < s.size() && s[j] == '.' && c.cls == 0 && first >= 2 && first <= 5 && j - i == 1) {
      std::size_t k = j + 1;
      int subject = number(s, k, 3);
      if (subject >= 0 && k < s.size() && s[k] == '.') {
        ++k;
        int detail = number(s, k, 3);
        if (detail >= 0 && (k == s.size() || s[k] != '.')) {
          c.cls = first;
          c.subject = subject;
          c.detail = detail;
          i = k - 1;
          continue;
        }
      }
    }
    if (c.basic == 0 && j - i == 3 && first >= 200 && first < 600 && (j == s.size() || s[j] == ' ' || s[j] == '-'))
      c.basic = first;
    i = j - 1;
  }
  return c;
}

// `word` standing as a word of its own: no letter right before it or right after it.
bool has_word(const std::string& text, std::string_view word) {
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool before = at > 0 && is_letter(text[at - 1]);
    const std::size_t end = at + word.size();
    const bool after = end < text.size() && is_letter(text[end]);
    if (!before && !after) return true;
  }
  return false;
}

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

bool quota_text(const std::string& t) {
  if (has(t, "quota exceeded") || has(t, "sending limit exceeded") || has(t, "sending quota")) return true;
  // "daily ... limit": "Daily user sending limit exceeded", "daily message limit reached"
  std::size_t d = t.find("daily");
  return d != std::string::npos && t.find("limit", d) != std::string::npos;
}

bool throttle_text(const std::string& t) {
  return has(t, "throttl") || has_word(t, "rate") || has(t, "ratelimit") || has(t, "rate-limit") ||
         has(t, "too many") || has(t, "too much mail") || has(t, "try again later");
}

}  // namespace

const char* to_string(ReplyClass c) {
  switch (c) {
    case ReplyClass::throttle: return "throttle";
    case ReplyClass::quota: return "quota";
    default: return "none";
  }
}

bool too_many_recipients(std::string_view text) {
  const Codes c = find_codes(text);
  if (c.cls != 0) return (c.cls == 4 || c.cls == 5) && c.subject == 5 && c.detail == 3;
  return (c.basic == 452 || c.basic == 552) && has(lower(text), "too many recipients");
}

ReplyClass classify_reply(std::string_view text, bool permanent) {
  const Codes c = find_codes(text);
  const std::string t = lower(text);
  // About a recipient (its address, its mailbox) or "send the rest in another transaction":
  // never the host's pace. 4.2.1 is the exception: Google's relay uses it for its rate limit.
  if (c.cls != 0) {
    const bool recipient = c.subject == 1 || (c.subject == 2 && !(c.cls == 4 && c.detail == 1));
    if (recipient) return ReplyClass::none;
    if (c.subject == 5 && c.detail == 3) return ReplyClass::none;  // 4.5.3 too many recipients
  } else if (has(t, "too many recipients")) {
    return ReplyClass::none;
  }
  if ((c.cls != 0 && c.subject == 4 && c.detail == 5 && (c.cls == 5 || permanent)) || quota_text(t))
    return ReplyClass::quota;
  if (permanent || c.cls == 5 || (c.basic != 0 && c.basic / 100 == 5)) return ReplyClass::none;
  if (c.basic == 421) return ReplyClass::throttle;
  if (c.cls == 4) {
    static constexpr std::array<std::array<int, 2>, 6> throttling{
        {{7, 0}, {7, 1}, {3, 2}, {2, 1}, {7, 28}, {4, 5}}};
    for (const auto& [s, d] : throttling)
      if (c.subject == s && c.detail == d) return ReplyClass::throttle;
  }
  if (throttle_text(t)) return ReplyClass::throttle;
  return ReplyClass::none;
}

}  // namespace nullq::proto

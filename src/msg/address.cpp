// RFC 5322 address lists, leniently: what mail programs and people write in To: and on command lines.
#include <algorithm>

#include "nullq/envelope.hpp"
#include "nullq/msg.hpp"
#include "nullq/printable.hpp"

namespace nullq::msg {

namespace {

Error bad(std::string_view text, const std::string& why) {
  std::string shown = printable(text, 200);
  return Error::permanent(ErrorDomain::format, "bad address '" + shown + "': " + why);
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n')) --e;
  return std::string(s.substr(b, e - b));
}

// One element of a list, split at top-level commas. Comments and quotes are kept for the next step.
Result<Mailbox> parse_one(std::string_view item, std::string_view whole) {
  std::string display, addr, comment, outside;
  bool have_angle = false;
  for (std::size_t i = 0; i < item.size(); ++i) {
    char c = item[i];
    if (c == '"') {
      std::string q;
      ++i;
      for (; i < item.size() && item[i] != '"'; ++i) {
        if (item[i] == '\\' && i + 1 < item.size()) ++i;
        q.push_back(item[i]);
      }
      if (i >= item.size()) return bad(whole, "unbalanced quote");
      if (have_angle) continue;
      outside += '"' + q + '"';
      display += q;
    } else if (c == '(') {
      int depth = 1;
      std::string text;
      for (++i; i < item.size() && depth > 0; ++i) {
        if (item[i] == '\\' && i + 1 < item.size()) {
          text.push_back(item[++i]);
          continue;
        }
        if (item[i] == '(') ++depth;
        if (item[i] == ')' && --depth == 0) break;
        text.push_back(item[i]);
      }
      if (depth != 0) return bad(whole, "unbalanced parenthesis");
      if (comment.empty()) comment = trim(text);
    } else if (c == '<') {
      if (have_angle) return bad(whole, "more than one <...>");
      std::size_t close = item.find('>', i);
      if (close == std::string_view::npos) return bad(whole, "unbalanced <");
      addr = trim(item.substr(i + 1, close - i - 1));
      if (addr.find('<') != std::string::npos) return bad(whole, "nested <");
      // Obsolete source route "@a,@b:user@c": keep the mailbox.
      if (!addr.empty() && addr[0] == '@') {
        std::size_t colon = addr.find(':');
        addr = colon == std::string::npos ? std::string() : addr.substr(colon + 1);
      }
      have_angle = true;
      i = close;
    } else if (c == '>') {
      return bad(whole, "unbalanced >");
    } else if (!have_angle) {
      outside.push_back(c);
      display.push_back(c);
    } else if (c != ' ' && c != '\t' && c != '\n') {
      return bad(whole, "text after <...>");
    }
  }
  Mailbox m;
  if (have_angle) {
    m.address = addr;
    m.display = trim(display);
    if (m.display.empty()) m.display = comment;
    if (m.address.empty() && !m.display.empty()) return bad(whole, "empty <>");
  } else {
    m.address = trim(outside);
    m.display = comment;
    bool in_quotes = false, space = false;
    for (char c : m.address) {
      if (c == '"') in_quotes = !in_quotes;
      else if (!in_quotes && (c == ' ' || c == '\t')) space = true;
    }
    if (space) {
      // "user name@x" without quotes is not an address.
      return bad(whole, "spaces in address (use \"Name <user@example.org>\")");
    }
  }
  // Strip the quotes around a quoted local part only for the check below; keep them in the address.
  for (char c : m.address)
    if (c == '\0' || c == '\r' || c == '\n') return bad(whole, "control character in address");
  if (m.address.size() > 998) return bad(whole, "address too long");
  if (std::count(m.address.begin(), m.address.end(), '@') > 1 && m.address[0] != '"')
    return bad(whole, "more than one @");
  if (!m.address.empty() && (m.address.back() == '@' || m.address.front() == '@'))
    return bad(whole, "missing local part or domain");
  return m;
}

}  // namespace

Result<std::vector<Mailbox>> parse_address_list(std::string_view text) {
  std::vector<Mailbox> out;
  std::size_t start = 0;
  int paren = 0;
  bool quote = false, angle = false;
  auto flush = [&](std::size_t end) -> Status {
    std::string_view item = text.substr(start, end - start);
    start = end + 1;
    if (trim(item).empty()) return {};
    auto m = parse_one(item, text);
    if (!m) return std::move(m).error();
    if (!m->address.empty()) out.push_back(std::move(*m));
    return {};
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      if (c == '\\') ++i;
      else if (c == '"') quote = false;
      continue;
    }
    if (c == '\\' && paren > 0) {
      ++i;
      continue;
    }
    if (c == '"' && paren == 0) quote = true;
    else if (c == '(') ++paren;
    else if (c == ')' && paren > 0) --paren;
    else if (paren > 0) continue;
    else if (c == '<') angle = true;
    else if (c == '>') angle = false;
    else if (!angle && (c == ',' || c == ';')) {
      if (auto s = flush(i); !s) return std::move(s).error();
    } else if (!angle && c == ':') {
      // "group name:" — the display name of a group is dropped; members follow.
      start = i + 1;
    }
  }
  if (quote) return bad(text, "unbalanced quote");
  if (paren > 0) return bad(text, "unbalanced parenthesis");
  if (angle) return bad(text, "unbalanced <");
  if (auto s = flush(text.size()); !s) return std::move(s).error();
  return out;
}

Result<std::string> parse_sender(std::string_view given) {
  if (given.empty()) return std::string();
  // Control characters first, in the words every envelope address is refused with.
  if (auto s = envelope::validate_new_address(given, true); !s)
    return Error::permanent(ErrorDomain::format, "bad sender: " + s.error().detail);
  auto list = parse_address_list(given);
  if (!list) {
    std::string detail = std::move(list).error().detail;
    if (detail.rfind("bad address", 0) == 0) detail.replace(0, 11, "bad sender");
    return Error::permanent(ErrorDomain::format, std::move(detail));
  }
  if (list->size() != 1)  // "a@b, c@d", or nothing but a comment
    return Error::permanent(ErrorDomain::format, "bad sender '" + printable(given, 200) + "': " +
                                                     (list->empty() ? "no address" : "one address expected"));
  return std::move((*list)[0].address);
}

}  // namespace nullq::msg

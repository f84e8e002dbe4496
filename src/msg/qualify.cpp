// Qualifying bare local parts in address headers ("root" -> "root@example.org"), as nullmailer-inject
// and Postfix's cleanup do: relays such as Gmail, Microsoft 365 and SES refuse an unqualified From.
//
// The value is tokenized along RFC 5322 (quoted strings, nested comments, angle addresses, groups,
// folding whitespace) and only "@domain" is inserted after each bare addr-spec: everything else, the
// display names, comments, encoded words and folding, stays byte for byte. A value that does not parse
// is left alone (nullopt), since a guessed rewrite could change what the sender wrote.
#include <strings.h>

#include <array>
#include <optional>

#include "nullq/msg.hpp"

namespace nullq::msg {

namespace {

enum class Kind { word, dot, at, space, comment, open, close, comma, colon, semicolon, other };

struct Token {
  Kind kind;
  std::size_t begin, end;  // [begin, end) in the value
};

bool atext(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8 in display names (RFC 6532) and in local parts
  if (c <= ' ' || c == 0x7f) return false;
  switch (c) {
    case '(': case ')': case '<': case '>': case '[': case ']': case ':': case ';':
    case '@': case '\\': case ',': case '.': case '"':
      return false;
    default:
      return true;
  }
}

// Splits the value into tokens; nullopt on an unbalanced quote or comment.
std::optional<std::vector<Token>> tokenize(std::string_view v) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t b = i;
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == ' ' || c == '\t' || c == '\n') {
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n')) ++i;
      out.push_back({Kind::space, b, i});
    } else if (c == '"') {
      for (++i; i < v.size() && v[i] != '"'; ++i)
        if (v[i] == '\\') ++i;
      if (i >= v.size()) return std::nullopt;
      out.push_back({Kind::word, b, ++i});
    } else if (c == '(') {
      int depth = 0;
      for (; i < v.size(); ++i) {
        if (v[i] == '\\') ++i;
        else if (v[i] == '(') ++depth;
        else if (v[i] == ')' && --depth == 0) break;
      }
      if (i >= v.size()) return std::nullopt;
      out.push_back({Kind::comment, b, ++i});
    } else if (atext(c)) {
      while (i < v.size() && atext(static_cast<unsigned char>(v[i]))) ++i;
      out.push_back({Kind::word, b, i});
    } else {
      Kind k = c == '.' ? Kind::dot : c == '@' ? Kind::at : c == '<' ? Kind::open : c == '>' ? Kind::close
               : c == ',' ? Kind::comma : c == ':' ? Kind::colon : c == ';' ? Kind::semicolon : Kind::other;
      out.push_back({k, b, ++i});
    }
  }
  return out;
}

bool blank(const Token& t) { return t.kind == Kind::space || t.kind == Kind::comment; }

// The significant tokens of `t` form word *("." word): a bare local part. Returns where "@domain"
// goes (the end of the last word), or npos when they are anything else.
std::size_t bare_local_part_end(const std::vector<Token>& t, std::size_t from, std::size_t to) {
  bool want_word = true;
  std::size_t end = std::string_view::npos;
  for (std::size_t i = from; i < to; ++i) {
    if (blank(t[i])) continue;
    if (want_word && t[i].kind == Kind::word) end = t[i].end;
    else if (!want_word && t[i].kind == Kind::dot) {}
    else return std::string_view::npos;
    want_word = !want_word;
  }
  return want_word ? std::string_view::npos : end;  // empty, or ends in a dot
}

// One mailbox, tokens [from, to). Adds an insertion point for a bare local part. False when the
// mailbox does not parse.
bool mailbox(const std::vector<Token>& t, std::size_t from, std::size_t to, std::vector<std::size_t>& inserts) {
  std::size_t open = to;
  for (std::size_t i = from; i < to; ++i)
    if (t[i].kind == Kind::open) {
      open = i;
      break;
    }
  bool any = false, has_at = false;
  if (open == to) {  // addr-spec, perhaps with comments: "root (Cron Daemon)", "a@b", or nothing
    for (std::size_t i = from; i < to; ++i) {
      if (!blank(t[i])) any = true;
      if (t[i].kind == Kind::at) has_at = true;
    }
    if (!any || has_at) return true;  // empty (a list may have empty members), or qualified
    std::size_t end = bare_local_part_end(t, from, to);
    if (end == std::string_view::npos) return false;
    inserts.push_back(end);
    return true;
  }
  // [display-name] "<" addr-spec ">" [CFWS]: the display name is words and dots (obs-phrase).
  for (std::size_t i = from; i < open; ++i)
    if (!blank(t[i]) && t[i].kind != Kind::word && t[i].kind != Kind::dot) return false;
  std::size_t close = open + 1;
  while (close < to && t[close].kind != Kind::close) {
    Kind k = t[close].kind;
    if (k == Kind::at || k == Kind::colon || k == Kind::comma) has_at = true;  // qualified or source route
    else if (k == Kind::open || k == Kind::semicolon) return false;
    if (!blank(t[close])) any = true;
    ++close;
  }
  if (close == to) return false;
  for (std::size_t i = close + 1; i < to; ++i)
    if (!blank(t[i])) return false;
  if (!any || has_at) return true;  // "<>" or a qualified address
  std::size_t end = bare_local_part_end(t, open + 1, close);
  if (end == std::string_view::npos) return false;
  inserts.push_back(end);
  return true;
}

}  // namespace

bool is_address_header(std::string_view name) {
  static constexpr std::array<std::string_view, 14> names = {
      "From", "Sender", "Reply-To", "To", "Cc",
      "Resent-From", "Resent-Sender", "Resent-Reply-To", "Resent-To", "Resent-Cc",
      "Mail-Reply-To", "Mail-Followup-To", "Errors-To", "Disposition-Notification-To"};
  for (auto n : names)
    if (n.size() == name.size() && ::strncasecmp(n.data(), name.data(), n.size()) == 0) return true;
  return false;
}

std::optional<std::string> qualify_addresses(std::string_view value, std::string_view domain) {
  auto tokens = tokenize(value);
  if (!tokens) return std::nullopt;
  const auto& t = *tokens;
  std::vector<std::size_t> inserts;
  bool in_group = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= t.size(); ++i) {
    if (i < t.size() && t[i].kind == Kind::open) {  // skip to ">" so that ",", ":" inside stay inside
      while (i < t.size() && t[i].kind != Kind::close) ++i;
      if (i == t.size()) return std::nullopt;
      continue;
    }
    Kind k = i < t.size() ? t[i].kind : Kind::comma;
    if (k == Kind::colon) {
      // "display-name:" opens a group; the name is a phrase, and groups do not nest.
      if (in_group) return std::nullopt;
      for (std::size_t j = start; j < i; ++j)
        if (!blank(t[j]) && t[j].kind != Kind::word && t[j].kind != Kind::dot) return std::nullopt;
      in_group = true;
      start = i + 1;
    } else if (k == Kind::comma || k == Kind::semicolon) {
      if (k == Kind::semicolon && !in_group) return std::nullopt;
      if (!mailbox(t, start, i, inserts)) return std::nullopt;
      if (k == Kind::semicolon) in_group = false;
      start = i + 1;
    }
  }
  if (in_group) return std::nullopt;  // "group: a, b" without its ";"
  if (inserts.empty()) return std::string(value);
  std::string out;
  out.reserve(value.size() + inserts.size() * (domain.size() + 1));
  std::size_t copied = 0;
  for (std::size_t at : inserts) {
    out.append(value.substr(copied, at - copied));
    out += '@';
    out.append(domain);
    copied = at;
  }
  out.append(value.substr(copied));
  return out;
}

}  // namespace nullq::msg

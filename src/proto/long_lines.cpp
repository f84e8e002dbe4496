// Lines over 998 bytes made acceptable to SMTP (see include/nullq/long_lines.hpp).
#include "nullq/long_lines.hpp"

#include <vector>

namespace nullq::proto::smtp {

namespace {

// One line as the DATA encoder sees it: text, then CRLF, LF, a lone CR, or nothing at the end.
struct Line {
  std::string_view text;
  bool ended = false;
};

std::vector<Line> split_lines(std::string_view s) {
  std::vector<Line> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\n' && s[i] != '\r') continue;
    lines.push_back(Line{s.substr(start, i - start), true});
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < s.size()) lines.push_back(Line{s.substr(start), false});
  return lines;
}

std::size_t line_end_length(std::string_view s, std::size_t i) {
  return s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n' ? 2 : 1;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string lower_trimmed(std::string_view v) {
  while (!v.empty() && (blank(v.front()) || v.front() == '\r' || v.front() == '\n')) v.remove_prefix(1);
  while (!v.empty() && (blank(v.back()) || v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
  std::string out(v);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "Name:" with a field name of printable ASCII (RFC 5322 §2.2); the position of the colon or npos.
std::size_t field_colon(std::string_view line) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::string_view::npos;
  for (std::size_t i = 0; i < colon; ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c < 33 || c > 126) return std::string_view::npos;
  }
  return colon;
}

struct Field {
  std::string name;           // lower case
  std::size_t first = 0;      // index of its first line
  std::size_t count = 0;      // lines, continuations included
  std::string value;          // unfolded text after the colon
};

// Breaks `line` into pieces of at most max_line_length bytes, appending them with LF.
// Headers (fold_at_blank): before the last blank at or before the limit, past the field name, so
// unfolding restores the line exactly. Otherwise, and when no blank is found, Postfix's way: a
// line end and a SPACE after the limit (the SPACE counts towards the next piece).
// Returns the number of breaks made.
std::size_t break_line(std::string_view line, bool fold_at_blank, std::size_t name_end, std::string& out) {
  std::size_t breaks = 0;
  std::string rest;  // the piece still to place, once a SPACE had to be inserted
  bool inserted = false;
  std::size_t floor = name_end + 1;  // no fold inside "Name:"
  while (true) {
    std::string_view cur = inserted ? std::string_view(rest) : line;
    if (cur.size() <= max_line_length) {
      out.append(cur).push_back('\n');
      return breaks;
    }
    std::size_t cut = std::string_view::npos;
    if (fold_at_blank) {
      for (std::size_t p = max_line_length; p > floor; --p) {
        if (blank(cur[p])) {
          cut = p;
          break;
        }
      }
    }
    ++breaks;
    floor = 0;
    if (cut != std::string_view::npos) {
      // The blank begins the continuation line: CRLF removed by unfolding gives the original.
      out.append(cur.substr(0, cut)).push_back('\n');
      std::string next(cur.substr(cut));
      rest = std::move(next);
    } else {
      out.append(cur.substr(0, max_line_length)).append("\n");
      std::string next = " " + std::string(cur.substr(max_line_length));
      rest = std::move(next);
    }
    inserted = true;
  }
}

void hex(unsigned char c, std::string& out) {
  static constexpr char digits[] = "0123456789ABCDEF";
  out.push_back('=');
  out.push_back(digits[c >> 4]);
  out.push_back(digits[c & 15]);
}

// RFC 2045 §6.7 quoted-printable. Lines end at LF or CRLF; a lone CR is data (=0D), so decoding
// gives back every byte. Printable ASCII except '=' stays as it is (readable); a blank stays unless
// it ends a line. Encoded lines hold at most 75 characters plus the '=' of a soft line break, and an
// =XX is never split. A body that did not end with a line end ends with a soft break, so the CRLF
// the DATA encoder must add does not appear in the decoded text.
void quoted_printable(std::string_view body, std::string& out) {
  constexpr std::size_t width = 75;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t lf = body.find('\n', start);
    bool ended = lf != std::string_view::npos;
    std::string_view line = body.substr(start, ended ? lf - start : std::string_view::npos);
    if (ended && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t col = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      bool literal = (c >= 33 && c <= 126 && c != '=') || (blank(static_cast<char>(c)) && !last);
      std::size_t n = literal ? 1 : 3;
      if (col + n > width) {
        out.append("=\n");
        col = 0;
      }
      if (literal) out.push_back(static_cast<char>(c));
      else hex(c, out);
      col += n;
    }
    if (!ended) {
      out.append("=\n");
      return;
    }
    out.push_back('\n');
    start = lf + 1;
  }
}

}  // namespace

bool has_long_line(std::string_view message) {
  std::size_t len = 0;
  for (char c : message) {
    if (c == '\n' || c == '\r') {
      len = 0;
    } else if (++len > max_line_length) {
      return true;
    }
  }
  return false;
}

std::optional<PreparedMessage> prepare_for_smtp(std::string_view message) {
  if (!has_long_line(message)) return std::nullopt;

  // The header block: fields until a blank line (the separator) or a line that is neither a field
  // nor a continuation (then the body starts there, with no separator, as msg::split_message reads it).
  std::vector<Line> lines;
  std::vector<Field> fields;
  bool separator = false;
  std::size_t body_offset = 0;
  {
    std::size_t pos = 0;
    while (pos < message.size()) {
      std::size_t e = message.find_first_of("\r\n", pos);
      std::string_view text = message.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
      std::size_t next = e == std::string_view::npos ? message.size() : e + line_end_length(message, e);
      if (text.empty() && e != std::string_view::npos) {
        separator = true;
        pos = next;
        break;
      }
      if (blank(text[0]) && !fields.empty()) {
        fields.back().value.append(text);
        ++fields.back().count;
      } else if (std::size_t colon = field_colon(text); colon != std::string_view::npos) {
        fields.push_back(Field{lower_trimmed(text.substr(0, colon)), lines.size(), 1, std::string(text.substr(colon + 1))});
      } else {
        break;
      }
      lines.push_back(Line{text, e != std::string_view::npos});
      pos = next;
    }
    body_offset = pos;
  }
  std::string_view body = message.substr(body_offset);

  // Is the body a single text part we may re-encode?
  std::size_t n_type = 0, n_cte = 0, n_version = 0;
  std::string type, cte;
  const Field* cte_field = nullptr;
  for (const auto& f : fields) {
    if (f.name == "content-type") {
      ++n_type;
      type = lower_trimmed(f.value.substr(0, f.value.find(';')));
    } else if (f.name == "content-transfer-encoding") {
      ++n_cte;
      cte = lower_trimmed(f.value);
      cte_field = &f;
    } else if (f.name == "mime-version") {
      ++n_version;
    }
  }
  const bool text_part = n_type <= 1 && n_cte <= 1 && (n_type == 0 || type.rfind("text/", 0) == 0) &&
                         (n_cte == 0 || cte == "7bit" || cte == "8bit");
  const bool long_body = has_long_line(body);
  const bool qp = long_body && text_part;

  PreparedMessage r;
  r.bytes.reserve(message.size() + message.size() / 16 + 128);
  std::size_t header_breaks = 0;
  std::size_t li = 0;
  for (const auto& f : fields) {
    if (qp && &f == cte_field) {
      // Name as written, new value; its continuation lines go with the old value.
      std::string_view first = lines[f.first].text;
      r.bytes.append(first.substr(0, first.find(':'))).append(": quoted-printable\n");
      li = f.first + f.count;
      continue;
    }
    for (; li < f.first + f.count; ++li) {
      std::size_t colon = li == f.first ? lines[li].text.find(':') : 0;
      header_breaks += break_line(lines[li].text, true, colon, r.bytes);
    }
  }
  if (qp) {
    if (n_version == 0) r.bytes.append("MIME-Version: 1.0\n");
    if (n_type == 0) r.bytes.append("Content-Type: text/plain\n");
    if (n_cte == 0) r.bytes.append("Content-Transfer-Encoding: quoted-printable\n");
  }
  // The blank line: kept when there was one; added when headers were added before a body.
  if (separator || (qp && !body.empty())) r.bytes.push_back('\n');

  std::size_t body_breaks = 0;
  if (qp) {
    quoted_printable(body, r.bytes);
  } else if (long_body) {
    for (const auto& l : split_lines(body)) {
      if (l.text.size() > max_line_length) {
        body_breaks += break_line(l.text, false, 0, r.bytes);
        if (!l.ended) r.bytes.pop_back();
      } else {
        r.bytes.append(l.text);
        if (l.ended) r.bytes.push_back('\n');
      }
    }
  } else {
    r.bytes.append(body);
  }

  std::string what;
  auto add = [&](const std::string& s) { what += (what.empty() ? "" : "; ") + s; };
  if (qp) {
    add("lines over 998 bytes: body sent as quoted-printable");
  } else if (long_body) {
    std::string why = n_type > 1 || n_cte > 1 ? "repeated MIME headers"
                      : n_cte && cte != "7bit" && cte != "8bit" ? "Content-Transfer-Encoding " + cte
                                                                : "Content-Type " + type;
    add("lines over 998 bytes: body lines broken " + std::to_string(body_breaks) +
        " times with a line end and a space (" + why + " cannot be re-encoded)");
  }
  if (header_breaks) add("header lines over 998 bytes folded " + std::to_string(header_breaks) + " times");
  r.done = what;
  return r;
}

}  // namespace nullq::proto::smtp

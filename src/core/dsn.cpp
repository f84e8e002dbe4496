#include "nullq/dsn.hpp"

#include <vector>

#include "nullq/printable.hpp"

namespace nullq::dsn {

namespace {

Error bad(std::string detail) { return Error::permanent(ErrorDomain::format, std::move(detail)); }

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decoded text nullq keeps: printable US-ASCII, space included.
Status printable_ascii(std::string_view text, const char* what) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e)
      return bad(std::string(what) + " contains a byte that is not printable US-ASCII (" +
                 printable(std::string_view(&c, 1)) + ")");
  }
  return {};
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t p = text.find(sep);
    out.push_back(text.substr(0, p));
    if (p == std::string_view::npos) return out;
    text.remove_prefix(p + 1);
  }
}

// "KEY=VALUE KEY=VALUE", one space between, as written by mail_params/rcpt_params.
template <typename Params, typename Set, typename Encode>
Result<Params> parse_list(std::string_view text, Set set, Encode encode, const char* what) {
  if (text.empty()) return bad(std::string("empty ") + what + " DSN parameters");
  Params p;
  for (std::string_view item : split(text, ' ')) {
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return bad(std::string("bad ") + what + " DSN parameter " + printable(item, 80));
    auto r = set(p, item.substr(0, eq), item.substr(eq + 1));
    if (!r) return std::move(r).error();
    if (!*r) return bad(std::string("unknown ") + what + " DSN parameter " + printable(item.substr(0, eq), 40));
  }
  if (encode(p) != text) return bad(std::string(what) + " DSN parameters not in canonical form: " + printable(text, 80));
  return p;
}

}  // namespace

bool wants_failure(const RecipientParams& p) { return p.notify == 0 || (p.notify & notify_failure); }
bool wants_delay(const RecipientParams& p) { return p.notify == 0 || (p.notify & notify_delay); }

std::string xtext_encode(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u <= 0x7e && c != '+' && c != '=') {
      out.push_back(c);
    } else {
      out.push_back('+');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

Result<std::string> xtext_decode(std::string_view xtext) {
  std::string out;
  for (std::size_t i = 0; i < xtext.size(); ++i) {
    char c = xtext[i];
    auto u = static_cast<unsigned char>(c);
    if (c == '+') {
      const bool room = i + 2 < xtext.size();
      int hi = room ? hex_value(xtext[i + 1]) : -1;
      int lo = room ? hex_value(xtext[i + 2]) : -1;
      if (hi < 0 || lo < 0) return bad("bad xtext: '+' must be followed by two upper-case hex digits");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (u < 0x21 || u > 0x7e || c == '=') {
      return bad("bad xtext: byte " + printable(std::string_view(&c, 1)) + " must be written as +XX");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<unsigned> parse_notify(std::string_view value) {
  if (iequals(value, "NEVER")) return notify_never;
  unsigned flags = 0;
  for (std::string_view item : split(value, ',')) {
    if (iequals(item, "SUCCESS")) flags |= notify_success;
    else if (iequals(item, "FAILURE")) flags |= notify_failure;
    else if (iequals(item, "DELAY")) flags |= notify_delay;
    else if (iequals(item, "NEVER")) return bad("bad NOTIFY value " + printable(value, 80) + ": NEVER stands alone");
    else
      return bad("bad NOTIFY value " + printable(value, 80) +
                 " (NEVER, or a comma list of SUCCESS, FAILURE and DELAY)");
  }
  return flags;
}

std::string notify_text(unsigned flags) {
  if (flags & notify_never) return "NEVER";
  std::string s;
  auto add = [&s](const char* w) { s += (s.empty() ? "" : ",") + std::string(w); };
  if (flags & notify_success) add("SUCCESS");
  if (flags & notify_failure) add("FAILURE");
  if (flags & notify_delay) add("DELAY");
  return s;
}

Result<Ret> parse_ret(std::string_view value) {
  if (iequals(value, "FULL")) return Ret::full;
  if (iequals(value, "HDRS")) return Ret::hdrs;
  return bad("bad RET value " + printable(value, 80) + " (FULL or HDRS)");
}

const char* ret_text(Ret r) {
  switch (r) {
    case Ret::full: return "FULL";
    case Ret::hdrs: return "HDRS";
    case Ret::unset: break;
  }
  return "";
}

Status validate_envid(std::string_view envid) {
  if (envid.empty()) return bad("empty envelope id");
  if (auto s = printable_ascii(envid, "the envelope id"); !s) return s;
  if (xtext_encode(envid).size() > max_envid)
    return bad("envelope id longer than " + std::to_string(max_envid) + " characters (as xtext): " + printable(envid, 40));
  return {};
}

Status parse_orcpt(std::string_view value, RecipientParams& into) {
  if (value.size() > max_orcpt) return bad("ORCPT longer than " + std::to_string(max_orcpt) + " characters");
  std::size_t semi = value.find(';');
  if (semi == std::string_view::npos) return bad("bad ORCPT " + printable(value, 80) + " (addr-type;xtext)");
  std::string_view type = value.substr(0, semi);
  if (type.empty() || type.size() > max_addr_type) return bad("bad ORCPT address type " + printable(type, 40));
  for (char c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return bad("bad ORCPT address type " + printable(type, 40));
  }
  auto addr = xtext_decode(value.substr(semi + 1));
  if (!addr) return bad("bad ORCPT address: " + addr.error().detail);
  if (addr->empty()) return bad("empty ORCPT address");
  if (auto s = printable_ascii(*addr, "the ORCPT address"); !s) return s;
  into.orcpt_type = std::string(type);
  into.orcpt = std::move(*addr);
  return {};
}

Result<bool> set_mail_param(MessageParams& p, std::string_view keyword, std::string_view value) {
  if (iequals(keyword, "RET")) {
    if (p.ret != Ret::unset) return bad("RET given twice");
    auto r = parse_ret(value);
    if (!r) return std::move(r).error();
    p.ret = *r;
    return true;
  }
  if (iequals(keyword, "ENVID")) {
    if (!p.envid.empty()) return bad("ENVID given twice");
    if (value.size() > max_envid) return bad("ENVID longer than " + std::to_string(max_envid) + " characters");
    auto v = xtext_decode(value);
    if (!v) return bad("bad ENVID: " + v.error().detail);
    if (auto s = validate_envid(*v); !s) return bad("bad ENVID: " + s.error().detail);
    p.envid = std::move(*v);
    return true;
  }
  return false;
}

Result<bool> set_rcpt_param(RecipientParams& p, std::string_view keyword, std::string_view value) {
  if (iequals(keyword, "NOTIFY")) {
    if (p.notify != 0) return bad("NOTIFY given twice");
    auto n = parse_notify(value);
    if (!n) return std::move(n).error();
    p.notify = *n;
    return true;
  }
  if (iequals(keyword, "ORCPT")) {
    if (!p.orcpt_type.empty()) return bad("ORCPT given twice");
    if (auto s = parse_orcpt(value, p); !s) return std::move(s).error();
    return true;
  }
  return false;
}

std::string mail_params(const MessageParams& p) {
  std::string s;
  if (p.ret != Ret::unset) s += std::string("RET=") + ret_text(p.ret);
  if (!p.envid.empty()) s += (s.empty() ? "ENVID=" : " ENVID=") + xtext_encode(p.envid);
  return s;
}

std::string rcpt_params(const RecipientParams& p) {
  std::string s;
  if (p.notify != 0) s += "NOTIFY=" + notify_text(p.notify);
  if (!p.orcpt_type.empty()) s += (s.empty() ? "ORCPT=" : " ORCPT=") + p.orcpt_type + ";" + xtext_encode(p.orcpt);
  return s;
}

Result<MessageParams> parse_mail_params(std::string_view text) {
  return parse_list<MessageParams>(text, set_mail_param, mail_params, "MAIL");
}

Result<RecipientParams> parse_rcpt_params(std::string_view text) {
  return parse_list<RecipientParams>(text, set_rcpt_param, rcpt_params, "RCPT");
}

}  // namespace nullq::dsn

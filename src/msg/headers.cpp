// Header block parsing and the fix-ups sendmail callers expect.
#include <strings.h>

#include <algorithm>
#include <ctime>

#include "nullq/msg.hpp"
#include "nullq/printable.hpp"

namespace nullq::msg {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// "Name:" with a printable name and no spaces before the colon.
std::size_t header_name_length(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] > ' ' && line[i] < 0x7f && line[i] != ':') ++i;
  return i > 0 && i < line.size() && line[i] == ':' ? i : 0;
}

Error usage(std::string text) { return Error::permanent(ErrorDomain::usage, std::move(text)); }

bool is_local(const std::string& addr, const Context& ctx) {
  std::size_t at = addr.rfind('@');
  if (at == std::string::npos) return true;
  std::string_view dom = std::string_view(addr).substr(at + 1);
  return iequals(dom, "localhost") || iequals(dom, "localhost.localdomain") ||
         (!ctx.hostname.empty() && iequals(dom, ctx.hostname));
}

std::string qualify(const std::string& addr, const Context& ctx) {
  if (addr.empty() || addr.find('@') != std::string::npos) return addr;
  return addr + "@" + ctx.domain;
}

std::string route(const std::string& addr, const Context& ctx) {
  if (!ctx.admin.empty() && is_local(addr, ctx)) return ctx.admin;
  return qualify(addr, ctx);
}

std::string quote_display(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\r' || c == '\n') c = ' ';
    out.push_back(c);
  }
  return out + "\"";
}

Status add_recipients(std::string_view text, const Context& ctx, std::vector<std::string>& out) {
  auto list = parse_address_list(text);
  if (!list) return std::move(list).error();
  for (const auto& m : *list) {
    std::string r = route(m.address, ctx);
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(std::move(r));
  }
  return {};
}

// The header as it will be written: bare local parts in address headers qualified, else `raw` as is.
std::string qualified(const Header& h, const Context& ctx) {
  if (ctx.domain.empty() || !is_address_header(h.name)) return h.raw;
  auto value = qualify_addresses(h.value, ctx.domain);
  if (!value || *value == h.value) return h.raw;
  std::string out = h.name + ":" + *value;
  if (out.back() != '\n') out.push_back('\n');
  return out;
}

}  // namespace

Result<std::vector<std::string>> recipients_of(std::string_view argument, const Context& ctx) {
  std::vector<std::string> out;
  if (auto s = add_recipients(argument, ctx, out); !s) return std::move(s).error();
  return out;
}

std::string rfc5322_date(std::int64_t when) {
  std::time_t t = static_cast<std::time_t>(when);
  std::tm tm {};
  ::localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
  return buf;
}

std::string normalise_input(std::string_view raw, bool ignore_dots) {
  std::string out;
  out.reserve(raw.size());
  std::size_t pos = 0;
  bool first = true;
  while (pos < raw.size()) {
    std::size_t nl = raw.find('\n', pos);
    std::string_view line = raw.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    bool had_newline = nl != std::string_view::npos;
    pos = had_newline ? nl + 1 : raw.size();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first && line.substr(0, 5) == "From ") {
      first = false;
      continue;  // mbox separator line, not a header
    }
    first = false;
    if (!ignore_dots && line == ".") break;
    out.append(line);
    if (had_newline) out.push_back('\n');
  }
  return out;
}

Parsed split_message(std::string_view message) {
  Parsed p;
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t nl = message.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = message.substr(pos, end - pos);
    if (line == "\n") {
      pos = end;
      break;
    }
    bool continuation = (line[0] == ' ' || line[0] == '\t') && !p.headers.empty();
    if (continuation) {
      p.headers.back().raw.append(line);
      p.headers.back().value.append(line);
      if (line.back() != '\n') p.headers.back().raw.push_back('\n');
      pos = end;
      continue;
    }
    std::size_t n = header_name_length(line);
    if (n == 0) break;  // not a header: the body starts here
    Header h;
    h.name = std::string(line.substr(0, n));
    h.value = std::string(line.substr(n + 1));
    h.raw = std::string(line);
    if (h.raw.back() != '\n') h.raw.push_back('\n');
    p.headers.push_back(std::move(h));
    pos = end;
  }
  p.body = std::string(message.substr(pos));
  return p;
}

Result<Prepared> prepare(const Parsed& parsed, const Context& ctx) {
  Prepared out;
  // Envelope recipients: command line, plus the headers with -t (Resent-* when any is present).
  for (const auto& arg : ctx.arguments)
    if (auto s = add_recipients(arg, ctx, out.recipients); !s) return std::move(s).error();
  bool resent = false;
  for (const auto& h : parsed.headers)
    if (h.name.size() > 7 && iequals(std::string_view(h.name).substr(0, 7), "Resent-")) resent = true;
  if (ctx.extract_recipients) {
    for (const auto& h : parsed.headers) {
      std::string_view n = h.name;
      if (resent) {
        if (n.size() <= 7 || !iequals(n.substr(0, 7), "Resent-")) continue;
        n.remove_prefix(7);
      }
      if (iequals(n, "To") || iequals(n, "Cc") || iequals(n, "Bcc")) {
        if (auto s = add_recipients(h.value, ctx, out.recipients); !s)
          return Error::permanent(ErrorDomain::format, printable(h.name, 80) + ": " + s.error().detail);
      }
    }
  }
  if (out.recipients.empty())
    return usage(ctx.extract_recipients ? "no recipients: none on the command line and none in To, Cc or Bcc"
                                        : "no recipients given (name them as arguments, or use -t)");

  // Envelope sender.
  std::string user_addr = qualify(ctx.login.empty() ? "root" : ctx.login, ctx);
  // A bad -f is refused even when rewrite.sender replaces it: the caller meant something else.
  std::string given;
  if (ctx.sender_given) {
    auto g = parse_sender(ctx.sender);
    if (!g) return std::move(g).error();
    given = qualify(*g, ctx);
  }
  if (!ctx.rewrite_sender.empty()) out.sender = ctx.rewrite_sender;
  else if (ctx.sender_given) out.sender = given;
  else out.sender = user_addr;

  // Headers.
  bool has_date = false, has_id = false, has_from = false;
  std::string& m = out.message;
  for (const auto& h : parsed.headers) {
    std::string_view n = h.name;
    if (iequals(n, "Return-Path") || iequals(n, "Content-Length")) continue;
    // Blind copies stay blind, with or without -t (Postfix's cleanup drops them too): a caller that
    // names the recipients itself may still pass a Bcc: line through.
    if (iequals(n, "Bcc") || iequals(n, "Resent-Bcc")) continue;
    if (iequals(n, "Date")) has_date = true;
    if (iequals(n, "Message-ID")) has_id = true;
    if (iequals(n, "From")) {
      has_from = true;
      if (ctx.rewrite_header_from && !ctx.rewrite_sender.empty()) {
        auto list = parse_address_list(h.value);
        std::string display = list && !list->empty() ? (*list)[0].display : std::string();
        m += h.name + ": " + (display.empty() ? "" : quote_display(display) + " ") + "<" + ctx.rewrite_sender + ">\n";
        continue;
      }
    }
    m += qualified(h, ctx);
  }
  if (!has_from) {
    std::string name = ctx.full_name.empty() ? ctx.gecos_name : ctx.full_name;
    std::string addr = !ctx.rewrite_sender.empty() && ctx.rewrite_header_from ? ctx.rewrite_sender
                       : ctx.sender_given && !out.sender.empty()           ? out.sender
                                                                           : user_addr;
    m += "From: " + (name.empty() ? "" : quote_display(name) + " ") + "<" + addr + ">\n";
  }
  if (!has_date) m += "Date: " + (ctx.local_zone_date.empty() ? rfc5322_date(ctx.now) : ctx.local_zone_date) + "\n";
  if (!has_id) m += "Message-ID: <" + ctx.id_token + "@" + (ctx.idhost.empty() ? ctx.hostname : ctx.idhost) + ">\n";
  m += "\n";
  m += parsed.body;
  return out;
}

}  // namespace nullq::msg

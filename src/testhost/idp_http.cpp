// idp_http.cpp — see idp_http.hpp.
#include "idp_http.hpp"

#include <cctype>

namespace nullq::testhost::http {

namespace {

Error bad(int status, std::string why) { return Error::permanent(ErrorDomain::protocol, std::move(why), status); }

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return bad(400, "truncated %-escape");
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) return bad(400, "bad %-escape");
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

Result<std::size_t> parse(std::string_view data, Request& out) {
  std::size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > max_head) return bad(431, "request head too large");
    return std::size_t{0};
  }
  if (end + 4 > max_head) return bad(431, "request head too large");
  std::string_view head = data.substr(0, end + 2);
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return bad(400, "bad request line");
  Request r;
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  if (line.substr(sp2 + 1) != "HTTP/1.1") return bad(400, "not HTTP/1.1");
  if (r.method.empty() || r.target.empty() || r.target[0] != '/') return bad(400, "bad request line");
  for (char c : r.method)
    if (!std::isupper(static_cast<unsigned char>(c))) return bad(400, "bad method");
  for (char c : r.target)
    if (c <= ' ' || c == 0x7f) return bad(400, "bad request target");
  std::size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  std::size_t pos = eol + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    std::string_view h = head.substr(pos, e - pos);
    pos = e + 2;
    std::size_t colon = h.find(':');
    if (colon == 0 || colon == std::string_view::npos) return bad(400, "bad header line");
    std::string name;
    for (char c : h.substr(0, colon)) {
      if (!is_token_char(c)) return bad(400, "bad header name");
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string_view v = h.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    for (char c : v)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return bad(400, "bad header value");
    if (r.headers.count(name)) {
      if (name == "content-length" || name == "host" || name == "authorization" || name == "content-type")
        return bad(400, "repeated header " + name);
      r.headers[name] += ", " + std::string(v);
    } else {
      r.headers[name] = std::string(v);
    }
  }
  if (!r.headers.count("host")) return bad(400, "no Host header");
  if (r.headers.count("transfer-encoding")) return bad(501, "transfer codings are not supported");
  std::size_t length = 0;
  auto cl = r.headers.find("content-length");
  if (cl != r.headers.end()) {
    if (cl->second.empty() || cl->second.size() > 9 || cl->second.find_first_not_of("0123456789") != std::string::npos)
      return bad(400, "bad Content-Length");
    length = std::stoul(cl->second);
    if (length > max_body) return bad(413, "body too large");
  } else if (r.method == "POST") {
    return bad(411, "POST without Content-Length");
  }
  std::size_t total = end + 4 + length;
  if (data.size() < total) return std::size_t{0};
  r.body = std::string(data.substr(end + 4, length));
  out = std::move(r);
  return total;
}

Result<std::map<std::string, std::string>> decode_form(std::string_view text) {
  std::map<std::string, std::string> form;
  while (!text.empty()) {
    std::size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    auto name = unescape(pair.substr(0, eq));
    if (!name) return name.error();
    auto value = unescape(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!value) return value.error();
    if (form.count(*name)) return bad(400, "parameter " + *name + " repeated");
    form[*name] = *value;
  }
  return form;
}

std::string url_encode(std::string_view text) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += digits[u >> 4];
      out += digits[u & 15];
    }
  }
  return out;
}

std::string response(int status, std::string_view content_type, std::string_view body, std::string_view extra_headers) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  if (!content_type.empty()) r += "Content-Type: " + std::string(content_type) + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "Cache-Control: no-store\r\nPragma: no-cache\r\nConnection: close\r\n";
  r += extra_headers;
  r += "\r\n";
  r += body;
  return r;
}

}  // namespace nullq::testhost::http

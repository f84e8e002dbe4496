// idp_http.hpp — the test identity provider's small, strict HTTP/1.1 request reader.
//
// Purpose:   turn the bytes of one request into method, path, query, headers and a form-urlencoded
//            body, and format answers; no I/O here so it is tested on its own.
// Trust:     the bytes come from the client under test: every size is capped, anything outside
//            the small grammar (no chunked bodies, Content-Length required for a body) is refused.
// Errors:    parse() returns an Error whose code is the HTTP status to answer (400, 411, 413, 501...).
// Threading: plain values.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "nullq/result.hpp"

namespace nullq::testhost::http {

constexpr std::size_t max_head = 8192;   // request line plus headers
constexpr std::size_t max_body = 16384;  // a token request is a few hundred bytes

struct Request {
  std::string method, target, path, query;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

// How many bytes of `data` one complete request takes: 0 while more are needed, or an Error
// (code = HTTP status) when the request is malformed or too large. Fills `out` when complete.
Result<std::size_t> parse(std::string_view data, Request& out);

// application/x-www-form-urlencoded (also a query string): an Error for bad %-escapes or a
// repeated name (RFC 6749 §3.2: parameters must not be included more than once).
Result<std::map<std::string, std::string>> decode_form(std::string_view text);
std::string url_encode(std::string_view text);

// "HTTP/1.1 <status> <reason>" with Content-Length, Connection: close, Cache-Control: no-store.
std::string response(int status, std::string_view content_type, std::string_view body,
                     std::string_view extra_headers = {});

}  // namespace nullq::testhost::http

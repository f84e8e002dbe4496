// http_post.hpp — one HTTPS POST of a form through libcurl, the only way nullq-oauth talks HTTP.
//
// Purpose:   the token and device endpoints take application/x-www-form-urlencoded POSTs and
//            answer JSON (RFC 6749 §3.2, RFC 8628 §3.1). One function, one easy handle per call.
// Trust:     the URL comes from the admin's config; the answer is hostile: https only (no
//            redirects, no other protocol), the peer and its name verified against ca_file or the
//            system store, the answer capped at max_answer bytes. The form holds secrets: it is
//            never logged, and the copy handed to curl is wiped afterwards.
// Errors:    a Result error for everything that is not an HTTP answer (temporary: connect, TLS,
//            timeout; permanent: a URL that is not https://, an answer over the cap).
// Threading: any thread; curl_global_init is done once, before the first request.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "nullq/result.hpp"

namespace nullq::oauth {

constexpr std::size_t max_answer = 64 * 1024;

using Form = std::vector<std::pair<std::string, std::string>>;

struct HttpAnswer {
  long status = 0;
  std::string body;
};

// True for an absolute https:// URL (scheme case-insensitive) with a host.
bool is_https_url(const std::string& url);

Result<HttpAnswer> post_form(const std::string& url, const Form& form, const std::string& ca_file, long timeout_seconds);

// application/x-www-form-urlencoded (RFC 3986 unreserved characters kept, everything else %XX).
std::string form_encode(const Form& form);
std::string url_escape(const std::string& text);

}  // namespace nullq::oauth

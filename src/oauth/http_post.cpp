// http_post.cpp — see http_post.hpp.
#include "http_post.hpp"

#include <curl/curl.h>
#include <string.h>

#include <cctype>
#include <mutex>

#include "nullq_build_config.h"

namespace nullq::oauth {

namespace {

struct Sink {
  std::string body;
  bool too_big = false;
};

extern "C" size_t on_data(char* data, size_t size, size_t n, void* user) noexcept {
  auto* sink = static_cast<Sink*>(user);
  std::size_t len = size * n;
  if (sink->body.size() + len > max_answer) {
    sink->too_big = true;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  sink->body.append(data, len);
  return len;
}

struct EasyHandle {
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  ~EasyHandle() {
    if (headers) curl_slist_free_all(headers);
    if (h) curl_easy_cleanup(h);
  }
};

}  // namespace

bool is_https_url(const std::string& url) {
  if (url.size() < 9) return false;
  std::string scheme;
  for (char c : url.substr(0, 8)) scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "https://") return false;
  char first = url[8];
  return first != '/' && first != '?' && first != '#' && first != '@' && first != ':';
}

std::string url_escape(const std::string& text) {
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

std::string form_encode(const Form& form) {
  std::string out;
  for (const auto& [name, value] : form) {
    if (!out.empty()) out += '&';
    out += url_escape(name) + "=" + url_escape(value);
  }
  return out;
}

Result<HttpAnswer> post_form(const std::string& url, const Form& form, const std::string& ca_file, long timeout_seconds) {
  if (!is_https_url(url)) return Error::permanent(ErrorDomain::config, "not an https:// URL: refusing to send secrets in clear");
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  EasyHandle e;
  if (!e.h) return Error::temporary(ErrorDomain::sys, "curl_easy_init failed");
  std::string body = form_encode(form);
  Sink sink;
  char errbuf[CURL_ERROR_SIZE] = "";
  long timeout = timeout_seconds > 0 ? timeout_seconds : 30;
  e.headers = curl_slist_append(e.headers, "Accept: application/json");
  e.headers = curl_slist_append(e.headers, "Content-Type: application/x-www-form-urlencoded");
  bool set = curl_easy_setopt(e.h, CURLOPT_URL, url.c_str()) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_TIMEOUT, timeout) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_HTTPHEADER, e.headers) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_POSTFIELDS, body.c_str()) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size())) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_USERAGENT, "nullq-oauth/" NULLQ_VERSION) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &sink) == CURLE_OK &&
             curl_easy_setopt(e.h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
             (ca_file.empty() || curl_easy_setopt(e.h, CURLOPT_CAINFO, ca_file.c_str()) == CURLE_OK);
  if (!set) {
    explicit_bzero(body.data(), body.size());
    return Error::temporary(ErrorDomain::sys, "libcurl lacks a needed option (https only, 7.85 or later)");
  }
  CURLcode rc = curl_easy_perform(e.h);
  explicit_bzero(body.data(), body.size());
  if (sink.too_big) return Error::permanent(ErrorDomain::protocol, "the answer is larger than 64 KiB");
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    // A certificate problem is the admin's to fix, but may also be a passing interception: the
    // caller treats every transport failure as temporary, as oauth.hpp says of network errors.
    return Error::temporary(ErrorDomain::remote, why, static_cast<int>(rc));
  }
  HttpAnswer a;
  curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &a.status);
  a.body = std::move(sink.body);
  return a;
}

}  // namespace nullq::oauth

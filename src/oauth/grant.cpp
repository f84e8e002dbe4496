// grant.cpp — see grant.hpp.
#include "grant.hpp"

namespace nullq::oauth {

namespace {

constexpr std::size_t max_token = 8192;

bool token_text(const nlohmann::json& v) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > max_token) return false;
  for (char c : s)
    if (c <= ' ' || c > '~') return false;
  return true;
}

Failure fail(std::string error, std::string description, bool temporary) {
  return Failure{std::move(error), printable(description), temporary};
}

}  // namespace

bool temporary_error(const std::string& error) { return error == "temporarily_unavailable" || error == "slow_down"; }

std::string printable(std::string_view text, std::size_t cap) {
  std::string out;
  for (char c : text) {
    if (out.size() >= cap) break;
    out += (c >= ' ' && c <= '~') ? c : '?';
  }
  return out;
}

JsonAnswer post_for_json(const std::string& url, const Form& form, const std::string& ca_file, long timeout_seconds) {
  JsonAnswer a;
  auto http = post_form(url, form, ca_file, timeout_seconds);
  if (!http) {
    const Error& e = http.error();
    if (e.domain == ErrorDomain::config) a.failure = fail("bad_request", e.detail, false);
    else if (e.domain == ErrorDomain::protocol) a.failure = fail("bad_answer", e.detail, false);
    else a.failure = fail("network", e.detail, true);
    return a;
  }
  long status = http->status;
  bool server_trouble = status >= 500 || status == 429;
  auto json = nlohmann::json::parse(http->body, nullptr, false);
  bool object = !json.is_discarded() && json.is_object();
  if (status == 200) {
    if (!object) {
      a.failure = fail("bad_answer", "the answer is not a JSON object", false);
      return a;
    }
    a.ok = true;
    a.json = std::move(json);
    return a;
  }
  // RFC 6749 §5.2: an error object, usually with 400 or 401.
  if (object && json.contains("error") && json["error"].is_string()) {
    std::string error = printable(json["error"].get_ref<const std::string&>(), 64);
    std::string description;
    if (json.contains("error_description") && json["error_description"].is_string())
      description = json["error_description"].get_ref<const std::string&>();
    a.failure = fail(error.empty() ? "http_" + std::to_string(status) : error, description,
                     server_trouble || temporary_error(error));
    return a;
  }
  a.failure = fail("http_" + std::to_string(status), "HTTP status " + std::to_string(status) + " without an OAuth error",
                   server_trouble);
  return a;
}

TokenAnswer request_tokens(const std::string& token_url, const Form& form, const std::string& ca_file,
                           long timeout_seconds) {
  TokenAnswer t;
  JsonAnswer a = post_for_json(token_url, form, ca_file, timeout_seconds);
  if (!a.ok) {
    t.failure = std::move(a.failure);
    return t;
  }
  const nlohmann::json& j = a.json;
  if (!j.contains("access_token") || !token_text(j["access_token"])) {
    t.failure = fail("bad_answer", "no usable access_token in the answer", false);
    return t;
  }
  if (j.contains("token_type")) {
    std::string type = j["token_type"].is_string() ? j["token_type"].get<std::string>() : "";
    for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (type != "bearer") {
      t.failure = fail("bad_answer", "token_type is not Bearer", false);
      return t;
    }
  }
  t.tokens.access_token = j["access_token"].get<std::string>();
  if (j.contains("expires_in")) {
    const auto& e = j["expires_in"];
    long long v = -1;
    if (e.is_number_integer()) v = e.get<long long>();
    else if (e.is_string() && !e.get_ref<const std::string&>().empty() && e.get_ref<const std::string&>().size() < 10 &&
             e.get_ref<const std::string&>().find_first_not_of("0123456789") == std::string::npos)
      v = std::stoll(e.get<std::string>());  // some providers quote it
    if (v < 0 || v > 10LL * 365 * 86400) {
      t.failure = fail("bad_answer", "bad expires_in in the answer", false);
      return t;
    }
    t.tokens.expires_in = v;
  }
  if (j.contains("refresh_token") && !j["refresh_token"].is_null()) {
    if (!token_text(j["refresh_token"])) {
      t.failure = fail("bad_answer", "bad refresh_token in the answer", false);
      return t;
    }
    t.tokens.refresh_token = j["refresh_token"].get<std::string>();
  }
  t.ok = true;
  return t;
}

}  // namespace nullq::oauth

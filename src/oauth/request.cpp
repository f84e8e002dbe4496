// request.cpp — see request.hpp.
#include "request.hpp"

#include <nlohmann/json.hpp>

#include "http_post.hpp"

namespace nullq::oauth {

namespace {

// code 1: the request is a JSON object with a wrong field (the token command answers that in
// JSON); code 0: it is not a JSON object at all.
Error bad(std::string why, int code = 1) { return Error::permanent(ErrorDomain::usage, std::move(why), code); }

}  // namespace

Result<Request> parse_request(std::string_view text, bool login) {
  if (text.size() > max_request) return bad("the request is larger than 64 KiB", 0);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("the request is not a JSON object", 0);
  Request r;
  std::string wrong;
  auto str = [&](const char* name, std::string& out, bool required) {
    if (!j.contains(name) || j[name].is_null()) {
      if (required && wrong.empty()) wrong = std::string("the request lacks \"") + name + "\"";
      return;
    }
    if (!j[name].is_string() || j[name].get_ref<const std::string&>().size() > 8192 ||
        j[name].get_ref<const std::string&>().find('\0') != std::string::npos) {
      if (wrong.empty()) wrong = std::string("\"") + name + "\" in the request is not a usable string";
      return;
    }
    out = j[name].get<std::string>();
    if (required && out.empty() && wrong.empty()) wrong = std::string("\"") + name + "\" in the request is empty";
  };
  auto num = [&](const char* name, long& out, long low, long high) {
    if (!j.contains(name)) return;
    if (!j[name].is_number_integer() || j[name].get<long long>() < low || j[name].get<long long>() > high) {
      if (wrong.empty()) wrong = std::string("\"") + name + "\" in the request must be a whole number from " +
                                 std::to_string(low) + " to " + std::to_string(high);
      return;
    }
    out = static_cast<long>(j[name].get<long long>());
  };
  str("flow", r.flow, !login);
  str("token_url", r.token_url, true);
  str("client_id", r.client_id, true);
  str("client_secret", r.client_secret, false);
  str("scope", r.scope, false);
  str("ca_file", r.ca_file, false);
  str("store", r.store, login);
  num("timeout", r.timeout, 1, 600);
  if (login) {
    str("login", r.login, true);
    str("device_url", r.device_url, false);
    str("authorize_url", r.authorize_url, false);
    str("user", r.user, false);
    long port = 0;
    num("redirect_port", port, 0, 65535);
    r.redirect_port = static_cast<int>(port);
    num("login_timeout", r.login_timeout, 1, 86400);
  }
  if (!wrong.empty()) return bad(wrong);
  if (!login && r.flow != "client_credentials" && r.flow != "refresh_token")
    return bad("\"flow\" must be client_credentials or refresh_token");
  if (!login && r.flow == "refresh_token" && r.store.empty()) return bad("the refresh_token flow needs \"store\"");
  if (login && r.login != "device" && r.login != "pkce") return bad("\"login\" must be device or pkce");
  if (login && r.login == "device" && r.device_url.empty()) return bad("the device login needs \"device_url\"");
  if (login && r.login == "pkce" && r.authorize_url.empty()) return bad("the pkce login needs \"authorize_url\"");
  if (!is_https_url(r.token_url)) return bad("token_url must be an https:// URL");
  if (!r.device_url.empty() && !is_https_url(r.device_url)) return bad("device_url must be an https:// URL");
  if (!r.authorize_url.empty() && !is_https_url(r.authorize_url)) return bad("authorize_url must be an https:// URL");
  if (!r.store.empty() && r.store[0] != '/') return bad("\"store\" must be an absolute path");
  return r;
}

}  // namespace nullq::oauth

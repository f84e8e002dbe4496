// login.cpp — `nullq-oauth login`: the device grant (RFC 8628) and the shared ending; see commands.hpp.
#include "login.hpp"

#include <time.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "commands.hpp"
#include "store.hpp"

namespace nullq::oauth {

namespace {

using Clock = std::chrono::steady_clock;

Form client_form(const Request& r, Form form) {
  form.emplace_back("client_id", r.client_id);
  if (!r.client_secret.empty()) form.emplace_back("client_secret", r.client_secret);
  return form;
}

std::string text_field(const nlohmann::json& j, const char* name, std::size_t cap) {
  if (!j.contains(name) || !j[name].is_string()) return "";
  const auto& s = j[name].get_ref<const std::string&>();
  if (s.empty() || s.size() > cap) return "";
  for (char c : s)
    if (c <= ' ' || c > '~') return "";
  return s;
}

long long number_field(const nlohmann::json& j, const char* name, long long fallback, long long high) {
  if (!j.contains(name)) return fallback;
  if (!j[name].is_number_integer()) return -1;
  long long v = j[name].get<long long>();
  return v < 0 || v > high ? -1 : v;
}

int login_device(const Request& r, std::FILE* out, std::FILE* err) {
  Form start = client_form(r, {});
  if (!r.scope.empty()) start.emplace_back("scope", r.scope);
  JsonAnswer d = post_for_json(r.device_url, start, r.ca_file, r.timeout);
  if (!d.ok) return login_failed(err, "the device authorization request failed", d.failure);
  std::string device_code = text_field(d.json, "device_code", 8192);
  std::string user_code = text_field(d.json, "user_code", 64);
  std::string uri = text_field(d.json, "verification_uri", 2048);
  if (uri.empty()) uri = text_field(d.json, "verification_url", 2048);  // Google's spelling
  long long interval = number_field(d.json, "interval", 5, 3600);
  long long expires_in = number_field(d.json, "expires_in", 900, 86400);
  if (device_code.empty() || user_code.empty() || uri.empty() || interval < 0 || expires_in < 0)
    return login_failed(err, "the device authorization answer", Failure{"bad_answer", "fields missing or malformed", false});
  std::fprintf(out, "To sign in, open %s and enter the code %s\n", uri.c_str(), user_code.c_str());
  std::fflush(out);
  auto deadline = Clock::now() + std::chrono::seconds(std::min<long long>(expires_in, r.login_timeout));
  Form poll = client_form(r, {{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"}, {"device_code", device_code}});
  for (;;) {
    auto next = Clock::now() + std::chrono::seconds(interval);
    if (next >= deadline)
      return login_failed(err, "the sign-in", Failure{"expired_token", "nobody signed in before the code expired", false});
    std::this_thread::sleep_until(next);
    TokenAnswer t = request_tokens(r.token_url, poll, r.ca_file, r.timeout);
    if (t.ok) return store_login(r, t.tokens, out, err);
    if (t.failure.error == "authorization_pending") continue;
    if (t.failure.error == "slow_down") {  // RFC 8628 §3.5: 5 seconds more from now on
      interval += 5;
      continue;
    }
    return login_failed(err, "the sign-in", t.failure);
  }
}

}  // namespace

int login_failed(std::FILE* err, const char* what, const Failure& f) {
  std::fprintf(err, "nullq-oauth: %s: %s%s%s%s\n", what, f.error.c_str(), f.description.empty() ? "" : " (",
               f.description.c_str(), f.description.empty() ? "" : ")");
  if (f.error == "bad_request") return exit_usage;
  return f.temporary ? exit_unreachable : exit_refused;
}

int store_login(const Request& r, const Tokens& t, std::FILE* out, std::FILE* err) {
  if (t.refresh_token.empty())
    return login_failed(err, "the provider answered", Failure{"no_refresh_token", "no refresh token (is offline_access in the scope?)", false});
  auto lock = StoreLock::acquire(r.store);
  if (!lock) return login_failed(err, "the store", Failure{"store", printable(lock.error().message()), false});
  long long now = static_cast<long long>(std::time(nullptr));
  Store s{t.refresh_token, now, now, now + t.expires_in, "ok"};
  s.last_result = "ok";
  if (Status w = write_store(r.store, s); !w)
    return login_failed(err, "the store", Failure{"store", printable(w.error().message()), false});
  std::fprintf(out, "Signed in; the refresh token is stored in %s\n", r.store.c_str());
  std::fflush(out);
  return exit_stored;
}

int run_login(const Request& r, int in_fd, std::FILE* out, std::FILE* err) {
  return r.login == "device" ? login_device(r, out, err) : login_pkce(r, in_fd, out, err);
}

}  // namespace nullq::oauth

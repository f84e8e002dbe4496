// token.cpp — `nullq-oauth token`; see commands.hpp.
#include <ctime>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "grant.hpp"
#include "store.hpp"

namespace nullq::oauth {

namespace {

std::string failure_answer(const Failure& f) {
  nlohmann::json j = {{"ok", false}, {"error", f.error}, {"description", f.description}, {"temporary", f.temporary}};
  return j.dump();
}

Failure store_failure(const Error& e) { return Failure{"store", printable(e.message()), false}; }

Form client_form(const Request& r, Form form) {
  form.emplace_back("client_id", r.client_id);
  if (!r.client_secret.empty()) form.emplace_back("client_secret", r.client_secret);
  if (!r.scope.empty()) form.emplace_back("scope", r.scope);
  return form;
}

std::string success_answer(const Tokens& t, bool rotated) {
  nlohmann::json j = {{"ok", true}, {"access_token", t.access_token}, {"expires_in", t.expires_in}, {"rotated", rotated}};
  return j.dump();
}

}  // namespace

std::string run_token(const Request& r) {
  if (r.flow == "client_credentials") {
    TokenAnswer a = request_tokens(r.token_url, client_form(r, {{"grant_type", "client_credentials"}}), r.ca_file, r.timeout);
    return a.ok ? success_answer(a.tokens, false) : failure_answer(a.failure);
  }
  // refresh_token: the lock is held until the answer is made, so a concurrent refresh waits and
  // then reads the rotated token.
  auto lock = StoreLock::acquire(r.store);
  if (!lock) return failure_answer(store_failure(lock.error()));
  auto stored = read_store(r.store);
  if (!stored) return failure_answer(store_failure(stored.error()));
  if (!*stored || (*stored)->refresh_token.empty())
    return failure_answer(Failure{"no_refresh_token", "no refresh token stored: run nullq oauth login", false});
  Store s = **stored;
  TokenAnswer a = request_tokens(r.token_url, client_form(r, {{"grant_type", "refresh_token"}, {"refresh_token", s.refresh_token}}),
                                 r.ca_file, r.timeout);
  long long now = static_cast<long long>(std::time(nullptr));
  if (!a.ok) {
    s.last_result = a.failure.error + ": " + a.failure.description;
    (void)write_store(r.store, s);  // the status line only; the provider's answer is what matters
    return failure_answer(a.failure);
  }
  bool rotated = !a.tokens.refresh_token.empty() && a.tokens.refresh_token != s.refresh_token;
  if (rotated) s.refresh_token = a.tokens.refresh_token;
  s.last_refresh = now;
  s.last_result = "ok";
  s.expires = now + a.tokens.expires_in;
  // Durably stored BEFORE the access token leaves: a crash after this point loses nothing.
  if (Status w = write_store(r.store, s); !w) return failure_answer(store_failure(w.error()));
  return success_answer(a.tokens, rotated);
}

}  // namespace nullq::oauth

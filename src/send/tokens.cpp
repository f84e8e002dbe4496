// OAuth access tokens for one account (see include/nullq/send/tokens.hpp, include/nullq/oauth.hpp).
#include "nullq/send/tokens.hpp"

#include <string.h>
#include <uv.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "nullq/oauth.hpp"
#include "nullq/printable.hpp"

namespace nullq::send {

namespace {

constexpr std::int64_t refresh_margin_min_ms = 60'000;
constexpr std::size_t max_description = 300;

// An access token goes into a SASL line: visible ASCII only.
bool token_chars(std::string_view t) {
  if (t.empty() || t.size() > 16 * 1024) return false;
  return std::all_of(t.begin(), t.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
}

// Owns a token; wipes it when the last holder lets go.
client::TokenSource::Token keep(std::string text) {
  return client::TokenSource::Token(new std::string(std::move(text)), [](const std::string* p) {
    auto* s = const_cast<std::string*>(p);
    if (!s->empty()) ::explicit_bzero(s->data(), s->size());
    delete s;
  });
}

// JSON string body for `s` (no quotes), appended without reallocating `out` (reserved by the
// caller), so that no unwiped copy of a secret is left behind.
void append_json_string(std::string& out, std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      out += "\\u00";
      out += hex[ch >> 4];
      out += hex[ch & 15];
    } else {
      out += static_cast<char>(ch);
    }
  }
}

std::string field_string(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string helper_request(const TokenSettings& s, HelperOp op) {
  nlohmann::json j;
  j["flow"] = config::to_string(s.oauth.flow);
  j["token_url"] = s.oauth.token_url;
  if (!s.oauth.client_id.empty()) j["client_id"] = s.oauth.client_id;
  if (!s.oauth.scope.empty()) j["scope"] = s.oauth.scope;
  if (!s.oauth.ca_file.empty()) j["ca_file"] = s.oauth.ca_file;
  if (!s.store.empty()) j["store"] = s.store;
  j["timeout"] = s.oauth.timeout.count();
  if (op == HelperOp::login) {
    if (!s.oauth.device_url.empty()) j["device_url"] = s.oauth.device_url;
    if (!s.oauth.authorize_url.empty()) j["authorize_url"] = s.oauth.authorize_url;
    j["login"] = login_kind(s.oauth);
    j["user"] = s.user;
  }
  std::string text = j.dump();
  if (const auto& secret = s.oauth.client_secret; secret && !secret->empty()) {
    // Added by hand, into room reserved beforehand: no copy of the secret is left unwiped.
    std::string with;
    with.reserve(text.size() + 6 * secret->size() + 32);
    with.append(text, 0, text.size() - 1);  // without the closing brace
    with += ",\"client_secret\":\"";
    append_json_string(with, *secret);
    with += "\"}";
    text = std::move(with);
  }
  return text;
}

const char* login_kind(const config::OAuthSettings& o) {
  // Google allows no device grant for mail scopes; elsewhere the device grant needs no browser here.
  if (o.provider != config::OAuthProvider::google && !o.device_url.empty()) return "device";
  if (!o.authorize_url.empty()) return "pkce";
  return "";
}

TokenSettings token_settings(const config::Config& c, const config::SmartHost& h) {
  TokenSettings s;
  s.host = h.host;
  s.user = h.auth_user;
  s.oauth = h.oauth;
  if (h.oauth.flow == config::OAuthFlow::refresh_token) s.store = oauth::store_path(c, h);
  s.helper = oauth::helper_program();
  s.retry_max = std::max<std::chrono::milliseconds>(s.retry_min, c.retry_max);
  return s;
}

std::shared_ptr<TokenManager> TokenManager::make(uv_loop_s* loop, TokenSettings settings, TokenLog log) {
  return std::make_shared<TokenManager>(loop, std::move(settings), std::move(log));
}

TokenManager::TokenManager(uv_loop_s* loop, TokenSettings settings, TokenLog log)
    : loop_(loop), s_(std::move(settings)), log_(std::move(log)) {
  ready_timer_ = event::Timer(loop, [this] { flush_ready(); });
}

TokenManager::~TokenManager() { close(); }

void TokenManager::close() {
  closed_ = true;
  child_.reset();
  ready_timer_.reset();
  ready_.clear();
  waiters_.clear();
}

std::int64_t TokenManager::now() const { return static_cast<std::int64_t>(uv_now(loop_)); }

bool TokenManager::usable(std::int64_t t) const { return token_ && t < refresh_ms_; }

void TokenManager::answer_later(Callback cb, Result<Token> r) {
  if (closed_) return;
  ready_.emplace_back(std::move(cb), std::move(r));
  ready_timer_.start(std::chrono::milliseconds(0));
}

void TokenManager::flush_ready() {
  auto self = shared_from_this();
  auto ready = std::move(ready_);
  ready_.clear();
  for (auto& [cb, r] : ready) cb(std::move(r));
}

void TokenManager::get(Callback cb) {
  if (closed_) return;
  const std::int64_t t = now();
  if (usable(t)) return answer_later(std::move(cb), token_);
  if (child_ && child_->running()) {
    waiters_.push_back(std::move(cb));
    return;
  }
  if (t < hold_until_ms_ && last_error_) {
    // Paused after a failure: an old token that still lives beats none.
    if (token_ && t < expires_ms_) return answer_later(std::move(cb), token_);
    return answer_later(std::move(cb), *last_error_);
  }
  waiters_.push_back(std::move(cb));
  fetch();
}

bool TokenManager::rejected(const Token& token) {
  if (!token || token != token_) return true;  // an older one: the next get() has a newer one coming
  if (now() - fetched_ms_ < s_.fresh.count()) return false;  // just fetched: another will not help
  token_.reset();
  refresh_ms_ = expires_ms_ = 0;
  return true;
}

ChildSpec TokenManager::request() const {
  ChildSpec spec;
  spec.env = minimal_environment();
  if (s_.oauth.flow == config::OAuthFlow::command) {
    spec.argv = s_.oauth.token_command;
    spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s_.oauth.timeout);
    return spec;
  }
  spec.argv = {s_.helper, "token"};
  // The helper keeps to "timeout" itself; the grace covers its start and its answer.
  spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s_.oauth.timeout) + std::chrono::seconds(5);
  std::string text = helper_request(s_, HelperOp::token);
  spec.input = std::move(text);
  return spec;
}

void TokenManager::fetch() {
  ++runs_;
  if (!child_) child_ = std::make_unique<Child>(loop_);
  child_->start(request(), [this](ChildResult r) { on_child(std::move(r)); });
}

std::string TokenManager::stderr_line(const ChildResult& r) const {
  std::string e = r.err;
  while (!e.empty() && (e.back() == '\n' || e.back() == '\r')) e.pop_back();
  std::replace(e.begin(), e.end(), '\n', ' ');
  return printable(e, max_description);
}

void TokenManager::on_child(ChildResult r) {
  if (closed_) return;
  auto self = shared_from_this();
  const bool command = s_.oauth.flow == config::OAuthFlow::command;
  const std::string who = command ? "token_command" : "nullq-oauth";
  if (!r.err.empty() && log_) log_(Priority::warning, s_.host + ": " + who + ": " + stderr_line(r));
  std::string reason;
  auto got = command ? parse_command(r, reason) : parse_helper(r, reason);
  // The output held the token: wipe it before the buffer goes.
  if (!r.out.empty()) ::explicit_bzero(r.out.data(), r.out.size());
  if (got.ok()) {
    succeed(std::move(got.value().first), got.value().second);
  } else {
    fail(got.error(), reason);
  }
}

Result<std::pair<std::string, std::int64_t>> TokenManager::parse_command(const ChildResult& r,
                                                                         std::string& reason) const {
  const std::string who = "token_command for " + s_.host;
  auto bad = [&](const char* word, const std::string& what) {
    reason = word;
    return Error::temporary(ErrorDomain::remote, who + " " + what + "; mail stays queued");
  };
  if (r.spawn_error) return bad("command_spawn", r.describe(s_.oauth.timeout));
  if (r.timed_out) return bad("command_timeout", r.describe(s_.oauth.timeout));
  if (r.stdout_overflow) return bad("command_overflow", r.describe(s_.oauth.timeout));
  if (!r.ok()) return bad("command_failed", r.describe(s_.oauth.timeout));
  std::string_view out = r.out;
  out = out.substr(0, out.find('\n'));
  while (!out.empty() && (out.back() == '\r' || out.back() == ' ' || out.back() == '\t')) out.remove_suffix(1);
  while (!out.empty() && (out.front() == ' ' || out.front() == '\t')) out.remove_prefix(1);
  if (out.empty()) return bad("command_empty", "printed no token");
  if (!token_chars(out)) return bad("command_garbage", "printed something that is no access token");
  return std::pair<std::string, std::int64_t>(std::string(out), s_.command_lifetime.count());
}

Result<std::pair<std::string, std::int64_t>> TokenManager::parse_helper(const ChildResult& r,
                                                                        std::string& reason) const {
  const std::string& h = s_.host;
  auto helper_failed = [&](const std::string& what) {
    reason = "helper";
    return Error::temporary(ErrorDomain::protocol, "nullq-oauth (" + s_.helper + ") for " + h + " " + what +
                                                       "; mail stays queued");
  };
  if (!r.ok()) return helper_failed(r.describe(s_.oauth.timeout + std::chrono::seconds(5)));
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return helper_failed("gave no JSON answer");
  auto ok = j.find("ok");
  if (ok == j.end() || !ok->is_boolean()) return helper_failed("gave an answer without \"ok\"");
  if (ok->get<bool>()) {
    std::string token = field_string(j, "access_token");
    if (!token_chars(token)) {
      if (!token.empty()) ::explicit_bzero(token.data(), token.size());
      return helper_failed("gave no usable access_token");
    }
    std::int64_t lifetime = 3600;
    if (auto e = j.find("expires_in"); e != j.end()) {
      if (!e->is_number_integer() || e->get<std::int64_t>() <= 0 || e->get<std::int64_t>() > 10 * 365 * 86400) {
        ::explicit_bzero(token.data(), token.size());
        return helper_failed("gave a bad expires_in");
      }
      lifetime = e->get<std::int64_t>();
    }
    // The parsed document holds the token too.
    if (auto t = j.find("access_token"); t != j.end()) {
      auto& s = t->get_ref<std::string&>();
      ::explicit_bzero(s.data(), s.size());
    }
    return std::pair<std::string, std::int64_t>(std::move(token), lifetime * 1000);
  }
  std::string code = printable(field_string(j, "error"), 64);
  if (code.empty() || code.find_first_of(" :") != std::string::npos) code = "bad_answer";
  const std::string desc = printable(field_string(j, "description"), max_description);
  bool temporary = true;
  if (auto t = j.find("temporary"); t != j.end() && t->is_boolean()) temporary = t->get<bool>();
  reason = code;
  const bool refresh = s_.oauth.flow == config::OAuthFlow::refresh_token;
  const std::string login = "run: nullq oauth login " + h;
  const std::string said = desc.empty() ? std::string() : " (" + desc + ")";
  std::string text;
  if (code == "invalid_grant" && refresh)
    text = "invalid_grant: the refresh token for " + h + " was revoked or expired; " + login;
  else if (code == "no_refresh_token")
    text = "no_refresh_token: there is no refresh token for " + h + " yet; " + login;
  else if (code == "invalid_client" || code == "unauthorized_client")
    text = code + ": the identity provider refused the client of " + h + said +
           "; check auth.oauth.client_id and client_secret_file, and the app registration";
  else if (code == "invalid_scope")
    text = "invalid_scope: the identity provider refused the scope for " + h + said + "; check auth.oauth.scope";
  else if (code == "store")
    text = "store: the token store " + s_.store + " of " + h + " cannot be used" + said;
  else if (temporary)
    text = code + ": the identity provider for " + h + " failed or cannot be reached" + said +
           "; mail stays queued and nullq tries again";
  else
    text = code + ": the identity provider refused a token for " + h + said;
  if (temporary) return Error::temporary(ErrorDomain::remote, text);
  return Error::permanent(ErrorDomain::remote, text);
}

void TokenManager::succeed(std::string token, std::int64_t lifetime_ms) {
  const std::int64_t t = now();
  token_ = keep(std::move(token));
  fetched_ms_ = t;
  expires_ms_ = t + lifetime_ms;
  // Less than max(60 s, 10%) left: no connection starts with it any more.
  refresh_ms_ = expires_ms_ - std::max<std::int64_t>(refresh_margin_min_ms, lifetime_ms / 10);
  pause_ = std::chrono::milliseconds(0);
  hold_until_ms_ = 0;
  if (failing_ && log_)
    log_(Priority::notice, s_.host + ": an OAuth access token was fetched again; AUTH goes on");
  failing_ = false;
  failing_reason_.clear();
  last_error_.reset();
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& cb : waiters) cb(token_);
}

void TokenManager::fail(Error e, const std::string& reason) {
  const std::int64_t t = now();
  pause_ = pause_.count() == 0 ? s_.retry_min : std::min(pause_ * 2, s_.retry_max);
  hold_until_ms_ = t + pause_.count();
  if ((!failing_ || reason != failing_reason_) && log_)
    log_(e.is_permanent() ? Priority::err : Priority::warning, e.detail);
  // The fix ("; run: nullq oauth login HOST") is in that one line; every message's deferral line,
  // the host's hold line and the queue files say what is wrong without repeating it.
  if (auto at = e.detail.find("; run: nullq oauth login "); at != std::string::npos) e.detail.resize(at);
  failing_ = true;
  failing_reason_ = reason;
  last_error_ = e;
  auto waiters = std::move(waiters_);
  waiters_.clear();
  const bool old_lives = token_ && t < expires_ms_;
  for (auto& cb : waiters) {
    if (old_lives) cb(token_);
    else cb(e);
  }
}

}  // namespace nullq::send

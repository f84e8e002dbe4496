// idp_endpoints.cpp — what the test identity provider answers; see testhost_idp.hpp.
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <string>

#include "idp_impl.hpp"

namespace nullq::testhost {

namespace {

using Form = std::map<std::string, std::string>;

const char* const device_grant = "urn:ietf:params:oauth:grant-type:device_code";

// JSON string contents; the texts here are ours or come from checked parameters.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_ok(std::string_view body) { return http::response(200, "application/json", body); }

std::string base64url(const unsigned char* data, std::size_t n) {
  std::string b64(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), data, static_cast<int>(n));
  b64.resize(static_cast<std::size_t>(len));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  for (char& c : b64) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return b64;
}

std::string s256(std::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return base64url(digest, sizeof digest);
}

// RFC 7636 §4.1: 43-128 characters of [A-Za-z0-9-._~].
bool good_verifier(std::string_view v) {
  if (v.size() < 43 || v.size() > 128) return false;
  return v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") == std::string_view::npos;
}

Result<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 || in.size() > 2048) return Error::permanent(ErrorDomain::format, "bad base64");
  std::string out(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return Error::permanent(ErrorDomain::format, "bad base64");
  std::size_t len = static_cast<std::size_t>(n);
  if (in.back() == '=') --len;
  if (in.size() > 1 && in[in.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

}  // namespace

std::string json_error(int status, std::string_view error, std::string_view description) {
  std::string body = "{\"error\":" + quote(error);
  if (!description.empty()) body += ",\"error_description\":" + quote(description);
  body += "}";
  std::string extra = status == 401 ? "WWW-Authenticate: Basic realm=\"nullq test idp\"\r\n" : "";
  return http::response(status, "application/json", body, extra);
}

std::string Idp::Impl::issue_tokens(const std::string& client_id, bool with_refresh) {
  std::string at = "at-" + random_token(24);
  access[at] = Access{Clock::now() + std::chrono::seconds(opt.token_lifetime)};
  issued.push_back(at);
  std::string body = "{\"access_token\":" + quote(at) + ",\"token_type\":\"Bearer\",\"expires_in\":" +
                     std::to_string(opt.token_lifetime);
  if (with_refresh) {
    std::string rt = "rt-" + random_token(24);
    refresh[rt] = client_id;
    issued.push_back(rt);
    body += ",\"refresh_token\":" + quote(rt);
  }
  return json_ok(body + "}");
}

std::string Idp::Impl::handle(const http::Request& req) {
  std::lock_guard lock(mu);
  if (unavailable)
    return http::response(503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>\n");
  if (req.path == "/authorize") {
    ++counts["authorize"];
    if (req.method != "GET") return json_error(405, "invalid_request", "GET only");
    auto location = authorize_locked(req.query);
    if (!location) return json_error(400, "invalid_request", location.error().detail);
    return http::response(302, "text/plain", "", "Location: " + *location + "\r\n");
  }
  if (req.path != "/token" && req.path != "/devicecode") return json_error(404, "invalid_request", "no such endpoint");
  if (req.method != "POST") return json_error(405, "invalid_request", "POST only");
  auto ct = req.headers.find("content-type");
  if (ct == req.headers.end() || ct->second.substr(0, 33) != "application/x-www-form-urlencoded")
    return json_error(415, "invalid_request", "the body must be application/x-www-form-urlencoded");
  if (!req.query.empty()) return json_error(400, "invalid_request", "parameters belong in the body");
  auto form = http::decode_form(req.body);
  if (!form) return json_error(400, "invalid_request", form.error().detail);
  return req.path == "/token" ? token_endpoint(req, *form) : devicecode_endpoint(req, *form);
}

namespace {

// RFC 6749 §2.3: HTTP Basic or the body, not both. Returns the client id, or the error answer.
struct ClientAuth {
  std::string id, secret;
  bool has_secret = false, basic = false;
  std::string error;  // a whole HTTP answer when not "" 
};

ClientAuth client_auth(const http::Request& req, const Form& form) {
  ClientAuth a;
  auto h = req.headers.find("authorization");
  if (h != req.headers.end()) {
    if (h->second.substr(0, 6) != "Basic ") {
      a.error = json_error(401, "invalid_client", "unsupported authentication scheme");
      return a;
    }
    auto decoded = base64_decode(h->second.substr(6));
    std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (!decoded || colon == std::string::npos || form.count("client_secret")) {
      a.error = json_error(401, "invalid_client", "bad Basic credentials");
      return a;
    }
    auto id = http::decode_form("x=" + decoded->substr(0, colon));
    auto secret = http::decode_form("x=" + decoded->substr(colon + 1));
    if (!id || !secret) {
      a.error = json_error(401, "invalid_client", "bad Basic credentials");
      return a;
    }
    a.id = (*id)["x"];
    a.secret = (*secret)["x"];
    a.has_secret = a.basic = true;
    return a;
  }
  auto id = form.find("client_id");
  if (id == form.end() || id->second.empty()) {
    a.error = json_error(400, "invalid_request", "no client_id");
    return a;
  }
  a.id = id->second;
  auto s = form.find("client_secret");
  if (s != form.end()) {
    a.secret = s->second;
    a.has_secret = true;
  }
  return a;
}

std::string field(const Form& form, const char* name) {
  auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

}  // namespace

std::string Idp::Impl::token_endpoint(const http::Request& req, const Form& form) {
  std::string grant = field(form, "grant_type");
  ++counts[grant.empty() ? "none" : grant];
  ClientAuth a = client_auth(req, form);
  if (!a.error.empty()) return a.error;
  auto client = opt.clients.find(a.id);
  if (client == opt.clients.end()) return json_error(401, "invalid_client", "unknown client");
  bool confidential = !client->second.empty();
  if (confidential && (!a.has_secret || a.secret != client->second))
    return json_error(401, "invalid_client", "client authentication failed");
  if (!confidential && a.has_secret && !a.secret.empty())
    return json_error(401, "invalid_client", "a public client has no secret");
  if (grant.empty()) return json_error(400, "invalid_request", "no grant_type");

  if (grant == "client_credentials") {
    if (!confidential) return json_error(400, "unauthorized_client", "a public client cannot use client_credentials");
    return issue_tokens(a.id, false);
  }
  if (grant == "refresh_token") {
    std::string rt = field(form, "refresh_token");
    if (rt.empty()) return json_error(400, "invalid_request", "no refresh_token");
    auto it = refresh.find(rt);
    if (it == refresh.end() || it->second != a.id)
      return json_error(400, "invalid_grant", "the refresh token is invalid, expired or revoked");
    if (!rotate) return issue_tokens(a.id, false);
    refresh.erase(it);
    return issue_tokens(a.id, true);
  }
  if (grant == device_grant) {
    std::string dc = field(form, "device_code");
    if (dc.empty()) return json_error(400, "invalid_request", "no device_code");
    auto it = devices.find(dc);
    if (it == devices.end() || it->second.done || it->second.client_id != a.id)
      return json_error(400, "invalid_grant", "unknown device code");
    if (Clock::now() >= it->second.expires) return json_error(400, "expired_token", "the device code expired");
    Device& d = it->second;
    auto now = Clock::now();
    bool too_fast = d.polls > 0 && now - d.last_poll < std::chrono::seconds(d.interval);
    d.last_poll = now;
    if (too_fast) {  // not a step of the script: the client ignored the interval
      ++counts["too_fast"];
      d.interval += 5;
      return json_error(400, "slow_down", "polling too fast");
    }
    const std::string& step = device_script[std::min(d.polls, device_script.size() - 1)];
    ++d.polls;
    if (step == "slow_down") d.interval += 5;
    if (step != "approve") {
      if (step == "access_denied" || step == "expired_token") it->second.done = true;
      return json_error(400, step, "");
    }
    it->second.done = true;
    return issue_tokens(a.id, true);
  }
  if (grant == "authorization_code") {
    std::string code = field(form, "code"), verifier = field(form, "code_verifier");
    if (code.empty() || verifier.empty()) return json_error(400, "invalid_request", "code and code_verifier are required");
    auto it = codes.find(code);
    if (it == codes.end() || it->second.client_id != a.id)
      return json_error(400, "invalid_grant", "unknown or used authorization code");
    Code c = it->second;
    codes.erase(it);  // single use, whatever happens next
    if (field(form, "redirect_uri") != c.redirect_uri) return json_error(400, "invalid_grant", "redirect_uri differs");
    if (!good_verifier(verifier) || s256(verifier) != c.challenge)
      return json_error(400, "invalid_grant", "PKCE verification failed");
    return issue_tokens(a.id, true);
  }
  return json_error(400, "unsupported_grant_type", "");
}

std::string Idp::Impl::devicecode_endpoint(const http::Request& req, const Form& form) {
  ++counts["devicecode"];
  ClientAuth a = client_auth(req, form);
  if (!a.error.empty()) return a.error;
  auto client = opt.clients.find(a.id);
  if (client == opt.clients.end()) return json_error(401, "invalid_client", "unknown client");
  if (!client->second.empty() && a.has_secret && a.secret != client->second)
    return json_error(401, "invalid_client", "client authentication failed");
  std::string dc = "dc-" + random_token(16);
  std::string user_code = random_token(4);
  for (char& c : user_code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  devices[dc] = Device{a.id, 0, false, Clock::now() + std::chrono::seconds(opt.device_expires_in), {}, opt.device_interval};
  std::string host = opt.bind.find(':') != std::string::npos ? "[" + opt.bind + "]" : opt.bind;
  std::string body = "{\"device_code\":" + quote(dc) + ",\"user_code\":" + quote(user_code) +
                     ",\"verification_uri\":" + quote("https://" + host + ":" + std::to_string(port) + "/device") +
                     ",\"expires_in\":" + std::to_string(opt.device_expires_in) +
                     ",\"interval\":" + std::to_string(opt.device_interval) + "}";
  return json_ok(body);
}

Result<std::string> Idp::Impl::authorize_locked(std::string_view query) {
  auto form = http::decode_form(query);
  if (!form) return form.error();
  auto bad = [](std::string why) { return Error::permanent(ErrorDomain::protocol, std::move(why)); };
  std::string client_id = field(*form, "client_id"), redirect = field(*form, "redirect_uri");
  if (!opt.clients.count(client_id)) return bad("unknown client");
  // Loopback redirects only (RFC 8252 §7.3): any port, path as given.
  if (redirect.rfind("http://127.0.0.1:", 0) != 0 && redirect.rfind("http://localhost:", 0) != 0)
    return bad("redirect_uri must be a loopback http URL");
  if (field(*form, "response_type") != "code") return bad("response_type must be code");
  if (field(*form, "code_challenge_method") != "S256") return bad("code_challenge_method must be S256");
  std::string challenge = field(*form, "code_challenge");
  if (challenge.size() != 43) return bad("bad code_challenge");
  std::string state = field(*form, "state");
  std::string sep = redirect.find('?') == std::string::npos ? "?" : "&";
  std::string tail = state.empty() ? "" : "&state=" + http::url_encode(state);
  if (!auto_approve) return redirect + sep + "error=access_denied" + tail;
  std::string code = "ac-" + random_token(16);
  codes[code] = Code{client_id, redirect, challenge};
  return redirect + sep + "code=" + code + tail;
}

}  // namespace nullq::testhost

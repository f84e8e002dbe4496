// A smart host's `auth` mapping: user, password_file or oauth, the SASL mechanism, and the OAuth
// presets (see OAuthSettings in include/nullq/config.hpp, nullq.yaml(5)).
//
// Presets fill only what the file does not give: an admin may point token_url at a proxy or a
// national cloud and keep the rest. Every endpoint is https:// (a token or secret never crosses a
// network in clear). The secrets themselves are read by load_secrets() (secret.cpp), not here.
#include <string>

#include "reader.hpp"

namespace nullq::config::detail {

namespace {

bool is_https(const std::string& url) {
  if (url.size() <= 8 || url.compare(0, 8, "https://") != 0) return false;
  // A URL in one piece: no spaces or controls (it goes into the helper's request as it is).
  for (unsigned char ch : url)
    if (ch <= 0x20 || ch == 0x7f) return false;
  return true;
}

std::string absolute_path(const Reader& r, const YAML::Node& n, const std::string& key) {
  std::string s = r.str(n, key);
  if (s.empty() || s[0] != '/') r.fail(n, "'" + key + "' must be an absolute path");
  return s;
}

std::string url(const Reader& r, const YAML::Node& n, const std::string& key) {
  std::string s = r.str(n, key);
  if (!is_https(s)) r.fail(n, "'" + key + "' must be an https:// URL, not '" + s + "'");
  return s;
}

std::vector<std::string> argv(const Reader& r, const YAML::Node& n) {
  const std::string key = "auth.oauth.token_command";
  if (!n.IsSequence() || n.size() == 0)
    r.fail(n, "'" + key + "' must be a list: the program (an absolute path) and its arguments, e.g. "
                  "[/usr/bin/oama, access, user@example.com]");
  std::vector<std::string> out;
  for (const auto& item : n) {
    std::string s = r.str(item, key);
    if (s.find('\0') != std::string::npos) r.fail(item, "'" + key + "' holds a NUL byte");
    out.push_back(std::move(s));
  }
  if (out[0].empty() || out[0][0] != '/')
    r.fail(n, "'" + key + "' must start with the program's absolute path (no shell, no PATH search), not '" +
                  out[0] + "'");
  return out;
}

// A Microsoft tenant goes into the endpoint URLs: a directory name or GUID, nothing else.
std::string tenant(const Reader& r, const YAML::Node& n) {
  std::string s = r.str(n, "auth.oauth.tenant");
  if (s.empty() || s.size() > 253 ||
      s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != std::string::npos)
    r.fail(n, "'auth.oauth.tenant' must be a directory name or ID like example.onmicrosoft.com, not '" + s + "'");
  return s;
}

void apply_preset(const Reader& r, const YAML::Node& o, OAuthSettings& s) {
  switch (s.provider) {
    case OAuthProvider::microsoft: {
      if (s.tenant.empty()) {
        if (s.flow == OAuthFlow::client_credentials)
          r.fail(o, "'auth.oauth' with provider microsoft and flow client_credentials needs 'tenant' (the "
                    "directory, e.g. example.onmicrosoft.com)");
        s.tenant = "organizations";
      }
      const std::string base = "https://login.microsoftonline.com/" + s.tenant + "/oauth2/v2.0/";
      if (s.token_url.empty()) s.token_url = base + "token";
      if (s.device_url.empty()) s.device_url = base + "devicecode";
      if (s.authorize_url.empty()) s.authorize_url = base + "authorize";
      if (s.scope.empty())
        s.scope = s.flow == OAuthFlow::client_credentials ? "https://outlook.office365.com/.default"
                                                          : "https://outlook.office.com/SMTP.Send offline_access";
      break;
    }
    case OAuthProvider::google:
      if (o["device_url"])
        r.fail(o["device_url"], "'auth.oauth.device_url': Google offers no device flow for mail scopes; `nullq "
                                "oauth login` uses the authorization code flow with PKCE (authorize_url)");
      if (s.token_url.empty()) s.token_url = "https://oauth2.googleapis.com/token";
      if (s.authorize_url.empty()) s.authorize_url = "https://accounts.google.com/o/oauth2/v2/auth";
      if (s.scope.empty()) s.scope = "https://mail.google.com/";
      break;
    case OAuthProvider::generic:
      if (s.token_url.empty()) r.fail(o, "'auth.oauth' with provider generic needs 'token_url'");
      break;
  }
}

void read_oauth(const Reader& r, const YAML::Node& o, SmartHost& h) {
  r.check_keys(o, "auth.oauth", keys::oauth);
  OAuthSettings& s = h.oauth;
  if (auto n = o["timeout"]) s.timeout = r.duration(n, "auth.oauth.timeout", false);
  if (auto n = o["token_command"]) {
    if (o["flow"])
      r.fail(o["flow"], "'auth.oauth.flow' and 'auth.oauth.token_command' exclude each other: the command is "
                        "where the token comes from");
    s.flow = OAuthFlow::command;
    s.token_command = argv(r, n);
    return;
  }
  if (!o["flow"])
    r.fail(o, "'auth.oauth' needs 'flow' (client_credentials or refresh_token) or 'token_command'");
  const std::string flow = r.str(o["flow"], "auth.oauth.flow");
  if (flow == "client_credentials") s.flow = OAuthFlow::client_credentials;
  else if (flow == "refresh_token") s.flow = OAuthFlow::refresh_token;
  else r.fail(o["flow"], "'auth.oauth.flow' must be client_credentials or refresh_token, not '" + flow + "'");
  if (auto n = o["provider"]) {
    const std::string p = r.str(n, "auth.oauth.provider");
    if (p == "microsoft") s.provider = OAuthProvider::microsoft;
    else if (p == "google") s.provider = OAuthProvider::google;
    else if (p == "generic") s.provider = OAuthProvider::generic;
    else r.fail(n, "'auth.oauth.provider' must be microsoft, google or generic, not '" + p + "'");
  }
  if (auto n = o["tenant"]) {
    if (s.provider != OAuthProvider::microsoft) r.fail(n, "'auth.oauth.tenant' is only for provider microsoft");
    s.tenant = tenant(r, n);
  }
  if (auto n = o["client_id"]) {
    s.client_id = r.str(n, "auth.oauth.client_id");
    if (s.client_id.empty() || s.client_id.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
      r.fail(n, "'auth.oauth.client_id' must be a non-empty single line");
  }
  if (auto n = o["client_secret_file"]) s.client_secret_file = absolute_path(r, n, "auth.oauth.client_secret_file");
  if (auto n = o["scope"]) {
    s.scope = r.str(n, "auth.oauth.scope");
    if (s.scope.empty() || s.scope.find_first_of(std::string("\r\n\t\0", 4)) != std::string::npos)
      r.fail(n, "'auth.oauth.scope' must be scopes separated by spaces, on one line");
  }
  if (auto n = o["token_url"]) s.token_url = url(r, n, "auth.oauth.token_url");
  if (auto n = o["device_url"]) s.device_url = url(r, n, "auth.oauth.device_url");
  if (auto n = o["authorize_url"]) s.authorize_url = url(r, n, "auth.oauth.authorize_url");
  if (auto n = o["ca_file"]) s.ca_file = absolute_path(r, n, "auth.oauth.ca_file");
  if (s.flow == OAuthFlow::client_credentials) {
    if (s.client_id.empty()) r.fail(o, "'auth.oauth' with flow client_credentials needs 'client_id'");
    if (s.client_secret_file.empty())
      r.fail(o, "'auth.oauth' with flow client_credentials needs 'client_secret_file'");
  }
  apply_preset(r, o, s);
}

}  // namespace

void read_auth(const Reader& r, const YAML::Node& a, SmartHost& h) {
  r.check_keys(a, "auth", keys::auth);
  if (a["password"])
    r.fail(a["password"], "passwords do not go into nullq.yaml (every user can read it): put it in a file "
                          "readable by nullq only and name it with 'password_file'");
  if (!a["user"]) r.fail(a, "'auth' needs 'user'");
  if (a["oauth"] && a["password_file"])
    r.fail(a["oauth"], "'auth' takes 'password_file' or 'oauth', not both");
  if (!a["password_file"] && !a["oauth"]) r.fail(a, "'auth' needs 'password_file' (or 'oauth')");
  h.auth_user = r.str(a["user"], "auth.user");
  if (h.auth_user.empty() || h.auth_user.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
    r.fail(a["user"], "'auth.user' must be a non-empty single line");
  if (auto n = a["mechanism"]) {
    const std::string m = r.str(n, "auth.mechanism");
    if (m == "auto") h.mechanism = AuthMechanism::automatic;
    else if (m == "plain") h.mechanism = AuthMechanism::plain;
    else if (m == "login") h.mechanism = AuthMechanism::login;
    else if (m == "xoauth2") h.mechanism = AuthMechanism::xoauth2;
    else if (m == "oauthbearer") h.mechanism = AuthMechanism::oauthbearer;
    else r.fail(n, "'auth.mechanism' must be auto, plain, login, xoauth2 or oauthbearer, not '" + m + "'");
    const bool token_mech = h.mechanism == AuthMechanism::xoauth2 || h.mechanism == AuthMechanism::oauthbearer;
    const bool password_mech = h.mechanism == AuthMechanism::plain || h.mechanism == AuthMechanism::login;
    if (token_mech && !a["oauth"])
      r.fail(n, "'auth.mechanism: " + m + "' sends an OAuth access token: it needs 'auth.oauth'");
    if (password_mech && a["oauth"])
      r.fail(n, "'auth.mechanism: " + m + "' sends a password: with 'auth.oauth' use auto, xoauth2 or oauthbearer");
  }
  if (auto n = a["password_file"]) {
    h.password_file = r.str(n, "auth.password_file");
    if (h.password_file.empty() || h.password_file[0] != '/')
      r.fail(n, "'auth.password_file' must be an absolute path");
  }
  if (auto n = a["oauth"]) read_oauth(r, n, h);
  if (auto n = a["allow_plaintext"]) h.allow_plaintext = r.boolean(n, "auth.allow_plaintext");
  if (h.allow_plaintext && h.starttls != StartTls::off && h.protocol == Protocol::smtp)
    r.fail(a["allow_plaintext"], "'auth.allow_plaintext' needs 'starttls: off' (otherwise TLS is used for AUTH)");
}

}  // namespace nullq::config::detail

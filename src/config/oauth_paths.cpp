// Names of the OAuth store and helper program (see include/nullq/oauth.hpp), and the names of the
// auth enums (config.hpp).
#include "nullq/environment.hpp"
#include "nullq/oauth.hpp"
#include "nullq_build_config.h"

namespace nullq {

namespace config {

const char* to_string(AuthMechanism m) {
  switch (m) {
    case AuthMechanism::automatic: return "auto";
    case AuthMechanism::plain: return "plain";
    case AuthMechanism::login: return "login";
    case AuthMechanism::xoauth2: return "xoauth2";
    case AuthMechanism::oauthbearer: return "oauthbearer";
  }
  return "?";
}

const char* to_string(OAuthFlow f) {
  switch (f) {
    case OAuthFlow::none: return "none";
    case OAuthFlow::client_credentials: return "client_credentials";
    case OAuthFlow::refresh_token: return "refresh_token";
    case OAuthFlow::command: return "token_command";
  }
  return "?";
}

const char* to_string(OAuthProvider p) {
  switch (p) {
    case OAuthProvider::generic: return "generic";
    case OAuthProvider::microsoft: return "microsoft";
    case OAuthProvider::google: return "google";
  }
  return "?";
}

}  // namespace config

namespace oauth {

std::string store_name(const config::SmartHost& host) {
  std::string raw = host.host + "_" + std::to_string(host.effective_port()) + "_" + host.auth_user;
  for (char& ch : raw) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                    ch == '@' || ch == '_' || ch == '-';
    if (!ok) ch = '_';
  }
  if (!raw.empty() && raw[0] == '.') raw[0] = '_';
  return raw + ".json";
}

std::string store_path(const config::Config& c, const config::SmartHost& host) {
  return c.state_dir + "/oauth/" + store_name(host);
}

std::string helper_program() {
  return environment::locate("NULLQ_OAUTH_PROGRAM", "nullq-oauth", NULLQ_LIBEXECDIR);
}

}  // namespace oauth

}  // namespace nullq

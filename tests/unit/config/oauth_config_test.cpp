// OAuth keys of a smart host's auth (mechanism, oauth, presets), state_dir, client_secret_file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "nullq/config.hpp"

namespace nullq::config {
namespace {

std::string err(const std::string& yaml) {
  auto c = parse_only(yaml, "nullq.yaml");
  return c.ok() ? std::string() : c.error().detail;
}

// One SMTP smart host on line 2 whose auth mapping is `auth` (flow style).
std::string host(const std::string& auth) {
  return "smarthosts:\n  - {url: 'smtp://smtp.office365.com:587', auth: " + auth + "}\n";
}

Result<SmartHost> one(const std::string& auth) {
  auto c = parse_only(host(auth), "nullq.yaml");
  if (!c.ok()) return c.error();
  return c->smarthosts.at(0);
}

TEST(OAuthConfig, StateDirDefaultAndKey) {
  auto d = parse_only("", "n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state_dir, "/var/lib/nullq");
  auto c = parse_only("state_dir: /srv/nullq/\n", "n");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ(c->state_dir, "/srv/nullq");
  EXPECT_EQ(err("state_dir: var/lib\n"), "nullq.yaml:1: 'state_dir' must be an absolute path");
  EXPECT_EQ(err("state_dri: /x\n"), "nullq.yaml:1: unknown key 'state_dri' \xe2\x80\x94 did you mean 'state_dir'?");
}

TEST(OAuthConfig, MicrosoftClientCredentialsPreset) {
  auto h = one("{user: alerts@example.com, oauth: {provider: microsoft, flow: client_credentials, tenant: "
               "example.onmicrosoft.com, client_id: abc, client_secret_file: /etc/nullq/m365.secret}}");
  ASSERT_TRUE(h.ok()) << h.error().detail;
  EXPECT_EQ(h->auth_user, "alerts@example.com");
  EXPECT_TRUE(h->password_file.empty());
  EXPECT_EQ(h->mechanism, AuthMechanism::automatic);
  const OAuthSettings& o = h->oauth;
  EXPECT_EQ(o.flow, OAuthFlow::client_credentials);
  EXPECT_EQ(o.provider, OAuthProvider::microsoft);
  EXPECT_EQ(o.tenant, "example.onmicrosoft.com");
  EXPECT_EQ(o.client_id, "abc");
  EXPECT_EQ(o.client_secret_file, "/etc/nullq/m365.secret");
  EXPECT_EQ(o.token_url, "https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/token");
  EXPECT_EQ(o.device_url, "https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/devicecode");
  EXPECT_EQ(o.authorize_url, "https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/authorize");
  EXPECT_EQ(o.scope, "https://outlook.office365.com/.default");
  EXPECT_EQ(o.timeout.count(), 30);
  EXPECT_FALSE(o.client_secret) << "parsing never reads the secret";
}

TEST(OAuthConfig, MicrosoftRefreshTokenPresetDefaultsTheTenant) {
  auto h = one("{user: me@example.com, oauth: {provider: microsoft, flow: refresh_token, client_id: abc}}");
  ASSERT_TRUE(h.ok()) << h.error().detail;
  EXPECT_EQ(h->oauth.flow, OAuthFlow::refresh_token);
  EXPECT_EQ(h->oauth.tenant, "organizations");
  EXPECT_EQ(h->oauth.token_url, "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
  EXPECT_EQ(h->oauth.scope, "https://outlook.office.com/SMTP.Send offline_access");
  EXPECT_TRUE(h->oauth.client_secret_file.empty());
}

TEST(OAuthConfig, GooglePreset) {
  auto h = one("{user: me@gmail.com, mechanism: xoauth2, oauth: {provider: google, flow: refresh_token, client_id: "
               "x.apps.googleusercontent.com, client_secret_file: /etc/nullq/g.secret}}");
  ASSERT_TRUE(h.ok()) << h.error().detail;
  EXPECT_EQ(h->mechanism, AuthMechanism::xoauth2);
  EXPECT_EQ(h->oauth.provider, OAuthProvider::google);
  EXPECT_EQ(h->oauth.token_url, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(h->oauth.authorize_url, "https://accounts.google.com/o/oauth2/v2/auth");
  EXPECT_TRUE(h->oauth.device_url.empty());
  EXPECT_EQ(h->oauth.scope, "https://mail.google.com/");
}

TEST(OAuthConfig, KeysGivenOverrideThePreset) {
  auto h = one("{user: u, mechanism: oauthbearer, oauth: {provider: microsoft, flow: refresh_token, client_id: c, "
               "tenant: contoso.onmicrosoft.com, scope: 'a b', token_url: 'https://idp.test:8443/token', device_url: "
               "'https://idp.test/device', authorize_url: 'https://idp.test/authorize', ca_file: /etc/nullq/ca.pem, "
               "timeout: 2m}}");
  ASSERT_TRUE(h.ok()) << h.error().detail;
  EXPECT_EQ(h->mechanism, AuthMechanism::oauthbearer);
  EXPECT_EQ(h->oauth.scope, "a b");
  EXPECT_EQ(h->oauth.token_url, "https://idp.test:8443/token");
  EXPECT_EQ(h->oauth.device_url, "https://idp.test/device");
  EXPECT_EQ(h->oauth.authorize_url, "https://idp.test/authorize");
  EXPECT_EQ(h->oauth.ca_file, "/etc/nullq/ca.pem");
  EXPECT_EQ(h->oauth.timeout.count(), 120);
}

TEST(OAuthConfig, GenericNeedsItsTokenUrl) {
  auto h = one("{user: u, oauth: {flow: client_credentials, client_id: c, client_secret_file: /s, token_url: "
               "'https://idp.example/token', scope: mail}}");
  ASSERT_TRUE(h.ok()) << h.error().detail;
  EXPECT_EQ(h->oauth.provider, OAuthProvider::generic);
  EXPECT_EQ(h->oauth.token_url, "https://idp.example/token");
  EXPECT_EQ(h->oauth.scope, "mail");
  EXPECT_EQ(err(host("{user: u, oauth: {provider: generic, flow: refresh_token, client_id: c}}")),
            "nullq.yaml:2: 'auth.oauth' with provider generic needs 'token_url'");
}

TEST(OAuthConfig, TokenCommand) {
  auto h = one("{user: u, oauth: {token_command: [/usr/bin/oama, access, 'u@example.com'], timeout: 10s}}");
  ASSERT_TRUE(h.ok()) << h.error().detail;
  EXPECT_EQ(h->oauth.flow, OAuthFlow::command);
  EXPECT_EQ(h->oauth.token_command, (std::vector<std::string>{"/usr/bin/oama", "access", "u@example.com"}));
  EXPECT_EQ(h->oauth.timeout.count(), 10);
  EXPECT_TRUE(h->oauth.token_url.empty());
}

TEST(OAuthConfig, EveryErrorIsOneLineWithFileAndLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"{user: u, password_file: /p, oauth: {token_command: [/bin/true]}}",
       "nullq.yaml:2: 'auth' takes 'password_file' or 'oauth', not both"},
      {"{user: u, mechanism: plain, oauth: {token_command: [/bin/true]}}",
       "nullq.yaml:2: 'auth.mechanism: plain' sends a password: with 'auth.oauth' use auto, xoauth2 or oauthbearer"},
      {"{user: u, mechanism: login, oauth: {token_command: [/bin/true]}}",
       "nullq.yaml:2: 'auth.mechanism: login' sends a password: with 'auth.oauth' use auto, xoauth2 or oauthbearer"},
      {"{user: u, mechanism: xoauth2, password_file: /p}",
       "nullq.yaml:2: 'auth.mechanism: xoauth2' sends an OAuth access token: it needs 'auth.oauth'"},
      {"{user: u, mechanism: oauthbearer, password_file: /p}",
       "nullq.yaml:2: 'auth.mechanism: oauthbearer' sends an OAuth access token: it needs 'auth.oauth'"},
      {"{user: u, mechanism: cram-md5, password_file: /p}",
       "nullq.yaml:2: 'auth.mechanism' must be auto, plain, login, xoauth2 or oauthbearer, not 'cram-md5'"},
      {"{user: u, oauth: {flow: refresh_token, token_command: [/bin/true]}}",
       "nullq.yaml:2: 'auth.oauth.flow' and 'auth.oauth.token_command' exclude each other: the command is where "
       "the token comes from"},
      {"{user: u, oauth: {provider: microsoft, flow: client_credentials, tenant: t, client_secret_file: /s}}",
       "nullq.yaml:2: 'auth.oauth' with flow client_credentials needs 'client_id'"},
      {"{user: u, oauth: {provider: microsoft, flow: client_credentials, tenant: t, client_id: c}}",
       "nullq.yaml:2: 'auth.oauth' with flow client_credentials needs 'client_secret_file'"},
      {"{user: u, oauth: {provider: microsoft, flow: client_credentials, client_id: c, client_secret_file: /s}}",
       "nullq.yaml:2: 'auth.oauth' with provider microsoft and flow client_credentials needs 'tenant' (the "
       "directory, e.g. example.onmicrosoft.com)"},
      {"{user: u, oauth: {provider: google, flow: refresh_token, client_id: c, device_url: 'https://x/d'}}",
       "nullq.yaml:2: 'auth.oauth.device_url': Google offers no device flow for mail scopes; `nullq oauth login` "
       "uses the authorization code flow with PKCE (authorize_url)"},
      {"{user: u, oauth: {flow: refresh_token, token_url: 'http://idp.example/token'}}",
       "nullq.yaml:2: 'auth.oauth.token_url' must be an https:// URL, not 'http://idp.example/token'"},
      {"{user: u, oauth: {provider: microsoft, flow: refresh_token, device_url: 'ftp://x'}}",
       "nullq.yaml:2: 'auth.oauth.device_url' must be an https:// URL, not 'ftp://x'"},
      {"{user: u, oauth: {provider: google, flow: refresh_token, authorize_url: 'https://a b'}}",
       "nullq.yaml:2: 'auth.oauth.authorize_url' must be an https:// URL, not 'https://a b'"},
      {"{user: u, oauth: {provider: microsoft, flow: implicit}}",
       "nullq.yaml:2: 'auth.oauth.flow' must be client_credentials or refresh_token, not 'implicit'"},
      {"{user: u, oauth: {provider: yahoo, flow: refresh_token}}",
       "nullq.yaml:2: 'auth.oauth.provider' must be microsoft, google or generic, not 'yahoo'"},
      {"{user: u, oauth: {provider: microsoft}}",
       "nullq.yaml:2: 'auth.oauth' needs 'flow' (client_credentials or refresh_token) or 'token_command'"},
      {"{user: u, oauth: {provider: google, flow: refresh_token, tenant: t}}",
       "nullq.yaml:2: 'auth.oauth.tenant' is only for provider microsoft"},
      {"{user: u, oauth: {provider: microsoft, flow: refresh_token, tenant: 'a/b'}}",
       "nullq.yaml:2: 'auth.oauth.tenant' must be a directory name or ID like example.onmicrosoft.com, not 'a/b'"},
      {"{user: u, oauth: {provider: microsoft, flow: refresh_token, client_secret_file: secret}}",
       "nullq.yaml:2: 'auth.oauth.client_secret_file' must be an absolute path"},
      {"{user: u, oauth: {provider: microsoft, flow: refresh_token, ca_file: ca.pem}}",
       "nullq.yaml:2: 'auth.oauth.ca_file' must be an absolute path"},
      {"{user: u, oauth: {token_command: [oama, access]}}",
       "nullq.yaml:2: 'auth.oauth.token_command' must start with the program's absolute path (no shell, no PATH "
       "search), not 'oama'"},
      {"{user: u, oauth: {token_command: '/usr/bin/oama access'}}",
       "nullq.yaml:2: 'auth.oauth.token_command' must be a list: the program (an absolute path) and its arguments, "
       "e.g. [/usr/bin/oama, access, user@example.com]"},
      {"{user: u, oauth: {token_command: []}}",
       "nullq.yaml:2: 'auth.oauth.token_command' must be a list: the program (an absolute path) and its arguments, "
       "e.g. [/usr/bin/oama, access, user@example.com]"},
      {"{user: u, oauth: {token_command: [/bin/x], timeout: 0s}}",
       "nullq.yaml:2: 'auth.oauth.timeout' must be longer than 0s"},
      {"{user: u, oauth: {token_command: [/bin/x], timeout: 30}}",
       "nullq.yaml:2: 'auth.oauth.timeout': a duration needs a unit (s, m, h, d): 30"},
      {"{user: u, oauth: {provider: microsoft, flow: refresh_token, scope: ''}}",
       "nullq.yaml:2: 'auth.oauth.scope' must be scopes separated by spaces, on one line"},
      {"{user: u, oauth: {provider: microsoft, flow: refresh_token, client_id: ''}}",
       "nullq.yaml:2: 'auth.oauth.client_id' must be a non-empty single line"},
      {"{user: u, oauth: {provider: microsoft, flow: refresh_token, tenatn: x}}",
       "nullq.yaml:2: unknown key 'auth.oauth.tenatn' \xe2\x80\x94 did you mean 'tenant'?"},
      {"{user: u, mechansim: xoauth2, oauth: {token_command: [/bin/x]}}",
       "nullq.yaml:2: unknown key 'auth.mechansim' \xe2\x80\x94 did you mean 'mechanism'?"},
      {"{oauth: {token_command: [/bin/x]}}", "nullq.yaml:2: 'auth' needs 'user'"},
      {"{user: u}", "nullq.yaml:2: 'auth' needs 'password_file' (or 'oauth')"},
      {"{user: u, oauth: [a]}", "nullq.yaml:2: 'auth.oauth' must be a mapping"},
  };
  for (const auto& [auth, want] : cases) EXPECT_EQ(err(host(auth)), want) << auth;
}

TEST(OAuthConfig, TheInjectorIsNotStoppedByOAuthMistakes) {
  auto l = parse_for_injector("admin: ops@example.org\nsmarthosts:\n  - {url: 'smtp://r:587', auth: {user: u, "
                              "oauth: {flow: refresh_token}}}\nstate_dir: relative\n",
                              "nullq.yaml");
  ASSERT_TRUE(l.ok()) << l.error().detail;
  EXPECT_EQ(l->config.admin, "ops@example.org");
  EXPECT_EQ(l->problem, "nullq.yaml:3: 'auth.oauth' with provider generic needs 'token_url'");
  EXPECT_EQ(l->config.state_dir, "/var/lib/nullq");
}

// The OAuth examples in etc/nullq.yaml, uncommented, are a valid configuration.
TEST(OAuthConfig, TheExamplesInEtcParse) {
  const char* root = std::getenv("NULLQ_SOURCE_ROOT");
  ASSERT_NE(root, nullptr);
  std::ifstream f(std::string(root) + "/etc/nullq.yaml");
  std::string line, yaml = "smarthosts:\n";
  bool in = false;
  while (std::getline(f, line)) {
    if (line.rfind("# OAuth 2.0", 0) == 0) in = true;
    if (line.rfind("# SMTP client settings", 0) == 0) in = false;
    if (in && line.rfind("#  ", 0) == 0) yaml += line.substr(1) + "\n";
  }
  auto c = parse_only(yaml, "etc/nullq.yaml");
  ASSERT_TRUE(c.ok()) << c.error().detail << "\n" << yaml;
  ASSERT_EQ(c->smarthosts.size(), 3u) << yaml;
  EXPECT_EQ(c->smarthosts[0].oauth.flow, OAuthFlow::client_credentials);
  EXPECT_EQ(c->smarthosts[0].oauth.provider, OAuthProvider::microsoft);
  EXPECT_EQ(c->smarthosts[1].oauth.provider, OAuthProvider::google);
  EXPECT_EQ(c->smarthosts[2].oauth.flow, OAuthFlow::command);
}

class ClientSecret : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nullq-csecret-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/client.secret";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  Config with_file(const std::string& text, mode_t mode) {
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
    auto c = parse_only("smarthosts:\n  - {url: 'smtp://r:587', auth: {user: u, oauth: {provider: microsoft, flow: "
                        "client_credentials, tenant: t, client_id: c, client_secret_file: " +
                            path_ + "}}}\n",
                        "n");
    EXPECT_TRUE(c.ok()) << c.error().detail;
    return *c;
  }
  std::string dir_, path_;
};

TEST_F(ClientSecret, ReadByLoadSecretsAsAPasswordFileIs) {
  Config c = with_file("s3cr3t~value\n", 0600);
  ASSERT_TRUE(load_secrets(c).ok());
  ASSERT_TRUE(c.smarthosts[0].oauth.client_secret);
  EXPECT_EQ(*c.smarthosts[0].oauth.client_secret, "s3cr3t~value");
  EXPECT_FALSE(c.smarthosts[0].password) << "no password_file, no password";
}

TEST_F(ClientSecret, TheSameRulesAndTheKeyIsNamed) {
  Config c = with_file("s3cr3t\n", 0644);
  auto s = load_secrets(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().detail, "smtp://r:587: client_secret_file " + path_ +
                                  ": others may read or write it (mode 0644); run chmod o-rwx " + path_);
  EXPECT_FALSE(c.smarthosts[0].oauth.client_secret);
  c = with_file("a\nb\n", 0600);
  s = load_secrets(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().detail, "smtp://r:587: client_secret_file " + path_ + ": must hold one line, the client secret");
  EXPECT_EQ(s.error().detail.find("a\nb"), std::string::npos);
  ::unlink(path_.c_str());
  s = load_secrets(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().detail.find("client_secret_file " + path_ + ": No such file or directory"), std::string::npos);
}

}  // namespace
}  // namespace nullq::config

// The shared set-up of the OAuth end-to-end tests (see oauth_fixture.hpp).
#include "oauth_fixture.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>

namespace nullq::send::it {

void SendOAuth::SetUp() {
  const std::string dir = s.dir.path() + "/certs";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  auto c = testhost::make_certs(dir);
  ASSERT_TRUE(c.ok()) << c.error().message();
  certs = *c;

  testhost::IdpOptions io;
  io.cert_file = certs.server_cert;
  io.key_file = certs.server_key;
  io.clients = {{"app", kClientSecret}};
  io.token_lifetime = 3600;
  auto i = testhost::Idp::start(io);
  ASSERT_TRUE(i.ok()) << i.error().message();
  idp = std::move(i).value();

  testhost::Options o;
  o.qmtp = o.qmqp = false;
  o.smtp = true;
  o.caps.starttls = true;
  o.cert_file = certs.server_cert;
  o.key_file = certs.server_key;
  testhost::Idp* p = idp.get();
  o.oauth_check = [p](std::string_view user, std::string_view token) -> std::string {
    if (user != kUser) return "invalid_token";
    if (token == kCommandToken) return "";
    return p->check_token(user, token);
  };
  auto h = testhost::Server::start(std::move(o));
  ASSERT_TRUE(h.ok()) << h.error().message();
  host = std::move(h).value();

  state = s.dir.path() + "/state";
  ASSERT_EQ(::mkdir(state.c_str(), 0755), 0);
  secret_file = s.dir.path() + "/client.secret";
  write_file(secret_file, kClientSecret + "\n");
  ASSERT_EQ(::chmod(secret_file.c_str(), 0640), 0);
}

void SendOAuth::TearDown() {
  // The SMTP side asks the IdP: it goes first.
  host.reset();
  idp.reset();
}

std::string SendOAuth::smtp_url() const { return "smtp://127.0.0.1:" + std::to_string(host->smtp_port()); }

std::string SendOAuth::host_line(const std::string& oauth, const std::string& auth_extra,
                                 const std::string& extra) const {
  return "{url: '" + smtp_url() + "', starttls: required, tls: {ca_file: " + certs.ca_cert + "}" + extra +
         ", auth: {user: " + kUser + ", " + auth_extra + "oauth: {" + oauth + "}}}";
}

std::string SendOAuth::client_credentials() const {
  return "provider: generic, flow: client_credentials, token_url: '" + idp->url("/token") +
         "', client_id: app, client_secret_file: " + secret_file + ", scope: mail, ca_file: " + certs.ca_cert +
         ", timeout: 10s";
}

std::string SendOAuth::refresh_token() const {
  return "provider: generic, flow: refresh_token, token_url: '" + idp->url("/token") +
         "', client_id: app, client_secret_file: " + secret_file + ", scope: 'mail offline_access', ca_file: " +
         certs.ca_cert + ", timeout: 10s";
}

std::string SendOAuth::token_command(const std::string& script, const std::string& timeout) const {
  return "token_command: [" + script + "], timeout: " + timeout;
}

void SendOAuth::configure(const std::string& line, const std::string& queue_extra, const std::string& extra_yaml) {
  s.write_config({line}, "state_dir: " + state + "\n" + extra_yaml, queue_extra);
}

std::string SendOAuth::store() const {
  return state + "/oauth/127.0.0.1_" + std::to_string(host->smtp_port()) + "_" + kUser + ".json";
}

void SendOAuth::seed_store(const std::string& refresh_token) {
  ::mkdir((state + "/oauth").c_str(), 0700);
  write_file(store(), "{\"refresh_token\": \"" + refresh_token +
                          "\", \"obtained\": 1, \"last_refresh\": 1, \"last_result\": \"ok\", \"expires\": 1}\n");
  ::chmod(store().c_str(), 0600);
}

std::string SendOAuth::stored_refresh_token() const {
  const std::string text = read_file(store());
  const std::string key = "\"refresh_token\":";
  std::size_t at = text.find(key);
  if (at == std::string::npos) return "";
  at = text.find('"', at + key.size());
  if (at == std::string::npos) return "";
  const std::size_t end = text.find('"', at + 1);
  return end == std::string::npos ? "" : text.substr(at + 1, end - at - 1);
}

std::string SendOAuth::script(const std::string& name, const std::string& body) const {
  const std::string path = s.dir.path() + "/" + name;
  write_file(path, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  return path;
}

std::unique_ptr<Child> SendOAuth::daemon(const std::string& log, const std::vector<std::string>& env) const {
  return std::make_unique<Child>(std::vector<std::string>{bin_dir() + "/nullq-send", "--stderr", "--config", s.config},
                                 env, log);
}

int SendOAuth::stop(Child& d) const {
  d.signal(SIGTERM);
  int status = -1;
  if (!d.wait(std::chrono::seconds(20), status)) return -1;
  return status;
}

std::vector<std::string> SendOAuth::delivered_to() const {
  std::vector<std::string> out;
  for (const auto& m : host->received())
    for (const auto& r : m.recipients) out.push_back(r);
  return out;
}

bool SendOAuth::delivered(const std::string& rcpt) const {
  for (const auto& r : delivered_to())
    if (r == rcpt) return true;
  return false;
}

unsigned SendOAuth::attempts(const std::string& name) {
  const auto c1 = name.find(','), c2 = name.rfind(',');
  if (c1 == std::string::npos || c2 == c1) return 999;
  return static_cast<unsigned>(std::stoul(name.substr(c1 + 1, c2 - c1 - 1)));
}

std::string SendOAuth::queue_text() const {
  std::string all;
  for (const char* d : {"/queue/", "/new/", "/failed/", "/tmp/"})
    for (const auto& f : list_dir(s.spool + d)) all += read_file(s.spool + d + f);
  return all;
}

}  // namespace nullq::send::it

// fixture.hpp — a test identity provider, its certificates and a state directory for the
// nullq-oauth tests, plus the request, store and browser helpers they share.
//
// Purpose:   every oauth integration test starts from the same place: an IdP on 127.0.0.1:0 with
//            a confidential client ("app") and a public one ("public"), an empty state directory.
// Trust:     test code only.
// Errors:    set-up failures fail the test.
// Threading: test thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nullq/testcerts.hpp"
#include "nullq/testhost_idp.hpp"
#include "process.hpp"

namespace nullq::testing {

inline const std::string client_secret = "CLIENT-SECRET-7f3a91";

// One plain HTTP GET to nullq-oauth's loopback listener (the PKCE redirect), as the browser
// does; the answer.
inline std::string browser_get(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string in;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n";
    (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return in;
}

class OAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = nullq::testhost::make_certs(dir_.path());
    ASSERT_TRUE(made) << made.error().message();
    certs_ = *made;
    nullq::testhost::IdpOptions o;
    o.cert_file = certs_.server_cert;
    o.key_file = certs_.server_key;
    o.clients = {{"app", client_secret}, {"public", ""}};
    o.token_lifetime = 300;
    auto idp = nullq::testhost::Idp::start(o);
    ASSERT_TRUE(idp) << idp.error().message();
    idp_ = std::move(*idp);
    ::mkdir((dir_ / "state").c_str(), 0755);
    store_ = dir_ / "state/oauth/smtp.example.com_587_me_example.com.json";
  }

  // A `token` request; adjust fields before dump().
  nlohmann::json token_request(const std::string& flow) const {
    return {{"flow", flow}, {"token_url", idp_->url("/token")}, {"client_id", "app"},
            {"client_secret", client_secret}, {"scope", "https://outlook.office.com/SMTP.Send offline_access"},
            {"ca_file", certs_.ca_cert}, {"store", store_}, {"timeout", 20}};
  }
  // A `login` request for the public client.
  nlohmann::json login_request(const std::string& how) const {
    return {{"login", how}, {"token_url", idp_->url("/token")}, {"device_url", idp_->url("/devicecode")},
            {"authorize_url", idp_->url("/authorize")}, {"client_id", "public"}, {"scope", "mail offline_access"},
            {"ca_file", certs_.ca_cert}, {"store", store_}, {"user", "me@example.com"}, {"timeout", 20}};
  }
  // Writes a store holding `refresh_token` (the directory made 0700 as nullq would).
  void seed_store(const std::string& refresh_token) {
    ::mkdir((dir_ / "state/oauth").c_str(), 0700);
    nlohmann::json j = {{"refresh_token", refresh_token}, {"obtained", 1}, {"last_refresh", 1},
                        {"last_result", "ok"}, {"expires", 1}};
    dir_.write("state/oauth/smtp.example.com_587_me_example.com.json", j.dump());
  }
  nlohmann::json read_store() const {
    auto j = nlohmann::json::parse(nullq::testing::read_file(store_), nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
  }

  TempDir dir_;
  nullq::testhost::CertFiles certs_;
  std::unique_ptr<nullq::testhost::Idp> idp_;
  std::string store_;
};

}  // namespace nullq::testing

// `nullq-oauth login`, the real program, against the test identity provider: the device grant
// (pending, slow_down, denied, expired) and the authorization code grant with PKCE, its redirect
// taken on the loopback port or pasted, with `state` checked.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "child.hpp"
#include "fixture.hpp"

namespace nullq::testing {

namespace {

ChildOptions login_options(const nlohmann::json& request) {
  ChildOptions o;
  o.has_fd3 = true;
  o.fd3_text = request.dump();
  o.close_stdin = false;
  return o;
}

struct Printed {
  std::string authorize_query;
  int port = 0;
};

// Reads the authorize address and the loopback port the program printed.
Printed printed(Child& c, const std::string& authorize_url) {
  Printed p;
  if (!c.wait_for_output("the address it was sent to:\n")) return p;
  std::size_t at = c.out.find(authorize_url + "?");
  if (at == std::string::npos) return p;
  std::string line = c.out.substr(at, c.out.find('\n', at) - at);
  p.authorize_query = line.substr(authorize_url.size() + 1);
  std::size_t port_at = c.out.find("127.0.0.1 port ");
  if (port_at != std::string::npos) p.port = std::stoi(c.out.substr(port_at + 15));
  return p;
}

// The redirect address with its state replaced.
std::string with_state(std::string location, const std::string& state) {
  std::size_t at = location.find("state=");
  return location.substr(0, at) + "state=" + state;
}

std::string path_of(const std::string& location) {  // "http://127.0.0.1:N/?..." -> "/?..."
  return location.substr(location.find('/', 7));
}

using LoginTest = OAuthTest;

TEST_F(LoginTest, DeviceGrantPollsThroughPendingAndStoresTheRefreshToken) {
  idp_->set_device_script({"authorization_pending", "authorization_pending", "approve"});
  Child c({program("nullq-oauth"), "login"}, login_options(login_request("device")));
  EXPECT_EQ(c.wait(), 0) << c.err;
  EXPECT_NE(c.out.find("open " + idp_->url("/device") + " and enter the code "), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("refresh token is stored in " + store_), std::string::npos) << c.out;
  EXPECT_EQ(idp_->count("urn:ietf:params:oauth:grant-type:device_code"), 3u);
  nlohmann::json s = read_store();
  std::string rt = s.value("refresh_token", "");
  EXPECT_TRUE(idp_->refresh_token_live(rt));
  EXPECT_EQ(s.value("last_result", ""), "ok");
  EXPECT_GT(s.value("obtained", 0LL), 0LL);
  EXPECT_EQ(mode_of(store_), 0600u);
  EXPECT_EQ(mode_of(dir_ / "state/oauth"), 0700u);
  EXPECT_EQ(c.out.find(rt), std::string::npos);
  EXPECT_EQ(c.err, "");
}

TEST_F(LoginTest, DeviceGrantSlowDownWaitsLongerAndStillSucceeds) {
  idp_->set_device_script({"slow_down", "approve"});
  Child c({program("nullq-oauth"), "login"}, login_options(login_request("device")));
  EXPECT_EQ(c.wait(std::chrono::seconds(40)), 0) << c.err;
  EXPECT_EQ(idp_->count("urn:ietf:params:oauth:grant-type:device_code"), 2u);
  EXPECT_EQ(idp_->count("too_fast"), 0u) << "the poll after slow_down came sooner than 5 seconds";
  EXPECT_TRUE(idp_->refresh_token_live(read_store().value("refresh_token", "")));
}

TEST_F(LoginTest, DeviceGrantStopsOnAccessDeniedAndExpiredToken) {
  for (std::string end : {"access_denied", "expired_token"}) {
    idp_->set_device_script({"authorization_pending", end, "approve"});
    std::size_t before = idp_->count("urn:ietf:params:oauth:grant-type:device_code");
    Child c({program("nullq-oauth"), "login"}, login_options(login_request("device")));
    EXPECT_EQ(c.wait(), 1) << end << ": " << c.err;
    EXPECT_NE(c.err.find(end), std::string::npos) << c.err;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
    EXPECT_EQ(idp_->count("urn:ietf:params:oauth:grant-type:device_code") - before, 2u) << "polled on after " << end;
    EXPECT_EQ(read_file(store_), "") << "nothing stored";
  }
}

TEST_F(LoginTest, DeviceGrantGivesUpWhenTheCodeExpiresWhilePending) {
  idp_->set_device_script({"authorization_pending"});
  // expires_in 600 from the IdP, but the admin's own limit is 1 second and the interval 0: the
  // program must stop polling by itself.
  nlohmann::json r = login_request("device");
  r["login_timeout"] = 1;
  Child c({program("nullq-oauth"), "login"}, login_options(r));
  EXPECT_EQ(c.wait(), 1) << c.err;
  EXPECT_NE(c.err.find("expired_token"), std::string::npos) << c.err;
}

TEST_F(LoginTest, UnreachableProviderExits75AndBadRequestExits64) {
  idp_->set_unavailable(true);
  Child c({program("nullq-oauth"), "login"}, login_options(login_request("device")));
  EXPECT_EQ(c.wait(), 75) << c.err;
  EXPECT_NE(c.err.find("http_503"), std::string::npos) << c.err;
  nlohmann::json r = login_request("device");
  r["device_url"] = "http://127.0.0.1:1/devicecode";
  Child bad({program("nullq-oauth"), "login"}, login_options(r));
  EXPECT_EQ(bad.wait(), 64) << bad.err;
  EXPECT_NE(bad.err.find("device_url must be an https:// URL"), std::string::npos) << bad.err;
  Child no_fd3({program("nullq-oauth"), "login"}, ChildOptions{});
  EXPECT_EQ(no_fd3.wait(), 64) << no_fd3.err;
  EXPECT_NE(no_fd3.err.find("file descriptor 3"), std::string::npos) << no_fd3.err;
}

TEST_F(LoginTest, PkceThroughTheLoopbackPortRefusesAWrongStateAndStoresTheRightOne) {
  Child c({program("nullq-oauth"), "login"}, login_options(login_request("pkce")));
  Printed p = printed(c, idp_->url("/authorize"));
  ASSERT_GT(p.port, 0) << c.out;
  EXPECT_NE(p.authorize_query.find("code_challenge_method=S256"), std::string::npos);
  EXPECT_NE(p.authorize_query.find("login_hint=me%40example.com"), std::string::npos);
  // While it waits: no secret or request in its command line or environment.
  for (const char* what : {"cmdline", "environ"}) {
    std::string text = read_file("/proc/" + std::to_string(c.pid()) + "/" + what);
    EXPECT_EQ(text.find("client_id"), std::string::npos) << what;
    EXPECT_EQ(text.find(certs_.ca_cert), std::string::npos) << what;
  }
  auto location = idp_->authorize(p.authorize_query);
  ASSERT_TRUE(location) << location.error().message();
  EXPECT_EQ(location->rfind("http://127.0.0.1:" + std::to_string(p.port) + "/?code=", 0), 0u) << *location;
  std::string forged = browser_get(p.port, path_of(with_state(*location, "forged")));
  EXPECT_EQ(forged.rfind("HTTP/1.1 400", 0), 0u) << forged;
  EXPECT_TRUE(c.wait_for_error("state does not match"));
  EXPECT_EQ(browser_get(p.port, "/favicon.ico").rfind("HTTP/1.1 400", 0), 0u);
  std::string good = browser_get(p.port, path_of(*location));
  EXPECT_EQ(good.rfind("HTTP/1.1 200", 0), 0u) << good;
  EXPECT_EQ(c.wait(), 0) << c.err;
  EXPECT_EQ(idp_->count("authorization_code"), 1u) << "the forged redirect's code was exchanged";
  std::string rt = read_store().value("refresh_token", "");
  EXPECT_TRUE(idp_->refresh_token_live(rt));
  EXPECT_EQ(mode_of(store_), 0600u);
  EXPECT_EQ(c.out.find(rt), std::string::npos);
}

TEST_F(LoginTest, PkceThroughAPastedAddressRefusesAWrongStateAndStoresTheRightOne) {
  Child c({program("nullq-oauth"), "login"}, login_options(login_request("pkce")));
  Printed p = printed(c, idp_->url("/authorize"));
  ASSERT_FALSE(p.authorize_query.empty()) << c.out;
  auto location = idp_->authorize(p.authorize_query);
  ASSERT_TRUE(location);
  c.write_stdin(with_state(*location, "forged") + "\n");
  EXPECT_TRUE(c.wait_for_error("state does not match"));
  c.write_stdin("not an address\n");
  EXPECT_TRUE(c.wait_for_error("neither code nor error"));
  c.write_stdin(*location + "\r\n");
  EXPECT_EQ(c.wait(), 0) << c.err;
  EXPECT_EQ(idp_->count("authorization_code"), 1u);
  EXPECT_TRUE(idp_->refresh_token_live(read_store().value("refresh_token", "")));
}

TEST_F(LoginTest, PkceRefusedByTheProviderExits1) {
  idp_->set_auto_approve(false);
  Child c({program("nullq-oauth"), "login"}, login_options(login_request("pkce")));
  Printed p = printed(c, idp_->url("/authorize"));
  auto location = idp_->authorize(p.authorize_query);
  ASSERT_TRUE(location);
  c.write_stdin(*location + "\n");
  EXPECT_EQ(c.wait(), 1) << c.err;
  EXPECT_NE(c.err.find("access_denied"), std::string::npos) << c.err;
  EXPECT_EQ(idp_->count("authorization_code"), 0u);
  EXPECT_EQ(read_file(store_), "");
}

}  // namespace

}  // namespace nullq::testing

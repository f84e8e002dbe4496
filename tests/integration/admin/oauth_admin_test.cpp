// `nullq oauth login HOST`, `nullq oauth status` and `nullq check` with an OAuth smart host: the real
// nullq and nullq-oauth programs against the test identity provider (testhost::Idp, HTTPS with the
// test CA) and the test SMTP host (STARTTLS, XOAUTH2 checked against the IdP's live tokens), both
// in-process on 127.0.0.1. The store is looked at as a file; the client secret and the tokens must
// never appear in what nullq prints.
// OAuthAdminAsRoot: a spool that belongs to another user; the store login makes is that user's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "../oauth/child.hpp"
#include "../oauth/fixture.hpp"
#include "nullq/queue.hpp"
#include "nullq/testhost.hpp"

namespace nullq::testing {

namespace {

bool contains(const std::string& s, const std::string& p) { return s.find(p) != std::string::npos; }

struct Owner {
  uid_t uid = 9999;
  gid_t gid = 9999;
};
Owner owner_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  return {st.st_uid, st.st_gid};
}

enum class Login { device, pkce, none };

class OAuthAdmin : public OAuthTest {
 protected:
  void SetUp() override {
    OAuthTest::SetUp();
    if (HasFatalFailure()) return;
    nullq::testhost::Options o;
    o.qmtp = o.qmqp = false;
    o.smtp = true;
    o.caps.starttls = true;
    o.caps.auth = true;
    o.cert_file = certs_.server_cert;
    o.key_file = certs_.server_key;
    auto* idp = idp_.get();
    o.oauth_check = [idp](std::string_view user, std::string_view token) { return idp->check_token(user, token); };
    auto h = nullq::testhost::Server::start(std::move(o));
    ASSERT_TRUE(h.ok()) << h.error().message();
    host_ = std::move(h).value();
    dir_.write("app.secret", client_secret + "\n");
    ASSERT_EQ(::chmod((dir_ / "app.secret").c_str(), 0600), 0);
    ASSERT_TRUE(nullq::queue::ensure_spool(nullq::queue::Spool{dir_ / "spool"}).ok());
    store_ = dir_ / ("state/oauth/127.0.0.1_" + std::to_string(host_->smtp_port()) + "_me@example.com.json");
    config(Login::device);
  }

  // nullq.yaml: the SMTP test host as 127.0.0.1 with flow refresh_token for me@example.com (the
  // confidential client "app"), logging in by `how`; with `cc_host`, also a client_credentials
  // smart host named localhost.
  void config(Login how, bool cc_host = false) {
    const std::string port = std::to_string(host_->smtp_port());
    std::string oauth = "{provider: generic, flow: refresh_token, client_id: app, client_secret_file: " +
                        (dir_ / "app.secret") + ", scope: 'mail offline_access', token_url: '" + idp_->url("/token") +
                        "', ca_file: " + certs_.ca_cert;
    if (how == Login::device) oauth += ", device_url: '" + idp_->url("/devicecode") + "'";
    if (how == Login::pkce) oauth += ", authorize_url: '" + idp_->url("/authorize") + "'";
    oauth += "}";
    std::string text = "hostname: box.example.org\nstate_dir: " + (dir_ / "state") +
                       "\nsmarthosts:\n  - {url: 'smtp://127.0.0.1:" + port + "', starttls: required, tls: {ca_file: " +
                       certs_.ca_cert + "}, auth: {user: me@example.com, oauth: " + oauth + "}}\n";
    if (cc_host) text += cc_entry("localhost");
    text += "queue:\n  dir: " + (dir_ / "spool") + "\n";
    dir_.write("nullq.yaml", text);
  }
  // A smart host line for the test host as `name`, flow client_credentials for app@example.com.
  std::string cc_entry(const std::string& name) const {
    return "  - {url: 'smtp://" + name + ":" + std::to_string(host_->smtp_port()) +
           "', starttls: required, tls: {ca_file: " + certs_.ca_cert +
           "}, auth: {user: app@example.com, oauth: {provider: generic, flow: client_credentials, client_id: app, "
           "client_secret_file: " + (dir_ / "app.secret") + ", scope: mail, token_url: '" + idp_->url("/token") +
           "', ca_file: " + certs_.ca_cert + "}}}\n";
  }
  nullq::testing::Run nullq(std::vector<std::string> args) {
    RunOptions o;
    o.env = env_;
    o.env["NULLQ_CONFIG"] = dir_ / "nullq.yaml";
    o.close_stdin = true;  // as from some job runners: nullq must not take a later socket as fd 0
    args.insert(args.begin(), program("nullq"));
    return run(args, o);
  }
  // What nullq printed holds neither the client secret nor a token the IdP issued.
  void nothing_secret_in(const nullq::testing::Run& r) {
    EXPECT_FALSE(contains(r.out + r.err, client_secret)) << r.out << r.err;
    std::string rt = read_store().value("refresh_token", "");
    if (!rt.empty()) {
      EXPECT_FALSE(contains(r.out + r.err, rt)) << r.out << r.err;
    }
  }
  // A store at store_ holding `refresh_token`, as a login leaves it.
  void seed(const std::string& refresh_token) {
    ::mkdir((dir_ / "state/oauth").c_str(), 0700);
    nlohmann::json j = {{"refresh_token", refresh_token}, {"obtained", 1}, {"last_refresh", 1},
                        {"last_result", "ok"}, {"expires", 1}};
    dir_.write(store_.substr(dir_.path().size() + 1), j.dump());
  }
  std::string login_line() const { return "nullq oauth login 127.0.0.1"; }
  std::string label() const { return "smtp://127.0.0.1:" + std::to_string(host_->smtp_port()); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(host_->smtp_port()); }

  std::unique_ptr<nullq::testhost::Server> host_;
  std::map<std::string, std::string> env_;
};

TEST_F(OAuthAdmin, DeviceLoginStoresTheRefreshTokenThenStatusAndCheckAuthenticate) {
  idp_->set_device_script({"authorization_pending", "approve"});
  auto r = nullq({"oauth", "login", "127.0.0.1"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "open " + idp_->url("/device") + " and enter the code ")) << r.out;
  EXPECT_TRUE(contains(r.out, "refresh token is stored in " + store_)) << r.out;
  EXPECT_EQ(idp_->count("urn:ietf:params:oauth:grant-type:device_code"), 2u);
  const std::string rt = read_store().value("refresh_token", "");
  EXPECT_TRUE(idp_->refresh_token_live(rt)) << read_file(store_);
  EXPECT_EQ(mode_of(store_), 0600u);
  EXPECT_EQ(mode_of(dir_ / "state/oauth"), 0700u);
  nothing_secret_in(r);

  auto s = nullq({"oauth", "status"});
  EXPECT_EQ(s.code, 0) << s.out << s.err;
  EXPECT_TRUE(contains(s.out, label() + ": OAuth refresh_token (generic): refresh token from ")) << s.out;
  EXPECT_TRUE(contains(s.out, label() + ": " + addr() + " AUTH as me@example.com: ok\n")) << s.out;
  EXPECT_TRUE(contains(s.out, "nullq oauth status: OK\n")) << s.out;
  nothing_secret_in(s);

  auto c = nullq({"check"});
  EXPECT_EQ(c.code, 0) << c.out << c.err;
  EXPECT_TRUE(contains(c.out, label() + ": OAuth refresh_token (generic): refresh token from ")) << c.out;
  EXPECT_TRUE(contains(c.out, label() + ": " + addr() + " AUTH as me@example.com: ok\n")) << c.out;
  EXPECT_TRUE(contains(c.out, "nullq check: OK")) << c.out;
  nothing_secret_in(c);
  ASSERT_TRUE(host_->wait_for_closed(2, std::chrono::seconds(10)));
  auto conns = host_->smtp_connections();
  ASSERT_EQ(conns.size(), 2u);
  for (const auto& cn : conns) {
    EXPECT_TRUE(cn.tls);
    EXPECT_EQ(cn.auth_mechanism, "XOAUTH2");
    EXPECT_EQ(cn.auth_user, "me@example.com");
  }
  EXPECT_TRUE(host_->received().empty()) << "neither sends mail";
}

TEST_F(OAuthAdmin, PkceLoginThroughTheLoopbackPortRefusesAWrongState) {
  config(Login::pkce);
  ::setenv("NULLQ_CONFIG", (dir_ / "nullq.yaml").c_str(), 1);
  ChildOptions co;
  co.close_stdin = false;
  Child c({program("nullq"), "oauth", "login", "127.0.0.1"}, co);
  const std::string authorize = idp_->url("/authorize");
  ASSERT_TRUE(c.wait_for_output("the address it was sent to:\n")) << c.out << c.err;
  std::size_t at = c.out.find(authorize + "?");
  ASSERT_NE(at, std::string::npos) << c.out;
  const std::string query = c.out.substr(at + authorize.size() + 1, c.out.find('\n', at) - at - authorize.size() - 1);
  std::size_t port_at = c.out.find("127.0.0.1 port ");
  ASSERT_NE(port_at, std::string::npos) << c.out;
  const int port = std::stoi(c.out.substr(port_at + 15));
  auto location = idp_->authorize(query);
  ASSERT_TRUE(location) << location.error().message();
  const std::string path = location->substr(location->find('/', 7));
  const std::string forged = path.substr(0, path.find("state=")) + "state=forged";
  EXPECT_EQ(browser_get(port, forged).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_TRUE(c.wait_for_error("state does not match")) << c.err;
  EXPECT_EQ(browser_get(port, path).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(c.wait(), 0) << c.out << c.err;
  ::unsetenv("NULLQ_CONFIG");
  EXPECT_EQ(idp_->count("authorization_code"), 1u) << "the forged redirect's code was exchanged";
  const std::string rt = read_store().value("refresh_token", "");
  EXPECT_TRUE(idp_->refresh_token_live(rt));
  EXPECT_EQ(mode_of(store_), 0600u);
  EXPECT_FALSE(contains(c.out + c.err, rt));
  EXPECT_FALSE(contains(c.out + c.err, client_secret));
}

TEST_F(OAuthAdmin, LoginRefusesAnUnknownHostAndAClientCredentialsHost) {
  config(Login::device, true);
  auto r = nullq({"oauth", "login", "mail.example.net"});
  EXPECT_EQ(r.code, 64) << r.out << r.err;
  EXPECT_EQ(r.err,
            "nullq: no smart host with auth.oauth is 'mail.example.net' (OAuth smart hosts: 127.0.0.1, localhost)\n");
  auto cc = nullq({"oauth", "login", "localhost"});
  EXPECT_EQ(cc.code, 64) << cc.out << cc.err;
  EXPECT_TRUE(contains(cc.err, "uses client_credentials: there is nothing to log in to")) << cc.err;
  EXPECT_EQ(std::count(cc.err.begin(), cc.err.end(), '\n'), 1) << cc.err;
  EXPECT_EQ(idp_->connections(), 0u);
  EXPECT_FALSE(std::filesystem::exists(store_));
}

TEST_F(OAuthAdmin, LoginDeniedExits1WithOneLineAndProviderDownExits75) {
  idp_->set_device_script({"authorization_pending", "access_denied"});
  auto r = nullq({"oauth", "login", "127.0.0.1"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(contains(r.err, "access_denied")) << r.err;
  EXPECT_EQ(read_file(store_), "") << "nothing stored";
  nothing_secret_in(r);
  idp_->set_unavailable(true);
  auto down = nullq({"oauth", "login", "127.0.0.1"});
  EXPECT_EQ(down.code, 75) << down.out << down.err;
  EXPECT_EQ(std::count(down.err.begin(), down.err.end(), '\n'), 1) << down.err;
  EXPECT_TRUE(contains(down.err, "http_503")) << down.err;
  nothing_secret_in(down);
}

TEST_F(OAuthAdmin, StatusWithoutAStoreOrWithARevokedTokenSaysToLogIn) {
  auto none = nullq({"oauth", "status"});
  EXPECT_EQ(none.code, 1) << none.out << none.err;
  EXPECT_TRUE(contains(none.out, label() + ": OAuth refresh_token (generic): no refresh token yet: run " +
                                     login_line() + "\n"))
      << none.out;
  EXPECT_TRUE(contains(none.out, "AUTH as me@example.com: not done\n")) << none.out;
  EXPECT_TRUE(contains(none.out, "nullq oauth status: 1 problem(s)\n")) << none.out;
  nothing_secret_in(none);

  const std::string rt = idp_->issue_refresh_token("app");
  seed(rt);
  idp_->revoke_refresh_token(rt);
  auto revoked = nullq({"oauth", "status"});
  EXPECT_EQ(revoked.code, 1) << revoked.out << revoked.err;
  EXPECT_TRUE(contains(revoked.out, "invalid_grant: the refresh token for 127.0.0.1 was revoked or expired; run: " +
                                        login_line() + "\n"))
      << revoked.out;
  EXPECT_TRUE(contains(revoked.out, "AUTH as me@example.com: not done\n")) << revoked.out;
  EXPECT_FALSE(contains(revoked.out + revoked.err, rt));
  nothing_secret_in(revoked);
  for (const auto& cn : host_->smtp_connections()) EXPECT_EQ(cn.auth_attempts, 0u) << "AUTH without a token";
}

TEST_F(OAuthAdmin, CheckWithARevokedRefreshTokenExits1AndNamesTheFix) {
  const std::string rt = idp_->issue_refresh_token("app");
  seed(rt);
  idp_->revoke_refresh_token(rt);
  auto c = nullq({"check"});
  EXPECT_EQ(c.code, 1) << c.out << c.err;
  EXPECT_TRUE(contains(c.out, "invalid_grant: the refresh token for 127.0.0.1 was revoked or expired; run: " +
                                  login_line() + "\n"))
      << c.out;
  EXPECT_TRUE(contains(c.out, "AUTH as me@example.com: not done\n")) << c.out;
  EXPECT_TRUE(contains(c.out, "nullq check: ")) << c.out;
  EXPECT_FALSE(contains(c.out, "nullq check: OK")) << c.out;
  EXPECT_FALSE(contains(c.out + c.err, rt));
  nothing_secret_in(c);
}

TEST_F(OAuthAdmin, CheckWithClientCredentialsAuthenticates) {
  dir_.write("nullq.yaml", "hostname: box.example.org\nstate_dir: " + (dir_ / "state") + "\nsmarthosts:\n" +
                               cc_entry("127.0.0.1") + "queue:\n  dir: " + (dir_ / "spool") + "\n");
  auto c = nullq({"check"});
  EXPECT_EQ(c.code, 0) << c.out << c.err;
  EXPECT_TRUE(contains(c.out, label() + ": OAuth client_credentials (generic): ")) << c.out;
  EXPECT_TRUE(contains(c.out, label() + ": " + addr() + " AUTH as app@example.com: ok\n")) << c.out;
  EXPECT_TRUE(contains(c.out, "nullq check: OK")) << c.out;
  EXPECT_EQ(idp_->count("client_credentials"), 1u);
  nothing_secret_in(c);
  ASSERT_TRUE(host_->wait_for_closed(1, std::chrono::seconds(10)));
  auto conns = host_->smtp_connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].auth_mechanism, "XOAUTH2");
}

// As root, with a spool that belongs to nobody: login makes the store directory and the store as
// the spool's user, so that nullq-send (running as that user) can rewrite it.
TEST_F(OAuthAdmin, LoginAsRootLeavesTheStoreToTheSpoolsOwner) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  NULLQ_SKIP_UNLESS_OTHERS_CAN_RUN_PROGRAMS();
  constexpr uid_t nobody = 65534;
  ProgramCopies copies({"nullq-oauth"});
  ASSERT_TRUE(copies.ok());
  // The configuration, the secret, the CA and the spool's parent must be reachable after the switch.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(certs_.ca_cert.c_str(), 0644), 0) << certs_.ca_cert;
  ASSERT_EQ(::chown((dir_ / "app.secret").c_str(), nobody, nobody), 0);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "spool"))
    ASSERT_EQ(::lchown(e.path().c_str(), nobody, nobody), 0);
  ASSERT_EQ(::chown((dir_ / "spool").c_str(), nobody, nobody), 0);
  env_["NULLQ_OAUTH_PROGRAM"] = copies("nullq-oauth");
#if defined(__SANITIZE_ADDRESS__)
  env_["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1";  // no leak check after leaving root
#endif
  auto r = nullq({"oauth", "login", "127.0.0.1"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(idp_->refresh_token_live(read_store().value("refresh_token", ""))) << read_file(store_);
  // state/ was there already (root's, as a package makes /var/lib/nullq): only what login made moves.
  for (const std::string& p : {dir_ / "state/oauth", store_}) {
    Owner o = owner_of(p);
    EXPECT_EQ(o.uid, nobody) << p;
    EXPECT_EQ(o.gid, owner_of(dir_ / "spool").gid) << p;
  }
  EXPECT_EQ(mode_of(store_), 0600u);
  EXPECT_EQ(mode_of(dir_ / "state/oauth"), 0700u);
}

}  // namespace

}  // namespace nullq::testing

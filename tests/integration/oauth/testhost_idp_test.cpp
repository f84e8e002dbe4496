// The identity provider in the nullq-testhost program (--idp): its port in the ready file, its
// clients' secrets from files, its token lifetime; the real nullq-oauth against it.
#include <chrono>
#include <thread>

#include "child.hpp"
#include "fixture.hpp"

namespace nullq::testing {

namespace {

using TesthostIdpTest = OAuthTest;

TEST_F(TesthostIdpTest, TheProgramServesTokensOnThePortInItsReadyFile) {
  dir_.write("secret", client_secret + "\n");
  ChildOptions o;
  Child host({program("nullq-testhost"), "--idp", "--cert", certs_.server_cert, "--key", certs_.server_key,
              "--idp-client", "app:" + (dir_ / "secret"), "--token-lifetime", "7", "--timeout", "60", "--ready-file",
              dir_ / "ready"},
             o);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string ready;
  while ((ready = read_file(dir_ / "ready")).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(ready.rfind("idp 127.0.0.1 ", 0), 0u) << ready;
  EXPECT_EQ(ready.find("qmtp"), std::string::npos) << "--idp alone starts no mail listener";
  std::string port = ready.substr(14, ready.find('\n') - 14);
  std::string cmdline = read_file("/proc/" + std::to_string(host.pid()) + "/cmdline");
  EXPECT_EQ(cmdline.find(client_secret), std::string::npos);

  nlohmann::json r = token_request("client_credentials");
  r["token_url"] = "https://127.0.0.1:" + port + "/token";
  RunOptions ro;
  ro.input = r.dump();
  auto t = run({program("nullq-oauth"), "token"}, ro);
  auto answer = nlohmann::json::parse(t.out, nullptr, false);
  ASSERT_FALSE(answer.is_discarded()) << t.out << t.err;
  EXPECT_EQ(answer.value("ok", false), true) << t.out;
  EXPECT_EQ(answer.value("expires_in", 0), 7);
  r["client_secret"] = "wrong";
  ro.input = r.dump();
  auto bad = run({program("nullq-oauth"), "token"}, ro);
  EXPECT_NE(bad.out.find("\"invalid_client\""), std::string::npos) << bad.out;
}

TEST_F(TesthostIdpTest, TheProgramRefusesAnIdpWithoutACertificate) {
  auto r = run({program("nullq-testhost"), "--idp", "--timeout", "5"});
  EXPECT_EQ(r.code, 64);
  EXPECT_NE(r.err.find("--idp needs --cert and --key"), std::string::npos) << r.err;
  auto lifetime = run({program("nullq-testhost"), "--idp", "--cert", certs_.server_cert, "--key", certs_.server_key,
                       "--token-lifetime", "0"});
  EXPECT_EQ(lifetime.code, 64);
  auto client = run({program("nullq-testhost"), "--idp", "--cert", certs_.server_cert, "--key", certs_.server_key,
                     "--idp-client", "app"});
  EXPECT_EQ(client.code, 64);
  EXPECT_NE(client.err.find("--idp-client wants ID:SECRETFILE"), std::string::npos) << client.err;
}

}  // namespace

}  // namespace nullq::testing

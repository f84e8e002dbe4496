// The test smart host over real loopback sockets, with a plain blocking client.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <algorithm>
#include <string>
#include <thread>

#include "nullq/netstring.hpp"

#include "nullq/testhost.hpp"

using nullq::testhost::Options;
using nullq::testhost::Server;
using namespace std::chrono_literals;

namespace {

int connect_to(const std::string& host, std::uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads until `want` bytes, EOF, or a 5 s deadline.
std::string read_upto(int fd, std::size_t want, bool* eof = nullptr) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (eof) *eof = true;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::unique_ptr<Server> start(std::string script, std::string bind = "127.0.0.1") {
  Options o;
  o.script = std::move(script);
  o.bind = std::move(bind);
  auto s = Server::start(o);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
  return s.ok() ? std::move(*s) : nullptr;
}

const std::string qmqp_req = "18:3:Hi\n,3:a@x,3:b@y,,";

TEST(Script, ParsesEveryStep) {
  auto s = nullq::testhost::parse_script("K;Z;D;KDZ;early-D;hang;close-mid;garbage;oversize;drip:5;delay:20;close-after-answer");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 12u);
  EXPECT_EQ((*s)[3].letters, "KDZ");
  EXPECT_EQ((*s)[9].kind, nullq::testhost::StepKind::drip);
  EXPECT_EQ((*s)[9].ms, 5);
  for (const char* bad : {"", "X", "K;;Z", "drip:", "delay:x", "KZQ"}) {
    auto b = nullq::testhost::parse_script(bad);
    EXPECT_FALSE(b.ok()) << bad;
  }
}

TEST(Qmqp, AnswersPerScriptAndRecords) {
  auto srv = start("K;Z;D");
  for (char want : {'K', 'Z', 'D', 'D'}) {
    int fd = connect_to("127.0.0.1", srv->qmqp_port());
    ASSERT_GE(fd, 0);
    send_all(fd, qmqp_req);
    bool eof = false;
    std::string r = read_upto(fd, 1 << 16, &eof);
    ::close(fd);
    ASSERT_GE(r.size(), 4u);
    EXPECT_EQ(r[r.find(':') + 1], want) << r;
    EXPECT_TRUE(eof) << "QMQP closes after the answer";
  }
  ASSERT_TRUE(srv->wait_for(4, 2s));
  auto got = srv->received();
  EXPECT_EQ(got[0].protocol, "qmqp");
  EXPECT_EQ(got[0].sender, "a@x");
  EXPECT_EQ(got[0].recipients, std::vector<std::string>{"b@y"});
  EXPECT_EQ(got[0].message, "Hi\n");
  EXPECT_EQ(got[2].answers, "D");
}

TEST(Qmqp, EarlyDAnswersBeforeTheRequestEnds) {
  auto srv = start("early-D");
  int fd = connect_to("127.0.0.1", srv->qmqp_port());
  send_all(fd, "100000:");  // far from complete
  std::string r = read_upto(fd, 1 << 16);
  ::close(fd);
  EXPECT_EQ(r.substr(0, r.find(':') + 2).back(), 'D') << r;
  EXPECT_TRUE(srv->received().empty());
}

TEST(Qmtp, PipelinedPackagesWithPerRecipientMix) {
  auto srv = start("K;KDZ");
  int fd = connect_to("127.0.0.1", srv->qmtp_port());
  std::string p1 = "4:\nHi\n,3:a@x,6:3:b@y,,";
  std::string p2 = "4:\nHo\n,0:,18:3:c@z,3:d@z,3:e@z,,";
  send_all(fd, p1 + p2);  // both before reading anything
  std::string r;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::count(r.begin(), r.end(), ',') < 4 && std::chrono::steady_clock::now() < deadline) r += read_upto(fd, 1);
  ::close(fd);
  std::string letters;
  std::string_view in = r;
  while (!in.empty()) {
    auto ns = nullq::netstring::take(in);
    ASSERT_TRUE(ns.ok()) << r;
    letters.push_back((*ns)[0]);
  }
  EXPECT_EQ(letters, "KKDZ");
  ASSERT_TRUE(srv->wait_for(2, 2s));
  EXPECT_EQ(srv->received()[1].answers, "KDZ");
  EXPECT_EQ(srv->received()[1].sender, "");
  EXPECT_EQ(srv->connections(), 1u);
}

TEST(Qmtp, EmptyRecipientListGetsNoAnswer) {
  auto srv = start("K");
  int fd = connect_to("127.0.0.1", srv->qmtp_port());
  send_all(fd, "4:\nHi\n,3:a@x,0:,");
  ASSERT_TRUE(srv->wait_for(1, 2s));
  ::shutdown(fd, SHUT_WR);
  bool eof = false;
  std::string r = read_upto(fd, 1, &eof);
  ::close(fd);
  EXPECT_EQ(r, "");
  EXPECT_TRUE(eof);
}

struct Misbehaviour {
  const char* script;
  bool want_valid_netstring;
};

TEST(Qmtp, MisbehavesOnRequest) {
  std::string pkg = "4:\nHi\n,3:a@x,6:3:b@y,,";
  {
    auto srv = start("garbage");
    int fd = connect_to("127.0.0.1", srv->qmtp_port());
    send_all(fd, pkg);
    std::string r = read_upto(fd, 1 << 16);
    ::close(fd);
    std::string_view in = r;
    EXPECT_FALSE(nullq::netstring::take(in).ok()) << r;
  }
  {
    auto srv = start("oversize");
    int fd = connect_to("127.0.0.1", srv->qmtp_port());
    send_all(fd, pkg);
    std::string r = read_upto(fd, 80000);
    ::close(fd);
    EXPECT_EQ(r.substr(0, 6), "70001:");
  }
  {
    auto srv = start("close-mid");
    int fd = connect_to("127.0.0.1", srv->qmtp_port());
    send_all(fd, pkg.substr(0, 5));
    bool eof = false;
    std::string r = read_upto(fd, 1, &eof);
    ::close(fd);
    EXPECT_EQ(r, "");
    EXPECT_TRUE(eof);
    EXPECT_TRUE(srv->received().empty());
  }
  {
    auto srv = start("hang");
    int fd = connect_to("127.0.0.1", srv->qmtp_port());
    send_all(fd, pkg);
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 300), 0) << "a hanging server sends nothing";
    ::close(fd);
  }
  {
    auto srv = start("drip:2");
    int fd = connect_to("127.0.0.1", srv->qmtp_port());
    send_all(fd, pkg);
    std::string r;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (r.find(',') == std::string::npos && std::chrono::steady_clock::now() < deadline) r += read_upto(fd, 1);
    ::close(fd);
    EXPECT_EQ(r.substr(r.find(':') + 1, 1), "K");
  }
  {
    auto srv = start("close-after-answer");
    int fd = connect_to("127.0.0.1", srv->qmtp_port());
    send_all(fd, pkg + pkg);
    bool eof = false;
    std::string r;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!eof && std::chrono::steady_clock::now() < deadline) r += read_upto(fd, 1 << 16, &eof);
    ::close(fd);
    EXPECT_TRUE(eof);
    EXPECT_EQ(std::count(r.begin(), r.end(), 'K'), 1) << r;
  }
}

TEST(Qmtp, OverMaxMessageIsRefused) {
  Options o;
  o.max_message = 10;
  auto srv = Server::start(o);
  ASSERT_TRUE(srv.ok());
  int fd = connect_to("127.0.0.1", (*srv)->qmtp_port());
  send_all(fd, "100:\n");
  std::string r = read_upto(fd, 1 << 16);
  ::close(fd);
  EXPECT_NE(r.find("#5.3.4"), std::string::npos) << r;
  EXPECT_EQ(r[r.find(':') + 1], 'D');
}

TEST(Qmqp, ParallelConnectionsAreCounted) {
  auto srv = start("delay:200");
  int a = connect_to("127.0.0.1", srv->qmqp_port());
  int b = connect_to("127.0.0.1", srv->qmqp_port());
  send_all(a, qmqp_req);
  send_all(b, qmqp_req);
  EXPECT_NE(read_upto(a, 1 << 16), "");
  EXPECT_NE(read_upto(b, 1 << 16), "");
  ::close(a);
  ::close(b);
  EXPECT_EQ(srv->connections(), 2u);
  EXPECT_EQ(srv->max_concurrent(), 2u);
}

TEST(Ipv6, ListensOnLoopback) {
  Options o;
  o.bind = "::1";
  o.max_message = 1 << 20;
  auto s = Server::start(o);
  if (!s.ok()) GTEST_SKIP() << "no ::1 here: " << s.error().message();
  int fd = connect_to("::1", (*s)->qmqp_port());
  ASSERT_GE(fd, 0);
  send_all(fd, qmqp_req);
  EXPECT_EQ(read_upto(fd, 1 << 16)[3], 'K');
  ::close(fd);
}

std::string bin(const char* name) {
  const char* d = std::getenv("NULLQ_BIN_DIR");
  return std::string(d ? d : ".") + "/" + name;
}

TEST(Program, ReportsPortsStoresMessagesAndStopsAtCount) {
  auto dir = std::filesystem::temp_directory_path() / ("nullq-th-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "store");
  std::string cmd = bin("nullq-testhost") + " --qmqp --count 1 --timeout 20 --store " + (dir / "store").string() +
                    " --ready-file " + (dir / "ready").string() + " > " + (dir / "out").string() + " 2>&1 &";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!std::filesystem::exists(dir / "ready") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  std::ifstream ready(dir / "ready");
  std::string proto, host;
  int port = 0;
  ready >> proto >> host >> port;
  ASSERT_EQ(proto, "qmqp");
  ASSERT_GT(port, 0);
  int fd = connect_to(host, static_cast<std::uint16_t>(port));
  ASSERT_GE(fd, 0);
  send_all(fd, qmqp_req);
  EXPECT_EQ(read_upto(fd, 1 << 16)[3], 'K');
  ::close(fd);
  while (!std::filesystem::exists(dir / "store" / "1.eml") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  std::ifstream eml(dir / "store" / "1.eml");
  std::stringstream ss;
  ss << eml.rdbuf();
  EXPECT_EQ(ss.str(), "X-Testhost-Protocol: qmqp\nX-Testhost-Sender: <a@x>\nX-Testhost-Recipient: <b@y>\nHi\n");
  // It exits by itself once --count is reached.
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream o(dir / "out");
    std::stringstream os;
    os << o.rdbuf();
    out = os.str();
    if (out.find("received qmqp from=<a@x> to=b@y bytes=3 answer=K") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(out.find("received qmqp from=<a@x> to=b@y bytes=3 answer=K"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

TEST(Program, BadFlagExits64) {
  int rc = std::system((bin("nullq-testhost") + " --frobnicate 2>/dev/null").c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  EXPECT_EQ(WEXITSTATUS(rc), 64);
  rc = std::system((bin("nullq-testhost") + " --script 'Q' --timeout 1 2>/dev/null >/dev/null").c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 71);
}

}  // namespace

// Lines over 998 bytes through the real nullq-queue and nullq-send: over SMTP to a test host that
// refuses such lines as strict servers do ("500 5.5.2 Line too long"), the message is delivered as
// quoted-printable that decodes to what the caller wrote; over QMTP and QMQP it arrives unchanged.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "harness.hpp"
#include "nullq/testhost.hpp"

namespace nullq::send::it {
namespace {

using namespace std::chrono_literals;

const std::string kLong = "{\"json\":\"" + std::string(2985, 'J') + "= \"}  ";  // 3000 bytes, '=' and trailing blanks
const std::string kPlain = "From: cron@example.org\nSubject: cron output\n\n" + kLong + "\n.dot line\nend\n";

std::string body_of(const std::string& m) { return m.substr(m.find("\n\n") + 2); }

int hexval(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

std::string qp_decode(const std::string& enc) {
  std::string out;
  for (std::size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] != '=') {
      out += enc[i];
    } else if (i + 1 < enc.size() && enc[i + 1] == '\n') {
      ++i;  // soft line break
    } else if (i + 2 < enc.size() && hexval(enc[i + 1]) >= 0 && hexval(enc[i + 2]) >= 0) {
      out += static_cast<char>(hexval(enc[i + 1]) * 16 + hexval(enc[i + 2]));
      i += 2;
    } else {
      ADD_FAILURE() << "bad '=' at " << i;
    }
  }
  return out;
}

std::size_t longest_line(const std::string& data) {
  std::size_t longest = 0, start = 0;
  for (std::size_t p = data.find('\n'); p != std::string::npos; start = p + 1, p = data.find('\n', start))
    longest = std::max(longest, p - start - (p > start && data[p - 1] == '\r' ? 1 : 0) -
                                    (data.compare(start, 2, "..") == 0 ? 1 : 0));  // the doubled dot is not counted
  return longest;
}

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& s) {
  for (std::size_t off = 0; off < s.size();) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until the last line read is a final reply line ("NNN ..."), with a 10 s deadline.
std::string read_reply(int fd) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  auto complete = [&] {
    if (got.size() < 6 || got.compare(got.size() - 2, 2, "\r\n") != 0) return false;
    std::size_t start = got.rfind("\r\n", got.size() - 3);
    start = start == std::string::npos ? 0 : start + 2;
    return got.size() - start > 4 && got[start + 3] == ' ';
  };
  while (!complete() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

class LongLines : public ::testing::Test {
 protected:
  TestSpool s;
  std::unique_ptr<testhost::Server> host;

  void start(bool smtp) {
    testhost::Options o;
    o.qmtp = o.qmqp = !smtp;
    o.smtp = smtp;
    o.refuse_long_lines = true;
    o.caps.size = 10 * 1000 * 1000;
    auto h = testhost::Server::start(std::move(o));
    ASSERT_TRUE(h.ok()) << h.error().message();
    host = std::move(h).value();
  }
  std::string smtp_url() const { return "{url: 'smtp://127.0.0.1:" + std::to_string(host->smtp_port()) + "', starttls: 'off'}"; }
};

TEST_F(LongLines, PlainTextGoesAsQuotedPrintableOverSmtpAndDecodesToWhatTheCallerWrote) {
  start(true);
  s.write_config({smtp_url()});
  std::string id = s.inject("cron@example.org", {"ops@example.org"}, kPlain);
  ASSERT_FALSE(id.empty());
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(s.queued().empty()) << r.err;
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_EQ(got[0].final_code, 250) << r.err;
  EXPECT_FALSE(got[0].bare_lf);
  EXPECT_LE(longest_line(got[0].data), 998u);
  // SIZE= is the byte count sent: DATA content plus the final ".\r\n".
  EXPECT_EQ(got[0].mail_params, "SIZE=" + std::to_string(got[0].data.size() + 3));
  const std::string& m = got[0].message;
  EXPECT_TRUE(contains(m, "Subject: cron output\n")) << m.substr(0, 400);
  EXPECT_TRUE(contains(m, "\nMIME-Version: 1.0\n")) << m.substr(0, 400);
  EXPECT_TRUE(contains(m, "\nContent-Transfer-Encoding: quoted-printable\n")) << m.substr(0, 400);
  EXPECT_EQ(qp_decode(body_of(m)), body_of(kPlain));
  // One log line naming the queue id and what was done.
  EXPECT_TRUE(contains(r.err, "id=" + id + " addr=127.0.0.1:" + std::to_string(host->smtp_port()) +
                                  " lines over 998 bytes: body sent as quoted-printable\n"))
      << r.err;
}

TEST_F(LongLines, MultipartIsBrokenAsPostfixDoesAndTheStrictServerTakesIt) {
  start(true);
  s.write_config({smtp_url()});
  const std::string msg = "Subject: parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
                          "Content-Type: application/json\n\n" + kLong + "\n--b--\n";
  std::string id = s.inject("cron@example.org", {"ops@example.org"}, msg);
  RunResult r = s.once();
  EXPECT_EQ(r.status, 0) << r.err;
  auto got = host->received();
  ASSERT_EQ(got.size(), 1u) << r.err;
  EXPECT_EQ(got[0].final_code, 250) << r.err;
  EXPECT_LE(longest_line(got[0].data), 998u);
  EXPECT_TRUE(contains(got[0].message, kLong.substr(0, 998) + "\n " + kLong.substr(998, 997) + "\n "));
  EXPECT_TRUE(contains(r.err, "id=" + id + " addr=")) << r.err;
  EXPECT_TRUE(contains(r.err, "body lines broken 3 times with a line end and a space (Content-Type multipart/mixed "
                              "cannot be re-encoded)"))
      << r.err;
}

// QMTP and QMQP are length-framed: no line limit, so the message arrives byte for byte.
TEST_F(LongLines, QmtpAndQmqpCarryTheMessageUnchanged) {
  start(false);
  const std::string msg = kPlain + "Subject-like: " + std::string(5000, 'h') + "\n";
  for (std::string url : {"qmtp://127.0.0.1:" + std::to_string(host->qmtp_port()),
                          "qmqp://127.0.0.1:" + std::to_string(host->qmqp_port())}) {
    SCOPED_TRACE(url);
    s.write_config({url});
    std::size_t before = host->received().size();
    s.inject("cron@example.org", {"ops@example.org"}, msg);
    RunResult r = s.once();
    EXPECT_EQ(r.status, 0) << r.err;
    auto got = host->received();
    ASSERT_EQ(got.size(), before + 1) << r.err;
    // Exactly the queued message: nullq-queue's Received: line, then the caller's bytes.
    const std::string& m = got.back().message;
    ASSERT_GT(m.size(), msg.size());
    EXPECT_EQ(m.rfind("Received: (nullq-queue", 0), 0u) << m.substr(0, 200);
    EXPECT_EQ(m.substr(m.size() - msg.size()), msg);
    EXPECT_EQ(m.find("quoted-printable"), std::string::npos);
    EXPECT_FALSE(contains(r.err, "lines over 998 bytes")) << r.err;  // no conversion logged
  }
}

// The test host's strictness itself: a line over 998 bytes sent as it is gets 500 5.5.2, so the
// tests above would fail if nullq sent long lines unchanged.
TEST_F(LongLines, TheStrictTestHostRefusesALongLine) {
  start(true);
  int fd = connect_to(host->smtp_port());
  ASSERT_GE(fd, 0);
  std::string in;
  for (const std::string& cmd : {std::string("EHLO t\r\n"), std::string("MAIL FROM:<a@b>\r\n"),
                                 std::string("RCPT TO:<c@d>\r\n"), std::string("DATA\r\n"),
                                 "Subject: x\r\n\r\n" + kLong + "\r\n.\r\n", std::string("QUIT\r\n")}) {
    ASSERT_TRUE(send_all(fd, cmd));
    in += read_reply(fd);
  }
  ::close(fd);
  EXPECT_TRUE(contains(in, "\r\n500 5.5.2 Line too long\r\n")) << in;
}

}  // namespace
}  // namespace nullq::send::it

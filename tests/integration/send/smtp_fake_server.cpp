#include "smtp_fake_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

namespace nullq::send::it {

namespace {

class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // One line without CRLF; false on EOF, error, or 10 s without bytes.
  bool line(std::string& out) {
    for (;;) {
      auto nl = buf_.find("\r\n");
      if (nl != std::string::npos) {
        out = buf_.substr(0, nl);
        buf_.erase(0, nl + 2);
        return true;
      }
      if (buf_.size() > (64u << 20)) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return false;
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buf_;
};

std::string between(const std::string& s, char open, char close) {
  auto a = s.find(open);
  auto b = s.find(close, a == std::string::npos ? 0 : a);
  if (a == std::string::npos || b == std::string::npos) return {};
  return s.substr(a + 1, b - a - 1);
}

std::string b64decode(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace

SmtpFakeServer::SmtpFakeServer(const std::string& ip, std::uint16_t port) : listener_(ip, port, 200) {
  listener_.start([this](int fd) { serve(fd); });
}

SmtpFakeServer::~SmtpFakeServer() { listener_.stop(); }

std::vector<SmtpTxn> SmtpFakeServer::transactions() {
  std::lock_guard<std::mutex> g(mu_);
  return txns_;
}

std::vector<std::string> SmtpFakeServer::commands() {
  std::lock_guard<std::mutex> g(mu_);
  return commands_;
}

void SmtpFakeServer::serve(int fd) {
  LineReader in(fd);
  send_all(fd, "220 fake.test ESMTP\r\n");
  SmtpTxn cur;
  bool in_txn = false;
  std::string line;
  while (in.line(line)) {
    {
      std::lock_guard<std::mutex> g(mu_);
      commands_.push_back(line);
    }
    std::string verb = line.substr(0, line.find(' '));
    for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (verb == "EHLO") {
      std::vector<std::string> ext = extensions;
      if (!auth_password.empty()) ext.push_back("AUTH PLAIN");
      std::string r = ext.empty() ? "250 fake.test\r\n" : "250-fake.test\r\n";
      for (std::size_t i = 0; i < ext.size(); ++i) r += (i + 1 == ext.size() ? "250 " : "250-") + ext[i] + "\r\n";
      send_all(fd, r);
    } else if (verb == "AUTH") {
      std::string want = std::string(1, '\0') + auth_user + std::string(1, '\0') + auth_password;
      std::string got = b64decode(line.substr(line.rfind(' ') + 1));
      send_all(fd, got == want ? "235 2.7.0 ok\r\n" : "535 5.7.8 authentication credentials invalid\r\n");
    } else if (verb == "MAIL") {
      cur = SmtpTxn{};
      cur.sender = between(line, '<', '>');
      cur.mail_line = line;
      in_txn = true;
      send_all(fd, "250 2.1.0 ok\r\n");
    } else if (verb == "RCPT") {
      std::string r = between(line, '<', '>');
      std::string reply = rcpt(r);
      if (!reply.empty() && reply[0] == '2') cur.accepted.push_back(r);
      send_all(fd, reply + "\r\n");
    } else if (verb == "DATA") {
      if (!in_txn || cur.accepted.empty()) {
        send_all(fd, "554 5.5.1 no valid recipients\r\n");
        continue;
      }
      send_all(fd, "354 go ahead\r\n");
      std::string body;
      bool ok = false;
      while (in.line(line)) {
        if (line == ".") {
          ok = true;
          break;
        }
        body += line + "\r\n";
      }
      if (!ok) return;
      cur.data = std::move(body);
      if (!dot_reply.empty() && dot_reply[0] == '2') {
        std::lock_guard<std::mutex> g(mu_);
        txns_.push_back(cur);
      }
      in_txn = false;
      send_all(fd, dot_reply + "\r\n");
    } else if (verb == "RSET") {
      in_txn = false;
      send_all(fd, "250 2.0.0 ok\r\n");
    } else if (verb == "QUIT") {
      send_all(fd, "221 2.0.0 bye\r\n");
      break;
    } else {
      send_all(fd, "502 5.5.2 what\r\n");
    }
  }
}

}  // namespace nullq::send::it

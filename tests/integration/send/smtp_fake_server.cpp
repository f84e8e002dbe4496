#include "smtp_fake_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

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

void send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

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

SmtpFakeServer::SmtpFakeServer(const std::string& ip, std::uint16_t port) : ip_(ip) {
  const bool v6 = ip.find(':') != std::string::npos;
  listen_fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss{};
  socklen_t slen;
  if (v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, ip.c_str(), &sa->sin6_addr);
    sa->sin6_port = htons(port);
    slen = sizeof *sa;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    ::inet_pton(AF_INET, ip.c_str(), &sa->sin_addr);
    sa->sin_port = htons(port);
    slen = sizeof *sa;
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), slen) != 0 || ::listen(listen_fd_, 128) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("smtp fake server: bind/listen failed on " + ip);
  }
  socklen_t len = sizeof ss;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port) : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

SmtpFakeServer::~SmtpFakeServer() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  ::close(listen_fd_);
}

std::string SmtpFakeServer::url() const {
  const bool v6 = ip_.find(':') != std::string::npos;
  return "smtp://" + (v6 ? "[" + ip_ + "]" : ip_) + ":" + std::to_string(port_);
}

std::vector<SmtpTxn> SmtpFakeServer::transactions() {
  std::lock_guard<std::mutex> g(mu_);
  return txns_;
}

std::vector<std::string> SmtpFakeServer::commands() {
  std::lock_guard<std::mutex> g(mu_);
  return commands_;
}

void SmtpFakeServer::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (stop_) {
      ::close(fd);
      break;
    }
    ++connections_;
    std::lock_guard<std::mutex> g(mu_);
    if (workers_.size() > 200) {
      ::close(fd);
      continue;
    }
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
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
  std::lock_guard<std::mutex> g(mu_);
  ::close(fd);
  for (auto& f : open_fds_)
    if (f == fd) f = -1;
}

}  // namespace nullq::send::it

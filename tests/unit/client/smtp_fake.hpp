// smtp_fake.hpp — line-oriented helpers over fake_server.hpp's Peer for the SMTP session tests:
// read command lines and DATA bodies with deadlines, answer with canned replies.
#pragma once

#include <string>
#include <vector>

#include "fake_server.hpp"

namespace nullq::client::test {

class SmtpPeer {
 public:
  explicit SmtpPeer(Peer& p) : p_(p) {}

  // The next CRLF-terminated line without its CRLF; "" with ok=false on EOF/timeout.
  std::string line(bool* ok = nullptr) {
    bool got = p_.read_until([&] { return p_.in.find("\r\n", pos_) != std::string::npos; });
    if (ok) *ok = got;
    if (!got) return {};
    std::size_t e = p_.in.find("\r\n", pos_);
    std::string l = p_.in.substr(pos_, e - pos_);
    pos_ = e + 2;
    return l;
  }
  // `n` lines; those that arrived are returned even on timeout.
  std::vector<std::string> lines(std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) {
      bool ok = false;
      std::string l = line(&ok);
      if (!ok) break;
      out.push_back(l);
    }
    return out;
  }
  // DATA content up to and including CRLF.CRLF (returned with it).
  std::string body(bool* ok = nullptr) {
    bool got = p_.read_until(
        [&] {
          if (p_.in.compare(pos_, 3, ".\r\n") == 0) return true;
          return p_.in.find("\r\n.\r\n", pos_) != std::string::npos;
        },
        std::chrono::seconds(20));
    if (ok) *ok = got;
    if (!got) return {};
    std::size_t e = p_.in.compare(pos_, 3, ".\r\n") == 0 ? pos_ : p_.in.find("\r\n.\r\n", pos_) + 2;
    std::string b = p_.in.substr(pos_, e + 3 - pos_);
    pos_ = e + 3;
    return b;
  }
  // Bytes that arrived and were not consumed yet (after waiting briefly for more).
  std::string rest(std::chrono::milliseconds wait = std::chrono::milliseconds(200)) {
    p_.read_until([] { return false; }, wait);
    return p_.in.substr(pos_);
  }
  void send(const std::string& s) { p_.send(s); }
  // Standard opening: banner, then EHLO answered with `ehlo_lines` (first line is the greeting).
  bool greet(const std::vector<std::string>& extensions) {
    send("220 fake.test ESMTP\r\n");
    std::string l = line();
    if (l.rfind("EHLO ", 0) != 0) return false;
    std::string r;
    if (extensions.empty()) {
      r = "250 fake.test\r\n";
    } else {
      r = "250-fake.test\r\n";
      for (std::size_t i = 0; i < extensions.size(); ++i)
        r += (i + 1 == extensions.size() ? "250 " : "250-") + extensions[i] + "\r\n";
    }
    send(r);
    return true;
  }
  Peer& peer() { return p_; }

 private:
  Peer& p_;
  std::size_t pos_ = 0;
};

}  // namespace nullq::client::test

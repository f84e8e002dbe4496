// smtp_fake_server.hpp — a small scripted ESMTP server on loopback port 0 for nullq-send's
// integration tests (blocking sockets, one thread per connection, every read bounded).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "listener.hpp"

namespace nullq::send::it {

struct SmtpTxn {
  std::string sender;                 // MAIL FROM:<...> contents
  std::string mail_line;              // the whole MAIL command
  std::vector<std::string> accepted;  // recipients answered 2xx
  std::string data;                   // DATA content as sent (CRLF, dot-stuffed), without the final dot line
};

class SmtpFakeServer {
 public:
  // Answer for RCPT TO:<rcpt>, e.g. "250 ok" or "550 5.1.1 no such user".
  using RcptReplier = std::function<std::string(const std::string& rcpt)>;

  explicit SmtpFakeServer(const std::string& ip = "127.0.0.1", std::uint16_t port = 0);
  ~SmtpFakeServer();
  SmtpFakeServer(const SmtpFakeServer&) = delete;
  SmtpFakeServer& operator=(const SmtpFakeServer&) = delete;

  std::uint16_t port() const { return listener_.port(); }
  std::string url() const { return listener_.url("smtp"); }  // "smtp://127.0.0.1:PORT"

  // Set before the client connects.
  std::vector<std::string> extensions{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"};
  std::string auth_password;   // non-empty: offer AUTH PLAIN and check "\0user\0password" against it
  std::string auth_user;
  RcptReplier rcpt = [](const std::string&) { return std::string("250 2.1.5 ok"); };
  std::string dot_reply = "250 2.0.0 queued";

  std::vector<SmtpTxn> transactions();
  std::vector<std::string> commands();  // every command line, in order, over every connection
  std::size_t connections() const { return listener_.connections(); }

 private:
  void serve(int fd);

  std::mutex mu_;
  std::vector<SmtpTxn> txns_;
  std::vector<std::string> commands_;
  Listener listener_;  // last: built after the state its threads use
};

}  // namespace nullq::send::it

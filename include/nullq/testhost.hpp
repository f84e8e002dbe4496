// testhost.hpp — a scriptable QMQP + QMTP server for tests and the README demo.
//
// Purpose:   stand in for a smart host on loopback: record every message with its envelope and
//            answer the way a script says, including the ways real servers misbehave.
// Trust:     clients are the code under test; input is parsed with the same strict codecs.
// Errors:    start() returns an Error if a socket cannot be bound; a bad script is an Error.
// Threading: one accept thread plus one thread per connection; every public method is thread-safe.
//
// SCRIPT: steps separated by ';', one step per message (QMTP: per package) in arrival order; the
// last step repeats. Steps:
//   K | Z | D          answer that for every recipient (QMQP: for the message)
//   KDZ...             per-recipient answers cycling over the letters (QMQP uses the first)
//   early-D            QMQP: answer D as soon as the request starts, then close (Postfix, oversize)
//   hang               read everything, never answer
//   close-mid          close after part of the request, without an answer
//   garbage            answer bytes that are not a netstring
//   oversize           answer with a netstring longer than 64 KiB
//   drip:<ms>          answer K one byte every <ms> milliseconds
//   delay:<ms>         wait <ms>, then answer K
//   close-after-answer answer K, then close the connection (QMTP: even with packages pipelined)
// Example: "Z;K" defers the first message and accepts every later one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/result.hpp"

namespace nullq::testhost {

enum class StepKind { answer, early_d, hang, close_mid, garbage, oversize, drip, delay, close_after_answer };

struct Step {
  StepKind kind = StepKind::answer;
  std::string letters = "K";  // for answer: one letter per recipient, cycled
  int ms = 0;                 // for drip and delay
};

Result<std::vector<Step>> parse_script(std::string_view script);

struct Received {
  std::string protocol;  // "qmtp" or "qmqp"
  std::string sender;
  std::vector<std::string> recipients;
  std::string message;   // LF line endings
  std::string answers;   // one letter per recipient as answered ("" if none was sent)
};

struct Options {
  std::string bind = "127.0.0.1";   // or "::1"
  bool qmtp = true;
  bool qmqp = true;
  std::string script = "K";
  std::size_t max_message = 64 * 1024 * 1024;
  std::function<void(const Received&)> on_message;  // called on a connection thread
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> start(Options options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t qmtp_port() const;
  std::uint16_t qmqp_port() const;
  std::vector<Received> received() const;
  // True once at least `count` messages were recorded; false at the deadline.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) const;
  Status set_script(std::string_view script);
  unsigned connections() const;     // accepted so far
  unsigned max_concurrent() const;  // most connections open at once
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nullq::testhost

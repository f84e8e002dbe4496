// test_util.hpp — shared bits of the client tests: messages, expected encodings, SIGPIPE.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fake_server.hpp"
#include "nullq/client.hpp"
#include "nullq/event.hpp"

namespace nullq::client::test {

using namespace std::chrono_literals;
using proto::Reply;
using proto::Verdict;

inline std::shared_ptr<const Message> make_msg(std::uint64_t tag, std::string body, std::string sender,
                                               std::vector<std::string> rcpts) {
  auto m = std::make_shared<Message>();
  m->tag = tag;
  m->body = std::move(body);
  m->sender = std::move(sender);
  m->recipients = std::move(rcpts);
  return m;
}

// The QMTP package the spec says the client must send (PROTOCOLS.md §3), built independently of the codec.
inline std::string qmtp_package(const Message& m) {
  std::string r;
  for (const auto& x : m.recipients) r += ns(x);
  return ns("\n" + m.body) + ns(m.sender) + ns(r);
}

inline std::string qmqp_request(const Message& m) {
  std::string inner = ns(m.body) + ns(m.sender);
  for (const auto& x : m.recipients) inner += ns(x);
  return ns(inner);
}

inline Reply K(std::string t) { return Reply{Verdict::ok, std::move(t)}; }
inline Reply Z(std::string t) { return Reply{Verdict::temporary, std::move(t)}; }
inline Reply D(std::string t) { return Reply{Verdict::permanent, std::move(t)}; }

// A libuv peer closing early must give EPIPE, not kill the test binary.
class IgnoreSigpipe : public ::testing::Environment {
 public:
  void SetUp() override { event::ignore_sigpipe(); }
};

}  // namespace nullq::client::test

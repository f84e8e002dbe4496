// qmqp.hpp — QMQP codec (PROTOCOLS.md §2), no I/O.
//
// Purpose:   build a request; read the one-netstring response; server side for the test smart host.
// Trust:     responses and requests are hostile; every length is capped before allocation.
// Errors:    malformed input returns ErrorDomain::protocol. For the client every protocol error
//            means "temporary failure" (PROTOCOLS.md §5); that mapping is the caller's.
// Threading: values; one reader per connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/netstring.hpp"
#include "nullq/reply.hpp"
#include "nullq/result.hpp"

namespace nullq::proto::qmqp {

// NS( NS(message) NS(sender) NS(rcpt1) ... ). `message` must already use LF line endings.
// Refuses an empty recipient list (ErrorDomain::format, permanent).
Result<std::string> encode_request(std::string_view message, std::string_view sender,
                                   const std::vector<std::string>& recipients);
// encode_request in parts, so that a large message goes to the wire without a copy: head +
// message + tail is the request. Refuses what encode_request refuses.
struct Framed {
  std::string head;
  std::string tail;
};
Result<Framed> frame_request(std::string_view message, std::string_view sender,
                             const std::vector<std::string>& recipients);

// Reads the response netstring from a stream. The outcome never depends on how the bytes were split
// into reads: a complete K/Z/D response is the server's verdict, and bytes after it (however they
// arrive) only count as trailing bytes for a warning, never as a protocol error.
class ResponseReader {
 public:
  enum class State { need_more, done, failed };
  State feed(std::string_view in);
  // The stream ended (EOF): no complete response means failed.
  State finish();
  State state() const { return state_; }
  const Reply& reply() const { return reply_; }
  const Error& error() const { return error_; }
  // Bytes seen after a complete response, and the first of them (raw, up to max_trailing_sample).
  std::size_t trailing() const { return trailing_; }
  const std::string& trailing_sample() const { return trailing_sample_; }
  static constexpr std::size_t max_trailing_sample = 64;

 private:
  netstring::Parser parser_{max_reply};
  State state_ = State::need_more;
  Reply reply_;
  std::size_t trailing_ = 0;
  std::string trailing_sample_;
  Error error_;
};

// ---- server side (test smart host) ----
struct Request {
  std::string message;
  std::string sender;
  std::vector<std::string> recipients;
};
// `outer_payload` is the payload of the request's outer netstring.
Result<Request> decode_request(std::string_view outer_payload);
// NS(<verdict><text>)
std::string encode_response(Verdict v, std::string_view text);

}  // namespace nullq::proto::qmqp

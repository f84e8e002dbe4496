// netstring.hpp — netstring encoding and a strict, incremental parser (PROTOCOLS.md §1).
//
// Purpose:   frame byte strings as `<len>:<bytes>,` for QMQP, QMTP and the queue envelope.
// Trust:     parser input is hostile (network peers, drop files). The announced length is checked
//            against the caller's limit before anything is multiplied or allocated; at most 9 digits.
// Errors:    malformed input returns ErrorDomain::protocol, ErrorKind::permanent from the parser;
//            callers decide what a framing error means for their protocol (usually temporary).
// Threading: values; one parser per stream.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/result.hpp"

namespace nullq::netstring {

// Largest length a parser accepts regardless of its limit (9 digits).
inline constexpr std::size_t absolute_max = 999'999'999;

void append(std::string& out, std::string_view payload);
std::string encode(std::string_view payload);
// Bytes `encode(payload)` would take, without building it.
std::size_t encoded_size(std::size_t payload_size);

// Incremental parser for one netstring. Feed it bytes in any chunking; it consumes exactly the bytes
// of one netstring and no more, so the caller can hand the rest to the next parser.
class Parser {
 public:
  enum class State { need_more, done, failed };

  explicit Parser(std::size_t max_len) : max_len_(max_len > absolute_max ? absolute_max : max_len) {}

  // Consumes bytes from `in` and returns how many were used. Stops at the end of the netstring
  // (state done) or at the first bad byte (state failed; the rest is not consumed).
  std::size_t feed(std::string_view in);
  // The peer's stream ended: a netstring still in progress becomes an error.
  void finish();

  State state() const noexcept { return state_; }
  bool done() const noexcept { return state_ == State::done; }
  bool failed() const noexcept { return state_ == State::failed; }
  // The payload once done(). Moving it out leaves the parser needing reset().
  std::string& payload() noexcept { return payload_; }
  const Error& error() const noexcept { return error_; }
  // Announced length once the ':' was seen, else 0.
  std::size_t announced() const noexcept { return phase_ == Phase::length ? 0 : len_; }
  void reset();

 private:
  enum class Phase { length, payload, comma };
  void fail(std::string detail);

  std::size_t max_len_;
  State state_ = State::need_more;
  Phase phase_ = Phase::length;
  std::size_t len_ = 0;
  int digits_ = 0;
  std::string payload_;
  Error error_;
};

// Parses one complete netstring at the front of `in` and advances `in` past it. Incomplete input
// is an error here (use Parser for streams). The returned view points into the caller's buffer.
Result<std::string_view> take(std::string_view& in, std::size_t max_len = absolute_max);

// Splits `in` into the netstrings that exactly fill it (nested items; PROTOCOLS.md §1).
Result<std::vector<std::string_view>> split(std::string_view in, std::size_t max_item = absolute_max);

}  // namespace nullq::netstring

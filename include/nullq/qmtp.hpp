// qmtp.hpp — QMTP codec (PROTOCOLS.md §3), no I/O.
//
// Purpose:   package encoder; a response reader for a pipelined stream that assigns every K/Z/D to its
//            package and recipient; the server-side package parser for the test smart host.
// Trust:     responses and packages are hostile; lengths are capped before allocation.
// Errors:    malformed input returns ErrorDomain::protocol (the client treats it as temporary for every
//            unanswered recipient and drops the connection).
// Threading: values; one reader per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "nullq/netstring.hpp"
#include "nullq/reply.hpp"
#include "nullq/result.hpp"

namespace nullq::proto::qmtp {

// NS("\n" + message) NS(sender) NS( NS(rcpt1) ... ). CRLF in `message` is normalised to LF.
// Refuses an empty recipient list: a QMTP server sends no answer for it (ErrorDomain::format, permanent).
Result<std::string> encode_package(std::string_view message, std::string_view sender,
                                   const std::vector<std::string>& recipients);

// encode_package in parts, so that a large message goes to the wire without a copy: when `as_is`
// (the message has no CRLF to normalise), head + message + tail is the package; otherwise `head`
// is the whole package and `tail` is empty. Refuses what encode_package refuses.
struct Framed {
  std::string head;
  std::string tail;
  bool as_is = false;
};
Result<Framed> frame_package(std::string_view message, std::string_view sender,
                             const std::vector<std::string>& recipients);

struct Answer {
  std::uint64_t package = 0;   // the tag given to expect()
  std::size_t recipient = 0;   // index into that package's recipients
  Reply reply;
  bool package_complete = false;  // this was the package's last recipient
};

// Reads per-recipient responses from a pipelined connection.
class ResponseReader {
 public:
  // Register a package written to the connection, in write order. `recipients` > 0.
  void expect(std::uint64_t package, std::size_t recipients);
  // Consumes bytes and appends every completed answer to `out`. A reply with no package pending,
  // bad framing, an empty reply, a bad first byte or an oversize reply fails the reader for good.
  Status feed(std::string_view in, std::vector<Answer>& out);
  // Packages (by tag) not fully answered yet, oldest first, and how many of the oldest's
  // recipients already have answers.
  const std::deque<std::pair<std::uint64_t, std::size_t>>& pending() const { return pending_; }
  std::size_t answered_in_oldest() const { return answered_; }
  bool failed() const { return failed_; }

 private:
  netstring::Parser parser_{max_reply};
  std::deque<std::pair<std::uint64_t, std::size_t>> pending_;  // (tag, recipients)
  std::size_t answered_ = 0;
  bool failed_ = false;
  Error error_;
};

// ---- server side (test smart host) ----
struct Package {
  std::string message;  // decoded: leading byte removed, CRLF form converted to LF
  std::string sender;
  std::vector<std::string> recipients;
};

// Incremental parser for one package; reset() for the next one on the same connection.
class PackageParser {
 public:
  explicit PackageParser(std::size_t max_message) : max_message_(max_message), parser_(max_message + 1) {}
  enum class State { need_more, done, failed };
  std::size_t feed(std::string_view in);
  State state() const { return state_; }
  const Error& error() const { return error_; }
  Package& package() { return pkg_; }
  // True while no byte of a package has been seen (a clean place for the client to close).
  bool idle() const { return stage_ == 0 && !started_; }
  void reset();

 private:
  std::size_t max_message_;
  netstring::Parser parser_;
  int stage_ = 0;  // 0 message, 1 sender, 2 recipients
  bool started_ = false;
  State state_ = State::need_more;
  Package pkg_;
  Error error_;
};

std::string encode_response(Verdict v, std::string_view text);

}  // namespace nullq::proto::qmtp

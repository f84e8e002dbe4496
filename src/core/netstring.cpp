#include "nullq/netstring.hpp"

#include <charconv>

namespace nullq::netstring {

std::size_t encoded_size(std::size_t n) {
  std::size_t digits = 1;
  for (std::size_t v = n; v >= 10; v /= 10) ++digits;
  return digits + 1 + n + 1;
}

void append(std::string& out, std::string_view payload) {
  char len[24];
  auto r = std::to_chars(len, len + sizeof len, payload.size());
  out.reserve(out.size() + encoded_size(payload.size()));
  out.append(len, r.ptr);
  out.push_back(':');
  out.append(payload);
  out.push_back(',');
}

std::string encode(std::string_view payload) {
  std::string out;
  append(out, payload);
  return out;
}

void Parser::fail(std::string detail) {
  state_ = State::failed;
  error_ = Error::permanent(ErrorDomain::protocol, "netstring: " + std::move(detail));
}

void Parser::reset() {
  state_ = State::need_more;
  phase_ = Phase::length;
  len_ = 0;
  digits_ = 0;
  payload_.clear();
  error_ = Error{};
}

std::size_t Parser::feed(std::string_view in) {
  std::size_t i = 0;
  while (state_ == State::need_more && i < in.size()) {
    switch (phase_) {
      case Phase::length: {
        char c = in[i];
        if (c == ':') {
          if (digits_ == 0) return fail("empty length"), i;
          ++i;
          phase_ = Phase::payload;
          // Safe: len_ <= max_len_ was checked digit by digit.
          payload_.reserve(len_ < 65536 ? len_ : 65536);
          if (len_ == 0) phase_ = Phase::comma;
          break;
        }
        if (c < '0' || c > '9') return fail("non-digit in length"), i;
        if (digits_ == 1 && len_ == 0) return fail("leading zero in length"), i;
        if (digits_ == 9) return fail("length has more than 9 digits"), i;
        std::size_t next = len_ * 10 + static_cast<std::size_t>(c - '0');
        if (next > max_len_) return fail("length " + std::string(in.substr(i, 1)) + "... exceeds limit " +
                                         std::to_string(max_len_)), i;
        len_ = next;
        ++digits_;
        ++i;
        break;
      }
      case Phase::payload: {
        std::size_t want = len_ - payload_.size();
        std::size_t take_n = in.size() - i < want ? in.size() - i : want;
        payload_.append(in.substr(i, take_n));
        i += take_n;
        if (payload_.size() == len_) phase_ = Phase::comma;
        break;
      }
      case Phase::comma:
        if (in[i] != ',') return fail("missing comma after payload"), i;
        ++i;
        state_ = State::done;
        break;
    }
  }
  return i;
}

void Parser::finish() {
  if (state_ != State::need_more) return;
  if (phase_ == Phase::length && digits_ == 0) fail("end of input before netstring");
  else if (phase_ == Phase::payload) fail("end of input inside payload");
  else fail("end of input inside netstring");
}

Result<std::string_view> take(std::string_view& in, std::size_t max_len) {
  if (max_len > absolute_max) max_len = absolute_max;
  std::size_t len = 0, i = 0;
  for (;; ++i) {
    if (i == in.size()) return Error::permanent(ErrorDomain::protocol, "netstring: truncated length");
    char c = in[i];
    if (c == ':') break;
    if (c < '0' || c > '9') return Error::permanent(ErrorDomain::protocol, "netstring: non-digit in length");
    if (i == 1 && in[0] == '0') return Error::permanent(ErrorDomain::protocol, "netstring: leading zero in length");
    if (i == 9) return Error::permanent(ErrorDomain::protocol, "netstring: length has more than 9 digits");
    len = len * 10 + static_cast<std::size_t>(c - '0');
    if (len > max_len)
      return Error::permanent(ErrorDomain::protocol, "netstring: length exceeds limit " + std::to_string(max_len));
  }
  if (i == 0) return Error::permanent(ErrorDomain::protocol, "netstring: empty length");
  std::size_t start = i + 1;
  if (in.size() - start < len) return Error::permanent(ErrorDomain::protocol, "netstring: truncated payload");
  if (in.size() - start == len) return Error::permanent(ErrorDomain::protocol, "netstring: missing comma after payload");
  if (in[start + len] != ',') return Error::permanent(ErrorDomain::protocol, "netstring: missing comma after payload");
  std::string_view payload = in.substr(start, len);
  in.remove_prefix(start + len + 1);
  return payload;
}

Result<std::vector<std::string_view>> split(std::string_view in, std::size_t max_item) {
  std::vector<std::string_view> items;
  while (!in.empty()) {
    auto item = take(in, max_item);
    if (!item) return std::move(item).error();
    items.push_back(*item);
  }
  return items;
}

}  // namespace nullq::netstring

#include "nullq/qmqp.hpp"

namespace nullq::proto::qmqp {

Result<std::string> encode_request(std::string_view message, std::string_view sender,
                                   const std::vector<std::string>& recipients) {
  if (recipients.empty()) return Error::permanent(ErrorDomain::format, "qmqp: no recipients");
  std::size_t inner = netstring::encoded_size(message.size()) + netstring::encoded_size(sender.size());
  for (const auto& r : recipients) inner += netstring::encoded_size(r.size());
  std::string out;
  out.reserve(netstring::encoded_size(inner));
  out += std::to_string(inner);
  out.push_back(':');
  netstring::append(out, message);
  netstring::append(out, sender);
  for (const auto& r : recipients) netstring::append(out, r);
  out.push_back(',');
  return out;
}

Result<Framed> frame_request(std::string_view message, std::string_view sender,
                             const std::vector<std::string>& recipients) {
  if (recipients.empty()) return Error::permanent(ErrorDomain::format, "qmqp: no recipients");
  std::size_t inner = netstring::encoded_size(message.size()) + netstring::encoded_size(sender.size());
  for (const auto& r : recipients) inner += netstring::encoded_size(r.size());
  Framed f;
  f.head = std::to_string(inner) + ":" + std::to_string(message.size()) + ":";
  f.tail.push_back(',');
  netstring::append(f.tail, sender);
  for (const auto& r : recipients) netstring::append(f.tail, r);
  f.tail.push_back(',');
  return f;
}

ResponseReader::State ResponseReader::feed(std::string_view in) {
  if (state_ == State::done) {
    // The verdict stands; what follows it is only reported.
    trailing_ += in.size();
    std::size_t room = max_trailing_sample - trailing_sample_.size();
    trailing_sample_.append(in.substr(0, room));
    return state_;
  }
  if (state_ == State::failed) return state_;
  std::size_t used = parser_.feed(in);
  if (parser_.failed()) {
    state_ = State::failed;
    error_ = Error::temporary(ErrorDomain::protocol, "qmqp: " + parser_.error().detail);
    return state_;
  }
  if (parser_.done()) {
    if (!parse_reply(parser_.payload(), reply_)) {
      state_ = State::failed;
      error_ = Error::temporary(ErrorDomain::protocol, parser_.payload().empty()
                                                           ? "qmqp: empty response"
                                                           : "qmqp: response does not start with K, Z or D");
      return state_;
    }
    state_ = State::done;
    if (used < in.size()) return feed(in.substr(used));
  }
  return state_;
}

ResponseReader::State ResponseReader::finish() {
  if (state_ == State::need_more) {
    state_ = State::failed;
    error_ = Error::temporary(ErrorDomain::protocol, "qmqp: connection closed before the response");
  }
  return state_;
}

Result<Request> decode_request(std::string_view outer_payload) {
  auto items = netstring::split(outer_payload);
  if (!items) return Error::permanent(ErrorDomain::protocol, "qmqp: " + items.error().detail);
  if (items->size() < 2) return Error::permanent(ErrorDomain::protocol, "qmqp: request without sender");
  if (items->size() < 3) return Error::permanent(ErrorDomain::protocol, "qmqp: request without recipients");
  Request req;
  req.message = std::string((*items)[0]);
  req.sender = std::string((*items)[1]);
  for (std::size_t i = 2; i < items->size(); ++i) req.recipients.emplace_back((*items)[i]);
  return req;
}

std::string encode_response(Verdict v, std::string_view text) { return encode_reply(v, text); }

}  // namespace nullq::proto::qmqp

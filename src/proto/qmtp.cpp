#include "nullq/qmtp.hpp"

namespace nullq::proto::qmtp {

namespace {

// Bytes of `message` once every CRLF is turned into LF.
std::size_t lf_size(std::string_view message) {
  std::size_t n = message.size();
  for (std::size_t i = 0; i + 1 < message.size(); ++i)
    if (message[i] == '\r' && message[i + 1] == '\n') --n;
  return n;
}

void append_lf(std::string& out, std::string_view message) {
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < message.size(); ++i) {
    if (message[i] == '\r' && message[i + 1] == '\n') {
      out.append(message.substr(start, i - start));
      start = i + 1;  // keep the LF
    }
  }
  out.append(message.substr(start));
}

}  // namespace

Result<std::string> encode_package(std::string_view message, std::string_view sender,
                                   const std::vector<std::string>& recipients) {
  if (recipients.empty()) return Error::permanent(ErrorDomain::format, "qmtp: no recipients");
  std::size_t body = 1 + lf_size(message);
  std::size_t rcpts = 0;
  for (const auto& r : recipients) rcpts += netstring::encoded_size(r.size());
  std::string out;
  out.reserve(netstring::encoded_size(body) + netstring::encoded_size(sender.size()) +
              netstring::encoded_size(rcpts));
  out += std::to_string(body);
  out += ":\n";
  append_lf(out, message);
  out.push_back(',');
  netstring::append(out, sender);
  out += std::to_string(rcpts);
  out.push_back(':');
  for (const auto& r : recipients) netstring::append(out, r);
  out.push_back(',');
  return out;
}

Result<Framed> frame_package(std::string_view message, std::string_view sender,
                             const std::vector<std::string>& recipients) {
  Framed f;
  if (lf_size(message) != message.size()) {
    auto whole = encode_package(message, sender, recipients);
    if (!whole) return std::move(whole).error();
    f.head = std::move(whole).value();
    return f;
  }
  if (recipients.empty()) return Error::permanent(ErrorDomain::format, "qmtp: no recipients");
  std::size_t rcpts = 0;
  for (const auto& r : recipients) rcpts += netstring::encoded_size(r.size());
  f.as_is = true;
  f.head = std::to_string(1 + message.size()) + ":\n";
  f.tail.reserve(1 + netstring::encoded_size(sender.size()) + netstring::encoded_size(rcpts));
  f.tail.push_back(',');
  netstring::append(f.tail, sender);
  f.tail += std::to_string(rcpts);
  f.tail.push_back(':');
  for (const auto& r : recipients) netstring::append(f.tail, r);
  f.tail.push_back(',');
  return f;
}

void ResponseReader::expect(std::uint64_t package, std::size_t recipients) {
  if (recipients == 0) std::abort();  // a package without recipients gets no answer: caller bug
  pending_.emplace_back(package, recipients);
}

Status ResponseReader::feed(std::string_view in, std::vector<Answer>& out) {
  if (failed_) return error_;
  while (!in.empty()) {
    if (pending_.empty()) {
      failed_ = true;
      error_ = Error::temporary(ErrorDomain::protocol, "qmtp: reply when no package is waiting");
      return error_;
    }
    std::size_t used = parser_.feed(in);
    in.remove_prefix(used);
    if (parser_.failed()) {
      failed_ = true;
      error_ = Error::temporary(ErrorDomain::protocol, "qmtp: " + parser_.error().detail);
      return error_;
    }
    if (!parser_.done()) break;
    Answer a;
    if (!parse_reply(parser_.payload(), a.reply)) {
      failed_ = true;
      error_ = Error::temporary(ErrorDomain::protocol, parser_.payload().empty()
                                                           ? "qmtp: empty reply"
                                                           : "qmtp: reply does not start with K, Z or D");
      return error_;
    }
    parser_.reset();
    auto& [tag, count] = pending_.front();
    a.package = tag;
    a.recipient = answered_++;
    if (answered_ == count) {
      a.package_complete = true;
      pending_.pop_front();
      answered_ = 0;
    }
    out.push_back(std::move(a));
  }
  return {};
}

void PackageParser::reset() {
  parser_ = netstring::Parser(max_message_ + 1);
  stage_ = 0;
  started_ = false;
  state_ = State::need_more;
  pkg_ = Package{};
  error_ = Error{};
}

std::size_t PackageParser::feed(std::string_view in) {
  std::size_t total = 0;
  while (state_ == State::need_more && !in.empty()) {
    started_ = true;
    std::size_t used = parser_.feed(in);
    total += used;
    in.remove_prefix(used);
    if (parser_.failed()) {
      state_ = State::failed;
      error_ = Error::permanent(ErrorDomain::protocol, "qmtp: " + parser_.error().detail);
      break;
    }
    if (!parser_.done()) break;
    std::string& payload = parser_.payload();
    if (stage_ == 0) {
      if (payload.empty()) {
        state_ = State::failed;
        error_ = Error::permanent(ErrorDomain::protocol, "qmtp: empty message netstring");
        break;
      }
      if (payload[0] == '\n') {
        pkg_.message.assign(payload, 1);
      } else if (payload[0] == '\r') {
        // CRLF form: every line must end in CRLF; a lone LF is an error.
        std::string& m = pkg_.message;
        m.reserve(payload.size());
        for (std::size_t i = 1; i < payload.size(); ++i) {
          char c = payload[i];
          if (c == '\r' && i + 1 < payload.size() && payload[i + 1] == '\n') continue;
          if (c == '\n' && payload[i - 1] != '\r') {
            state_ = State::failed;
            error_ = Error::permanent(ErrorDomain::protocol, "qmtp: bare LF in CRLF-encoded message");
            return total;
          }
          m.push_back(c);
        }
      } else {
        state_ = State::failed;
        error_ = Error::permanent(ErrorDomain::protocol, "qmtp: message encoding byte is not LF or CR");
        break;
      }
      stage_ = 1;
      // Sender and recipient lists are small; cap them well below the message limit.
      parser_ = netstring::Parser(1024 * 1024);
    } else if (stage_ == 1) {
      pkg_.sender = std::move(payload);
      parser_ = netstring::Parser(1024 * 1024);
      stage_ = 2;
    } else {
      auto items = netstring::split(payload, 1024 * 1024);
      if (!items) {
        state_ = State::failed;
        error_ = Error::permanent(ErrorDomain::protocol, "qmtp: recipients: " + items.error().detail);
        break;
      }
      for (auto r : *items) pkg_.recipients.emplace_back(r);
      state_ = State::done;
    }
  }
  return total;
}

std::string encode_response(Verdict v, std::string_view text) { return encode_reply(v, text); }

}  // namespace nullq::proto::qmtp

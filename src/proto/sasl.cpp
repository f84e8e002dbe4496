// SASL for SMTP AUTH: PLAIN, LOGIN, XOAUTH2, OAUTHBEARER encodings, the OAuth error challenge and
// the client's side of one exchange (see include/nullq/smtp.hpp, PROTOCOLS.md §5a and §5c).
#include <nlohmann/json.hpp>

#include "nullq/smtp.hpp"

namespace nullq::proto::smtp {

namespace {

constexpr std::size_t max_command_line = 512;  // RFC 5321 §4.5.3.1.4, CRLF included
constexpr std::size_t max_status = 64;         // of the 334 challenge's "status", as shown

void wipe(std::string& s) {
  for (auto& c : s) c = '\0';
  s.clear();
}

// RFC 5801 §4: in the gs2 header's authzid, ',' and '=' are escaped.
std::string gs2_escape(std::string_view user) {
  std::string out;
  out.reserve(user.size());
  for (char c : user) {
    if (c == ',') out += "=2C";
    else if (c == '=') out += "=3D";
    else out += c;
  }
  return out;
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + with.size()))
    text.replace(p, what.size(), with);
}

}  // namespace

std::string base64(std::string_view in) {
  static constexpr char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += tab[(v >> 18) & 63];
    out += tab[(v >> 12) & 63];
    out += tab[(v >> 6) & 63];
    out += tab[v & 63];
  }
  if (std::size_t left = in.size() - i; left) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (left == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += tab[(v >> 18) & 63];
    out += tab[(v >> 12) & 63];
    out += left == 2 ? tab[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view in, std::string& out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.clear();
  std::size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  if (pad && in.size() % 4 != 0) return false;
  in.remove_suffix(pad);
  if (in.size() % 4 == 1) return false;
  out.reserve(in.size() / 4 * 3 + 2);
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

std::string auth_plain(std::string_view user, std::string_view password) {
  std::string raw;
  raw.reserve(user.size() + password.size() + 2);
  raw.push_back('\0');
  raw.append(user);
  raw.push_back('\0');
  raw.append(password);
  std::string enc = base64(raw);
  wipe(raw);  // do not leave the secret lying in freed memory longer than needed
  return enc;
}

std::string auth_xoauth2(std::string_view user, std::string_view token) {
  std::string raw;
  raw.reserve(user.size() + token.size() + 24);
  raw.append("user=").append(user).append("\x01" "auth=Bearer ").append(token).append("\x01\x01");
  std::string enc = base64(raw);
  wipe(raw);
  return enc;
}

std::string auth_oauthbearer(std::string_view user, std::string_view host, std::uint16_t port,
                             std::string_view token) {
  std::string raw;
  raw.reserve(user.size() + host.size() + token.size() + 48);
  raw.append("n,a=").append(gs2_escape(user)).append(",\x01" "host=").append(host);
  raw.append("\x01" "port=").append(std::to_string(port));
  raw.append("\x01" "auth=Bearer ").append(token).append("\x01\x01");
  std::string enc = base64(raw);
  wipe(raw);
  return enc;
}

std::string oauth_error_summary(std::string_view challenge) {
  std::string json;
  if (challenge.empty() || !base64_decode(challenge, json)) return {};
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return {};
  auto it = doc.find("status");
  if (it == doc.end()) return {};
  std::string status;
  if (it->is_string()) status = it->get<std::string>();
  else if (it->is_number_integer()) status = std::to_string(it->get<long long>());
  else return {};
  if (status.empty()) return {};
  return "status=" + sanitize(status, max_status);
}

const char* to_string(Sasl m) {
  switch (m) {
    case Sasl::plain: return "PLAIN";
    case Sasl::login: return "LOGIN";
    case Sasl::xoauth2: return "XOAUTH2";
    case Sasl::oauthbearer: return "OAUTHBEARER";
  }
  return "?";
}

SaslClient::SaslClient(Sasl mechanism, const Credentials& c) : mech_(mechanism), user_(c.user), secret_(c.secret) {
  switch (mech_) {
    case Sasl::plain: response_ = auth_plain(c.user, c.secret); break;
    case Sasl::login:
      response_ = base64(c.user);
      password_b64_ = base64(c.secret);
      break;
    case Sasl::xoauth2: response_ = auth_xoauth2(c.user, c.secret); break;
    case Sasl::oauthbearer: response_ = auth_oauthbearer(c.user, c.host, c.port, c.secret); break;
  }
}

SaslClient::~SaslClient() {
  wipe(response_);
  wipe(password_b64_);
  wipe(secret_);
}

SaslClient::Step SaslClient::start() {
  Step s;
  if (state_ != State::initial) return fail_text("authentication failed: AUTH started twice", 0);
  const std::string verb = std::string("AUTH ") + to_string(mech_);
  if (mech_ == Sasl::login) {
    state_ = State::login_user;
    s.line = verb + "\r\n";
  } else if (verb.size() + 1 + response_.size() + 2 <= max_command_line) {
    state_ = State::response_sent;
    s.line = verb + " " + response_ + "\r\n";
  } else {
    state_ = State::go_ahead;
    s.line = verb + "\r\n";
  }
  return s;
}

SaslClient::Step SaslClient::on_reply(const Reply& r) {
  const bool oauth = mech_ == Sasl::xoauth2 || mech_ == Sasl::oauthbearer;
  if (state_ == State::initial || state_ == State::finished)
    return fail_text("authentication failed: unexpected reply " + redact(r.text()), r.code);
  if (r.code == 235 && state_ != State::dummy_sent) {
    state_ = State::finished;
    Step s;
    s.kind = Step::Kind::done;
    return s;
  }
  if (r.code != 334) return fail(r);
  Step s;
  switch (state_) {
    case State::go_ahead:
      state_ = State::response_sent;
      s.line = response_ + "\r\n";
      return s;
    case State::login_user:
      state_ = State::login_pass;
      s.line = response_ + "\r\n";
      return s;
    case State::login_pass:
      state_ = State::response_sent;
      s.line = password_b64_ + "\r\n";
      return s;
    case State::response_sent:
      if (oauth) {
        // The server's error JSON; it ends the exchange after our (empty) answer.
        std::string challenge;
        for (const auto& l : r.lines) challenge += l;
        oauth_error_ = redact(oauth_error_summary(challenge));
        state_ = State::dummy_sent;
        s.line = mech_ == Sasl::xoauth2 ? "\r\n" : "AQ==\r\n";
        return s;
      }
      break;
    default:
      break;
  }
  return fail_text("authentication failed: unexpected challenge " + redact(r.text()), r.code);
}

SaslClient::Step SaslClient::fail(const Reply& r) {
  const std::string text = redact(r.text());
  const bool oauth = mech_ == Sasl::xoauth2 || mech_ == Sasl::oauthbearer;
  const std::string why = oauth_error_.empty() ? std::string() : " (" + oauth_error_ + ")";
  if (oauth && r.code == 535)
    return fail_text("authentication failed: the server rejected the access token for " + sanitize(user_, 200) +
                         ": " + text + why,
                     r.code);
  if (!oauth && r.code == 535)
    return fail_text("authentication failed: the server rejected the user name or password (" + text +
                         "); check auth.user and the password_file",
                     r.code);
  return fail_text("authentication failed: " + text + why, r.code);
}

SaslClient::Step SaslClient::fail_text(std::string text, int code) {
  state_ = State::finished;
  Step s;
  s.kind = Step::Kind::failed;
  s.error = redact(std::move(text));
  s.code = code;
  s.oauth_error = oauth_error_;
  return s;
}

// A server may echo what it was sent; no secret reaches an error text even then.
std::string SaslClient::redact(std::string text) const {
  constexpr std::string_view mark = "[redacted]";
  if (secret_.size() >= 4) {
    replace_all(text, secret_, mark);
    replace_all(text, sanitize(secret_, secret_.size() * 4 + 8), mark);
  }
  if (response_.size() >= 4) replace_all(text, response_, mark);
  if (password_b64_.size() >= 4) replace_all(text, password_b64_, mark);
  return text;
}

}  // namespace nullq::proto::smtp

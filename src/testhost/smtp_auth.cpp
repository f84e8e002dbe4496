// smtp_auth.cpp — the test host's AUTH: PLAIN, LOGIN (RFC 4616, RFC 4954), XOAUTH2 and OAUTHBEARER
// (RFC 7628) with the 334 error JSON Google sends for a dead token (see testhost.hpp). Parsed here,
// independently of the client codec under test.
#include <cctype>
#include <string>
#include <vector>

#include "smtp_session.hpp"

namespace nullq::testhost {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// RFC 4648 base64 with padding; false on anything else.
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
  if (in.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
      } else if (pad > 0 || (v[j] = value(c)) < 0) {
        return false;
      }
    }
    unsigned n = (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return true;
}

std::string base64_encode(std::string_view in) {
  static constexpr char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += tab[(n >> 18) & 63];
    out += tab[(n >> 12) & 63];
    out += i + 1 < in.size() ? tab[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? tab[n & 63] : '=';
  }
  return out;
}

// A JSON string literal for the error JSON (the check's error is the test's own text).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

// "k=v\x01k=v\x01\x01" -> pairs; false unless it ends with the empty field.
bool kv_fields(std::string_view s, std::vector<std::pair<std::string, std::string>>& out) {
  for (;;) {
    std::size_t end = s.find('\x01');
    if (end == std::string_view::npos) return false;
    std::string_view field = s.substr(0, end);
    s.remove_prefix(end + 1);
    if (field.empty()) return s.empty();
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    out.emplace_back(std::string(field.substr(0, eq)), std::string(field.substr(eq + 1)));
  }
}

const std::string* field(const std::vector<std::pair<std::string, std::string>>& kv, std::string_view key) {
  for (const auto& [k, v] : kv)
    if (k == key) return &v;
  return nullptr;
}

bool offers_oauth(const Options& opt, bool xoauth2) {
  if (opt.caps.xoauth2 || opt.caps.oauthbearer) return xoauth2 ? opt.caps.xoauth2 : opt.caps.oauthbearer;
  return static_cast<bool>(opt.oauth_check);
}

}  // namespace

std::string auth_offer(const Options& opt) {
  std::string s;
  if (opt.caps.auth) s += "PLAIN LOGIN";
  if (offers_oauth(opt, true)) s += s.empty() ? "XOAUTH2" : " XOAUTH2";
  if (offers_oauth(opt, false)) s += s.empty() ? "OAUTHBEARER" : " OAUTHBEARER";
  return s;
}

AuthRun run_auth(const Options& opt, const std::string& arg, bool scripted,
                 const std::function<bool(const std::string&, std::string&)>& ask) {
  const bool enh = opt.caps.enhanced;
  auto error = [&](const char* plain, const char* enhanced) {
    AuthRun r;
    r.kind = AuthRun::Kind::error;
    r.line = enh ? enhanced : plain;
    return r;
  };
  auto gone = [] {
    AuthRun r;
    r.kind = AuthRun::Kind::gone;
    return r;
  };
  const std::string mech = upper(arg.substr(0, arg.find(' ')));
  const std::string initial = arg.size() > mech.size() ? arg.substr(mech.size() + 1) : "";
  AuthRun run;
  run.mechanism = mech;
  // The response: on the AUTH line, or after an empty 334. 1 ok, 0 cancelled or bad, -1 gone.
  auto response = [&](const std::string& challenge, std::string& decoded) -> int {
    std::string line;
    if (!ask(challenge, line)) return -1;
    if (line == "*") return 0;
    return base64_decode(line, decoded) ? 1 : 0;
  };
  std::string decoded, secret;
  const bool oauth = mech == "XOAUTH2" || mech == "OAUTHBEARER";
  if (mech == "PLAIN" || oauth) {
    if (mech == "PLAIN" ? !opt.caps.auth : !offers_oauth(opt, mech == "XOAUTH2"))
      return error("504 mechanism not supported", "504 5.5.4 mechanism not supported");
    if (initial.empty()) {
      int r = response("", decoded);
      if (r < 0) return gone();
      if (r == 0) return error("501 AUTH cancelled or bad base64", "501 5.5.2 AUTH cancelled or bad base64");
    } else if (initial == "=") {
      decoded.clear();
    } else if (!base64_decode(initial, decoded)) {
      return error("501 bad base64", "501 5.5.2 bad base64");
    }
  }
  if (mech == "PLAIN") {
    std::size_t z1 = decoded.find('\0');
    std::size_t z2 = z1 == std::string::npos ? z1 : decoded.find('\0', z1 + 1);
    if (z2 == std::string::npos) return error("501 bad PLAIN response", "501 5.5.2 bad PLAIN response");
    run.user = decoded.substr(z1 + 1, z2 - z1 - 1);
    secret = decoded.substr(z2 + 1);
  } else if (mech == "LOGIN") {
    if (!opt.caps.auth) return error("504 mechanism not supported", "504 5.5.4 mechanism not supported");
    if (!initial.empty()) {
      if (!base64_decode(initial, run.user)) return error("501 bad base64", "501 5.5.2 bad base64");
    } else {
      int r = response("VXNlcm5hbWU6", run.user);
      if (r < 0) return gone();
      if (r == 0) return error("501 AUTH cancelled or bad base64", "501 5.5.2 AUTH cancelled or bad base64");
    }
    int r = response("UGFzc3dvcmQ6", secret);
    if (r < 0) return gone();
    if (r == 0) return error("501 AUTH cancelled or bad base64", "501 5.5.2 AUTH cancelled or bad base64");
  } else if (mech == "XOAUTH2") {
    // user=U ^A auth=Bearer T ^A ^A
    std::vector<std::pair<std::string, std::string>> kv;
    const std::string* user = nullptr;
    const std::string* auth = nullptr;
    if (!kv_fields(decoded, kv) || !(user = field(kv, "user")) || !(auth = field(kv, "auth")) ||
        auth->rfind("Bearer ", 0) != 0)
      return error("501 bad XOAUTH2 response", "501 5.5.2 bad XOAUTH2 response");
    run.user = *user;
    secret = auth->substr(7);
  } else if (mech == "OAUTHBEARER") {
    // gs2 header "n,a=U," (RFC 5801; no channel binding), then k=v ^A ... ^A ^A (RFC 7628 §3.1).
    std::string_view d = decoded;
    if (d.substr(0, 2) != "n," && d.substr(0, 2) != "y,")
      return error("501 bad OAUTHBEARER gs2 header", "501 5.5.2 bad OAUTHBEARER gs2 header");
    d.remove_prefix(2);
    std::size_t comma = d.find(',');
    if (comma == std::string_view::npos)
      return error("501 bad OAUTHBEARER gs2 header", "501 5.5.2 bad OAUTHBEARER gs2 header");
    std::string_view authzid = d.substr(0, comma);
    d.remove_prefix(comma + 1);
    if (!authzid.empty()) {
      if (authzid.substr(0, 2) != "a=")
        return error("501 bad OAUTHBEARER gs2 header", "501 5.5.2 bad OAUTHBEARER gs2 header");
      authzid.remove_prefix(2);
      for (std::size_t i = 0; i < authzid.size(); ++i) {
        if (authzid[i] != '=') {
          run.user += authzid[i];
        } else if (authzid.substr(i, 3) == "=2C") {
          run.user += ',';
          i += 2;
        } else if (authzid.substr(i, 3) == "=3D") {
          run.user += '=';
          i += 2;
        } else {
          return error("501 bad OAUTHBEARER gs2 header", "501 5.5.2 bad OAUTHBEARER gs2 header");
        }
      }
    }
    if (d.empty() || d[0] != '\x01') return error("501 bad OAUTHBEARER response", "501 5.5.2 bad OAUTHBEARER response");
    d.remove_prefix(1);
    std::vector<std::pair<std::string, std::string>> kv;
    const std::string* auth = nullptr;
    if (!kv_fields(d, kv) || !(auth = field(kv, "auth")) || auth->rfind("Bearer ", 0) != 0)
      return error("501 bad OAUTHBEARER response", "501 5.5.2 bad OAUTHBEARER response");
    const std::string* host = field(kv, "host");
    const std::string* port = field(kv, "port");
    if (!host || !port || host->empty() || port->empty())
      return error("501 OAUTHBEARER without host or port", "501 5.5.2 OAUTHBEARER without host or port");
    run.oauth_host = *host;
    run.oauth_port = *port;
    secret = auth->substr(7);
  } else {
    return error("504 mechanism not supported", "504 5.5.4 mechanism not supported");
  }
  if (scripted) return run;
  if (!oauth) {
    auto it = opt.credentials.find(run.user);
    run.live = it != opt.credentials.end() && it->second == secret;
    return run;
  }
  std::string why;
  if (opt.oauth_check) {
    why = opt.oauth_check(run.user, secret);
  } else {
    auto it = opt.credentials.find(run.user);
    why = it != opt.credentials.end() && it->second == secret ? "" : "invalid_token";
  }
  run.live = why.empty();
  if (run.live) return run;
  // Google's answer to a dead token: the error JSON as a challenge, then 535 after the client's
  // line (XOAUTH2: empty; OAUTHBEARER: the %x01 dummy, RFC 7628 §3.2.3).
  const std::string json = "{\"status\":" + json_string(why) + ",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}";
  std::string line;
  if (!ask(base64_encode(json), line)) return gone();
  if (line != (mech == "XOAUTH2" ? "" : "AQ=="))
    return mech == "XOAUTH2" ? error("501 expected an empty line after the error challenge",
                                     "501 5.5.2 expected an empty line after the error challenge")
                             : error("501 expected AQ== after the error challenge",
                                     "501 5.5.2 expected AQ== after the error challenge");
  run.text = "Username and Password not accepted";
  return run;
}

}  // namespace nullq::testhost

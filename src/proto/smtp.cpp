// ESMTP codec: replies, capabilities, commands, body encoding (see include/nullq/smtp.hpp; SASL is sasl.cpp).
#include "nullq/smtp.hpp"

#include <cctype>

namespace nullq::proto::smtp {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A command argument must not carry the bytes that end or split a command line.
bool clean(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

Verdict Reply::verdict() const {
  if (code >= 200 && code < 300) return Verdict::ok;
  if (code >= 500 && code < 600) return Verdict::permanent;
  return Verdict::temporary;
}

std::string Reply::text() const {
  std::string t = std::to_string(code);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    t += i == 0 ? " " : " / ";
    t += lines[i];
  }
  return sanitize(t);
}

std::string enhanced_code(std::string_view text) {
  // class "." subject "." detail: 2|4|5 . 1-3 digits . 1-3 digits, then a space or the end.
  std::size_t i = 0;
  if (text.empty() || (text[0] != '2' && text[0] != '4' && text[0] != '5')) return {};
  i = 1;
  for (int part = 0; part < 2; ++part) {
    if (i >= text.size() || text[i] != '.') return {};
    ++i;
    std::size_t start = i;
    while (i < text.size() && digit(text[i]) && i - start < 4) ++i;
    if (i == start || i - start > 3) return {};
  }
  if (i < text.size() && text[i] != ' ') return {};
  return std::string(text.substr(0, i));
}

Status ReplyParser::fail(std::string why) {
  failed_ = true;
  error_ = Error::temporary(ErrorDomain::protocol, std::move(why));
  line_.clear();
  return error_;
}

Status ReplyParser::feed(std::string_view in, std::vector<Reply>& out) {
  if (failed_) return error_;
  while (!in.empty()) {
    std::size_t nl = in.find('\n');
    std::string_view part = in.substr(0, nl);
    if (line_.size() + part.size() > max_line) return fail("reply line longer than " + std::to_string(max_line) + " bytes");
    line_.append(part);
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
    std::string_view line = line_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) || line[0] < '1' ||
        line[0] > '5' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      return fail("malformed reply line: " + sanitize(line, 80));
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    bool more = line.size() > 3 && line[3] == '-';
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
    if (in_reply_ && code != cur_.code) return fail("reply code changed inside a multi-line reply");
    if (!in_reply_) {
      cur_ = Reply{};
      cur_.code = code;
      cur_.enhanced = enhanced_code(text);
      in_reply_ = true;
    }
    if (cur_.lines.size() >= max_lines) return fail("reply with more than " + std::to_string(max_lines) + " lines");
    cur_.lines.emplace_back(text);
    line_.clear();
    if (!more) {
      in_reply_ = false;
      out.push_back(std::move(cur_));
      cur_ = Reply{};
    }
  }
  return {};
}

Capabilities parse_ehlo(const Reply& r) {
  Capabilities c;
  c.esmtp = true;
  for (std::size_t i = 1; i < r.lines.size(); ++i) {
    const std::string& line = r.lines[i];
    c.keywords.push_back(sanitize(line, 200));
    std::string u = upper(line);
    std::string_view kw = u;
    std::string_view params;
    if (auto sp = kw.find(' '); sp != std::string_view::npos) {
      params = kw.substr(sp + 1);
      kw = kw.substr(0, sp);
    }
    if (kw == "PIPELINING") c.pipelining = true;
    else if (kw == "STARTTLS") c.starttls = true;
    else if (kw == "8BITMIME") c.eightbitmime = true;
    else if (kw == "SMTPUTF8") c.smtputf8 = true;
    else if (kw == "ENHANCEDSTATUSCODES") c.enhanced = true;
    else if (kw == "DSN") c.dsn = true;
    else if (kw == "SIZE") {
      c.size = true;
      std::uint64_t v = 0;
      bool ok = !params.empty();
      for (char ch : params) {
        if (!digit(ch) || v > (UINT64_MAX - 9) / 10) {
          ok = false;
          break;
        }
        v = v * 10 + static_cast<std::uint64_t>(ch - '0');
      }
      c.size_limit = ok ? v : 0;
    } else if (kw == "AUTH" || kw.substr(0, 5) == "AUTH=") {
      // "AUTH=LOGIN PLAIN" is how servers wrote it before RFC 2554 was final; read both.
      std::string list = std::string(kw.substr(4)) + " " + std::string(params);
      std::string_view rest = list;
      while (!rest.empty()) {
        std::size_t sp = rest.find_first_of(" =");
        std::string_view mech = rest.substr(0, sp);
        if (!mech.empty()) {
          if (mech == "PLAIN") c.auth_plain = true;
          if (mech == "LOGIN") c.auth_login = true;
          if (mech == "XOAUTH2") c.auth_xoauth2 = true;
          if (mech == "OAUTHBEARER") c.auth_oauthbearer = true;
          std::string name = sanitize(mech, 40);
          bool known = false;
          for (const auto& m : c.auth_mechanisms) known = known || m == name;
          if (!known && c.auth_mechanisms.size() < 32) c.auth_mechanisms.push_back(std::move(name));
        }
        if (sp == std::string_view::npos) break;
        rest.remove_prefix(sp + 1);
      }
    }
  }
  return c;
}

bool needs_smtputf8(std::string_view address) {
  for (unsigned char c : address) {
    if (c >= 0x80) return true;
  }
  return false;
}

bool is_8bit(std::string_view body) { return needs_smtputf8(body); }

Result<std::string> mail_from(std::string_view sender, const MailParams& p) {
  if (!clean(sender) || sender.find('>') != std::string_view::npos)
    return Error::permanent(ErrorDomain::format, "sender address cannot be sent over SMTP: " + sanitize(sender, 100));
  std::string s = "MAIL FROM:<" + std::string(sender) + ">";
  if (p.size) s += " SIZE=" + std::to_string(p.size);
  if (p.eightbit) s += " BODY=8BITMIME";
  if (p.smtputf8) s += " SMTPUTF8";
  if (!p.dsn.empty()) s += " " + p.dsn;
  s += "\r\n";
  return s;
}

Result<std::string> rcpt_to(std::string_view rcpt, std::string_view params) {
  if (rcpt.empty() || !clean(rcpt) || rcpt.find('>') != std::string_view::npos)
    return Error::permanent(ErrorDomain::format, "recipient address cannot be sent over SMTP: " + sanitize(rcpt, 100));
  return "RCPT TO:<" + std::string(rcpt) + ">" + (params.empty() ? "" : " " + std::string(params)) + "\r\n";
}

std::string ehlo(std::string_view name) { return "EHLO " + std::string(name) + "\r\n"; }
std::string helo(std::string_view name) { return "HELO " + std::string(name) + "\r\n"; }

// One state machine for what goes on the wire and for how much of it there is, so that SIZE= is
// always the byte count sent. RFC 5321 §2.3.8: a bare CR or a bare LF is not a line end a receiver
// agrees on (some take "<CR>.<CR>" as the end of data: SMTP smuggling). Every line end -- CRLF, a
// lone LF, a lone CR -- goes out as CRLF, and the dot at the start of every line so made is doubled.
// A CR at the end of a chunk waits (pending_cr_) for the next byte to say which it was.
template <class Sink>
void BodyEncoder::encode(std::string_view chunk, Sink& out) {
  std::size_t run = 0;  // start of bytes copied unchanged
  std::size_t i = 0;
  if (pending_cr_ && !chunk.empty()) {
    // The CR that ended the last chunk: CRLF when this chunk starts with its LF, else a lone CR.
    pending_cr_ = false;
    out.append("\r\n");
    line_start_ = true;
    if (chunk[0] == '\n') run = i = 1;
  }
  for (; i < chunk.size(); ++i) {
    const char c = chunk[i];
    if (line_start_ && c == '.') {
      out.append(chunk.substr(run, i - run));
      out.append(".");  // the doubled dot; the original follows with the run
      run = i;
    }
    if (c == '\n' || c == '\r') {
      out.append(chunk.substr(run, i - run));
      if (c == '\r' && i + 1 == chunk.size()) {
        pending_cr_ = true;
        line_start_ = false;
        return;
      }
      out.append("\r\n");
      if (c == '\r' && chunk[i + 1] == '\n') ++i;
      run = i + 1;
      line_start_ = true;
    } else {
      line_start_ = false;
    }
  }
  out.append(chunk.substr(run));
}

template <class Sink>
void BodyEncoder::end(Sink& out) {
  if (pending_cr_ || !line_start_) out.append("\r\n");
  out.append(".\r\n");
  line_start_ = true;
  pending_cr_ = false;
}

namespace {

struct StringSink {
  std::string& s;
  void append(std::string_view v) { s.append(v); }
};

struct CountSink {
  std::uint64_t n = 0;
  void append(std::string_view v) { n += v.size(); }
};

}  // namespace

void BodyEncoder::feed(std::string_view chunk, std::string& out) {
  out.reserve(out.size() + chunk.size() + chunk.size() / 32 + 8);
  StringSink sink{out};
  encode(chunk, sink);
}

void BodyEncoder::finish(std::string& out) {
  StringSink sink{out};
  end(sink);
}

std::uint64_t wire_size(std::string_view body) {
  BodyEncoder e;
  CountSink sink;
  e.encode(body, sink);
  e.end(sink);
  return sink.n;
}

}  // namespace nullq::proto::smtp

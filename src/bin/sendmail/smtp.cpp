#include "smtp.hpp"

#include <strings.h>

#include <cstring>

#include <string>
#include <vector>

#include "inject.hpp"
#include "nullq/envelope.hpp"
#include "nullq/msg.hpp"
#include "nullq/printable.hpp"

namespace nullq::sendmail {

namespace {

constexpr std::size_t max_command_line = 4096;
constexpr int max_errors = 20;

// Reads one line without its CRLF/LF. False at EOF. A line longer than `limit` is cut and flagged
// (the caller refuses it: a command, or a message that is too big, never a silently shortened line).
bool read_line(std::FILE* in, std::string& line, bool& too_long, std::size_t limit) {
  line.clear();
  too_long = false;
  int c;
  while ((c = std::fgetc(in)) != EOF) {
    if (c == '\n') {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return true;
    }
    if (line.size() < limit) line.push_back(static_cast<char>(c));
    else too_long = true;
  }
  return !line.empty();
}

bool starts_with_ci(const std::string& s, const char* prefix) {
  return ::strncasecmp(s.c_str(), prefix, std::strlen(prefix)) == 0;
}

// "FROM:<a@b> SIZE=10" -> "a@b"; false if there is no <...>.
bool path_arg(const std::string& rest, std::string& out) {
  std::size_t lt = rest.find('<'), gt = rest.find('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt) {
    // Some clients send "MAIL FROM: a@b" without brackets.
    std::size_t colon = rest.find(':');
    if (colon == std::string::npos) return false;
    std::string v = rest.substr(colon + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    out = v.substr(0, v.find(' '));
    return !out.empty();
  }
  out = rest.substr(lt + 1, gt - lt - 1);
  return true;
}

// The ESMTP parameters after the path ("<a@b> RET=HDRS ENVID=x" -> "RET=HDRS ENVID=x").
std::string_view params_of(std::string_view rest) {
  std::size_t gt = rest.find('>');
  if (gt == std::string_view::npos) {  // "MAIL FROM: a@b SIZE=10"
    std::size_t colon = rest.find(':');
    rest.remove_prefix(colon == std::string_view::npos ? rest.size() : colon + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    gt = rest.find(' ');
    if (gt == std::string_view::npos) return {};
  }
  return rest.substr(gt + 1);
}

// Applies MAIL's (rcpt=false) or RCPT's parameters: "" when they are fine, else the reply: 501 for
// a bad value, 555 for a parameter nullq does not know (RFC 5321 4.1.1.11).
template <typename Params, typename Set>
std::string apply_params(std::string_view text, Params& p, Set set, bool mail) {
  while (!text.empty()) {
    std::size_t sp = text.find(' ');
    std::string_view item = text.substr(0, sp);
    text.remove_prefix(sp == std::string_view::npos ? text.size() : sp + 1);
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    // SIZE and BODY are offered in EHLO and were always taken; their values change nothing here.
    if (mail && (::strcasecmp(std::string(key).c_str(), "SIZE") == 0 || ::strcasecmp(std::string(key).c_str(), "BODY") == 0))
      continue;
    auto r = set(p, key, value);
    if (!r) return "501 5.5.4 " + r.error().detail;
    if (!*r) return "555 5.5.4 unsupported parameter " + printable(key, 40);
  }
  return {};
}

}  // namespace

int smtp_session(const config::Config& cfg, const Options& opt, std::FILE* in, std::FILE* out, bool* queued) {
  auto say = [&](const std::string& s) {
    std::fputs((s + "\r\n").c_str(), out);
    std::fflush(out);
  };
  say("220 " + cfg.hostname + " ESMTP nullq");
  bool have_from = false;
  std::string from;
  std::vector<std::string> rcpts;
  DsnRequest request;  // RET/ENVID of this MAIL, NOTIFY/ORCPT of each RCPT; -N/-R/-V as defaults
  int errors = 0;
  std::string line;
  bool too_long = false;
  auto error = [&](const std::string& s) {
    say(s);
    return ++errors >= max_errors;
  };
  while (read_line(in, line, too_long, max_command_line)) {
    if (too_long) {
      if (error("500 5.5.2 line too long")) break;
      continue;
    }
    if (starts_with_ci(line, "HELO") || starts_with_ci(line, "EHLO")) {
      have_from = false;
      rcpts.clear();
      if (starts_with_ci(line, "EHLO")) {
        say("250-" + cfg.hostname);
        say("250-8BITMIME");
        say("250-PIPELINING");
        say("250-SIZE " + std::to_string(cfg.max_message_size));
        say("250-DSN");
        say("250 ENHANCEDSTATUSCODES");
      } else {
        say("250 " + cfg.hostname);
      }
    } else if (starts_with_ci(line, "MAIL FROM:")) {
      if (have_from) {
        if (error("503 5.5.1 sender already given")) break;
        continue;
      }
      if (!path_arg(line.substr(5), from)) {
        if (error("501 5.5.4 syntax: MAIL FROM:<address>")) break;
        continue;
      }
      if (auto s = envelope::validate_new_address(from, true); !s) {
        if (error("553 5.1.7 bad sender: " + s.error().detail)) break;
        continue;
      }
      if (auto s = msg::parse_sender(from); !s) {  // what the relay would refuse after we said 250
        if (error("553 5.1.7 " + s.error().detail)) break;
        continue;
      }
      request = DsnRequest{opt.mail_dsn, opt.notify, {}};
      if (auto bad = apply_params(params_of(line.substr(5)), request.message, dsn::set_mail_param, true); !bad.empty()) {
        if (error(bad)) break;
        continue;
      }
      have_from = true;
      say("250 2.1.0 ok");
    } else if (starts_with_ci(line, "RCPT TO:")) {
      std::string r;
      if (!have_from) {
        if (error("503 5.5.1 MAIL first")) break;
        continue;
      }
      if (!path_arg(line.substr(5), r) || r.empty()) {
        if (error("501 5.5.4 syntax: RCPT TO:<address>")) break;
        continue;
      }
      if (auto s = envelope::validate_new_address(r, false); !s) {
        if (error("553 5.1.3 bad recipient: " + s.error().detail)) break;
        continue;
      }
      dsn::RecipientParams rp;
      if (auto bad = apply_params(params_of(line.substr(5)), rp, dsn::set_rcpt_param, false); !bad.empty()) {
        if (error(bad)) break;
        continue;
      }
      if (rp.notify == 0) rp.notify = opt.notify.notify;
      rcpts.push_back(r);
      request.per_argument.push_back(std::move(rp));
      say("250 2.1.5 ok");
    } else if (::strcasecmp(line.c_str(), "DATA") == 0) {
      if (!have_from || rcpts.empty()) {
        if (error(have_from ? "503 5.5.1 RCPT first" : "503 5.5.1 MAIL first")) break;
        continue;
      }
      say("354 end data with <CR><LF>.<CR><LF>");
      std::string data;
      bool ended = false, oversize = false;
      // A message line may be as long as the message may be (RFC 5322's 998 is for senders to keep).
      while (read_line(in, line, too_long, cfg.max_message_size + 2)) {
        if (line == ".") {
          ended = true;
          break;
        }
        if (!line.empty() && line[0] == '.') line.erase(0, 1);  // dot-unstuffing
        if (too_long || data.size() + line.size() + 1 > cfg.max_message_size) oversize = true;
        if (!oversize) data += line + "\n";
      }
      if (!ended) return 0;  // EOF inside DATA: nothing is queued
      if (oversize) {
        say("552 5.3.4 message exceeds maximum size of " + std::to_string(cfg.max_message_size) + " bytes");
      } else {
        msg::Context ctx = system_context(cfg);
        ctx.sender_given = true;
        ctx.sender = from;
        ctx.full_name = opt.full_name;
        ctx.arguments = rcpts;
        Injected r = inject(cfg, ctx, data, request);
        if (r.exit_code == 0 && queued) *queued = true;
        if (r.exit_code == 0) say("250 2.0.0 ok: queued as " + r.id);
        else if (r.exit_code == 75 || r.exit_code == 73 || r.exit_code == 74) say("451 4.3.0 " + r.message);
        else say("554 5.6.0 " + r.message);
      }
      have_from = false;
      rcpts.clear();
    } else if (::strcasecmp(line.c_str(), "RSET") == 0) {
      have_from = false;
      rcpts.clear();
      say("250 2.0.0 ok");
    } else if (starts_with_ci(line, "NOOP")) {
      say("250 2.0.0 ok");
    } else if (starts_with_ci(line, "VRFY")) {
      say("252 2.5.2 cannot verify, but will accept");
    } else if (::strcasecmp(line.c_str(), "QUIT") == 0) {
      say("221 2.0.0 bye");
      return 0;
    } else {
      if (error("500 5.5.2 unknown command")) break;
    }
  }
  if (errors >= max_errors) say("421 4.7.0 too many errors");
  return 0;
}

}  // namespace nullq::sendmail

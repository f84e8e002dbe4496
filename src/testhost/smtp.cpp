// smtp.cpp — one SMTP/SMTPS connection of the test host: plain blocking socket, OpenSSL on the fd.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <thread>

#include "allowance.hpp"
#include "smtp_session.hpp"

namespace nullq::testhost {

namespace {

constexpr int poll_ms = 100;                       // how often a blocked read looks at the stop flag
constexpr std::size_t max_line = 64 * 1024;        // a command line longer than this ends the session
constexpr std::size_t long_reply = 1100;           // the over-long answer of long=STAGE

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && upper(s.substr(0, prefix.size())) == prefix;
}

// The enhanced code an answer gets when the script gives none (RFC 3463).
std::string default_enhanced(SmtpStage stage, int code) {
  int cls = code / 100;
  if (stage == SmtpStage::banner || stage == SmtpStage::ehlo) return "";  // greetings carry none (RFC 2034)
  if (code == 421) return "4.3.2";
  switch (stage) {
    case SmtpStage::data: return cls == 3 ? "" : cls == 4 ? "4.3.0" : "5.5.1";
    case SmtpStage::starttls: return cls == 2 ? "2.0.0" : cls == 4 ? "4.7.0" : "5.7.0";
    case SmtpStage::auth: return cls == 2 ? "2.7.0" : cls == 4 ? "4.7.0" : code == 535 ? "5.7.8" : "5.7.0";
    case SmtpStage::mail: return cls == 2 ? "2.1.0" : cls == 4 ? "4.3.0" : "5.7.1";
    case SmtpStage::rcpt: return cls == 2 ? "2.1.5" : cls == 4 ? "4.2.0" : "5.1.1";
    case SmtpStage::dot: return cls == 2 ? "2.0.0" : cls == 4 ? "4.3.0" : "5.6.0";
    default: return cls == 2 ? "2.0.0" : cls == 4 ? "4.3.0" : "5.5.0";
  }
}

std::string default_text(SmtpStage stage, int code) {
  switch (code / 100) {
    case 2: return stage == SmtpStage::quit ? "bye" : stage == SmtpStage::banner ? "testhost ESMTP" : "ok";
    case 3: return stage == SmtpStage::data ? "end data with <CR><LF>.<CR><LF>" : "go on";
    default: break;
  }
  if (code == 421) return "testhost closing the connection";
  return std::string(to_string(stage)) + (code / 100 == 4 ? " deferred by script" : " rejected by script");
}

class Session {
 public:
  Session(const SmtpEnv& env, int fd, bool implicit_tls, SmtpStep step, SmtpConnection* conn)
      : env_(env), opt_(env.opt), fd_(fd), implicit_(implicit_tls), step_(std::move(step)), conn_(conn) {}

  ~Session() {
    if (ssl_) {
      SSL_shutdown(ssl_);  // close_notify; the client's is not waited for
      SSL_free(ssl_);
    }
    ::close(fd_);
    if (counted_) env_.allowance->release();
    std::lock_guard lock(env_.mu);
    conn_->closed = true;
  }

  void run() {
    if (implicit_) {
      if (step_.tls_fail) {
        send_raw("this is not TLS\r\n");
        return;
      }
      if (!tls_accept()) return;
    }
    if (step_.hang == SmtpStage::banner) return hang();
    if (env_.allowance) {
      if (std::string no = env_.allowance->connect(); !no.empty()) {
        send_raw(no + "\r\n");
        return;
      }
      counted_ = true;
    }
    SmtpAnswer a = answer(SmtpStage::banner, 220);
    if (!reply(SmtpStage::banner, a)) return;
    for (;;) {
      std::string line;
      if (!next_line(line)) return;
      if (!command(line)) return;
    }
  }

 private:
  // ---- I/O ----
  bool read_more() {
    char tmp[65536];
    while (!env_.stopping) {
      if (!(ssl_ && SSL_pending(ssl_) > 0)) {
        pollfd p{fd_, POLLIN, 0};
        int rc = ::poll(&p, 1, poll_ms);
        if (rc < 0 && errno != EINTR) return false;
        if (rc <= 0) continue;
      }
      ssize_t n;
      if (ssl_) {
        n = SSL_read(ssl_, tmp, sizeof tmp);
        if (n <= 0) {
          if (SSL_get_error(ssl_, static_cast<int>(n)) == SSL_ERROR_WANT_READ) continue;
          ERR_clear_error();
          return false;
        }
      } else {
        n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
      }
      in_.append(tmp, static_cast<std::size_t>(n));
      ++reads_;
      return true;
    }
    return false;
  }

  bool send_raw(std::string_view data) {
    while (!data.empty()) {
      ssize_t n;
      if (ssl_) {
        n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
        if (n <= 0) {
          ERR_clear_error();
          return false;
        }
      } else {
        n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  bool flush() {
    if (out_.empty()) return true;
    std::string data = std::move(out_);
    out_.clear();
    return send_raw(data);
  }

  // One line without its line end. Answers wait in out_ while more complete lines are buffered
  // (so that a pipelined group gets its answers in one write, as RFC 2920 servers do).
  bool next_line(std::string& line) {
    for (;;) {
      std::size_t lf = in_.find('\n');
      if (lf != std::string::npos) {
        bool cr = lf > 0 && in_[lf - 1] == '\r';
        if (!cr) {
          bare_lf_ = true;
          std::lock_guard lock(env_.mu);
          conn_->bare_lf = true;
        }
        line.assign(in_, 0, cr ? lf - 1 : lf);
        ending_ = cr ? "\r\n" : "\n";
        in_.erase(0, lf + 1);
        return true;
      }
      if (in_.size() > max_line) {
        out_ += "500 5.5.2 line too long\r\n";
        flush();
        return false;
      }
      if (!flush() || !read_more()) return false;
    }
  }

  void pause(int ms) {
    for (int waited = 0; waited < ms && !env_.stopping; waited += 10)
      std::this_thread::sleep_for(std::chrono::milliseconds(ms - waited < 10 ? ms - waited : 10));
  }

  void hang() {
    flush();
    while (read_more()) in_.clear();
  }

  bool tls_accept() {
    if (!env_.tls) return false;
    ssl_ = SSL_new(env_.tls);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return false;
    ERR_clear_error();
    if (SSL_accept(ssl_) != 1) {
      ERR_clear_error();
      SSL_free(ssl_);
      ssl_ = nullptr;
      return false;
    }
    std::lock_guard lock(env_.mu);
    conn_->tls = true;
    conn_->tls_version = SSL_get_version(ssl_);
    if (const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) conn_->sni = sni;
    return true;
  }

  // ---- answers ----
  std::size_t index_for(SmtpStage stage) const {
    switch (stage) {
      case SmtpStage::mail: case SmtpStage::rcpt: case SmtpStage::data: case SmtpStage::dot:
        return transactions_ > 0 ? transactions_ - 1 : 0;
      default:
        return seen_[static_cast<std::size_t>(stage)];
    }
  }

  SmtpAnswer answer(SmtpStage stage, int code, std::size_t rcpt = 0) {
    const auto& list = step_.answers[static_cast<std::size_t>(stage)];
    SmtpAnswer a{code, ""};
    if (!list.empty()) {
      std::size_t i = index_for(stage);
      const auto& entry = list[i < list.size() ? i : list.size() - 1];
      a = entry[rcpt % entry.size()];
    }
    if (stage != SmtpStage::mail && stage != SmtpStage::rcpt && stage != SmtpStage::data && stage != SmtpStage::dot)
      ++seen_[static_cast<std::size_t>(stage)];
    return a;
  }

  bool scripted(SmtpStage stage) const { return !step_.answers[static_cast<std::size_t>(stage)].empty(); }

  // Queues the answer; false when the connection must end now (421, close-after).
  bool reply(SmtpStage stage, const SmtpAnswer& a, std::string text = "") {
    if (text.empty()) text = default_text(stage, a.code);
    std::string enhanced = a.enhanced;
    if (enhanced.empty() && opt_.caps.enhanced) enhanced = default_enhanced(stage, a.code);
    if (step_.long_line == stage) text += " " + std::string(long_reply, 'x');
    std::string code = std::to_string(a.code);
    std::string prefix = enhanced.empty() ? "" : enhanced + " ";
    if (step_.multiline && stage != SmtpStage::ehlo) {
      out_ += code + "-" + prefix + "testhost says:\r\n";
      out_ += code + "-" + prefix + "this answer has three lines\r\n";
    }
    out_ += code + " " + prefix + text + "\r\n";
    if (a.code == 421 || step_.close_after == stage) {
      flush();
      return false;
    }
    return true;
  }

  bool simple(std::string_view line) { out_.append(line).append("\r\n"); return true; }

  void note(std::string verb) {
    std::lock_guard lock(env_.mu);
    conn_->commands.push_back(std::move(verb));
  }

  void reset_transaction() {
    in_tx_ = false;
    msg_ = Received{};
  }

  // ---- commands ----
  bool command(const std::string& line) {
    std::string verb = upper(line.substr(0, line.find(' ')));
    std::string arg = line.size() > verb.size() ? line.substr(verb.size() + 1) : "";
    note(verb);
    if (verb == "EHLO" || verb == "HELO") return ehlo(verb, arg);
    if (verb == "STARTTLS") return starttls();
    if (verb == "AUTH") return auth(arg);
    if (verb == "MAIL") return mail(arg);
    if (verb == "RCPT") return rcpt(arg);
    if (verb == "DATA") return data();
    if (verb == "RSET") {
      if (step_.hang == SmtpStage::rset) return hang(), false;
      reset_transaction();
      return reply(SmtpStage::rset, answer(SmtpStage::rset, 250));
    }
    if (verb == "NOOP") return simple(opt_.caps.enhanced ? "250 2.0.0 ok" : "250 ok");
    if (verb == "QUIT") {
      {
        std::lock_guard lock(env_.mu);
        conn_->quit = true;
      }
      if (step_.hang == SmtpStage::quit) return hang(), false;
      reply(SmtpStage::quit, answer(SmtpStage::quit, 221));
      flush();
      return false;
    }
    return simple(opt_.caps.enhanced ? "500 5.5.2 command not recognized" : "500 command not recognized");
  }

  bool ehlo(const std::string& verb, const std::string& arg) {
    if (step_.hang == SmtpStage::ehlo) return hang(), false;
    reset_transaction();
    {
      std::lock_guard lock(env_.mu);
      conn_->ehlo = arg;
    }
    if (arg.empty()) return simple(opt_.caps.enhanced ? "501 5.5.4 EHLO needs a domain" : "501 EHLO needs a domain");
    SmtpAnswer a = answer(SmtpStage::ehlo, 250);
    ehlo_done_ = a.code == 250;
    if (a.code != 250 || verb == "HELO") return reply(SmtpStage::ehlo, a, a.code == 250 ? "testhost" : "");
    std::vector<std::string> caps;
    if (opt_.caps.pipelining) caps.push_back("PIPELINING");
    if (opt_.caps.size) caps.push_back("SIZE " + std::to_string(opt_.caps.size));
    if (opt_.caps.eightbitmime) caps.push_back("8BITMIME");
    if (opt_.caps.smtputf8) caps.push_back("SMTPUTF8");
    if (opt_.caps.starttls && env_.tls && !ssl_) caps.push_back("STARTTLS");
    if (std::string offer = auth_offer(opt_); !offer.empty()) caps.push_back("AUTH " + offer);
    if (opt_.caps.enhanced) caps.push_back("ENHANCEDSTATUSCODES");
    if (opt_.caps.dsn) caps.push_back("DSN");
    std::string greeting = "testhost greets " + arg;
    if (step_.long_line == SmtpStage::ehlo) greeting += " " + std::string(long_reply, 'x');
    caps.insert(caps.begin(), greeting);
    for (std::size_t i = 0; i < caps.size(); ++i) out_ += (i + 1 < caps.size() ? "250-" : "250 ") + caps[i] + "\r\n";
    if (step_.close_after == SmtpStage::ehlo) return flush(), false;
    return true;
  }

  bool starttls() {
    if (step_.hang == SmtpStage::starttls) return hang(), false;
    if (!opt_.caps.starttls || !env_.tls || ssl_)
      return simple(opt_.caps.enhanced ? "502 5.5.1 STARTTLS not offered" : "502 STARTTLS not offered");
    SmtpAnswer a = answer(SmtpStage::starttls, 220);
    if (a.code != 220) return reply(SmtpStage::starttls, a);
    if (!reply(SmtpStage::starttls, a, "ready to start TLS") || !flush()) return false;
    if (!in_.empty()) {
      // Bytes after STARTTLS in the same plaintext stream (RFC 3207 §5: they must be discarded).
      std::lock_guard lock(env_.mu);
      conn_->plaintext_after_starttls = true;
    }
    in_.clear();
    if (step_.tls_fail) {
      send_raw("this is not TLS\r\n");
      return false;
    }
    if (!tls_accept()) return false;
    // Everything known before TLS is forgotten (RFC 3207 §4.2).
    reset_transaction();
    ehlo_done_ = false;
    authenticated_ = false;
    return true;
  }

  bool auth(const std::string& arg) {
    {
      std::lock_guard lock(env_.mu);
      ++conn_->auth_attempts;
      if (!ssl_) conn_->auth_before_tls = true;
    }
    if (step_.hang == SmtpStage::auth) return hang(), false;
    auto err = [&](const char* plain, const char* enh) {
      return simple(opt_.caps.enhanced ? std::string(enh) : std::string(plain));
    };
    if (auth_offer(opt_).empty()) return err("502 AUTH not offered", "502 5.5.1 AUTH not offered");
    if (authenticated_) return err("503 already authenticated", "503 5.5.1 already authenticated");
    if (in_tx_) return err("503 AUTH during a transaction", "503 5.5.1 AUTH during a transaction");
    const bool script = scripted(SmtpStage::auth);
    AuthRun run = run_auth(opt_, arg, script, [this](const std::string& challenge, std::string& line) {
      out_ += "334 " + challenge + "\r\n";
      return next_line(line);
    });
    if (run.kind == AuthRun::Kind::gone) return false;
    if (run.kind == AuthRun::Kind::error) return simple(run.line);
    SmtpAnswer a = answer(SmtpStage::auth, 235);  // counts the occurrence
    if (!script) a.code = run.live ? 235 : 535;
    {
      std::lock_guard lock(env_.mu);
      if (!run.oauth_host.empty()) {
        conn_->oauth_host = run.oauth_host;
        conn_->oauth_port = run.oauth_port;
      }
      if (a.code == 235) {
        conn_->auth_user = run.user;
        conn_->auth_mechanism = run.mechanism;
      }
    }
    if (a.code == 235) {
      authenticated_ = true;
      auth_user_ = run.user;
    }
    std::string text = a.code == 235 ? "authenticated" : "";
    if (a.code == 535) text = run.text.empty() ? "authentication failed" : run.text;
    return reply(SmtpStage::auth, a, text);
  }

  // "FROM:<addr> params" -> addr, params; false on bad syntax.
  static bool path(const std::string& arg, std::string_view keyword, std::string& addr, std::string& params) {
    if (!starts_with_nocase(arg, keyword)) return false;
    std::string rest = arg.substr(keyword.size());
    if (rest.empty() || rest[0] != '<') return false;
    std::size_t close = rest.find('>');
    if (close == std::string::npos) return false;
    addr = rest.substr(1, close - 1);
    std::string tail = rest.substr(close + 1);
    if (!tail.empty() && tail[0] != ' ') return false;
    params = tail.empty() ? "" : tail.substr(1);
    return true;
  }

  bool mail(const std::string& arg) {
    if (step_.hang == SmtpStage::mail) return hang(), false;
    if (!ehlo_done_) return simple(opt_.caps.enhanced ? "503 5.5.1 EHLO first" : "503 EHLO first");
    if (in_tx_) return simple(opt_.caps.enhanced ? "503 5.5.1 nested MAIL" : "503 nested MAIL");
    std::string addr, params;
    if (!path(arg, "FROM:", addr, params))
      return simple(opt_.caps.enhanced ? "501 5.5.4 syntax: MAIL FROM:<address>" : "501 syntax: MAIL FROM:<address>");
    ++transactions_;
    if (opt_.caps.size) {
      std::string up = upper(params);
      std::size_t p = up.find("SIZE=");
      if (p != std::string::npos && (p == 0 || up[p - 1] == ' ') &&
          std::strtoull(up.c_str() + p + 5, nullptr, 10) > opt_.caps.size)
        return simple(opt_.caps.enhanced ? "552 5.3.4 message size exceeds fixed limit"
                                         : "552 message size exceeds fixed limit");
    }
    if (env_.allowance) {
      if (std::string no = env_.allowance->message(++limited_); !no.empty()) {
        simple(no);
        if (no.compare(0, 3, "421") != 0) return true;
        flush();  // 421: the connection ends after it
        return false;
      }
    }
    SmtpAnswer a = answer(SmtpStage::mail, 250);
    if (a.code / 100 == 2) {
      in_tx_ = true;
      mail_read_ = reads_;
      msg_ = Received{};
      msg_.sender = addr;
      msg_.mail_params = params;
    }
    return reply(SmtpStage::mail, a);
  }

  bool rcpt(const std::string& arg) {
    if (step_.hang == SmtpStage::rcpt) return hang(), false;
    if (!in_tx_) return simple(opt_.caps.enhanced ? "503 5.5.1 need MAIL first" : "503 need MAIL first");
    std::string addr, params;
    if (!path(arg, "TO:", addr, params))
      return simple(opt_.caps.enhanced ? "501 5.5.4 syntax: RCPT TO:<address>" : "501 syntax: RCPT TO:<address>");
    if (env_.allowance) {
      if (std::string no = env_.allowance->recipient(msg_.recipients.size()); !no.empty()) {
        msg_.rcpts.push_back(RcptAnswer{addr, params, std::stoi(no.substr(0, 3))});
        return simple(no);
      }
    }
    SmtpAnswer a = answer(SmtpStage::rcpt, 250, msg_.rcpts.size());
    msg_.rcpts.push_back(RcptAnswer{addr, params, a.code});
    if (a.code / 100 == 2) msg_.recipients.push_back(addr);
    return reply(SmtpStage::rcpt, a);
  }

  bool data() {
    if (step_.hang == SmtpStage::data) return hang(), false;
    if (!in_tx_) return simple(opt_.caps.enhanced ? "503 5.5.1 need MAIL first" : "503 need MAIL first");
    if (msg_.recipients.empty())
      return simple(opt_.caps.enhanced ? "554 5.5.1 no valid recipients" : "554 no valid recipients");
    msg_.pipelined = mail_read_ == reads_;
    SmtpAnswer a = answer(SmtpStage::data, 354);
    if (a.code != 354) {
      reset_transaction();
      return reply(SmtpStage::data, a);
    }
    if (!reply(SmtpStage::data, a)) return false;
    bool lf_before = bare_lf_;
    bare_lf_ = false;
    bool too_big = false;
    bool too_long = false;
    std::size_t limit = opt_.caps.size ? std::min(opt_.caps.size, opt_.max_message) : opt_.max_message;
    std::string line;
    for (;;) {
      if (!next_line(line)) return false;
      if (line == ".") break;
      bool ends = false;
      if (step_.cr_dot_cr) {
        const std::string raw = line + ending_;
        if (std::size_t p = raw.find("\r.\r"); p != std::string::npos) {
          // What follows the <CR>.<CR> (and an LF right after it) is read as commands, as such a
          // receiver does.
          std::size_t rest = p + 3 < raw.size() && raw[p + 3] == '\n' ? p + 4 : p + 3;
          if (rest < raw.size()) in_.insert(0, raw.substr(rest));
          line.resize(p);
          ending_.clear();
          ends = true;
        }
      }
      if (line.find('\r') != std::string::npos) msg_.bare_cr = true;
      // RFC 5321 §4.5.3.1.6: 998 bytes, not counting a dot doubled for transparency.
      if (line.size() - (line.rfind("..", 0) == 0 ? 1 : 0) > 998) too_long = true;
      if (too_big && ends) break;
      if (too_big) continue;
      msg_.data.append(line).append(ending_);
      std::string_view text = line;
      if (!text.empty() && text[0] == '.') text.remove_prefix(1);
      if (msg_.message.size() + text.size() + 1 > limit) {
        too_big = true;
        msg_.message.clear();
        msg_.data.clear();
        continue;
      }
      msg_.message.append(text).push_back('\n');
      if (ends) break;
    }
    msg_.bare_lf = bare_lf_;
    bare_lf_ = bare_lf_ || lf_before;
    if (step_.hang == SmtpStage::dot) return hang(), false;
    if (step_.delay_ms > 0) {
      flush();
      pause(step_.delay_ms);
    }
    a = too_big ? SmtpAnswer{552, "5.3.4"} : answer(SmtpStage::dot, 250);
    std::string text;
    if (opt_.refuse_long_lines && too_long) {
      a = SmtpAnswer{500, "5.5.2"};
      text = "Line too long";
    }
    Received r = std::move(msg_);
    reset_transaction();
    r.protocol = implicit_ ? "smtps" : "smtp";
    r.final_code = a.code;
    char letter = a.code / 100 == 2 ? 'K' : a.code / 100 == 4 ? 'Z' : 'D';
    r.answers.assign(r.recipients.size(), letter);
    r.tls = ssl_ != nullptr;
    r.auth_user = auth_user_;
    {
      std::lock_guard lock(env_.mu);
      r.connection = conn_->id;
      r.index_in_connection = ++conn_->messages;
    }
    env_.record(std::move(r));
    if (text.empty()) text = too_big ? "message too big" : a.code == 250 ? "queued as testhost" : "";
    return reply(SmtpStage::dot, a, text);
  }

  const SmtpEnv& env_;
  const Options& opt_;
  int fd_;
  bool implicit_;
  SmtpStep step_;
  SmtpConnection* conn_;
  SSL* ssl_ = nullptr;
  std::string in_, out_;
  unsigned long reads_ = 0, mail_read_ = 0;
  std::size_t seen_[smtp_stage_count] = {};
  std::size_t transactions_ = 0;
  std::string ending_;  // the line end next_line() took off: "\r\n" or "\n"
  bool counted_ = false;   // took a place in Options::limits.connections
  unsigned limited_ = 0;   // messages started, for Options::limits.per_connection
  bool ehlo_done_ = false, in_tx_ = false, authenticated_ = false, bare_lf_ = false;
  std::string auth_user_;
  Received msg_;
};

}  // namespace

void serve_smtp(const SmtpEnv& env, int fd, bool implicit_tls, SmtpStep step, SmtpConnection* conn) {
  // OpenSSL writes to the socket with write(): a client that went away must give EPIPE, not a
  // SIGPIPE that ends the test process. The signal is thread-directed, so blocking it here works.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  Session(env, fd, implicit_tls, std::move(step), conn).run();
}

}  // namespace nullq::testhost

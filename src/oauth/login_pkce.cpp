// login_pkce.cpp — `nullq-oauth login` with the authorization code grant, PKCE (RFC 7636) and a
// loopback redirect (RFC 8252 §7.3): the browser's redirect comes either to a listener on
// 127.0.0.1 or as an address the admin pastes (a browser on another machine); the first one
// whose `state` matches wins.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <map>

#include "login.hpp"
#include "pkce.hpp"

namespace nullq::oauth {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t max_line = 8192;

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out += ' ';
    else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else out += s[i];
  }
  return out;
}

// The query of a redirect address or request target ("...?a=b&c=d#frag").
std::map<std::string, std::string> query_of(std::string_view target) {
  std::map<std::string, std::string> q;
  std::size_t mark = target.find('?');
  if (mark == std::string_view::npos) return q;
  target = target.substr(mark + 1);
  target = target.substr(0, target.find('#'));
  while (!target.empty()) {
    std::size_t amp = target.find('&');
    std::string_view pair = target.substr(0, amp);
    target = amp == std::string_view::npos ? std::string_view{} : target.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    q.emplace(unescape(pair.substr(0, eq)), unescape(pair.substr(eq + 1)));
  }
  return q;
}

struct Redirect {
  bool done = false;
  std::string code, error, error_description;
};

// Judges one redirect's query. done when it belongs to this login (state matches).
Redirect judge(const std::map<std::string, std::string>& q, const std::string& state, std::string& why) {
  Redirect r;
  auto code = q.find("code"), error = q.find("error"), st = q.find("state");
  if (code == q.end() && error == q.end()) {
    why = "that address holds neither code nor error";
    return r;
  }
  if (st == q.end() || st->second != state) {
    why = "ignored a redirect whose state does not match this login";
    return r;
  }
  r.done = true;
  if (code != q.end()) r.code = code->second;
  else {
    r.error = printable(error->second, 64);
    auto d = q.find("error_description");
    if (d != q.end()) r.error_description = printable(d->second);
  }
  return r;
}

void send_text(int fd, int status, const std::string& text) {
  std::string reply = "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Bad Request") +
                      "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(text.size()) +
                      "\r\nConnection: close\r\n\r\n" + text;
  (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
}

// Reads one HTTP request head from the browser (5 seconds at most) and returns its target.
std::string read_target(int fd) {
  std::string head;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < max_line) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return "";
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return "";
    char buf[2048];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<std::size_t>(n));
  }
  if (head.rfind("GET ", 0) != 0) return "";
  std::size_t sp = head.find(' ', 4);
  return sp == std::string::npos ? "" : head.substr(4, sp - 4);
}

int listen_loopback(int port, int& bound_port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd, 8) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  bound_port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

int login_pkce(const Request& r, int in_fd, std::FILE* out, std::FILE* err) {
  int port = 0;
  int lfd = listen_loopback(r.redirect_port, port);
  if (lfd < 0) {
    std::fprintf(err, "nullq-oauth: cannot listen on 127.0.0.1:%d: %s\n", r.redirect_port, std::strerror(errno));
    return exit_unreachable;
  }
  std::string verifier = random_urlsafe(32), state = random_urlsafe(16);
  std::string redirect_uri = "http://127.0.0.1:" + std::to_string(port) + "/";
  Form q = {{"response_type", "code"}, {"client_id", r.client_id}, {"redirect_uri", redirect_uri},
            {"state", state}, {"code_challenge", s256_challenge(verifier)}, {"code_challenge_method", "S256"}};
  if (!r.scope.empty()) q.emplace_back("scope", r.scope);
  if (!r.user.empty()) q.emplace_back("login_hint", r.user);
  std::string url = r.authorize_url + (r.authorize_url.find('?') == std::string::npos ? "?" : "&") + form_encode(q);
  std::fprintf(out, "Open this address in a browser and sign in:\n%s\n", url.c_str());
  std::fprintf(out, "Waiting for the browser on 127.0.0.1 port %d; or paste here the address it was sent to:\n", port);
  std::fflush(out);

  auto deadline = Clock::now() + std::chrono::seconds(r.login_timeout);
  std::string line;
  bool stdin_open = in_fd >= 0;
  Redirect got;
  while (!got.done) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      ::close(lfd);
      return login_failed(err, "the sign-in", Failure{"expired", "nobody signed in in time", false});
    }
    pollfd p[2] = {{lfd, POLLIN, 0}, {stdin_open ? in_fd : -1, POLLIN, 0}};
    int rc = ::poll(p, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    std::string why;
    if (p[0].revents & POLLIN) {
      int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        std::string target = read_target(fd);
        got = judge(query_of(target), state, why);
        if (got.done) send_text(fd, 200, got.code.empty() ? "nullq: the sign-in was refused.\n" : "nullq: signed in; you may close this window.\n");
        else send_text(fd, 400, "nullq: " + why + "\n");
        ::close(fd);
        if (!got.done && !target.empty() && why.find("state") != std::string::npos) std::fprintf(err, "nullq-oauth: %s\n", why.c_str());
      }
    }
    if (!got.done && (p[1].revents & (POLLIN | POLLHUP))) {
      char buf[1024];
      ssize_t n = ::read(in_fd, buf, sizeof buf);
      if (n <= 0 && !(n < 0 && errno == EINTR)) stdin_open = false;
      for (ssize_t i = 0; i < n && !got.done; ++i) {
        if (buf[i] != '\n') {
          if (line.size() < max_line) line += buf[i];
          continue;
        }
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (!line.empty()) {
          got = judge(query_of(line), state, why);
          if (!got.done) std::fprintf(err, "nullq-oauth: %s; paste the whole address again\n", why.c_str());
        }
        line.clear();
      }
    }
  }
  ::close(lfd);
  if (!got.done) return login_failed(err, "waiting for the browser", Failure{"network", std::strerror(errno), true});
  if (!got.error.empty()) return login_failed(err, "the provider refused", Failure{got.error, got.error_description, false});
  Form exchange = {{"grant_type", "authorization_code"}, {"code", got.code}, {"redirect_uri", redirect_uri},
                   {"code_verifier", verifier}, {"client_id", r.client_id}};
  if (!r.client_secret.empty()) exchange.emplace_back("client_secret", r.client_secret);
  TokenAnswer t = request_tokens(r.token_url, exchange, r.ca_file, r.timeout);
  if (!t.ok) return login_failed(err, "the code exchange", t.failure);
  return store_login(r, t.tokens, out, err);
}

}  // namespace nullq::oauth

// nullq-oauth: gets OAuth 2.0 tokens for nullq-send and `nullq oauth login`; the protocol is in
// include/nullq/oauth.hpp. No secret is ever taken from argv or the environment.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "nullq_build_config.h"

namespace {

constexpr const char* usage_text =
    "usage: nullq-oauth token    (the JSON request on stdin, the JSON answer on stdout)\n"
    "       nullq-oauth login    (the JSON request on file descriptor 3; talks to the terminal)\n"
    "       nullq-oauth --help | --version\n";

// The whole of `fd`, at most max_request bytes; false when it is larger or unreadable.
bool read_all(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > nullq::oauth::max_request) return false;
  }
}

void wipe(std::string& s) {
  if (!s.empty()) explicit_bzero(s.data(), s.size());
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc != 2) {
    std::fprintf(stderr, "nullq-oauth: %s\n%s", argc < 2 ? "no command given" : "too many arguments", usage_text);
    return 64;
  }
  std::string cmd = argv[1];
  if (cmd == "--help") {
    std::fputs(usage_text, stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("nullq-oauth %s\n", NULLQ_VERSION);
    return 0;
  }
  if (cmd != "token" && cmd != "login") {
    std::fprintf(stderr, "nullq-oauth: unknown command '%s'\n%s", cmd.c_str(), usage_text);
    return 64;
  }
  bool login = cmd == "login";
  int in = login ? 3 : 0;
  std::string text;
  if (!read_all(in, text)) {
    wipe(text);
    std::fprintf(stderr, "nullq-oauth: cannot read the request on %s: %s\n", login ? "file descriptor 3" : "stdin",
                 errno ? std::strerror(errno) : "larger than 64 KiB");
    return 64;
  }
  if (login) ::close(3);
  auto request = nullq::oauth::parse_request(text, login);
  wipe(text);
  if (!request && !login && request.error().code == 1) {
    // A JSON request with a wrong field: the caller gets an answer that needs the admin, not a
    // failure it would retry.
    nlohmann::json j = {{"ok", false}, {"error", "bad_request"}, {"description", request.error().detail},
                        {"temporary", false}};
    std::printf("%s\n", j.dump().c_str());
    return std::fflush(stdout) == 0 ? 0 : 74;
  }
  if (!request) {
    std::fprintf(stderr, "nullq-oauth: %s\n", request.error().message().c_str());
    return 64;
  }
  if (login) {
    int rc = nullq::oauth::run_login(*request, 0, stdout, stderr);
    wipe(request->client_secret);
    return rc;
  }
  std::string answer = nullq::oauth::run_token(*request);
  wipe(request->client_secret);
  answer += "\n";
  bool written = std::fwrite(answer.data(), 1, answer.size(), stdout) == answer.size() && std::fflush(stdout) == 0;
  wipe(answer);
  if (!written) {
    std::fprintf(stderr, "nullq-oauth: cannot write the answer: %s\n", std::strerror(errno));
    return 74;
  }
  return 0;
}

// idp_impl.hpp — the test identity provider's state, shared by its server (idp.cpp) and its
// endpoints (idp_endpoints.cpp).
//
// Purpose:   one place for the issued tokens, codes and switches.
// Trust:     see testhost_idp.hpp.
// Errors:    handle() always makes an answer.
// Threading: every member behind mu except the listener and thread bookkeeping (accept thread).
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "idp_http.hpp"
#include "nullq/testhost_idp.hpp"

namespace nullq::testhost {

using Clock = std::chrono::steady_clock;

struct Idp::Impl {
  IdpOptions opt;
  int listen_fd = -1;
  std::uint16_t port = 0;
  SSL_CTX* tls = nullptr;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::vector<std::thread> workers;  // accept thread only (and stop())

  struct Access {
    Clock::time_point expires;
  };
  struct Device {
    std::string client_id;
    std::size_t polls = 0;
    bool done = false;
    Clock::time_point expires;
    Clock::time_point last_poll{};  // RFC 8628 §3.5: polls closer than `interval` get slow_down
    int interval = 0;               // seconds; 5 more after every slow_down answered

  };
  struct Code {
    std::string client_id, redirect_uri, challenge;
  };

  mutable std::mutex mu;
  bool unavailable = false;
  bool auto_approve = true;
  bool rotate = true;
  std::vector<std::string> device_script{"approve"};
  std::map<std::string, Access> access;         // access token -> expiry
  std::map<std::string, std::string> refresh;   // live refresh token -> client_id
  std::map<std::string, Device> devices;        // device_code -> state
  std::map<std::string, Code> codes;            // authorization code -> what it was issued for
  std::map<std::string, std::size_t> counts;
  std::vector<std::string> issued;              // every access and refresh token ever issued
  std::size_t connections = 0;

  ~Impl() {
    if (tls) SSL_CTX_free(tls);
  }

  // The answer (a whole HTTP response) to one request. Locks mu itself.
  std::string handle(const http::Request& req);

  // Helpers for handle(), called with mu held.
  std::string token_endpoint(const http::Request& req, const std::map<std::string, std::string>& form);
  std::string devicecode_endpoint(const http::Request& req, const std::map<std::string, std::string>& form);
  Result<std::string> authorize_locked(std::string_view query);
  std::string issue_tokens(const std::string& client_id, bool with_refresh);

  void accept_loop();
  void serve(int fd);
};

std::string random_token(std::size_t bytes);
std::string json_error(int status, std::string_view error, std::string_view description);

}  // namespace nullq::testhost

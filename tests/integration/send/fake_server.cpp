#include "fake_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace nullq::send::it {

namespace {

// Blocking reader with a small buffer; false on EOF/error.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}
  bool byte(char& c) {
    if (pos_ == len_) {
      ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
      if (n <= 0) return false;
      len_ = static_cast<std::size_t>(n);
      pos_ = 0;
    }
    c = buf_[pos_++];
    ++consumed_;
    return true;
  }
  bool netstring(std::string& out, std::size_t limit = 64 << 20) {
    std::size_t len = 0;
    char c;
    int digits = 0;
    while (true) {
      if (!byte(c)) return false;
      if (c == ':') break;
      if (c < '0' || c > '9' || ++digits > 9) return false;
      len = len * 10 + static_cast<std::size_t>(c - '0');
    }
    if (digits == 0 || len > limit) return false;
    out.clear();
    out.reserve(len);
    for (std::size_t i = 0; i < len; ++i) {
      if (!byte(c)) return false;
      out += c;
    }
    return byte(c) && c == ',';
  }
  std::size_t consumed() const { return consumed_; }

 private:
  int fd_;
  char buf_[65536];
  std::size_t pos_ = 0, len_ = 0, consumed_ = 0;
};

bool split(const std::string& s, std::vector<std::string>& items) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t colon = s.find(':', i);
    if (colon == std::string::npos) return false;
    std::size_t len = std::stoul(s.substr(i, colon - i));
    if (colon + 1 + len >= s.size() || s[colon + 1 + len] != ',') return false;
    items.push_back(s.substr(colon + 1, len));
    i = colon + 2 + len;
  }
  return true;
}

std::string ns(const std::string& s) { return std::to_string(s.size()) + ":" + s + ","; }

}  // namespace

FakeServer::FakeServer(Proto p, const std::string& ip, std::uint16_t port)
    : proto_(p), listener_(ip, port, 2000) {
  replier_ = [](const Received& r) { return std::vector<std::string>(r.rcpts.size(), "Kok thanks"); };
  listener_.start([this](int fd) { serve(fd); });
}

FakeServer::~FakeServer() { listener_.stop(); }

std::string FakeServer::url() const { return listener_.url(proto_ == Proto::qmtp ? "qmtp" : "qmqp"); }

void FakeServer::set_replier(Replier r) {
  std::lock_guard<std::mutex> g(mu_);
  replier_ = std::move(r);
}

void FakeServer::set_fault(Fault f) {
  std::lock_guard<std::mutex> g(mu_);
  fault_ = f;
}

std::vector<Received> FakeServer::received() {
  std::lock_guard<std::mutex> g(mu_);
  return received_;
}

std::size_t FakeServer::count() {
  std::lock_guard<std::mutex> g(mu_);
  return received_.size();
}

std::vector<std::string> FakeServer::replies_for(const Received& r) {
  std::lock_guard<std::mutex> g(mu_);
  received_.push_back(r);
  return replier_(r);
}

void FakeServer::answer(int fd, const std::string& payload, Fault f) {
  if (f == Fault::garbage) {
    send_all(fd, "this is not a netstring\r\n");
    return;
  }
  if (f == Fault::oversize) {
    send_all(fd, ns("K" + std::string(100 * 1024, 'x')));
    return;
  }
  std::string wire = ns(payload);
  if (f == Fault::drip) {
    for (char c : wire) {
      send_all(fd, std::string(1, c));
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    return;
  }
  if (f == Fault::junk_after_answer) wire += "junk after the answer\r\n";
  send_all(fd, wire);
}

void FakeServer::count_in(int fd) {
  std::lock_guard<std::mutex> g(count_mu_);
  std::size_t now = 1;
  for (int other : counted_) {
    pollfd p{other, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) == 0) ++now;  // no end from the client yet
  }
  counted_.push_back(fd);
  if (now > max_concurrent_) max_concurrent_ = now;
}

void FakeServer::count_out(int fd) {
  std::lock_guard<std::mutex> g(count_mu_);
  std::erase(counted_, fd);
}

void FakeServer::serve(int fd) {
  count_in(fd);
  Fault f;
  {
    std::lock_guard<std::mutex> g(mu_);
    f = fault_;
  }
  if (proto_ == Proto::qmtp) {
    serve_qmtp(fd, f);
    count_out(fd);
  } else {
    serve_qmqp(fd, f);  // counts itself out before its answer
  }
}

bool FakeServer::serve_qmtp(int fd, Fault f) {
  Reader rd(fd);
  if (f == Fault::close_mid_request) {
    char c;
    for (int i = 0; i < 5 && rd.byte(c); ++i) {
    }
    return false;
  }
  while (!listener_.stopping()) {
    Received r;
    std::string msg, rcpts;
    if (!rd.netstring(msg)) return true;  // EOF between packages: the client is done
    if (msg.empty() || (msg[0] != '\n' && msg[0] != '\r')) return false;
    r.message = msg.substr(1);
    std::vector<std::string> items;
    if (!rd.netstring(r.sender) || !rd.netstring(rcpts) || !split(rcpts, r.rcpts)) return false;
    auto replies = replies_for(r);
    if (f == Fault::hang) {
      while (!listener_.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return false;
    }
    for (std::size_t i = 0; i < r.rcpts.size(); ++i) {
      answer(fd, i < replies.size() ? replies[i] : "Kok", f);
      if (f == Fault::garbage || f == Fault::oversize) return false;
    }
  }
  return true;
}

void FakeServer::serve_qmqp(int fd, Fault f) {
  struct Out {  // leaves the concurrency count on every return
    FakeServer& server;
    int fd;
    bool done = false;
    void now() {
      if (done) return;
      server.count_out(fd);
      done = true;
    }
    ~Out() { now(); }
  } out{*this, fd};
  Reader rd(fd);
  if (f == Fault::close_mid_request) {
    char c;
    for (int i = 0; i < 5 && rd.byte(c); ++i) {
    }
    return;
  }
  if (f == Fault::early_reply) {
    char c;
    for (int i = 0; i < 16 && rd.byte(c); ++i) {
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      received_.push_back(Received{});  // counted, not parsed
    }
    send_all(fd, ns("Dmessage too big for this test server (#5.3.4)"));
    ::shutdown(fd, SHUT_WR);
    while (!listener_.stopping() && rd.byte(c)) {
    }
    return;
  }
  std::string outer;
  if (!rd.netstring(outer)) return;
  std::vector<std::string> items;
  if (!split(outer, items) || items.size() < 3) return;
  Received r;
  r.message = items[0];
  r.sender = items[1];
  r.rcpts.assign(items.begin() + 2, items.end());
  auto replies = replies_for(r);
  if (f == Fault::hang) {
    while (!listener_.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return;
  }
  if (f == Fault::stall) {
    // Until the client gives up (its timeout) and closes; the count then shows only what it holds.
    char c;
    while (!listener_.stopping() && rd.byte(c)) {
    }
    return;
  }
  // The client is done with this connection once it has the answer and may open the next one at
  // once: count this one out first, so that max_concurrent() counts only what the client holds.
  out.now();
  answer(fd, replies.empty() ? "Kok" : replies[0], f);
}

}  // namespace nullq::send::it

// soak_server — a QMTP server with random faults for bench/soak (not a test, not src/testhost).
//
// Usage: soak_server PORTFILE EVENTLOG [SEED]. Listens on 127.0.0.1:0, writes the port to PORTFILE,
// and per package (each recipient answered alike), at random:
//   0.1%  stall: never answer, keep reading until the client gives up and closes;
//   1%    close mid-answer: the message counts as accepted, half an answer is sent, then close;
//   10%   Z: temporary refusal;
//   else  K.
// Every package appends "<letter> <X-Soak header value> <connection number>" to EVENTLOG: K, C
// (closed after accepting), Z, S (stalled). The close is abrupt: with the client's next packages
// unread, the kernel resets the connection, and K answers of earlier packages on it that were still
// in the send queue are lost with it, so those messages count as accepted by a connection that
// closed. Runs until killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>

namespace {

std::mutex g_mu;
std::FILE* g_log = nullptr;
std::mt19937_64 g_rng;

void event(char letter, const std::string& id, unsigned long conn) {
  std::lock_guard<std::mutex> g(g_mu);
  std::fprintf(g_log, "%c %s %lu\n", letter, id.c_str(), conn);
  std::fflush(g_log);
}

double roll() {
  std::lock_guard<std::mutex> g(g_mu);
  return std::uniform_real_distribution<double>(0, 1)(g_rng);
}

// One netstring from buf at pos; false when incomplete. Framing errors end the connection.
int take(const std::string& buf, std::size_t& pos, std::string& out) {
  std::size_t colon = buf.find(':', pos);
  if (colon == std::string::npos) return buf.size() - pos > 10 ? -1 : 0;
  std::size_t len = 0;
  for (std::size_t i = pos; i < colon; ++i) {
    if (buf[i] < '0' || buf[i] > '9' || colon - pos > 9) return -1;
    len = len * 10 + static_cast<std::size_t>(buf[i] - '0');
  }
  if (buf.size() < colon + 1 + len + 1) return 0;
  if (buf[colon + 1 + len] != ',') return -1;
  out.assign(buf, colon + 1, len);
  pos = colon + 2 + len;
  return 1;
}

bool send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::string soak_id(const std::string& msg) {
  std::size_t p = msg.find("\nX-Soak: ");
  if (p == std::string::npos) return "-";
  p += 9;
  return msg.substr(p, msg.find('\n', p) - p);
}

void serve(int fd, unsigned long conn) {
  std::string buf;
  char chunk[65536];
  bool stalled = false;
  for (;;) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    if (stalled) continue;  // read and drop until the client closes
    buf.append(chunk, static_cast<std::size_t>(n));
    for (;;) {
      std::size_t pos = 0;
      std::string msg, sender, rcpts;
      int a = take(buf, pos, msg);
      int b = a == 1 ? take(buf, pos, sender) : a;
      int c = b == 1 ? take(buf, pos, rcpts) : b;
      if (c < 0) goto done;
      if (c == 0) break;
      buf.erase(0, pos);
      std::size_t count = 0;
      for (std::size_t p = 0; p < rcpts.size();) {
        std::string r;
        if (take(rcpts, p, r) != 1) goto done;
        ++count;
      }
      std::string id = soak_id(msg);
      double x = roll();
      if (x < 0.001) {
        event('S', id, conn);
        stalled = true;
        break;
      }
      if (x < 0.011) {
        event('C', id, conn);
        send_all(fd, "8:Ksoa");  // half of "8:Ksoak ok,"
        goto done;
      }
      const std::string text = x < 0.111 ? "Zsoak: later" : "Ksoak ok";
      const std::string answer = std::to_string(text.size()) + ":" + text + ",";
      event(x < 0.111 ? 'Z' : 'K', id, conn);
      std::string all;
      for (std::size_t i = 0; i < count; ++i) all += answer;
      if (!send_all(fd, all)) goto done;
    }
  }
done:
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: soak_server PORTFILE EVENTLOG [SEED]\n");
    return 64;
  }
  g_rng.seed(argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1);
  g_log = std::fopen(argv[2], "a");
  if (!g_log) return 73;
  int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(ls, 128) != 0) return 71;
  socklen_t len = sizeof sa;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&sa), &len);
  std::FILE* pf = std::fopen(argv[1], "w");
  std::fprintf(pf, "%u\n", ntohs(sa.sin_port));
  std::fclose(pf);
  for (unsigned long conn = 1;; ++conn) {
    int fd = ::accept(ls, nullptr, nullptr);
    if (fd < 0) continue;
    std::thread(serve, fd, conn).detach();
  }
}

// benchtool — the receiving side of bench/deliver/run.sh, and a raw parallel QMQP client.
//
//   benchtool sink QMQP_PORT_FILE QMTP_PORT_FILE   listen on 127.0.0.1:0 twice, write the ports,
//                                                   answer K to everything, forever
//   benchtool raw-qmqp PORT N PARALLEL             send N 1 KB messages over PARALLEL connections
//   benchtool raw-smtp PORT N PARALLEL             send N 1 KB messages over PARALLEL SMTP connections,
//                                                   pipelined (MAIL+RCPT+DATA, then body), one thread each:
//                                                   the capacity of the SMTP receiver the bench uses
//
// Not a test: a bench helper. Single-threaded libuv; parsing is minimal (trusts the client).
#include <uv.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

std::string ns(const std::string& s) { return std::to_string(s.size()) + ":" + s + ","; }

// ---- sink ----
struct Conn {
  uv_tcp_t tcp;
  bool qmtp = false;
  std::string buf;
  std::size_t pos = 0;  // parse position in buf
};

void on_close(uv_handle_t* h) { delete static_cast<Conn*>(h->data); }

void write_str(Conn* c, const std::string& s) {
  auto* req = new uv_write_t;
  auto* copy = new std::string(s);
  req->data = copy;
  uv_buf_t b = uv_buf_init(copy->data(), static_cast<unsigned>(copy->size()));
  uv_write(req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, [](uv_write_t* r, int) {
    delete static_cast<std::string*>(r->data);
    delete r;
  });
}

// Reads one netstring at buf[pos]; returns false if incomplete. payload = [start, start+len).
bool take_ns(const std::string& b, std::size_t& pos, std::size_t& start, std::size_t& len) {
  std::size_t colon = b.find(':', pos);
  if (colon == std::string::npos) return false;
  len = std::strtoull(b.c_str() + pos, nullptr, 10);
  start = colon + 1;
  if (b.size() < start + len + 1) return false;
  pos = start + len + 1;
  return true;
}

void process(Conn* c) {
  if (!c->qmtp) {
    std::size_t pos = 0, start, len;
    if (take_ns(c->buf, pos, start, len)) {
      write_str(c, ns("Kok"));
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
      uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_close);
    }
    return;
  }
  while (true) {
    std::size_t pos = c->pos, s1, l1, s2, l2, s3, l3;
    if (!take_ns(c->buf, pos, s1, l1) || !take_ns(c->buf, pos, s2, l2) || !take_ns(c->buf, pos, s3, l3)) break;
    std::string out;
    std::size_t p = s3, end = s3 + l3;
    while (p < end) {
      std::size_t a, b;
      if (!take_ns(c->buf, p, a, b)) break;
      out += ns("Kok");
    }
    write_str(c, out);
    c->pos = pos;
  }
  if (c->pos > 65536) {
    c->buf.erase(0, c->pos);
    c->pos = 0;
  }
}

void on_conn(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* c = new Conn;
  c->qmtp = server->data != nullptr;
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_close);
    return;
  }
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t*, size_t, uv_buf_t* b) {
        static char mem[65536];
        *b = uv_buf_init(mem, sizeof mem);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
        auto* c = static_cast<Conn*>(s->data);
        if (n < 0) {
          if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(s))) uv_close(reinterpret_cast<uv_handle_t*>(s), on_close);
          return;
        }
        c->buf.append(b->base, static_cast<std::size_t>(n));
        process(c);
      });
}

int listen_on(uv_loop_t* loop, uv_tcp_t* t, bool qmtp, const char* port_file) {
  uv_tcp_init(loop, t);
  t->data = qmtp ? reinterpret_cast<void*>(1) : nullptr;
  sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", 0, &sa);
  uv_tcp_bind(t, reinterpret_cast<sockaddr*>(&sa), 0);
  if (uv_listen(reinterpret_cast<uv_stream_t*>(t), 1024, on_conn) != 0) return -1;
  int len = sizeof sa;
  uv_tcp_getsockname(t, reinterpret_cast<sockaddr*>(&sa), &len);
  FILE* f = std::fopen(port_file, "w");
  std::fprintf(f, "%d\n", ntohs(sa.sin_port));
  std::fclose(f);
  return 0;
}

// ---- raw client ----
struct Raw {
  uv_loop_t* loop;
  sockaddr_in addr;
  std::string request;
  long left = 0;
  long done = 0;
};

struct RawConn {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  Raw* raw;
};

void raw_start(Raw* r);

void raw_closed(uv_handle_t* h) {
  auto* c = static_cast<RawConn*>(h->data);
  Raw* r = c->raw;
  delete c;
  raw_start(r);
}

void raw_start(Raw* r) {
  if (r->left <= 0) return;
  --r->left;
  auto* c = new RawConn;
  c->raw = r;
  uv_tcp_init(r->loop, &c->tcp);
  c->tcp.data = c;
  c->creq.data = c;
  uv_tcp_connect(&c->creq, &c->tcp, reinterpret_cast<sockaddr*>(&r->addr), [](uv_connect_t* req, int status) {
    auto* c = static_cast<RawConn*>(req->data);
    if (status < 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), raw_closed);
      return;
    }
    uv_buf_t b = uv_buf_init(c->raw->request.data(), static_cast<unsigned>(c->raw->request.size()));
    uv_write(&c->wreq, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, [](uv_write_t*, int) {});
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c->tcp),
        [](uv_handle_t*, size_t, uv_buf_t* b) {
          static char mem[4096];
          *b = uv_buf_init(mem, sizeof mem);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
          auto* c = static_cast<RawConn*>(s->data);
          if (n > 0 && b->base[0] != '0') {
            // "3:Kok," arrives in one read on loopback
            if (std::memchr(b->base, 'K', static_cast<std::size_t>(n))) ++c->raw->done;
          }
          if (n != 0) {
            uv_read_stop(s);
            if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(s))) uv_close(reinterpret_cast<uv_handle_t*>(s), raw_closed);
          }
        });
  });
}

// ---- raw SMTP client (blocking, a thread per connection) ----
struct SmtpLink {
  int fd = -1;
  std::string buf;
  // Reads one whole reply; returns its code, 0 on EOF.
  int reply() {
    for (;;) {
      std::size_t start = 0, lf;
      while ((lf = buf.find("\r\n", start)) != std::string::npos) {
        if (lf - start >= 4 && buf[start + 3] == ' ') {
          int code = std::atoi(buf.c_str() + start);
          buf.erase(0, lf + 2);
          return code;
        }
        start = lf + 2;
      }
      char tmp[4096];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return 0;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
  }
  bool send(const std::string& s) { return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
};

long raw_smtp_conn(int port, long count) {
  SmtpLink l;
  l.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(l.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 0;
  long ok = 0;
  std::string body = "Subject: bench\r\n\r\n" + std::string(1000, 'x') + "\r\n.\r\n";
  if (l.reply() == 220 && l.send("EHLO raw.bench\r\n") && l.reply() == 250) {
    for (long i = 0; i < count; ++i) {
      if (!l.send("MAIL FROM:<bench@example.org>\r\nRCPT TO:<sink@example.org>\r\nDATA\r\n")) break;
      if (l.reply() != 250 || l.reply() != 250 || l.reply() != 354 || !l.send(body) || l.reply() != 250) break;
      ++ok;
    }
    l.send("QUIT\r\n");
    l.reply();
  }
  ::close(l.fd);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  uv_loop_t* loop = uv_default_loop();
  if (argc == 4 && std::strcmp(argv[1], "sink") == 0) {
    uv_tcp_t qmqp, qmtp;
    if (listen_on(loop, &qmqp, false, argv[2]) != 0 || listen_on(loop, &qmtp, true, argv[3]) != 0) return 1;
    return uv_run(loop, UV_RUN_DEFAULT);
  }
  if (argc == 5 && std::strcmp(argv[1], "raw-qmqp") == 0) {
    Raw r;
    r.loop = loop;
    uv_ip4_addr("127.0.0.1", std::atoi(argv[2]), &r.addr);
    r.left = std::atol(argv[3]);
    long parallel = std::atol(argv[4]);
    std::string msg = "Subject: bench\n\n" + std::string(1000, 'x') + "\n";
    r.request = ns(ns(msg) + ns("bench@example.org") + ns("sink@example.org"));
    long n = r.left;
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < parallel; ++i) raw_start(&r);
    uv_run(loop, UV_RUN_DEFAULT);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%ld %ld %.3f\n", n, r.done, s);
    return r.done == n ? 0 : 1;
  }
  if (argc == 5 && std::strcmp(argv[1], "raw-smtp") == 0) {
    int port = std::atoi(argv[2]);
    long n = std::atol(argv[3]), parallel = std::atol(argv[4]);
    std::atomic<long> done{0};
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (long i = 0; i < parallel; ++i) {
      long count = n / parallel + (i < n % parallel ? 1 : 0);
      threads.emplace_back([&, count] { done += raw_smtp_conn(port, count); });
    }
    for (auto& t : threads) t.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%ld %ld %.3f\n", n, done.load(), s);
    return done == n ? 0 : 1;
  }
  std::fprintf(stderr, "usage: benchtool sink QMQP_PORT_FILE QMTP_PORT_FILE | raw-qmqp PORT N PARALLEL | "
                       "raw-smtp PORT N PARALLEL\n");
  return 64;
}

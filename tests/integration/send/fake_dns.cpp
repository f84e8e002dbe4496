#include "fake_dns.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace nullq::send::it {

namespace {

constexpr int kA = 1, kMx = 15, kAaaa = 28;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string encode_name(const std::string& name) {
  std::string out;
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out += static_cast<char>(dot - start);
    out += name.substr(start, dot - start);
    start = dot + 1;
  }
  out += '\0';
  return out;
}

void put16(std::string& s, unsigned v) {
  s += static_cast<char>((v >> 8) & 0xff);
  s += static_cast<char>(v & 0xff);
}

}  // namespace

FakeDns::FakeDns() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw std::runtime_error("fake dns: bind");
  socklen_t len = sizeof sa;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { loop(); });
}

FakeDns::~FakeDns() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void FakeDns::mx(const std::string& domain, std::uint16_t preference, const std::string& exchanger) {
  std::string rdata;
  put16(rdata, preference);
  rdata += encode_name(lower(exchanger));
  std::lock_guard<std::mutex> g(mu_);
  records_[{lower(domain), kMx}].push_back(rdata);
  names_.insert(lower(domain));
}

void FakeDns::a(const std::string& name, const std::string& ipv4) {
  in_addr a{};
  ::inet_pton(AF_INET, ipv4.c_str(), &a);
  std::lock_guard<std::mutex> g(mu_);
  records_[{lower(name), kA}].push_back(std::string(reinterpret_cast<const char*>(&a), 4));
  names_.insert(lower(name));
}

void FakeDns::aaaa(const std::string& name, const std::string& ipv6) {
  in6_addr a{};
  ::inet_pton(AF_INET6, ipv6.c_str(), &a);
  std::lock_guard<std::mutex> g(mu_);
  records_[{lower(name), kAaaa}].push_back(std::string(reinterpret_cast<const char*>(&a), 16));
  names_.insert(lower(name));
}

void FakeDns::servfail(const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  servfail_.insert(lower(name));
}

void FakeDns::loop() {
  char buf[1500];
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 12) continue;
    std::string reply = answer(std::string(buf, static_cast<std::size_t>(n)));
    if (!reply.empty()) ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
  }
}

std::string FakeDns::answer(const std::string& q) {
  // Question: one name, type, class.
  std::size_t pos = 12;
  std::string name;
  while (pos < q.size() && q[pos] != 0) {
    std::size_t len = static_cast<unsigned char>(q[pos]);
    if (len > 63 || pos + 1 + len > q.size()) return "";
    if (!name.empty()) name += '.';
    name += q.substr(pos + 1, len);
    pos += 1 + len;
  }
  if (pos + 5 > q.size()) return "";
  const std::size_t qend = pos + 5;
  const int qtype = (static_cast<unsigned char>(q[pos + 1]) << 8) | static_cast<unsigned char>(q[pos + 2]);
  name = lower(name);

  int rcode = 0;
  std::vector<std::string> rdata;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (servfail_.count(name)) {
      rcode = 2;
    } else if (!names_.count(name)) {
      rcode = 3;
    } else if (auto it = records_.find({name, qtype}); it != records_.end()) {
      rdata = it->second;
    }
  }
  std::string r = q.substr(0, 2);                            // id
  unsigned flags = 0x8000 | 0x0400 | (static_cast<unsigned char>(q[2]) & 0x01) << 8 | 0x0080 | rcode;
  put16(r, flags);                                          // QR, AA, RD copied, RA, rcode
  put16(r, 1);
  put16(r, static_cast<unsigned>(rdata.size()));
  put16(r, 0);
  put16(r, 0);
  r += q.substr(12, qend - 12);
  for (const auto& d : rdata) {
    put16(r, 0xC00C);
    put16(r, static_cast<unsigned>(qtype));
    put16(r, 1);
    put16(r, 0);
    put16(r, 60);  // TTL
    put16(r, static_cast<unsigned>(d.size()));
    r += d;
  }
  return r;
}

}  // namespace nullq::send::it

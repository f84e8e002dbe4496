// fake_dns.hpp — a tiny authoritative DNS server on 127.0.0.1:0 (UDP) for the MX tests:
// MX, A and AAAA records from a table; NXDOMAIN for unknown names; SERVFAIL for chosen names.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace nullq::send::it {

class FakeDns {
 public:
  FakeDns();
  ~FakeDns();
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;

  std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }  // for NULLQ_DNS_SERVERS
  void mx(const std::string& domain, std::uint16_t preference, const std::string& exchanger);
  void a(const std::string& name, const std::string& ipv4);
  void aaaa(const std::string& name, const std::string& ipv6);
  void servfail(const std::string& name);

 private:
  void loop();
  std::string answer(const std::string& query);

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::pair<std::string, int>, std::vector<std::string>> records_;  // (name, type) -> rdata
  std::set<std::string> names_;
  std::set<std::string> servfail_;
};

}  // namespace nullq::send::it

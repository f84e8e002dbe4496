// The status file's format, its atomic write and its reading (see include/nullq/send/status_file.hpp).
#include "nullq/send/status_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace nullq::send {

namespace {

using nlohmann::json;

// Written in this order (ordered_json), read in any.
using ojson = nlohmann::ordered_json;

ojson tally(const queue::Tally& t) { return ojson{{"messages", t.messages}, {"bytes", t.bytes}}; }

queue::Tally tally_of(const json& j) {
  queue::Tally t;
  t.messages = j.at("messages").get<std::uint64_t>();
  t.bytes = j.at("bytes").get<std::uint64_t>();
  return t;
}

constexpr std::size_t max_status_bytes = 1 << 20;  // far more than any configuration's hosts need

}  // namespace

std::string status_path(const queue::Spool& spool) { return spool.dir + "/status.json"; }

std::string encode_status(const StatusSnapshot& s) {
  const queue::Census& c = s.census;
  ojson j;
  j["version"] = 1;
  j["pid"] = s.pid;
  j["running"] = s.running;
  j["started_at"] = s.started_at;
  j["written_at"] = s.written_at;
  j["messages"] = ojson{{"new", tally(c.incoming)},
                       {"queue", tally(c.queued)},
                       {"deferred", tally(c.deferred)},
                       {"failed", tally(c.failed)}};
  j["oldest_queued_at"] = c.oldest_queued_at ? ojson(c.oldest_queued_at) : ojson(nullptr);
  j["oldest_age_seconds"] =
      c.oldest_queued_at ? ojson(std::max<std::int64_t>(0, s.written_at - c.oldest_queued_at)) : ojson(nullptr);
  ojson hosts = ojson::array();
  for (const auto& h : s.hosts) {
    ojson e{{"host", h.host}, {"state", h.state}, {"until", h.until ? ojson(*h.until) : ojson(nullptr)},
           {"last_error", h.last_error}};
    if (h.concurrency) e["concurrency"] = *h.concurrency;
    if (!h.rate.empty()) e["rate"] = h.rate;
    if (!h.reason.empty()) e["reason"] = h.reason;
    hosts.push_back(std::move(e));
  }
  j["smarthosts"] = std::move(hosts);
  // Non-UTF-8 bytes (a server's text in a reason) are replaced, never written raw.
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n";
}

Result<StatusSnapshot> decode_status(std::string_view text) {
  try {
    json j = json::parse(text);
    StatusSnapshot s;
    if (j.at("version").get<int>() != 1) return Error::permanent(ErrorDomain::format, "unknown status file version");
    s.pid = j.at("pid").get<std::int64_t>();
    s.running = j.at("running").get<bool>();
    s.started_at = j.at("started_at").get<std::int64_t>();
    s.written_at = j.at("written_at").get<std::int64_t>();
    const json& m = j.at("messages");
    s.census.incoming = tally_of(m.at("new"));
    s.census.queued = tally_of(m.at("queue"));
    s.census.deferred = tally_of(m.at("deferred"));
    s.census.failed = tally_of(m.at("failed"));
    const json& oldest = j.at("oldest_queued_at");
    s.census.oldest_queued_at = oldest.is_null() ? 0 : oldest.get<std::int64_t>();
    for (const json& e : j.at("smarthosts")) {
      HostStatus h;
      h.host = e.at("host").get<std::string>();
      h.state = e.at("state").get<std::string>();
      if (!e.at("until").is_null()) h.until = e.at("until").get<std::int64_t>();
      h.last_error = e.at("last_error").get<std::string>();
      if (e.contains("concurrency")) h.concurrency = e.at("concurrency").get<unsigned>();
      if (e.contains("rate")) h.rate = e.at("rate").get<std::string>();
      if (e.contains("reason")) h.reason = e.at("reason").get<std::string>();
      s.hosts.push_back(std::move(h));
    }
    return s;
  } catch (const json::exception& e) {
    return Error::permanent(ErrorDomain::format, std::string("malformed status file: ") + e.what());
  }
}

Status write_atomically(const std::string& path, const std::string& content, mode_t mode) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // A dot name: node_exporter reads only *.prom, and nothing in the spool lists dot files.
  const std::string tmp = dir + "/." + base + "." + std::to_string(::getpid()) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Error::from_errno(errno, "open " + tmp);
  Status st;
  if (::fchmod(fd, mode) != 0) st = Error::from_errno(errno, "chmod " + tmp);
  std::size_t off = 0;
  while (st.ok() && off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      st = Error::from_errno(errno, "write " + tmp);
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && st.ok()) st = Error::from_errno(errno, "close " + tmp);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Error::from_errno(errno, "rename " + tmp + " to " + path);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

StatusRead read_status(const queue::Spool& spool) {
  StatusRead r;
  const std::string path = status_path(spool);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno != ENOENT) r.problem = Error::from_errno(errno, "open " + path).message();
    return r;
  }
  std::string text;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() <= max_status_bytes) text.append(buf, static_cast<std::size_t>(n));
  const int e = errno;
  ::close(fd);
  if (n < 0) {
    r.problem = Error::from_errno(e, "read " + path).message();
    return r;
  }
  auto s = decode_status(text);
  if (!s) {
    r.problem = path + ": " + s.error().message();
    return r;
  }
  r.snapshot = std::move(s).value();
  if (!r.snapshot.running) {
    r.liveness = Liveness::stopped;
  } else {
    // EPERM: the process exists and belongs to another user (nullq), which is what we expect.
    const bool alive = r.snapshot.pid > 0 &&
                       (::kill(static_cast<pid_t>(r.snapshot.pid), 0) == 0 || errno == EPERM);
    r.liveness = alive ? Liveness::running : Liveness::stale;
  }
  return r;
}

}  // namespace nullq::send

#include "commands.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>

#include "nullq/clock_text.hpp"
#include "nullq/bounce.hpp"
#include "nullq/envelope.hpp"
#include "nullq/queue.hpp"
#include "nullq/reply.hpp"
#include "nullq/send/lock.hpp"
#include "nullq/send/status_file.hpp"
#include "nullq/spool.hpp"

namespace nullq::admin {

namespace {

// Where a message is: its directory and file name.
struct Found {
  std::string dir, name;
  std::optional<queue::QueueName> state;  // for queue/ entries
  std::string path() const { return dir + "/" + name; }
};

// Lists `dir`; returns errno (0 ok).
int names(const std::string& dir, std::vector<std::string>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') out.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return 0;
}

int io_error(std::FILE* err, const std::string& what, int e) {
  std::fprintf(err, "nullq: cannot read %s: %s%s\n", what.c_str(), std::strerror(e),
               e == EACCES ? " (run as root or the nullq user)" : "");
  return e == EACCES ? 77 : 74;
}

// Finds `id` in queue/, new/ or failed/. Returns 0, 1 (absent) or an error exit code.
int find(const queue::Spool& s, const std::string& id, Found& out, std::FILE* err) {
  if (!queue::valid_id(id)) {
    std::fprintf(err, "nullq: '%s' is not a message id\n", proto::sanitize(id, 80).c_str());
    return 64;
  }
  for (const std::string& dir : {s.queue(), s.incoming(), s.failed()}) {
    std::vector<std::string> v;
    if (int e = names(dir, v); e != 0 && e != ENOENT) return io_error(err, dir, e);
    for (const auto& n : v) {
      auto q = queue::parse_queue_name(n);
      if ((q && q->id == id && dir == s.queue()) || n == id) {
        out = Found{dir, n, dir == s.queue() ? q : std::nullopt};
        return 0;
      }
    }
  }
  std::fprintf(err, "nullq: no message %s\n", id.c_str());
  return 1;
}

bool flusher_running(const queue::Spool& s) { return send::SpoolLock::held(s.lock()); }

// Makes a rename or unlink in `dir` durable; prints why not.
bool durable(const std::string& dir, std::FILE* err) {
  auto st = queue::fsync_dir(dir);
  if (!st) std::fprintf(err, "nullq: %s\n", st.error().message().c_str());
  return st.ok();
}

std::string when(std::int64_t t) { return t == 0 ? "now" : clock_text(t); }

Result<std::pair<envelope::Envelope, std::string>> read_message(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Error::from_errno(errno, "open " + path);
  std::string data;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  std::fclose(f);
  std::size_t body = 0;
  auto env = envelope::decode(data, &body);
  if (!env) return std::move(env).error();
  return std::pair{std::move(*env), data.substr(body)};
}

void list_one(const Found& f, std::FILE* out) {
  auto m = read_message(f.path());
  std::string id = f.state ? f.state->id : f.name;
  if (!m) {
    std::fprintf(out, "%s  (unreadable: %s)\n", id.c_str(), proto::sanitize(m.error().message()).c_str());
    return;
  }
  const auto& [env, body] = *m;
  std::fprintf(out, "%s  queued %s  %zu bytes", id.c_str(), when(env.queued_at).c_str(), body.size());
  if (f.state) std::fprintf(out, "  attempts %u  next %s", f.state->attempts, when(f.state->next_attempt).c_str());
  std::fprintf(out, "\n  from <%s>\n", proto::sanitize(env.sender).c_str());
  for (const auto& r : env.recipients) std::fprintf(out, "  to   <%s>\n", proto::sanitize(r).c_str());
  if (!env.last_error.empty()) std::fprintf(out, "  last error: %s\n", proto::sanitize(env.last_error).c_str());
  if (!env.original_id.empty())
    std::fprintf(out, "  bounce of %s (kept in failed/ until this is delivered)\n", env.original_id.c_str());
}

// What status and status --json report.
struct Counts {
  std::vector<std::string> incoming, queued, failed;
  std::size_t due = 0;
  std::int64_t oldest = 0;  // queue time of the oldest waiting message (unix seconds), 0 = none
};

// An age as people read it, in its two largest units: "42s", "5m 3s", "2h", "7d", "7d 3h".
std::string human_age(std::int64_t s) {
  if (s < 0) s = 0;
  struct Unit {
    std::int64_t secs;
    char name;
  };
  static constexpr Unit units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (std::size_t i = 0; i < 3; ++i) {
    if (s < units[i].secs) continue;
    std::string out = std::to_string(s / units[i].secs) + units[i].name;
    std::int64_t rest = (s % units[i].secs) / units[i + 1].secs;
    return rest ? out + " " + std::to_string(rest) + units[i + 1].name : out;
  }
  return std::to_string(s) + "s";
}

// Ids start with the queue time: unix seconds followed by six digits of microseconds.
std::int64_t queued_at_of(const std::string& id) {
  std::size_t digits = id.find_first_not_of("0123456789");
  if (digits == std::string::npos) digits = id.size();
  return digits > 6 ? std::atoll(id.substr(0, digits - 6).c_str()) : 0;
}

int count(const queue::Spool& s, std::int64_t now, Counts& c, std::FILE* err) {
  // A spool that is not there is not an empty queue (zeros would tell monitoring all is well).
  if (struct stat st {}; ::stat(s.dir.c_str(), &st) != 0 && errno == ENOENT) {
    std::fprintf(err, "nullq: the queue directory %s does not exist: is nullq installed?\n", s.dir.c_str());
    return 69;
  }
  for (auto [dir, v] : {std::pair{s.incoming(), &c.incoming}, std::pair{s.queue(), &c.queued}, std::pair{s.failed(), &c.failed}})
    if (int e = names(dir, *v); e != 0 && e != ENOENT) return io_error(err, dir, e);
  auto older = [&](std::int64_t t) {
    if (t > 0 && (c.oldest == 0 || t < c.oldest)) c.oldest = t;
  };
  for (const auto& n : c.queued) {
    auto q = queue::parse_queue_name(n);
    if (!q) continue;
    if (q->next_attempt <= now) ++c.due;
    older(queued_at_of(q->id));
  }
  for (const auto& n : c.incoming) older(queued_at_of(n));
  return 0;
}

// A JSON string: quotes, backslashes and control characters escaped; other bytes as they are
// (last-error records are sanitised to printable ASCII when written).
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char ch : text) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20 || ch == 0x7f || ch >= 0x80) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch >= 0x80 ? 0xfffd : ch);  // never invalid UTF-8
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

}  // namespace

int status(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  queue::Spool s{cfg.queue_dir};
  const std::int64_t now = std::time(nullptr);
  Counts c;
  if (int rc = count(s, now, c, err); rc != 0) return rc;
  std::fprintf(out, "spool:    %s\n", s.dir.c_str());
  std::fprintf(out, "new:      %zu\n", c.incoming.size());
  std::fprintf(out, "queued:   %zu (%zu due now, %zu deferred)\n", c.queued.size(), c.due, c.queued.size() - c.due);
  std::fprintf(out, "failed:   %zu\n", c.failed.size());
  if (c.oldest) std::fprintf(out, "oldest:   %s\n", human_age(now - c.oldest).c_str());
  std::fprintf(out, "flusher:  %s\n", flusher_running(s) ? "running" : "not running");
  // What the running nullq-send knows of each smart host now (its status file): the state, until
  // when, its connections and rate, and why it is slowed or held.
  send::StatusRead st = send::read_status(s);
  if (st.liveness == send::Liveness::running) {
    for (const auto& h : st.snapshot.hosts) {
      std::string line = h.host + " " + h.state;
      if (h.until && *h.until > now) line += " until " + when(*h.until);
      std::string pace;
      if (h.concurrency) pace = std::to_string(*h.concurrency) + " connection" + (*h.concurrency == 1 ? "" : "s");
      if (!h.rate.empty()) pace += (pace.empty() ? "" : ", ") + std::string("rate ") + h.rate;
      if (!pace.empty()) line += " (" + pace + ")";
      if (!h.reason.empty()) line += ": " + h.reason;
      std::fprintf(out, "host:     %s\n", proto::sanitize(line).c_str());
    }
  }
  return 0;
}

int status_json(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  queue::Spool s{cfg.queue_dir};
  const std::int64_t now = std::time(nullptr);
  Counts c;
  if (int rc = count(s, now, c, err); rc != 0) return rc;
  // Per smart host: the newest last-error record (by the time the file was rewritten with it) of a
  // queued message that names the host. The flusher records the error of the last host it tried.
  struct HostError {
    std::size_t messages = 0;
    std::string text;
    std::int64_t at = 0;
  };
  std::vector<HostError> hosts(cfg.smarthosts.size());
  for (const auto& n : c.queued) {
    if (!queue::parse_queue_name(n)) continue;
    const std::string path = s.queue() + "/" + n;
    auto m = read_message(path);
    if (!m) {
      if (m.error().domain == ErrorDomain::sys && m.error().code == EACCES) return io_error(err, path, EACCES);
      continue;  // malformed or gone meanwhile: nothing to say about hosts
    }
    const std::string& e = m->first.last_error;
    if (e.empty()) continue;
    struct stat st {};
    const std::int64_t at = ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_mtime) : 0;
    for (std::size_t i = 0; i < cfg.smarthosts.size(); ++i) {
      const auto& h = cfg.smarthosts[i];
      if (e.find(h.text) == std::string::npos && (h.host.empty() || e.find(h.host) == std::string::npos)) continue;
      ++hosts[i].messages;
      if (hosts[i].text.empty() || at >= hosts[i].at) {
        hosts[i].text = e;
        hosts[i].at = at;
      }
    }
  }
  std::string j = "{\"spool\":" + json_string(s.dir);
  j += ",\"new\":" + std::to_string(c.incoming.size());
  j += ",\"queued\":" + std::to_string(c.queued.size());
  j += ",\"due\":" + std::to_string(c.due);
  j += ",\"deferred\":" + std::to_string(c.queued.size() - c.due);
  j += ",\"failed\":" + std::to_string(c.failed.size());
  j += ",\"oldest_age_seconds\":" + (c.oldest ? std::to_string(std::max<std::int64_t>(0, now - c.oldest)) : "null");
  j += std::string(",\"flusher_running\":") + (flusher_running(s) ? "true" : "false");
  j += ",\"smarthosts\":[";
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (i) j += ',';
    j += "{\"host\":" + json_string(cfg.smarthosts[i].text);
    j += ",\"messages_with_error\":" + std::to_string(hosts[i].messages);
    j += ",\"last_error\":" + (hosts[i].text.empty() ? "null" : json_string(hosts[i].text));
    j += ",\"last_error_at\":" + (hosts[i].text.empty() ? "null" : std::to_string(hosts[i].at)) + "}";
  }
  j += "]}\n";
  std::fputs(j.c_str(), out);
  return 0;
}

int list(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  queue::Spool s{cfg.queue_dir};
  std::size_t shown = 0;
  for (const std::string& dir : {s.incoming(), s.queue(), s.failed()}) {
    std::vector<std::string> v;
    if (int e = names(dir, v); e != 0 && e != ENOENT) return io_error(err, dir, e);
    if (dir == s.failed() && !v.empty()) std::fprintf(out, "\nfailed (kept in %s):\n", dir.c_str());
    for (const auto& n : v) {
      Found f{dir, n, dir == s.queue() ? queue::parse_queue_name(n) : std::nullopt};
      list_one(f, out);
      ++shown;
    }
  }
  if (shown == 0) std::fputs("queue is empty\n", out);
  return 0;
}

int show(const config::Config& cfg, const std::string& id, std::FILE* out, std::FILE* err) {
  Found f;
  if (int rc = find(queue::Spool{cfg.queue_dir}, id, f, err); rc != 0) return rc;
  FILE* in = std::fopen(f.path().c_str(), "rb");
  if (!in) return io_error(err, f.path(), errno);
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) std::fwrite(buf, 1, n, out);
  std::fclose(in);
  return 0;
}

int flush(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  queue::Spool s{cfg.queue_dir};
  std::vector<std::string> v;
  if (int e = names(s.queue(), v); e != 0 && e != ENOENT) return io_error(err, s.queue(), e);
  std::size_t made_due = 0;
  for (const auto& n : v) {
    auto q = queue::parse_queue_name(n);
    if (!q || q->next_attempt == 0) continue;
    queue::QueueName now_due{q->id, q->attempts, 0};
    if (::rename((s.queue() + "/" + n).c_str(), (s.queue() + "/" + queue::format_queue_name(now_due)).c_str()) == 0) ++made_due;
  }
  if (!durable(s.queue(), err)) return 74;
  queue::poke_trigger(s);
  std::fprintf(out, "%zu message(s) made due now\n", made_due);
  if (!flusher_running(s)) std::fputs("no flusher is running; run nullq-send --once\n", out);
  return 0;
}

std::string message_id(const std::string& given) {
  auto q = queue::parse_queue_name(given);
  return q && queue::valid_id(q->id) ? q->id : given;
}

int retry(const config::Config& cfg, const std::string& id, std::FILE* out, std::FILE* err) {
  queue::Spool s{cfg.queue_dir};
  Found f;
  if (int rc = find(s, id, f, err); rc != 0) return rc;
  std::uint32_t attempts = f.state ? f.state->attempts : 0;
  std::string to = s.queue() + "/" + queue::format_queue_name({id, attempts, 0});
  if (f.dir == s.incoming()) {
    std::fprintf(out, "%s has not been accepted yet; it is delivered on the next pass\n", id.c_str());
  } else if (::rename(f.path().c_str(), to.c_str()) != 0) {
    const int e = errno;  // before fprintf, which may change it
    std::fprintf(err, "nullq: cannot move %s: %s\n", f.path().c_str(), std::strerror(e));
    return e == EACCES || e == EPERM ? 77 : 74;
  } else {
    std::fprintf(out, "%s is due now%s\n", id.c_str(), f.dir == s.failed() ? " (back from failed/)" : "");
  }
  if (!durable(s.queue(), err)) return 74;
  queue::poke_trigger(s);
  return 0;
}

int bounce(const config::Config& cfg, const std::string& id, std::FILE* out, std::FILE* err) {
  queue::Spool s{cfg.queue_dir};
  Found f;
  if (int rc = find(s, id, f, err); rc != 0) return rc;
  auto m = read_message(f.path());
  if (!m) {
    std::fprintf(err, "nullq: %s: %s\n", id.c_str(), m.error().message().c_str());
    return 74;
  }
  const auto& [env, body] = *m;
  bounce::Report r;
  r.id = id;
  r.original = &env;
  r.original_message = body;
  for (const auto& rcpt : env.recipients) r.failures.push_back({rcpt, true, "bounced by the administrator", "", ""});
  r.hostname = cfg.hostname;
  r.double_bounce_to = cfg.bounce_admin.empty() ? cfg.admin : cfg.bounce_admin;
  r.now = std::time(nullptr);
  auto composed = bounce::compose(r);
  if (!composed) {
    std::string to = s.failed() + "/" + id;
    if (f.dir != s.failed() && ::rename(f.path().c_str(), to.c_str()) != 0) return io_error(err, f.path(), errno);
    std::fprintf(out, "%s has the null sender: not bounced, kept in %s\n", id.c_str(), s.failed().c_str());
    return 0;
  }
  auto bid = bounce::enqueue(s, *composed, r.now);
  if (!bid) {
    std::fprintf(err, "nullq: cannot queue the bounce: %s\n", bid.error().message().c_str());
    return 75;
  }
  ::unlink(f.path().c_str());
  if (!durable(f.dir, err)) return 74;
  queue::poke_trigger(s);
  std::fprintf(out, "%s bounced to <%s> as %s\n", id.c_str(), composed->recipients[0].c_str(), bid->c_str());
  return 0;
}

int drop(const config::Config& cfg, const std::string& id, std::FILE* out, std::FILE* err) {
  queue::Spool s{cfg.queue_dir};
  Found f;
  if (int rc = find(s, id, f, err); rc != 0) return rc;
  if (::unlink(f.path().c_str()) != 0) {
    const int e = errno;
    std::fprintf(err, "nullq: cannot remove %s: %s\n", f.path().c_str(), std::strerror(e));
    return e == EACCES || e == EPERM ? 77 : 74;
  }
  if (!durable(f.dir, err)) return 74;
  std::fprintf(out, "dropped %s\n", f.path().c_str());
  return 0;
}

}  // namespace nullq::admin

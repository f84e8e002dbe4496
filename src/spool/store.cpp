#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "nullq/privilege.hpp"
#include "nullq/spool.hpp"

namespace nullq::spool {

namespace {

bool denied(int err) { return err == EACCES || err == EPERM; }

// An errno failure on `path`; when it is a permission problem, the detail says whose file `blame`
// (the file, or the directory that cannot be written) is and how to fix it, so that the one log
// line about it is enough to act on.
Error fs_error(int err, const std::string& what, const std::string& blame) {
  if (!denied(err)) return Error::from_errno(err, what);
  return Error::from_errno(err, what + " (" + blame + " is " + privilege::ownership_hint(blame) + ")");
}

// Calls fn(name) for every entry of `dir` but "." and "..".
template <class Fn>
Status each_name(const std::string& dir, Fn&& fn) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Error::from_errno(errno, "open " + dir);
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    fn(name);
  }
  ::closedir(d);
  return {};
}

Result<std::string> read_file(const std::string& path, std::uint64_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int err = errno;
    return fs_error(err, "open " + path, path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Error::from_errno(err, "stat " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error::permanent(ErrorDomain::format, path + " is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > limit) {
    ::close(fd);
    return Error::permanent(ErrorDomain::format,
                            "message of " + std::to_string(st.st_size) + " bytes exceeds the limit of " + std::to_string(limit));
  }
  std::string data(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      return Error::from_errno(err, "read " + path);
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return data;
}

Status write_file(const std::string& path, std::string_view a, std::string_view b) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    return fs_error(err, "create " + path, path.substr(0, path.rfind('/')));
  }
  for (std::string_view part : {a, b}) {
    while (!part.empty()) {
      ssize_t n = ::write(fd, part.data(), part.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return Error::from_errno(err, "write " + path);
      }
      part.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return Error::from_errno(err, "fsync " + path);
  }
  return {};
}

// Creates `path` with `head` followed by the bytes of `in` from `offset` to its end, and fsyncs it.
// The kernel copies (copy_file_range) where it can; otherwise 64 KiB at a time through a buffer.
Status write_file_from(const std::string& path, std::string_view head, int in, std::uint64_t offset) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    return fs_error(err, "create " + path, path.substr(0, path.rfind('/')));
  }
  auto fail = [&](int err, const std::string& what) -> Status {
    ::close(fd);
    ::unlink(path.c_str());
    return Error::from_errno(err, what + " " + path);
  };
  while (!head.empty()) {
    ssize_t n = ::write(fd, head.data(), head.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno, "write");
    head.remove_prefix(static_cast<std::size_t>(n));
  }
  struct stat st {};
  if (::fstat(in, &st) != 0) return fail(errno, "stat the original of");
  if (static_cast<std::uint64_t>(st.st_size) < offset) return fail(EIO, "the original is shorter than its envelope:");
  auto pos = static_cast<loff_t>(offset);
  std::uint64_t left = static_cast<std::uint64_t>(st.st_size) - offset;
  bool kernel_copy = true;
  while (left > 0) {
    if (kernel_copy) {
      ssize_t n = ::copy_file_range(in, &pos, fd, nullptr, left, 0);
      if (n > 0) {
        left -= static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) return fail(EIO, "the original shrank while copying it to");
      if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) return fail(errno, "copy to");
      kernel_copy = false;  // another filesystem or an old kernel: copy through a buffer
    }
    char buf[64 * 1024];
    ssize_t n = ::pread(in, buf, std::min<std::uint64_t>(sizeof buf, left), pos);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(n < 0 ? errno : EIO, "read the original of");
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(fd, buf + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(errno, "write");
      done += w;
    }
    pos += n;
    left -= static_cast<std::uint64_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return Error::from_errno(err, "fsync " + path);
  }
  return {};
}

// Leading unix seconds of an id (queue::make_id puts 10+ digits of seconds then 6 of usec).
std::int64_t queued_at_of(std::string_view id) {
  std::size_t digits = 0;
  while (digits < id.size() && id[digits] >= '0' && id[digits] <= '9') ++digits;
  if (digits <= 6) return 0;
  std::int64_t v = 0;
  for (std::size_t i = 0; i < digits - 6 && i < 12; ++i) v = v * 10 + (id[i] - '0');
  return v;
}

// Which of new/ and queue/ keeps a rename from new/ to queue/ from working.
std::string writable_blame(const queue::Spool& spool) {
  return ::access(spool.incoming().c_str(), W_OK | X_OK) != 0 ? spool.incoming() : spool.queue();
}

// Age past which a queue/.tmp-* file is a crashed rewrite's leftover; a rewrite takes seconds.
constexpr std::time_t stale_tmp_age = 3600;

// Room for the envelope on top of the message size limit.
constexpr std::uint64_t envelope_slack = 16 * 1024 * 1024;

// What of a removed drop is kept for its bounce: the envelope must lie within the first MiB, and
// the header block is quoted up to 64 KiB.
constexpr std::size_t removed_head = 1024 * 1024;
constexpr std::size_t removed_headers = 64 * 1024;

std::string read_head(const std::string& path, std::size_t limit) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return out;
  out.resize(limit);
  std::size_t got = 0;
  while (got < limit) {
    ssize_t n = ::read(fd, out.data() + got, limit - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

std::string header_block(std::string_view message) {
  std::size_t end = message.find("\n\n");
  return std::string(message.substr(0, std::min(end == std::string_view::npos ? message.size() : end + 1, removed_headers)));
}

}  // namespace

std::string Entry::file_name() const { return queue::format_queue_name({id, attempts, next_attempt}); }

Store::Store(queue::Spool spool, std::uint64_t max_message_size)
    : spool_(std::move(spool)), max_message_size_(max_message_size) {}

Result<std::vector<Entry>> Store::accept_new(std::vector<Quarantined>& bad) {
  std::vector<std::string> names;
  if (auto s = each_name(spool_.incoming(), [&](std::string_view n) { names.emplace_back(n); }); !s)
    return std::move(s).error();
  std::vector<Entry> accepted;
  bool quarantined = false;
  bool removed = false;
  // An oversize drop of a user's is removed, not kept: listed in `bad` as removed (or, when new/ does
  // not let this process remove it, as left there).
  auto remove_drop = [&](const std::string& name, const std::string& src, std::string why,
                         std::optional<envelope::Envelope> env, std::string headers) {
    if (::unlink(src.c_str()) == 0 || errno == ENOENT) {
      bad.push_back({name, std::move(why), false, true, std::move(env), std::move(headers)});
      removed = true;
    } else {
      int err = errno;
      bad.push_back({name, fs_error(err, "remove " + src + " (" + why + ")", spool_.incoming()).message(), true});
    }
  };
  for (const std::string& name : names) {
    std::string src = spool_.incoming() + "/" + name;
    std::string reason;
    std::optional<std::string> rewritten;  // the whole new queue file, when the policy changed the envelope
    struct stat st {};
    if (!queue::valid_id(name)) {
      reason = "bad file name in new/";
    } else if (intake_ && ::lstat(src.c_str(), &st) == 0 && !intake_->trusts(st.st_uid) &&
               static_cast<std::uint64_t>(st.st_size) > max_message_size_ + envelope_slack) {
      // Too large to be read whole: a user's, so it goes after a look at its head (for the bounce).
      std::string head = read_head(src, removed_head);
      std::size_t body = 0;
      auto env = envelope::decode(head, &body);
      std::optional<envelope::Envelope> kept;
      std::string headers;
      if (env) {
        judge_drop(*intake_, *env, st.st_uid, static_cast<std::uint64_t>(st.st_size) - body, max_message_size_);
        kept = std::move(*env);
        headers = header_block(std::string_view(head).substr(body));
      }
      remove_drop(name, src,
                  "file of " + std::to_string(st.st_size) + " bytes from uid " + std::to_string(st.st_uid) +
                      " exceeds queue.max_message_size of " + std::to_string(max_message_size_) + " bytes; removed",
                  std::move(kept), std::move(headers));
      continue;
    } else {
      auto data = read_file(src, max_message_size_ + envelope_slack);
      if (!data) {
        if (data.error().domain == ErrorDomain::sys && data.error().code == ENOENT) continue;  // raced away
        if (data.error().domain == ErrorDomain::sys && denied(data.error().code)) {
          // Not ours to read (a file written as another user): say so and go on with the rest.
          bad.push_back({name, data.error().message(), true});
          continue;
        }
        if (data.error().domain == ErrorDomain::sys) return std::move(data).error();
        reason = data.error().detail;
      } else {
        std::size_t body = 0;
        auto env = envelope::decode(*data, &body);
        if (!env) {
          reason = env.error().detail;
        } else if (intake_ && ::lstat(src.c_str(), &st) == 0) {
          auto verdict = judge_drop(*intake_, *env, st.st_uid, data->size() - body, max_message_size_);
          if (verdict.action == IntakeVerdict::Action::remove) {
            remove_drop(name, src, std::move(verdict.reason), std::move(*env),
                        header_block(std::string_view(*data).substr(body)));
            continue;
          }
          if (verdict.action == IntakeVerdict::Action::rewrite)
            rewritten = envelope::encode(*env).append(*data, body);
        }
        if (env && !rewritten && data->size() - body > max_message_size_) reason = "message exceeds the maximum size";
      }
    }
    if (!reason.empty()) {
      std::string dst = spool_.failed() + "/" + (queue::valid_id(name) ? name : "bad" + queue::make_id());
      if (::rename(src.c_str(), dst.c_str()) != 0) {
        int err = errno;
        return fs_error(err, "move " + src + " to failed/", denied(err) ? spool_.failed() : src);
      }
      bad.push_back({name, reason});
      quarantined = true;
      continue;
    }
    Entry e{name, 0, 0, queued_at_of(name)};
    std::string dst = spool_.queue() + "/" + e.file_name();
    if (rewritten) {
      // Written anew as the daemon's own file, then the drop goes.
      std::string tmp = spool_.queue() + "/.tmp-" + name;
      ::unlink(tmp.c_str());
      if (auto s = write_file(tmp, *rewritten, {}); !s) return std::move(s).error();
      if (::rename(tmp.c_str(), dst.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return Error::from_errno(err, "rename " + tmp);
      }
      if (::unlink(src.c_str()) != 0 && errno != ENOENT) return Error::from_errno(errno, "remove " + src);
      accepted.push_back(std::move(e));
      continue;
    }
    if (::rename(src.c_str(), dst.c_str()) != 0) {
      int err = errno;
      if (denied(err)) {
        // new/ or queue/ is not writable by this process: report it, keep the others moving.
        bad.push_back({name, fs_error(err, "move " + src + " to queue/", writable_blame(spool_)).message(), true});
        continue;
      }
      return Error::from_errno(err, "move " + src + " to queue/");
    }
    accepted.push_back(std::move(e));
  }
  if (!accepted.empty())
    if (auto s = queue::fsync_dir(spool_.queue()); !s) return std::move(s).error();
  if (quarantined)
    if (auto s = queue::fsync_dir(spool_.failed()); !s) return std::move(s).error();
  if (!accepted.empty() || quarantined || removed)
    if (auto s = queue::fsync_dir(spool_.incoming()); !s) return std::move(s).error();
  return accepted;
}

Result<std::vector<Entry>> Store::scan(std::vector<Quarantined>& bad) const {
  std::vector<Entry> out;
  std::vector<std::string> stale;
  auto s = each_name(spool_.queue(), [&](std::string_view name) {
    if (name.substr(0, 5) == ".tmp-") {
      stale.emplace_back(name);
      return;
    }
    auto q = queue::parse_queue_name(name);
    if (!q) {
      bad.push_back({std::string(name), "unknown file name in queue/"});
      return;
    }
    std::int64_t queued_at = queued_at_of(q->id);
    out.push_back(Entry{std::move(q->id), q->attempts, q->next_attempt, queued_at});
  });
  if (!s) return std::move(s).error();
  // A rewrite that crashed left its temporary file. One being written now (on nullq-send's
  // thread pool, while this scan runs on its loop or in the admin CLI) is recent: leave it.
  const std::time_t cutoff = std::time(nullptr) - stale_tmp_age;
  for (const auto& name : stale) {
    std::string path = spool_.queue() + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && st.st_mtime < cutoff) ::unlink(path.c_str());
  }
  // A crash during reschedule can leave two names for one id: keep the one with more attempts.
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.id != b.id ? a.id < b.id : a.attempts > b.attempts;
  });
  auto kept = out.begin();
  for (auto it = out.begin(); it != out.end(); ++it) {
    if (it != out.begin() && it->id == (kept - 1)->id) {
      ::unlink((spool_.queue() + "/" + it->file_name()).c_str());
      continue;
    }
    if (kept != it) *kept = std::move(*it);
    ++kept;
  }
  out.erase(kept, out.end());
  return out;
}

Result<Loaded> Store::load(const Entry& entry) const {
  auto data = read_file(spool_.queue() + "/" + entry.file_name(), max_message_size_ + envelope_slack);
  if (!data) return std::move(data).error();
  std::size_t body = 0;
  auto env = envelope::decode(*data, &body);
  if (!env) return std::move(env).error();
  Loaded l;
  l.envelope = std::move(*env);
  l.body_offset = body;
  // In place: a copy would hold the message twice until the file's string is freed.
  l.message = std::move(*data);
  l.message.erase(0, body);
  return l;
}

Result<std::uint64_t> Store::file_size(const Entry& entry) const {
  std::string path = spool_.queue() + "/" + entry.file_name();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    return fs_error(err, "stat " + path, path);
  }
  return static_cast<std::uint64_t>(st.st_size);
}

Result<Entry> Store::rewrite(const Entry& entry, std::uint32_t attempts, std::int64_t next_attempt,
                             const envelope::Envelope& env, std::uint64_t body_offset) {
  Entry updated = entry;
  updated.attempts = attempts;
  updated.next_attempt = next_attempt;
  std::string from = spool_.queue() + "/" + entry.file_name();
  std::string to = spool_.queue() + "/" + updated.file_name();
  std::string tmp = spool_.queue() + "/.tmp-" + entry.id;
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) {
    int err = errno;
    return fs_error(err, "open " + from, from);
  }
  ::unlink(tmp.c_str());
  Status s = write_file_from(tmp, envelope::encode(env), in, body_offset);
  ::close(in);
  if (!s) return std::move(s).error();
  if (::rename(tmp.c_str(), to.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fs_error(err, "rename " + tmp, spool_.queue());
  }
  if (from != to) ::unlink(from.c_str());
  if (auto st = queue::fsync_dir(spool_.queue()); !st) return std::move(st).error();
  return updated;
}

Status Store::remove(const Entry& entry) {
  std::string path = spool_.queue() + "/" + entry.file_name();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::from_errno(errno, "remove " + path);
  return {};
}

Result<Entry> Store::reschedule(const Entry& entry, std::uint32_t attempts, std::int64_t next_attempt,
                                const Loaded* remaining) {
  Entry updated = entry;
  updated.attempts = attempts;
  updated.next_attempt = next_attempt;
  std::string from = spool_.queue() + "/" + entry.file_name();
  std::string to = spool_.queue() + "/" + updated.file_name();
  if (remaining) {
    std::string tmp = spool_.queue() + "/.tmp-" + entry.id;
    ::unlink(tmp.c_str());
    if (auto s = write_file(tmp, envelope::encode(remaining->envelope), remaining->message); !s)
      return std::move(s).error();
    if (::rename(tmp.c_str(), to.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return fs_error(err, "rename " + tmp, spool_.queue());
    }
    if (from != to) ::unlink(from.c_str());
  } else if (from != to && ::rename(from.c_str(), to.c_str()) != 0) {
    int err = errno;
    return fs_error(err, "rename " + from, spool_.queue());
  }
  if (auto s = queue::fsync_dir(spool_.queue()); !s) return std::move(s).error();
  return updated;
}

Status Store::move_to_failed(const Entry& entry, const std::string& reason) {
  std::string from = spool_.queue() + "/" + entry.file_name();
  std::string to = spool_.failed() + "/" + entry.id;
  auto loaded = load(entry);
  if (loaded) {
    loaded->envelope.last_error = reason.substr(0, envelope::max_error_text);
    std::string tmp = spool_.failed() + "/.tmp-" + entry.id;
    ::unlink(tmp.c_str());
    if (auto s = write_file(tmp, envelope::encode(loaded->envelope), loaded->message); !s) return s;
    if (::rename(tmp.c_str(), to.c_str()) != 0) return Error::from_errno(errno, "rename " + tmp);
    ::unlink(from.c_str());
  } else if (::rename(from.c_str(), to.c_str()) != 0) {
    // Unreadable or malformed: keep the bytes exactly as they are.
    int err = errno;
    return fs_error(err, "move " + from + " to failed/", spool_.failed());
  } else {
    // The modification time says when it came to failed/ (expire_failed counts from there).
    (void)::utimensat(AT_FDCWD, to.c_str(), nullptr, 0);
  }
  if (auto s = queue::fsync_dir(spool_.failed()); !s) return s;
  return queue::fsync_dir(spool_.queue());
}

Status Store::keep_failed(const std::string& id, const envelope::Envelope& env, std::string_view message) {
  std::string tmp = spool_.failed() + "/.tmp-" + id;
  ::unlink(tmp.c_str());
  if (auto s = write_file(tmp, envelope::encode(env), message); !s) return s;
  std::string to = spool_.failed() + "/" + id;
  if (::rename(tmp.c_str(), to.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error::from_errno(err, "rename " + tmp);
  }
  return queue::fsync_dir(spool_.failed());
}

Result<bool> Store::release_failed(const std::string& original_id, const std::string& bounce_id) {
  if (!queue::valid_id(original_id)) return false;
  std::string path = spool_.failed() + "/" + original_id;
  auto data = read_file(path, max_message_size_ + envelope_slack);
  if (!data) {
    if (data.error().domain == ErrorDomain::sys && data.error().code == ENOENT) return false;  // retried, dropped
    return std::move(data).error();
  }
  auto env = envelope::decode(*data, nullptr);
  // Only a file that still waits for this very bounce: after `nullq retry` and a new failure, the
  // original waits for a newer one.
  if (!env || env->bounce_id != bounce_id) return false;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return false;
    return Error::from_errno(errno, "remove " + path);
  }
  if (auto s = queue::fsync_dir(spool_.failed()); !s) return std::move(s).error();
  return true;
}

std::size_t Store::remove_tmp_orphans(std::chrono::seconds age) { return remove_older(spool_.tmp(), age); }

std::size_t Store::expire_failed(std::chrono::seconds age) { return remove_older(spool_.failed(), age); }

std::size_t Store::remove_older(const std::string& dir, std::chrono::seconds age) {
  std::size_t removed = 0;
  std::time_t cutoff = std::time(nullptr) - static_cast<std::time_t>(age.count());
  auto s = each_name(dir, [&](std::string_view name) {
    std::string path = dir + "/" + std::string(name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < cutoff && ::unlink(path.c_str()) == 0)
      ++removed;
  });
  (void)s;  // an unreadable directory only means nothing is cleaned this time
  return removed;
}

}  // namespace nullq::spool

// nullmailer's queue -> nullq's spool, one durable commit before each unlink (import_nullmailer.hpp).
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "import_nullmailer.hpp"
#include "nullq/envelope.hpp"
#include "nullq/queue.hpp"
#include "nullq/reply.hpp"
#include "nullq/submit.hpp"

namespace nullq::admin {

namespace {

// Reads a queue file: the envelope by lines (each capped), then the message in chunks.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}

  // One line without its LF. false at EOF before a LF (the file is cut short) or on a read error.
  bool line(std::string& out, std::size_t max, std::string& why) {
    out.clear();
    for (;;) {
      std::size_t nl = buf_.find('\n', pos_);
      std::size_t end = nl == std::string::npos ? buf_.size() : nl;
      if (end - pos_ > max) {
        why = "an envelope line is longer than " + std::to_string(max) + " bytes";
        return false;
      }
      if (nl != std::string::npos) {
        out.assign(buf_, pos_, nl - pos_);
        pos_ = nl + 1;
        return true;
      }
      int got = fill();
      if (got < 0) {
        why = std::string("read error: ") + std::strerror(-got);
        return false;
      }
      if (got == 0) {
        why = "the envelope is cut short (no empty line before the message)";
        return false;
      }
    }
  }

  // The next chunk of the message; empty at EOF. `error` gets -errno on a read error.
  std::string_view chunk(int& error) {
    error = 0;
    if (pos_ >= buf_.size()) {
      buf_.clear();
      pos_ = 0;
      int got = fill();
      if (got < 0) error = got;
      if (got <= 0) return {};
    }
    std::string_view v = std::string_view(buf_).substr(pos_);
    pos_ = buf_.size();
    return v;
  }

  // True when nothing follows the envelope.
  bool at_eof(int& error) {
    error = 0;
    if (pos_ < buf_.size()) return false;
    int got = fill();
    if (got < 0) error = got;
    return got <= 0;
  }

 private:
  int fill() {
    if (pos_ > 0 && pos_ == buf_.size()) buf_.clear(), pos_ = 0;
    char tmp[65536];
    for (;;) {
      ssize_t n = ::read(fd_, tmp, sizeof tmp);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -errno;
      buf_.append(tmp, static_cast<std::size_t>(n));
      return static_cast<int>(n);
    }
  }

  int fd_;
  std::string buf_;
  std::size_t pos_ = 0;
};

// While alive, the effective ids are the nullq user's (when running as root and it exists), so
// that what is committed belongs to the flusher: a root-owned file in new/ would strand the mail.
class AsSpoolOwner {
 public:
  explicit AsSpoolOwner(const passwd* pw) : active_(pw != nullptr && ::geteuid() == 0) {
    if (!active_) return;
    if (::setegid(pw->pw_gid) != 0 || ::seteuid(pw->pw_uid) != 0) {
      ok_ = false;
      err_ = errno;
    }
  }
  ~AsSpoolOwner() {
    if (!active_) return;
    // Back to root for reading and unlinking nullmailer's files. Failing here would leave us unable
    // to finish safely: stop rather than guess.
    if (::seteuid(0) != 0 || ::setegid(0) != 0) std::abort();
  }
  AsSpoolOwner(const AsSpoolOwner&) = delete;
  AsSpoolOwner& operator=(const AsSpoolOwner&) = delete;
  bool ok() const { return ok_; }
  int error() const { return err_; }

 private:
  bool active_;
  bool ok_ = true;
  int err_ = 0;
};

struct Parsed {
  envelope::Envelope env;
  std::string why;  // set when the file cannot be imported
};

// The envelope of a nullmailer queue file: sender line, recipient lines, empty line. Leaves `in`
// at the first byte of the message.
Parsed parse_envelope(Reader& in) {
  Parsed p;
  std::string line;
  if (!in.line(line, envelope::max_address, p.why)) return p;
  if (auto s = envelope::validate_address(line, true); !s) {
    p.why = "bad envelope sender: " + s.error().detail;
    return p;
  }
  p.env.sender = line;
  for (;;) {
    if (!in.line(line, envelope::max_address, p.why)) return p;
    if (line.empty()) break;
    if (auto s = envelope::validate_address(line, false); !s) {
      p.why = "bad envelope recipient: " + s.error().detail;
      return p;
    }
    if (p.env.recipients.size() >= envelope::max_recipients) {
      p.why = "more than " + std::to_string(envelope::max_recipients) + " recipients";
      return p;
    }
    p.env.recipients.push_back(line);
  }
  if (p.env.recipients.empty()) p.why = "no recipients";
  return p;
}

int exit_for_errno(int e) { return e == EACCES || e == EPERM ? 77 : 74; }

}  // namespace

int import_queue(const ImportOptions& opt, const config::Config& cfg, std::FILE* out, std::FILE* err) {
  const std::string qdir = opt.spool + "/queue";
  queue::Spool spool{cfg.queue_dir};
  const passwd* owner = ::geteuid() == 0 ? ::getpwnam("nullq") : nullptr;
  passwd owner_copy {};
  std::string owner_name;
  if (owner) owner_copy = *owner, owner_name = owner->pw_name, owner_copy.pw_name = owner_name.data();

  DIR* d = ::opendir(qdir.c_str());
  if (!d) {
    int e = errno;
    if (e == ENOENT) {
      std::fprintf(out, "no nullmailer queue at %s: nothing to move\n", qdir.c_str());
      return 0;
    }
    std::fprintf(err, "nullq: cannot read %s: %s\n", qdir.c_str(), std::strerror(e));
    return exit_for_errno(e);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());  // <time>.<pid>: oldest first
  if (names.empty()) {
    std::fprintf(out, "nullmailer's queue %s is empty: nothing to move\n", qdir.c_str());
    return 0;
  }

  // The spool: an unprivileged run lays out its own (as the other programs do); as root it is the
  // package's, with its shared modes, and must already be there.
  if (::geteuid() != 0) {
    if (auto s = queue::ensure_spool(spool); !s) {
      std::fprintf(err, "nullq: cannot set up %s: %s\n", spool.dir.c_str(), s.error().message().c_str());
      return submit::exit_code_for(s.error());
    }
  } else if (struct stat st {}; ::stat(spool.incoming().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(err, "nullq: %s is missing; create the spool first (systemd-tmpfiles --create)\n",
                 spool.incoming().c_str());
    return 73;
  }

  std::size_t moved = 0, left = 0;
  int code = 0;
  for (const auto& name : names) {
    const std::string path = qdir + "/" + name;
    const std::string shown = proto::sanitize(path, 300);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // sent or moved meanwhile by a nullmailer-send still running
      std::fprintf(err, "nullq: %s: cannot open: %s; left in place\n", shown.c_str(), std::strerror(errno));
      ++left;
      code = exit_for_errno(errno);
      continue;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      std::fprintf(err, "nullq: %s: not a regular file; left in place\n", shown.c_str());
      ::close(fd);
      ++left;
      if (code == 0) code = 65;
      continue;
    }
    Reader in(fd);
    Parsed p = parse_envelope(in);
    int rerr = 0;
    if (p.why.empty() && in.at_eof(rerr))
      p.why = rerr ? std::string("read error: ") + std::strerror(-rerr) : "no message after the envelope (cut short)";
    if (!p.why.empty()) {
      std::fprintf(err, "nullq: %s: cannot be parsed: %s; left in place\n", shown.c_str(), p.why.c_str());
      ::close(fd);
      ++left;
      if (code == 0) code = 65;
      continue;
    }
    // queuelifetime counted from the file's mtime; nullq's lifetime counts from queued_at.
    p.env.queued_at = static_cast<std::int64_t>(st.st_mtime);

    std::string id, failure;
    int fail_code = 0;
    {
      AsSpoolOwner as(owner ? &owner_copy : nullptr);
      if (!as.ok()) {
        std::fprintf(err, "nullq: cannot act as user nullq: %s\n", std::strerror(as.error()));
        ::close(fd);
        return 77;
      }
      auto drop = queue::Drop::create(spool);
      if (!drop) {
        failure = drop.error().message();
        fail_code = submit::exit_code_for(drop.error());
      } else {
        Status s = drop->write(envelope::encode(p.env));
        while (s.ok()) {
          std::string_view c = in.chunk(rerr);
          if (rerr) {
            s = Error::from_errno(-rerr, "read " + path);
            break;
          }
          if (c.empty()) break;
          s = drop->write(c);
        }
        if (s.ok()) {
          auto committed = drop->commit();
          if (committed) id = *committed;
          else s = std::move(committed).error();
        }
        if (!s.ok()) failure = s.error().message(), fail_code = submit::exit_code_for(s.error());
      }
      // An uncommitted Drop removes its tmp/ file here: nothing half-written stays in the spool.
    }
    ::close(fd);
    if (id.empty()) {
      std::fprintf(err, "nullq: %s: cannot queue it: %s; left in place\n", shown.c_str(), failure.c_str());
      ++left;
      // The spool itself failed (disk full, permissions): the next message would fare no better.
      std::fprintf(out, "moved %zu message(s) into %s; stopped, %zu left in %s\n", moved, spool.incoming().c_str(),
                   names.size() - moved, qdir.c_str());
      return fail_code ? fail_code : 74;
    }
    // Only now, with the copy durable in new/, does nullmailer's file go. A crash before this line
    // leaves both: the message is then sent twice, never lost.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      int e = errno;
      std::fprintf(err,
                   "nullq: %s: queued as %s, but cannot remove it: %s; remove it by hand, or it is imported again\n",
                   shown.c_str(), id.c_str(), std::strerror(e));
      ++moved;
      std::fprintf(out, "%s -> %s\n", proto::sanitize(name, 200).c_str(), id.c_str());
      std::fprintf(out, "moved %zu message(s) into %s; stopped, %zu left in %s\n", moved, spool.incoming().c_str(),
                   names.size() - moved, qdir.c_str());
      return exit_for_errno(e);
    }
    ++moved;
    std::fprintf(out, "%s -> %s\n", proto::sanitize(name, 200).c_str(), id.c_str());
  }
  (void)queue::fsync_dir(qdir);  // the unlinks; were they lost, the messages would only come twice
  std::fprintf(out, "moved %zu message(s) into %s", moved, spool.incoming().c_str());
  if (left) std::fprintf(out, "; %zu left in %s (see above)", left, qdir.c_str());
  std::fprintf(out, "\n");
  return code;
}

}  // namespace nullq::admin

#include "nullq/queue.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

namespace nullq::queue {

namespace {

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Error::from_errno(errno, "stat " + path);
    if (!S_ISDIR(st.st_mode)) return Error::permanent(ErrorDomain::sys, path + " exists and is not a directory");
    return {};
  }
  return Error::from_errno(errno, "create " + path);
}

template <class T>
bool parse_uint(std::string_view s, T& out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

Status fsync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::from_errno(errno, "open " + path);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Error::from_errno(err, "fsync " + path);
  return {};
}

Status ensure_spool(const Spool& spool) {
  if (auto s = make_dir(spool.dir, 0755); !s) return s;
  for (const std::string& d : {spool.tmp(), spool.incoming(), spool.queue(), spool.failed()})
    if (auto s = make_dir(d, 0700); !s) return s;
  std::string trig = spool.trigger();
  if (::mkfifo(trig.c_str(), 0600) != 0 && errno != EEXIST) return Error::from_errno(errno, "mkfifo " + trig);
  struct stat st {};
  if (::stat(trig.c_str(), &st) != 0) return Error::from_errno(errno, "stat " + trig);
  if (!S_ISFIFO(st.st_mode)) return Error::permanent(ErrorDomain::sys, trig + " exists and is not a FIFO");
  return {};
}

std::string make_id() {
  struct timeval tv {};
  ::gettimeofday(&tv, nullptr);
  unsigned char rnd[8] = {};
  std::size_t got = 0;
  while (got < sizeof rnd) {
    ssize_t n = ::getrandom(rnd + got, sizeof rnd - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no entropy source at all: ids would be guessable
    }
    got += static_cast<std::size_t>(n);
  }
  char buf[80];
  int n = std::snprintf(buf, sizeof buf, "%lld%06ldP%ldR", static_cast<long long>(tv.tv_sec),
                        static_cast<long>(tv.tv_usec), static_cast<long>(::getpid()));
  std::string id(buf, static_cast<std::size_t>(n));
  static const char hex[] = "0123456789abcdef";
  for (unsigned char b : rnd) {
    id.push_back(hex[b >> 4]);
    id.push_back(hex[b & 15]);
  }
  return id;
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!is_alnum(c)) return false;
  return true;
}

std::string format_queue_name(const QueueName& name) {
  return name.id + "," + std::to_string(name.attempts) + "," + std::to_string(name.next_attempt);
}

std::optional<QueueName> parse_queue_name(std::string_view file_name) {
  std::size_t a = file_name.find(',');
  if (a == std::string_view::npos) return std::nullopt;
  std::size_t b = file_name.find(',', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  QueueName q;
  std::string_view id = file_name.substr(0, a);
  if (!valid_id(id)) return std::nullopt;
  q.id = std::string(id);
  if (!parse_uint(file_name.substr(a + 1, b - a - 1), q.attempts)) return std::nullopt;
  if (!parse_uint(file_name.substr(b + 1), q.next_attempt)) return std::nullopt;
  return q;
}

Result<gid_t> drop_group(const Spool& spool) {
  struct stat st {};
  if (::stat(spool.tmp().c_str(), &st) != 0) return Error::from_errno(errno, "stat " + spool.tmp());
  return st.st_gid;
}

Result<Drop> Drop::create(const Spool& spool, std::optional<gid_t> group) {
  Drop d;
  d.spool_ = spool;
  for (int tries = 0; tries < 5; ++tries) {
    d.id_ = make_id();
    std::string path = spool.tmp() + "/" + d.id_;
    d.fd_ = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
    if (d.fd_ >= 0) {
      if (group && *group != ::getegid() && ::fchown(d.fd_, static_cast<uid_t>(-1), *group) != 0)
        return Error::from_errno(errno, "chown " + path + " to group " + std::to_string(*group));
      return d;  // on the error above, d's destructor removes the file
    }
    if (errno != EEXIST) return Error::from_errno(errno, "create " + path);
  }
  return Error::temporary(ErrorDomain::sys, "create " + spool.tmp() + ": no unique name found");
}

Drop::Drop(Drop&& o) noexcept
    : spool_(std::move(o.spool_)), id_(std::move(o.id_)), fd_(o.fd_), written_(o.written_), committed_(o.committed_) {
  o.fd_ = -1;
  o.committed_ = true;
}

Drop& Drop::operator=(Drop&& o) noexcept {
  if (this != &o) {
    this->~Drop();
    new (this) Drop(std::move(o));
  }
  return *this;
}

Drop::~Drop() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !id_.empty()) ::unlink((spool_.tmp() + "/" + id_).c_str());
}

Status Drop::write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "write " + spool_.tmp() + "/" + id_);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    written_ += static_cast<std::uint64_t>(n);
  }
  return {};
}

Result<std::string> Drop::commit() {
  std::string tmp = spool_.tmp() + "/" + id_;
  std::string dst = spool_.incoming() + "/" + id_;
  if (::fsync(fd_) != 0) return Error::from_errno(errno, "fsync " + tmp);
  if (::close(fd_) != 0) {
    fd_ = -1;
    return Error::from_errno(errno, "close " + tmp);
  }
  fd_ = -1;
  if (::link(tmp.c_str(), dst.c_str()) != 0) return Error::from_errno(errno, "link " + tmp + " to " + dst);
  if (auto s = fsync_dir(spool_.incoming()); !s) {
    // The link may not be durable: undo it, so that a failed commit means nothing was queued.
    ::unlink(dst.c_str());
    return std::move(s).error();
  }
  committed_ = true;
  ::unlink(tmp.c_str());
  poke_trigger(spool_);
  return id_;
}

void poke_trigger(const Spool& spool) {
  int fd = ::open(spool.trigger().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;  // ENXIO: no flusher listening; ENOENT: no trigger. Both fine.
  char b = 0;
  ssize_t n = ::write(fd, &b, 1);
  (void)n;  // EAGAIN: FIFO full, a wake-up is already pending
  ::close(fd);
}

Result<bool> poke_flusher(const Spool& spool) {
  std::string path = spool.trigger();
  // O_NONBLOCK: opening a FIFO for writing fails with ENXIO at once when nobody has it open for reading.
  int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENXIO || errno == ENOENT) return false;
    return Error::from_errno(errno, "open " + path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
    ::close(fd);
    return Error::permanent(ErrorDomain::sys, path + " is not a FIFO");
  }
  char b = 0;
  ssize_t n = ::write(fd, &b, 1);
  int err = errno;
  ::close(fd);
  if (n == 1 || err == EAGAIN) return true;  // EAGAIN: full, so a wake-up is already pending
  if (err == EPIPE) return false;            // the reader left between open and write
  return Error::from_errno(err, "write " + path);
}

}  // namespace nullq::queue

#include "nullq/submit.hpp"

#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "nullq/envelope.hpp"
#include "nullq/netstring.hpp"

namespace nullq::submit {

namespace {

constexpr std::size_t max_framing = 16 * 1024 * 1024;  // 10,000 recipients of 998 bytes fit

Outcome fail(int code, std::string message) { return Outcome{code, std::move(message), {}}; }

std::string received_line(uid_t uid, std::int64_t now) {
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm {};
  ::gmtime_r(&t, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return "Received: (nullq-queue invoked by uid " + std::to_string(uid) + ");\n\t" + date + "\n";
}

// Copies the message to the drop, turning CRLF into LF so the queue holds LF endings only.
class Writer {
 public:
  explicit Writer(queue::Drop& d) : drop_(d) {}
  Status put(std::string_view in) {
    out_.clear();
    for (char c : in) {
      if (pending_cr_) {
        pending_cr_ = false;
        if (c != '\n') out_.push_back('\r');
      }
      if (c == '\r') pending_cr_ = true;
      else out_.push_back(c);
    }
    size_ += out_.size();
    return drop_.write(out_);
  }
  Status end() {
    if (pending_cr_) {
      pending_cr_ = false;
      ++size_;
      return drop_.write("\r");
    }
    return {};
  }
  std::uint64_t size() const { return size_ + (pending_cr_ ? 1 : 0); }

 private:
  queue::Drop& drop_;
  std::string out_;
  bool pending_cr_ = false;
  std::uint64_t size_ = 0;
};

}  // namespace

int exit_code_for(const Error& e) {
  if (e.domain != ErrorDomain::sys) return e.is_permanent() ? 65 : 75;
  switch (e.code) {
    case EACCES:
    case EPERM:
      return 77;
    case ENOSPC:
    case EDQUOT:
    case EAGAIN:
    case EINTR:
      return 75;
    case EFBIG:
      return 65;
    case EIO:
      return 74;
    default:
      return 73;
  }
}

Outcome submit(int in_fd, const queue::Spool& spool, std::uint64_t max_size, uid_t uid, std::int64_t now) {
  if (max_size > absolute_max_size) max_size = absolute_max_size;
  char buf[65536];
  netstring::Parser framing(max_framing);
  std::string_view rest;
  for (;;) {
    ssize_t n = ::read(in_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(74, "cannot read the message: " + Error::from_errno(errno, "read").message());
    if (n == 0) {
      framing.finish();
      return fail(65, "bad envelope framing: " + framing.error().detail);
    }
    std::string_view in(buf, static_cast<std::size_t>(n));
    std::size_t used = framing.feed(in);
    if (framing.failed()) return fail(65, "bad envelope framing: " + framing.error().detail);
    if (framing.done()) {
      rest = in.substr(used);
      break;
    }
  }
  auto env = envelope::decode_drop(framing.payload());
  if (!env) return fail(65, env.error().detail);
  env->queued_at = now;
  env->uid = uid;

  auto drop = queue::Drop::create(spool);
  if (!drop) return fail(exit_code_for(drop.error()), drop.error().message());
  if (auto s = drop->write(envelope::encode(*env) + received_line(uid, now)); !s)
    return fail(exit_code_for(s.error()), s.error().message());
  Writer w(*drop);
  std::string too_big = "message exceeds maximum size of " + std::to_string(max_size) + " bytes";
  for (;;) {
    if (!rest.empty()) {
      if (auto s = w.put(rest); !s) {
        if (s.error().domain == ErrorDomain::sys && s.error().code == EFBIG) return fail(65, too_big);
        return fail(exit_code_for(s.error()), s.error().message());
      }
      if (w.size() > max_size) return fail(65, too_big);
    }
    ssize_t n = ::read(in_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(74, "cannot read the message: " + Error::from_errno(errno, "read").message());
    if (n == 0) break;
    rest = std::string_view(buf, static_cast<std::size_t>(n));
  }
  if (auto s = w.end(); !s) return fail(exit_code_for(s.error()), s.error().message());
  if (w.size() > max_size) return fail(65, too_big);
  auto id = drop->commit();
  if (!id) return fail(exit_code_for(id.error()), id.error().message());
  return Outcome{0, {}, *id};
}

}  // namespace nullq::submit

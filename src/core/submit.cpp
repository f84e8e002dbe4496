#include "nullq/submit.hpp"

#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "nullq/envelope.hpp"
#include "nullq/limits.hpp"
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

// One submission fed in chunks as they come: the framing block, then the message to its end. The
// queue file is created once the framing is complete and valid; the message is copied to it with
// CRLF turned into LF, so the queue holds LF endings only.
class Job {
 public:
  explicit Job(const Target& t) : target_(t), framing_(max_framing) {
    if (target_.max_size > absolute_max_size) target_.max_size = absolute_max_size;
  }

  // nullopt: go on feeding; an outcome: stop, this is the result (never success).
  std::optional<Outcome> feed(std::string_view in) {
    if (!drop_) {
      std::size_t used = framing_.feed(in);
      if (framing_.failed()) return fail(65, "bad envelope framing: " + framing_.error().detail);
      if (!framing_.done()) return std::nullopt;
      if (auto o = start()) return o;
      in.remove_prefix(used);
    }
    if (in.empty()) return std::nullopt;
    if (auto s = put(in); !s) {
      if (s.error().domain == ErrorDomain::sys && s.error().code == EFBIG) return fail(65, too_big());
      return fail(exit_code_for(s.error()), s.error().message());
    }
    if (size_ > target_.max_size) return fail(65, too_big());
    return std::nullopt;
  }

  // The input ended: commit (or say why not).
  Outcome end() {
    if (!drop_) {
      framing_.finish();
      return fail(65, "bad envelope framing: " + framing_.error().detail);
    }
    if (pending_cr_) {
      pending_cr_ = false;
      ++size_;
      if (auto s = drop_->write("\r"); !s) return fail(exit_code_for(s.error()), s.error().message());
    }
    if (size_ > target_.max_size) return fail(65, too_big());
    // The message is written: committing it must not take the spool into the reserve either.
    if (auto s = limits::check_reserve(target_.spool.tmp(), target_.min_free); !s)
      return fail(exit_code_for(s.error()), s.error().message());
    auto id = drop_->commit();
    if (!id) return fail(exit_code_for(id.error()), id.error().message());
    return Outcome{0, {}, *id};
  }

 private:
  std::optional<Outcome> start() {
    auto env = envelope::decode_drop(framing_.payload());
    if (!env) return fail(65, env.error().detail);
    env->queued_at = target_.now;
    env->uid = target_.uid;
    if (auto s = limits::check_reserve(target_.spool.tmp(), target_.min_free); !s)
      return fail(exit_code_for(s.error()), s.error().message());
    auto drop = queue::Drop::create(target_.spool, target_.group);
    if (!drop) return fail(exit_code_for(drop.error()), drop.error().message());
    drop_.emplace(std::move(drop).value());
    if (auto s = drop_->write(envelope::encode(*env) + received_line(target_.uid, target_.now)); !s)
      return fail(exit_code_for(s.error()), s.error().message());
    return std::nullopt;
  }

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
    return drop_->write(out_);
  }

  std::string too_big() const {
    return "message exceeds maximum size of " + std::to_string(target_.max_size) + " bytes";
  }

  Target target_;
  netstring::Parser framing_;
  std::optional<queue::Drop> drop_;  // destroyed uncommitted, it removes its tmp/ file
  std::string out_;
  bool pending_cr_ = false;
  std::uint64_t size_ = 0;  // message bytes written, without a pending CR
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

Outcome submit(int in_fd, const Target& target) {
  Job job(target);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(74, "cannot read the message: " + Error::from_errno(errno, "read").message());
    if (n == 0) return job.end();
    if (auto o = job.feed(std::string_view(buf, static_cast<std::size_t>(n)))) return std::move(*o);
  }
}

Outcome submit(std::string_view framing, std::string_view message, const Target& target) {
  Job job(target);
  if (auto o = job.feed(framing)) return std::move(*o);
  // Fed in pieces as the pipe would bring them, so the copy buffer stays small for a large message.
  constexpr std::size_t piece = 65536;
  while (!message.empty()) {
    std::size_t n = message.size() < piece ? message.size() : piece;
    if (auto o = job.feed(message.substr(0, n))) return std::move(*o);
    message.remove_prefix(n);
  }
  return job.end();
}

}  // namespace nullq::submit

#include "mailq_count.hpp"

#include <ctime>

#include "nullq/clock_text.hpp"
#include "nullq/send/status_file.hpp"

namespace nullq::sendmail {

namespace {

std::string clock_time(std::int64_t t) { return clock_text(t); }

}  // namespace

void print_count_line(const queue::Tally& waiting, std::FILE* out) {
  if (waiting.messages == 0) {
    std::fputs("Mail queue is empty\n", out);
    return;
  }
  std::fprintf(out, "-- %llu Kbytes in %llu Request%s.\n", static_cast<unsigned long long>(waiting.bytes / 1024),
               static_cast<unsigned long long>(waiting.messages), waiting.messages == 1 ? "" : "s");
}

int count_from_status(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  const queue::Spool spool{cfg.queue_dir};
  const send::StatusRead r = send::read_status(spool);
  switch (r.liveness) {
    case send::Liveness::running:
      print_count_line(r.snapshot.census.waiting(), out);
      std::fprintf(err, "mailq: counted by nullq-send (%s); the messages themselves are listed for root only\n",
                   send::status_path(spool).c_str());
      return 0;
    case send::Liveness::stopped:
      std::fprintf(err, "mailq: nullq-send is not running (it stopped at %s), so an ordinary user cannot count the "
                        "queue; root can (mailq as root)\n",
                   clock_time(r.snapshot.written_at).c_str());
      return 69;
    case send::Liveness::stale:
      std::fprintf(err, "mailq: nullq-send is not running (pid %lld, which wrote %s, is gone), so an ordinary user "
                        "cannot count the queue; root can (mailq as root)\n",
                   static_cast<long long>(r.snapshot.pid), send::status_path(spool).c_str());
      return 69;
    case send::Liveness::absent:
      break;
  }
  if (!r.problem.empty()) {
    std::fprintf(err, "mailq: %s; an ordinary user cannot count the queue without it; root can (mailq as root)\n",
                 r.problem.c_str());
    return 69;
  }
  std::fprintf(err, "mailq: nullq-send is not running (no %s), so an ordinary user cannot count the queue; root "
                    "can (mailq as root)\n",
               send::status_path(spool).c_str());
  return 69;
}

}  // namespace nullq::sendmail

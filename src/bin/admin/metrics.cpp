// `nullq metrics`: the queue gauges in Prometheus text format (see metrics.hpp).
#include "metrics.hpp"

#include <cerrno>
#include <ctime>

#include "nullq/census.hpp"
#include "nullq/send/metrics.hpp"
#include "nullq/send/status_file.hpp"

namespace nullq::admin {

int metrics(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  const queue::Spool spool{cfg.queue_dir};
  auto c = queue::take_census(spool);
  if (!c) {
    const Error& e = c.error();
    if (e.domain == ErrorDomain::sys && e.code == EACCES) {
      // An ordinary user: the running nullq-send's count.
      auto r = send::read_status(spool);
      if (r.liveness == send::Liveness::running) {
        std::fputs(send::render_queue(r.snapshot.census, std::time(nullptr)).c_str(), out);
        return 0;
      }
      std::fprintf(err, "nullq: %s (the queue is private to the nullq user and nullq-send is not running; run as "
                        "root or nullq)\n",
                   e.message().c_str());
      return 77;
    }
    std::fprintf(err, "nullq: %s\n", e.message().c_str());
    return e.domain == ErrorDomain::sys && e.code == ENOENT ? 69 : 74;
  }
  std::fputs(send::render_queue(c.value(), std::time(nullptr)).c_str(), out);
  return 0;
}

}  // namespace nullq::admin

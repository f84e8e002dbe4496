#include "mailq.hpp"
#include "mailq_count.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <tuple>
#include <string>
#include <vector>

#include "nullq/clock_text.hpp"
#include "nullq/envelope.hpp"
#include "nullq/queue.hpp"
#include "nullq/reply.hpp"

namespace nullq::sendmail {

namespace {

struct Item {
  std::string id, path, state;
  std::uint32_t attempts = 0;
  std::int64_t next = 0;
};

std::string when(std::int64_t t) { return clock_text(t); }

// Lists `dir`; false with errno set if it cannot be read.
bool list_dir(const std::string& dir, const std::string& state, std::vector<Item>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name[0] == '.') continue;
    Item it;
    it.path = dir + "/" + name;
    it.state = state;
    if (auto q = queue::parse_queue_name(name)) {
      it.id = q->id;
      it.attempts = q->attempts;
      it.next = q->next_attempt;
    } else {
      it.id = name;
    }
    out.push_back(std::move(it));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Item& a, const Item& b) { return a.id < b.id; });
  return true;
}

void show(const Item& it, std::FILE* out) {
  std::ifstream f(it.path, std::ios::binary);
  std::string head(64 * 1024, '\0');
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(f.gcount()));
  struct stat st {};
  ::stat(it.path.c_str(), &st);
  std::size_t body = 0;
  auto env = envelope::decode(head, &body);
  if (!env) {
    std::fprintf(out, "%s  %lld bytes  (unreadable: %s)\n", it.id.c_str(), static_cast<long long>(st.st_size),
                 proto::sanitize(env.error().detail).c_str());
    return;
  }
  std::fprintf(out, "%s  %s  %lld bytes  %s", it.id.c_str(), when(env->queued_at).c_str(),
               static_cast<long long>(st.st_size) - static_cast<long long>(body), it.state.c_str());
  if (it.attempts) std::fprintf(out, "  attempts %u", it.attempts);
  if (it.next) std::fprintf(out, "  next %s", when(it.next).c_str());
  std::fprintf(out, "\n  from <%s>\n", proto::sanitize(env->sender).c_str());
  for (const auto& r : env->recipients) std::fprintf(out, "  to   <%s>\n", proto::sanitize(r).c_str());
  if (!env->last_error.empty()) std::fprintf(out, "  last error: %s\n", proto::sanitize(env->last_error).c_str());
}

}  // namespace

int list_queue(const config::Config& cfg, std::FILE* out, std::FILE* err) {
  queue::Spool spool{cfg.queue_dir};
  // A spool that is not there is not an empty queue: the configuration names the wrong place, or
  // nullq is not installed. Exit 69 (unavailable), as a missing program is.
  if (struct stat st {}; ::stat(spool.dir.c_str(), &st) != 0 && errno == ENOENT) {
    std::fprintf(err, "mailq: the queue directory %s does not exist: is nullq installed? (queue.dir in %s)\n",
                 spool.dir.c_str(), cfg.path.c_str());
    return 69;
  }
  std::vector<Item> waiting, failed;
  for (auto [dir, state, into] : {std::tuple{spool.incoming(), "new", &waiting}, std::tuple{spool.queue(), "queued", &waiting},
                                  std::tuple{spool.failed(), "failed", &failed}}) {
    std::vector<Item> items;
    if (!list_dir(dir, state, items)) {
      if (errno == ENOENT) continue;  // new/ or failed/ not made yet
      int e = errno;
      // The queue is private to the nullq user: an ordinary user gets the count, from nullq-send.
      if (e == EACCES) return count_from_status(cfg, out, err);
      std::fprintf(err, "mailq: cannot read %s: %s\n", dir.c_str(), std::strerror(e));
      return 74;
    }
    into->insert(into->end(), items.begin(), items.end());
  }
  if (!waiting.empty()) std::fprintf(out, "%zu message%s queued:\n", waiting.size(), waiting.size() == 1 ? "" : "s");
  for (const auto& it : waiting) show(it, out);
  if (!failed.empty()) {
    std::fprintf(out, "%s%zu failed message%s kept in %s:\n", waiting.empty() ? "" : "\n", failed.size(),
                 failed.size() == 1 ? "" : "s", spool.failed().c_str());
    for (const auto& it : failed) show(it, out);
  }
  // The last line is Postfix's, which monitoring parses (`mailq | tail -n1`, check_mailq): the
  // messages still to be delivered and the size of their queue files, in whole Kbytes rounded
  // down, "Request" for one. failed/ is not counted: nothing will deliver it.
  if (waiting.empty()) {
    std::fputs(failed.empty() ? "Mail queue is empty\n" : "\nMail queue is empty\n", out);
  } else {
    std::uint64_t bytes = 0;
    for (const auto& it : waiting) {
      struct stat st {};
      if (::stat(it.path.c_str(), &st) == 0) bytes += static_cast<std::uint64_t>(st.st_size);
    }
    std::fprintf(out, "\n-- %llu Kbytes in %zu Request%s.\n", static_cast<unsigned long long>(bytes / 1024),
                 waiting.size(), waiting.size() == 1 ? "" : "s");
  }
  return 0;
}

}  // namespace nullq::sendmail

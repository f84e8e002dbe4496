// Counting the spool by state (see include/nullq/census.hpp).
#include "nullq/census.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>

namespace nullq::queue {

namespace {

// Calls `each(name, size)` for every regular file in `dir`. ENOENT from opendir: `missing_ok`.
template <class F>
Status scan_dir(const std::string& dir, bool missing_ok, F&& each) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT && missing_ok) return {};
    return Error::from_errno(errno, "opendir " + dir);
  }
  const int fd = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    struct stat st {};
    if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    each(std::string_view(e->d_name), static_cast<std::uint64_t>(st.st_size));
  }
  ::closedir(d);
  return {};
}

}  // namespace

std::int64_t queued_at_of_id(std::string_view id) {
  std::size_t digits = 0;
  while (digits < id.size() && id[digits] >= '0' && id[digits] <= '9') ++digits;
  if (digits <= 6 || digits > 6 + 18) return 0;
  std::int64_t t = 0;
  for (std::size_t i = 0; i < digits - 6; ++i) t = t * 10 + (id[i] - '0');
  return t;
}

Result<Census> take_census(const Spool& spool) {
  Census c;
  auto older = [&c](std::int64_t t) {
    if (t > 0 && (c.oldest_queued_at == 0 || t < c.oldest_queued_at)) c.oldest_queued_at = t;
  };
  if (auto s = scan_dir(spool.incoming(), true, [&](std::string_view name, std::uint64_t size) {
        ++c.incoming.messages;
        c.incoming.bytes += size;
        older(queued_at_of_id(name));
      });
      !s)
    return std::move(s).error();
  if (auto s = scan_dir(spool.queue(), false, [&](std::string_view name, std::uint64_t size) {
        auto q = parse_queue_name(name);
        if (!q) return;  // not a queue file: the flusher reports it
        ++c.queued.messages;
        c.queued.bytes += size;
        if (q->attempts > 0) {
          ++c.deferred.messages;
          c.deferred.bytes += size;
        }
        older(queued_at_of_id(q->id));
      });
      !s)
    return std::move(s).error();
  if (auto s = scan_dir(spool.failed(), true, [&](std::string_view, std::uint64_t size) {
        ++c.failed.messages;
        c.failed.bytes += size;
      });
      !s)
    return std::move(s).error();
  return c;
}

}  // namespace nullq::queue

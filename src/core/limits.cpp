// nullq-queue's limits file and the free-space reserve (see include/nullq/limits.hpp).
#include "nullq/limits.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <charconv>
#include <limits>

namespace nullq::limits {

namespace {

constexpr std::size_t max_file = 64 * 1024;

Error bad(const std::string& detail) { return Error::permanent(ErrorDomain::config, detail); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    std::uint64_t mult;
  };
  static constexpr Unit units[] = {{"KiB", 1024ull}, {"MiB", 1024ull << 10}, {"GiB", 1024ull << 20}, {"KB", 1000ull},
                                   {"MB", 1000ull * 1000}, {"GB", 1000ull * 1000 * 1000}, {"B", 1}};
  std::uint64_t mult = 1;
  std::string_view digits = text;
  for (const Unit& u : units) {
    if (text.size() > u.suffix.size() && text.substr(text.size() - u.suffix.size()) == u.suffix) {
      mult = u.mult;
      digits = trim(text.substr(0, text.size() - u.suffix.size()));
      break;
    }
  }
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
    return bad("bad size '" + std::string(text) + "' (use e.g. 25MiB, 10MB, 1000000)");
  if (n > std::numeric_limits<std::uint64_t>::max() / mult / 2) return bad("size '" + std::string(text) + "' is too large");
  return n * mult;
}

Result<Limits> parse(std::string_view text, const std::string& name) {
  Limits l;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const std::string where = name + ":" + std::to_string(line_no) + ": ";
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return bad(where + "expected 'key: value'");
    std::string_view key = trim(line.substr(0, colon));
    auto value = parse_size(trim(line.substr(colon + 1)));
    if (!value) return bad(where + value.error().detail);
    if (key == "max_message_size") {
      if (*value == 0) return bad(where + "max_message_size must be more than 0");
      l.max_message_size = *value;
    } else if (key == "min_free") {
      l.min_free = *value;
    } else {
      return bad(where + "unknown key '" + std::string(key) + "' (max_message_size, min_free)");
    }
  }
  return l;
}

Result<Limits> load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Limits{};
    // Root's file that the caller may not read: say so rather than quietly apply other limits.
    return bad("cannot read " + path + ": " + std::strerror(errno) + " (it must be readable by everyone)");
  }
  struct stat st {};
  // Only a file root wrote speaks for root: anything else is as good as absent.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0 ||
      st.st_size > static_cast<off_t>(max_file)) {
    ::close(fd);
    return Limits{};
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  return parse(text, path);
}

Result<std::uint64_t> free_space(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return Error::from_errno(errno, "statvfs " + dir);
  return static_cast<std::uint64_t>(v.f_bavail) * static_cast<std::uint64_t>(v.f_frsize);
}

Status check_reserve(const std::string& dir, std::uint64_t reserve) {
  if (reserve == 0) return {};
  auto avail = free_space(dir);
  if (!avail) return std::move(avail).error();
  if (*avail >= reserve) return {};
  return Error::temporary(ErrorDomain::none, "insufficient disk space for the spool: " + std::to_string(*avail) +
                                                " bytes free in " + dir + ", below the reserve of " +
                                                std::to_string(reserve) + " bytes (min_free)");
}

}  // namespace nullq::limits

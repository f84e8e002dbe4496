#include "nullq/clock_text.hpp"

#include <ctime>

namespace nullq {

std::string clock_text(std::int64_t unix_s, const char* format, bool utc) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  if (utc) ::gmtime_r(&t, &tm);
  else ::localtime_r(&t, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace nullq

// limits.hpp — nullq-queue's own limits: the message size ceiling and the free-space reserve.
//
// Purpose:   nullq-queue is set-gid and never reads nullq.yaml (it must stay small, without
//            yaml-cpp, and the caller could point it at any file). Its limits are compiled in, or
//            come from a small file only root can have written (/etc/nullq/limits):
//
//              # nullq-queue's limits; nullq.yaml's queue.max_message_size and queue.min_free are
//              # nullq-sendmail's and nullq-send's.
//              max_message_size: 25MiB
//              min_free: 100MiB
//
//            Sizes as in nullq.yaml: <n>, <n>B, <n>KiB|MiB|GiB, <n>KB|MB|GB; min_free 0 turns the
//            reserve off. The free-space check (free_space) is shared with nullq-sendmail's own commit.
// Trust:     the file is believed only when it is a regular file owned by root and not writable by
//            group or others; any other file of that name is ignored (the compiled-in values apply).
// Errors:    a file root owns that does not parse is a config error (exit 78 in nullq-queue);
//            free_space returns Error::from_errno.
// Threading: no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nullq/result.hpp"

namespace nullq::limits {

inline constexpr std::uint64_t default_max_message_size = 25ull * 1024 * 1024;  // nullq.yaml's default too
inline constexpr std::uint64_t default_min_free = 100ull * 1024 * 1024;

struct Limits {
  std::uint64_t max_message_size = default_max_message_size;
  std::uint64_t min_free = default_min_free;  // bytes that new mail leaves free; 0 = no reserve
};

// "25MiB", "1000": the sizes nullq.yaml takes.
Result<std::uint64_t> parse_size(std::string_view text);
// The file's text: "key: value" lines, '#' comments, blank lines; unknown keys are errors.
Result<Limits> parse(std::string_view text, const std::string& name);
// `path` when it is root's and not group/other-writable, else the compiled-in values.
Result<Limits> load(const std::string& path);

// Bytes free for unprivileged use on the filesystem holding `dir` (statvfs f_bavail * f_frsize).
Result<std::uint64_t> free_space(const std::string& dir);
// Error::temporary ("insufficient disk space ...") when `dir`'s filesystem has less than `reserve`
// bytes free; ok when it has at least that, or `reserve` is 0.
Status check_reserve(const std::string& dir, std::uint64_t reserve);

}  // namespace nullq::limits

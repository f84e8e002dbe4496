// Fuzz target: the SMTP reply parser (proto::smtp::ReplyParser).
// Invariants: the replies and the failure do not depend on where the stream is split into reads
// (two cuts, so three reads); every reply has a code 100..599, 1..max_lines lines each within
// max_line, and an enhanced code that is the first line's; text() is printable; the replies,
// re-serialised ("ddd-text" ... "ddd text"), are parsed back the same; a failed parser stays failed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.hpp"
#include "nullq/smtp.hpp"

namespace smtp = nullq::proto::smtp;

namespace {

struct Seen {
  std::vector<smtp::Reply> replies;
  bool failed = false;
  std::string error;
  std::size_t buffered = 0;
};

Seen run(std::string_view in, std::size_t cut1, std::size_t cut2) {
  smtp::ReplyParser p;
  Seen s;
  const std::string_view parts[] = {in.substr(0, cut1), in.substr(cut1, cut2 - cut1), in.substr(cut2)};
  for (auto part : parts) {
    auto st = p.feed(part, s.replies);
    if (!st.ok() && s.error.empty()) s.error = st.error().detail;
  }
  s.failed = p.failed();
  s.buffered = p.buffered();
  if (s.failed) {
    // Stays failed: more bytes give the same error and no reply.
    std::vector<smtp::Reply> more;
    auto st = p.feed("250 ok\r\n", more);
    FUZZ_CHECK(!st.ok() && st.error().detail == s.error);
    FUZZ_CHECK(more.empty());
  }
  return s;
}

bool same(const smtp::Reply& a, const smtp::Reply& b) {
  return a.code == b.code && a.enhanced == b.enhanced && a.lines == b.lines;
}

std::string serialise(const smtp::Reply& r) {
  std::string out;
  for (std::size_t i = 0; i < r.lines.size(); ++i) {
    out += std::to_string(r.code);
    out += i + 1 < r.lines.size() ? '-' : ' ';
    out += r.lines[i];
    // The cap counts a CR before the LF; a line that used all of it came without one.
    out += r.lines[i].size() + 5 <= smtp::max_line ? "\r\n" : "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nullq::fuzz::TwoSplits s;
  if (!nullq::fuzz::two_splits(data, size, s)) return 0;
  const std::string_view in = s.rest;
  const std::size_t a = s.a, b = s.b;
  Seen whole = run(in, in.size(), in.size());
  Seen split = run(in, a, b);
  FUZZ_CHECK(whole.failed == split.failed);
  FUZZ_CHECK(whole.error == split.error);
  FUZZ_CHECK(whole.buffered == split.buffered);
  FUZZ_CHECK(whole.replies.size() == split.replies.size());
  FUZZ_CHECK(nullq::fuzz::all_printable(whole.error));
  std::string again;
  for (std::size_t i = 0; i < whole.replies.size(); ++i) {
    const auto& r = whole.replies[i];
    FUZZ_CHECK(same(r, split.replies[i]));
    FUZZ_CHECK(r.code >= 100 && r.code <= 599);
    FUZZ_CHECK(!r.lines.empty() && r.lines.size() <= smtp::max_lines);
    for (const auto& l : r.lines) FUZZ_CHECK(l.size() < smtp::max_line);
    FUZZ_CHECK(r.enhanced == smtp::enhanced_code(r.lines[0]));
    const std::string t = r.text();
    FUZZ_CHECK(nullq::fuzz::all_printable(t));
    FUZZ_CHECK(t.compare(0, 3, std::to_string(r.code)) == 0);
    const char v = static_cast<char>(r.verdict());
    FUZZ_CHECK(v == (r.code >= 500 ? 'D' : r.code >= 200 && r.code < 300 ? 'K' : 'Z'));
    again += serialise(r);
  }
  Seen reread = run(again, again.size(), again.size());
  FUZZ_CHECK(!reread.failed);
  FUZZ_CHECK(reread.buffered == 0);
  FUZZ_CHECK(reread.replies.size() == whole.replies.size());
  for (std::size_t i = 0; i < whole.replies.size(); ++i) FUZZ_CHECK(same(reread.replies[i], whole.replies[i]));
  return 0;
}

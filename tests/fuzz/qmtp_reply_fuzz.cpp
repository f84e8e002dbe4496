// Fuzz target: the QMTP pipelined response reader.
// Invariants: the answers and the failure do not depend on where the stream is split into reads;
// every answer belongs to an expected package and recipient, in order; the answers, re-serialised,
// are read back the same; kept texts are printable.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "nullq/qmtp.hpp"

namespace qmtp = nullq::proto::qmtp;

namespace {

struct Seen {
  std::vector<qmtp::Answer> answers;
  bool failed = false;
  std::string error;
};

Seen run(const std::vector<std::size_t>& packages, std::string_view in, std::size_t cut) {
  qmtp::ResponseReader r;
  for (std::size_t i = 0; i < packages.size(); ++i) r.expect(100 + i, packages[i]);
  Seen s;
  auto a = r.feed(in.substr(0, cut), s.answers);
  auto b = r.feed(in.substr(cut), s.answers);
  s.failed = r.failed();
  if (!a.ok()) s.error = a.error().detail;
  else if (!b.ok()) s.error = b.error().detail;
  return s;
}

bool same(const qmtp::Answer& x, const qmtp::Answer& y) {
  return x.package == y.package && x.recipient == y.recipient && x.reply == y.reply &&
         x.package_complete == y.package_complete;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // data[0]: split position; data[1]: up to 4 packages, 1..4 recipients each.
  std::vector<std::size_t> packages;
  for (unsigned i = 0; i <= (data[1] & 3u); ++i) packages.push_back(((data[1] >> (2 + i % 3 * 2)) & 3u) + 1);
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::size_t cut = data[0] % (in.size() + 1);
  Seen whole = run(packages, in, in.size());
  Seen split = run(packages, in, cut);
  FUZZ_CHECK(whole.failed == split.failed);
  FUZZ_CHECK(whole.error == split.error);
  FUZZ_CHECK(whole.answers.size() == split.answers.size());
  std::string again;
  std::size_t pkg = 0, rcpt = 0;
  for (std::size_t i = 0; i < whole.answers.size(); ++i) {
    const auto& a = whole.answers[i];
    FUZZ_CHECK(same(a, split.answers[i]));
    FUZZ_CHECK(pkg < packages.size());
    FUZZ_CHECK(a.package == 100 + pkg && a.recipient == rcpt);
    FUZZ_CHECK(a.package_complete == (rcpt + 1 == packages[pkg]));
    FUZZ_CHECK(nullq::fuzz::all_printable(a.reply.text));
    if (a.package_complete) ++pkg, rcpt = 0;
    else ++rcpt;
    again += qmtp::encode_response(a.reply.verdict, a.reply.text);
  }
  Seen reread = run(packages, again, 0);
  FUZZ_CHECK(!reread.failed);
  FUZZ_CHECK(reread.answers.size() == whole.answers.size());
  for (std::size_t i = 0; i < whole.answers.size(); ++i) FUZZ_CHECK(same(reread.answers[i], whole.answers[i]));
  return 0;
}

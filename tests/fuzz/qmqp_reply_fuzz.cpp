// Fuzz target: the QMQP response reader.
// Invariants: the outcome does not depend on where the stream is split into reads; a reply it
// accepts, re-serialised, is read back the same; the kept text is printable.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "nullq/qmqp.hpp"

namespace qmqp = nullq::proto::qmqp;
using State = qmqp::ResponseReader::State;

namespace {

struct Seen {
  State state;
  nullq::proto::Reply reply;
  std::size_t trailing;
  std::string error;
};

Seen run(std::string_view in, std::size_t cut) {
  qmqp::ResponseReader r;
  r.feed(in.substr(0, cut));
  r.feed(in.substr(cut));
  r.finish();
  return Seen{r.state(), r.reply(), r.trailing(), r.error().detail};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
  Seen whole = run(in, in.size());
  Seen split = run(in, cut);
  FUZZ_CHECK(whole.state == split.state);
  FUZZ_CHECK(whole.error == split.error);
  FUZZ_CHECK(whole.state != State::need_more);
  if (whole.state == State::done) {
    FUZZ_CHECK(whole.reply == split.reply);
    FUZZ_CHECK(whole.trailing == split.trailing);
    FUZZ_CHECK(nullq::fuzz::all_printable(whole.reply.text));
    FUZZ_CHECK(whole.reply.text.size() <= nullq::proto::max_reply_text);
    Seen again = run(qmqp::encode_response(whole.reply.verdict, whole.reply.text), 0);
    FUZZ_CHECK(again.state == State::done);
    FUZZ_CHECK(again.reply == whole.reply);
    FUZZ_CHECK(again.trailing == 0);
  }
  return 0;
}

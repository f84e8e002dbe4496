// Fuzz target: the queue-file envelope decoder and the drop-pipe framing (hostile local input).
// Invariants: a decoded envelope re-encodes to exactly the bytes it was decoded from (one encoding
// per envelope) and decodes back to itself; a decoded drop frame re-encodes the same way; error
// texts are printable.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "nullq/envelope.hpp"
#include "nullq/netstring.hpp"

namespace env = nullq::envelope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  std::size_t body = 0;
  auto e = env::decode(in, &body);
  if (e) {
    FUZZ_CHECK(body <= in.size());
    std::string again = env::encode(*e);
    FUZZ_CHECK(again == in.substr(0, body));
    std::size_t body2 = 0;
    auto e2 = env::decode(again, &body2);
    FUZZ_CHECK(e2.ok() && *e2 == *e && body2 == again.size());
    FUZZ_CHECK(e->rcpt_dsn.empty() || e->rcpt_dsn.size() == e->recipients.size());
  } else {
    FUZZ_CHECK(nullq::fuzz::all_printable(e.error().detail));
  }

  auto d = env::decode_drop(in);
  if (d) {
    std::string frame = env::encode_drop(d->sender, d->recipients, d->mail_dsn, d->rcpt_dsn);
    FUZZ_CHECK(frame == nullq::netstring::encode(in));
    auto d2 = env::decode_drop(in);
    FUZZ_CHECK(d2.ok() && d2->sender == d->sender && d2->recipients == d->recipients && d2->mail_dsn == d->mail_dsn &&
               d2->rcpt_dsn == d->rcpt_dsn);
    FUZZ_CHECK(d->rcpt_dsn.empty() || d->rcpt_dsn.size() == d->recipients.size());
  } else {
    FUZZ_CHECK(nullq::fuzz::all_printable(d.error().detail));
  }
  return 0;
}

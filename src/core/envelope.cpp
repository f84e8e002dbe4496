#include "nullq/envelope.hpp"

#include <charconv>

#include "nullq/netstring.hpp"
#include "nullq/printable.hpp"
#include "nullq/queue.hpp"

namespace nullq::envelope {

namespace {

constexpr std::string_view magic = "NQ1\n";

Error bad(std::string detail) { return Error::permanent(ErrorDomain::format, std::move(detail)); }

void record(std::string& out, char tag, std::string_view payload) {
  out.push_back(tag);
  netstring::append(out, payload);
  out.push_back('\n');
}

Result<std::int64_t> parse_int(std::string_view text, const char* what) {
  std::int64_t v = 0;
  bool neg = !text.empty() && text[0] == '-';
  std::string_view digits = neg ? text.substr(1) : text;
  // One spelling per number (the file re-encodes to the same bytes): digits only after the one
  // optional '-' (from_chars would take a second '-'), no leading zero, no "-0".
  if (digits.empty() || digits.size() > 18 || (digits.size() > 1 && digits[0] == '0') || (neg && digits == "0"))
    return bad(std::string("queue file: bad number in ") + what);
  for (char c : digits)
    if (c < '0' || c > '9') return bad(std::string("queue file: bad number in ") + what);
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size())
    return bad(std::string("queue file: bad number in ") + what);
  return neg ? -v : v;
}

}  // namespace

Status validate_address(std::string_view addr, bool is_sender) {
  if (addr.empty() && !is_sender) return bad("empty recipient address");
  if (addr.size() > max_address) return bad("address longer than " + std::to_string(max_address) + " bytes");
  for (char c : addr) {
    if (c == '\0') return bad("address contains a NUL byte");
    if (c == '\r' || c == '\n') return bad("address contains a line break");
  }
  return {};
}

Status validate_new_address(std::string_view addr, bool is_sender) {
  if (auto s = validate_address(addr, is_sender); !s) return s;
  for (char c : addr) {  // NUL, CR and LF were refused above
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return bad("address contains a control character (" + printable(std::string_view(&c, 1)) + ")");
  }
  return {};
}

std::string encode(const Envelope& env) {
  std::string out(magic);
  record(out, 'F', env.sender);
  for (const auto& r : env.recipients) record(out, 'T', r);
  record(out, 'Q', std::to_string(env.queued_at));
  if (env.uid >= 0) record(out, 'U', std::to_string(env.uid));
  if (!env.last_error.empty()) record(out, 'L', env.last_error.substr(0, max_error_text));
  if (env.warned) record(out, 'W', "1");
  if (!env.original_id.empty()) record(out, 'O', env.original_id);
  if (!env.bounce_id.empty()) record(out, 'B', env.bounce_id);
  out.push_back('\n');
  return out;
}

Result<Envelope> decode(std::string_view file, std::size_t* body_offset) {
  if (file.substr(0, magic.size()) != magic) return bad("queue file: missing NQ1 header");
  std::string_view rest = file.substr(magic.size());
  Envelope env;
  // Tags must come in this order; T may repeat.
  static constexpr std::string_view order = "FTQULWOB";
  std::size_t last = 0;
  bool seen[order.size()] = {};
  for (;;) {
    if (rest.empty()) return bad("queue file: truncated envelope");
    char tag = rest[0];
    if (tag == '\n') {
      rest.remove_prefix(1);
      break;
    }
    std::size_t pos = order.find(tag);
    if (pos == std::string_view::npos) return bad(std::string("queue file: unknown record tag"));
    if (pos < last || (seen[pos] && tag != 'T')) return bad(std::string("queue file: record ") + tag + " out of order");
    seen[pos] = true;
    last = pos;
    rest.remove_prefix(1);
    std::size_t limit = tag == 'L' ? max_error_text : max_address;
    auto payload = netstring::take(rest, limit);
    if (!payload) return bad(std::string("queue file: record ") + tag + ": " + payload.error().detail);
    if (rest.empty() || rest[0] != '\n') return bad(std::string("queue file: record ") + tag + " not ended by LF");
    rest.remove_prefix(1);
    switch (tag) {
      case 'F':
        if (auto s = validate_address(*payload, true); !s) return bad("queue file: sender: " + s.error().detail);
        env.sender = std::string(*payload);
        break;
      case 'T':
        if (env.recipients.size() >= max_recipients) return bad("queue file: too many recipients");
        if (auto s = validate_address(*payload, false); !s) return bad("queue file: recipient: " + s.error().detail);
        env.recipients.emplace_back(*payload);
        break;
      case 'Q': {
        auto v = parse_int(*payload, "Q");
        if (!v) return std::move(v).error();
        env.queued_at = *v;
        break;
      }
      case 'U': {
        auto v = parse_int(*payload, "U");
        if (!v) return std::move(v).error();
        if (*v < 0) return bad("queue file: negative uid");
        env.uid = *v;
        break;
      }
      case 'L':
        env.last_error = std::string(*payload);
        break;
      case 'W':
        if (*payload != "1") return bad("queue file: bad W record");
        env.warned = true;
        break;
      case 'O':
      case 'B':
        if (!queue::valid_id(*payload)) return bad(std::string("queue file: bad ") + tag + " record");
        (tag == 'O' ? env.original_id : env.bounce_id) = std::string(*payload);
        break;
    }
  }
  if (!seen[0]) return bad("queue file: no sender record");
  if (env.recipients.empty()) return bad("queue file: no recipients");
  if (!seen[2]) return bad("queue file: no queued-at record");
  if (body_offset) *body_offset = file.size() - rest.size();
  return env;
}

std::string encode_drop(std::string_view sender, const std::vector<std::string>& recipients) {
  std::string inner;
  netstring::append(inner, sender);
  for (const auto& r : recipients) netstring::append(inner, r);
  return netstring::encode(inner);
}

Result<Envelope> decode_drop(std::string_view outer_payload) {
  auto items = netstring::split(outer_payload, max_address);
  if (!items) return bad("drop: " + items.error().detail);
  if (items->empty()) return bad("drop: no sender");
  if (items->size() < 2) return bad("drop: no recipients");
  if (items->size() - 1 > max_recipients) return bad("drop: too many recipients");
  Envelope env;
  if (auto s = validate_new_address((*items)[0], true); !s) return bad("bad sender: " + s.error().detail);
  env.sender = std::string((*items)[0]);
  for (std::size_t i = 1; i < items->size(); ++i) {
    if (auto s = validate_new_address((*items)[i], false); !s) return bad("bad recipient: " + s.error().detail);
    env.recipients.emplace_back((*items)[i]);
  }
  return env;
}

}  // namespace nullq::envelope

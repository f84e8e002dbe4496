#include "nullq/envelope.hpp"

#include <charconv>

#include "nullq/netstring.hpp"
#include "nullq/printable.hpp"
#include "nullq/queue.hpp"

namespace nullq::envelope {

namespace {

constexpr std::string_view magic = "NQ1\n";
// Starts a DSN item in the drop framing: a control byte, so never the start of an address.
const std::string drop_dsn_mark = "\x01";

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

const dsn::RecipientParams& recipient_dsn(const Envelope& env, std::size_t i) {
  static const dsn::RecipientParams none;
  return i < env.rcpt_dsn.size() ? env.rcpt_dsn[i] : none;
}

void set_recipients(Envelope& env, std::vector<std::string> keep) {
  std::vector<dsn::RecipientParams> params;
  if (!env.rcpt_dsn.empty()) {
    // `keep` is in the old order: each one takes the first unused match (duplicates stay paired).
    std::vector<bool> used(env.recipients.size(), false);
    std::size_t from = 0;
    for (const auto& r : keep) {
      std::size_t k = env.recipients.size();
      for (std::size_t j = from; j < env.recipients.size() && k == env.recipients.size(); ++j)
        if (!used[j] && env.recipients[j] == r) k = j;
      for (std::size_t j = 0; j < from && k == env.recipients.size(); ++j)
        if (!used[j] && env.recipients[j] == r) k = j;
      if (k < env.recipients.size()) {
        used[k] = true;
        from = k + 1;
        params.push_back(recipient_dsn(env, k));
      } else {
        params.emplace_back();
      }
    }
  }
  env.recipients = std::move(keep);
  env.rcpt_dsn = std::move(params);
}

std::string encode(const Envelope& env) {
  std::string out(magic);
  record(out, 'F', env.sender);
  if (!env.mail_dsn.empty()) record(out, 'E', dsn::mail_params(env.mail_dsn));
  for (std::size_t i = 0; i < env.recipients.size(); ++i) {
    record(out, 'T', env.recipients[i]);
    if (const auto& p = recipient_dsn(env, i); !p.empty()) record(out, 'N', dsn::rcpt_params(p));
  }
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
  // Tags must come in this order; T may repeat, and N follows a T (at most once).
  static constexpr std::string_view order = "FETNQULWOB";
  bool any_rcpt_dsn = false;
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
    const bool t_after_n = tag == 'T' && order[last] == 'N';
    const bool n_after_t = tag == 'N' && order[last] == 'T';
    if (tag == 'N' && !n_after_t) return bad("queue file: record N not right after a T record");
    if ((pos < last && !t_after_n) || (seen[pos] && tag != 'T' && !n_after_t))
      return bad(std::string("queue file: record ") + tag + " out of order");
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
        env.rcpt_dsn.emplace_back();
        break;
      case 'E': {
        auto p = dsn::parse_mail_params(*payload);
        if (!p) return bad("queue file: record E: " + p.error().detail);
        env.mail_dsn = std::move(*p);
        break;
      }
      case 'N': {
        auto p = dsn::parse_rcpt_params(*payload);
        if (!p) return bad("queue file: record N: " + p.error().detail);
        env.rcpt_dsn.back() = std::move(*p);
        any_rcpt_dsn = true;
        break;
      }
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
  if (!seen[4]) return bad("queue file: no queued-at record");
  if (!any_rcpt_dsn) env.rcpt_dsn.clear();
  if (body_offset) *body_offset = file.size() - rest.size();
  return env;
}

std::string encode_drop(std::string_view sender, const std::vector<std::string>& recipients,
                        const dsn::MessageParams& mail_dsn, const std::vector<dsn::RecipientParams>& rcpt_dsn) {
  std::string inner;
  netstring::append(inner, sender);
  if (!mail_dsn.empty()) netstring::append(inner, drop_dsn_mark + dsn::mail_params(mail_dsn));
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    netstring::append(inner, recipients[i]);
    if (i < rcpt_dsn.size() && !rcpt_dsn[i].empty()) netstring::append(inner, drop_dsn_mark + dsn::rcpt_params(rcpt_dsn[i]));
  }
  return netstring::encode(inner);
}

Result<Envelope> decode_drop(std::string_view outer_payload) {
  auto items = netstring::split(outer_payload, max_address);
  if (!items) return bad("drop: " + items.error().detail);
  if (items->empty()) return bad("drop: no sender");
  Envelope env;
  if (auto s = validate_new_address((*items)[0], true); !s) return bad("bad sender: " + s.error().detail);
  env.sender = std::string((*items)[0]);
  bool any_rcpt_dsn = false;
  bool after_address = true;  // a DSN item may follow the address just read, once
  for (std::size_t i = 1; i < items->size(); ++i) {
    std::string_view item = (*items)[i];
    if (item.substr(0, 1) == drop_dsn_mark) {
      if (!after_address) return bad("drop: DSN parameters not right after an address");
      after_address = false;
      item.remove_prefix(1);
      if (env.recipients.empty()) {
        auto p = dsn::parse_mail_params(item);
        if (!p) return bad("drop: " + p.error().detail);
        env.mail_dsn = std::move(*p);
      } else {
        auto p = dsn::parse_rcpt_params(item);
        if (!p) return bad("drop: " + p.error().detail);
        env.rcpt_dsn.back() = std::move(*p);
        any_rcpt_dsn = true;
      }
      continue;
    }
    if (env.recipients.size() >= max_recipients) return bad("drop: too many recipients");
    if (auto s = validate_new_address(item, false); !s) return bad("bad recipient: " + s.error().detail);
    env.recipients.emplace_back(item);
    env.rcpt_dsn.emplace_back();
    after_address = true;
  }
  if (env.recipients.empty()) return bad("drop: no recipients");
  if (!any_rcpt_dsn) env.rcpt_dsn.clear();
  return env;
}

}  // namespace nullq::envelope

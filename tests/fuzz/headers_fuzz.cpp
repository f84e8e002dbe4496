// Fuzz target: what the injector does to a caller's message — input normalisation, header
// splitting, address-list parsing and the sendmail header fix-ups (-t, Bcc removal, From/Date/
// Message-ID), with the recipients on the "command line" taken from the input too.
// Invariants: without -i no line is a lone "."; the prepared message has at least one recipient and
// no Bcc or Resent-Bcc header; error texts are printable; qualifying address headers only inserts
// "@domain" and is idempotent.
#include <strings.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "nullq/envelope.hpp"
#include "nullq/msg.hpp"

namespace msg = nullq::msg;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  // Up to the first NUL: a recipient argument; after it: the message.
  std::string_view arg, raw = rest;
  if (auto nul = rest.find('\0'); nul != std::string_view::npos && (flags & 1)) {
    arg = rest.substr(0, nul);
    raw = rest.substr(nul + 1);
  }

  if (auto list = msg::parse_address_list(arg.empty() ? raw.substr(0, 2000) : arg); !list) {
    FUZZ_CHECK(nullq::fuzz::all_printable(list.error().detail));
  }

  std::string message = msg::normalise_input(raw, flags & 2);
  // Without -i a line holding only "." ends the message: none is left in it.
  if (!(flags & 2)) FUZZ_CHECK(message != "." && message.rfind(".\n", 0) != 0 && message.find("\n.\n") == std::string::npos);
  msg::Parsed parsed = msg::split_message(message);
  for (const auto& h : parsed.headers) {
    auto once = msg::qualify_addresses(h.value, "example.org");
    if (!once) continue;
    FUZZ_CHECK(once->size() >= h.value.size() && (once->size() - h.value.size()) % 12 == 0);
    auto twice = msg::qualify_addresses(*once, "example.org");
    FUZZ_CHECK(twice && *twice == *once);
  }

  msg::Context ctx;
  ctx.extract_recipients = flags & 4;
  ctx.sender_given = flags & 8;
  ctx.sender = ctx.sender_given ? "fuzz@example.org" : "";
  if (!arg.empty()) ctx.arguments.emplace_back(arg);
  ctx.login = "fuzz";
  ctx.gecos_name = "Fuzz Er";
  ctx.domain = "example.org";
  ctx.hostname = "host.example.org";
  ctx.idhost = "host.example.org";
  if (flags & 16) ctx.admin = "admin@example.org";
  if (flags & 32) ctx.rewrite_sender = "rewritten@example.org";
  ctx.rewrite_header_from = flags & 64;
  ctx.now = 1795338653;
  ctx.local_zone_date = "Sun, 22 Nov 2026 14:03:07 +0100";
  ctx.id_token = "1795338653.0011223344556677";

  auto p = msg::prepare(parsed, ctx);
  if (!p) {
    FUZZ_CHECK(nullq::fuzz::all_printable(p.error().detail));
    return 0;
  }
  FUZZ_CHECK(!p->recipients.empty());
  for (const auto& r : p->recipients) {
    // The injector refuses what the queue would refuse; what it lets through must be safe.
    if (!nullq::envelope::validate_address(r, false).ok()) return 0;
  }
  msg::Parsed out = msg::split_message(p->message);
  for (const auto& h : out.headers) {
    FUZZ_CHECK(strcasecmp(h.name.c_str(), "Bcc") != 0);
    FUZZ_CHECK(strcasecmp(h.name.c_str(), "Resent-Bcc") != 0);
  }
  return 0;
}

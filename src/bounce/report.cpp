#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

#include "nullq/bounce.hpp"
#include "nullq/envelope.hpp"
#include "nullq/printable.hpp"

namespace nullq::bounce {

namespace {

constexpr std::size_t max_quoted_headers = 64 * 1024;
constexpr std::size_t max_line = 900;

std::string rfc5322_date(std::int64_t when) {
  std::time_t t = static_cast<std::time_t>(when);
  std::tm tm {};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string random_token() {
  unsigned char b[12] = {};
  if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) {
    for (auto& c : b) c = static_cast<unsigned char>(std::rand());
  }
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) s += hex[c >> 4], s += hex[c & 15];
  return s;
}

// One printable line (non-printable bytes as \xNN), no longer than max_line.
std::string one_line(std::string_view text) { return printable(text, max_line); }

// "#5.1.1" or "5.1.1" in a server text, else the default for the kind.
std::string status_code(const Failure& f) {
  const std::string& t = f.diagnostic;
  for (std::size_t i = 0; i + 4 < t.size(); ++i) {
    char c = t[i];
    if ((c == '4' || c == '5') && (i == 0 || t[i - 1] == '#' || t[i - 1] == ' ' || t[i - 1] == '(') && t[i + 1] == '.') {
      std::size_t j = i + 2, d1 = 0, d2 = 0;
      while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j])) && d1 < 3) ++j, ++d1;
      if (d1 == 0 || j >= t.size() || t[j] != '.') continue;
      ++j;
      while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j])) && d2 < 3) ++j, ++d2;
      if (d2 == 0) continue;
      if ((c == '5') == f.permanent) return t.substr(i, j - i);
    }
  }
  // No enhanced code: a message too big for the server (RFC 3463 5.3.4) is still recognised by the
  // SMTP reply 552 (RFC 5321: exceeded storage allocation) or the client's own SIZE refusal.
  if (f.permanent && ((f.diagnostic_type == "smtp" && t.rfind("552", 0) == 0) || t.find("(SIZE)") != std::string::npos)) {
    return "5.3.4";
  }
  return f.permanent ? "5.0.0" : "4.0.0";
}

// The header block of the original message, capped.
std::string_view header_block(std::string_view message) {
  std::size_t end = message.find("\n\n");
  std::string_view h = end == std::string_view::npos ? message : message.substr(0, end + 1);
  if (h.size() > max_quoted_headers) {
    h = h.substr(0, max_quoted_headers);
    std::size_t nl = h.rfind('\n');
    if (nl != std::string_view::npos) h = h.substr(0, nl + 1);
  }
  return h;
}

}  // namespace

std::string remote_mta(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return std::string(host);
  std::string h(host);
  unsigned char buf[sizeof(in6_addr)];
  if (::inet_pton(AF_INET, h.c_str(), buf) == 1) return "[" + h + "]";
  if (::inet_pton(AF_INET6, h.c_str(), buf) == 1) return "[IPv6:" + h + "]";
  return h;
}

std::string diagnostic_type(std::string_view proto) {
  if (proto == "smtp") return "smtp";
  if (proto == "qmqp") return "X-QMQP";
  if (proto == "qmtp") return "X-QMTP";
  return "";
}

std::optional<Composed> compose(const Report& r) {
  Composed c;
  const envelope::Envelope& orig = *r.original;
  if (!orig.sender.empty()) {
    c.recipients.push_back(orig.sender);
  } else {
    // A bounce (or other null-sender mail) failed: tell the double-bounce address, once.
    if (r.double_bounce_to.empty()) return std::nullopt;
    if (orig.recipients.size() == 1 && orig.recipients[0] == r.double_bounce_to) return std::nullopt;
    bool all_to_admin = true;
    for (const auto& f : r.failures) all_to_admin = all_to_admin && f.recipient == r.double_bounce_to;
    if (all_to_admin && !r.failures.empty()) return std::nullopt;
    c.recipients.push_back(r.double_bounce_to);
  }

  std::string_view headers = header_block(r.original_message);
  // RET=FULL (RFC 3461 4.3): the whole message, when it is not too large to send back.
  const bool full = orig.mail_dsn.ret == dsn::Ret::full && !r.delay_warning &&
                    r.original_message.size() <= max_returned_message;
  // What is returned may hold 8-bit bytes (UTF-8 headers, an 8bit body): then the part and the
  // multipart around it say 8bit (RFC 2045 6.4; the default, 7bit, would be false).
  const std::string_view returned = full ? r.original_message : headers;
  const bool eight_bit =
      std::any_of(returned.begin(), returned.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; });
  const std::string cte = eight_bit ? "Content-Transfer-Encoding: 8bit\n" : "";
  std::string boundary;
  do boundary = "nullq-" + random_token();
  while (r.original_message.find(boundary) != std::string_view::npos);

  std::string& m = c.message;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + r.hostname + ">\n";
  m += "To: " + c.recipients[0] + "\n";
  m += r.delay_warning ? "Subject: Delayed Mail (still being retried)\n" : "Subject: Undelivered Mail Returned to Sender\n";
  m += "Date: " + rfc5322_date(r.now) + "\n";
  m += "Message-ID: <" + std::to_string(r.now) + "." + random_token() + "@" + r.hostname + ">\n";
  m += "Auto-Submitted: auto-replied\n";
  m += "MIME-Version: 1.0\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"" + boundary + "\"\n" + cte + "\n";
  m += "This is a MIME-encapsulated delivery status report.\n\n";

  m += "--" + boundary + "\nContent-Type: text/plain; charset=us-ascii\n\n";
  m += "This is the nullq mail system at " + r.hostname + ".\n\n";
  if (r.delay_warning) {
    m += "Your message has not been delivered yet to the addresses below.\n"
         "This is only a warning: delivery will be retried, and you will be told\n"
         "if it finally fails. You do not need to send the message again.\n\n";
  } else {
    m += "Your message could not be delivered to the addresses below.\n"
         "The reason given for each is shown next to it.\n\n";
  }
  for (const auto& f : r.failures) m += "<" + one_line(f.recipient) + ">: " + one_line(f.diagnostic) + "\n";
  m += "\n";

  m += "--" + boundary + "\nContent-Type: message/delivery-status\n\n";
  if (!orig.mail_dsn.envid.empty()) m += "Original-Envelope-Id: " + one_line(orig.mail_dsn.envid) + "\n";
  m += "Reporting-MTA: dns; " + r.hostname + "\n";
  m += "X-Nullq-Queue-ID: " + r.id + "\n";
  if (orig.queued_at > 0) m += "Arrival-Date: " + rfc5322_date(orig.queued_at) + "\n";
  for (const auto& f : r.failures) {
    m += "\n";
    if (const dsn::RecipientParams& p = requested(orig, f.recipient); !p.orcpt_type.empty())
      m += "Original-Recipient: " + one_line(p.orcpt_type) + ";" + one_line(p.orcpt) + "\n";
    m += "Final-Recipient: rfc822; " + one_line(f.recipient) + "\n";
    m += std::string("Action: ") + (r.delay_warning ? "delayed" : "failed") + "\n";
    m += "Status: " + status_code(f) + "\n";
    if (!f.remote.empty()) m += "Remote-MTA: dns; " + one_line(f.remote) + "\n";
    if (!f.diagnostic.empty()) {
      const std::string type = f.diagnostic_type.empty() ? "X-Nullq" : one_line(f.diagnostic_type);
      m += "Diagnostic-Code: " + type + "; " + one_line(f.diagnostic) + "\n";
    }
  }
  if (full) {
    m += "\n--" + boundary + "\nContent-Type: message/rfc822\n" + cte + "\n";
    m.append(r.original_message);
    if (!r.original_message.empty() && r.original_message.back() != '\n') m += "\n";
  } else {
    m += "\n--" + boundary + "\nContent-Type: text/rfc822-headers\n" + cte + "\n";
    m.append(headers);
    if (!headers.empty() && headers.back() != '\n') m += "\n";
  }
  m += "\n--" + boundary + "--\n";
  return c;
}

Result<std::string> enqueue(const queue::Spool& spool, const Composed& c, std::int64_t now) {
  auto drop = queue::Drop::create(spool);
  if (!drop) return std::move(drop).error();
  envelope::Envelope env;
  env.recipients = c.recipients;
  env.queued_at = now;
  env.original_id = c.original_id;
  if (auto s = drop->write(envelope::encode(env)); !s) return std::move(s).error();
  if (auto s = drop->write(c.message); !s) return std::move(s).error();
  return drop->commit();
}

}  // namespace nullq::bounce

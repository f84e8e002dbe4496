// What the sender asked to hear (RFC 3461 NOTIFY), applied to a list of failures before a report.
#include <algorithm>

#include "nullq/bounce.hpp"

namespace nullq::bounce {

const dsn::RecipientParams& requested(const envelope::Envelope& env, std::string_view rcpt) {
  for (std::size_t i = 0; i < env.recipients.size(); ++i)
    if (env.recipients[i] == rcpt) return envelope::recipient_dsn(env, i);
  static const dsn::RecipientParams none;
  return none;
}

std::size_t drop_unwanted(const envelope::Envelope& env, std::vector<Failure>& failures, bool delay_warning) {
  const std::size_t before = failures.size();
  failures.erase(std::remove_if(failures.begin(), failures.end(),
                                [&](const Failure& f) {
                                  const dsn::RecipientParams& p = requested(env, f.recipient);
                                  return delay_warning ? !dsn::wants_delay(p) : !dsn::wants_failure(p);
                                }),
                 failures.end());
  return before - failures.size();
}

}  // namespace nullq::bounce

// Which refusals slow the host (throttle), hold it (quota), or are about the message (none).
#include <gtest/gtest.h>

#include "nullq/throttle_reply.hpp"

namespace nullq::proto {
namespace {

struct Case {
  const char* text;
  bool permanent;
  ReplyClass want;
};

TEST(ThrottleReply, Table) {
  const Case cases[] = {
      // Providers' throttling answers (issue 19).
      {"421 4.7.0 Try again later, closing connection.", false, ReplyClass::throttle},
      {"454 4.7.0 Too many login attempts, please try again later.", false, ReplyClass::throttle},
      {"432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded", false, ReplyClass::throttle},
      {"450 4.2.1 Peak SMTP relay limit exceeded for customer", false, ReplyClass::throttle},
      {"454 Throttling failure: Maximum sending rate exceeded.", false, ReplyClass::throttle},
      {"421 4.7.0 Error: too many connections from 192.0.2.1", false, ReplyClass::throttle},
      {"450 4.7.1 Error: too much mail from 192.0.2.1", false, ReplyClass::throttle},
      {"451 4.7.28 flagged for rate limiting", false, ReplyClass::throttle},
      {"451 4.4.5 mail system congestion", false, ReplyClass::throttle},
      {"421 Service not available", false, ReplyClass::throttle},
      {"the server refused the session: 421 4.7.0 busy", false, ReplyClass::throttle},
      {"452 rate limit exceeded", false, ReplyClass::throttle},
      {"451 Ratelimit reached", false, ReplyClass::throttle},
      {"sorry, too many messages at once (#4.3.2)", false, ReplyClass::throttle},
      {"451 please slow down: sending rate too high", false, ReplyClass::throttle},
      // Quota answers, temporary or permanent.
      {"550 5.4.5 Daily user sending limit exceeded.", true, ReplyClass::quota},
      {"554 Throttling failure: Daily message quota exceeded.", true, ReplyClass::quota},
      {"454 Throttling failure: Daily message quota exceeded.", false, ReplyClass::quota},
      {"550 5.7.1 daily sending limit reached for this account", true, ReplyClass::quota},
      {"D5.4.5 out of allowance", true, ReplyClass::quota},
      // About the message or the recipient: not the host's pace.
      {"452 4.5.3 Too many recipients", false, ReplyClass::none},
      {"452 Too many recipients received this hour", false, ReplyClass::none},
      {"552 5.2.2 Mailbox quota exceeded", true, ReplyClass::none},
      {"452 4.2.2 Mailbox full, quota exceeded", false, ReplyClass::none},
      {"450 4.1.1 <a@example.org>: Recipient address rejected: unverified", false, ReplyClass::none},
      {"451 4.3.0 Error: queue file write error", false, ReplyClass::none},
      {"451 4.3.0 separate delivery failed: temporary error", false, ReplyClass::none},
      {"451 generated message could not be queued", false, ReplyClass::none},
      {"450 accurate enough; moderated list", false, ReplyClass::none},
      {"550 5.1.1 no such user", true, ReplyClass::none},
      {"554 5.7.1 too many bad recipients, go away", true, ReplyClass::none},
      {"550 rate limit", true, ReplyClass::none},
      {"connection closed before reply", false, ReplyClass::none},
      {"", false, ReplyClass::none},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(to_string(classify_reply(c.text, c.permanent)), std::string(to_string(c.want))) << "got for: " << c.text;
  }
}

TEST(ThrottleReply, TooManyRecipients) {
  for (const char* yes : {"452 4.5.3 Too many recipients", "552 5.5.3 Too many recipients",
                          "452 Too many recipients", "552 too many recipients for this message",
                          "451 4.5.3 Your message has too many recipients"})
    EXPECT_TRUE(too_many_recipients(yes)) << yes;
  for (const char* no : {"452 4.3.1 Insufficient system storage", "452 insufficient system storage",
                         "552 5.2.2 mailbox full", "550 5.1.1 no such user", "421 4.7.0 too many connections",
                         "250 2.1.5 ok", "too many recipients", "500 5.5.2 syntax error", ""})
    EXPECT_FALSE(too_many_recipients(no)) << no;
}

TEST(ThrottleReply, OddDigitsDoNotConfuse) {
  EXPECT_EQ(classify_reply("4211 4.7.0.1 ok 1.2.3.4", false), ReplyClass::none);
  EXPECT_EQ(classify_reply("451 4.7.1", false), ReplyClass::throttle);
  EXPECT_EQ(classify_reply(std::string(600, '9'), false), ReplyClass::none);
}

}  // namespace
}  // namespace nullq::proto

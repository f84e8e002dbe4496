#include "nullq/send/outcome.hpp"

#include <gtest/gtest.h>

namespace nullq::send {
namespace {

using proto::Reply;
using proto::Verdict;

TEST(Outcome, SplitsPerRecipient) {
  std::vector<std::string> rcpts{"a@x", "b@x", "c@x", "d@x"};
  std::vector<Reply> replies{{Verdict::ok, "ok"}, {Verdict::permanent, "no such user"},
                             {Verdict::temporary, "try later"}, {Verdict::ok, "ok"}};
  Split s = split_replies(rcpts, replies);
  EXPECT_EQ(s.delivered, (std::vector<std::string>{"a@x", "d@x"}));
  ASSERT_EQ(s.bounced.size(), 1u);
  EXPECT_EQ(s.bounced[0].first, "b@x");
  EXPECT_EQ(s.bounced[0].second, "no such user");
  EXPECT_EQ(s.remaining, (std::vector<std::string>{"c@x"}));
  EXPECT_EQ(s.last_temporary_text, "try later");
}

TEST(Outcome, MissingRepliesAreTemporaryNeverLost) {
  Split s = split_replies({"a@x", "b@x"}, {{Verdict::ok, "ok"}});
  EXPECT_EQ(s.delivered, (std::vector<std::string>{"a@x"}));
  EXPECT_EQ(s.remaining, (std::vector<std::string>{"b@x"}));
}

// RFC 5321 §4.5.3.1.10: too many recipients for one transaction, 452 or the 552 of older servers.
TEST(Outcome, TooManyRecipientsGoInTheNextTransactionWhenSomeWereTaken) {
  std::vector<std::string> rcpts{"a@x", "b@x", "c@x", "d@x"};
  std::vector<Reply> replies{{Verdict::ok, "250 ok"}, {Verdict::permanent, "550 5.1.1 no such user"},
                             {Verdict::temporary, "452 4.5.3 Too many recipients"},
                             {Verdict::permanent, "552 5.5.3 Too many recipients"}};
  too_many_is_temporary(replies);
  EXPECT_EQ(replies[1].verdict, Verdict::permanent) << "about the recipient: stays";
  EXPECT_EQ(replies[3].verdict, Verdict::temporary) << "the 552 of older servers is temporary";
  Split s = split_replies(rcpts, replies);
  EXPECT_EQ(s.delivered, (std::vector<std::string>{"a@x"}));
  ASSERT_EQ(s.bounced.size(), 1u);
  EXPECT_EQ(s.bounced[0].first, "b@x");
  EXPECT_EQ(s.next_transaction, (std::vector<std::string>{"c@x", "d@x"}));
  EXPECT_TRUE(s.remaining.empty());
}

TEST(Outcome, TooManyRecipientsWithNoneTakenWait) {
  std::vector<Reply> replies{{Verdict::temporary, "452 4.5.3 Too many recipients"},
                             {Verdict::permanent, "552 5.5.3 Too many recipients"}};
  too_many_is_temporary(replies);
  Split s = split_replies({"a@x", "b@x"}, replies);
  EXPECT_TRUE(s.next_transaction.empty()) << "nothing was taken: no progress to be had at once";
  EXPECT_EQ(s.remaining, (std::vector<std::string>{"a@x", "b@x"}));
  EXPECT_TRUE(s.bounced.empty());
}

TEST(Outcome, GroupsByVerdictAndText) {
  auto g = group_replies({{Verdict::ok, "ok 1"}, {Verdict::permanent, "no"}, {Verdict::ok, "ok 1"},
                          {Verdict::ok, "ok 2"}});
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].verdict, Verdict::ok);
  EXPECT_EQ(g[0].count, 2u);
  EXPECT_EQ(g[1].verdict, Verdict::permanent);
  EXPECT_EQ(g[2].text, "ok 2");
  // Each group names its recipients (indexes into the message's recipient list), for the log's to=.
  EXPECT_EQ(g[0].recipients, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(g[1].recipients, (std::vector<std::size_t>{1}));
  EXPECT_EQ(g[2].recipients, (std::vector<std::size_t>{3}));
}

TEST(Outcome, GroupsStayBoundedForHostileServers) {
  std::vector<Reply> replies;
  for (int i = 0; i < 1000; ++i) replies.push_back({Verdict::ok, "ok " + std::to_string(i)});
  auto g = group_replies(replies);
  EXPECT_LE(g.size(), 64u);
  std::size_t total = 0;
  for (const auto& x : g) {
    total += x.count;
    EXPECT_EQ(x.recipients.size(), x.count);
  }
  EXPECT_EQ(total, 1000u);
}

TEST(Outcome, SummaryCountsRecipientsAndBouncesApart) {
  Summary s;
  s.delivered = 1;
  s.bounced = 1;
  s.deferred = 1;
  s.bounces_sent = 1;
  s.deferred_messages = 1;
  s.left = 1;
  EXPECT_EQ(format_summary(s), "3 recipients: 1 delivered, 1 bounced, 1 deferred; 1 bounce sent");
  s = Summary{};
  s.delivered = 1;
  EXPECT_EQ(format_summary(s), "1 recipient: 1 delivered, 0 bounced, 0 deferred; 0 bounces sent");
  // Messages left queued that were not tried (not yet due) are named too.
  s = Summary{};
  s.left = 2;
  EXPECT_EQ(format_summary(s), "0 recipients: 0 delivered, 0 bounced, 0 deferred; 0 bounces sent; "
                               "2 messages not yet due");
}

TEST(Outcome, HumanDuration) {
  EXPECT_EQ(human_duration(45), "45s");
  EXPECT_EQ(human_duration(3 * 60 + 5), "3m 5s");
  EXPECT_EQ(human_duration(3600 * 2 + 60), "2h 1m");
  EXPECT_EQ(human_duration(7 * 86400), "7d");
  EXPECT_EQ(human_duration(7 * 86400 + 3 * 3600), "7d 3h");
  EXPECT_EQ(human_duration(-3), "0s");
}

}  // namespace
}  // namespace nullq::send

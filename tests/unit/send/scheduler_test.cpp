#include "nullq/send/scheduler.hpp"

#include <gtest/gtest.h>

namespace nullq::send {
namespace {

spool::Entry entry(std::string id, std::uint32_t attempts, std::int64_t next) {
  spool::Entry e;
  e.id = std::move(id);
  e.attempts = attempts;
  e.next_attempt = next;
  return e;
}

TEST(Scheduler, DueMessagesComeOldestFirstRegardlessOfWhenTheyFellDue) {
  Scheduler s;
  s.upsert(entry("1700000003000000P1R0", 0, 0));
  s.upsert(entry("1700000001000000P1R0", 2, 95));   // older, fell due later
  s.upsert(entry("1700000002000000P1R0", 1, 50));
  s.upsert(entry("1700000000000000P1R0", 3, 200));  // oldest but not due yet
  std::vector<std::string> got;
  while (auto e = s.take_due(100)) got.push_back(e->id);
  EXPECT_EQ(got, (std::vector<std::string>{"1700000001000000P1R0", "1700000002000000P1R0", "1700000003000000P1R0"}));
  EXPECT_EQ(s.busy_count(), 3u);
  EXPECT_FALSE(s.has_due(100));
  ASSERT_TRUE(s.next_wakeup(100).has_value());
  EXPECT_EQ(*s.next_wakeup(100), 200);
  EXPECT_TRUE(s.has_due(200));
}

TEST(Scheduler, BusyEntriesAreNotHandedOutTwiceAndReleaseRecordsTheNewState) {
  Scheduler s;
  s.upsert(entry("a1", 0, 0));
  auto e = s.take_due(10);
  ASSERT_TRUE(e);
  EXPECT_TRUE(s.busy("a1"));
  EXPECT_FALSE(s.take_due(10));
  s.upsert(entry("a1", 5, 0));  // a rescan while busy must not disturb it
  EXPECT_FALSE(s.take_due(10));
  auto upd = *e;
  upd.attempts = 1;
  upd.next_attempt = 70;
  s.release(upd);
  EXPECT_FALSE(s.busy("a1"));
  EXPECT_FALSE(s.take_due(69));
  EXPECT_EQ(*s.next_wakeup(10), 70);
  auto again = s.take_due(70);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempts, 1u);
}

TEST(Scheduler, EraseForgetsBusyAndIdleEntries) {
  Scheduler s;
  s.upsert(entry("a", 0, 0));
  s.upsert(entry("b", 0, 500));
  ASSERT_TRUE(s.take_due(1));
  s.erase("a");
  s.erase("b");
  s.erase("nothing");
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.busy_count(), 0u);
  EXPECT_FALSE(s.next_wakeup(1));
}

TEST(Scheduler, ReconcileAddsUpdatesAndForgetsButLeavesBusyAlone) {
  Scheduler s;
  s.upsert(entry("a", 0, 0));
  s.upsert(entry("b", 2, 900));
  s.upsert(entry("c", 1, 900));
  auto busy = s.take_due(1);  // "a"
  ASSERT_TRUE(busy);
  // On disk now: "b" flushed to next=0 (nullq flush), "c" dropped, "d" new, "a" missing (being
  // rewritten by us): a busy entry must survive.
  std::size_t changed = s.reconcile({entry("b", 2, 0), entry("d", 0, 0)});
  EXPECT_EQ(changed, 3u);
  EXPECT_TRUE(s.contains("a"));
  EXPECT_FALSE(s.contains("c"));
  EXPECT_TRUE(s.contains("d"));
  std::vector<std::string> got;
  while (auto e = s.take_due(1)) got.push_back(e->id);
  EXPECT_EQ(got, (std::vector<std::string>{"b", "d"}));
}

TEST(Scheduler, MakeAllDue) {
  Scheduler s;
  s.upsert(entry("x", 3, 1000));
  s.upsert(entry("y", 3, 2000));
  EXPECT_FALSE(s.has_due(5));
  s.make_all_due();
  EXPECT_TRUE(s.has_due(5));
  EXPECT_EQ(s.take_due(5)->id, "x");
  EXPECT_EQ(s.take_due(5)->id, "y");
}

TEST(Scheduler, ManyEntriesIndexAndDrainInOrder) {
  Scheduler s;
  for (int i = 9999; i >= 0; --i) {
    char id[32];
    std::snprintf(id, sizeof id, "17%08dP1R0", i);
    s.upsert(entry(id, 0, i % 7));
  }
  EXPECT_EQ(s.size(), 10000u);
  std::string prev;
  std::size_t n = 0;
  while (auto e = s.take_due(10)) {
    EXPECT_LT(prev, e->id);
    prev = e->id;
    ++n;
  }
  EXPECT_EQ(n, 10000u);
}

}  // namespace
}  // namespace nullq::send

#include "nullq/queue.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "nullq/envelope.hpp"
#include "nullq/submit.hpp"
#include "process.hpp"

using nullq::queue::Drop;
using nullq::queue::Spool;
using nullq::testing::list_dir;
using nullq::testing::TempDir;

namespace {

TEST(Ids, UniqueValidAndTimeOrdered) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = nullq::queue::make_id();
    ASSERT_TRUE(nullq::queue::valid_id(id)) << id;
    ASSERT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
  EXPECT_FALSE(nullq::queue::valid_id(""));
  EXPECT_FALSE(nullq::queue::valid_id("../etc"));
  EXPECT_FALSE(nullq::queue::valid_id("a,b"));
  EXPECT_FALSE(nullq::queue::valid_id(std::string(65, 'a')));
}

TEST(QueueNames, FormatAndParse) {
  EXPECT_EQ(nullq::queue::format_queue_name({"abc1", 3, 1795338653}), "abc1,3,1795338653");
  auto q = nullq::queue::parse_queue_name("abc1,3,1795338653");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->id, "abc1");
  EXPECT_EQ(q->attempts, 3u);
  EXPECT_EQ(q->next_attempt, 1795338653);
  for (const char* bad : {"abc1", "abc1,3", "abc1,3,", "abc1,x,1", "abc1,03,1", "a.b,1,1", ",1,1", "abc1,1,1,1", "abc1,-1,1"})
    EXPECT_FALSE(nullq::queue::parse_queue_name(bad)) << bad;
}

TEST(Spool, EnsureIsIdempotent) {
  TempDir t;
  Spool s{t / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(s).ok());
  ASSERT_TRUE(nullq::queue::ensure_spool(s).ok());
  EXPECT_EQ(list_dir(s.dir), (std::vector<std::string>{"failed", "new", "queue", "tmp", "trigger"}));
  struct stat st {};
  ASSERT_EQ(::stat(s.trigger().c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(Spool, EnsureRefusesAFileInTheWay) {
  TempDir t;
  t.write("spool", "not a directory");
  auto s = nullq::queue::ensure_spool(Spool{t / "spool"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("is not a directory"), std::string::npos);
}

TEST(DropTest, CommitMovesACompleteFileIntoNew) {
  TempDir t;
  Spool s{t / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(s).ok());
  auto d = Drop::create(s);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->write("hello").ok());
  EXPECT_EQ(list_dir(s.incoming()).size(), 0u) << "nothing visible before commit";
  auto id = d->commit();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(list_dir(s.incoming()), std::vector<std::string>{*id});
  EXPECT_TRUE(list_dir(s.tmp()).empty());
  EXPECT_EQ(nullq::testing::read_file(s.incoming() + "/" + *id), "hello");
}

TEST(DropTest, AbandonedDropLeavesNothing) {
  TempDir t;
  Spool s{t / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(s).ok());
  {
    auto d = Drop::create(s);
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(d->write("partial").ok());
    EXPECT_EQ(list_dir(s.tmp()).size(), 1u);
  }
  EXPECT_TRUE(list_dir(s.tmp()).empty());
  EXPECT_TRUE(list_dir(s.incoming()).empty());
}

TEST(DropTest, MissingSpoolIsAnError) {
  TempDir t;
  auto d = Drop::create(Spool{t / "nope"});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().domain, nullq::ErrorDomain::sys);
  EXPECT_EQ(d.error().code, ENOENT);
}

TEST(PokeTrigger, NeverBlocksWithoutAReader) {
  TempDir t;
  Spool s{t / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(s).ok());
  for (int i = 0; i < 3; ++i) nullq::queue::poke_trigger(s);  // returns: no reader
  SUCCEED();
}

TEST(Submit, ExitCodesForErrors) {
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(ENOSPC, "w")), 75);
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(EDQUOT, "w")), 75);
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(EACCES, "w")), 77);
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(EFBIG, "w")), 65);
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(EIO, "w")), 74);
}

}  // namespace

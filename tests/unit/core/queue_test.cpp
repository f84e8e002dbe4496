#include "nullq/queue.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

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

TEST(DropTest, TakesTheGroupItIsGiven) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown to another group needs root (or membership)";
  TempDir t;
  Spool s{t / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(s).ok());
  ASSERT_EQ(::chown(s.tmp().c_str(), 0, 8), 0);
  auto g = nullq::queue::drop_group(s);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, 8u) << "tmp/'s group";
  auto d = Drop::create(s, *g);
  ASSERT_TRUE(d.ok());
  auto id = d->commit();
  ASSERT_TRUE(id.ok());
  struct stat st {};
  ASSERT_EQ(::stat((s.incoming() + "/" + *id).c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 8u);
}

TEST(PokeFlusher, TellsWhetherAFlusherHoldsTheTrigger) {
  TempDir t;
  Spool s{t / "spool"};
  auto missing = nullq::queue::poke_flusher(s);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing) << "no FIFO: no flusher";
  ASSERT_TRUE(nullq::queue::ensure_spool(s).ok());
  auto none = nullq::queue::poke_flusher(s);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  int reader = ::open(s.trigger().c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  auto poked = nullq::queue::poke_flusher(s);
  ASSERT_TRUE(poked.ok());
  EXPECT_TRUE(*poked);
  char buf[8];
  EXPECT_EQ(::read(reader, buf, sizeof buf), 1);
  ::close(reader);
  ASSERT_EQ(::unlink(s.trigger().c_str()), 0);
  t.write("spool/trigger", "");
  auto file = nullq::queue::poke_flusher(s);
  EXPECT_FALSE(file.ok()) << "a regular file is not a trigger";
}

TEST(Submit, BothEntriesWriteTheSameFile) {
  // The pipe (nullq-queue) and the in-memory entry (nullq-sendmail as root) are one commit path.
  TempDir t;
  Spool s{t / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(s).ok());
  std::string framing = nullq::envelope::encode_drop("a@x", {"b@y", "c@z"});
  std::string message = "Subject: s\r\n\r\n" + std::string(200000, 'x') + "\r\nend\r";
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string all = framing + message;
    for (std::size_t off = 0; off < all.size();) {
      ssize_t n = ::write(p[1], all.data() + off, std::min<std::size_t>(all.size() - off, 7777));
      if (n <= 0) ::_exit(1);
      off += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(p[1]);
  auto piped = nullq::submit::submit(p[0], {s, 1 << 20, 1000, 1795338653, std::nullopt});
  ::close(p[0]);
  ::waitpid(pid, nullptr, 0);
  ASSERT_EQ(piped.exit_code, 0) << piped.message;
  auto direct = nullq::submit::submit(framing, message, {s, 1 << 20, 1000, 1795338653, std::nullopt});
  ASSERT_EQ(direct.exit_code, 0) << direct.message;
  std::string a = nullq::testing::read_file(s.incoming() + "/" + piped.id);
  std::string b = nullq::testing::read_file(s.incoming() + "/" + direct.id);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("\nend\r"), std::string::npos) << "a lone CR at the end is kept";

  auto big = nullq::submit::submit(framing, message, {s, 1000, 1000, 1795338653, std::nullopt});
  EXPECT_EQ(big.exit_code, 65);
  EXPECT_EQ(big.message, "message exceeds maximum size of 1000 bytes");
  auto bad = nullq::submit::submit("3:abc", message, {s, 1 << 20, 1000, 1795338653, std::nullopt});
  EXPECT_EQ(bad.exit_code, 65);
  EXPECT_EQ(bad.message.rfind("bad envelope framing", 0), 0u) << bad.message;
  EXPECT_EQ(list_dir(s.incoming()).size(), 2u);
  EXPECT_TRUE(list_dir(s.tmp()).empty());
}

// Below the free-space reserve (queue.min_free, or nullq-queue's own) nothing is written. A reserve
// larger than any disk makes the check certain to fail; a reserve of 1 byte certain to pass.
TEST(Submit, RefusesBelowTheFreeSpaceReserveAndWritesNothing) {
  TempDir t;
  Spool s{t / "spool"};
  ASSERT_TRUE(nullq::queue::ensure_spool(s).ok());
  std::string framing = nullq::envelope::encode_drop("a@x", {"b@y"});
  auto full = nullq::submit::submit(framing, "Subject: s\n\nx\n", {s, 1 << 20, 1000, 1795338653, std::nullopt, 1ull << 62});
  EXPECT_EQ(full.exit_code, 75);
  EXPECT_EQ(full.message.rfind("insufficient disk space", 0), 0u) << full.message;
  EXPECT_EQ(full.message.find('\n'), std::string::npos) << full.message;
  EXPECT_TRUE(list_dir(s.incoming()).empty());
  EXPECT_TRUE(list_dir(s.tmp()).empty());
  auto room = nullq::submit::submit(framing, "Subject: s\n\nx\n", {s, 1 << 20, 1000, 1795338653, std::nullopt, 1});
  EXPECT_EQ(room.exit_code, 0) << room.message;
}

TEST(Submit, ExitCodesForErrors) {
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(ENOSPC, "w")), 75);
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(EDQUOT, "w")), 75);
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(EACCES, "w")), 77);
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(EFBIG, "w")), 65);
  EXPECT_EQ(nullq::submit::exit_code_for(nullq::Error::from_errno(EIO, "w")), 74);
}

}  // namespace

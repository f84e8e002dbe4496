// The flusher's spool store on real directories, and the retry backoff.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>
#include <fstream>

#include "nullq/spool.hpp"
#include "process.hpp"

using nullq::spool::Entry;
using nullq::spool::Loaded;
using nullq::spool::Quarantined;
using nullq::spool::Store;
using nullq::testing::list_dir;
using nullq::testing::read_file;
using nullq::testing::TempDir;
using namespace std::chrono_literals;

namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(nullq::queue::ensure_spool(spool_).ok()); }
  std::string drop(const std::vector<std::string>& rcpts, const std::string& message = "Subject: x\n\nbody\n") {
    nullq::envelope::Envelope e;
    e.sender = "a@x.org";
    e.recipients = rcpts;
    e.queued_at = std::time(nullptr);
    auto d = nullq::queue::Drop::create(spool_);
    EXPECT_TRUE(d.ok());
    EXPECT_TRUE(d->write(nullq::envelope::encode(e) + message).ok());
    auto id = d->commit();
    EXPECT_TRUE(id.ok());
    return *id;
  }
  std::vector<Entry> accept() {
    std::vector<Quarantined> bad;
    auto r = store_.accept_new(bad);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(bad.empty());
    return r.ok() ? *r : std::vector<Entry>{};
  }
  TempDir tmp_;
  nullq::queue::Spool spool_{tmp_ / "spool"};
  Store store_{spool_, 1000};
};

TEST_F(StoreTest, AcceptMovesValidDropsIntoQueue) {
  std::string id = drop({"b@y.org"});
  auto got = accept();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].attempts, 0u);
  EXPECT_GT(got[0].queued_at, 1'700'000'000);
  EXPECT_EQ(list_dir(spool_.queue()), std::vector<std::string>{id + ",0,0"});
  EXPECT_TRUE(list_dir(spool_.incoming()).empty());
}

TEST_F(StoreTest, GarbageOversizeAndBadNamesAreQuarantinedUnchanged) {
  std::string good = drop({"b@y.org"});
  auto write_new = [&](const std::string& name, const std::string& bytes) {
    int fd = ::open((spool_.incoming() + "/" + name).c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  };
  write_new("garbage1", "this is not a queue file");
  write_new("big1", "NQ1\nF0:,\nT3:a@b,\nQ1:1,\n\n" + std::string(5000, 'x'));
  write_new("bad.name", "whatever");
  std::vector<Quarantined> bad;
  auto r = store_.accept_new(bad);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, good);
  ASSERT_EQ(bad.size(), 3u);
  for (const auto& q : bad) EXPECT_FALSE(q.reason.empty()) << q.name;
  EXPECT_EQ(read_file(spool_.failed() + "/garbage1"), "this is not a queue file");
  auto failed = list_dir(spool_.failed());
  EXPECT_EQ(failed.size(), 3u);
  EXPECT_TRUE(list_dir(spool_.incoming()).empty()) << "nothing left behind, nothing lost";
}

TEST_F(StoreTest, ScanKeepsTheNewerOfTwoNamesForOneId) {
  std::string id = drop({"b@y.org"});
  accept();
  // A crash between the two steps of a rewrite leaves an older name next to the newer one.
  ASSERT_EQ(::link((spool_.queue() + "/" + id + ",0,0").c_str(), (spool_.queue() + "/" + id + ",2,99").c_str()), 0);
  std::vector<Quarantined> bad;
  std::ofstream(spool_.queue() + "/stranger") << "x";
  auto r = store_.scan(bad);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].attempts, 2u);
  EXPECT_EQ((*r)[0].next_attempt, 99);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].name, "stranger");
  auto names = list_dir(spool_.queue());
  EXPECT_EQ(names, (std::vector<std::string>{id + ",2,99", "stranger"}));
}

TEST_F(StoreTest, RescheduleRenamesOrRewritesAtomically) {
  drop({"b@y.org", "c@y.org"});
  Entry e = accept().at(0);
  auto moved = store_.reschedule(e, 1, 12345, nullptr);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(list_dir(spool_.queue()), std::vector<std::string>{e.id + ",1,12345"});

  auto loaded = store_.load(*moved);
  ASSERT_TRUE(loaded.ok());
  Loaded remaining = *loaded;
  remaining.envelope.recipients = {"c@y.org"};
  remaining.envelope.last_error = "Zlater";
  auto rewritten = store_.reschedule(*moved, 2, 23456, &remaining);
  ASSERT_TRUE(rewritten.ok());
  EXPECT_EQ(list_dir(spool_.queue()), std::vector<std::string>{e.id + ",2,23456"}) << "exactly one file for the id";
  auto again = store_.load(*rewritten);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->envelope.recipients, std::vector<std::string>{"c@y.org"});
  EXPECT_EQ(again->envelope.last_error, "Zlater");
  EXPECT_EQ(again->message, loaded->message);
}

// The retry's rewrite copies the message from the old file, not from memory, byte for byte.
TEST_F(StoreTest, RewriteCopiesTheMessageFromTheFileWithTheNewEnvelope) {
  std::string big = "Subject: big\n\n";
  for (int i = 0; big.size() < 900; ++i) big += "line " + std::to_string(i) + "\n";
  drop({"b@y.org", "c@y.org"}, big);
  Entry e = accept().at(0);
  auto loaded = store_.load(e);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->message, big);
  EXPECT_EQ(loaded->body_offset + big.size(), *store_.file_size(e));
  nullq::envelope::Envelope env = loaded->envelope;
  env.recipients = {"c@y.org"};
  env.last_error = "Zlater";
  auto rewritten = store_.rewrite(e, 3, 34567, env, loaded->body_offset);
  ASSERT_TRUE(rewritten.ok()) << rewritten.error().message();
  EXPECT_EQ(list_dir(spool_.queue()), std::vector<std::string>{e.id + ",3,34567"}) << "exactly one file for the id";
  auto again = store_.load(*rewritten);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->envelope, env);
  EXPECT_EQ(again->message, big);

  // The file went away meanwhile (nullq drop): ENOENT, and nothing is created.
  ASSERT_TRUE(store_.remove(*rewritten).ok());
  auto gone = store_.rewrite(*rewritten, 4, 1, env, again->body_offset);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ENOENT);
  EXPECT_TRUE(list_dir(spool_.queue()).empty());
}

// A scan (the daemon's rescan, or the admin CLI) while a rewrite is writing its temporary file
// leaves that file alone; a crashed rewrite's old leftover goes.
TEST_F(StoreTest, ScanRemovesOnlyOldTemporaryFiles) {
  drop({"b@y.org"});
  Entry e = accept().at(0);
  const std::string fresh = spool_.queue() + "/.tmp-" + e.id;
  const std::string old = spool_.queue() + "/.tmp-1700000000000000P1R0123456789abcdef";
  std::ofstream(fresh) << "being written";
  std::ofstream(old) << "left by a crash";
  timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, old.c_str(), times, 0), 0);
  std::vector<Quarantined> bad;
  auto r = store_.scan(bad);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 1u);
  EXPECT_TRUE(bad.empty());
  auto names = list_dir(spool_.queue());
  EXPECT_EQ(names, (std::vector<std::string>{".tmp-" + e.id, e.id + ",0,0"}));
}

TEST_F(StoreTest, RemoveAndMoveToFailed) {
  drop({"b@y.org"});
  drop({"c@y.org"});
  auto entries = accept();
  ASSERT_EQ(entries.size(), 2u);
  ASSERT_TRUE(store_.remove(entries[0]).ok());
  ASSERT_TRUE(store_.move_to_failed(entries[1], "Dno such user (#5.1.1)").ok());
  EXPECT_TRUE(list_dir(spool_.queue()).empty());
  std::string kept = read_file(spool_.failed() + "/" + entries[1].id);
  std::size_t body = 0;
  auto env = nullq::envelope::decode(kept, &body);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->last_error, "Dno such user (#5.1.1)");
  EXPECT_EQ(kept.substr(body), "Subject: x\n\nbody\n");
}

TEST_F(StoreTest, LoadRejectsAMalformedQueueFile) {
  drop({"b@y.org"});
  Entry e = accept().at(0);
  std::ofstream(spool_.queue() + "/" + e.file_name(), std::ios::trunc) << "NQ1\nbroken";
  auto l = store_.load(e);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().domain, nullq::ErrorDomain::format);
}

TEST_F(StoreTest, TmpOrphansAreRemovedByAgeOnly) {
  std::ofstream(spool_.tmp() + "/old") << "x";
  std::ofstream(spool_.tmp() + "/fresh") << "y";
  timespec times[2] = {{std::time(nullptr) - 40 * 3600, 0}, {std::time(nullptr) - 40 * 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (spool_.tmp() + "/old").c_str(), times, 0), 0);
  EXPECT_EQ(store_.remove_tmp_orphans(36h), 1u);
  EXPECT_EQ(list_dir(spool_.tmp()), std::vector<std::string>{"fresh"});
}

TEST_F(StoreTest, FailedFilesExpireCountedFromWhenTheyCameThere) {
  drop({"b@y.org"});
  drop({"c@y.org"});
  auto entries = accept();
  ASSERT_EQ(entries.size(), 2u);
  ASSERT_TRUE(store_.move_to_failed(entries[0], "Dgone").ok());  // rewritten with the reason
  // Malformed: moved as it is (a rename), though its own time is old; it has just come to failed/.
  std::string bad = spool_.queue() + "/" + entries[1].file_name();
  std::ofstream(bad, std::ios::trunc) << "NQ1\nbroken";
  const std::time_t long_ago = std::time(nullptr) - 40 * 24 * 3600;
  timespec old_times[2] = {{long_ago, 0}, {long_ago, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, bad.c_str(), old_times, 0), 0);
  ASSERT_TRUE(store_.move_to_failed(entries[1], "unreadable").ok());
  EXPECT_EQ(store_.expire_failed(24h * 30), 0u) << "both came to failed/ just now";
  // The first one has been there for 40 days.
  ASSERT_EQ(::utimensat(AT_FDCWD, (spool_.failed() + "/" + entries[0].id).c_str(), old_times, 0), 0);
  EXPECT_EQ(store_.expire_failed(24h * 30), 1u);
  EXPECT_EQ(list_dir(spool_.failed()), std::vector<std::string>{entries[1].id});
}

TEST(JudgeDrop, OnlyUntrustedDropsAreCheckedAndRewritten) {
  using nullq::spool::IntakeVerdict;
  const nullq::spool::IntakePolicy policy{{0, 101}, "noreply@example.org"};
  struct Case {
    std::int64_t recorded_uid;
    uid_t owner;
    std::uint64_t size;
    IntakeVerdict::Action want;
    std::string sender_after;
  };
  const Case cases[] = {
      {0, 0, 5000, IntakeVerdict::Action::accept, "a@x.org"},            // root's sendmail checked it
      {101, 101, 5000, IntakeVerdict::Action::accept, "a@x.org"},        // the daemon's user's
      {1000, 1000, 5000, IntakeVerdict::Action::remove, "noreply@example.org"},  // a user's, too large
      {1000, 1000, 900, IntakeVerdict::Action::rewrite, "noreply@example.org"},
      {0, 1000, 900, IntakeVerdict::Action::rewrite, "noreply@example.org"},   // the owner says otherwise
      {-1, 0, 900, IntakeVerdict::Action::accept, "a@x.org"},                  // the daemon's bounce
      {-1, 1000, 900, IntakeVerdict::Action::rewrite, "noreply@example.org"},  // no U record, a user's file
  };
  for (const auto& c : cases) {
    nullq::envelope::Envelope e;
    e.sender = "a@x.org";
    e.recipients = {"b@y.org"};
    e.uid = c.recorded_uid;
    auto v = nullq::spool::judge_drop(policy, e, c.owner, c.size, 1000);
    EXPECT_EQ(v.action, c.want) << c.recorded_uid << "/" << c.owner << " " << c.size;
    EXPECT_EQ(e.sender, c.sender_after) << c.recorded_uid << "/" << c.owner;
    if (c.want == IntakeVerdict::Action::remove) {
      EXPECT_EQ(v.reason, "message of 5000 bytes from uid 1000 exceeds queue.max_message_size of 1000 bytes; removed");
    }
  }
  // Without rewrite.sender a user's drop within the limit is taken as it is.
  nullq::envelope::Envelope e;
  e.sender = "a@x.org";
  e.uid = 1000;
  EXPECT_EQ(nullq::spool::judge_drop({{0}, ""}, e, 1000, 10, 1000).action, IntakeVerdict::Action::accept);
  EXPECT_EQ(e.sender, "a@x.org");
}

class IntakeTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store_.set_intake({{0}, "noreply@example.org"});
  }
  // A drop as nullq-queue leaves it: U records the submitter (the file is root's here).
  std::string drop_from(std::int64_t uid, std::size_t body_size) {
    nullq::envelope::Envelope e;
    e.sender = "a@x.org";
    e.recipients = {"b@y.org"};
    e.queued_at = std::time(nullptr);
    e.uid = uid;
    auto d = nullq::queue::Drop::create(spool_);
    EXPECT_TRUE(d.ok());
    EXPECT_TRUE(d->write(nullq::envelope::encode(e) + "Subject: x\n\n" + std::string(body_size, 'x')).ok());
    auto id = d->commit();
    EXPECT_TRUE(id.ok());
    return *id;
  }
};

TEST_F(IntakeTest, AUsersOversizeDropIsRemovedAndReportedNotKept) {
  std::string big = drop_from(1000, 5000);
  std::string roots_big = drop_from(0, 5000);
  std::vector<Quarantined> bad;
  auto r = store_.accept_new(bad);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  ASSERT_EQ(bad.size(), 2u);
  for (const auto& q : bad) {
    if (q.name == big) {
      EXPECT_TRUE(q.removed);
      EXPECT_EQ(q.reason, "message of 5012 bytes from uid 1000 exceeds queue.max_message_size of 1000 bytes; removed");
      // What its bounce needs: the envelope, with the sender sendmail would have set, and the headers.
      ASSERT_TRUE(q.envelope);
      EXPECT_EQ(q.envelope->sender, "noreply@example.org");
      EXPECT_EQ(q.envelope->recipients, std::vector<std::string>{"b@y.org"});
      EXPECT_EQ(q.headers, "Subject: x\n");
    } else {
      EXPECT_EQ(q.name, roots_big);
      EXPECT_FALSE(q.removed) << "root's sendmail applied the limit it had: kept for the admin";
    }
  }
  EXPECT_TRUE(list_dir(spool_.incoming()).empty());
  EXPECT_EQ(list_dir(spool_.failed()), std::vector<std::string>{roots_big});
  EXPECT_TRUE(list_dir(spool_.queue()).empty());
}

TEST_F(IntakeTest, AUsersFileTooLargeToReadIsRemovedUnread) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving the file to another user needs root";
  std::string big = drop_from(1000, 17 * 1024 * 1024);  // past the limit plus the envelope's room
  ASSERT_EQ(::chown((spool_.incoming() + "/" + big).c_str(), 1000, 1000), 0);
  std::vector<Quarantined> bad;
  auto r = store_.accept_new(bad);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_TRUE(bad[0].removed);
  EXPECT_NE(bad[0].reason.find("from uid 1000 exceeds queue.max_message_size of 1000 bytes"), std::string::npos)
      << bad[0].reason;
  ASSERT_TRUE(bad[0].envelope) << "read from the file's head";
  EXPECT_EQ(bad[0].envelope->sender, "noreply@example.org");
  EXPECT_EQ(bad[0].headers, "Subject: x\n");
  EXPECT_TRUE(list_dir(spool_.incoming()).empty());
  EXPECT_TRUE(list_dir(spool_.failed()).empty());
}

TEST_F(IntakeTest, AUsersSenderIsRewrittenRootsIsNot) {
  std::string users = drop_from(1000, 10);
  std::string roots = drop_from(0, 10);
  auto got = accept();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& e : got) {
    auto l = store_.load(e);
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(l->envelope.sender, e.id == users ? "noreply@example.org" : "a@x.org") << e.id;
    EXPECT_EQ(l->envelope.uid, e.id == users ? 1000 : 0);
    EXPECT_EQ(l->message, "Subject: x\n\n" + std::string(10, 'x'));
  }
  EXPECT_TRUE(list_dir(spool_.incoming()).empty());
  auto names = list_dir(spool_.queue());
  EXPECT_EQ(names.size(), 2u) << "no temporary file left";
}

TEST(Backoff, DoublesWithJitterWithinBounds) {
  std::mt19937 rng(42);
  for (std::uint32_t attempts = 1; attempts <= 12; ++attempts) {
    for (int k = 0; k < 50; ++k) {
      auto d = nullq::spool::backoff(attempts, 60s, 3600s, rng);
      EXPECT_GE(d, 60s);
      EXPECT_LE(d, 3600s);
      auto base = std::min<long long>(60LL << (attempts - 1), 3600);
      EXPECT_GE(d.count(), std::max<long long>(60, base - base / 4)) << attempts;
      EXPECT_LE(d.count(), std::min<long long>(3600, base + base / 4)) << attempts;
    }
  }
}

}  // namespace

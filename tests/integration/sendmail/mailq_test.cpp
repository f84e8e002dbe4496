// mailq's last line, as monitoring reads it: Postfix's "-- N Kbytes in M Requests." summary (or
// "Mail queue is empty"), so `mailq | tail -n1 | awk '{print $5}'` and check_mailq work unchanged.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "nullq/envelope.hpp"
#include "nullq/queue.hpp"
#include "process.hpp"

using nullq::testing::list_dir;
using nullq::testing::program;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

namespace {

class Mailq : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.write("nullq.yaml", "hostname: box.example.org\nsmarthosts: [qmtp://127.0.0.1:1]\nqueue:\n  dir: " + spool() + "\n");
    ASSERT_TRUE(nullq::queue::ensure_spool(nullq::queue::Spool{spool()}).ok());
  }
  std::string spool() const { return tmp_ / "spool"; }
  // Queues a message of about `body_bytes` through the real nullq-queue; returns its id.
  std::string inject(std::size_t body_bytes) {
    RunOptions o;
    o.input = nullq::envelope::encode_drop("me@example.org", {"you@example.net"}) + "Subject: s\n\n" +
              std::string(body_bytes, 'x') + "\n";
    auto r = run({program("nullq-queue"), "-d", spool()}, o);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  std::uint64_t size_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return static_cast<std::uint64_t>(st.st_size);
  }
  nullq::testing::Run shell(const std::string& pipeline) {
    RunOptions o;
    o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}, {"MAILQ", program("nullq-sendmail")}};
    return run({"/bin/sh", "-c", pipeline}, o);
  }
  nullq::testing::Run mailq() {
    RunOptions o;
    o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}};
    o.argv0 = "mailq";
    return run({program("nullq-sendmail")}, o);
  }
  static std::string last_line(const std::string& out) {
    std::string s = out.substr(0, out.size() - 1);
    return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1) + "\n";
  }
  TempDir tmp_;
};

TEST_F(Mailq, EmptyQueueSaysSoAndNothingElse) {
  auto r = mailq();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Mail queue is empty\n");
}

TEST_F(Mailq, OneMessageIsOneRequestWithItsSizeInWholeKbytes) {
  std::string id = inject(3000);  // a queue file of a little over 3 KiB
  std::uint64_t bytes = size_of(spool() + "/new/" + id);
  ASSERT_GT(bytes, 3072u);
  ASSERT_LT(bytes, 4096u);
  auto r = mailq();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(last_line(r.out), "-- 3 Kbytes in 1 Request.\n") << r.out;
  EXPECT_NE(r.out.find("\n\n-- 3 Kbytes"), std::string::npos) << "a blank line before it, as Postfix: " << r.out;
}

TEST_F(Mailq, SummaryCountsWhatWaitsNotWhatFailedAndIsTheLastLine) {
  std::vector<std::string> ids{inject(100), inject(2000), inject(5000)};
  // One of them accepted into queue/ by the flusher, one kept in failed/.
  ASSERT_EQ(::rename((spool() + "/new/" + ids[2]).c_str(), (spool() + "/queue/" + ids[2] + ",1,0").c_str()), 0);
  std::string kept = inject(10);
  ASSERT_EQ(::rename((spool() + "/new/" + kept).c_str(), (spool() + "/failed/" + kept).c_str()), 0);
  std::uint64_t bytes = size_of(spool() + "/new/" + ids[0]) + size_of(spool() + "/new/" + ids[1]) +
                        size_of(spool() + "/queue/" + ids[2] + ",1,0");
  auto r = mailq();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(last_line(r.out), "-- " + std::to_string(bytes / 1024) + " Kbytes in 3 Requests.\n") << r.out;
  EXPECT_EQ(bytes / 1024, 7u) << "100 + 2000 + 5000 bytes of body and three envelopes";
  EXPECT_LT(r.out.find("1 failed message kept in"), r.out.find("-- 7 Kbytes")) << r.out;
  // What monitoring scripts run.
  auto awk = shell("\"$MAILQ\" -bp | tail -n1 | awk '{print $5}'");
  ASSERT_EQ(awk.code, 0) << awk.err;
  EXPECT_EQ(awk.out, "3\n");
}

TEST_F(Mailq, OnlyFailedMessagesListsThemAndEndsWithEmpty) {
  std::string kept = inject(10);
  ASSERT_EQ(::rename((spool() + "/new/" + kept).c_str(), (spool() + "/failed/" + kept).c_str()), 0);
  auto r = mailq();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("1 failed message kept in", 0), 0u) << r.out;
  EXPECT_EQ(last_line(r.out), "Mail queue is empty\n") << r.out;
}

}  // namespace

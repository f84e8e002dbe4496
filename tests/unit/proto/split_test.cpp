// The QMQP and QMTP reply readers give one outcome whatever the read boundaries (split_harness.hpp):
// a complete K/Z/D is the server's verdict, and bytes after it never change it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nullq/qmqp.hpp"
#include "nullq/qmtp.hpp"
#include "split_harness.hpp"

namespace qmqp = nullq::proto::qmqp;
namespace qmtp = nullq::proto::qmtp;
using nullq::test::Chunks;
using nullq::test::expect_same_outcome_at_every_split;

namespace {

std::string run_qmqp(const Chunks& chunks) {
  qmqp::ResponseReader r;
  for (auto c : chunks) r.feed(c);
  switch (r.finish()) {
    case qmqp::ResponseReader::State::done:
      return std::string(1, static_cast<char>(r.reply().verdict)) + r.reply().text +
             " | trailing " + std::to_string(r.trailing()) + ": " + r.trailing_sample();
    case qmqp::ResponseReader::State::failed: return "failed: " + r.error().detail;
    case qmqp::ResponseReader::State::need_more: return "need more";
  }
  return "?";
}

// Three packages: 1, 2 and 1 recipients.
std::string run_qmtp(const Chunks& chunks) {
  qmtp::ResponseReader r;
  r.expect(1, 1);
  r.expect(2, 2);
  r.expect(3, 1);
  std::vector<qmtp::Answer> answers;
  std::string err;
  for (auto c : chunks) {
    auto st = r.feed(c, answers);
    if (!st.ok() && err.empty()) err = st.error().detail;
  }
  std::string out;
  for (const auto& a : answers) {
    out += std::to_string(a.package) + "/" + std::to_string(a.recipient) + (a.package_complete ? "!" : "") + " " +
           static_cast<char>(a.reply.verdict) + a.reply.text + "; ";
  }
  return out + (r.failed() ? "failed: " + err : "ok");
}

TEST(SplitQmqp, JunkAfterTheAnswerNeverChangesTheVerdict) {
  // The defect: in one read this was "bytes after the response" (Z, resent forever); split, K.
  EXPECT_EQ(expect_same_outcome_at_every_split("16:Kok fault server,junk after the answer\r\n", run_qmqp),
            "Kok fault server | trailing 23: junk after the answer\r\n");
}

TEST(SplitQmqp, EveryShapeOfStream) {
  EXPECT_EQ(expect_same_outcome_at_every_split("26:KOk: queued as 43F1A10202D,", run_qmqp),
            "KOk: queued as 43F1A10202D | trailing 0: ");
  EXPECT_EQ(expect_same_outcome_at_every_split("2:Dx,2:Ky,", run_qmqp), "Dx | trailing 5: 2:Ky,");
  EXPECT_EQ(expect_same_outcome_at_every_split("3:Zno,", run_qmqp), "Zno | trailing 0: ");
  EXPECT_EQ(expect_same_outcome_at_every_split("4:Zno", run_qmqp), "failed: qmqp: connection closed before the response");
  EXPECT_EQ(expect_same_outcome_at_every_split("4:Zno!junk", run_qmqp),
            "failed: qmqp: netstring: missing comma after payload");
  EXPECT_EQ(expect_same_outcome_at_every_split("3:Xok,", run_qmqp),
            "failed: qmqp: response does not start with K, Z or D");
  EXPECT_EQ(expect_same_outcome_at_every_split("", run_qmqp), "failed: qmqp: connection closed before the response");
  std::string esc = std::string("9:K\x1b[31m\r\n\x01,", 12);
  EXPECT_EQ(expect_same_outcome_at_every_split(esc, run_qmqp), "K\\x1b[31m\\x0d\\x0a\\x01 | trailing 0: ");
}

TEST(SplitQmtp, PipelinedAnswersAndWhatFollowsThem) {
  EXPECT_EQ(expect_same_outcome_at_every_split("3:Kok,2:Zx,5:Dbad!,3:Kok,", run_qmtp),
            "1/0! Kok; 2/0 Zx; 2/1! Dbad!; 3/0! Kok; ok");
  // Bytes after the last answer: the answers stand, the reader fails for what follows.
  EXPECT_EQ(expect_same_outcome_at_every_split("3:Kok,2:Zx,5:Dbad!,3:Kok,junk\r\n", run_qmtp),
            "1/0! Kok; 2/0 Zx; 2/1! Dbad!; 3/0! Kok; failed: qmtp: reply when no package is waiting");
  // Junk in the middle: the answers before it stand, the rest stay unanswered.
  EXPECT_EQ(expect_same_outcome_at_every_split("3:Kok,2:Zx,junk,3:Kok,", run_qmtp),
            "1/0! Kok; 2/0 Zx; failed: qmtp: netstring: non-digit in length");
  EXPECT_EQ(expect_same_outcome_at_every_split("3:Kok,0:,", run_qmtp), "1/0! Kok; failed: qmtp: empty reply");
  EXPECT_EQ(expect_same_outcome_at_every_split("3:Kok,2:Z", run_qmtp), "1/0! Kok; ok");
}

}  // namespace

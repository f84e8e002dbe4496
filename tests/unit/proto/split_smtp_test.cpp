// The SMTP reply parser gives one outcome whatever the read boundaries (split_harness.hpp):
// pipelined replies, multi-line replies, LF-only lines, and the ways a stream can be malformed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nullq/smtp.hpp"
#include "split_harness.hpp"

namespace smtp = nullq::proto::smtp;
using nullq::test::Chunks;
using nullq::test::expect_same_outcome_at_every_split;

namespace {

// "250[2.1.0] a|b; ...; ok (held N)" or "...; failed: why".
std::string run_smtp(const Chunks& chunks) {
  smtp::ReplyParser p;
  std::vector<smtp::Reply> replies;
  std::string err;
  for (auto c : chunks) {
    auto st = p.feed(c, replies);
    if (!st.ok() && err.empty()) err = st.error().detail;
  }
  std::string out;
  for (const auto& r : replies) {
    out += std::to_string(r.code) + "[" + r.enhanced + "] ";
    for (std::size_t i = 0; i < r.lines.size(); ++i) out += (i ? "|" : "") + r.lines[i];
    out += " " + std::string(1, static_cast<char>(r.verdict())) + "; ";
  }
  return out + (p.failed() ? "failed: " + err : "ok (held " + std::to_string(p.buffered()) + ")");
}

TEST(SplitSmtp, PipelinedRepliesComeOutInOrder) {
  EXPECT_EQ(expect_same_outcome_at_every_split(
                "250 2.1.0 sender ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go ahead\r\n", run_smtp),
            "250[2.1.0] 2.1.0 sender ok K; 250[2.1.5] 2.1.5 ok K; 550[5.1.1] 5.1.1 no such user D; "
            "354[] go ahead Z; ok (held 0)");
}

TEST(SplitSmtp, MultiLineEhloIsOneReply) {
  const std::string ehlo =
      "250-mail.example.org hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n";
  EXPECT_EQ(expect_same_outcome_at_every_split(ehlo, run_smtp),
            "250[] mail.example.org hello|PIPELINING|SIZE 10240000|AUTH PLAIN LOGIN|8BITMIME K; ok (held 0)");
  // The enhanced code comes from the first line only.
  EXPECT_EQ(expect_same_outcome_at_every_split("451-4.7.1 greylisted\r\n451 5.0.0 later\r\n", run_smtp),
            "451[4.7.1] 4.7.1 greylisted|5.0.0 later Z; ok (held 0)");
}

TEST(SplitSmtp, LfOnlyAndBareCodeLines) {
  EXPECT_EQ(expect_same_outcome_at_every_split("220 hi\n250-a\n250 b\n221\r\n", run_smtp),
            "220[] hi K; 250[] a|b K; 221[]  K; ok (held 0)");  // 221 with no text: one empty line
}

TEST(SplitSmtp, AnIncompleteReplyIsHeldNotGuessed) {
  EXPECT_EQ(expect_same_outcome_at_every_split("250 ok\r\n250-more to come\r\n250-and", run_smtp),
            "250[] ok K; ok (held 7)");
  EXPECT_EQ(expect_same_outcome_at_every_split("", run_smtp), "ok (held 0)");
}

TEST(SplitSmtp, MalformedStreamsFailAfterTheRepliesBeforeThem) {
  EXPECT_EQ(expect_same_outcome_at_every_split("220 ok\r\nhello\r\n250 late\r\n", run_smtp),
            "220[] ok K; failed: malformed reply line: hello");
  EXPECT_EQ(expect_same_outcome_at_every_split("250xtext\r\n", run_smtp), "failed: malformed reply line: 250xtext");
  EXPECT_EQ(expect_same_outcome_at_every_split("600 what\r\n", run_smtp), "failed: malformed reply line: 600 what");
  EXPECT_EQ(expect_same_outcome_at_every_split("250-first\r\n251 second\r\n", run_smtp),
            "failed: reply code changed inside a multi-line reply");
  // Control bytes never reach the error text raw.
  EXPECT_EQ(expect_same_outcome_at_every_split(std::string("\x1b[31m\0\r\n", 8), run_smtp),
            "failed: malformed reply line: \\x1b[31m\\x00");
}

TEST(SplitSmtp, CapsHoldAtEverySplit) {
  std::string too_long = "250 " + std::string(smtp::max_line, 'x') + "\r\n";
  EXPECT_EQ(expect_same_outcome_at_every_split(too_long, run_smtp),
            "failed: reply line longer than " + std::to_string(smtp::max_line) + " bytes");
  std::string many;
  for (std::size_t i = 0; i <= smtp::max_lines; ++i) many += "250-x\r\n";
  EXPECT_EQ(expect_same_outcome_at_every_split(many, run_smtp),
            "failed: reply with more than " + std::to_string(smtp::max_lines) + " lines");
}

}  // namespace

// Response readers (client side) and the QMTP package parser's rejections (server side).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "nullq/qmqp.hpp"
#include "nullq/qmtp.hpp"

using nullq::proto::Reply;
using nullq::proto::Verdict;
namespace qmqp = nullq::proto::qmqp;
namespace qmtp = nullq::proto::qmtp;

namespace {

struct ReplyCase {
  const char* name;
  std::string bytes;
  qmqp::ResponseReader::State want;
  Verdict verdict;
  std::string text;
};

class QmqpReader : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(QmqpReader, AnyChunking) {
  const ReplyCase& c = GetParam();
  for (std::size_t chunk : {std::size_t{1}, std::size_t{5}, c.bytes.size() + 1}) {
    qmqp::ResponseReader r;
    auto st = qmqp::ResponseReader::State::need_more;
    for (std::size_t i = 0; i < c.bytes.size(); i += chunk) st = r.feed(std::string_view(c.bytes).substr(i, chunk));
    st = r.finish();
    EXPECT_EQ(st, c.want) << c.name << " chunk " << chunk;
    if (c.want == qmqp::ResponseReader::State::done) {
      EXPECT_EQ(r.reply().verdict, c.verdict) << c.name;
      EXPECT_EQ(r.reply().text, c.text) << c.name;
    } else {
      EXPECT_EQ(r.error().domain, nullq::ErrorDomain::protocol) << c.name;
      EXPECT_TRUE(r.error().is_temporary()) << c.name;
    }
  }
}

const auto done = qmqp::ResponseReader::State::done;
const auto failed = qmqp::ResponseReader::State::failed;

INSTANTIATE_TEST_SUITE_P(
    Table, QmqpReader,
    ::testing::Values(
        ReplyCase{"postfix_ok", "26:KOk: queued as 43F1A10202D,", done, Verdict::ok, "Ok: queued as 43F1A10202D"},
        ReplyCase{"qmail_ok", "23:Kok 1795338653 qp 23807,", done, Verdict::ok, "ok 1795338653 qp 23807"},
        ReplyCase{"temporary", "50:Zmail server temporarily rejected message (#4.3.0),", done, Verdict::temporary,
                  "mail server temporarily rejected message (#4.3.0)"},
        ReplyCase{"permanent", "2:Dx,", done, Verdict::permanent, "x"},
        ReplyCase{"sanitised", std::string("6:Ka\r\nb\x01,", 9), done, Verdict::ok, "a\\x0d\\x0ab\\x01"},
        ReplyCase{"empty", "0:,", failed, Verdict::ok, ""},
        ReplyCase{"bad_letter", "3:Xok,", failed, Verdict::ok, ""},
        ReplyCase{"garbage", "HTTP/1.0 400", failed, Verdict::ok, ""},
        ReplyCase{"eof_before_reply", "", failed, Verdict::ok, ""},
        ReplyCase{"eof_in_reply", "10:Kok", failed, Verdict::ok, ""},
        ReplyCase{"oversize", "65537:", failed, Verdict::ok, ""},
        // A complete answer is the verdict; bytes after it are only counted (split_test.cpp).
        ReplyCase{"trailing_bytes", "2:Kx,2:Ky,", done, Verdict::ok, "x"}),
    [](const auto& info) { return std::string(info.param.name); });

std::string reply(char v, std::string_view text) { return nullq::netstring::encode(std::string(1, v) + std::string(text)); }

TEST(QmtpReader, AssignsPipelinedRepliesToPackagesAndRecipients) {
  // Three packages with 2, 1 and 3 recipients, answered K D | Z | K K D.
  std::string stream = reply('K', "ok a") + reply('D', "no such user (#5.1.1)") + reply('Z', "later") +
                       reply('K', "ok b") + reply('K', "ok c") + reply('D', "sorry (#5.7.1)");
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    qmtp::ResponseReader r;
    r.expect(10, 2);
    r.expect(11, 1);
    r.expect(12, 3);
    std::vector<qmtp::Answer> got;
    std::size_t i = 0;
    while (i < stream.size()) {
      std::size_t n = round == 0 ? 1 : 1 + rng() % 9;
      ASSERT_TRUE(r.feed(std::string_view(stream).substr(i, n), got).ok());
      i += n;
    }
    ASSERT_EQ(got.size(), 6u);
    struct Want { std::uint64_t pkg; std::size_t rcpt; Verdict v; bool complete; };
    const Want want[] = {{10, 0, Verdict::ok, false}, {10, 1, Verdict::permanent, true},
                         {11, 0, Verdict::temporary, true}, {12, 0, Verdict::ok, false},
                         {12, 1, Verdict::ok, false}, {12, 2, Verdict::permanent, true}};
    for (std::size_t k = 0; k < 6; ++k) {
      EXPECT_EQ(got[k].package, want[k].pkg) << k;
      EXPECT_EQ(got[k].recipient, want[k].rcpt) << k;
      EXPECT_EQ(got[k].reply.verdict, want[k].v) << k;
      EXPECT_EQ(got[k].package_complete, want[k].complete) << k;
    }
    EXPECT_EQ(got[1].reply.text, "no such user (#5.1.1)");
    EXPECT_TRUE(r.pending().empty());
  }
}

TEST(QmtpReader, TracksPartialAnswers) {
  qmtp::ResponseReader r;
  r.expect(1, 3);
  std::vector<qmtp::Answer> got;
  ASSERT_TRUE(r.feed(reply('K', "a") + reply('Z', "b") + "5:Kpar", got).ok());
  EXPECT_EQ(got.size(), 2u);
  ASSERT_EQ(r.pending().size(), 1u);
  EXPECT_EQ(r.answered_in_oldest(), 2u);
}

struct BadStream {
  const char* name;
  std::string bytes;
};

class QmtpReaderRejects : public ::testing::TestWithParam<BadStream> {};

TEST_P(QmtpReaderRejects, FailsForGood) {
  qmtp::ResponseReader r;
  r.expect(1, 1);
  std::vector<qmtp::Answer> got;
  auto st = r.feed(GetParam().bytes, got);
  ASSERT_FALSE(st.ok()) << GetParam().name;
  EXPECT_EQ(st.error().domain, nullq::ErrorDomain::protocol);
  EXPECT_TRUE(r.failed());
  EXPECT_FALSE(r.feed(reply('K', "late"), got).ok()) << "a failed reader stays failed";
}

INSTANTIATE_TEST_SUITE_P(Table, QmtpReaderRejects,
                         ::testing::Values(BadStream{"reply_with_nothing_pending", "2:Kx,2:Ky,"},
                                           BadStream{"empty_reply", "0:,"},
                                           BadStream{"bad_letter", "2:Qx,"},
                                           BadStream{"not_a_netstring", "250 ok\r\n"},
                                           BadStream{"leading_zero", "02:Kx,"},
                                           BadStream{"oversize", "70000:K"},
                                           BadStream{"missing_comma", "2:Kx;"}),
                         [](const auto& info) { return std::string(info.param.name); });

struct BadPackage {
  const char* name;
  std::string bytes;
};

class QmtpPackageRejects : public ::testing::TestWithParam<BadPackage> {};

TEST_P(QmtpPackageRejects, Fails) {
  qmtp::PackageParser p(100);
  p.feed(GetParam().bytes);
  EXPECT_EQ(p.state(), qmtp::PackageParser::State::failed) << GetParam().name;
  EXPECT_FALSE(p.error().detail.empty());
}

INSTANTIATE_TEST_SUITE_P(Table, QmtpPackageRejects,
                         ::testing::Values(BadPackage{"empty_message", "0:,3:a@x,6:3:b@y,,"},
                                           BadPackage{"bad_encoding_byte", "3:xHi,3:a@x,6:3:b@y,,"},
                                           BadPackage{"bare_lf_in_crlf_form", "5:\rHi\nx,3:a@x,6:3:b@y,,"},
                                           BadPackage{"non_digit_length", "4a:\nHi\n,"},
                                           BadPackage{"missing_comma", "4:\nHi\n;"},
                                           BadPackage{"over_message_limit", "200:\n"},
                                           BadPackage{"recipients_do_not_fill", "4:\nHi\n,3:a@x,6:3:b@yy,"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(QmtpPackage, CrlfFormIsConvertedToLf) {
  qmtp::PackageParser p(100);
  std::string pkg = "8:\rHi\r\nx\r\n,3:a@x,6:3:b@y,,";
  EXPECT_EQ(p.feed(pkg), pkg.size());
  ASSERT_EQ(p.state(), qmtp::PackageParser::State::done) << p.error().detail;
  EXPECT_EQ(p.package().message, "Hi\nx\n");
}

TEST(QmtpPackage, EmptyRecipientListParses) {
  // The server must parse it (and then send no answer at all).
  qmtp::PackageParser p(100);
  p.feed("4:\nHi\n,3:a@x,0:,");
  ASSERT_EQ(p.state(), qmtp::PackageParser::State::done);
  EXPECT_TRUE(p.package().recipients.empty());
}

TEST(QmtpPackage, ResetParsesNextPackageOnSameStream) {
  qmtp::PackageParser p(100);
  std::string two = "4:\nHi\n,3:a@x,6:3:b@y,,4:\nHo\n,0:,6:3:c@z,,";
  std::size_t used = p.feed(two);
  ASSERT_EQ(p.state(), qmtp::PackageParser::State::done);
  p.reset();
  EXPECT_TRUE(p.idle());
  used += p.feed(std::string_view(two).substr(used));
  ASSERT_EQ(p.state(), qmtp::PackageParser::State::done);
  EXPECT_EQ(used, two.size());
  EXPECT_EQ(p.package().message, "Ho\n");
  EXPECT_EQ(p.package().sender, "");
  EXPECT_EQ(p.package().recipients, std::vector<std::string>{"c@z"});
}

TEST(Sanitize, CapsAndCleans) {
  EXPECT_EQ(nullq::proto::sanitize("ok\r\n"), "ok\\x0d\\x0a");
  EXPECT_EQ(nullq::proto::sanitize(std::string("a\0b\xff", 4)), "a\\x00b\\xff");
  std::string longtext(2000, 'x');
  std::string s = nullq::proto::sanitize(longtext, 100);
  EXPECT_EQ(s.size(), 100u);
  EXPECT_EQ(s.substr(97), "...");
}

TEST(QmqpServer, DecodeRejectsMissingParts) {
  EXPECT_FALSE(qmqp::decode_request("3:Hi\n,").ok());
  auto r = qmqp::decode_request("3:Hi\n,3:a@x,");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("without recipients"), std::string::npos);
  EXPECT_FALSE(qmqp::decode_request("3:Hi\n,3:a@x,3:b@").ok());
  EXPECT_EQ(qmqp::encode_response(Verdict::ok, "ok"), "3:Kok,");
}

}  // namespace

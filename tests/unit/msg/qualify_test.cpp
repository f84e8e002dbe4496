// Qualifying bare local parts in address headers: got X, want Y, and headers the parser cannot read
// are left as they were.
#include <gtest/gtest.h>

#include "nullq/msg.hpp"

namespace msg = nullq::msg;

namespace {

struct Case {
  const char* name;
  const char* in;
  const char* want;  // nullptr: does not parse, the caller keeps the header unchanged
};

class Qualify : public ::testing::TestWithParam<Case> {};

TEST_P(Qualify, Value) {
  const Case& c = GetParam();
  auto got = msg::qualify_addresses(c.in, "example.org");
  if (c.want == nullptr) {
    EXPECT_FALSE(got.has_value()) << c.name << ": " << got.value_or("");
  } else {
    ASSERT_TRUE(got.has_value()) << c.name;
    EXPECT_EQ(*got, c.want) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, Qualify,
    ::testing::Values(
        Case{"bare", " root\n", " root@example.org\n"},
        Case{"cron_from", " root (Cron Daemon)\n", " root@example.org (Cron Daemon)\n"},
        Case{"comment_first", " (Cron Daemon) root\n", " (Cron Daemon) root@example.org\n"},
        Case{"nested_comment", " root (a (b) c)\n", " root@example.org (a (b) c)\n"},
        Case{"angle_only", " <root>\n", " <root@example.org>\n"},
        Case{"angle_spaces", " < root >\n", " < root@example.org >\n"},
        Case{"display_name", " Ops Team <ops>\n", " Ops Team <ops@example.org>\n"},
        Case{"quoted_display", " \"Cron, Daemon\" <root>\n", " \"Cron, Daemon\" <root@example.org>\n"},
        Case{"encoded_word", " =?UTF-8?Q?J=C3=B6rg?= <joerg>\n", " =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\n"},
        Case{"encoded_word_qualified", " =?UTF-8?B?SsO2cmc=?= <j@x.net>\n", " =?UTF-8?B?SsO2cmc=?= <j@x.net>\n"},
        Case{"quoted_local_part", " \"john smith\"\n", " \"john smith\"@example.org\n"},
        Case{"quoted_local_part_angle", " John <\"john smith\">\n", " John <\"john smith\"@example.org>\n"},
        Case{"dotted", " first.last\n", " first.last@example.org\n"},
        Case{"several", " root, bob@x.net, Carol <carol>, dave (D)\n",
             " root@example.org, bob@x.net, Carol <carol@example.org>, dave@example.org (D)\n"},
        Case{"folded", " root,\n\tbob,\n Carol\n <carol>\n", " root@example.org,\n\tbob@example.org,\n Carol\n <carol@example.org>\n"},
        Case{"qualified_untouched", " \"A, B\" <a@b.example> (x),  c@d.example\n",
             " \"A, B\" <a@b.example> (x),  c@d.example\n"},
        Case{"undisclosed_group", " undisclosed-recipients:;\n", " undisclosed-recipients:;\n"},
        Case{"group_members", " team: root, a@b.example;\n", " team: root@example.org, a@b.example;\n"},
        Case{"group_then_more", " g:;, root\n", " g:;, root@example.org\n"},
        Case{"empty", "\n", "\n"},
        Case{"empty_members", " root,, ,bob\n", " root@example.org,, ,bob@example.org\n"},
        Case{"null_angle", " <>\n", " <>\n"},
        Case{"source_route", " <@relay.example:root@x.example>\n", " <@relay.example:root@x.example>\n"},
        Case{"comment_with_parens_and_commas", " root (a, b: c; <d>)\n", " root@example.org (a, b: c; <d>)\n"},
        Case{"utf8_local", " j\xC3\xB6rg\n", " j\xC3\xB6rg@example.org\n"},
        // Not understood: left as written.
        Case{"two_words", " John Smith\n", nullptr},
        Case{"unbalanced_quote", " \"root\n", nullptr},
        Case{"unbalanced_comment", " root (Cron\n", nullptr},
        Case{"unbalanced_angle", " Root <root\n", nullptr},
        Case{"text_after_angle", " Root <root> extra\n", nullptr},
        Case{"trailing_dot", " root.\n", nullptr},
        Case{"group_without_semicolon", " team: root\n", nullptr},
        Case{"semicolon_outside_group", " root; bob\n", nullptr},
        Case{"nested_group", " a: b: c;;\n", nullptr},
        Case{"backslash", " ro\\ot\n", nullptr},
        Case{"two_angles", " <a> <b>\n", nullptr}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(QualifyHeaders, WhichHeaders) {
  for (const char* n : {"From", "from", "Sender", "Reply-To", "To", "CC", "Resent-From", "Resent-To", "Resent-Cc",
                        "Resent-Sender", "Mail-Followup-To", "Disposition-Notification-To"})
    EXPECT_TRUE(msg::is_address_header(n)) << n;
  for (const char* n : {"Subject", "Bcc", "Message-ID", "X-To", "Received", "Return-Path", "Tox"})
    EXPECT_FALSE(msg::is_address_header(n)) << n;
}

msg::Context context() {
  msg::Context c;
  c.login = "root";
  c.domain = "example.org";
  c.hostname = "box.example.org";
  c.local_zone_date = "Sun, 22 Nov 2026 10:30:53 +0000";
  c.id_token = "1";
  c.arguments = {"root"};
  return c;
}

TEST(QualifyHeaders, PrepareQualifiesAddressHeadersOnly) {
  std::string in =
      "From: root (Cron Daemon)\nTo: root\nCc: Ops <ops>,\n  bob@x.example\nReply-To: undisclosed-recipients:;\n"
      "Sender: <root>\nResent-To: alice\nX-Original-To: root\nSubject: root\nDate: x\nMessage-ID: <1@x>\n\nroot\n";
  auto p = msg::prepare(msg::split_message(in), context());
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p->message,
            "From: root@example.org (Cron Daemon)\nTo: root@example.org\nCc: Ops <ops@example.org>,\n  bob@x.example\n"
            "Reply-To: undisclosed-recipients:;\nSender: <root@example.org>\nResent-To: alice@example.org\n"
            "X-Original-To: root\nSubject: root\nDate: x\nMessage-ID: <1@x>\n\nroot\n");
}

TEST(QualifyHeaders, UnparseableHeaderKeptByteForByte) {
  std::string in = "From: Cron Daemon root\nTo: \"broken\nDate: x\nMessage-ID: <1@x>\n\nb\n";
  auto p = msg::prepare(msg::split_message(in), context());
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p->message, in);
}

TEST(QualifyHeaders, NoDomainNoChange) {
  msg::Context c = context();
  c.domain.clear();
  std::string in = "From: root\nDate: x\nMessage-ID: <1@x>\n\nb\n";
  auto p = msg::prepare(msg::split_message(in), c);
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p->message, in);
}

TEST(QualifyHeaders, LastHeaderWithoutNewline) {
  auto p = msg::prepare(msg::split_message("From: a@b\nDate: x\nMessage-ID: <1@x>\nTo: root"), context());
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p->message, "From: a@b\nDate: x\nMessage-ID: <1@x>\nTo: root@example.org\n\n");
}

}  // namespace

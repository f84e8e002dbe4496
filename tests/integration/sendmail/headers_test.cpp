// What a relay sees of a queued message's headers: bare local parts qualified as nullmailer-inject and
// Postfix do (Gmail, Microsoft 365 and SES refuse an unqualified From), everything else as written.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nullq/envelope.hpp"
#include "process.hpp"

using nullq::testing::list_dir;
using nullq::testing::program;
using nullq::testing::read_file;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

namespace {

class Headers : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.write("nullq.yaml", "hostname: box.example.org\ndomain: example.org\nsmarthosts: [qmtp://127.0.0.1:1]\n"
                             "queue:\n  dir: " + (tmp_ / "spool") + "\n");
  }
  nullq::testing::Run sendmail(std::vector<std::string> args, const std::string& input) {
    RunOptions o;
    o.input = input;
    o.argv0 = "sendmail";
    o.env.emplace("NULLQ_CONFIG", tmp_ / "nullq.yaml");
    args.insert(args.begin(), program("nullq-sendmail"));
    return run(args, o);
  }
  // The one queued message without its envelope and the Received: line nullq-queue puts first.
  std::string queued_headers() {
    auto names = list_dir(tmp_ / "spool/new");
    EXPECT_EQ(names.size(), 1u);
    if (names.size() != 1) return {};
    std::string file = read_file(tmp_ / "spool/new/" + names[0]);
    std::size_t body = 0;
    EXPECT_TRUE(nullq::envelope::decode(file, &body).ok());
    std::string message = file.substr(body);
    message = message.substr(0, message.find("\n\n") + 1);
    if (message.rfind("Received:", 0) == 0) {
      std::size_t end = message.find('\n');
      while (end + 1 < message.size() && (message[end + 1] == ' ' || message[end + 1] == '\t'))
        end = message.find('\n', end + 1);
      message.erase(0, end + 1);
    }
    return message;
  }
  TempDir tmp_;
};

TEST_F(Headers, CronOutputGetsQualifiedFromAndTo) {
  // What Debian's cron pipes to `sendmail -FCronDaemon -i -B8BITMIME -oem root`.
  std::string cron =
      "From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@box> run-parts /etc/cron.daily\n"
      "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nX-Cron-Env: <SHELL=/bin/sh>\n\noutput\n";
  auto r = sendmail({"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"}, cron);
  ASSERT_EQ(r.code, 0) << r.err;
  std::string h = queued_headers();
  EXPECT_EQ(h.rfind("From: root@example.org (Cron Daemon)\nTo: root@example.org\n"
                    "Subject: Cron <root@box> run-parts /etc/cron.daily\n"
                    "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nX-Cron-Env: <SHELL=/bin/sh>\n",
                    0),
            0u)
      << h;
}

TEST_F(Headers, EveryAddressHeaderAndEveryFormKeepingTheRest) {
  std::string in =
      "From: =?UTF-8?Q?J=C3=B6rg?= <joerg>\nSender: <root>\nReply-To: \"Ops, Team\" <ops> (night)\n"
      "To: undisclosed-recipients:;\nCc: alice,\n\tBob <bob@x.example>, \"c d\"\nResent-From: root\n"
      "Resent-To: team: admin, x@y.example;\nBcc: hidden\nX-Note: root\nSubject: root\n"
      "Date: Sun, 22 Nov 2026 10:30:53 +0000\nMessage-ID: <1@x.example>\n\nbody\n";
  auto r = sendmail({"-i", "someone@x.example"}, in);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(queued_headers(),
            "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\nSender: <root@example.org>\n"
            "Reply-To: \"Ops, Team\" <ops@example.org> (night)\n"
            "To: undisclosed-recipients:;\nCc: alice@example.org,\n\tBob <bob@x.example>, \"c d\"@example.org\n"
            "Resent-From: root@example.org\nResent-To: team: admin@example.org, x@y.example;\n"
            "X-Note: root\nSubject: root\nDate: Sun, 22 Nov 2026 10:30:53 +0000\nMessage-ID: <1@x.example>\n");
}

TEST_F(Headers, QualifiedAndUnparseableHeadersStayByteIdentical) {
  std::string in =
      "From: \"A\"   <a@x.example>  (c)\nTo: Cron Daemon root\nCc: <unbalanced\n"
      "Date: Sun, 22 Nov 2026 10:30:53 +0000\nMessage-ID: <1@x.example>\n";
  auto r = sendmail({"-i", "someone@x.example"}, in + "\nbody\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(queued_headers(), in);
}

}  // namespace

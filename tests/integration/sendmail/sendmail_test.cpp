// nullq-sendmail as callers run it: each caller's exact argv, -bs, -bp, and every bad input.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "nullq/envelope.hpp"
#include "nullq/queue.hpp"
#include "process.hpp"
#include "sendmail_fixture.hpp"

namespace {

using namespace nullq::sendmail_it;

// sendmail -q with mail the smart host cannot take now (127.0.0.1:1 refuses): the flush ran, the
// mail stays queued for its next attempt, and the exit status is 0, as Postfix's sendmail -q (a
// cron job that runs it must not report a failure for every deferral).
TEST_F(Sendmail, FlushThatLeavesMailDeferredExitsZeroAndKeepsIt) {
  auto q = sendmail({"someone@example.net"}, "Subject: deferred\n\nbody\n");
  ASSERT_EQ(q.code, 0) << q.err;
  auto f = sendmail({"-q"}, "");
  EXPECT_EQ(f.code, 0) << f.err;
  EXPECT_EQ(f.err, "");
  EXPECT_EQ(f.out, "");
  EXPECT_EQ(list_dir(spool() + "/queue").size(), 1u) << "the message waits for its next attempt";
  EXPECT_TRUE(list_dir(spool() + "/new").empty());
}
// Only mail left for later becomes 0: a flush that cannot run at all (here queue/ is a file) keeps
// nullq-send's temporary-failure code and its line, so cron reports it.
TEST_F(Sendmail, FlushThatCannotRunKeepsItsFailure) {
  auto q = sendmail({"someone@example.net"}, "Subject: kept\n\nbody\n");
  ASSERT_EQ(q.code, 0) << q.err;
  std::filesystem::remove_all(spool() + "/queue");
  tmp_.write("spool/queue", "not a directory\n");
  auto f = sendmail({"-q"}, "");
  EXPECT_EQ(f.code, 75) << f.err;
  EXPECT_TRUE(f.err.find("queue exists and is not a directory") != std::string::npos) << f.err;
  EXPECT_EQ(list_dir(spool() + "/new").size(), 1u) << "the message is still there";
}
const std::string with_to = "To: Ops <ops@example.net>, bob\nCc: carol@example.net\nBcc: hidden@example.net\nSubject: t\n\nbody\n";

struct Caller {
  const char* name;
  std::vector<std::string> argv;
  std::string input;
  std::string sender;
  std::vector<std::string> rcpts;
  bool dot_kept;  // -i / -oi: a lone "." does not end the message
};

class Callers : public Sendmail, public ::testing::WithParamInterface<Caller> {};

TEST_P(Callers, QueueWhatTheyMean) {
  const Caller& c = GetParam();
  auto r = sendmail(c.argv, c.input);
  ASSERT_EQ(r.code, 0) << c.name << ": " << r.err;
  EXPECT_EQ(r.err, "");
  auto q = queued();
  ASSERT_EQ(q.size(), 1u) << c.name;
  // "" stands for the caller's own address (user@domain), "-" for the null sender.
  std::string caller = std::string(::getpwuid(::getuid())->pw_name) + "@example.org";
  std::string sender = c.sender == "-" ? "" : c.sender.empty() ? caller : c.sender;
  EXPECT_EQ(q[0].env.sender, sender) << c.name;
  EXPECT_EQ(q[0].env.recipients, c.rcpts) << c.name;
  EXPECT_NE(q[0].message.find("\nDate: "), std::string::npos) << c.name;
  EXPECT_NE(q[0].message.find("\nMessage-ID: <"), std::string::npos) << c.name;
  EXPECT_EQ(q[0].message.find("Bcc:"), std::string::npos) << c.name;
  if (c.input == plain) {
    EXPECT_EQ(q[0].message.find("line after a lone dot") != std::string::npos, c.dot_kept) << c.name;
  }
  EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
}

INSTANTIATE_TEST_SUITE_P(
    RealArgv, Callers,
    ::testing::Values(
        Caller{"debian_cron", {"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "a@x.org,b@y.org"}, plain, "", {"a@x.org", "b@y.org"}, true},
        Caller{"cronie", {"-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "u"}, with_to, "u@example.org",
               {"ops@example.net", "bob@example.org", "carol@example.net", "hidden@example.net"}, true},
        Caller{"anacron", {"-FAnacron", "-odi", "root"}, plain, "", {"root@example.org"}, false},
        Caller{"at", {"-i", "user"}, plain, "", {"user@example.org"}, true},
        Caller{"php", {"-t", "-i", "-fbounce@x.org"}, with_to, "bounce@x.org",
               {"ops@example.net", "bob@example.org", "carol@example.net", "hidden@example.net"}, true},
        Caller{"phpmailer", {"-oi", "-fsender@x.org", "-t"}, with_to, "sender@x.org",
               {"ops@example.net", "bob@example.org", "carol@example.net", "hidden@example.net"}, true},
        Caller{"git_send_email", {"-f", "env@x.org", "-i", "r1@y.org", "r2@y.org"}, plain, "env@x.org", {"r1@y.org", "r2@y.org"}, true},
        Caller{"mutt", {"-oem", "-oi", "-B8BITMIME", "-f", "from@x.org", "-N", "success,failure", "-R", "hdrs", "--", "a@y.org", "b@y.org"},
               plain, "from@x.org", {"a@y.org", "b@y.org"}, true},
        Caller{"bsd_mailx", {"-i", "-t", "-f", "from@x.org"}, with_to, "from@x.org",
               {"ops@example.net", "bob@example.org", "carol@example.net", "hidden@example.net"}, true},
        Caller{"s_nail", {"-i", "-F", "Full Name", "-f", "addr@x.org", "--", "rcpt@y.org"}, plain, "addr@x.org", {"rcpt@y.org"}, true},
        Caller{"logwatch_mdadm_sudo", {"-t"}, with_to, "",
               {"ops@example.net", "bob@example.org", "carol@example.net", "hidden@example.net"}, false},
        Caller{"unattended_upgrades", {"-oi", "-t"}, with_to, "",
               {"ops@example.net", "bob@example.org", "carol@example.net", "hidden@example.net"}, true},
        Caller{"null_sender", {"-f", "<>", "-i", "a@y.org"}, plain, "-", {"a@y.org"}, true},
        Caller{"header_style_argument", {"-i", "Ops Team <ops@y.org>, dev@y.org"}, plain, "", {"ops@y.org", "dev@y.org"}, true},
        // Options after the recipients, as getopt allows: -i still counts, and is not a recipient.
        Caller{"options_after_recipients", {"a@y.org", "-i", "-f", "env@x.org", "b@y.org"}, plain, "env@x.org",
               {"a@y.org", "b@y.org"}, true},
        // Recipients named on the command line, and a Bcc: line in the message: it is still removed.
        Caller{"arguments_with_a_bcc_header", {"-i", "a@y.org"}, with_to, "", {"a@y.org"}, true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Sendmail, DefaultSenderIsTheCallerQualified) {
  auto r = sendmail({"-i", "a@y.org"}, plain);
  ASSERT_EQ(r.code, 0) << r.err;
  auto q = queued();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_NE(q[0].env.sender.find("@example.org"), std::string::npos) << q[0].env.sender;
  EXPECT_EQ(q[0].env.uid, static_cast<std::int64_t>(::getuid()));
}

TEST_F(Sendmail, FromHeaderUsesDashFName) {
  auto r = sendmail({"-i", "-F", "Backup Job", "a@y.org"}, plain);
  ASSERT_EQ(r.code, 0) << r.err;
  auto q = queued();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_NE(q[0].message.find("\nFrom: \"Backup Job\" <"), std::string::npos) << q[0].message;
}

TEST_F(Sendmail, SmtpSessionQueuesEachData) {
  std::string session =
      "EHLO client\r\nMAIL FROM:<app@x.org> SIZE=100\r\nRCPT TO:<a@y.org>\r\nRCPT TO:<b@y.org>\r\nDATA\r\n"
      "Subject: one\r\n\r\n..stuffed\r\n.\r\nRSET\r\nMAIL FROM:<>\r\nRCPT TO:<c@y.org>\r\nDATA\r\nSubject: two\r\n\r\nx\r\n.\r\n"
      "DATA\r\nVRFY a\r\nNOOP\r\nBOGUS\r\nQUIT\r\n";
  auto r = sendmail({"-bs"}, session);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("220 box.example.org ESMTP nullq\r\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("250-SIZE 100000\r\n"), std::string::npos);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 22) << r.out;  // one reply per command, 6 for EHLO
  EXPECT_NE(r.out.find("503 5.5.1 MAIL first"), std::string::npos);
  EXPECT_NE(r.out.find("252 2.5.2"), std::string::npos);
  EXPECT_NE(r.out.find("500 5.5.2 unknown command"), std::string::npos);
  EXPECT_NE(r.out.find("221 2.0.0 bye"), std::string::npos);
  auto q = queued();
  ASSERT_EQ(q.size(), 2u);
  std::sort(q.begin(), q.end(), [](const Queued& a, const Queued& b) { return a.env.recipients.size() > b.env.recipients.size(); });
  EXPECT_EQ(q[0].env.sender, "app@x.org");
  EXPECT_EQ(q[0].env.recipients, (std::vector<std::string>{"a@y.org", "b@y.org"}));
  EXPECT_NE(q[0].message.find("\n.stuffed\n"), std::string::npos) << "dot-unstuffed: " << q[0].message;
  EXPECT_EQ(q[1].env.sender, "");
}

TEST_F(Sendmail, SmtpLongDataLinesArriveWholeAndOversizeOnesAreRefused) {
  const std::string long_line(6000, 'x');  // longer than a command may be, well under the size limit
  auto r = sendmail({"-bs"}, "HELO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@y.org>\r\nDATA\r\nSubject: long\r\n\r\n" +
                                 long_line + "\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("250 2.0.0 ok: queued as "), std::string::npos) << r.out;
  auto q = queued();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_NE(q[0].message.find("\n" + long_line + "\n"), std::string::npos) << "the line was shortened";

  const std::string huge_line(200000, 'y');  // one line over the configured 100000 bytes
  auto big = sendmail({"-bs"}, "HELO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@y.org>\r\nDATA\r\nSubject: huge\r\n\r\n" +
                                   huge_line + "\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(big.code, 0) << big.err;
  EXPECT_NE(big.out.find("552 5.3.4 message exceeds maximum size of 100000 bytes"), std::string::npos) << big.out;
  EXPECT_NE(big.out.find("221 2.0.0 bye"), std::string::npos) << "the session goes on after the refusal";
  EXPECT_EQ(queued().size(), 1u) << "nothing more was queued";
}

TEST_F(Sendmail, SmtpRefusesControlCharactersInAddressesAndGoesOn) {
  auto r = sendmail({"-bs"}, "HELO x\r\nMAIL FROM:<a\x1b@x.org>\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b\x7f@y.org>\r\n"
                             "RCPT TO:<c@y.org>\r\nDATA\r\nSubject: ok\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\r\n553 5.1.7 bad sender: address contains a control character (\\x1b)\r\n250 2.1.0 ok\r\n"
                       "553 5.1.3 bad recipient: address contains a control character (\\x7f)\r\n250 2.1.5 ok\r\n"),
            std::string::npos)
      << r.out;
  auto q = queued();
  ASSERT_EQ(q.size(), 1u) << r.out;
  EXPECT_EQ(q[0].env.sender, "a@x.org");
  EXPECT_EQ(q[0].env.recipients, (std::vector<std::string>{"c@y.org"}));
}

TEST_F(Sendmail, SmtpEofInsideDataQueuesNothing) {
  auto r = sendmail({"-bs"}, "HELO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@y.org>\r\nDATA\r\nSubject: cut\r\n");
  EXPECT_EQ(r.code, 0);
  expect_nothing_queued();
}

TEST_F(Sendmail, MailqListsQueuedMessages) {
  ASSERT_TRUE(nullq::queue::ensure_spool(nullq::queue::Spool{spool()}).ok());  // a missing one is an error
  auto empty = sendmail({}, "", "mailq");
  EXPECT_EQ(empty.code, 0) << empty.err;
  EXPECT_EQ(empty.out, "Mail queue is empty\n");
  ASSERT_EQ(sendmail({"-i", "-f", "me@x.org", "a@y.org"}, plain).code, 0);
  auto r = sendmail({}, "", "mailq");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 message queued:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("from <me@x.org>"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("to   <a@y.org>"), std::string::npos) << r.out;
  auto bp = sendmail({"-bp"}, "");
  EXPECT_EQ(bp.out, r.out);
}

TEST_F(Sendmail, NewaliasesIsANoOp) {
  auto r = sendmail({}, "", "newaliases");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out + r.err, "");
  EXPECT_EQ(sendmail({"-bi"}, "").code, 0);
}

struct Bad {
  const char* name;
  std::vector<std::string> argv;
  std::string input;
  int code;
  const char* message;
};

class BadInput : public Sendmail, public ::testing::WithParamInterface<Bad> {};

TEST_P(BadInput, ClearErrorAndNothingQueued) {
  const Bad& b = GetParam();
  auto r = sendmail(b.argv, b.input);
  EXPECT_EQ(r.code, b.code) << r.err;
  EXPECT_NE(r.err.find(b.message), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  expect_nothing_queued();
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadInput,
    ::testing::Values(Bad{"unknown_flag", {"-Y"}, plain, 64, "sendmail: unknown option -Y"},
                      Bad{"escape_flag", {"-\x1b"}, plain, 64, "sendmail: unknown option -\\x1b\n"},
                      Bad{"carriage_return_mode", {"-b\r"}, plain, 64, "mode -b\\x0d is not supported"},
                      Bad{"missing_value", {"-i", "-f"}, plain, 64, "option -f needs a sender address"},
                      Bad{"bad_mode", {"-bd"}, plain, 64, "mode -bd is not supported"},
                      Bad{"no_recipients", {"-i"}, plain, 64, "no recipients given"},
                      Bad{"no_recipients_t", {"-t"}, plain, 64, "none in To, Cc or Bcc"},
                      Bad{"bad_address", {"-i", "Name <a@b"}, plain, 65, "bad address 'Name <a@b': unbalanced <"},
                      Bad{"bad_header_address", {"-t"}, "To: <<x@y>\n\nbody\n", 65, "To: bad address"},
                      Bad{"newline_in_sender", {"-f", "a\nb@x", "r@y.org"}, plain, 65, "line break"},
                      Bad{"escape_in_recipient", {"-i", "a\x1b@y.org"}, plain, 65,
                          "sendmail: bad recipient: address contains a control character (\\x1b)\n"},
                      Bad{"bell_in_header_address", {"-t"}, "To: <b\x07@y.org>\n\nbody\n", 65,
                          "bad recipient: address contains a control character (\\x07)"},
                      Bad{"delete_in_sender", {"-f", "a\x7f@x.org", "r@y.org"}, plain, 65,
                          "bad sender: address contains a control character (\\x7f)"},
                      Bad{"oversize", {"-i", "a@y.org"}, "Subject: big\n\n" + std::string(200000, 'x') + "\n", 65,
                          "message exceeds maximum size of 100000 bytes"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Sendmail, BrokenConfigIsExit78) {
  tmp_.write("nullq.yaml", "queue:\n  dirr: /x\n");
  auto r = sendmail({"-i", "a@y.org"}, plain);
  EXPECT_EQ(r.code, 78);
  EXPECT_EQ(r.err, "sendmail: " + (tmp_ / "nullq.yaml") + ":2: unknown key 'queue.dirr' \xe2\x80\x94 did you mean 'dir'?\n");
  expect_nothing_queued();
}

// Exit 0 means queued: an error in a setting the injector does not use costs no mail. It queues,
// and says once, on stderr (cron mails it) and in syslog, that the file is broken.
struct Unneeded {
  const char* name;
  std::string yaml;     // appended to the working configuration
  std::string problem;  // the warning's text after "<file>:"
};

class UnneededSettings : public Sendmail, public ::testing::WithParamInterface<Unneeded> {};

TEST_P(UnneededSettings, QueueAndWarnInOneLine) {
  const Unneeded& u = GetParam();
  std::string config = read_file(tmp_ / "nullq.yaml") + u.yaml;
  tmp_.write("nullq.yaml", config);
  for (const std::string mode : {"-t", "-bs"}) {
    auto r = mode == "-t" ? sendmail({"-t"}, "To: root\nSubject: cron\n\ncron output\n")
                          : sendmail({"-bs"}, "EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<root@example.org>\r\nDATA\r\n"
                                              "Subject: cron\r\n\r\ncron output\r\n.\r\nQUIT\r\n");
    EXPECT_EQ(r.code, 0) << u.name << " " << mode << ": " << r.err;
    EXPECT_EQ(r.err, "sendmail: warning: " + (tmp_ / "nullq.yaml") + ":" + u.problem +
                         " (a setting sendmail does not need; nullq-send refuses the file)\n")
        << u.name << " " << mode;
  }
  auto q = queued();
  ASSERT_EQ(q.size(), 2u) << u.name;
  for (const auto& m : q) {
    EXPECT_EQ(m.env.recipients, std::vector<std::string>{"root@example.org"}) << u.name;
    EXPECT_NE(m.message.find("\n\ncron output\n"), std::string::npos) << u.name;
  }
  // mailq still lists the queue, with the same warning.
  auto l = sendmail({}, "", "mailq");
  EXPECT_EQ(l.code, 0) << l.err;
  EXPECT_EQ(std::count(l.err.begin(), l.err.end(), '\n'), 1) << l.err;
  EXPECT_NE(l.out.find("root@example.org"), std::string::npos) << l.out;
  // A flush runs nullq-send, which refuses the file: sendmail -q says so itself.
  auto f = sendmail({"-q"}, "");
  EXPECT_EQ(f.code, 78) << f.err;
  EXPECT_EQ(f.err, "sendmail: " + (tmp_ / "nullq.yaml") + ":" + u.problem + "\n");
}

INSTANTIATE_TEST_SUITE_P(
    Config, UnneededSettings,
    ::testing::Values(
        Unneeded{"typo_in_smtp", "smtp: {dot_timout: 10m}\n",
                 "7: unknown key 'smtp.dot_timout' \xe2\x80\x94 did you mean 'dot_timeout'?"},
        Unneeded{"bad_log_level", "log: {level: loud}\n",
                 "7: 'log.level' must be error, warning, info or debug, not 'loud'"},
        Unneeded{"unknown_top_level_key", "smarthost: [qmtp://x]\n",
                 "7: unknown key 'smarthost' \xe2\x80\x94 did you mean 'smarthosts'?"},
        Unneeded{"bad_connection_bound", "delivery: {connections: 0}\n",
                 "7: 'delivery.connections' must be a whole number from 1 to 10000, not '0'"}),
    [](const auto& info) { return std::string(info.param.name); });

// The smart host list is nullq-send's: a relative password_file or a bad URL there costs no mail.
TEST_F(Sendmail, BrokenSmartHostQueuesAndWarns) {
  const std::string base = "hostname: box.example.org\ndomain: example.org\nqueue:\n  dir: " + spool() + "\n";
  struct Case {
    std::string hosts, problem;
  };
  for (const Case& c : {Case{"smarthosts:\n  - url: smtp://relay.example.org:587\n"
                             "    auth: {user: u, password_file: relay.secret}\n",
                             ":7: 'auth.password_file' must be an absolute path"},
                        Case{"smarthosts: [ftp://relay.example.org]\n",
                             ":5: smart host 'ftp://relay.example.org' must start with qmtp://, qmqp://, smtp://, "
                             "smtps:// or mx://"}}) {
    tmp_.write("nullq.yaml", base + c.hosts);
    auto r = sendmail({"-t"}, "To: root\n\ncron output\n");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "sendmail: warning: " + (tmp_ / "nullq.yaml") + c.problem +
                         " (a setting sendmail does not need; nullq-send refuses the file)\n");
  }
  EXPECT_EQ(queued().size(), 2u);
}

// A key the injector needs, broken: it cannot know what to do, so it refuses, in one line, as before.
TEST_F(Sendmail, BrokenSettingItNeedsIsExit78) {
  const std::string head = "hostname: box.example.org\nqueue:\n  dir: " + spool() + "\n";
  for (const std::string& bad : {head + "  max_message_size: lots\n", std::string("queue:\n  dir: relative\n"),
                                 std::string("hostname: 'bad host'\nqueue:\n  dir: " + spool() + "\n"),
                                 head + "queu: {}\n", head + "rewrite: {sender: 'a b'}\n",
                                 head + "smtp: {dot_timout: 1m}\nadmin: '<x>'\n"}) {
    tmp_.write("nullq.yaml", bad);
    auto r = sendmail({"-t"}, "To: root\n\ncron output\n");
    EXPECT_EQ(r.code, 78) << bad;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("sendmail: " + (tmp_ / "nullq.yaml") + ":", 0), 0u) << r.err;
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  }
  expect_nothing_queued();
}

// A file that gives nothing (missing, a YAML syntax error): the built-in settings, the compiled-in
// spool (nullq-queue without -d), and a warning. A stand-in queue program records what it gets.
class BuiltInSettings : public Sendmail {
 protected:
  void SetUp() override {
    Sendmail::SetUp();
    tmp_.write("queue-program", "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + (tmp_ / "args") + "\ncat > " +
                                    (tmp_ / "input") + "\necho 1234.fake\n");
    ASSERT_EQ(::chmod((tmp_ / "queue-program").c_str(), 0755), 0);
  }
  nullq::testing::Run inject(const std::string& config) {
    RunOptions o;
    o.input = "To: root\nSubject: cron\n\ncron output\n";
    o.env = {{"NULLQ_CONFIG", config}, {"NULLQ_QUEUE_PROGRAM", tmp_ / "queue-program"}};
    return run({program("nullq-sendmail"), "-t"}, o);
  }
  void expect_handed_over() {
    EXPECT_EQ(read_file(tmp_ / "args"), "-s\n" + std::to_string(25 * 1024 * 1024) + "\n");  // no -d
    std::string in = read_file(tmp_ / "input");
    EXPECT_NE(in.find("root@"), std::string::npos) << in;
    EXPECT_NE(in.find("\n\ncron output\n"), std::string::npos) << in;
  }
};

TEST_F(BuiltInSettings, MissingConfigQueuesAndWarns) {
  auto r = inject(tmp_ / "none.yaml");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "sendmail: warning: cannot read " + (tmp_ / "none.yaml") +
                       ": No such file or directory (going on with the built-in settings)\n");
  expect_handed_over();
}

TEST_F(BuiltInSettings, YamlSyntaxErrorQueuesAndWarns) {
  tmp_.write("broken.yaml", "hostname: box.example.org\nsmarthosts: [qmtp://x\n");
  auto r = inject(tmp_ / "broken.yaml");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("sendmail: warning: " + (tmp_ / "broken.yaml") + ":", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("YAML syntax error"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(going on with the built-in settings)\n"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  expect_handed_over();
}

TEST_F(Sendmail, FullDiskIsTemporaryAndNothingIsHalfWritten) {
  RunOptions o;
  o.input = "Subject: big\n\n" + std::string(90000, 'x') + "\n";
  o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}};
  o.file_size_limit = 8192;  // inherited by nullq-queue: writes past 8 KiB fail as on a full disk
  auto r = run({program("nullq-sendmail"), "-i", "a@y.org"}, o);
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(r.code == 75 || r.code == 65) << r.code << " " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  expect_nothing_queued();
}

TEST_F(Sendmail, MissingQueueProgramIsUnavailable) {
  auto r = sendmail({"-i", "a@y.org"}, plain, "sendmail", {{"NULLQ_QUEUE_PROGRAM", tmp_ / "no-such-program"}});
  EXPECT_EQ(r.code, 69) << r.err;
  EXPECT_NE(r.err.find("cannot run"), std::string::npos) << r.err;
  expect_nothing_queued();
}

}  // namespace

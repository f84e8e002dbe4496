// The `nullq` admin command against real spools: every command's output and its effect on files.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <regex>

#include "nullq/envelope.hpp"
#include "nullq/send/status_file.hpp"
#include "nullq/spool.hpp"
#include "process.hpp"

using nullq::testing::list_dir;
using nullq::testing::program;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

namespace {

class Admin : public ::testing::Test {
 protected:
  void SetUp() override {
    config("smarthosts: [qmtp://127.0.0.1:1]\n");
    ASSERT_TRUE(nullq::queue::ensure_spool(spool_).ok());
  }
  void config(const std::string& hosts) {
    tmp_.write("nullq.yaml", "hostname: box.example.org\n" + hosts + "queue:\n  dir: " + spool_.dir + "\n");
  }
  // Queues a message through the real nullq-queue, then accepts it into queue/ as the flusher would.
  std::string queued(const std::string& sender = "alice@example.org") {
    RunOptions o;
    o.input = nullq::envelope::encode_drop(sender, {"bob@example.net"}) + "Subject: hello\n\nbody\n";
    auto r = run({program("nullq-queue"), "-d", spool_.dir}, o);
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<nullq::spool::Quarantined> bad;
    auto acc = store_.accept_new(bad);
    EXPECT_TRUE(acc.ok());
    return r.out.substr(0, r.out.find('\n'));
  }
  nullq::testing::Run nullq(std::vector<std::string> args) {
    args.insert(args.begin(), program("nullq"));
    RunOptions o;
    o.env = {{"NULLQ_CONFIG", tmp_ / "nullq.yaml"}};
    return run(args, o);
  }
  TempDir tmp_;
  nullq::queue::Spool spool_{tmp_ / "spool"};
  nullq::spool::Store store_{spool_, 1 << 20};
};

TEST_F(Admin, ConfigMayComeBeforeOrAfterTheCommand) {
  queued();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {program("nullq"), "--config", tmp_ / "nullq.yaml", "status"},
           {program("nullq"), "status", "--config", tmp_ / "nullq.yaml"},
           {program("nullq"), "status", "--config=" + (tmp_ / "nullq.yaml")}}) {
    auto r = run(args);  // no NULLQ_CONFIG: only the option names the spool
    ASSERT_EQ(r.code, 0) << args[1] << " " << args[2] << ": " << r.err;
    EXPECT_NE(r.out.find("queued:   1 "), std::string::npos) << r.out;
  }
  auto missing = run({program("nullq"), "status", "--config"});
  EXPECT_EQ(missing.code, 64);
  EXPECT_EQ(missing.err.rfind("nullq: --config needs a file name\n", 0), 0u) << missing.err;
}

TEST_F(Admin, StatusCountsEachPlace) {
  std::string id = queued();
  ASSERT_EQ(::rename((spool_.queue() + "/" + id + ",0,0").c_str(), (spool_.queue() + "/" + id + ",2,4000000000").c_str()), 0);
  queued();
  auto r = nullq({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("queued:   2 (1 due now, 1 deferred)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("failed:   0"), std::string::npos);
  EXPECT_NE(r.out.find("flusher:  not running"), std::string::npos);
}

// With a running nullq-send (its status file, written by a live process: this one), `nullq status`
// shows each smart host's state, connections, rate and the reason it is held; with the writer gone
// it shows none (nothing it says would be current).
TEST_F(Admin, StatusAndCheckShowTheRunningFlushersHosts) {
  nullq::send::StatusSnapshot snap;
  snap.pid = ::getpid();
  snap.started_at = snap.written_at = std::time(nullptr);
  nullq::send::HostStatus held;
  held.host = "smtp://smtp.gmail.com:587";
  held.state = "held";
  held.until = std::time(nullptr) + 3600;
  held.concurrency = 2;
  held.rate = "30/min";
  held.reason = "quota: 550 5.4.5 Daily user sending limit exceeded";
  nullq::send::HostStatus up;
  up.host = "qmtp://hub.example.org";
  snap.hosts = {held, up};
  const std::string path = nullq::send::status_path(spool_);
  ASSERT_TRUE(nullq::send::write_atomically(path, nullq::send::encode_status(snap), 0644).ok());
  auto r = nullq({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("host: +smtp://smtp\\.gmail\\.com:587 held until [0-9-]+ [0-9:]+ "
                                                  "\\(2 connections, rate 30/min\\): quota: 550 5\\.4\\.5 Daily user "
                                                  "sending limit exceeded\n")))
      << r.out;
  EXPECT_NE(r.out.find("host:     qmtp://hub.example.org up\n"), std::string::npos) << r.out;

  // nullq check says it too, as a warning (the configuration is not at fault).
  auto c = nullq({"check"});
  EXPECT_NE(c.out.find("warning: smtp://smtp.gmail.com:587 is held by the running nullq-send until "), std::string::npos)
      << c.out;
  EXPECT_NE(c.out.find(": quota: 550 5.4.5 Daily user sending limit exceeded\n"), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find("warning: qmtp://hub.example.org"), std::string::npos) << c.out;

  snap.running = false;
  ASSERT_TRUE(nullq::send::write_atomically(path, nullq::send::encode_status(snap), 0644).ok());
  r = nullq({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("host:"), std::string::npos) << r.out;
  c = nullq({"check"});
  EXPECT_EQ(c.out.find("is held by the running nullq-send"), std::string::npos) << c.out;
}

TEST_F(Admin, ListAndShow) {
  std::string id = queued();
  auto l = nullq({"list"});
  ASSERT_EQ(l.code, 0) << l.err;
  EXPECT_NE(l.out.find(id + "  queued "), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("from <alice@example.org>"), std::string::npos);
  EXPECT_NE(l.out.find("to   <bob@example.net>"), std::string::npos);
  auto s = nullq({"show", id});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.out.rfind("NQ1\nF17:alice@example.org,\nT15:bob@example.net,\n", 0), 0u) << s.out;
  EXPECT_NE(s.out.find("\nSubject: hello\n\nbody\n"), std::string::npos);
}

TEST_F(Admin, FlushAndRetryMakeMessagesDue) {
  std::string a = queued(), b = queued();
  ASSERT_EQ(::rename((spool_.queue() + "/" + a + ",0,0").c_str(), (spool_.queue() + "/" + a + ",3,4000000000").c_str()), 0);
  auto f = nullq({"flush"});
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_NE(f.out.find("1 message(s) made due now"), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("no flusher is running; run nullq-send --once"), std::string::npos);
  auto names = list_dir(spool_.queue());
  EXPECT_EQ(names, (std::vector<std::string>{std::min(a + ",3,0", b + ",0,0"), std::max(a + ",3,0", b + ",0,0")}));

  ASSERT_TRUE(store_.move_to_failed({b, 0, 0, 0}, "Dgone").ok());
  auto r = nullq({"retry", b});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("(back from failed/)"), std::string::npos);
  EXPECT_TRUE(list_dir(spool_.failed()).empty());
}

TEST_F(Admin, BounceQueuesAReportAndRemovesTheMessage) {
  std::string id = queued();
  auto r = nullq({"bounce", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(id + " bounced to <alice@example.org>"), std::string::npos) << r.out;
  EXPECT_TRUE(list_dir(spool_.queue()).empty());
  auto fresh = list_dir(spool_.incoming());
  ASSERT_EQ(fresh.size(), 1u);
  std::string file = nullq::testing::read_file(spool_.incoming() + "/" + fresh[0]);
  std::size_t body = 0;
  auto env = nullq::envelope::decode(file, &body);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->sender, "");
  EXPECT_NE(file.find("bounced by the administrator"), std::string::npos);
}

TEST_F(Admin, BounceOfANullSenderMessageKeepsItInFailed) {
  std::string id = queued("");
  auto r = nullq({"bounce", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(list_dir(spool_.failed()), std::vector<std::string>{id});
  EXPECT_TRUE(list_dir(spool_.incoming()).empty());
}

TEST_F(Admin, DropDeletes) {
  std::string id = queued();
  auto r = nullq({"drop", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(list_dir(spool_.queue()).empty());
  auto again = nullq({"drop", id});
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.err, "nullq: no message " + id + "\n");
}

// The queue file name as `ls queue/` shows it (ID,ATTEMPTS,NEXT) stands for the id; an id that
// is well-formed but not in the spool is exit 1, one that no id can be is a usage error (64).
TEST_F(Admin, QueueFileNameStandsForItsId) {
  std::string id = queued();
  const std::string file = list_dir(spool_.queue()).at(0);
  ASSERT_EQ(file, id + ",0,0");
  auto s = nullq({"show", file});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("\nSubject: hello\n\nbody\n"), std::string::npos) << s.out;
  auto absent = nullq({"show", "1796152069853111P29695Rce4913d24ae3120e"});
  EXPECT_EQ(absent.code, 1);
  EXPECT_EQ(absent.err, "nullq: no message 1796152069853111P29695Rce4913d24ae3120e\n");
  auto bad = nullq({"show", id + ",x"});
  EXPECT_EQ(bad.code, 64);
  EXPECT_EQ(bad.err, "nullq: '" + id + ",x' is not a message id\n");
  ASSERT_EQ(::rename((spool_.queue() + "/" + file).c_str(), (spool_.queue() + "/" + id + ",3,4000000000").c_str()), 0);
  auto r = nullq({"retry", id + ",3,4000000000"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, id + " is due now\n");
  EXPECT_EQ(list_dir(spool_.queue()), std::vector<std::string>{id + ",3,0"});
  auto d = nullq({"drop", id + ",3,0"});
  ASSERT_EQ(d.code, 0) << d.err;
  EXPECT_TRUE(list_dir(spool_.queue()).empty());
}

struct Bad {
  std::vector<std::string> args;
  int code;
  const char* message;
};

TEST_F(Admin, BadInvocations) {
  for (const Bad& b : {Bad{{}, 64, "no command given"}, Bad{{"frob"}, 64, "unknown command 'frob'"},
                       Bad{{"show"}, 64, "show needs one message id"}, Bad{{"list", "x"}, 64, "list takes no arguments"},
                       Bad{{"drop", "../etc/passwd"}, 64, "is not a message id"}}) {
    auto r = nullq(b.args);
    EXPECT_EQ(r.code, b.code) << r.err;
    EXPECT_NE(r.err.find(b.message), std::string::npos) << r.err;
  }
  tmp_.write("nullq.yaml", "smarthosts: [ftp://x]\n");
  auto r = nullq({"status"});
  EXPECT_EQ(r.code, 78);
  EXPECT_NE(r.err.find("must start with qmtp://"), std::string::npos) << r.err;
}

// A listening socket on 127.0.0.1 (port 0, read back): its descriptor, or -1.
int listen_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

TEST_F(Admin, CheckConnectsToEachSmartHost) {
  std::uint16_t listening = 0;
  int fd = listen_loopback(listening);
  ASSERT_GE(fd, 0);
  std::string port = std::to_string(listening);
  config("smarthosts: [qmtp://127.0.0.1:" + port + "]\n");
  auto ok = nullq({"check"});
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("127.0.0.1:" + port + " ok"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("nullq check: OK"), std::string::npos);
  ::close(fd);  // now nothing listens there
  auto refused = nullq({"check"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("connection refused"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("nullq check: 1 problem(s)"), std::string::npos);
  config("");
  auto none = nullq({"check"});
  EXPECT_EQ(none.code, 78);
  EXPECT_NE(none.err.find("no smart hosts configured"), std::string::npos) << none.err;
}

// source: as nullq-send binds it: the connect test comes from that address (the listener sees
// it), a source that is not this machine's is the host's problem, and addresses of the other
// family are skipped, none left being a problem.
TEST_F(Admin, CheckConnectsFromTheSourceAddress) {
  std::uint16_t port = 0;
  int fd = listen_loopback(port);
  ASSERT_GE(fd, 0);
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  auto with_source = [&](const std::string& source) {
    config("smarthosts:\n  - {url: 'qmtp://" + addr + "', source: '" + source + "'}\n");
    return nullq({"check"});
  };
  auto ok = with_source("127.0.0.2");
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find(addr + " ok"), std::string::npos) << ok.out;
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  int c = ::accept(fd, reinterpret_cast<sockaddr*>(&peer), &plen);
  ASSERT_GE(c, 0) << "the connect test reached the listener";
  ::close(c);
  char text[INET_ADDRSTRLEN] = "";
  ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
  EXPECT_STREQ(text, "127.0.0.2");

  auto foreign = with_source("192.0.2.10");
  EXPECT_EQ(foreign.code, 1) << foreign.out;
  EXPECT_NE(foreign.out.find(addr + " cannot bind the source address 192.0.2.10: address not available\n"), std::string::npos) << foreign.out;
  EXPECT_NE(foreign.out.find("nullq check: 1 problem(s)"), std::string::npos) << foreign.out;

  auto v6 = with_source("::1");
  EXPECT_EQ(v6.code, 1) << v6.out;
  EXPECT_NE(v6.out.find(addr + " skipped: source ::1 is IPv6"), std::string::npos) << v6.out;
  EXPECT_NE(v6.out.find("no IPv6 address of 127.0.0.1 to reach from source ::1"), std::string::npos) << v6.out;
  EXPECT_NE(v6.out.find("nullq check: 1 problem(s)"), std::string::npos) << v6.out;
  ::close(fd);
}

}  // namespace

namespace {

TEST_F(Admin, HelpAndVersion) {
  for (const char* flag : {"--help", "-h"}) {
    auto r = run({program("nullq"), flag});
    EXPECT_EQ(r.code, 0) << flag << ": " << r.err;
    EXPECT_EQ(r.out.rfind("usage: nullq [--config PATH] status [--json]|list|check [--send ADDRESS]|flush\n", 0), 0u) << r.out;
    EXPECT_EQ(r.err, "");
  }
  auto v = run({program("nullq"), "--version"});
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_TRUE(std::regex_match(v.out, std::regex("nullq [0-9]+\\.[0-9]+\\.[0-9]+\n"))) << v.out;
  auto none = run({program("nullq")});
  EXPECT_EQ(none.code, 64) << "no command is still a usage error";
  EXPECT_EQ(none.err.rfind("nullq: no command given\nusage: nullq", 0), 0u) << none.err;
  EXPECT_EQ(nullq({"status", "--jsn"}).code, 64);
}

// Sets the last-error record of queued message `id` (queue/<id>,0,0) and the time it was written.
void record_error(nullq::spool::Store& store, const std::string& id, std::uint32_t attempts, std::int64_t next,
                  const std::string& error, std::time_t at) {
  nullq::spool::Entry e{id, 0, 0, 0};
  auto loaded = store.load(e);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  loaded->envelope.last_error = error;
  auto r = store.reschedule(e, attempts, next, &*loaded);
  ASSERT_TRUE(r.ok()) << r.error().message();
  timespec times[2] = {{at, 0}, {at, 0}};
  std::string path = store.spool().queue() + "/" + r->file_name();
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

TEST_F(Admin, StatusJsonForMonitoring) {
  config("smarthosts:\n  - qmtp://127.0.0.1:1\n  - qmqp://[::1]:2\n");
  auto empty = nullq({"status", "--json"});
  ASSERT_EQ(empty.code, 0) << empty.err;
  EXPECT_EQ(empty.out, "{\"spool\":\"" + spool_.dir + "\",\"new\":0,\"queued\":0,\"due\":0,\"deferred\":0,\"failed\":0,"
                       "\"oldest_age_seconds\":null,\"flusher_running\":false,\"smarthosts\":["
                       "{\"host\":\"qmtp://127.0.0.1:1\",\"messages_with_error\":0,\"last_error\":null,\"last_error_at\":null},"
                       "{\"host\":\"qmqp://[::1]:2\",\"messages_with_error\":0,\"last_error\":null,\"last_error_at\":null}]}\n");

  const std::time_t before = std::time(nullptr);
  std::string a = queued(), b = queued();
  queued();
  record_error(store_, a, 1, 4000000000, "127.0.0.1:1: connection refused", 1700000000);
  if (HasFatalFailure()) return;
  record_error(store_, b, 2, 0, "qmtp://127.0.0.1:1 (127.0.0.1:1): Zbusy \"now\" \\ later", 1700000100);
  if (HasFatalFailure()) return;
  auto r = nullq({"status", "--json"});
  const std::time_t after = std::time(nullptr);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string head = "{\"spool\":\"" + spool_.dir + "\",\"new\":0,\"queued\":3,\"due\":2,\"deferred\":1,\"failed\":0,"
                           "\"oldest_age_seconds\":";
  ASSERT_EQ(r.out.compare(0, head.size(), head), 0) << r.out;
  std::size_t end = 0;
  long age = std::stol(r.out.substr(head.size()), &end);
  EXPECT_GE(age, 0);
  EXPECT_LE(age, static_cast<long>(after - before) + 1) << "the messages were queued during this test";
  EXPECT_EQ(r.out.substr(head.size() + end),
            ",\"flusher_running\":false,\"smarthosts\":["
            "{\"host\":\"qmtp://127.0.0.1:1\",\"messages_with_error\":2,"
            "\"last_error\":\"qmtp://127.0.0.1:1 (127.0.0.1:1): Zbusy \\\"now\\\" \\\\ later\",\"last_error_at\":1700000100},"
            "{\"host\":\"qmqp://[::1]:2\",\"messages_with_error\":0,\"last_error\":null,\"last_error_at\":null}]}\n");
}

}  // namespace

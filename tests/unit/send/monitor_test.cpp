// The status file's format and atomic write, the spool census, and the Prometheus text of the
// counters, checked by Prometheus's own parser (promtool, from Debian's prometheus package).
#include <gtest/gtest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "nullq/census.hpp"
#include "nullq/send/metrics.hpp"
#include "nullq/send/status_file.hpp"

namespace nullq::send {
namespace {

struct Tmp {
  std::string path;
  Tmp() {
    char t[] = "/tmp/nullq-monitor-unit.XXXXXX";
    path = ::mkdtemp(t);
  }
  ~Tmp() { [[maybe_unused]] int rc = std::system(("rm -rf '" + path + "'").c_str()); }
};

void put(const std::string& path, std::size_t bytes) {
  std::ofstream(path, std::ios::binary) << std::string(bytes, 'x');
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// promtool check metrics on `text`: its exit code and what it said. promtool is a test requirement
// (scripts/deps.sh installs the prometheus package): missing, the test fails.
std::pair<int, std::string> promtool(const std::string& text) {
  Tmp t;
  std::ofstream(t.path + "/in.prom") << text;
  const std::string cmd = "promtool check metrics < '" + t.path + "/in.prom' > '" + t.path + "/out' 2>&1";
  int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(t.path + "/out")};
}

TEST(Census, CountsEachStateWithFileBytesAndTheOldestWaiting) {
  Tmp t;
  queue::Spool s{t.path};
  for (auto d : {s.incoming(), s.queue(), s.failed()}) ::mkdir(d.c_str(), 0700);
  put(s.incoming() + "/1700000100000000P1R00", 100);
  put(s.queue() + "/1700000050000000P1R01,0,0", 1000);
  put(s.queue() + "/1700000200000000P1R02,2,1700009999", 3000);
  put(s.queue() + "/junk name", 5);  // not a queue file: not counted
  put(s.failed() + "/1600000000000000P1R03", 7);
  auto c = queue::take_census(s);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->incoming.messages, 1u);
  EXPECT_EQ(c->incoming.bytes, 100u);
  EXPECT_EQ(c->queued.messages, 2u);
  EXPECT_EQ(c->queued.bytes, 4000u);
  EXPECT_EQ(c->deferred.messages, 1u) << "tried at least once";
  EXPECT_EQ(c->deferred.bytes, 3000u);
  EXPECT_EQ(c->failed.messages, 1u);
  EXPECT_EQ(c->oldest_queued_at, 1700000050) << "failed/ is not waiting";
  EXPECT_EQ(c->waiting().messages, 3u);
}

TEST(Census, AQueueDirectoryThatCannotBeReadIsAnError) {
  Tmp t;
  auto c = queue::take_census(queue::Spool{t.path + "/nothing"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ENOENT);
}

StatusSnapshot sample() {
  StatusSnapshot s;
  s.pid = 1234;
  s.started_at = 1700000000;
  s.written_at = 1700000300;
  s.census.incoming = {1, 10};
  s.census.queued = {3, 3000};
  s.census.deferred = {2, 2000};
  s.census.failed = {4, 400};
  s.census.oldest_queued_at = 1700000000;
  HostStatus up;
  up.host = "qmtp://relay.example.org";
  HostStatus limited;
  limited.host = "smtp://smtp.example.net:587";
  limited.state = "slowed";
  limited.until = 1700000360;
  limited.last_error = "temporary";
  limited.concurrency = 2;
  limited.rate = "30/min";
  limited.reason = "421 too many connections";
  s.hosts = {up, limited};
  return s;
}

TEST(StatusFile, RoundTripsEveryFieldAndOmitsTheLimitsWhileUnset) {
  const std::string text = encode_status(sample());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\"oldest_age_seconds\":300"), std::string::npos) << text;
  // The first host has no limits: the keys are not there at all.
  const std::string first = text.substr(text.find("qmtp://relay"), text.find("smtp://smtp") - text.find("qmtp://relay"));
  EXPECT_EQ(first.find("concurrency"), std::string::npos) << first;
  EXPECT_EQ(first.find("rate"), std::string::npos) << first;
  EXPECT_EQ(first.find("reason"), std::string::npos) << first;
  EXPECT_NE(text.find("\"concurrency\":2"), std::string::npos) << text;
  EXPECT_NE(text.find("\"rate\":\"30/min\""), std::string::npos) << text;
  auto back = decode_status(text);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->pid, 1234);
  EXPECT_TRUE(back->running);
  EXPECT_EQ(back->census.queued.bytes, 3000u);
  EXPECT_EQ(back->census.deferred.messages, 2u);
  EXPECT_EQ(back->census.failed.messages, 4u);
  EXPECT_EQ(back->census.oldest_queued_at, 1700000000);
  ASSERT_EQ(back->hosts.size(), 2u);
  EXPECT_EQ(back->hosts[0].state, "up");
  EXPECT_FALSE(back->hosts[0].until);
  EXPECT_FALSE(back->hosts[0].concurrency);
  EXPECT_EQ(back->hosts[1].state, "slowed");
  EXPECT_EQ(back->hosts[1].until, 1700000360);
  EXPECT_EQ(back->hosts[1].concurrency, 2u);
  EXPECT_EQ(back->hosts[1].rate, "30/min");
  EXPECT_EQ(back->hosts[1].reason, "421 too many connections");
  EXPECT_EQ(back->hosts[1].last_error, "temporary");
}

TEST(StatusFile, MalformedFilesAreErrorsNotCrashes) {
  for (std::string bad : {"", "{", "[]", "{\"version\":1}", "{\"version\":2,\"pid\":1}", "null",
                          "{\"version\":1,\"pid\":\"x\",\"running\":true}"}) {
    auto r = decode_status(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(StatusFile, WrittenAtomicallyWorldReadableWhateverTheUmask) {
  Tmp t;
  const mode_t old = ::umask(077);
  Status st = write_atomically(t.path + "/status.json", "first\n", 0644);
  ::umask(old);
  ASSERT_TRUE(st.ok()) << st.error().message();
  struct stat sb {};
  ASSERT_EQ(::stat((t.path + "/status.json").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0644u);
  ASSERT_TRUE(write_atomically(t.path + "/status.json", "second\n", 0644).ok());
  EXPECT_EQ(slurp(t.path + "/status.json"), "second\n");
  // Nothing left behind: the temporary file was renamed.
  std::string ls;
  for (auto* d = ::opendir(t.path.c_str()); d;) {
    auto* e = ::readdir(d);
    if (!e) {
      ::closedir(d);
      break;
    }
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ls += std::string(e->d_name) + " ";
  }
  EXPECT_EQ(ls, "status.json ");
  // A directory that is not there: an error, nothing written.
  EXPECT_FALSE(write_atomically(t.path + "/no/such.json", "x", 0644).ok());
}

TEST(StatusFile, ReaderTellsARunningWriterFromAStoppedOrAGoneOne) {
  Tmp t;
  queue::Spool s{t.path};
  EXPECT_EQ(read_status(s).liveness, Liveness::absent);
  EXPECT_EQ(read_status(s).problem, "") << "no file: nothing to report but its absence";
  StatusSnapshot snap = sample();
  snap.pid = ::getpid();
  ASSERT_TRUE(write_atomically(status_path(s), encode_status(snap), 0644).ok());
  EXPECT_EQ(read_status(s).liveness, Liveness::running);
  snap.running = false;
  ASSERT_TRUE(write_atomically(status_path(s), encode_status(snap), 0644).ok());
  EXPECT_EQ(read_status(s).liveness, Liveness::stopped);
  snap.running = true;
  snap.pid = 0x7ffffff0;  // above pid_max: no such process
  ASSERT_TRUE(write_atomically(status_path(s), encode_status(snap), 0644).ok());
  EXPECT_EQ(read_status(s).liveness, Liveness::stale);
  ASSERT_TRUE(write_atomically(status_path(s), "{\"version\":1", 0644).ok());
  auto r = read_status(s);
  EXPECT_EQ(r.liveness, Liveness::absent);
  EXPECT_NE(r.problem.find("malformed status file"), std::string::npos) << r.problem;
}

client::Outcome outcome(std::initializer_list<proto::Verdict> verdicts) {
  client::Outcome o;
  for (auto v : verdicts) o.replies.push_back(proto::Reply{v, "text"});
  return o;
}

TEST(Metrics, CountsByHostAndProtocolAndClassifiesTheLastError) {
  Metrics m(1700000000);
  m.set_hosts({"qmtp://a.example", "smtp://b.example:587"});
  m.attempt("qmtp://a.example", outcome({proto::Verdict::ok, proto::Verdict::ok, proto::Verdict::permanent}));
  EXPECT_EQ(m.last_error("qmtp://a.example"), "permanent");
  m.attempt("qmtp://a.example", outcome({proto::Verdict::ok, proto::Verdict::temporary}));
  EXPECT_EQ(m.last_error("qmtp://a.example"), "temporary");
  m.attempt("qmtp://a.example", outcome({proto::Verdict::ok}));
  EXPECT_EQ(m.last_error("qmtp://a.example"), "none");
  client::Outcome refused = outcome({proto::Verdict::temporary, proto::Verdict::temporary});
  refused.connect_failed = true;
  m.attempt("smtp://b.example:587", refused);
  EXPECT_EQ(m.last_error("smtp://b.example:587"), "connect");
  client::Outcome tls = outcome({proto::Verdict::temporary});
  tls.setup_failed = tls.tls_failed = true;
  m.attempt("smtp://b.example:587", tls);
  EXPECT_EQ(m.last_error("smtp://b.example:587"), "tls");
  client::Outcome auth = outcome({proto::Verdict::temporary});
  auth.setup_failed = auth.auth_failed = true;
  m.attempt("smtp://b.example:587", auth);
  EXPECT_EQ(m.last_error("smtp://b.example:587"), "auth");
  client::Outcome token = outcome({proto::Verdict::temporary});
  token.setup_failed = token.token_unavailable = true;
  m.attempt("smtp://b.example:587", token);
  EXPECT_EQ(m.last_error("smtp://b.example:587"), "token");
  m.delivered("qmtp://a.example", "qmtp", 3, 1700000100);
  m.bounced("qmtp://a.example", "qmtp", 1);
  m.deferred("qmtp://a.example", "qmtp", 2);
  m.route_failed("smtp://b.example:587", false);
  EXPECT_EQ(m.last_error("smtp://b.example:587"), "connect");

  queue::Census c;
  c.queued = {2, 2048};
  c.deferred = {1, 1024};
  c.oldest_queued_at = 1700000000;
  const std::string text = m.render(c, 1700000300);
  auto [rc, said] = promtool(text);
  EXPECT_EQ(rc, 0) << "promtool check metrics: " << said << "\n" << text;
  for (const char* line : {
           "nullq_queue_messages{state=\"queued\"} 1\n",
           "nullq_queue_messages{state=\"deferred\"} 1\n",
           "nullq_queue_bytes{state=\"queued\"} 1024\n",
           "nullq_queue_oldest_message_age_seconds 300\n",
           "nullq_delivered_recipients_total{host=\"qmtp://a.example\",protocol=\"qmtp\"} 3\n",
           "nullq_bounced_recipients_total{host=\"qmtp://a.example\",protocol=\"qmtp\"} 1\n",
           "nullq_deferred_recipients_total{host=\"qmtp://a.example\",protocol=\"qmtp\"} 2\n",
           "nullq_delivery_attempts_total{class=\"2xx\"} 4\n",
           "nullq_delivery_attempts_total{class=\"4xx\"} 1\n",
           "nullq_delivery_attempts_total{class=\"5xx\"} 1\n",
           "nullq_delivery_attempts_total{class=\"none\"} 5\n",
           "nullq_connection_failures_total{host=\"smtp://b.example:587\"} 1\n",
           "nullq_connection_failures_total{host=\"qmtp://a.example\"} 0\n",
           "nullq_tls_failures_total{host=\"smtp://b.example:587\"} 1\n",
           "nullq_auth_failures_total{host=\"smtp://b.example:587\"} 1\n",
           "nullq_last_delivery_timestamp_seconds{host=\"qmtp://a.example\"} 1700000100\n",
           "nullq_start_time_seconds 1700000000\n",
       })
    EXPECT_NE(text.find(line), std::string::npos) << line << " in:\n" << text;
  EXPECT_NE(text.find("nullq_build_info{version=\""), std::string::npos) << text;
  EXPECT_EQ(text.find("nullq_last_delivery_timestamp_seconds{host=\"smtp"), std::string::npos)
      << "no delivery yet, no sample";
}

TEST(Metrics, HostLabelsCarryNoUserinfoAndAreEscaped) {
  EXPECT_EQ(host_label("smtp://user:secret@relay.example.org:587"), "smtp://relay.example.org:587");
  EXPECT_EQ(host_label("qmtp://relay.example.org"), "qmtp://relay.example.org");
  Metrics m;
  m.set_hosts({"qmtp://we\"ird\\host"});
  const std::string text = m.render({}, 0);
  EXPECT_NE(text.find("host=\"qmtp://we\\\"ird\\\\host\""), std::string::npos) << text;
  EXPECT_EQ(promtool(text).first, 0) << text;
}

TEST(Metrics, QueueGaugesAloneParseToo) {
  queue::Census c;
  c.incoming = {2, 3000};
  c.failed = {1, 10};
  const std::string text = render_queue(c, 0);
  EXPECT_EQ(promtool(text).first, 0) << text;
  EXPECT_NE(text.find("nullq_queue_messages{state=\"new\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("nullq_queue_oldest_message_age_seconds 0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace nullq::send

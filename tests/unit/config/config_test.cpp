#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "nullq/config.hpp"
#include "parse.hpp"

using namespace nullq::config;
using namespace std::chrono_literals;

namespace {

using nullq::config::testing::err;
using nullq::config::testing::ok;

TEST(Config, OneSmartHostIsComplete) {
  Config c = ok("smarthosts:\n  - qmtp://relay.example.org\n");
  ASSERT_EQ(c.smarthosts.size(), 1u);
  EXPECT_EQ(c.smarthosts[0].protocol, Protocol::qmtp);
  EXPECT_EQ(c.smarthosts[0].host, "relay.example.org");
  EXPECT_EQ(c.smarthosts[0].effective_port(), 209);
  EXPECT_EQ(c.queue_dir, "/var/spool/nullq");
  EXPECT_EQ(c.lifetime, 7 * 24h);
  EXPECT_EQ(c.keep_failed, 30 * 24h);
  EXPECT_EQ(c.retry_min, 60s);
  EXPECT_EQ(c.retry_max, 3600s);
  EXPECT_EQ(c.max_message_size, 25u * 1024 * 1024);
  EXPECT_EQ(c.queue_min_free, 100u * 1024 * 1024);
  EXPECT_TRUE(validate_for_delivery(c).ok());
}

TEST(Config, EmptyFileIsValidButHasNoRoute) {
  Config c = ok("");
  EXPECT_TRUE(c.smarthosts.empty());
  auto s = validate_for_delivery(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().detail, "nullq.yaml: no smart hosts configured ('smarthosts')");
}

TEST(Config, FullSettings) {
  Config c = ok(R"(hostname: box.example.org
domain: example.org
idhost: ids.example.org
admin: ops@example.org
rewrite:
  sender: noreply@example.org
  header_from: true
smarthosts:
  - qmqp://[2001:db8::1]:6280
  - url: qmtp://10.0.0.1
    connections: 2
    pipeline: 16
  - mx://example.net
queue:
  dir: /tmp/spool/
  lifetime: 2d
  keep_failed: off
  retry_min: 30s
  retry_max: 2h
  max_message_size: 10MB
  min_free: 1GiB
delivery:
  connections: 8
  connect_timeout: 5s
  timeout: 90s
  session_max: 30m
  cooldown: off
  memory: 8MiB
bounce:
  enabled: false
  admin: pm@example.org
  delay_warning: 4h
log:
  level: debug
)");
  EXPECT_EQ(c.hostname, "box.example.org");
  EXPECT_EQ(c.domain, "example.org");
  EXPECT_EQ(c.idhost, "ids.example.org");
  EXPECT_EQ(c.admin, "ops@example.org");
  EXPECT_EQ(c.rewrite_sender, "noreply@example.org");
  EXPECT_TRUE(c.rewrite_header_from);
  ASSERT_EQ(c.smarthosts.size(), 3u);
  EXPECT_EQ(c.smarthosts[0].protocol, Protocol::qmqp);
  EXPECT_EQ(c.smarthosts[0].host, "2001:db8::1");
  EXPECT_EQ(c.smarthosts[0].port, 6280);
  EXPECT_EQ(c.smarthosts[1].connections, 2u);
  EXPECT_EQ(c.smarthosts[1].pipeline, 16u);
  EXPECT_EQ(c.smarthosts[2].protocol, Protocol::mx);
  EXPECT_EQ(c.smarthosts[2].host, "example.net");
  EXPECT_EQ(c.queue_dir, "/tmp/spool");
  EXPECT_EQ(c.lifetime, 48h);
  EXPECT_EQ(c.keep_failed, 0s);
  EXPECT_EQ(c.retry_min, 30s);
  EXPECT_EQ(c.retry_max, 2h);
  EXPECT_EQ(c.max_message_size, 10'000'000u);
  EXPECT_EQ(c.queue_min_free, 1024u * 1024 * 1024);
  EXPECT_EQ(c.connections, 8u);
  EXPECT_EQ(c.connect_timeout, 5s);
  EXPECT_EQ(c.io_timeout, 90s);
  EXPECT_EQ(c.session_max, 30min);
  EXPECT_EQ(c.cooldown, 0s);
  EXPECT_EQ(c.memory, 8u * 1024 * 1024);
  EXPECT_FALSE(c.bounce_enabled);
  EXPECT_EQ(c.bounce_admin, "pm@example.org");
  EXPECT_EQ(c.delay_warning, 4h);
  EXPECT_EQ(c.log_level, LogLevel::debug);
}

struct Bad {
  const char* name;
  const char* yaml;
  const char* want;
};

class ConfigRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(ConfigRejects, WithFileLineAndKey) { EXPECT_EQ(err(GetParam().yaml), GetParam().want); }

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigRejects,
    ::testing::Values(
        Bad{"typo_top", "hostname: a.b\n\nsmarthost:\n  - qmtp://x\n",
            "nullq.yaml:3: unknown key 'smarthost' \xe2\x80\x94 did you mean 'smarthosts'?"},
        Bad{"typo_nested", "queue:\n  lifetme: 7d\n",
            "nullq.yaml:2: unknown key 'queue.lifetme' \xe2\x80\x94 did you mean 'lifetime'?"},
        Bad{"unknown_far", "colour: blue\n", "nullq.yaml:1: unknown key 'colour'"},
        Bad{"not_a_map", "- a\n- b\n", "nullq.yaml:1: the file must be a mapping of settings"},
        Bad{"syntax", "smarthosts: [qmtp://x\n", "nullq.yaml:2: YAML syntax error: end of sequence flow not found"},
        Bad{"bad_scheme", "smarthosts:\n  - ftp://relay\n",
            "nullq.yaml:2: smart host 'ftp://relay' must start with qmtp://, qmqp://, smtp://, smtps:// or mx://"},
        Bad{"no_host", "smarthosts:\n  - qmtp://\n", "nullq.yaml:2: smart host 'qmtp://' has no host"},
        Bad{"bad_port", "smarthosts:\n  - qmtp://relay:99999\n", "nullq.yaml:2: smart host 'qmtp://relay:99999': bad port '99999'"},
        Bad{"port_zero", "smarthosts:\n  - qmqp://relay:0\n", "nullq.yaml:2: smart host 'qmqp://relay:0': bad port '0'"},
        Bad{"unbracketed_v6", "smarthosts:\n  - qmtp://::1:209\n",
            "nullq.yaml:2: smart host 'qmtp://::1:209': write IPv6 addresses in brackets, e.g. qmtp://[::1]:209"},
        Bad{"mx_port", "smarthosts:\n  - mx://example.org:25\n", "nullq.yaml:2: smart host 'mx://example.org:25': mx:// takes no port"},
        Bad{"empty_mx", "smarthosts:\n  - mx://\n", "nullq.yaml:2: smart host 'mx://' has no host"},
        Bad{"bad_hostname", "smarthosts:\n  - qmtp://re lay\n", "nullq.yaml:2: smart host 'qmtp://re lay': bad host name"},
        Bad{"hosts_not_list", "smarthosts: qmtp://relay\n",
            "nullq.yaml:1: 'smarthosts' must be a list, e.g. [qmtp://relay.example.org]"},
        Bad{"host_map_key", "smarthosts:\n  - url: qmtp://r\n    pipelin: 3\n",
            "nullq.yaml:3: unknown key 'smarthosts[].pipelin' \xe2\x80\x94 did you mean 'pipeline'?"},
        Bad{"zero_connections", "delivery:\n  connections: 0\n",
            "nullq.yaml:2: 'delivery.connections' must be a whole number from 1 to 10000, not '0'"},
        Bad{"negative_pipeline", "smarthosts:\n  - url: qmtp://r\n    pipeline: -1\n",
            "nullq.yaml:3: 'pipeline' must be a whole number from 1 to 10000, not '-1'"},
        Bad{"bare_number_duration", "queue:\n  lifetime: 7\n",
            "nullq.yaml:2: 'queue.lifetime': a duration needs a unit (s, m, h, d): 7"},
        Bad{"bare_number_timeout", "smtp:\n  command_timeout: 300\n",
            "nullq.yaml:2: 'smtp.command_timeout': a duration needs a unit (s, m, h, d): 300"},
        Bad{"tab_indent_list", "smarthosts:\n\t- qmtp://x\n", "nullq.yaml:2: tabs are not allowed for indentation (use spaces)"},
        Bad{"tab_indent_map", "hostname: a.b\nqueue:\n  dir: /x\n\tlifetime: 7d\n",
            "nullq.yaml:4: tabs are not allowed for indentation (use spaces)"},
        Bad{"port_key_in_host", "smarthosts:\n  - url: smtp://relay.example.net\n    port: 587\n",
            "nullq.yaml:3: unknown key 'smarthosts[].port' \xe2\x80\x94 put the port in the URL: smtp://relay.example.net:587"},
        Bad{"port_key_top", "smarthosts: [smtp://relay.example.net]\nport: 587\n",
            "nullq.yaml:2: unknown key 'port' \xe2\x80\x94 a smart host's port goes in its URL (smtp://host:587)"},
        Bad{"bad_duration", "queue:\n  lifetime: 7 days\n",
            "nullq.yaml:2: 'queue.lifetime': bad duration '7 days' (use e.g. 90s, 10m, 1h, 7d)"},
        Bad{"huge_duration", "queue:\n  lifetime: 99999999999999999999d\n",
            "nullq.yaml:2: 'queue.lifetime': bad duration '99999999999999999999d' (use e.g. 90s, 10m, 1h, 7d)"},
        Bad{"too_long_duration", "queue:\n  lifetime: 99999999d\n", "nullq.yaml:2: 'queue.lifetime': duration '99999999d' is too large"},
        Bad{"zero_timeout", "delivery:\n  timeout: 0s\n", "nullq.yaml:2: 'delivery.timeout' must be longer than 0s"},
        Bad{"bad_keep_failed", "queue:\n  keep_failed: forever\n",
            "nullq.yaml:2: 'queue.keep_failed': bad duration 'forever' (use e.g. 90s, 10m, 1h, 7d)"},
        Bad{"retry_order", "queue:\n  retry_min: 2h\n  retry_max: 1h\n",
            "nullq.yaml:2: 'queue.retry_min' is longer than 'queue.retry_max'"},
        Bad{"bad_size", "queue:\n  max_message_size: 25 furlongs\n",
            "nullq.yaml:2: 'queue.max_message_size': bad size '25 furlongs' (use e.g. 25MiB, 10MB, 1000000)"},
        Bad{"zero_memory", "delivery:\n  memory: 0\n", "nullq.yaml:2: 'delivery.memory' must be larger than 0"},
        Bad{"bad_memory", "delivery:\n  memory: lots\n",
            "nullq.yaml:2: 'delivery.memory': bad size 'lots' (use e.g. 25MiB, 10MB, 1000000)"},
        Bad{"relative_dir", "queue:\n  dir: spool\n", "nullq.yaml:2: 'queue.dir' must be an absolute path"},
        Bad{"bad_bool", "bounce:\n  enabled: maybe\n", "nullq.yaml:2: 'bounce.enabled' must be true or false, not 'maybe'"},
        Bad{"bad_level", "log:\n  level: loud\n", "nullq.yaml:2: 'log.level' must be error, warning, info or debug, not 'loud'"},
        Bad{"bad_admin", "admin: Ops <ops@example.org>\n",
            "nullq.yaml:1: 'admin' must be a plain mail address like user@example.org, not 'Ops <ops@example.org>'"},
        Bad{"list_for_scalar", "hostname: [a, b]\n", "nullq.yaml:1: 'hostname' must be a single value"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Config, SyntaxErrorNamesLine) {
  std::string e = err("queue:\n  dir: /x\n  lifetime: [7d\n");
  EXPECT_EQ(e.rfind("nullq.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
}

struct Dur {
  const char* text;
  long long secs;  // -1 = error
};

TEST(Config, Durations) {
  for (Dur d : {Dur{"90s", 90}, Dur{"10m", 600}, Dur{"1h", 3600}, Dur{"7d", 604800}, Dur{"45", -1}, Dur{"0", 0}, Dur{"", -1},
                Dur{"s", -1}, Dur{"-5s", -1}, Dur{"1.5h", -1}, Dur{"5w", -1}, Dur{"99999999999999999999d", -1}}) {
    auto r = parse_duration(d.text);
    if (d.secs < 0) EXPECT_FALSE(r.ok()) << d.text;
    else {
      ASSERT_TRUE(r.ok()) << d.text;
      EXPECT_EQ(r->count(), d.secs) << d.text;
    }
  }
}

TEST(Config, Sizes) {
  struct S {
    const char* text;
    long long bytes;
  };
  for (S s : {S{"1000000", 1000000}, S{"10KB", 10000}, S{"25MiB", 25LL << 20}, S{"1GiB", 1LL << 30}, S{"2GB", 2000000000},
              S{"7B", 7}, S{"MiB", -1}, S{"-1", -1}, S{"1.5MiB", -1}, S{"99999999999999999999", -1}}) {
    auto r = parse_size(s.text);
    if (s.bytes < 0) EXPECT_FALSE(r.ok()) << s.text;
    else {
      ASSERT_TRUE(r.ok()) << s.text;
      EXPECT_EQ(*r, static_cast<std::uint64_t>(s.bytes)) << s.text;
    }
  }
}

TEST(Config, ExampleConfigInEtcParses) {
  const char* root = std::getenv("NULLQ_SOURCE_ROOT");
  ASSERT_NE(root, nullptr);
  auto c = load(std::string(root) + "/etc/nullq.yaml");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  ASSERT_EQ(c->smarthosts.size(), 1u);
  EXPECT_EQ(c->smarthosts[0].text, "qmtp://relay.example.org");
  EXPECT_FALSE(c->hostname.empty());
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nullq-config-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  std::string dir_;
};

TEST_F(TempDir, MissingFileIsOneLine) {
  auto c = load(dir_ + "/nope.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().detail, "cannot read " + dir_ + "/nope.yaml: No such file or directory");
}

TEST_F(TempDir, DirectoryIsRejected) {
  auto c = load(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().detail, "cannot read " + dir_ + ": not a regular file");
}

TEST_F(TempDir, ErrorsNameTheFile) {
  std::string p = write("n.yaml", "smarthosts:\n  - qmtp://ok\nqueue:\n  dirr: /x\n");
  auto c = load(p);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().detail, p + ":4: unknown key 'queue.dirr' \xe2\x80\x94 did you mean 'dir'?");
}

TEST_F(TempDir, HostnameDefaultsFromMailname) {
  std::string p = write("mailname", "mx.example.com\n");
  Config c;
  fill_defaults(c, p);
  EXPECT_EQ(c.hostname, "mx.example.com");
  EXPECT_EQ(c.domain, "mx.example.com");
  EXPECT_EQ(c.idhost, "mx.example.com");
  Config d;
  d.domain = "example.com";
  fill_defaults(d, dir_ + "/missing");
  EXPECT_FALSE(d.hostname.empty());
  EXPECT_EQ(d.domain, "example.com");
}

TEST_F(TempDir, DefaultPathHonoursEnvironment) {
  ::setenv("NULLQ_CONFIG", "/x/y.yaml", 1);
  EXPECT_EQ(default_path(), "/x/y.yaml");
  ::setenv("NULLQ_CONFIG", "", 1);
  EXPECT_EQ(default_path().substr(default_path().size() - 16), "nullq/nullq.yaml");
  ::unsetenv("NULLQ_CONFIG");
}

// Bytes of the file that reach an error line are escaped (\xNN), never echoed raw.
bool printable_line(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c >= 0x7f) return false;
  return true;
}

TEST(Config, BinaryGarbageGivesAnEscapedErrorLine) {
  std::string e = err(std::string("smarthosts: [qmtp://x]\nhostname: \"a\\\x1f\"\n"));
  EXPECT_EQ(e, "nullq.yaml:2: YAML syntax error: unknown escape character: \\x1f");
  std::string junk;
  for (int i = 0; i < 256; ++i) junk.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  EXPECT_TRUE(printable_line(err(junk))) << err(junk);
}

TEST(Config, KeysAndValuesWithControlBytesAreEscaped) {
  EXPECT_EQ(err("smarthosts: [qmtp://x]\n\"\x1b[2Jsmarthost\": 1\n"),
            "nullq.yaml:2: unknown key '\\x1b[2Jsmarthost'");
  EXPECT_EQ(err("smarthosts: [qmtp://x]\nlog:\n  level: \"debug\\r\\x1b[1A\"\n"),
            "nullq.yaml:3: 'log.level' must be error, warning, info or debug, not 'debug\\x0d\\x1b[1A'");
}

TEST_F(TempDir, FileNameWithControlBytesIsEscaped) {
  auto c = load(dir_ + "/evil\r\x1b[1A.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().detail, "cannot read " + dir_ + "/evil\\x0d\\x1b[1A.yaml: No such file or directory");
}

// nullq-sendmail's reading: only the settings it needs to queue can stop it.
TEST(Config, InjectorReadingKeepsToTheSettingsItNeeds) {
  auto typo = parse_for_injector("queue:\n  dir: /srv/q\n  max_message_size: 1MiB\nsmtp: {dot_timout: 10m}\n"
                                 "smarthosts: [ftp://x]\n", "nullq.yaml");
  ASSERT_TRUE(typo.ok()) << typo.error().detail;
  // The first error, the same one nullq-send refuses the file with.
  EXPECT_EQ(typo->problem, "nullq.yaml:5: smart host 'ftp://x' must start with qmtp://, qmqp://, smtp://, smtps:// or mx://");
  EXPECT_EQ(parse_only("queue:\n  dir: /srv/q\n  max_message_size: 1MiB\nsmtp: {dot_timout: 10m}\nsmarthosts: [ftp://x]\n",
                       "nullq.yaml").error().detail, typo->problem);
  EXPECT_FALSE(typo->defaults);
  EXPECT_EQ(typo->config.queue_dir, "/srv/q");
  EXPECT_EQ(typo->config.max_message_size, 1024u * 1024);
  EXPECT_FALSE(parse_only("smtp: {dot_timout: 10m}\n", "nullq.yaml").ok()) << "everyone else still refuses it";

  auto clean = parse_for_injector("hostname: a.example\n", "nullq.yaml");
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ(clean->problem, "");
  EXPECT_EQ(clean->config.domain, "a.example");

  for (const char* hard : {"queue: {max_message_size: lots}\n", "queue: {dir: rel}\n", "queue: {dri: /x}\n",
                                  "queu: {dir: /x}\n", "queue: [x]\n", "hostname: 'a b'\n", "admin: '<x>'\n",
                                  "rewrite: {sendr: a@b.c}\n", "rewrite: {header_from: maybe}\n"}) {
    auto r = parse_for_injector(hard, "nullq.yaml");
    EXPECT_FALSE(r.ok()) << hard;
    if (!r.ok()) {
      EXPECT_EQ(r.error().detail.rfind("nullq.yaml:", 0), 0u) << r.error().detail;
    }
  }
  for (const char* syntax : {"smarthosts: [qmtp://x\n", "- a\n- b\n", "a: b: c\n"}) {
    auto r = parse_for_injector(syntax, "nullq.yaml");
    ASSERT_TRUE(r.ok()) << syntax;
    EXPECT_TRUE(r->defaults) << syntax;
    EXPECT_NE(r->problem, "") << syntax;
    EXPECT_EQ(r->config.queue_dir, Config{}.queue_dir);
  }
  auto missing = load_for_injector("/nonexistent/nullq.yaml");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->defaults);
  EXPECT_EQ(missing->problem, "cannot read /nonexistent/nullq.yaml: No such file or directory");
}

}  // namespace

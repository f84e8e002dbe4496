// config.hpp — /etc/nullq/nullq.yaml read into a plain, validated struct.
//
// Purpose:   one Config value that every non-set-id program reads its settings from.
// Trust:     the file is written by the admin but may be broken: every error names file, line, key.
// Errors:    load() returns ErrorDomain::config, ErrorKind::permanent with a one-line message like
//            "nullq.yaml:3: unknown key 'smarthost' — did you mean 'smarthosts'?". Never throws.
// Threading: plain values.
//
// YAML layout (etc/nullq.yaml documents every key; only `smarthosts` is needed):
//
//   hostname: mail.example.org        # default: /etc/mailname, then the FQDN
//   domain: example.org               # qualifies bare addresses; default: hostname
//   idhost: example.org               # Message-ID host; default: hostname
//   admin: ops@example.org            # root and local users' mail goes here; default: none (root@<domain>)
//   rewrite:
//     sender: noreply@example.org     # forced envelope sender (allmailfrom); default: none
//     header_from: false              # also rewrite the From: header
//   smarthosts:
//     - qmtp://relay.example.org      # qmtp://host[:port], qmqp://host[:port], mx://domain, [v6] literals
//     - url: qmqp://[2001:db8::1]:628
//       connections: 2                # per-host connection bound
//       pipeline: 16                  # QMTP packages in flight per connection
//     - smtp://relay.example.org      # smtp://host[:port] (25), smtps://host[:port] (465, implicit TLS)
//     - url: smtp://smtp.example.net:587
//       starttls: required            # required|opportunistic|off; default opportunistic, 587: required
//       auth: {user: NAME, password_file: /etc/nullq/relay.secret, allow_plaintext: false}
//     - url: smtp://smtp.office365.com:587
//       auth:
//         user: alerts@example.com
//         mechanism: auto             # auto|plain|login|xoauth2|oauthbearer
//         oauth:                      # instead of password_file: OAuth 2.0 (see OAuthSettings)
//           provider: microsoft       # microsoft|google|generic (endpoints and scope)
//           flow: client_credentials  # client_credentials|refresh_token; or token_command: [argv]
//           tenant: example.onmicrosoft.com
//           client_id: 00000000-0000-0000-0000-000000000000
//           client_secret_file: /etc/nullq/m365.secret
//       tls: {verify: true, ca_file: PATH, cert_file: PATH, key_file: PATH, min_version: 1.2}
//   routes:                          # optional; by smart host name (`name:`, default its URL)
//     - {sender: "*@billing.example.com", hosts: [m365-billing]}
//     - {recipient_domain: [corp.example.com, "*.corp.example.com"], hosts: [qmtp-hub]}
//     - {default: true, hosts: [gmail, backup]}
//   state_dir: /var/lib/nullq         # nullq-send's own state (OAuth refresh tokens in oauth/)
//   queue:
//     dir: /var/spool/nullq
//     lifetime: 7d
//     keep_failed: 30d                # failed/ files are removed after this; off = kept for ever
//     retry_min: 1m
//     retry_max: 1h
//     max_message_size: 25MiB
//     min_free: 100MiB                # injection refused (75) below this much free space; 0 = off
//   delivery:
//     connections: 16                 # global bound
//     connect_timeout: 10s
//     timeout: 60s                    # per read/write; re-armed on progress
//     session_max: 1h
//     cooldown: 60s                   # skip a host that refused connections for this long
//     memory: 32MiB                   # queued messages held in memory at once (at least one)
//     without_daemon: wait            # wait|deliver: sendmail starts one detached nullq-send --once
//   smtp:
//     helo: mail.example.org          # EHLO name; default: hostname
//     mx_tls: may                     # mx:// exchangers: may (no cert check) | verify | encrypt
//     banner_timeout: 5m              # RFC 5321 §4.5.3.2
//     command_timeout: 5m             # EHLO, MAIL, RCPT, RSET, AUTH...
//     data_timeout: 2m
//     body_timeout: 3m                # each body write
//     dot_timeout: 10m                # the answer to the final "."
//   bounce:
//     enabled: true
//     admin: postmaster@example.org   # where double bounces go; default: admin, else failed/
//     delay_warning: off              # or a duration, e.g. 4h
//   log:
//     level: info                     # error, warning, info, debug
//     target: auto                    # auto|syslog|stderr (auto: the journal, /dev/log, else stderr)
//     format: text                    # text|json (one JSON object per line)
//
// Durations: <n>s|m|h|d (and "off" where noted); sizes: <n>, <n>KiB|MiB|GiB, <n>KB|MB|GB.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nullq/result.hpp"

namespace nullq::config {

using seconds = std::chrono::seconds;

enum class Protocol { qmtp, qmqp, mx, smtp, smtps };
const char* to_string(Protocol p);

enum class StartTls { opportunistic, required, off };
enum class TlsVersion { tls1_2, tls1_3 };
// mx:// exchangers: may = STARTTLS when offered, no certificate check; verify = STARTTLS when
// offered, certificate checked; encrypt = STARTTLS required and checked.
enum class MxTls { may, verify, encrypt };

struct TlsSettings {
  bool verify = true;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  TlsVersion min_version = TlsVersion::tls1_2;
};

enum class AuthMechanism { automatic, plain, login, xoauth2, oauthbearer };
const char* to_string(AuthMechanism m);  // "auto", "plain", ...

// OAuth 2.0 for SMTP AUTH (XOAUTH2, OAUTHBEARER): where the access token comes from.
//   client_credentials: app-only (Microsoft's SMTP.SendAsApp): client_id + client_secret_file at token_url.
//   refresh_token:      delegated: a refresh token got once by `nullq oauth login HOST`, kept (and
//                       rotated) in <state_dir>/oauth/ by the nullq-oauth helper program.
//   command:            token_command's stdout is the access token (an argv, no shell, run as nullq).
// Presets fill in token_url, device_url, authorize_url and scope; keys given override them.
enum class OAuthFlow { none, client_credentials, refresh_token, command };
enum class OAuthProvider { generic, microsoft, google };
const char* to_string(OAuthFlow f);       // "client_credentials", "refresh_token", "token_command"
const char* to_string(OAuthProvider p);   // "generic", "microsoft", "google"

struct OAuthSettings {
  OAuthFlow flow = OAuthFlow::none;      // none = no OAuth (password AUTH or none)
  OAuthProvider provider = OAuthProvider::generic;
  std::string tenant;                    // microsoft: the directory (name or GUID); default "organizations"
  std::string client_id;
  std::string client_secret_file;        // same rules as password_file; optional for refresh_token
  std::string scope;                     // space-separated
  std::string token_url;                 // https:// only
  std::string device_url;                // RFC 8628 device authorization endpoint (login)
  std::string authorize_url;             // authorization code + PKCE (login)
  std::string ca_file;                   // "" = the system's; endpoints are always verified
  std::vector<std::string> token_command;  // flow command: argv[0] absolute
  seconds timeout{30};                   // one token request or token_command run
  std::shared_ptr<const std::string> client_secret;  // filled by load_secrets(); never logged
};

// What a smart host (the account behind it) allows: proactive limits, and where the daily count
// resets. A throttling or quota answer from the server slows or holds the host on top of these.
struct HostLimits {
  std::string preset;                   // "" or microsoft365|gmail|workspace-relay|ses
  unsigned messages_per_connection = 0; // SMTP: QUIT and reconnect after N; QMTP: close after N packages
  double rate = 0;                      // messages per second (rate: 30/min = 0.5); 0 = unlimited
  std::string rate_text;                // as written ("30/min"), for status and logs
  std::uint64_t daily = 0;              // messages handed to the host per quota window
  seconds quota_reset{24 * 3600};       // the window: this long from its first message (and a
                                        // quota answer holds the host this long) ...
  int quota_reset_at = -1;              // ... or, >= 0, minutes after 00:00 UTC when it resets
  unsigned recipients_per_message = 0;  // the preset's value, for the `routes` helper's key
};

struct SmartHost {
  Protocol protocol = Protocol::qmtp;
  std::string host;            // name, IPv4 literal, or IPv6 literal without brackets; for mx: the domain
  std::uint16_t port = 0;      // 0 = the protocol's default (209 QMTP, 628 QMQP, 25 SMTP, 465 SMTPS)
  unsigned connections = 4;    // per-host bound
  unsigned pipeline = 32;      // QMTP packages in flight per connection
  std::string text;            // as written, for logs: "qmtp://relay.example.org"
  std::string name;            // what routes call it (`name:`); default: text
  std::string source;          // local address to bind before connecting (IP literal); "" = any
  unsigned recipients_per_message = 0;  // most recipients one attempt carries; 0 = no limit

  // Provider limits (src/config/limits.cpp; 0 = unlimited). A preset fills them; keys override.
  HostLimits limits;

  // SMTP only.
  StartTls starttls = StartTls::opportunistic;  // port 587 without the key: required
  TlsSettings tls;
  bool tls_configured = false;   // a 'tls' mapping was given
  std::string auth_user;         // "" = no AUTH
  std::string password_file;     // read by nullq-send and nullq check only (load_secrets)
  AuthMechanism mechanism = AuthMechanism::automatic;
  OAuthSettings oauth;           // flow != none: the credential is an access token, not a password
  bool allow_plaintext = false;  // AUTH without TLS, only with starttls: off
  std::shared_ptr<const std::string> password;  // filled by load_secrets(); never logged

  std::uint16_t effective_port() const {
    if (port) return port;
    switch (protocol) {
      case Protocol::qmqp: return 628;
      case Protocol::smtp: return 25;
      case Protocol::smtps: return 465;
      default: return 209;
    }
  }
  bool is_smtp() const { return protocol == Protocol::smtp || protocol == Protocol::smtps; }
};

// One entry of `routes:` (routes.cpp). A recipient takes the first rule that matches it and its
// message's envelope sender; `default` matches everything and is the last rule.
//   senders:  "user@example.com" (exact), "*@example.com" (any user of the domain), "*.example.com"
//             (any user of any subdomain, not the domain itself); lower case.
//   domains:  "example.com" (the domain), "*.example.com" (its subdomains, not itself); lower case.
// Both given: both must match. Domains and addresses compare case-insensitively.
struct RouteRule {
  std::vector<std::string> senders;
  std::vector<std::string> domains;
  bool is_default = false;
  std::vector<std::size_t> hosts;  // indexes into Config::smarthosts, in the order to try them
  int line = 0;                    // 1-based line in the file, for messages
};

struct SmtpSettings {
  std::string helo;              // "" = hostname
  MxTls mx_tls = MxTls::may;
  seconds banner_timeout{300};
  seconds command_timeout{300};
  seconds data_timeout{120};
  seconds body_timeout{180};
  seconds dot_timeout{600};
};

enum class LogLevel { error, warning, info, debug };
// log.target (`stderr` is a macro, hence the names) and log.format.
enum class LogTarget { automatic, syslog, standard_error };
enum class LogFormat { text, json };
// delivery.without_daemon: what sendmail does after a commit when no flusher holds the spool lock.
enum class WithoutDaemon { wait, deliver };

struct Config {
  std::string path;            // the file this came from ("" = built-in defaults)

  std::string hostname;
  std::string domain;
  std::string idhost;
  std::string admin;           // "" = root@hostname

  std::string rewrite_sender;  // "" = none
  bool rewrite_header_from = false;

  std::vector<SmartHost> smarthosts;
  std::vector<RouteRule> routes;  // empty: every recipient takes every smart host in order

  std::string queue_dir = "/var/spool/nullq";
  std::string state_dir = "/var/lib/nullq";  // owned by nullq; OAuth tokens in oauth/
  seconds lifetime{7 * 24 * 3600};
  seconds keep_failed{30 * 24 * 3600};  // 0 = keep failed/ forever
  seconds retry_min{60};
  seconds retry_max{3600};
  std::uint64_t max_message_size = 25ull * 1024 * 1024;
  std::uint64_t queue_min_free = 100ull * 1024 * 1024;  // as nullq-queue's compiled-in reserve (limits.hpp)

  unsigned connections = 16;
  seconds connect_timeout{10};
  seconds io_timeout{60};
  seconds session_max{3600};
  seconds cooldown{60};
  // Bytes of queue files loaded for delivery at once (read, routed, in flight); one message is
  // always let through, however large. 32 MiB holds a maximum-size message, or 16 connections x 32
  // pipelined packages of 64 KiB.
  std::uint64_t memory = 32ull * 1024 * 1024;

  SmtpSettings smtp;

  bool bounce_enabled = true;
  std::string bounce_admin;    // "" = admin, else failed/
  seconds delay_warning{0};    // 0 = off

  LogLevel log_level = LogLevel::info;
  LogTarget log_target = LogTarget::automatic;
  LogFormat log_format = LogFormat::text;
  WithoutDaemon without_daemon = WithoutDaemon::wait;

  std::string metrics_textfile;  // metrics.textfile: Prometheus textfile nullq-send keeps ("" = none)
};

// Every key the loader accepts, by its full name: "hostname", "queue.dir", "smarthosts[].url",
// "smarthosts[].auth.user". Made from the lists the loader checks keys against, so that a test can
// hold etc/nullq.yaml and nullq.yaml(5) to them.
std::vector<std::string> accepted_keys();

// NULLQ_CONFIG if set and non-empty, else the compiled-in /etc/nullq/nullq.yaml.
std::string default_path();

// Reads and validates `path`. Unknown keys are errors with a "did you mean" suggestion.
// Fills hostname/domain/idhost defaults (from /etc/mailname, then the FQDN) when absent.
Result<Config> load(const std::string& path);
// Same, from text (tests); `name` is used in messages in place of the file name.
Result<Config> parse(std::string_view yaml_text, const std::string& name);

// What nullq-sendmail reads: a configuration error only stops it when it is in a setting it needs
// to queue (hostname, domain, idhost, admin, rewrite.*, queue.dir, queue.max_message_size, or an
// unknown key that looks like a misspelling of one): then an Error, as load() would give. Any other
// error (a typo in the smtp section, a relative password_file, a bad smart host URL) leaves that
// setting at its default and the first such error in `problem`. A file that cannot be read or parsed
// at all (missing, unreadable, a YAML syntax error, not a mapping) gives the built-in settings
// (`defaults`, the compiled-in spool) and the reason in `problem`: losing mail is worse. nullq-send,
// `nullq check` and `sendmail -q` keep to load(), which refuses all of these.
struct Lenient {
  Config config;
  std::string problem;    // "" = none; one printable line, like load()'s error
  bool defaults = false;  // the file gave nothing: built-in settings
};
Result<Lenient> load_for_injector(const std::string& path);
Result<Lenient> parse_for_injector(std::string_view yaml_text, const std::string& name);

// Without the hostname/domain/idhost defaults (tests), and the defaults on their own.
Result<Config> parse_only(std::string_view yaml_text, const std::string& name);
void fill_defaults(Config& c, const std::string& mailname_path);
// First line of `mailname_path` (e.g. /etc/mailname), else the FQDN.
std::string default_hostname(const std::string& mailname_path);

// The flusher needs at least one smart host; the injector does not.
Status validate_for_delivery(const Config& c);

// Reads every smart host's password_file into SmartHost::password, and its OAuth client_secret_file
// (same rules) into OAuthSettings::client_secret. Only nullq-send and
// `nullq check` call this (nullq-sendmail reads the config as every user and must not), after
// they switched to the spool's user (privilege.hpp), so that what they read is what the daemon
// can read. Refuses, with one line naming the file and the fix, a missing or unreadable file
// (EACCES names the user that cannot read it), a symbolic link, a file owned by neither root nor
// the user reading it, one its group may write or others may read or write, and an empty one.
// The error text never holds the secret; the password is wiped from memory when the last
// configuration holding it goes. A process that reads a secret is made non-dumpable
// (PR_SET_DUMPABLE 0: no core file, no ptrace or /proc/PID/mem by the same user).
Status load_secrets(Config& c);

// Parses one smart host URL ("qmtp://host:port" ...). Errors name the problem.
Result<SmartHost> parse_smarthost(std::string_view url);
Result<seconds> parse_duration(std::string_view text);  // "90s", "10m", "7d", "1h"; "0"; not "7"
Result<std::uint64_t> parse_size(std::string_view text);  // "25MiB", "1000000"

}  // namespace nullq::config

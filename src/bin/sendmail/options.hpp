// options.hpp — the sendmail command line, as real callers write it.
//
// Purpose:   turn argv into what to do (mode) and how (flags), accepting every flag that cron, PHP,
//            mutt, git send-email and friends pass, and refusing the ones nobody should.
// Trust:     argv comes from any local user; values are kept as strings, validated later.
// Errors:    parse() returns ErrorDomain::usage with one line ("unknown option -x").
// Threading: pure.
#pragma once

#include <string>
#include <vector>

#include "nullq/dsn.hpp"
#include "nullq/result.hpp"

namespace nullq::sendmail {

enum class Mode { deliver, smtp, list, aliases, flush, help, version };

struct Options {
  Mode mode = Mode::deliver;
  bool extract = false;        // -t
  bool ignore_dots = false;    // -i, -oi
  bool verbose = false;        // -v
  bool sender_given = false;   // -f / -r
  std::string sender;
  bool name_given = false;     // -F
  std::string full_name;
  std::string config;          // -C file
  std::vector<std::string> recipients;
  // -N NOTIFY (every recipient), -R RET, -V ENVID: validated here (RFC 3461, dsn.hpp).
  dsn::RecipientParams notify;  // only .notify is set
  dsn::MessageParams mail_dsn;
};

// `program` is argv[0]'s basename: mailq => list, newaliases => aliases. --help and --version (as
// msmtp and nullmailer take them) give Mode::help and Mode::version under every name; any other
// "--word" is "unknown option '--word'".
Result<Options> parse(const std::string& program, const std::vector<std::string>& args);

// What --help prints for `program` (sendmail, mailq or newaliases), naming the compiled-in
// configuration file.
std::string usage_text(const std::string& program);

}  // namespace nullq::sendmail

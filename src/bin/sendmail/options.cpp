#include "options.hpp"

#include "nullq/printable.hpp"
#include "nullq_build_config.h"

namespace nullq::sendmail {

namespace {

Error usage(std::string text) { return Error::permanent(ErrorDomain::usage, std::move(text)); }

// "<>" and "''" and "" all mean the null sender.
std::string sender_value(std::string v) {
  if (v == "<>" || v == "''" || v == "\"\"") return "";
  if (v.size() >= 2 && v.front() == '<' && v.back() == '>') return v.substr(1, v.size() - 2);
  return v;
}

// -N never|success,failure,delay, -R full|hdrs, -V envid (sendmail's DSN options; RFC 3461).
Status dsn_option(Options& o, char c, const std::string& v) {
  if (c == 'N') {
    auto n = dsn::parse_notify(v);
    if (!n) return usage("-N: " + n.error().detail);
    o.notify.notify = *n;
  } else if (c == 'R') {
    auto r = dsn::parse_ret(v);
    if (!r) return usage("-R: " + r.error().detail);
    o.mail_dsn.ret = *r;
  } else {
    if (auto s = dsn::validate_envid(v); !s) return usage("-V: bad envelope id: " + s.error().detail);
    o.mail_dsn.envid = v;
  }
  return {};
}

}  // namespace

std::string usage_text(const std::string& program) {
  std::string config = "  -C FILE        configuration file (default: $NULLQ_CONFIG, else " NULLQ_CONFIG_PATH ")\n";
  if (program == "mailq")
    return "usage: mailq [-C FILE]\n"
           "List the queued messages (as sendmail -bp); the last line sums them up as Postfix's does.\n" +
           config + "  --help, --version\n";
  if (program == "newaliases")
    return "usage: newaliases\n"
           "Does nothing and exits 0: nullq keeps no aliases database (set admin: in the configuration\n"
           "to send mail for local names to one address).\n";
  return "usage: sendmail [-t] [-i] [-f SENDER] [-F NAME] [-C FILE] [--] [RECIPIENT...] < MESSAGE\n"
         "       sendmail -bs | -bp | -q | -bi | --help | --version\n"
         "Queue one message for the smart hosts; exit 0 only once it is queued.\n"
         "  -t             also take the recipients from To, Cc and Bcc (Resent-* when present)\n"
         "  -i, -oi        a line holding only \".\" does not end the message\n"
         "  -f, -r SENDER  envelope sender; <> or \"\" is the null sender\n"
         "  -F NAME        full name for an added From:\n" +
         config +
         "  -N DSN         NEVER, or any of SUCCESS,FAILURE,DELAY: what to report (SMTP DSN)\n"
         "  -R RET         FULL or HDRS: what a failure report returns of the message\n"
         "  -V ENVID       envelope id, shown in reports (SMTP DSN)\n"
         "  -v             print the queue id\n"
         "  -bs            SMTP on standard input and output\n"
         "  -bp            list the queue (mailq)\n"
         "  -q             deliver what is queued now\n"
         "  -bi            do nothing (newaliases)\n"
         "Exit status: 64 usage, 65 bad address or message, 69 a program is missing, 73/74 cannot write,\n"
         "75 temporary, 77 permission, 78 configuration. See nullq-sendmail(8).\n";
}

Result<Options> parse(const std::string& program, const std::vector<std::string>& args) {
  Options o;
  if (program == "mailq") o.mode = Mode::list;
  if (program == "newaliases") o.mode = Mode::aliases;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--help" || a == "--version") {
      o.mode = a == "--help" ? Mode::help : Mode::version;
      return o;
    }
    if (a.rfind("--", 0) == 0) return usage("unknown option '" + printable(a, 80) + "'");
    // Options may follow recipients ("sendmail ops@example.org -i"), as glibc's getopt lets them in
    // Postfix's and sendmail's command lines; only "--" ends the options.
    if (a.size() < 2 || a[0] != '-') {
      o.recipients.push_back(a);
      continue;
    }
    // getopt-style: flags may be clustered (-ti); a flag with a value takes the rest or the next arg.
    for (std::size_t j = 1; j < a.size(); ++j) {
      char c = a[j];
      auto value = [&](const char* what) -> Result<std::string> {
        if (j + 1 < a.size()) {
          std::string v = a.substr(j + 1);
          j = a.size();
          return v;
        }
        if (i + 1 >= args.size()) return usage(std::string("option -") + c + " needs " + what);
        j = a.size();
        return args[++i];
      };
      switch (c) {
        case 't': o.extract = true; break;
        case 'i': o.ignore_dots = true; break;
        case 'v': o.verbose = true; break;
        case 'm': case 'n': case 'U': case 'G': break;  // accepted, meaningless here
        case 'f':
        case 'r': {
          auto v = value("a sender address");
          if (!v) return std::move(v).error();
          o.sender = sender_value(*v);
          o.sender_given = true;
          break;
        }
        case 'F': {
          auto v = value("a full name");
          if (!v) return std::move(v).error();
          o.full_name = *v;
          o.name_given = true;
          break;
        }
        case 'C': {
          auto v = value("a config file");
          if (!v) return std::move(v).error();
          o.config = *v;
          break;
        }
        case 'N': case 'R': case 'V': {
          auto v = value("a value");
          if (!v) return std::move(v).error();
          if (auto s = dsn_option(o, c, *v); !s) return std::move(s).error();
          break;
        }
        case 'B': case 'h': case 'L': case 'X': {
          auto v = value("a value");  // body type, DSN notify/return, envid, hop count, log tag, trace file
          if (!v) return std::move(v).error();
          break;
        }
        case 'o': {
          // -oi means -i; -oem, -odi, -oQ... are accepted. A bare "-o" takes the next argument.
          auto v = value("an option");
          if (!v) return std::move(v).error();
          if (*v == "i") o.ignore_dots = true;
          break;
        }
        case 'd': {
          auto v = value("a value");  // -d debug flags (and -odi forms reach here as "-o")
          if (!v) return std::move(v).error();
          break;
        }
        case 'b': {
          if (j + 1 >= a.size()) return usage("option -b needs a mode letter");
          char mode = a[j + 1];
          j = a.size();
          switch (mode) {
            case 'm': o.mode = Mode::deliver; break;
            case 's': o.mode = Mode::smtp; break;
            case 'p': o.mode = Mode::list; break;
            case 'i': o.mode = Mode::aliases; break;
            default:
              return usage("mode -b" + printable(std::string_view(&mode, 1)) +
                           " is not supported (use -bm, -bs, -bp or -bi)");
          }
          break;
        }
        case 'q':
          // -q flushes now; -q<time> (daemon interval) is accepted and means the same here.
          o.mode = Mode::flush;
          j = a.size();
          break;
        default:
          return usage("unknown option -" + printable(std::string_view(&c, 1)));
      }
    }
  }
  for (; i < args.size(); ++i) o.recipients.push_back(args[i]);
  return o;
}

}  // namespace nullq::sendmail

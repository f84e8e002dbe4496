// nullmailer_files.hpp — nullmailer's configuration files read as nullmailer reads them (private to
// `nullq import-nullmailer`, see import_nullmailer.hpp for the formats).
//
// Purpose:   the reading half of the import: control files (first line, stripped), numbers, and
//            the remotes file split into one Remote per line with every option checked; what is
//            not understood becomes a warning in the Report and a comment for the YAML, never a guess.
// Trust:     the files may be broken or hand-edited: lengths are capped, every word is checked.
// Errors:    read_control() gives errno; everything else is a Report line.
// Threading: single-threaded program.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nullq::admin {

// What a run found worth saying: warnings (something not carried over: exit 1) and notes.
struct Report {
  std::vector<std::string> lines;  // for stderr, in order
  bool lost = false;

  void warn(const std::string& where, const std::string& what) {
    lines.push_back("nullq: warning: " + where + ": " + what);
    lost = true;
  }
  void note(const std::string& where, const std::string& what) { lines.push_back("nullq: note: " + where + ": " + what); }
};

// One remotes line, as nullmailer's protocol modules would have understood it.
struct Remote {
  unsigned line = 0;
  std::string host, proto;
  unsigned port = 0;  // 0 = the module's default
  bool tls = false, starttls = false, insecure = false, auth_login = false, der = false, anon = false;
  std::string user, pass, ca_file, cert_file, key_file, crl_file, source;
  std::vector<std::string> comments;  // YAML comments for this entry
  bool dropped = false;               // left out of the YAML
};

// Reads a whole control file (at most 1 MiB). nullopt = absent; an unreadable one sets `error`.
std::optional<std::string> read_control(const std::string& path, int& error);
std::string strip(std::string_view s);
// A control file's value as nullmailer reads it: the first line, stripped.
std::string first_line(const std::string& text);
bool parse_number(std::string_view s, unsigned long long& out);
// YAML scalar: plain when that is unambiguous, else double-quoted.
std::string yaml_scalar(std::string_view s);
// The same tests nullq's config reader applies to address keys and smart host names.
bool plain_address(const std::string& a);
bool valid_host(const std::string& h);
// The remotes file, one Remote a line (comments and blank lines skipped); `file` names it in warnings.
std::vector<Remote> parse_remotes(const std::string& text, const std::string& file, Report& rep);

}  // namespace nullq::admin

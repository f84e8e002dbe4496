// identity.hpp — who the caller is and what this host is called, without NSS in this process.
//
// Purpose:   nullq-sendmail is linked statically (start-up is most of an injection), and a static
//            program must not load NSS modules: they belong to the shared C library that is installed,
//            which may be newer than the one linked in. The common cases are answered from files
//            (/etc/passwd); the rest through getent(1), which runs with the system's own NSS
//            (LDAP, sssd, systemd users, myhostname, ...).
// Trust:     runs as the caller; the answers only fill in From: and the default sender.
// Errors:    nothing found is std::nullopt / the input name; never fatal.
// Threading: no shared state.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace nullq::identity {

struct User {
  std::string login;
  std::string gecos;  // the whole GECOS field
  std::string home;   // the home directory field
};

// The passwd entry of `uid`: the first matching line of `passwd_file`, else `getent passwd UID`.
std::optional<User> user_by_uid(uid_t uid, const std::string& passwd_file = "/etc/passwd",
                                const std::string& getent = "/usr/bin/getent");

// Parses one passwd(5) line; nullopt for NIS +/- lines and malformed ones.
std::optional<User> parse_passwd_line(std::string_view line, uid_t uid);

// The canonical (dotted) name of `host` by `getent ahosts HOST` (AI_CANONNAME), else `host` itself.
std::string canonical_hostname(const std::string& host, const std::string& getent = "/usr/bin/getent");

// Runs `argv` (no shell, stdin /dev/null, stderr discarded) and returns its stdout when it exits 0.
std::optional<std::string> capture(const char* const* argv, std::size_t max_bytes = 65536);

}  // namespace nullq::identity

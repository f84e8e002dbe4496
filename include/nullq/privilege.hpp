// privilege.hpp — one owner for the spool: what a program started as root becomes before it opens
// anything there.
//
// Purpose:   nullq-send (daemon, --once, and so `sendmail -q`) and the admin commands that change
//            the spool (nullq flush, retry, bounce, drop) switch to the spool's user — uid, primary
//            gid and its supplementary groups (nullq is in nullq-drop, through which it reads new/) —
//            so that nothing in queue/, failed/ or the lock is ever created or rewritten as root, where
//            the daemon could no longer read or move it (DESIGN.md "One writer").
//            The rule, for a process whose effective uid is 0:
//              - the compiled-in system spool: become the compiled-in user (meson option `user`); if
//                that user does not exist, or has uid 0 or gid 0, refuse (exit 78) rather than write
//                root's files there;
//              - another spool (queue.dir) whose directory belongs to some other user: become that
//                user (its passwd entry when there is one, else the directory's uid and gid);
//              - another spool that root owns, or that does not exist yet (tests, a trial spool in a
//                home directory): nothing is switched, root is its one owner.
//            Not started as root: nothing is switched.
// Trust:     user and group databases are read from files (/etc/passwd, /etc/group), then through
//            getent(1) for users that live elsewhere: like identity.hpp, the static programs must not
//            load NSS modules in-process.
//            A uid or gid of 4294967295 ((uid_t)-1) or more makes a passwd or group line malformed.
// Errors:    become() returns an exit code (0 done or nothing to do; 78 the user does not exist or is
//            root in disguise; 71 a set*id call failed) and fills `error` with one line.
// Threading: call at start-up, before any other thread exists (set*id applies to the caller only).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace nullq::privilege {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, the primary gid included
};

// Where accounts are looked up. The defaults are the system's; the tests compile in their own files.
struct Sources {
  std::string passwd_file = "/etc/passwd";
  std::string group_file = "/etc/group";
  std::string getent = "/usr/bin/getent";
};

// The compiled-in owner of the system spool.
struct Owner {
  std::string system_spool;  // NULLQ_SPOOL_DIR
  std::string user;          // NULLQ_USER
  Sources sources;
};

// `name` from passwd_file, else `getent passwd NAME`; its groups from group_file (every line that
// lists it) for a user found in the file, else `getent initgroups NAME`.
std::optional<Account> lookup(const std::string& name, const Sources& sources = {});
// The account of `uid` (same sources); nullopt if there is none.
std::optional<Account> lookup_uid(uid_t uid, const Sources& sources = {});
// A name for `uid` / `gid` from the files (the number when there is none), for messages.
std::string user_name(uid_t uid, const Sources& sources = {});
std::string group_name(gid_t gid, const Sources& sources = {});

// Applies the rule above for a program about to work on the spool `spool_dir`. `program` prefixes
// the error line ("nullq-send"). On success `became` names the account switched to ("" if none).
int become(const std::string& spool_dir, const Owner& owner, const std::string& program, std::string& error,
           std::string* became = nullptr);

// The account this process runs as, for messages ("nullq", or the uid's number).
std::string current_user(const Sources& sources = {});

// Why this process may not use `path`, with the fix, for an EACCES/EPERM message:
// "owned by root:root 0600, and this process runs as nullq: chown nullq:nullq PATH".
std::string ownership_hint(const std::string& path, const Sources& sources = {});

}  // namespace nullq::privilege

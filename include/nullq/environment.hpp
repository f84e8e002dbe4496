// environment.hpp — whether this process may believe its environment (Postfix's unsafe()).
//
// Purpose:   the NULLQ_* variables choose the config file, the programs sendmail runs and where
//            nullq-send delivers. A set-uid or set-gid program that runs sendmail without cleaning
//            its environment would otherwise run a program, or read a config, of its caller's choice
//            with its own privileges. Every read of such a variable goes through trusted_getenv().
// Trust:     the environment is the caller's; the ids and AT_SECURE are the kernel's.
// Errors:    none: an untrusted environment reads as unset.
// Threading: getenv is not safe against a concurrent setenv; read at start-up.
#pragma once

#include <sys/types.h>

#include <string>

namespace nullq::environment {

// True when the environment is not to be believed: the kernel set AT_SECURE for this program (it
// was started set-id or with file capabilities), or the real and effective ids differ (started by a
// set-id program that did not drop them).
bool unsafe(uid_t ruid, uid_t euid, gid_t rgid, gid_t egid, bool at_secure);
// The same for this process: getauxval(AT_SECURE) and its ids.
bool unsafe();

// getenv(name) when it is set, not empty and the environment is safe; nullptr otherwise.
const char* trusted_getenv(const char* name);

// The program `name` that this one runs: $env_name when the environment is trusted, else `name`
// next to our own executable if it is there (the build tree keeps every program side by side),
// else `installed_dir`/`name`. Started set-id (unsafe()), only `installed_dir`/`name`: neither the
// environment nor the directory this program was run from (a hard link can put it anywhere)
// chooses what runs.
std::string locate(const char* env_name, const std::string& name, const std::string& installed_dir);

}  // namespace nullq::environment

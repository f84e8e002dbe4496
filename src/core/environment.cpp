// Whether the environment may be believed (see include/nullq/environment.hpp).
#include "nullq/environment.hpp"

#include <sys/auxv.h>
#include <unistd.h>

#include <cstdlib>

namespace nullq::environment {

bool unsafe(uid_t ruid, uid_t euid, gid_t rgid, gid_t egid, bool at_secure) {
  return at_secure || ruid != euid || rgid != egid;
}

bool unsafe() {
  return unsafe(::getuid(), ::geteuid(), ::getgid(), ::getegid(), ::getauxval(AT_SECURE) != 0);
}

const char* trusted_getenv(const char* name) {
  if (unsafe()) return nullptr;
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace nullq::environment

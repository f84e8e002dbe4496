// Whether the environment may be believed (see include/nullq/environment.hpp).
#include "nullq/environment.hpp"

#include <sys/auxv.h>
#include <sys/stat.h>
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

std::string locate(const char* env_name, const std::string& name, const std::string& installed_dir) {
  if (unsafe()) return installed_dir + "/" + name;
  if (const char* e = trusted_getenv(env_name)) return e;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<std::size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    std::string sibling = dir + "/" + name;
    struct stat st {};
    if (::stat(sibling.c_str(), &st) == 0) return sibling;
  }
  return installed_dir + "/" + name;
}

}  // namespace nullq::environment

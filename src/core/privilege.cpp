// Switching to the spool's owner (see include/nullq/privilege.hpp).
#include "nullq/privilege.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <string_view>

#include "nullq/identity.hpp"

namespace nullq::privilege {

namespace {

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto at = line.find(sep);
    out.push_back(line.substr(0, at));
    if (at == std::string_view::npos) return out;
    line.remove_prefix(at + 1);
  }
}

std::optional<unsigned long> number(std::string_view text) {
  unsigned long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// A uid or gid. (uid_t)-1 is set*id's "leave unchanged", and anything wider than 32 bits would be
// cut down by the cast (4294967296 becomes 0, root): both are refused as malformed.
std::optional<unsigned long> id_number(std::string_view text) {
  auto v = number(text);
  if (!v || *v >= 0xffffffffUL) return std::nullopt;
  return v;
}

// name:password:uid:gid:gecos:home:shell; NIS +/- lines and comments are skipped.
std::optional<Account> parse_passwd(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.empty() || line[0] == '+' || line[0] == '-' || line[0] == '#') return std::nullopt;
  auto f = split(line, ':');
  if (f.size() < 4 || f[0].empty()) return std::nullopt;
  auto uid = id_number(f[2]), gid = id_number(f[3]);
  if (!uid || !gid) return std::nullopt;
  return Account{std::string(f[0]), static_cast<uid_t>(*uid), static_cast<gid_t>(*gid), {}};
}

template <class Match>
std::optional<Account> find_passwd(const std::string& file, Match&& match) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (auto a = parse_passwd(line); a && match(*a)) return a;
  return std::nullopt;
}

// Every group of group_file that lists `name` as a member, plus `primary`.
std::vector<gid_t> groups_from_file(const std::string& file, const std::string& name, gid_t primary) {
  std::vector<gid_t> out{primary};
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '+' || line[0] == '-' || line[0] == '#') continue;
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    auto gid = id_number(f[2]);
    if (!gid) continue;
    for (std::string_view member : split(f[3], ','))
      if (member == name) out.push_back(static_cast<gid_t>(*gid));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// `getent initgroups NAME` prints "NAME  GID GID ..." (the primary group first).
std::vector<gid_t> groups_from_getent(const Sources& s, const std::string& name, gid_t primary) {
  std::vector<gid_t> out{primary};
  const char* argv[] = {s.getent.c_str(), "initgroups", name.c_str(), nullptr};
  if (auto text = identity::capture(argv)) {
    std::string_view line(*text);
    line = line.substr(0, line.find('\n'));
    bool first = true;
    for (std::string_view word : split(line, ' ')) {
      if (word.empty()) continue;
      if (first) {  // the name
        first = false;
        continue;
      }
      if (auto g = id_number(word)) out.push_back(static_cast<gid_t>(*g));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<Account> from_getent(const Sources& s, const std::string& key) {
  const char* argv[] = {s.getent.c_str(), "passwd", key.c_str(), nullptr};
  auto text = identity::capture(argv);
  if (!text) return std::nullopt;
  auto a = parse_passwd(text->substr(0, text->find('\n')));
  if (a) a->groups = groups_from_getent(s, a->name, a->gid);
  return a;
}

std::string mode_text(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// setgroups, setgid, setuid — in that order, while still root — and a check that root is gone.
int switch_to(const Account& a, const std::string& program, std::string& error) {
  if (::setgroups(a.groups.size(), a.groups.data()) != 0 || ::setgid(a.gid) != 0 || ::setuid(a.uid) != 0) {
    error = program + ": cannot switch to the user " + a.name + ": " + std::strerror(errno);
    return 71;  // EX_OSERR
  }
  if (::getuid() != a.uid || ::geteuid() != a.uid || ::getegid() != a.gid || (a.uid != 0 && ::setuid(0) == 0)) {
    error = program + ": switching to the user " + a.name + " did not take effect";
    return 71;
  }
  return 0;
}

std::string trimmed(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

}  // namespace

std::optional<Account> lookup(const std::string& name, const Sources& sources) {
  if (name.empty()) return std::nullopt;
  if (auto a = find_passwd(sources.passwd_file, [&](const Account& x) { return x.name == name; })) {
    a->groups = groups_from_file(sources.group_file, a->name, a->gid);
    return a;
  }
  auto a = from_getent(sources, name);
  if (a && a->name != name) return std::nullopt;  // getent takes numbers too: "123" is not a name
  return a;
}

std::optional<Account> lookup_uid(uid_t uid, const Sources& sources) {
  if (auto a = find_passwd(sources.passwd_file, [&](const Account& x) { return x.uid == uid; })) {
    a->groups = groups_from_file(sources.group_file, a->name, a->gid);
    return a;
  }
  auto a = from_getent(sources, std::to_string(uid));
  if (a && a->uid != uid) return std::nullopt;
  return a;
}

std::string user_name(uid_t uid, const Sources& sources) {
  if (auto a = find_passwd(sources.passwd_file, [&](const Account& x) { return x.uid == uid; })) return a->name;
  return std::to_string(uid);
}

std::string group_name(gid_t gid, const Sources& sources) {
  std::ifstream in(sources.group_file);
  for (std::string line; std::getline(in, line);) {
    auto f = split(line, ':');
    if (f.size() >= 3 && !f[0].empty() && f[0][0] != '#' && f[0][0] != '+' && f[0][0] != '-')
      if (auto g = id_number(f[2]); g && *g == gid) return std::string(f[0]);
  }
  return std::to_string(gid);
}

std::string current_user(const Sources& sources) { return user_name(::geteuid(), sources); }

std::string ownership_hint(const std::string& path, const Sources& sources) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "cannot stat it: " + std::string(std::strerror(errno));
  const std::string me = current_user(sources), my_group = group_name(::getegid(), sources);
  return "owned by " + user_name(st.st_uid, sources) + ":" + group_name(st.st_gid, sources) + " " +
         mode_text(st.st_mode) + ", and this process runs as " + me + ": chown " + me + ":" + my_group + " " + path;
}

int become(const std::string& spool_dir, const Owner& owner, const std::string& program, std::string& error,
           std::string* became) {
  if (became) became->clear();
  if (::geteuid() != 0) return 0;
  std::optional<Account> target;
  if (trimmed(spool_dir) == trimmed(owner.system_spool)) {
    target = lookup(owner.user, owner.sources);
    if (!target) {
      error = program + ": the user " + owner.user + ", who owns the spool " + owner.system_spool +
              ", does not exist (or its passwd entry is malformed); refusing to work on it as root (the package "
              "creates it: adduser --system --group " + owner.user + ")";
      return 78;  // EX_CONFIG
    }
    // An account with root's uid or group would leave this process root in all but name (and
    // everything in the spool root's): refuse rather than carry on silently as root.
    if (target->uid == 0 || target->gid == 0) {
      error = program + ": the user " + owner.user + ", who owns the spool " + owner.system_spool + ", has uid " +
              std::to_string(target->uid) + " and gid " + std::to_string(target->gid) +
              "; refusing to work on it as root (it must be an account of its own, not root's uid or group)";
      return 78;  // EX_CONFIG
    }
  } else {
    struct stat st {};
    if (::stat(spool_dir.c_str(), &st) != 0 || st.st_uid == 0) return 0;  // root's own spool
    target = lookup_uid(st.st_uid, owner.sources);
    if (!target) target = Account{std::to_string(st.st_uid), st.st_uid, st.st_gid, {st.st_gid}};
  }
  if (target->uid == 0) return 0;
  if (int rc = switch_to(*target, program, error); rc != 0) return rc;
  if (became) *became = target->name;
  return 0;
}

}  // namespace nullq::privilege

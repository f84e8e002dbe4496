# Sourced by the other scripts: installs with apt whatever nullq needs that is missing (Debian 12).
# Safe to run again: it asks apt only when a package is missing.
# build-essential: dpkg-buildpackage (packaging/build-deb.sh) refuses to start without it, and a
# minimal Debian root (debootstrap --variant=minbase) does not have it.
nullq_packages=(build-essential meson ninja-build pkg-config g++ libuv1-dev libc-ares-dev libyaml-cpp-dev
                libgtest-dev googletest binutils python3 libssl-dev
                libcurl4-openssl-dev nlohmann-json3-dev)
nullq_packages+=(clang libclang-rt-14-dev)  # clang + libFuzzer: tests/fuzz (scripts/fuzz.sh)
# Test tools the suites run (not skipped when missing): Prometheus's parser of the textfile (promtool)
# and monitoring-plugins' check_mailq, which must read our mailq (tests/*/monitor_test.cpp).
nullq_packages+=(prometheus monitoring-plugins-standard)
nullq_packages+=(ccache)  # meson uses it when present: a second run of the test command rebuilds little
# What scripts/test.sh needs beyond building: the .deb (debhelper, dpkg-dev, fakeroot, lintian), the
# rpm (rpm, rpmlint), the unit's check (systemd-analyze) and the fresh root of the install test.
nullq_package_test_packages=(debhelper dpkg-dev fakeroot lintian rpm rpmlint systemd debootstrap)

install_deps() {
  local missing=()
  local p
  for p in "${nullq_packages[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The options of build-test, the tree the suites and the package checks run from: warnings are errors;
# -O2 for the fortify checks; no debug information, which costs a fifth of the compile time (the
# sanitizer tree, build-san, has it). The README's run command (scripts/demo.sh) builds its tree with
# the same compiler options, so the test command that follows takes those objects from ccache.
nullq_test_build_options=(-Dwerror=true -Doptimization=2 -Ddebug=false)

# meson setup that works on a fresh or an existing build directory.
setup_build() {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    rm -rf "$dir"
    meson setup "$dir" "$@" >/dev/null
  fi
}

# Sourced by the other scripts: installs with apt whatever nullq needs that is missing (Debian 12).
# Safe to run again: it asks apt only when a package is missing.
# build-essential: dpkg-buildpackage (packaging/build-deb.sh) refuses to start without it, and a
# minimal Debian root (debootstrap --variant=minbase) does not have it.
nullq_packages=(build-essential meson ninja-build pkg-config g++ libuv1-dev libc-ares-dev libyaml-cpp-dev
                libgtest-dev googletest binutils python3 libssl-dev)
nullq_packages+=(clang libclang-rt-14-dev)  # clang + libFuzzer: tests/fuzz (scripts/fuzz.sh)
nullq_packages+=(ccache)  # meson uses it when present: a second run of the test command rebuilds little

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

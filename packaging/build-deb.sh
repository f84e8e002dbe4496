#!/usr/bin/env bash
# Builds nullq_<version>_<arch>.deb on Debian 12 from this checkout (installs the build tools it needs).
# Usage: bash packaging/build-deb.sh [OUTDIR]   (default: ./dist)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$top/dist}")
. "$top/scripts/deps.sh"
install_deps debhelper dpkg-dev fakeroot
# The source tree goes to a fixed directory outside the checkout (see package_build_dir in
# scripts/deps.sh): ccache reuses the objects of an earlier build, from any clone, and the rpm's.
work=$(package_build_dir)
src=$(package_source_dir "$top")
export CCACHE_NOHASHDIR=true  # the meson build directory's name differs from the rpm's
exec 9>"$work.lock"
flock 9
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$src"
git -C "$top" ls-files -z | (cd "$top" && xargs -0 cp --parents -t "$src")
cp -r "$top/packaging/debian" "$src/debian"
(cd "$src" && dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || { tail -40 "$work/build.log"; exit 1; }
mkdir -p "$out"
cp "$work"/*.deb "$out"/
ls -l "$out"/*.deb

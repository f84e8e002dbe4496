#!/usr/bin/env bash
# Builds nullq_<version>_<arch>.deb on Debian 12 from this checkout (installs the build tools it needs).
# Usage: bash packaging/build-deb.sh [OUTDIR]   (default: ./dist)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$top/dist}")
. "$top/scripts/deps.sh"
install_deps debhelper dpkg-dev fakeroot
# A fixed build directory outside the checkout (not mktemp, not the checkout's path): dpkg-buildflags
# maps it with -ffile-prefix-map, so ccache reuses an earlier build's objects, from any clone, only
# when the path is the same each time. The lock keeps two builds out of each other's way.
work=${TMPDIR:-/var/tmp}/nullq-build-deb-$(id -u)
exec 9>"$work.lock"
flock 9
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/nullq"
git -C "$top" ls-files -z | (cd "$top" && xargs -0 cp --parents -t "$work/nullq")
cp -r "$top/packaging/debian" "$work/nullq/debian"
(cd "$work/nullq" && dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || { tail -40 "$work/build.log"; exit 1; }
mkdir -p "$out"
cp "$work"/*.deb "$out"/
ls -l "$out"/*.deb

#!/usr/bin/env bash
# Makes the pristine Debian 12 root that tests/package/install_test.sh installs the .deb into:
# `debootstrap --variant=minbase bookworm`, kept as a tarball so that it is made once per machine.
# Safe to run several times at once (a lock); the tarball appears whole (written aside, then renamed).
# scripts/test.sh starts it at the beginning, so that the download overlaps the compilers.
# Usage: bash tests/package/pristine_root.sh   (as root; prints the tarball's path on success)
#   NULLQ_INSTALL_CACHE: the tarball (default /var/cache/nullq-install-test/bookworm-minbase.tar.gz).
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${NULLQ_INSTALL_CACHE:-/var/cache/nullq-install-test/bookworm-minbase.tar.gz}
die() { echo "pristine root: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap)"
mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock 9
if [ -s "$cache" ]; then echo "$cache"; exit 0; fi
. scripts/deps.sh
install_deps debootstrap
mirror=$(grep -h '^URIs' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}' || true)
[ -n "$mirror" ] || mirror=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}' || true)
[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
work=$(mktemp -d /var/tmp/nullq-pristine-root.XXXXXX)
trap 'rm -rf "$work"' EXIT
t=$(date +%s)
debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; die "debootstrap --variant=minbase bookworm $mirror failed"; }
tar -C "$work/root" -czf "$cache.tmp.$$" . && mv "$cache.tmp.$$" "$cache"
echo "pristine root: made with debootstrap --variant=minbase bookworm $mirror in $(( $(date +%s) - t )) s" >&2
echo "$cache"

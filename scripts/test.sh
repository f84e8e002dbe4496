#!/usr/bin/env bash
# Installs what nullq needs, builds it twice — warnings as errors, then with AddressSanitizer and
# UndefinedBehaviorSanitizer — and runs every test in both builds; builds the .deb and checks it
# (lintian, the unit's sandbox, an install in a fresh Debian 12 root), builds and checks the rpm, and
# runs each fuzz target a few seconds. Ends with the closing line of the tests and a table of where
# the time went.
#
# On 2 cores the compilers are the bottleneck, so what does not compute runs beside them: the fresh
# Debian root downloads while the first tree compiles, and the packages build (and the install test
# runs) while the suites of the first tree run, which mostly wait on sockets, timers and fsync.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache (installed by deps.sh) keyed on paths relative to this checkout, so that another clone of
# the project (CI's) reuses what this machine compiled before.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
. scripts/deps.sh
. scripts/phases.sh
jobs=$(nproc)

# Everything the run needs, in one apt transaction (the package checks ask again; then nothing is missing).
phase deps install_deps "${nullq_package_test_packages[@]}"
phase_bg fresh-root bash tests/package/pristine_root.sh

build() {  # DIR MESON-OPTIONS...
  local dir=$1; shift
  setup_build "$dir" "$@" && ninja -C "$dir" -j "$jobs"
}
phase build-test build build-test "${nullq_test_build_options[@]}"

# The package pipeline needs build-test's nullq-testhost (the install test's smart host).
packages() {
  local debs status=0
  debs=$(mktemp -d)
  bash tests/package/check_deb.sh "$debs" || status=1   # the .deb builds, holds what it must, lintian is clean
  bash tests/package/check_unit.sh || status=1          # the unit's sandbox: systemd-analyze exposure <= 2.0
  bash tests/package/install_test.sh "$(ls "$debs"/nullq_*.deb 2>/dev/null || echo "$debs/none.deb")" || status=1
  bash tests/package/check_rpm.sh || status=1           # the spec builds with rpmbuild and Fedora's macros
  rm -rf "$debs"
  return $status
}
phase_bg packages packages

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
phase test-test meson test -C build-test --print-errorlogs --num-processes "$jobs"
phase build-san build build-san -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
phase test-san meson test -C build-san --print-errorlogs --num-processes "$jobs" --timeout-multiplier 3
# Every libFuzzer target (tests/fuzz) builds and survives a few seconds from its seed corpus.
phase fuzz bash scripts/fuzz.sh "${FUZZ_SECONDS:-5}"
phase_wait fresh-root
phase_wait packages

status=0
phase_report || status=1
python3 scripts/test_summary.py build-test/meson-logs/testlog.junit.xml build-san/meson-logs/testlog.junit.xml
exit $status

#!/usr/bin/env bash
# Installs what nullq needs, builds it twice — warnings as errors, then with AddressSanitizer and
# UndefinedBehaviorSanitizer — and runs every test in both builds; then builds the .deb and checks it
# (lintian, the unit's sandbox, an install in a fresh Debian 12 root) and builds and checks the rpm.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache (installed by deps.sh) keyed on paths relative to this checkout, so that another clone of
# the project (CI's) reuses what this machine compiled before.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
. scripts/deps.sh
install_deps

jobs=$(nproc)
setup_build build-test -Dwerror=true -Dbuildtype=debugoptimized
ninja -C build-test -j "$jobs"
setup_build build-san -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-san -j "$jobs"

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
status=0
meson test -C build-test --print-errorlogs --num-processes "$jobs" || status=1
meson test -C build-san --print-errorlogs --num-processes "$jobs" --timeout-multiplier 3 || status=1
debs=$(mktemp -d)
bash tests/package/check_deb.sh "$debs" || status=1   # the .deb builds, holds what it must, lintian is clean
bash tests/package/check_unit.sh || status=1          # the unit's sandbox: systemd-analyze exposure <= 2.0
bash tests/package/install_test.sh "$(ls "$debs"/nullq_*.deb 2>/dev/null || echo "$debs/none.deb")" || status=1  # debootstrap root
bash tests/package/check_rpm.sh || status=1           # the spec builds with rpmbuild and Fedora's macros
rm -rf "$debs"
# Every libFuzzer target (tests/fuzz) builds and survives a few seconds from its seed corpus.
bash scripts/fuzz.sh "${FUZZ_SECONDS:-5}" || status=1
python3 scripts/test_summary.py build-test/meson-logs/testlog.junit.xml build-san/meson-logs/testlog.junit.xml
exit $status

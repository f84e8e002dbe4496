#!/usr/bin/env bash
# Memory bound of nullq-send (not a test): COUNT queued messages of SIZE MiB each and a smart host
# that accepts connections and never answers; prints the daemon's peak RSS (VmHWM) and RSS samples.
#   bash bench/memory/run.sh [COUNT=200] [SIZE_MIB=25] [SECONDS=30]
# BUILD=build-test uses an existing build tree instead of the release tree build-bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-200}
size_mib=${2:-25}
seconds=${3:-30}
build=${BUILD:-build-bench}  # its own release build: setup_build reconfigures it
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

if [ -z "${BUILD:-}" ]; then
  . scripts/deps.sh
  install_deps python3
  setup_build "$build" -Dbuildtype=release -Dtests=false
fi
ninja -C "$build" src/bin/nullq-send >/dev/null
python3 bench/memory/memory.py "$build/src/bin/nullq-send" "$work" "$count" "$size_mib" "$seconds"

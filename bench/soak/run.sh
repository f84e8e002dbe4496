#!/usr/bin/env bash
# Soak run (not a test): nullq-send as a daemon against soak_server (random Z 10%, close mid-answer
# 1%, stall past the timeout 0.1%) while injectors send N messages through nullq-sendmail.
# Reports lost/duplicated messages, the daemon's RSS and fds every 10 s, and CPU per 1000 messages.
#   bash bench/soak/run.sh [N=20000] [INJECTORS=4]    (the issue's full run: N=1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20000}
injectors=${2:-4}
build=build-bench  # its own release build: setup_build reconfigures it
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

. scripts/deps.sh
install_deps python3
setup_build "$build" -Dbuildtype=release -Dtests=false
ninja -C "$build" src/bin/nullq-send src/bin/nullq-queue src/bin/nullq-sendmail >/dev/null
g++ -std=c++20 -O2 -pthread -o "$work/soak_server" bench/soak/soak_server.cpp
python3 bench/soak/soak.py "$build/src/bin" "$work" "$n" "$injectors"

#!/usr/bin/env bash
# Delivery benchmark (not a test): nullq-send over QMQP and QMTP vs Debian's nullmailer (QMQP) and a raw
# parallel QMQP client, same local receiver, same run. Usage: bash bench/deliver/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-5000}
build=build-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

. scripts/deps.sh
install_deps python3
setup_build "$build" -Dbuildtype=release -Dtests=false
ninja -C "$build" src/bin/nullq-send src/bin/nullq-queue src/bin/nullq-oauth src/bin/nullq-testhost >/dev/null
g++ -std=c++20 -O2 -pthread -o "$work/benchtool" bench/deliver/benchtool.cpp $(pkg-config --cflags --libs libuv)
gcc -O2 -static -o "$work/maxrss" bench/deliver/maxrss.c

# nullmailer's qmqp protocol module, unpacked (not installed).
(cd "$work" && apt-get download nullmailer >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download nullmailer >/dev/null; })
dpkg-deb -x "$work"/nullmailer_*.deb "$work/nm"

python3 bench/deliver/bench.py "$build/src/bin" "$work/benchtool" "$work/nm/usr/lib/nullmailer/qmqp" "$work/maxrss" "$n"
# SMTP: nullmailer's smtp module (plain and --starttls --insecure), nullq smtp:// (plain and
# STARTTLS) and a raw pipelining client, all against nullq-testhost --smtp as the receiver.
python3 bench/deliver/smtp_bench.py "$build/src/bin" "$work/benchtool" "$work/nm/usr/lib/nullmailer/smtp" "$work/maxrss" "$n"
# Provider limits: nullq learning them, nullq told them (rate:, connections:), and nullmailer's smtp
# module, each against a fresh nullq-testhost --smtp limited to 3 connections and a fixed rate window.
python3 bench/deliver/limits_bench.py "$build/src/bin" "$work/nm/usr/lib/nullmailer/smtp" "$(( n < 1000 ? n : 1000 ))"

#!/usr/bin/env bash
# nullq's main job, end to end, without root set-up: start an embedded receiving server (the test smart
# host, QMTP on 127.0.0.1, a free port), send a message through `sendmail`, let `nullq-send --once`
# deliver it from the queue, and print what arrived.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true  # as scripts/test.sh: its first tree reuses these objects
. scripts/deps.sh
install_deps

setup_build build-demo -Dtests=false "${nullq_test_build_options[@]}"
ninja -C build-demo >/dev/null
bin=$PWD/build-demo/src/bin

work=$(mktemp -d /tmp/nullq-demo.XXXXXX)
receiver=
cleanup() {
  [ -n "$receiver" ] && kill "$receiver" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The receiver: QMTP on 127.0.0.1, port chosen by the kernel, stops by itself after one message.
mkdir "$work/received"
"$bin/nullq-testhost" --bind 127.0.0.1 --qmtp --store "$work/received" --count 1 --timeout 60 \
  --ready-file "$work/ready" >"$work/receiver.log" 2>&1 &
receiver=$!
for _ in $(seq 1 100); do [ -s "$work/ready" ] && break; sleep 0.05; done
port=$(awk '$1 == "qmtp" { print $3 }' "$work/ready")
[ -n "$port" ] || { echo "demo: the receiver did not start" >&2; cat "$work/receiver.log" >&2; exit 1; }
echo "== receiver listening on 127.0.0.1:$port (QMTP)"

# 2. A private spool and a one-host config: no root, no set-up step.
cat >"$work/nullq.yaml" <<YAML
hostname: demo.example
smarthosts:
  - qmtp://127.0.0.1:$port
queue:
  dir: $work/spool
YAML
export NULLQ_CONFIG=$work/nullq.yaml

# 3. sendmail, the way cron calls it.
echo "== sendmail -t -i"
printf 'To: ops@example.org\nSubject: nullq demo\n\nHello from nullq, sent at %s.\n' "$(date -u)" |
  "$bin/nullq-sendmail" -t -i
echo "== queued (mailq):"
(cd "$work" && ln -s "$bin/nullq-sendmail" mailq && ./mailq)

# 4. Flush the queue once, as cron or `sendmail -q` would.
echo "== nullq-send --once"
"$bin/nullq-send" --once --stderr

# 5. What arrived.
wait "$receiver"; receiver=
echo "== the receiver got:"
cat "$work/receiver.log"
cat "$work"/received/*

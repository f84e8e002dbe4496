#!/usr/bin/env bash
# Injection benchmark (not a test): N 1 KB messages, one injector process per message, durable, with
# nullq (nullq-sendmail -> nullq-queue), with Debian's nullmailer (sendmail -> nullmailer-inject ->
# nullmailer-queue) and with a raw write+fsync+link+dir-fsync loop, in the same run on the same disk.
# Prints the rates and the ratios. Needs root (nullmailer's compiled-in paths are prepared here).
# Usage: bash bench/inject/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-1000}
. scripts/deps.sh
install_deps bc
build=build-bench
setup_build "$build" -Dbuildtype=release -Dtests=false
ninja -C "$build" src/bin/nullq-sendmail src/bin/nullq-queue >/dev/null

work=$(mktemp -d /var/tmp/nullq-bench.XXXXXX)   # a disk, not tmpfs: fsync must cost what it costs
made=()
cleanup() {
  for p in "${made[@]}"; do rm -rf "$p"; done
  rm -rf "$work"
}
trap cleanup EXIT
g++ -std=c++20 -O2 -o "$work/injbench" bench/inject/injbench.cpp

# nullmailer, unpacked (not installed). Its programs exec each other at compiled-in paths.
(cd "$work" && { apt-get download nullmailer >/dev/null 2>&1 || { apt-get update -qq && apt-get download nullmailer >/dev/null 2>&1; }; })
dpkg-deb -x "$work"/nullmailer_*.deb "$work/nm"
link_if_absent() {  # target path
  if [ ! -e "$2" ]; then ln -s "$1" "$2"; made+=("$2"); fi
}
link_if_absent "$work/nm/usr/bin/nullmailer-inject" /usr/bin/nullmailer-inject
link_if_absent "$work/nm/usr/sbin/nullmailer-queue" /usr/sbin/nullmailer-queue
if [ ! -d /var/spool/nullmailer ]; then
  mkdir -p /var/spool/nullmailer/{queue,tmp,failed}
  mkfifo /var/spool/nullmailer/trigger
  chown -R mail:mail /var/spool/nullmailer   # nullmailer-queue switches to the mail user
  made+=(/var/spool/nullmailer)
fi
if [ ! -d /etc/nullmailer ]; then
  mkdir -p /etc/nullmailer
  echo bench.example > /etc/nullmailer/me
  echo "127.0.0.1 qmqp" > /etc/nullmailer/remotes
  made+=(/etc/nullmailer)
fi

cat >"$work/nullq.yaml" <<YAML
hostname: bench.example
smarthosts: [qmqp://127.0.0.1]
queue:
  dir: $work/nullq-spool
YAML
export NULLQ_CONFIG=$work/nullq.yaml
"$build/src/bin/nullq-sendmail" -t </dev/null >/dev/null 2>&1 || true   # creates the spool

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
echo "injecting $n messages of 1 KB with each, one process chain per message, on $(df -P "$work" | awk 'NR==2 {print $1}')"
raw=$("$work/injbench" raw "$n" "$work/raw")
nq=$("$work/injbench" spawn "$n" -- "$PWD/$build/src/bin/nullq-sendmail" -t -i)
nm=$("$work/injbench" spawn "$n" -- "$work/nm/usr/sbin/sendmail" -t -i)
count_nq=$(ls "$work/nullq-spool/new" | wc -l)
[ "$count_nq" -eq "$n" ] || { echo "nullq queued $count_nq of $n" >&2; exit 1; }
raw_rate=$(echo "$raw" | field rate)
nq_rate=$(echo "$nq" | field rate)
nm_rate=$(echo "$nm" | field rate)
printf '%-34s %10s msgs/s\n' "raw write+fsync+link loop" "$raw_rate" "nullq (sendmail + nullq-queue)" "$nq_rate" \
  "nullmailer (sendmail+inject+queue)" "$nm_rate"
printf 'nullq / nullmailer = %.2f   nullq / raw loop = %.2f\n' \
  "$(echo "$nq_rate / $nm_rate" | bc -l)" "$(echo "$nq_rate / $raw_rate" | bc -l)"
printf 'peak RSS of the nullq injector processes: %s KB (nullmailer: %s KB)\n' \
  "$(echo "$nq" | field maxrss_kb)" "$(echo "$nm" | field maxrss_kb)"

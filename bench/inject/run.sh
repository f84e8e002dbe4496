#!/usr/bin/env bash
# Injection benchmark (not a test): N 1 KB messages, one injector process per message, durable, with
# nullq as an ordinary user (nullq-sendmail -> nullq-queue) and as root (nullq-sendmail alone: root
# may write the spool, so it commits itself), with Debian's nullmailer (sendmail -> nullmailer-inject
# -> nullmailer-queue) and with a raw write+fsync+link+dir-fsync loop, in the same run on the same disk.
# Beside them, the floor of any injector that is one process per message: commit1.c (the raw loop's
# commit and nothing else) built against glibc and against musl, and a glibc program that does nothing.
# Prints the rates and the ratios. Needs root (nullmailer's compiled-in paths are prepared here).
# Usage: bash bench/inject/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-1000}
. scripts/deps.sh
install_deps bc musl-tools
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
# The floor (see bench/README.md): glibc's start-up alone costs a noticeable part of a message's time
# here, and nullq's injector has to be a glibc program. The glibc builds are static-pie like nullq's
# programs; the no-op shows the bare start-up; musl shows the same commit without glibc's start-up.
gcc -O2 -static-pie -o "$work/commit1-glibc" bench/inject/commit1.c
echo 'int main(void) { return 0; }' | gcc -O2 -static-pie -x c -o "$work/noop-glibc" -
if command -v musl-gcc >/dev/null; then
  musl-gcc -O2 -static -o "$work/commit1-musl" bench/inject/commit1.c
else
  echo "musl-gcc not found: no musl contender" >&2
fi

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

# The ordinary user is nobody, running copies of the programs from a directory it can reach, into a
# spool laid out as the package lays out /var/spool/nullq (etc/tmpfiles.d/nullq.conf), with root
# standing in for the nullq user and nogroup for the drop group: nobody's nullq-queue has exactly the
# access the set-gid one has there (nullq-queue refuses -d when set-id, so it runs without the bit).
chmod 0755 "$work"
mkdir "$work/bin"
cp "$build/src/bin/nullq-sendmail" "$build/src/bin/nullq-queue" "$work/bin/"
user=65534:65534
user_spool=$work/user-spool
install -d -m 0755 "$user_spool"
install -d -m 1730 -g 65534 "$user_spool/tmp"
install -d -m 1770 -g 65534 "$user_spool/new"
install -d -m 0700 "$user_spool/queue" "$user_spool/failed"
mkfifo -m 0620 "$user_spool/trigger" && chgrp 65534 "$user_spool/trigger"
for who in root user; do
  spool=$work/nullq-spool
  [ "$who" = user ] && spool=$user_spool
  cat >"$work/nullq-$who.yaml" <<YAML
hostname: bench.example
smarthosts: [qmqp://127.0.0.1]
queue:
  dir: $spool
YAML
  chmod 0644 "$work/nullq-$who.yaml"
done
NULLQ_CONFIG=$work/nullq-root.yaml "$work/bin/nullq-sendmail" -t </dev/null >/dev/null 2>&1 || true   # creates the spool

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
# commit1 as the injector, one process per message, into a fresh DIR each round like the raw loop's;
# prints the rate, after checking that every message of the round was queued and no tmp file is left.
commit_round() {  # program dir
  mkdir -p "$2/tmp" "$2/new"
  local out c
  out=$("$work/injbench" spawn "$per" -- "$1" "$2") || exit 1   # we run inside $(...): no set -e here
  c=$(ls "$2/new" | wc -l)
  [ "$c" -eq "$per" ] || { echo "$1 queued $c of $per" >&2; exit 1; }
  [ -z "$(ls "$2/tmp")" ] || { echo "$1 left files in $2/tmp" >&2; exit 1; }
  rm -rf "$2"
  echo "$out" | field rate
}
# Shared machines are noisy: the contenders run in alternating rounds, and the report is the
# median of the per-round figures, so a slow spell hits all of them instead of one.
rounds=${ROUNDS:-5}
per=$(( (n + rounds - 1) / rounds ))
echo "injecting $((per * rounds)) messages of 1 KB with each, one process chain per message, in $rounds alternating rounds, on $(df -P "$work" | awk 'NR==2 {print $1}')"
: >"$work/rounds"
nq_rss=0 nm_rss=0 nqr_rss=0
for r in $(seq 1 "$rounds"); do
  raw=$("$work/injbench" raw "$per" "$work/raw$r")
  rm -rf "$work/raw$r"
  nq=$(NULLQ_CONFIG=$work/nullq-user.yaml "$work/injbench" spawn "$per" -u "$user" -- "$work/bin/nullq-sendmail" -t -i)
  nqr=$(NULLQ_CONFIG=$work/nullq-root.yaml "$work/injbench" spawn "$per" -- "$work/bin/nullq-sendmail" -t -i)
  nm=$("$work/injbench" spawn "$per" -- "$work/nm/usr/sbin/sendmail" -t -i)
  gc=$(commit_round "$work/commit1-glibc" "$work/gc$r")
  mc=-   # no musl-gcc: a placeholder, reported as n/a
  if [ -x "$work/commit1-musl" ]; then mc=$(commit_round "$work/commit1-musl" "$work/mc$r"); fi
  noop=$("$work/injbench" spawn "$per" -- "$work/noop-glibc" | field rate)
  # Columns: raw nullq(user) nullmailer glibc-commit musl-commit glibc-no-op nullq(root).
  echo "$(echo "$raw" | field rate) $(echo "$nq" | field rate) $(echo "$nm" | field rate) $gc $mc $noop $(echo "$nqr" | field rate)" >>"$work/rounds"
  nq_rss=$(echo "$nq" | field maxrss_kb)
  nqr_rss=$(echo "$nqr" | field maxrss_kb)
  nm_rss=$(echo "$nm" | field maxrss_kb)
done
for spool in "$work/nullq-spool" "$user_spool"; do
  count_nq=$(ls "$spool/new" | wc -l)
  [ "$count_nq" -eq $((per * rounds)) ] || { echo "nullq queued $count_nq of $((per * rounds)) in $spool" >&2; exit 1; }
  [ -z "$(ls "$spool/tmp")" ] || { echo "nullq left files in $spool/tmp" >&2; exit 1; }
done
# The root row must really be one process: its files are root's, the user row's nobody's.
[ "$(stat -c %u "$work/nullq-spool/new/$(ls "$work/nullq-spool/new" | head -1)")" = 0 ] || { echo "root row: not root's files" >&2; exit 1; }
[ "$(stat -c %u:%g "$user_spool/new/$(ls "$user_spool/new" | head -1)")" = 65534:65534 ] || { echo "user row: not nobody's files" >&2; exit 1; }
raw_rate=$(awk '{print $1}' "$work/rounds" | median)
nq_rate=$(awk '{print $2}' "$work/rounds" | median)
nm_rate=$(awk '{print $3}' "$work/rounds" | median)
printf '%-34s %10s msgs/s (median of %s rounds)\n' "raw write+fsync+link loop" "$raw_rate" "$rounds" \
  "nullq (sendmail + nullq-queue)" "$nq_rate" "$rounds" "nullmailer (sendmail+inject+queue)" "$nm_rate" "$rounds"
printf 'nullq / nullmailer = %.2f   nullq / raw loop = %.2f   (medians of the per-round ratios)\n' \
  "$(awk '{print $2 / $3}' "$work/rounds" | median)" "$(awk '{print $2 / $1}' "$work/rounds" | median)"
printf 'per round (raw nullq nullmailer):'; awk '{printf "  %s/%s/%s", $1, $2, $3}' "$work/rounds"; echo
printf 'peak RSS of the nullq injector processes: %s KB (nullmailer: %s KB)\n' "$nq_rss" "$nm_rss"
# The floor, after the lines above (which other notes quote, so their format stays as it is).
gc_rate=$(awk '{print $4}' "$work/rounds" | median)
noop_rate=$(awk '{print $6}' "$work/rounds" | median)
gc_raw=$(printf '%.2f' "$(awk '{print $4 / $1}' "$work/rounds" | median)")
nq_gc=$(printf '%.2f' "$(awk '{print $2 / $4}' "$work/rounds" | median)")
mc_rate=n/a mc_raw=n/a
if [ -x "$work/commit1-musl" ]; then
  mc_rate=$(awk '{print $5}' "$work/rounds" | median)
  mc_raw=$(printf '%.2f' "$(awk '{print $5 / $1}' "$work/rounds" | median)")
fi
printf '%-34s %10s msgs/s (median of %s rounds)\n' "glibc commit, one process per msg" "$gc_rate" "$rounds" \
  "musl commit, one process per msg" "$mc_rate" "$rounds" "glibc no-op, one process per msg" "$noop_rate" "$rounds"
printf 'glibc commit / raw loop = %s   musl commit / raw loop = %s   nullq / glibc commit = %s   (medians of the per-round ratios)\n' \
  "$gc_raw" "$mc_raw" "$nq_gc"
printf 'per round (glibc-commit musl-commit glibc-no-op):'; awk '{printf "  %s/%s/%s", $4, $5, $6}' "$work/rounds"; echo
# Root (and the nullq user) commit in one process: nullq-sendmail alone.
nqr_rate=$(awk '{print $7}' "$work/rounds" | median)
printf '%-34s %10s msgs/s (median of %s rounds)\n' "nullq as root (sendmail alone)" "$nqr_rate" "$rounds"
printf 'nullq root / nullmailer = %.2f   nullq root / glibc commit = %.2f   nullq root / nullq user = %.2f   (medians of the per-round ratios)\n' \
  "$(awk '{print $7 / $3}' "$work/rounds" | median)" "$(awk '{print $7 / $4}' "$work/rounds" | median)" \
  "$(awk '{print $7 / $2}' "$work/rounds" | median)"
printf 'per round (nullq-root nullq-user nullmailer glibc-commit):'; awk '{printf "  %s/%s/%s/%s", $7, $2, $3, $4}' "$work/rounds"; echo
printf 'peak RSS of the nullq injector as root: %s KB\n' "$nqr_rss"

#!/usr/bin/env bash
# The .deb on a fresh machine, end to end: a pristine Debian 12 root (debootstrap --variant=minbase
# bookworm, cached as a tarball and extracted anew each run), `apt-get install ./nullq_*.deb` there,
# the daemon started as nullq-send.service starts it (its ExecStart=, User=, Group=, groups, UMask=,
# NoNewPrivileges= and a systemd-like environment, read from the installed unit; the chroot has no
# systemd), mail sent by an ordinary user through bsd-mailx's `mail`, delivered to the test smart host
# (nullq-testhost on 127.0.0.1, a kernel-chosen port; the chroot shares this network namespace),
# `mailq` as that user and as root, then `apt-get purge nullq` and a list of what remains.
# Works nested (inside a chroot that runs scripts/test.sh): it mounts proc and dev in its own root and
# unmounts them on every exit path.
#
# Usage: bash tests/package/install_test.sh [path/to/nullq_VERSION_ARCH.deb]   (as root)
#   Without a .deb it builds one (packaging/build-deb.sh). nullq-testhost comes from build-test/.
#   NULLQ_INSTALL_CACHE: the pristine root's tarball (default /var/cache/nullq-install-test/bookworm-minbase.tar.gz).
# Output: one "install:" line per step; the last line is "install: ok (...)" or the failure; exit 1 on any.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
t0=$(date +%s)
say() { echo "install: $*"; }
die() { echo "install: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"
. scripts/deps.sh

work=$(mktemp -d /var/tmp/nullq-install-test.XXXXXX)
root=$work/root
daemon_pid= host_pid=

# Unmounts everything under $root (deepest first); true only if nothing is left mounted there.
unmount_root() {
  local m
  for _ in 1 2 3; do
    mapfile -t mounts < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r)
    [ ${#mounts[@]} -eq 0 ] && return 0
    for m in "${mounts[@]}"; do umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  done
  ! awk -v r="$root" '$2 == r || index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
}
cleanup() {
  local rc=$?
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null || true
  if unmount_root; then
    rm -rf "$work"
  else
    echo "install: could not unmount everything under $root; left $work in place" >&2
    rc=1
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
              DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# --- the .deb and the test smart host
deb=${1:-}
if [ -z "$deb" ]; then
  say "building the .deb (packaging/build-deb.sh)"
  bash packaging/build-deb.sh "$work/deb" >"$work/build-deb.log" 2>&1 || { tail -20 "$work/build-deb.log" >&2; die "packaging/build-deb.sh failed"; }
  deb=$(ls "$work"/deb/nullq_*.deb)
fi
[ -f "$deb" ] || die "no such .deb: $deb"
testhost=$top/build-test/src/bin/nullq-testhost
if [ ! -x "$testhost" ]; then
  setup_build build-test "${nullq_test_build_options[@]}"
  ninja -C build-test src/bin/nullq-testhost >/dev/null
fi

# --- the pristine root: made once per machine (tests/package/pristine_root.sh), extracted fresh every run
cache=$(bash tests/package/pristine_root.sh) || die "no pristine root"
mkdir -m 0755 "$root"   # the root directory of a machine: users must traverse it
tar -C "$root" -xzf "$cache"
chmod 0755 "$root"   # tar gives it the mode of the directory the cache was made from
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
# What a fresh machine holds, to tell later what the package left behind.
snapshot() { chroot "$root" find / -xdev \( -path /proc -o -path /dev -o -path /sys -o -path /tmp \) -prune -o -print | sort; }
snapshot >"$work/before"
say "fresh root from $cache ($(( $(date +%s) - t0 )) s so far)"

# --- apt-get install ./nullq_*.deb, then a real caller: bsd-mailx (its Depends: default-mta |
#     mail-transport-agent must be met by nullq, not pull in exim4)
cp "$deb" "$root/tmp/"
debname=$(basename "$deb")
in_root apt-get update -qq >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; die "apt-get update failed in the fresh root"; }
in_root sh -c "cd /tmp && apt-get install -y -q ./$debname" >>"$work/apt.log" 2>&1 ||
  { tail -30 "$work/apt.log" >&2; die "apt-get install ./$debname failed"; }
say "apt-get install ./$debname: ok"
in_root apt-get install -y -q bsd-mailx >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; die "apt-get install bsd-mailx failed"; }
for other in exim4-base exim4-daemon-light postfix; do
  ! in_root dpkg-query -W -f='${Status}' "$other" 2>/dev/null | grep -q 'install ok installed' ||
    die "installing bsd-mailx pulled in $other: nullq's Provides: mail-transport-agent did not count"
done
say "apt-get install bsd-mailx: ok (no other MTA pulled in)"

# --- what postinst made: accounts, the setgid injector, the spool as tmpfiles.d says
in_root getent passwd nullq >/dev/null || die "no nullq user"
for g in nullq nullq-drop; do in_root getent group "$g" >/dev/null || die "no $g group"; done
perm=$(in_root stat -c '%A %U %G' /usr/libexec/nullq/nullq-queue)
[ "$perm" = "-rwxr-sr-x root nullq-drop" ] || die "/usr/libexec/nullq/nullq-queue is '$perm', not '-rwxr-sr-x root nullq-drop'"
in_root dpkg-statoverride --list /usr/libexec/nullq/nullq-queue | grep -qx 'root nullq-drop 2755 /usr/libexec/nullq/nullq-queue' ||
  die "no dpkg-statoverride for nullq-queue (the bit would not survive an upgrade)"
say "nullq-queue: $perm (dpkg-statoverride)"
while read -r type path mode user group _; do
  case $type in d|p|f) ;; *) continue ;; esac
  case $type in d) want_type=directory ;; p) want_type=fifo ;; f) want_type=regular ;; esac
  got=$(in_root stat -c '%F %a %U %G' "$path" 2>/dev/null) || die "postinst did not create $path (tmpfiles.d: $type $path $mode $user $group)"
  case $got in "$want_type"*" ${mode#0} $user $group") ;; *) die "$path is '$got'; tmpfiles.d/nullq.conf says $type $mode $user $group" ;; esac
done < <(grep -v '^#' "$root/usr/lib/tmpfiles.d/nullq.conf")
say "spool: every entry of tmpfiles.d/nullq.conf present with its mode and owner"

# --- the test smart host, and the config pointing at it
"$testhost" --bind 127.0.0.1 --qmtp --store "$work/received" --count 1 --timeout 180 --ready-file "$work/ready" \
  >"$work/testhost.log" 2>&1 &
host_pid=$!
mkdir -p "$work/received"
for _ in $(seq 1 100); do [ -s "$work/ready" ] && break; sleep 0.05; done
port=$(awk '$1 == "qmtp" { print $3 }' "$work/ready" 2>/dev/null || true)
[ -n "$port" ] || { cat "$work/testhost.log" >&2; die "nullq-testhost did not start"; }
printf 'hostname: install-test.example\nsmarthosts:\n  - qmtp://127.0.0.1:%s\n' "$port" >"$root/etc/nullq/nullq.yaml"
say "smart host: nullq-testhost on 127.0.0.1:$port (QMTP); /etc/nullq/nullq.yaml points at it"

# --- an ordinary user sends mail with bsd-mailx; mailq as that user and as root
in_root useradd -m -s /bin/bash alice
printf 'Hello from the install test.\n' |
  in_root runuser -u alice -- env HOME=/home/alice USER=alice LOGNAME=alice mail -s 'nullq install test' ops@example.org ||
  die "mail (bsd-mailx) as alice failed"
say "alice: mail -s 'nullq install test' ops@example.org: queued"
# A login shell: the PATH ordinary users have (no sbin), so this is /usr/bin/mailq.
which_mailq=$(in_root runuser -l alice -c 'command -v mailq') || die "mailq is not on an ordinary user's PATH"
[ "$which_mailq" = /usr/bin/mailq ] || die "alice's mailq is $which_mailq, not /usr/bin/mailq"
rc=0; in_root runuser -l alice -c mailq >"$work/mailq.alice" 2>&1 || rc=$?
# The queue is private to the nullq user (tmpfiles.d): users count it from the running nullq-send's
# status file; with none running yet, a one-line reason and EX_UNAVAILABLE, not the list.
[ $rc -eq 69 ] && grep -q 'not running' "$work/mailq.alice" && ! grep -q 'ops@example.org' "$work/mailq.alice" ||
  { cat "$work/mailq.alice" >&2; die "mailq as alice without nullq-send: exit $rc (want 69 and a one-line reason, no queue contents)"; }
say "alice: $which_mailq: exit 69: $(head -1 "$work/mailq.alice")"
in_root mailq >"$work/mailq.root" 2>&1 || { cat "$work/mailq.root" >&2; die "mailq as root failed"; }
grep -q '^1 message queued' "$work/mailq.root" && grep -q 'from <alice@install-test.example>' "$work/mailq.root" &&
  grep -q 'to   <ops@example.org>' "$work/mailq.root" || { cat "$work/mailq.root" >&2; die "mailq as root does not show alice's message"; }
say "root: mailq shows 1 message from <alice@install-test.example> to <ops@example.org>"

# --- the daemon, started as the installed unit starts it
unit=$root/usr/lib/systemd/system/nullq-send.service
key() { sed -n "s/^$1=//p" "$unit" | tail -1; }
for unsupported in Environment EnvironmentFile ExecStartPre WorkingDirectory RootDirectory StateDirectory RuntimeDirectory; do
  ! grep -q "^$unsupported=" "$unit" || die "the unit sets $unsupported=, which this test does not reproduce yet"
done
exec_start=$(key ExecStart) user=$(key User) group=$(key Group) supp=$(key SupplementaryGroups) umask=$(key UMask)
[ -n "$exec_start" ] && [ -n "$user" ] || die "the unit has no ExecStart= or User="
# systemd: the user's groups from the group database, plus SupplementaryGroups=.
groups=$( { in_root id -Gn "$user" | tr ' ' '\n'; printf '%s\n' $supp; } | grep -vx "${group:-$user}" | sort -u | paste -sd, -)
home=$(in_root getent passwd "$user" | cut -d: -f6); shell=$(in_root getent passwd "$user" | cut -d: -f7)
priv=(setpriv --reuid="$user" --regid="${group:-$user}" ${groups:+--groups="$groups"})
[ "$(key NoNewPrivileges)" = yes ] && priv+=(--no-new-privs)
chroot "$root" /bin/sh -c 'umask "$1"; shift; exec "$@"' sh "${umask:-0022}" "${priv[@]}" \
  /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" USER="$user" \
  LOGNAME="$user" SHELL="$shell" $exec_start >"$work/daemon.log" 2>&1 &
daemon_pid=$!
say "daemon: $exec_start as $user:${group:-$user} (groups ${groups:-none}, umask ${umask:-0022}$([ "$(key NoNewPrivileges)" = yes ] && echo ', no_new_privs'))"
for _ in $(seq 1 600); do
  [ -n "$(ls "$work/received")" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; die "nullq-send exited before delivering"; }
  sleep 0.1
done
got=$(ls "$work"/received/*.eml 2>/dev/null | head -1)
[ -n "$got" ] || { cat "$work/daemon.log" "$work/testhost.log" >&2; in_root mailq >&2 || true; die "nothing delivered to the smart host within 60 s"; }
grep -qx 'X-Testhost-Sender: <alice@install-test.example>' "$got" && grep -qx 'X-Testhost-Recipient: <ops@example.org>' "$got" &&
  grep -q '^Subject: nullq install test' "$got" && grep -qx 'Hello from the install test.' "$got" ||
  { cat "$got" >&2; die "the smart host got the wrong message"; }
say "delivered: $(grep -m1 '^received' "$work/testhost.log")"
wait "$host_pid" || die "nullq-testhost failed"; host_pid=
for _ in $(seq 1 100); do in_root mailq 2>&1 | grep -q 'Mail queue is empty' && break; sleep 0.1; done
in_root mailq >"$work/mailq.root" 2>&1 && grep -q 'Mail queue is empty' "$work/mailq.root" ||
  { cat "$work/mailq.root" >&2; die "mailq as root after delivery: the queue is not empty"; }
say "root: mailq after delivery: Mail queue is empty"
# The daemon's status file (UMask=0077 in the unit, written 0644 all the same) serves alice's mailq.
for _ in $(seq 1 100); do in_root runuser -l alice -c mailq 2>/dev/null | grep -qx 'Mail queue is empty' && break; sleep 0.1; done
rc=0; in_root runuser -l alice -c mailq >"$work/mailq.alice" 2>"$work/mailq.alice.err" || rc=$?
[ $rc -eq 0 ] && [ "$(cat "$work/mailq.alice")" = "Mail queue is empty" ] && grep -q root "$work/mailq.alice.err" ||
  { cat "$work/mailq.alice" "$work/mailq.alice.err" >&2; in_root ls -l /var/spool/nullq >&2; die "mailq as alice with nullq-send running: exit $rc (want 0 and the count line)"; }
say "alice: mailq with nullq-send running: exit 0: Mail queue is empty ($(cat "$work/mailq.alice.err"))"
kill "$daemon_pid"; rc=0; wait "$daemon_pid" || rc=$?; daemon_pid=
[ $rc -eq 0 ] || { cat "$work/daemon.log" >&2; die "nullq-send exited $rc on SIGTERM"; }
say "daemon: stopped by SIGTERM, exit 0"

# --- apt-get purge nullq, and what remains
nullq_uid=$(in_root id -u nullq); drop_gid=$(in_root getent group nullq-drop | cut -d: -f3); nullq_gid=$(in_root getent group nullq | cut -d: -f3)
in_root apt-get purge -y -q nullq >"$work/purge.log" 2>&1 || { tail -20 "$work/purge.log" >&2; die "apt-get purge nullq failed"; }
say "apt-get purge nullq: removed $(sed -n 's/^Purg \([^ ]*\).*/\1/p; s/^Removing \([^ ]*\) .*/\1/p' "$work/purge.log" | sort -u | paste -sd' ' -)"
status=$(in_root dpkg-query -W -f='${Status}' nullq 2>/dev/null || true)
case $status in ''|*not-installed) ;; *) die "dpkg still has nullq after purge: $status" ;; esac
rm -f "$root/tmp/$debname"
left=$(chroot "$root" find / -xdev \( -path /proc -o -path /dev -o -path /sys \) -prune -o \( -name '*nullq*' -o -uid "$nullq_uid" -o -gid "$drop_gid" -o -gid "$nullq_gid" \) -print |
       grep -v '^/var/log/' || true)
[ -z "$left" ] || die "after purge, still there: $(echo $left)"
! in_root dpkg-statoverride --list | grep -q nullq || die "after purge, a dpkg-statoverride for nullq is left"
snapshot >"$work/after"
new=$(comm -13 "$work/before" "$work/after" | grep -v -e '^/var/lib/apt/lists' -e '^/var/cache/' -e '^/home/alice' || true)
say "after purge: no file named nullq or owned by nullq/nullq-drop; kept, as Debian policy has it:"
say "  the system accounts: $(grep -h '^nullq' "$root/etc/passwd" "$root/etc/group" | cut -d: -f1,3 | paste -sd' ' -) (postrm leaves users and groups)"
say "  apt's and dpkg's logs naming nullq: $(grep -l nullq "$root"/var/log/apt/* "$root"/var/log/dpkg.log 2>/dev/null | sed "s|^$root||" | paste -sd' ' -)"
say "  paths new since the fresh root (bsd-mailx's dependencies that apt left, logs, alice): $(echo "$new" | grep -c .)"
echo "$new" | sed 's/^/install:     /'
say "ok ($(( $(date +%s) - t0 )) s)"

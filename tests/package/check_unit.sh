#!/usr/bin/env bash
# The systemd unit's sandbox: `systemd-analyze security --offline=true` must rate
# etc/systemd/nullq-send.service at an overall exposure of at most 2.0, and the settings the daemon
# depends on must be there (it writes only its spool, runs as nullq with the drop group to read what
# nullq-queue wrote, and keeps AF_INET/AF_INET6/AF_UNIX).
# Usage: bash tests/package/check_unit.sh   (prints "unit: ok (exposure X)" or what is wrong; exit 1 then)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/deps.sh
install_deps systemd
unit=${UNIT:-etc/systemd/nullq-send.service}
limit=2.0
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
figure=$(printf '%s\n' "$out" | sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
fail=0
if [ -z "$figure" ]; then
  echo "unit: systemd-analyze gave no exposure figure for $unit:" >&2
  printf '%s\n' "$out" | tail -5 >&2
  exit 1
fi
if ! awk -v f="$figure" -v l="$limit" 'BEGIN { exit !(f <= l) }'; then
  echo "unit: $unit is rated $figure, above $limit; what counts:" >&2
  printf '%s\n' "$out" | grep '✗' >&2
  fail=1
fi
# The sandbox must not take away what delivery needs.
for line in 'User=nullq' 'Group=nullq' 'SupplementaryGroups=nullq-drop' 'ReadWritePaths=/var/spool/nullq /var/lib/nullq' \
            'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' 'ExecStart=/usr/sbin/nullq-send'; do
  grep -qx -- "$line" "$unit" || { echo "unit: $unit lacks '$line'" >&2; fail=1; }
done
for line in 'PrivateNetwork=yes' 'PrivateUsers=yes' 'IPAddressDeny=any'; do
  ! grep -qx -- "$line" "$unit" || { echo "unit: $unit has '$line': the daemon could not deliver or read the queue" >&2; fail=1; }
done
[ $fail -eq 0 ] && echo "unit: ok (exposure $figure, at most $limit)"
exit $fail

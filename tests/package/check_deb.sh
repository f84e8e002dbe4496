#!/usr/bin/env bash
# The .deb as a sysadmin gets it: builds it with packaging/build-deb.sh and checks what it holds —
# every program, the sendmail names, the config, the unit, tmpfiles/sysusers, the docs — and that its
# maintainer scripts parse. Installing it is left to a real machine: this runs on developers' boxes too.
# Usage: bash tests/package/check_deb.sh   (prints "package: ok" or what is wrong; exit 1 then)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! bash packaging/build-deb.sh "$out" >"$out/build.log" 2>&1; then
  echo "package: packaging/build-deb.sh failed:" >&2
  tail -20 "$out/build.log" >&2
  exit 1
fi
deb=$(ls "$out"/nullq_*.deb)
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$out/files"
fail=0
for path in /usr/share/man/man8/nullq-sendmail.8.gz /usr/share/man/man8/sendmail.8.gz /usr/share/man/man5/nullq.yaml.5.gz /usr/sbin/nullq-sendmail /usr/sbin/sendmail /usr/sbin/mailq /usr/sbin/newaliases /usr/lib/sendmail \
            /usr/sbin/nullq-send /usr/sbin/nullq /usr/libexec/nullq/nullq-queue /etc/nullq/nullq.yaml \
            /usr/lib/systemd/system/nullq-send.service /usr/lib/tmpfiles.d/nullq.conf \
            /usr/lib/sysusers.d/nullq.conf /usr/share/doc/nullq/README.md; do
  grep -qx -- "$path" "$out/files" || { echo "package: $deb lacks $path" >&2; fail=1; }
done
# The set-group-id bit is set by postinst (dpkg-statoverride), so the file itself must not carry it.
if dpkg-deb -c "$deb" | grep -E '^-..s|^-.....s' >/dev/null; then
  echo "package: set-id files in the archive (postinst sets nullq-queue's bit):" >&2
  dpkg-deb -c "$deb" | grep -E '^-..s|^-.....s' >&2
  fail=1
fi
dpkg-deb -e "$deb" "$out/control"
for script in postinst postrm; do
  [ -f "$out/control/$script" ] || { echo "package: no $script" >&2; fail=1; continue; }
  sh -n "$out/control/$script" || { echo "package: $script does not parse" >&2; fail=1; }
done
grep -q 'dpkg-statoverride --update --add root nullq-drop 2755 /usr/libexec/nullq/nullq-queue' "$out/control/postinst" ||
  { echo "package: postinst does not make nullq-queue setgid nullq-drop" >&2; fail=1; }
grep -qx /etc/nullq/nullq.yaml "$out/control/conffiles" 2>/dev/null ||
  { echo "package: /etc/nullq/nullq.yaml is not a conffile (an upgrade would overwrite the admin's config)" >&2; fail=1; }
[ $fail -eq 0 ] && echo "package: ok ($(basename "$deb"), $(wc -l <"$out/files") paths)"
exit $fail

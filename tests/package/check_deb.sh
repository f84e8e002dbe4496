#!/usr/bin/env bash
# The .deb as a sysadmin gets it: builds it with packaging/build-deb.sh and checks what it holds —
# every program, the sendmail names, the config, the unit, tmpfiles/sysusers, the docs — and that its
# maintainer scripts parse — and that lintian finds no error or warning (overrides, each with its reason,
# in packaging/debian/nullq.lintian-overrides). Installing it is tests/package/install_test.sh's job.
# Usage: bash tests/package/check_deb.sh [KEEPDIR]   (prints "package: ok" or what is wrong; exit 1 then;
#        with KEEPDIR the built .deb is left there, for install_test.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/deps.sh
install_deps lintian
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
            /usr/bin/mailq /usr/bin/newaliases \
            /usr/sbin/nullq-send /usr/sbin/nullq /usr/libexec/nullq/nullq-queue /usr/libexec/nullq/nullq-oauth \
            /usr/share/man/man8/nullq-oauth.8.gz /etc/nullq/nullq.yaml \
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
# Every sendmail name is a link that resolves to nullq-sendmail inside the package.
mkdir "$out/tree"
dpkg-deb -x "$deb" "$out/tree"
for link in /usr/sbin/sendmail /usr/sbin/mailq /usr/sbin/newaliases /usr/lib/sendmail /usr/bin/mailq /usr/bin/newaliases; do
  target=$(cd "$out/tree$(dirname "$link")" && realpath -m "$(readlink "$out/tree$link")")
  [ "$target" = "$(realpath "$out/tree")/usr/sbin/nullq-sendmail" ] ||
    { echo "package: $link does not point at /usr/sbin/nullq-sendmail (readlink: $(readlink "$out/tree$link"))" >&2; fail=1; }
done
# lintian: no error, no warning (overrides carry a one-line reason each).
lintian --fail-on error,warning "$deb" >"$out/lintian" 2>&1 || {
  echo "package: lintian complains about $(basename "$deb"):" >&2
  grep -v '^running with root privileges' "$out/lintian" >&2
  fail=1
}
grep -v '^running with root privileges' "$out/lintian" | sed 's/^/lintian: /' || true
if [ $fail -eq 0 ] && [ $# -ge 1 ]; then mkdir -p "$1" && cp "$deb" "$1"/; fi
[ $fail -eq 0 ] && echo "package: ok ($(basename "$deb"), $(wc -l <"$out/files") paths)"
exit $fail

#!/usr/bin/env bash
# The rpm as Fedora/EL9 would build it: packaging/rpm/nullq.spec built with Debian's rpmbuild, the
# Fedora macros Debian lacks taken from tests/package/fedora-macros (the spec's own %meson steps, with
# ccache), then the file list, the modes, Provides, the scriptlets (accounts from sysusers.d with the
# shadow-utils fallback, %systemd_*, alternatives "mta" with Fedora's follower names) and rpmlint.
# Usage: bash tests/package/check_rpm.sh   (prints "rpm: ok" or what is wrong; exit 1 then)
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
. scripts/deps.sh
install_deps rpm rpmlint
spec=packaging/rpm/nullq.spec
version=$(sed -n 's/^Version: *//p' "$spec")
# A fixed build directory, so ccache reuses the objects of the previous run (see packaging/build-deb.sh).
topdir=${TMPDIR:-/var/tmp}/nullq-build-rpm-$(id -u)
exec 9>"$topdir.lock"
flock 9
rm -rf "$topdir"
trap 'rm -rf "$topdir"' EXIT
mkdir -p "$topdir/SOURCES"
git ls-files -z | tar --null -T - --transform "s,^,nullq-$version/," -czf "$topdir/SOURCES/nullq-$version.tar.gz"
cp etc/sysusers.d/nullq.conf "$topdir/SOURCES/nullq.sysusers"
# fedora-macros goes last on rpm's macro path: Debian's own macro files (read after --load) would undo it.
macro_path="$(rpm --showrc | sed -n 's/^Macro path: //p'):$top/tests/package/fedora-macros"
if ! rpmbuild -bb --nodeps --macros "$macro_path" --define "_topdir $topdir" "$spec" >"$topdir/build.log" 2>&1; then
  echo "rpm: rpmbuild -bb $spec failed:" >&2
  tail -30 "$topdir/build.log" >&2
  exit 1
fi
rpmfile=$(ls "$topdir"/RPMS/*/nullq-"$version"-*.rpm)
fail=0
bad() { echo "rpm: $*" >&2; fail=1; }

# The file list: exactly this (the sendmail names are alternatives, made in %post, not files).
# /usr/lib/.build-id links are in Fedora's packages too. Debian's rpmbuild here leaves man pages
# uncompressed where Fedora's brp-compress gzips them: then .gz is compared as if it were there.
rpm -qlp "$rpmfile" | grep -v '^/usr/lib/.build-id' | sort >"$topdir/files"
if grep -q '^/usr/share/man/.*\.[0-9]$' "$topdir/files"; then
  echo "rpm: note: man pages not compressed by this rpmbuild (Fedora's brp-compress does); names compared with .gz"
  sed -i 's|^\(/usr/share/man/.*\.[0-9]\)$|\1.gz|' "$topdir/files"
fi
sort >"$topdir/want" <<'EOF'
/etc/nullq
/etc/nullq/nullq.yaml
/usr/bin/mailq.nullq
/usr/bin/newaliases.nullq
/usr/lib/systemd/system/nullq-send.service
/usr/lib/sysusers.d/nullq.conf
/usr/lib/tmpfiles.d/nullq.conf
/usr/libexec/nullq
/usr/libexec/nullq/nullq-oauth
/usr/libexec/nullq/nullq-queue
/usr/sbin/nullq
/usr/sbin/nullq-send
/usr/sbin/nullq-sendmail
/usr/sbin/sendmail.nullq
/usr/share/doc/nullq
/usr/share/doc/nullq/README.md
/usr/share/doc/nullq/examples
/usr/share/doc/nullq/examples/nullq
/usr/share/licenses/nullq
/usr/share/licenses/nullq/copyright
/usr/share/man/man5/nullq.yaml.5.gz
/usr/share/man/man8/nullq-oauth.8.gz
/usr/share/man/man8/nullq-queue.8.gz
/usr/share/man/man8/nullq-send.8.gz
/usr/share/man/man8/nullq-sendmail.8.gz
/usr/share/man/man8/nullq.8.gz
EOF
diff -u "$topdir/want" "$topdir/files" >"$topdir/files.diff" || { bad "the file list differs (- wanted, + in the rpm):"; tail -n +3 "$topdir/files.diff" >&2; }

# Modes and links.
rpm -qp --queryformat '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILENAMES} %{FILELINKTOS}\n]' "$rpmfile" >"$topdir/modes"
grep -qx -- '-rwxr-sr-x root nullq-drop /usr/libexec/nullq/nullq-queue ' "$topdir/modes" || bad "nullq-queue is not -rwxr-sr-x root nullq-drop: $(grep nullq-queue "$topdir/modes")"
for l in '/usr/sbin/sendmail.nullq nullq-sendmail' '/usr/bin/mailq.nullq ../sbin/nullq-sendmail' '/usr/bin/newaliases.nullq ../sbin/nullq-sendmail'; do
  grep -q "^l.* $l\$" "$topdir/modes" || bad "no link $l"
done
grep -q '^[-rwx]* root root /etc/nullq/nullq.yaml' "$topdir/modes" || bad "nullq.yaml is not root:root"
rpm -qp --configfiles "$rpmfile" | grep -qx /etc/nullq/nullq.yaml || bad "/etc/nullq/nullq.yaml is not %config"

# Provides: MTA and smtpdaemon, not server(smtp); no Conflicts with other MTAs (alternatives instead).
rpm -qp --provides "$rpmfile" >"$topdir/provides"
for p in MTA smtpdaemon; do grep -qx "$p" "$topdir/provides" || bad "does not provide $p"; done
! grep -q 'server(smtp)' "$topdir/provides" || bad "still provides server(smtp)"
[ -z "$(rpm -qp --conflicts "$rpmfile")" ] || bad "conflicts: $(rpm -qp --conflicts "$rpmfile" | paste -sd' ' -)"
rpm -qp --requires "$rpmfile" >"$topdir/requires"
for r in /usr/sbin/alternatives shadow-utils systemd; do grep -q "^$r" "$topdir/requires" || bad "does not require $r"; done

# Scriptlets: each parses, and says what it must.
for tag in PREIN POSTIN PREUN POSTUN; do
  rpm -qp --queryformat "%{$tag}" "$rpmfile" >"$topdir/$tag"
  sh -n "$topdir/$tag" || bad "the $tag scriptlet does not parse"
done
need() { grep -qF -- "$2" "$topdir/$1" || bad "$1 lacks: $2"; }
need PREIN 'systemd-sysusers --replace=/usr/lib/sysusers.d/nullq.conf -'
need PREIN 'u nullq      - "nullq mail flusher" /var/spool/nullq /usr/sbin/nologin'
need PREIN 'getent group nullq >/dev/null || groupadd -r nullq'
need PREIN 'getent group nullq-drop >/dev/null || groupadd -r nullq-drop'
need PREIN 'useradd -r -g nullq -G nullq-drop'
need POSTIN '/usr/lib/systemd/systemd-update-helper install-system-units nullq-send.service'
need POSTIN 'systemd-tmpfiles --create /usr/lib/tmpfiles.d/nullq.conf'
need POSTIN '/usr/sbin/alternatives --install /usr/sbin/sendmail mta /usr/sbin/sendmail.nullq'
need PREUN '/usr/lib/systemd/systemd-update-helper remove-system-units nullq-send.service'
need PREUN '/usr/sbin/alternatives --remove mta /usr/sbin/sendmail.nullq'
need POSTUN '/usr/lib/systemd/systemd-update-helper mark-restart-system-units nullq-send.service'
# Fedora's follower names, and each follower's target is in the package.
for f in '/usr/lib/sendmail mta-sendmail' '/usr/bin/mailq mta-mailq' '/usr/bin/newaliases mta-newaliases' \
         '/usr/share/man/man8/sendmail.8.gz mta-sendmailman' '/usr/share/man/man1/mailq.1.gz mta-mailqman' \
         '/usr/share/man/man1/newaliases.1.gz mta-newaliasesman'; do
  target=$(grep -oE -- "--follower $f [^ ]+" "$topdir/POSTIN" | awk '{print $4}' | tr -d "'") || true
  [ -n "$target" ] || { bad "POSTIN has no '--follower $f'"; continue; }
  grep -qx -- "$target" "$topdir/files" || bad "follower $f points at $target, which the rpm does not hold"
done

# rpmlint (Debian's, no Fedora configuration; filters with their reasons in packaging/rpm/nullq.rpmlintrc):
# shown in full; an error fails the check.
rpmlint -r packaging/rpm/nullq.rpmlintrc "$rpmfile" >"$topdir/rpmlint" 2>&1 || true
sed 's/^/rpmlint: /' "$topdir/rpmlint"
if grep -q ': E: ' "$topdir/rpmlint"; then bad "rpmlint reports errors"; fi
[ $fail -eq 0 ] && echo "rpm: ok ($(basename "$rpmfile"), $(wc -l <"$topdir/files") paths)"
exit $fail

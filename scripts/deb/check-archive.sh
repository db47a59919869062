#!/bin/sh
# What a Debian maintainer's tools do with the package, offline, on a clean copy of the tree (the
# files git tracks): make check's package-archive step (make check-package).
#
#   1. fakeroot debian/rules binary, with the build-time unit tests (no DEB_BUILD_OPTIONS=nocheck):
#      they run with fakeroot preloaded, as on a maintainer's machine
#   2. blhc --debian --all on that build log: every compile and link line has dpkg-buildflags'
#      hardening flags (the unit-test links included)
#   3. dpkg-buildpackage -S in that same built tree, with a .cache/ in it as `make deb` leaves
#      one: the source tarball holds exactly the files git tracks (debian/source/options)
#   4. lintian -E --pedantic on the .dsc and the .deb: any error or warning fails; the pedantic
#      and experimental tags left are printed (each one is said in debian/README.source)
#
# Environment: OUTDIR (default <repo>/.cache/deb/archive): the copy is OUTDIR/early-vfio-VERSION,
# the logs OUTDIR/*.log. Needs the Build-Depends, fakeroot, blhc and lintian
# (scripts/install-deps.sh test).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
OUTDIR=${OUTDIR:-$repo/.cache/deb/archive}
case ${1:-} in
-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
'') ;;
*) echo "deb/check-archive: unknown argument '$1'" >&2; exit 1 ;;
esac

log() { echo "deb/check-archive: $*" >&2; }
die() { log "error: $*"; exit 1; }
for t in fakeroot blhc lintian dpkg-buildpackage dpkg-parsechangelog git; do
	command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh test)"
done

ver=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
umask 022
case $OUTDIR in /*) ;; *) OUTDIR=$(pwd)/$OUTDIR ;; esac
src=$OUTDIR/early-vfio-$ver
rm -rf "$OUTDIR"
mkdir -p "$src"
(cd "$repo" && git ls-files -z | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
	tar -xf - -C "$src"
# what the source tarball must hold: the tracked files but git's own (.gitignore), which
# tar-ignore's defaults leave out
(cd "$src" && find . ! -type d | sed 's|^\./||' | grep -Ev '(^|/)\.git(ignore|attributes|modules)$' |
	LC_ALL=C sort) >"$OUTDIR/tracked.list"
t0=$(date +%s)

# 1. The build, as a maintainer types it: fakeroot around every target, the tests included.
# blhc reads a log from its "dpkg-buildpackage: " line on; there is no dpkg-buildpackage here,
# so the log starts with the line it would have written.
log "fakeroot debian/rules binary in $src"
echo "dpkg-buildpackage: info: host architecture $arch" >"$OUTDIR/binary.log"
(cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS \
	-u CPPFLAGS -u LDFLAGS DEB_BUILD_OPTIONS="parallel=$(nproc)" fakeroot debian/rules binary) >>"$OUTDIR/binary.log" 2>&1 || {
	tail -n 30 "$OUTDIR/binary.log" >&2
	die "fakeroot debian/rules binary failed (log: $OUTDIR/binary.log)"
}
grep -q 'PASSED' "$OUTDIR/binary.log" || die "the build ran no unit test (log: $OUTDIR/binary.log)"
deb=$OUTDIR/early-vfio_${ver}_$arch.deb
[ -f "$deb" ] || die "no $deb after fakeroot debian/rules binary"
log "fakeroot debian/rules binary: built, unit tests passed ($(( $(date +%s) - t0 )) s)"

# 2. blhc: exit 0 and no output when no hardening flag is missing anywhere.
rc=0
blhc --debian --all --arch="$arch" --line-numbers "$OUTDIR/binary.log" >"$OUTDIR/blhc.log" 2>&1 || rc=$?
if [ $rc != 0 ] || [ -s "$OUTDIR/blhc.log" ]; then
	cut -c1-240 "$OUTDIR/blhc.log" >&2
	die "blhc: missing hardening flags (status $rc; log: $OUTDIR/blhc.log)"
fi
log "blhc --debian --all: no flag missing"

# 3. The source package of a tree that has been built in (the outputs above are still there)
# and holds the caches make deb, make check and the VM test leave.
mkdir -p "$src/.cache/deb" "$src/.cache/static/lib" "$src/.build"
cp "$deb" "$src/.cache/deb/"
echo 'not source' >"$src/.cache/static/lib/libpci.a"
echo 'not source' >"$src/.build/output"
(cd "$src" && make -s early-vfio >/dev/null 2>&1) || die "make early-vfio in $src failed"
log "dpkg-buildpackage -S in the built tree"
(cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -S -us -uc) \
	>"$OUTDIR/source.log" 2>&1 || {
	tail -n 30 "$OUTDIR/source.log" >&2
	die "dpkg-buildpackage -S failed (log: $OUTDIR/source.log)"
}
dsc=$OUTDIR/early-vfio_$ver.dsc
tarball=$(sed -n 's/^ [0-9a-f]\{32\} [0-9]* \(early-vfio_.*\.tar\..*\)$/\1/p' "$dsc" | head -n1)
[ -f "$OUTDIR/${tarball:-none}" ] || die "no source tarball named in $dsc"
tar -tf "$OUTDIR/$tarball" | grep -v '/$' | sed 's|^[^/]*/||' | LC_ALL=C sort >"$OUTDIR/tarball.list"
if ! cmp -s "$OUTDIR/tracked.list" "$OUTDIR/tarball.list"; then
	diff "$OUTDIR/tracked.list" "$OUTDIR/tarball.list" | grep '^[<>]' | head -n 20 >&2
	die "$tarball does not hold exactly the tracked files (above: > only in the tarball, < missing)"
fi
log "$tarball: the $(wc -l <"$OUTDIR/tracked.list") tracked files and nothing else ($(stat -c %s "$OUTDIR/$tarball") bytes)"

# 4. lintian with the experimental and pedantic tags.
rc=0
lintian -I -E --pedantic --fail-on error,warning --show-overrides "$dsc" "$deb" \
	>"$OUTDIR/lintian.log" 2>&1 || rc=$?
cat "$OUTDIR/lintian.log" >&2
[ $rc = 0 ] || die "lintian -E --pedantic: errors or warnings (log: $OUTDIR/lintian.log)"
log "lintian -E --pedantic on the .dsc and the .deb: no error, no warning ($(( $(date +%s) - t0 )) s in all)"

#!/bin/sh
# Build the Debian package the Debian way: dpkg-buildpackage -us -uc -b on a clean copy of the
# tree (the files git tracks, as they are in the work tree), then lintian. What `make deb` runs.
#
#   scripts/deb/build.sh [--lintian] [--integration]
#     --lintian       lintian on the .changes (the .deb) and on the source package (dpkg-source
#                     -b of the same copy): any error or warning fails; overrides live in
#                     debian/*lintian-overrides, each with its reason
#     --integration   run debian/tests/integration (the fake-sysfs suite) against the binary the
#                     package ships (debian/early-vfio/usr/sbin/early-vfio in the build tree)
#     --reproducible  build a second time, in another folder (OUTDIR/repro/), and fail unless the
#                     two .deb files are the same byte for byte
#
# Environment:
#   OUTDIR            where the copy is built and the .deb goes (default <repo>/.cache/deb): the
#                     copy is OUTDIR/early-vfio-VERSION, the results OUTDIR/early-vfio_VERSION_*
#   DEB_BUILD_OPTIONS passed on (nocheck: no unit tests at build time; make check has run them)
# The build uses no network (Debian's rule): the Build-Depends in debian/control must be
# installed (scripts/install-deps.sh build; dpkg-buildpackage checks them). The last line printed
# is the path of the .deb.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
OUTDIR=${OUTDIR:-$repo/.cache/deb}
lintian=0 integration=0 repro=0
for a in "$@"; do
	case $a in
	--lintian) lintian=1 ;;
	--integration) integration=1 ;;
	--reproducible) repro=1 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "deb/build: unknown argument '$a'" >&2; exit 1 ;;
	esac
done

log() { echo "deb/build: $*" >&2; }
die() { log "error: $*"; exit 1; }

for t in dpkg-buildpackage dpkg-parsechangelog dh; do
	command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh build)"
done
[ $lintian = 0 ] || command -v lintian >/dev/null || die "lintian not found (scripts/install-deps.sh test)"

# The package version is debian/changelog's; it must be the Makefile's (what --version prints).
ver=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
mkver=$(sed -n 's/^VERSION *:= *//p' "$repo/Makefile")
[ "$ver" = "$mkver" ] ||
	die "debian/changelog says $ver, the Makefile's VERSION is $mkver: add a changelog entry (dch -v $mkver)"
arch=$(dpkg --print-architecture)

umask 022
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
src=$OUTDIR/early-vfio-$ver
rm -rf "$src" "$OUTDIR"/early-vfio_"$ver"* "$OUTDIR"/early-vfio-dbgsym_"$ver"*
mkdir -p "$src"

# The clean copy: what git tracks (a file deleted in the work tree is left out); from a tree
# without git (an unpacked source package), everything but the caches.
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$repo" && git ls-files -z | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
		tar -xf - -C "$src"
else
	(cd "$repo" && tar --exclude=./.cache --exclude=./.git -cf - .) | tar -xf - -C "$src"
fi
[ -x "$src/debian/rules" ] || die "no debian/rules in the copy (is debian/ tracked by git?)"

# The source package of the same copy, before the build touches it, for lintian: debian/control,
# copyright and rules are checked there.
dsc=$OUTDIR/early-vfio_$ver.dsc
if [ $lintian = 1 ]; then
	(cd "$OUTDIR" && dpkg-source -b "$src") >"$OUTDIR/source.log" 2>&1 ||
		{ cat "$OUTDIR/source.log" >&2; die "dpkg-source -b failed"; }
fi

log "dpkg-buildpackage -us -uc -b in $src${DEB_BUILD_OPTIONS:+ (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)}"
# A clean environment for the build: not the calling make's flags and jobserver.
(cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b) >"$OUTDIR/build.log" 2>&1 || {
	tail -n 40 "$OUTDIR/build.log" >&2
	die "dpkg-buildpackage failed (log: $OUTDIR/build.log)"
}
deb=$OUTDIR/early-vfio_${ver}_$arch.deb
changes=$OUTDIR/early-vfio_${ver}_$arch.changes
[ -f "$deb" ] || die "dpkg-buildpackage made no $deb (log: $OUTDIR/build.log)"
log "built $deb ($(stat -c %s "$deb") bytes)"

if [ $lintian = 1 ]; then
	rc=0
	lintian --fail-on error,warning -I --pedantic --show-overrides "$changes" "$dsc" \
		>"$OUTDIR/lintian.log" 2>&1 || rc=$?
	cat "$OUTDIR/lintian.log" >&2
	[ $rc = 0 ] || die "lintian reported errors or warnings (log: $OUTDIR/lintian.log)"
	log "lintian: no error, no warning"
fi

if [ $integration = 1 ]; then
	rc=0
	log "debian/tests/integration against the packaged binary"
	(cd "$src" && EVFIO_TEST_BINARY=$src/debian/early-vfio/usr/sbin/early-vfio \
		AUTOPKGTEST_TMP=$(mktemp -d "$OUTDIR/it.XXXXXX") debian/tests/integration) \
		>"$OUTDIR/integration.log" 2>&1 || rc=$?
	tail -n 1 "$OUTDIR/integration.log" >&2
	rm -rf "$OUTDIR"/it.*
	[ $rc = 0 ] || die "debian/tests/integration failed (log: $OUTDIR/integration.log)"
fi
if [ $repro = 1 ]; then
	log "a second build in $OUTDIR/repro, to compare"
	deb2=$(OUTDIR=$OUTDIR/repro "$0" | tail -n 1) || die "the second build failed"
	if cmp "$deb" "$deb2" >&2; then
		log "reproducible: the second build's .deb is the same byte for byte"
		rm -rf "$OUTDIR/repro"
	else
		die "not reproducible: $deb and $deb2 differ (diffoscope shows how)"
	fi
fi
echo "$deb"

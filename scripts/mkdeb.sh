#!/bin/sh
# Build early-vfio_VERSION_ARCH.deb with dpkg-deb from a staged `make install`.
#
# Users on Debian and Proxmox install with apt, not `make install`.  This
# script stages `make install DESTDIR=<stage> PREFIX=/usr`, turns the tree
# into what Debian policy expects (stripped binary, man pages gzip -9n,
# /usr/share/doc/early-vfio/{copyright,changelog.gz}, normalised
# permissions, root ownership) and adds the control files:
#   control    Depends: initramfs-tools (+ shared libraries when the binary
#              is dynamic), Built-Using: the sources statically linked in
#   conffiles  every file under /etc (i.e. /etc/early-vfio.conf, shipped
#              fully commented out, so installing binds nothing)
#   triggers   "activate-noawait update-initramfs": what debhelper's
#              dh_installinitramfs generates for packages shipping initramfs
#              hooks; dpkg activates it on install, upgrade, removal and
#              purge and initramfs-tools then runs `update-initramfs -u`
#              once, so no postinst/postrm is needed
#   md5sums
#
# Usage: scripts/mkdeb.sh [--lintian] [--keep-stage]
#   --lintian     run lintian on the result; fail on any error
#   --keep-stage  leave the staged tree in place (printed)
# Environment:
#   VERSION       package version (default: `<stage>/usr/sbin/early-vfio
#                 --version`, i.e. "early-vfio X.Y.Z")
#   DEB_REVISION  if set, Version is VERSION-DEB_REVISION and the changelog is
#                 changelog.Debian.gz (non-native package); by default the
#                 package is native: Version VERSION, changelog.gz
#   MAINTAINER    "Name <email>" (default: git config user.name/user.email)
#   OUTDIR        where the .deb goes (default <repo>/.cache/deb)
#   STAGED        an already staged install tree to package instead of
#                 running make install (it is copied, not modified)
#   MAKE          make program (default make); MAKE_ARGS extra make arguments
#   SOURCE_DATE_EPOCH  timestamps (default: last commit's time)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
OUTDIR=${OUTDIR:-$repo/.cache/deb}
pkg=early-vfio

lintian=0 keep=0
for a in "$@"; do
	case $a in
	--lintian) lintian=1 ;;
	--keep-stage) keep=1 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "mkdeb: unknown argument '$a'" >&2; exit 1 ;;
	esac
done

log() { echo "mkdeb: $*" >&2; }
die() { log "error: $*"; exit 1; }

for t in dpkg-deb dpkg-query gzip md5sum strip file; do
	command -v "$t" >/dev/null || die "$t not found (apt-get install dpkg-dev binutils file)"
done

umask 022
mkdir -p "$OUTDIR"
stage=$(mktemp -d "$OUTDIR/stage.XXXXXX")
root=$stage/root
cleanup() { [ $keep = 1 ] || rm -rf "$stage"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- stage -------------------------------------------------------------------
if [ -n "${STAGED:-}" ]; then
	[ -d "$STAGED" ] || die "STAGED=$STAGED is not a folder"
	log "packaging the staged tree $STAGED"
	mkdir -p "$root"
	cp -a "$STAGED/." "$root/"
else
	log "${MAKE:-make} install DESTDIR=$root PREFIX=/usr ${MAKE_ARGS:-}"
	# shellcheck disable=SC2086 # MAKE_ARGS is a list of make arguments
	${MAKE:-make} -C "$repo" install DESTDIR="$root" PREFIX=/usr ${MAKE_ARGS:-} >&2
fi
rm -rf "$root/DEBIAN"

bin=$root/usr/sbin/early-vfio
[ -f "$bin" ] || die "no usr/sbin/early-vfio in the staged tree"
[ -f "$root/etc/early-vfio.conf" ] || die "no etc/early-vfio.conf in the staged tree"

# --- version -------------------------------------------------------------------
if [ -z "${VERSION:-}" ]; then
	VERSION=$("$bin" --version 2>/dev/null | sed -n 's/^early-vfio \([0-9][0-9A-Za-z.+~]*\).*/\1/p' | head -n1)
	[ -n "$VERSION" ] || die "cannot read the version from '$bin --version'; pass VERSION=X.Y.Z"
fi
case $VERSION in
[0-9]*) ;;
*) die "VERSION '$VERSION' must start with a digit" ;;
esac
if [ -n "${DEB_REVISION:-}" ]; then
	debver=$VERSION-$DEB_REVISION
	changelog_name=changelog.Debian.gz
else
	case $VERSION in *-*) die "VERSION '$VERSION' has a '-': set DEB_REVISION instead" ;; esac
	debver=$VERSION
	changelog_name=changelog.gz
fi
arch=$(dpkg --print-architecture)

if [ -z "${MAINTAINER:-}" ]; then
	n=$(git -C "$repo" config user.name 2>/dev/null || true)
	e=$(git -C "$repo" config user.email 2>/dev/null || true)
	if [ -n "$n" ] && [ -n "$e" ]; then
		MAINTAINER="$n <$e>"
	else
		MAINTAINER="early-vfio authors <early-vfio@localhost>"
	fi
fi
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

# --- policy: binary, man pages, docs ---------------------------------------------
# Strip like dh_strip; the debug info stays in the build tree.
if file "$bin" | grep -q 'not stripped'; then
	strip --remove-section=.comment --remove-section=.note --strip-unneeded "$bin"
fi
static=0
file "$bin" | grep -q 'statically linked' && static=1

if [ -d "$root/usr/share/man" ]; then
	find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9nf {} +
fi

doc=$root/usr/share/doc/$pkg
mkdir -p "$doc"
year=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
holder=$(sed -n 's/^Copyright (c) \{0,1\}\(.*\)$/\1/p' "$repo/LICENSE" | head -n1)
[ -n "$holder" ] || holder="$year The early-vfio authors"
{
	cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: early-vfio
Upstream-Contact: $MAINTAINER
EOF
	if [ $static = 1 ]; then
		cat <<'EOF'
Comment: /usr/sbin/early-vfio is statically linked.  Besides early-vfio's own
 code (Expat, below) it contains libpci from pciutils (GPL-2+), libkmod from
 kmod (LGPL-2.1+), libinih (BSD-3-clause), libzstd (BSD-3-clause or
 GPL-2), liblzma from xz-utils (public domain), zlib (Zlib) and the GNU C
 library (LGPL-2.1+ with exceptions), built from the Debian source packages
 named in the package's Built-Using field; their complete copyright and
 licence texts are in /usr/share/doc/<package>/copyright of the
 corresponding binary packages and in those source packages.
EOF
	fi
	cat <<EOF

Files: *
Copyright: $holder
License: Expat
EOF
	# The licence text after its title and copyright line, as a DEP-5
	# paragraph: every line indented, blank lines as " ."
	sed '1,/^Copyright/d' "$repo/LICENSE" | sed '/./,$!d' |
		sed 's/^$/./; s/^/ /'
} >"$doc/copyright"

mkdir -p "$stage/tmp"
{
	printf '%s (%s) unstable; urgency=medium\n\n' "$pkg" "$debver"
	desc=$(git -C "$repo" describe --always --dirty 2>/dev/null || true)
	printf '  * early-vfio %s%s.\n\n' "$VERSION" "${desc:+, built from git $desc}"
	printf ' -- %s  %s\n' "$MAINTAINER" "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} >"$stage/tmp/changelog"
gzip -9n <"$stage/tmp/changelog" >"$doc/$changelog_name"

# A static binary is the point of this package (see the file's comment).
if [ $static = 1 ]; then
	install -D -m 0644 "$here/deb/lintian-overrides.static" \
		"$root/usr/share/lintian/overrides/$pkg"
fi

# --- control files ---------------------------------------------------------------
deb=$root/DEBIAN
mkdir -p "$deb"

# conffiles: everything under /etc
if [ -d "$root/etc" ]; then
	(cd "$root" && find etc -type f | LC_ALL=C sort | sed 's,^,/,') >"$deb/conffiles"
	[ -s "$deb/conffiles" ] || rm -f "$deb/conffiles"
fi

# The update-initramfs trigger when the package ships initramfs-tools hooks
# or boot scripts (as dh_installinitramfs does).
if [ -d "$root/usr/share/initramfs-tools" ]; then
	echo "activate-noawait update-initramfs" >"$deb/triggers"
fi

depends="initramfs-tools"
built_using=""
srcver() { # binary package -> "source (= version)" of what is installed
	dpkg-query -W -f='${source:Package} (= ${source:Version})' "$1" 2>/dev/null || true
}
if [ $static = 1 ]; then
	# Sources whose code is linked in: for licence compliance (policy 7.8).
	stamp=$repo/.cache/static/.stamp
	for b in libc6-dev libinih-dev libzstd-dev liblzma-dev zlib1g-dev; do
		s=$(srcver "$b")
		[ -n "$s" ] && built_using="$built_using, $s"
	done
	if [ -f "$stamp" ]; then
		pv=$(sed -n 's/^pciutils=//p' "$stamp")
		kv=$(sed -n 's/^kmod=//p' "$stamp")
		built_using="$built_using, kmod (= $kv), pciutils (= $pv)"
	else
		log "warning: static binary but no $stamp: Built-Using lacks kmod and pciutils"
	fi
	built_using=$(echo "${built_using#, }" | tr ',' '\n' | sed 's/^ //' | LC_ALL=C sort -u |
		paste -sd, - | sed 's/,/, /g')
else
	# Dynamic build (the packagers' knob): shared-library dependencies as
	# dh_shlibdeps would compute them.
	mkdir -p "$stage/shlibs/debian"
	printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" >"$stage/shlibs/debian/control"
	shl=$(cd "$stage/shlibs" && dpkg-shlibdeps -O -e"$bin" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
	[ -n "$shl" ] || die "dpkg-shlibdeps found no dependencies for a dynamic $bin"
	depends="$shl, $depends"
fi

installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
{
	cat <<EOF
Package: $pkg
Version: $debver
Architecture: $arch
Maintainer: $MAINTAINER
Installed-Size: $installed_size
Depends: $depends
EOF
	[ -n "$built_using" ] && echo "Built-Using: $built_using"
	cat <<'EOF'
Section: admin
Priority: optional
Description: bind PCI devices to vfio-pci from the initramfs
 early-vfio hands selected PCI devices to vfio-pci from the initramfs,
 before udev loads their host drivers, so that a disk controller, NVMe
 drive or network card meant for a virtual machine is never touched by
 the host. Devices are selected in /etc/early-vfio.conf by PCI address,
 vendor:device IDs or class; a device without an IOMMU group, a bridge
 or an SR-IOV physical function with active VFs is refused.
 .
 The configuration shipped is fully commented out: installing the package
 binds nothing until it is edited and the initramfs is rebuilt with
 update-initramfs -u. "early-vfio status" and "early-vfio check" show
 what would happen.
EOF
} >"$deb/control"

# md5sums of the shipped files except conffiles (as dh_md5sums)
(
	cd "$root"
	find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
		while IFS= read -r f; do
			if [ -f DEBIAN/conffiles ] && grep -qx "/$f" DEBIAN/conffiles; then
				continue
			fi
			md5sum "$f"
		done
) >"$deb/md5sums"

# --- permissions, timestamps, build ---------------------------------------------
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -perm /111 -exec chmod 0755 {} +
find "$root" -type f ! -perm /111 -exec chmod 0644 {} +
chmod 0644 "$deb"/*
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

out=$OUTDIR/${pkg}_${debver}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >&2
log "built $out ($(stat -c %s "$out") bytes, $( [ $static = 1 ] && echo static || echo dynamic) binary)"
[ $keep = 1 ] && log "staged tree kept in $root"

if [ $lintian = 1 ]; then
	command -v lintian >/dev/null || die "lintian not installed (apt-get install lintian)"
	# lintian exits non-zero on errors only (its default --fail-on error)
	lintian -I --pedantic "$out" >&2 || die "lintian reported errors"
	log "lintian: no errors"
fi
echo "$out"

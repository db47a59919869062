#!/bin/sh
# Build the source package on a clean Debian release: in an overlay of a cached VM rootfs
# (scripts/vm-rootfs.sh), install only the Build-Depends (apt-get build-dep, from the archive),
# then dpkg-buildpackage -us -uc -b with no network (unshare -n), then that release's lintian.
# Not part of make check (it downloads the toolchain each time); run by hand, as root:
#
#   make deb    # also writes .cache/deb/early-vfio_VERSION.dsc and .tar.xz
#   scripts/deb/build-in-rootfs.sh "$(EVFIO_VM_SUITE=trixie scripts/vm-rootfs.sh)" OUT
#
# Usage: scripts/deb/build-in-rootfs.sh ROOTFS OUTDIR [DSC]
#   DSC defaults to the newest .cache/deb/early-vfio_*.dsc. The .deb, build.log and lintian.log
#   land in OUTDIR; exits non-zero when the build fails or lintian reports an error or warning.
# The cached rootfs is never modified (overlayfs).
set -eu

[ $# -ge 2 ] || { echo "usage: $0 ROOTFS OUTDIR [DSC]" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rootfs=$(readlink -f "$1")
mkdir -p "$2"
out=$(cd "$2" && pwd)
dsc=${3:-$(find "$repo/.cache/deb" -maxdepth 1 -name 'early-vfio_*.dsc' | sort -V | tail -n 1)}
[ -f "$dsc" ] || { echo "build-in-rootfs: no .dsc (run make deb first)" >&2; exit 1; }
[ -x "$rootfs/usr/bin/apt-get" ] || { echo "build-in-rootfs: $rootfs is not a Debian rootfs" >&2; exit 1; }

# shellcheck source=scripts/deb/overlay-root.sh
. "$here/overlay-root.sh"
overlay_root "$rootfs" evfio-rootfs-build
rm -f "$root/etc/resolv.conf"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/build"
# the .dsc and the files it lists (the native tarball)
cp "$dsc" "$(dirname "$dsc")/$(basename "$dsc" .dsc).tar.xz" "$root/build/"

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root \
	DEBIAN_FRONTEND=noninteractive "$@"; }
step() { echo "build-in-rootfs: $*" >&2; }

step "apt-get install dpkg-dev lintian, then the Build-Depends ($(sed -n 's/^VERSION_CODENAME=//p' "$rootfs/etc/os-release"))"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends dpkg-dev lintian >"$out/deps.log" 2>&1 ||
	{ tail -n 20 "$out/deps.log" >&2; exit 1; }
in_root sh -c "cd /build && dpkg-source -x $(basename "$dsc") src" >>"$out/deps.log" 2>&1
in_root sh -c 'cd /build/src && apt-get build-dep -y -qq --no-install-recommends ./' >>"$out/deps.log" 2>&1 ||
	{ tail -n 20 "$out/deps.log" >&2; exit 1; }

step "dpkg-buildpackage -us -uc -b, no network"
if ! unshare -n chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
	HOME=/root sh -c 'cd /build/src && dpkg-buildpackage -us -uc -b' >"$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	exit 1
fi
cp "$root"/build/*.deb "$out/"

step "lintian $(in_root lintian --version | sed 's/^Lintian v//')"
rc=0
in_root sh -c "cd /build && lintian --fail-on error,warning -I --pedantic *.changes $(basename "$dsc")" \
	>"$out/lintian.log" 2>&1 || rc=$?
cat "$out/lintian.log" >&2
[ $rc = 0 ] || { step "lintian reported errors or warnings"; exit 1; }
ls "$out"/*.deb

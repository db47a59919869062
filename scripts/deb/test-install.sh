#!/bin/sh
# Install, then purge, an early-vfio .deb in a throwaway copy of the VM
# rootfs (scripts/vm-rootfs.sh) and check what Debian users get:
#   dpkg -i     the update-initramfs trigger (dh_installinitramfs) rebuilds
#               the image, which now holds the init-top script; the shipped
#               config is valid and selects nothing, so the hook leaves the
#               binary out (EVFIO_DEB_APT=1: apt install ./early-vfio_*.deb,
#               which fetches the missing shared libraries from the archive)
#   a config    with a device section in /etc/early-vfio.conf,
#               update-initramfs -u puts usr/sbin/early-vfio and the config
#               in; the package's binary is dynamic, so the image must hold
#               its libraries (copy_exec): it runs chrooted into the unpacked
#               image (a static binary: file(1) says so)
#   dpkg --purge  the trigger rebuilds the image without any early-vfio
#               file, and /etc/early-vfio.conf is gone
# The cached rootfs itself is never modified: the chroot is an overlay on
# it (or a copy where overlayfs is not available).
#
# Usage: scripts/deb/test-install.sh DEB [ROOTFS]
#   ROOTFS defaults to the output of scripts/vm-rootfs.sh (built if needed).
# Environment (tests/vm/run.sh boots the images this saves):
#   EVFIO_DEB_CONF=FILE  the config written after the install checks (default: one section
#                        by address; the chroot's hook only checks its syntax)
#   EVFIO_DEB_FSTAB=FILE the chroot's /etc/fstab (a debootstrap tree has none, and an image
#                        built in a chroot without one refuses storage sections at boot)
#   EVFIO_DEB_SAVE=DIR   copy the images to DIR: configured.initrd (with that config) and
#                        purged.initrd (after dpkg --purge)
#   EVFIO_DEB_APT=1      install with apt (apt-get update first; needs the archive) instead of
#                        dpkg -i, as on a release whose rootfs lacks the package's libraries
# Prints "N passed, N failed" at the end; exits non-zero on any failure.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 DEB [ROOTFS]" >&2; exit 1; }
deb=$(readlink -f "$1")
[ -f "$deb" ] || { echo "test-install: no such file: $1" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rootfs=${2:-$("$repo/scripts/vm-rootfs.sh")}
[ -x "$rootfs/usr/sbin/update-initramfs" ] ||
	{ echo "test-install: $rootfs has no initramfs-tools" >&2; exit 1; }

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }

# shellcheck source=scripts/deb/overlay-root.sh
. "$here/overlay-root.sh"
overlay_root "$rootfs" evfio-debtest

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
# t DESCRIPTION COMMAND...: one test, passed when COMMAND succeeds
t() {
	d=$1; shift
	if "$@"; then ok "$d"; else ko "$d"; fi
}
img_changed() { [ "$(md5sum <"$root$img")" != "$1" ]; }
# grep on a file, not on lsinitramfs' pipe: grep -q stops reading early and cpio then reports a
# broken pipe ("unmkinitramfs: cpio failed" on Debian 13)
img_list() { in_root lsinitramfs "$img" >"$work/list" 2>&1; }
img_holds() { img_list && grep -qx "$1" "$work/list"; }
img_lacks() { img_list && ! grep -qx "$1" "$work/list"; }
img_free_of_evfio() { img_list && ! grep -q early-vfio "$work/list"; }
img_unpacked_bin() { # the image's usr/sbin/early-vfio, unpacked (once) under the chroot's /tmp
	[ -d "$root/tmp/unpacked" ] || in_root unmkinitramfs "$img" /tmp/unpacked >/dev/null 2>&1 || true
	find "$root/tmp/unpacked" -path '*/usr/sbin/early-vfio' | head -n1
}
img_bin_static() {
	b=$(img_unpacked_bin)
	[ -n "$b" ] && file -L "$b" | grep -q 'statically linked'
}
# The binary runs with nothing but the image around it: its loader and every library it needs
# are in the image (chroot into the unpacked archive that holds it).
img_bin_runs_alone() {
	b=$(img_unpacked_bin)
	[ -n "$b" ] || return 1
	ir=${b%/usr/sbin/early-vfio}
	v=$(chroot "$ir" /usr/sbin/early-vfio --version 2>&1) || { echo "$v"; return 1; }
	case $v in "early-vfio "*) return 0 ;; esac
	echo "$v"
	return 1
}
conf_all_comments() { ! grep -Eq '^[[:space:]]*[^[:space:]#;]' "$root/etc/early-vfio.conf"; }
dpkg_run() { # LOG ARGS...: dpkg in the chroot, its output shown on failure
	log=$1; shift
	in_root dpkg "$@" >"$log" 2>&1 || { cat "$log"; return 1; }
}
uinit_run() { # LOG: update-initramfs -u in the chroot, its output shown on failure
	in_root update-initramfs -u >"$1" 2>&1 || { cat "$1"; return 1; }
}

if [ -n "${EVFIO_DEB_FSTAB:-}" ]; then install -m 0644 "$EVFIO_DEB_FSTAB" "$root/etc/fstab"; fi

kver=$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
img=/boot/initrd.img-$kver
[ -f "$root$img" ] || in_root update-initramfs -c -k "$kver" >/dev/null 2>&1
before=$(md5sum <"$root$img")

debname=$(basename "$deb")
cp "$deb" "$root/tmp/$debname"
apt_install() { # LOG: apt install ./the.deb in the chroot (the archive reached as the host does)
	rm -f "$root/etc/resolv.conf"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	{ in_root apt-get update -q && in_root sh -c "cd /tmp && DEBIAN_FRONTEND=noninteractive apt install -y ./$debname"; } \
		>"$1" 2>&1 || { cat "$1"; return 1; }
}
if [ "${EVFIO_DEB_APT:-0}" = 1 ]; then
	t "apt install ./$debname" apt_install "$work/install.log"
else
	t "dpkg -i $debname" dpkg_run "$work/install.log" -i "/tmp/$debname"
fi
t "install: the update-initramfs trigger rebuilt $img" img_changed "$before"
t "the image holds scripts/init-top/early-vfio" img_holds scripts/init-top/early-vfio
# exit 3: valid, and no device section (check's "nothing to bind")
shipped_valid() { rc=0; in_root early-vfio check --offline >/dev/null || rc=$?; [ "$rc" = 3 ]; }
t "the shipped /etc/early-vfio.conf is valid and selects nothing (check exits 3)" shipped_valid
t "the shipped /etc/early-vfio.conf is fully commented out" conf_all_comments
# The shipped config asks for nothing: the hook adds neither binary nor config.
t "with the shipped config the image holds no usr/sbin/early-vfio" img_lacks usr/sbin/early-vfio

# What a user does next: a device section, then update-initramfs -u.
if [ -n "${EVFIO_DEB_CONF:-}" ]; then
	install -m 0644 "$EVFIO_DEB_CONF" "$root/etc/early-vfio.conf"
else
	printf '[test]\naddress = 00:03.0\n' >"$root/etc/early-vfio.conf"
fi
t "with a config: update-initramfs -u" uinit_run "$work/config.log"
for f in usr/sbin/early-vfio etc/early-vfio.conf; do
	t "with a config: the image holds $f" img_holds "$f"
done
if file -L "$root/usr/sbin/early-vfio" | grep -q 'statically linked'; then
	t "with a config: the image's early-vfio is the static binary" img_bin_static
else
	t "with a config: the image's early-vfio (dynamic) runs chrooted into the image: its libraries are in it" \
		img_bin_runs_alone
fi
if [ -n "${EVFIO_DEB_SAVE:-}" ]; then cp "$root$img" "$EVFIO_DEB_SAVE/configured.initrd"; fi

after_install=$(md5sum <"$root$img")
t "dpkg --purge" dpkg_run "$work/purge.log" --purge early-vfio
t "purge: the update-initramfs trigger rebuilt $img" img_changed "$after_install"
t "purge: no early-vfio file left in the image" img_free_of_evfio
t "purge removed /etc/early-vfio.conf" test ! -e "$root/etc/early-vfio.conf"
t "purge removed /var/lib/early-vfio (the hook's copy of the record)" test ! -e "$root/var/lib/early-vfio"
if [ -n "${EVFIO_DEB_SAVE:-}" ]; then cp "$root$img" "$EVFIO_DEB_SAVE/purged.initrd"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/bash
# Build (once) and cache a minimal Debian rootfs for the VM test and the demo.
#
# Usage: scripts/vm-rootfs.sh [CACHE_DIR]     prints the path of the ready rootfs on stdout
#
#   EVFIO_VM_SUITE=bookworm|trixie|forky   the release (default bookworm); forky (Debian 14) is
#                                    debootstrapped with the sid script (Debian 12's debootstrap
#                                    has none for forky) and gets dracut, its default generator
#   EVFIO_VM_BACKPORTS=1             then replace the release's kernel with linux-image-amd64 from
#                                    SUITE-backports: built from a copy of the plain SUITE entry
#                                    (which is built first if needed), the older kernel purged
#   EVFIO_VM_DRACUT=1                then install dracut in a copy of the plain SUITE entry, as a
#                                    user switching generators does (apt removes initramfs-tools)
#   EVFIO_VM_PACKAGES="lvm2 iproute2"  then apt install these packages in a copy of the plain SUITE
#                                    entry (the host-in-use row: an LVM PV, a bridge)
#
# The cache entry is keyed by everything that shapes the tree (suite, variant, package list, mirror,
# backports, this script's format version), built in a temporary directory and renamed into place
# only after debootstrap (and the backports kernel) succeeded and a stamp file was written, so an
# interrupted build never looks ready. A lock serialises concurrent callers (make check and make
# demo run at the same time).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${EVFIO_VM_CACHE:-$top/.cache/vm}}
suite=${EVFIO_VM_SUITE:-bookworm}
backports=${EVFIO_VM_BACKPORTS:-0}
dracut=${EVFIO_VM_DRACUT:-0}
packages=${EVFIO_VM_PACKAGES:-}
variant=minbase
script=
case $suite in
bookworm)
	# libpci3, libkmod2, libinih1: what a dynamic early-vfio links against (the hook runs it in
	# the chroot). zstd: initramfs-tools' default COMPRESS=zstd (a Recommends, which debootstrap
	# leaves out); without it every image fell back to gzip, unlike a Debian 12 host.
	include=linux-image-amd64,initramfs-tools,pciutils,kmod,udev,libpci3,libkmod2,libinih1,zstd
	;;
forky)
	# Debian 14: the kernel's generator is "dracut | initramfs-tools"; dracut is the default. Its
	# systemd initrd copies the rootfs' systemd (minbase has it: udev depends on it).
	include=linux-image-amd64,dracut,pciutils,kmod,udev,zstd
	script=/usr/share/debootstrap/scripts/sid
	;;
*)
	# Newer releases: no libinih1 on purpose. The binary installed by `make install` is static;
	# a dynamic one built on the Debian 12 host would fail the hook's check run in this chroot.
	include=linux-image-amd64,initramfs-tools,pciutils,kmod,udev,zstd
	;;
esac
format=1

log() { printf 'vm-rootfs: %s\n' "$*" >&2; }

# Mirror: the host's own Debian archive (deb822 .sources or a one-line sources.list), else deb.debian.org.
mirror=${EVFIO_VM_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 || true)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
	mirror=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { sub(/\/$/, "", $2); print $2; exit }' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

key=$(printf '%s\n' "$format" "$suite" "$variant" "$include" "$mirror" | sha256sum | cut -c1-12)
name=$suite
if [ "$backports" != 0 ] && [ "$dracut" != 0 ]; then
	log "EVFIO_VM_BACKPORTS=1 and EVFIO_VM_DRACUT=1 together are not supported"
	exit 1
fi
if [ -n "$packages" ] && { [ "$backports" != 0 ] || [ "$dracut" != 0 ]; }; then
	log "EVFIO_VM_PACKAGES with EVFIO_VM_BACKPORTS=1 or EVFIO_VM_DRACUT=1 is not supported"
	exit 1
fi
if [ -n "$packages" ]; then
	# As the dracut entry: from a copy of the plain release, its key extending the base key.
	base=$(EVFIO_VM_PACKAGES='' EVFIO_VM_DRACUT=0 EVFIO_VM_BACKPORTS=0 "$0" "$cache")
	key=$(printf '%s\n' "$key" "packages=$packages" | sha256sum | cut -c1-12)
	name=$suite-pkgs
elif [ "$dracut" != 0 ]; then
	# As the backports entry: from a copy of the plain release, its key extending the base key.
	base=$(EVFIO_VM_DRACUT=0 EVFIO_VM_BACKPORTS=0 "$0" "$cache")
	key=$(printf '%s\n' "$key" "dracut" | sha256sum | cut -c1-12)
	name=$suite-dracut
elif [ "$backports" != 0 ]; then
	# The plain release first (cached on its own: the plain row boots it too), then this entry
	# from a copy of it. Its key extends the base key, so a rebuilt base rebuilds it.
	base=$(EVFIO_VM_BACKPORTS=0 EVFIO_VM_DRACUT=0 "$0" "$cache")
	key=$(printf '%s\n' "$key" "backports=$suite-backports" "linux-image-amd64" | sha256sum | cut -c1-12)
	name=$suite-backports
fi
dest=$cache/rootfs-$name-$key
stamp=$dest/.evfio-rootfs-ready

if [ -f "$stamp" ]; then
	printf '%s\n' "$dest"
	exit 0
fi

command -v debootstrap >/dev/null || { log "debootstrap not installed (apt-get install debootstrap)"; exit 1; }
[ "$(id -u)" = 0 ] || { log "building the rootfs needs root (debootstrap)"; exit 1; }

mkdir -p "$cache"
exec 9>"$cache/.lock-$key"
flock 9
if [ -f "$stamp" ]; then		# another caller finished it while we waited
	printf '%s\n' "$dest"
	exit 0
fi

# Under the lock, any .build-$key-* is a leftover of a killed build: clear it.
rm -rf --one-file-system "$cache/.build-$key-"*
tmp=$(mktemp -d "$cache/.build-$key-XXXXXX")
chmod 755 "$tmp"			# mktemp made it 0700; it becomes the guest's /
trap 'rm -rf --one-file-system "$tmp"' EXIT
start=$(date +%s)

# in_chroot CMD...   CMD in $tmp with proc, sys and dev mounted in a private mount namespace, so
# nothing stays mounted on the host, even when it fails (as tests/vm/lib.sh vm_chroot does).
in_chroot()
{
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --propagation private -- /bin/sh -c '
		t=$1; shift
		mount -t proc proc "$t/proc" && mount -t sysfs sysfs "$t/sys" &&
			mount --rbind /dev "$t/dev" || exit 1
		exec chroot "$t" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive "$@"
	' vm-rootfs "$tmp" "$@"
}

# apt in a copy of a cached entry: the archive's Release files may be older than their Valid-Until
# (a mirror pinned to a snapshot; forky's are short-lived)
apt_in_chroot()
{
	in_chroot apt-get -o Acquire::Check-Valid-Until=false "$@"
}

if [ -n "$packages" ]; then
	log "$suite with $packages ($mirror) into $tmp"
	cp -a --reflink=auto "$base/." "$tmp/"
	rm -f "$tmp/.evfio-rootfs-ready"
	# shellcheck disable=SC2086 # a list of package names
	if ! apt_in_chroot update >"$tmp.log" 2>&1 ||
		! apt_in_chroot install -y --no-install-recommends $packages >>"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		log "installing $packages failed, full log: $tmp.log"
		exit 1
	fi
	rm -rf "$tmp"/var/lib/apt/lists/*_dists_* 2>/dev/null || true
elif [ "$dracut" != 0 ]; then
	log "$suite with dracut instead of initramfs-tools ($mirror) into $tmp"
	cp -a --reflink=auto "$base/." "$tmp/"
	rm -f "$tmp/.evfio-rootfs-ready"
	# Installing dracut removes initramfs-tools (they conflict) and its postinst rebuilds the
	# kernel's image with dracut, as on a host that switches.
	if ! apt_in_chroot update >"$tmp.log" 2>&1 ||
		! apt_in_chroot install -y --no-install-recommends dracut >>"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		log "installing dracut failed, full log: $tmp.log"
		exit 1
	fi
	rm -rf "$tmp"/var/lib/apt/lists/*_dists_* 2>/dev/null || true
	[ -x "$tmp/usr/bin/dracut" ] || { log "no /usr/bin/dracut in $tmp after installing dracut"; exit 1; }
	# shellcheck disable=SC2016 # dpkg-query's format, not a shell expansion
	if in_chroot dpkg-query -W -f '${Status}\n' initramfs-tools 2>/dev/null | grep -q ' installed$'; then
		log "initramfs-tools is still installed next to dracut in $tmp"
		exit 1
	fi
elif [ "$backports" = 0 ]; then
	log "debootstrap $suite ($variant, $include) from $mirror into $tmp (takes a few minutes)"
	# shellcheck disable=SC2086 # $script is empty or one path
	if ! debootstrap --variant="$variant" --include="$include" "$suite" "$tmp" "$mirror" $script \
		>"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		log "debootstrap failed, full log: $tmp.log"
		exit 1
	fi
else
	log "$suite with linux-image-amd64 from $suite-backports ($mirror) into $tmp"
	cp -a --reflink=auto "$base/." "$tmp/"
	rm -f "$tmp/.evfio-rootfs-ready"
	old=$(find "$tmp/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n')
	echo "deb $mirror $suite-backports main" >"$tmp/etc/apt/sources.list.d/backports.list"
	# The kernel's postinst builds an initramfs for it (update-initramfs, as on a real host).
	if ! in_chroot apt-get update >"$tmp.log" 2>&1 ||
		! in_chroot apt-get install -y --no-install-recommends -t "$suite-backports" linux-image-amd64 \
			>>"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		log "installing the $suite-backports kernel failed, full log: $tmp.log"
		exit 1
	fi
	# The older kernel goes, so the image and the modules of exactly one kernel remain.
	for v in $old; do
		if ! in_chroot apt-get purge -y "linux-image-$v" >>"$tmp.log" 2>&1; then
			tail -n 30 "$tmp.log" >&2
			log "purging linux-image-$v failed, full log: $tmp.log"
			exit 1
		fi
	done
	rm -rf "$tmp"/var/lib/apt/lists/*_dists_* 2>/dev/null || true
	n=$(find "$tmp/boot" -maxdepth 1 -name 'vmlinuz-*' | wc -l)
	[ "$n" = 1 ] || { log "expected one kernel in $tmp/boot after the purge, found $n"; exit 1; }
	for v in $old; do
		[ ! -e "$tmp/lib/modules/$v" ] || { log "the modules of $v are still in $tmp/lib/modules"; exit 1; }
	done
fi
ls "$tmp"/boot/vmlinuz-* >/dev/null 2>&1 || { log "no kernel in the rootfs"; exit 1; }
# Drop the package cache: every scenario copies this tree.
rm -rf "$tmp"/var/cache/apt/archives/*.deb
printf 'suite=%s\nbackports=%s\ndracut=%s\npackages=%s\nvariant=%s\ninclude=%s\nmirror=%s\nkernel=%s\nbuilt=%s\n' \
	"$suite" "$backports" "$dracut" "$packages" "$variant" "$include" "$mirror" \
	"$(find "$tmp/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f ')" "$(date -u +%FT%TZ)" \
	>"$tmp/.evfio-rootfs-ready"
rm -rf --one-file-system "$dest"
mv "$tmp" "$dest"
trap - EXIT
rm -f "$tmp.log"
log "rootfs ready in $(( $(date +%s) - start )) s: $dest"
printf '%s\n' "$dest"

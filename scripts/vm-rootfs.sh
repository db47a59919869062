#!/bin/bash
# Build (once) and cache a minimal Debian bookworm rootfs for the VM test and the demo.
#
# Usage: scripts/vm-rootfs.sh [CACHE_DIR]     prints the path of the ready rootfs on stdout
#
# The cache entry is keyed by everything that shapes the tree (suite, variant, package list, mirror,
# this script's format version), built in a temporary directory and renamed into place only after
# debootstrap succeeded and a stamp file was written, so an interrupted build never looks ready.
# A lock serialises concurrent callers (make check and make demo run at the same time).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-${EVFIO_VM_CACHE:-$top/.cache/vm}}
suite=${EVFIO_VM_SUITE:-bookworm}
variant=minbase
# libpci3, libkmod2, libinih1: what the early-vfio binary links against (the hook runs it in the chroot).
# zstd: initramfs-tools' default COMPRESS=zstd (a Recommends, which debootstrap leaves out);
# without it every image fell back to gzip, unlike a Debian 12 host.
include=linux-image-amd64,initramfs-tools,pciutils,kmod,udev,libpci3,libkmod2,libinih1,zstd
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
dest=$cache/rootfs-$suite-$key
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
log "debootstrap $suite ($variant, $include) from $mirror into $tmp (takes a few minutes)"
if ! debootstrap --variant="$variant" --include="$include" "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1; then
	tail -n 30 "$tmp.log" >&2
	log "debootstrap failed, full log: $tmp.log"
	exit 1
fi
ls "$tmp"/boot/vmlinuz-* >/dev/null 2>&1 || { log "no kernel in the rootfs"; exit 1; }
# Drop the package cache: every scenario copies this tree.
rm -rf "$tmp"/var/cache/apt/archives/*.deb
printf 'suite=%s\nvariant=%s\ninclude=%s\nmirror=%s\nbuilt=%s\n' \
	"$suite" "$variant" "$include" "$mirror" "$(date -u +%FT%TZ)" >"$tmp/.evfio-rootfs-ready"
rm -rf --one-file-system "$dest"
mv "$tmp" "$dest"
trap - EXIT
rm -f "$tmp.log"
log "rootfs ready in $(( $(date +%s) - start )) s: $dest"
printf '%s\n' "$dest"

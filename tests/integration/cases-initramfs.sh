# shellcheck shell=bash
# Sourced by run.sh: check --initramfs on images laid out as initramfs-tools builds them.

# mkimage IMAGE EARLY_DIR MAIN_DIR: an uncompressed early cpio archive followed by a gzip'd main
# one, as Debian 13's initramfs-tools writes an image whose modules are already compressed
# (.ko.xz in the early archive); with EARLY_DIR "-" a single gzip'd archive, as Debian 12's
mkimage() {
	local img=$1 early=$2 main=$3
	: >"$img"
	if [ "$early" != - ]; then
		(cd "$early" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >>"$img"
	fi
	(cd "$main" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >>"$img"
}

# image_tree DIR: what the early-vfio hook puts into an image (module aside)
image_tree() {
	local d=$1
	mkdir -p "$d/usr/sbin" "$d/etc" "$d/scripts/init-top"
	cp "$BIN" "$d/usr/sbin/early-vfio"
	cp "$CONF" "$d/etc/early-vfio.conf"
	printf '#!/bin/sh\n' >"$d/scripts/init-top/early-vfio"
	printf '/scripts/init-top/early-vfio "$@"\n/scripts/init-top/udev "$@"\n' \
		>"$d/scripts/init-top/ORDER"
}

c_initramfs_module_in_early_archive() {
	fx
	command -v unmkinitramfs >/dev/null || { fail "unmkinitramfs is not installed"; return; }
	conf '[sata]' 'address = 00:03.0'
	local early=$T/early main=$T/main kdir=usr/lib/modules/6.12.0-test/kernel/drivers/vfio/pci
	image_tree "$main"
	mkdir -p "$early/$kdir"
	printf 'not really a module' >"$early/$kdir/vfio-pci.ko.xz"
	mkimage "$T/trixie.img" "$early" "$main"
	ev check --initramfs "$T/trixie.img"
	want_rc 0
	want_out_line 'ok' 'module vfio-pci' 'vfio-pci.ko.xz'
	want_out_line 'image is ready'
	# the same image without the module is not ready
	rm "$early/$kdir/vfio-pci.ko.xz"
	mkimage "$T/nomod.img" "$early" "$main"
	ev check --initramfs "$T/nomod.img"
	want_rc 1
	want_out_line 'FAIL' 'module vfio-pci (not in the image)'
	want_out_line 'image is NOT ready'
	# Debian 12's layout: one archive, the module in it
	mkdir -p "$main/$kdir"
	printf 'not really a module' >"$main/$kdir/vfio-pci.ko"
	mkimage "$T/bookworm.img" - "$main"
	ev check --initramfs "$T/bookworm.img"
	want_rc 0
	want_out_line 'ok' 'module vfio-pci' 'vfio-pci.ko'
}

t "check --initramfs finds vfio-pci in Debian 13's uncompressed early archive, and misses it when absent" c_initramfs_module_in_early_archive

# shellcheck shell=bash
# Sourced by run.sh: check --initramfs on images laid out as initramfs-tools and dracut build them.

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
	printf 'built\thost\nsystem\tknown\n' >"$d/etc/early-vfio.record"
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
	want_out_line 'ok' 'record /etc/early-vfio.record: built on the host, what the system runs from known'
	want_out_line 'image is ready'
	# without the record of what the system needs, not ready
	mv "$main/etc/early-vfio.record" "$T/record"
	mkimage "$T/norecord.img" "$early" "$main"
	ev check --initramfs "$T/norecord.img"
	want_rc 1
	want_out_line 'FAIL' 'record /etc/early-vfio.record (not in the image'
	mv "$T/record" "$main/etc/early-vfio.record"
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

c_initramfs_nothing_selected_yet() {
	fx
	cp "$HERE/../../conf/early-vfio.conf" "$CONF"
	# what update-initramfs builds right after the install: the hook leaves early-vfio out
	local main=$T/main
	mkdir -p "$main/scripts/init-top" "$main/usr/sbin"
	printf '/scripts/init-top/udev "$@"\n' >"$main/scripts/init-top/ORDER"
	mkimage "$T/fresh.img" - "$main"
	ev check --initramfs "$T/fresh.img"
	want_rc 3
	want_out_line 'nothing is selected yet'
	want_out_line 'Next:' 'early-vfio add' 'early-vfio apply'
	grep -qE 'FAIL|NOT ready' "$T/.out" && fail "prints $(grep -E 'FAIL|NOT ready' "$T/.out" | head -n 1)"
	# an image that still holds an older config with a section: checked as ever (it would bind)
	conf '[sata]' 'address = 00:03.0'
	image_tree "$main"
	cp "$HERE/../../conf/early-vfio.conf" "$CONF"
	mkimage "$T/old.img" - "$main"
	ev check --initramfs "$T/old.img"
	want_rc 1
	want_out_line 'FAIL' 'the config in the image is the same as'
}

c_initramfs_endless_input() {
	fx
	conf '[sata]' 'address = 00:03.0'
	ev check --initramfs /dev/zero
	want_rc 1
	want_err '/dev/zero: not a regular file'
	mkfifo "$T/fifo"
	ev check --initramfs "$T/fifo"
	want_rc 1
	want_err 'not a regular file'
}

t "check --initramfs /dev/zero or a FIFO: refused at once as not a regular file, not read for ever" c_initramfs_endless_input
t "check --initramfs after the install (comments-only config): nothing is selected yet, and what to do next; no FAIL" c_initramfs_nothing_selected_yet
t "check --initramfs finds vfio-pci in Debian 13's uncompressed early archive, and misses it when absent" c_initramfs_module_in_early_archive

# --- dracut --------------------------------------------------------------------------------------

# mkdracut IMAGE EARLY_DIR MAIN_DIR COMPRESSOR: dracut's layout, an uncompressed early cpio archive
# (microcode) followed by the main archive compressed with COMPRESSOR (zstd, xz, gzip)
mkdracut() {
	local img=$1 early=$2 main=$3 z=$4
	(cd "$early" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$img"
	(cd "$main" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | "$z" -c) >>"$img"
}

# dracut_tree DIR systemd|shell: what dracut with the early-vfio module puts in an image (merged
# /usr, hooks under var/lib/dracut/hooks reached through usr/lib/dracut/hooks, vfio-pci.ko.xz),
# with the systemd initrd's init and dracut-pre-udev.service wanted by initrd.target, or the shell
# initrd's init script (pre-udev hooks sourced before systemd-udevd starts)
dracut_tree() {
	local d=$1 kdir=usr/lib/modules/6.12.0-test/kernel/drivers/vfio/pci u=usr/lib/systemd/system
	mkdir -p "$d/usr/sbin" "$d/usr/bin" "$d/usr/lib/dracut" "$d/etc" "$d/var/lib/dracut/hooks/pre-udev" \
		"$d/var/lib/dracut/hooks/pre-trigger" "$d/$kdir"
	ln -s usr/lib "$d/lib"
	ln -s usr/sbin "$d/sbin"
	ln -s usr/bin "$d/bin"
	ln -s ../../../var/lib/dracut/hooks "$d/usr/lib/dracut/hooks"
	cp "$BIN" "$d/usr/sbin/early-vfio"
	cp "$CONF" "$d/etc/early-vfio.conf"
	printf 'built\tchroot\nsystem\tunknown\tno fstab\n' >"$d/etc/early-vfio.record"
	printf 'not really a module' >"$d/$kdir/vfio-pci.ko.xz"
	printf '#!/bin/sh\nif [ -x /usr/sbin/early-vfio ]; then\n\t/usr/sbin/early-vfio boot\nfi\n' \
		>"$d/var/lib/dracut/hooks/pre-udev/00-early-vfio.sh"
	case $2 in
	systemd)
		mkdir -p "$d/$u" "$d/etc/systemd/system/initrd.target.wants"
		printf '\177ELF' >"$d/usr/lib/systemd/systemd"
		ln -s usr/lib/systemd/systemd "$d/init"
		printf '[Unit]\nDescription=dracut pre-udev hook\nDefaultDependencies=no\nBefore=systemd-udevd.service dracut-pre-trigger.service\nConditionDirectoryNotEmpty=|/lib/dracut/hooks/pre-udev\n\n[Service]\nExecStart=-/usr/bin/dracut-pre-udev\n' \
			>"$d/$u/dracut-pre-udev.service"
		ln -s /$u/dracut-pre-udev.service "$d/etc/systemd/system/initrd.target.wants/dracut-pre-udev.service"
		;;
	shell)
		# shellcheck disable=SC2016 # $UDEV_LOG and $systemdutildir are for the image's /init
		printf '#!/bin/sh\n. /lib/dracut-lib.sh\nsource_hook cmdline\n# pre-udev scripts run before udev starts\nsource_hook pre-udev\nUDEV_LOG=$UDEV_LOG "$systemdutildir"/systemd-udevd --daemon --resolve-names=never\nsource_hook pre-trigger\nudevadm trigger --type=devices --action=add\n' \
			>"$d/init"
		chmod 0755 "$d/init"
		;;
	esac
}

# early_microcode DIR: dracut's early archive
early_microcode() {
	mkdir -p "$1/kernel/x86/microcode"
	printf '1\n' >"$1/early_cpio"
	printf 'microcode' >"$1/kernel/x86/microcode/GenuineIntel.bin"
}

# no_unmkinitramfs: a PATH with the decompressors only (and the runner's timeout), as on a host
# without initramfs-tools
no_unmkinitramfs() {
	local t
	mkdir -p "$T/bin"
	for t in zstd xz gzip timeout; do
		ln -sf "$(command -v "$t")" "$T/bin/$t"
	done
	# shellcheck disable=SC2034 # read by run.sh, which runs the case with it
	FAKE_ENV=(PATH="$T/bin")
}

c_initramfs_dracut_systemd() {
	fx
	local t
	for t in cpio zstd xz gzip; do
		command -v "$t" >/dev/null || { fail "$t is not installed"; return; }
	done
	conf '[sata]' 'address = 00:03.0'
	early_microcode "$T/early"
	dracut_tree "$T/main" systemd
	mkdracut "$T/forky.img" "$T/early" "$T/main" zstd
	no_unmkinitramfs
	ev check --initramfs "$T/forky.img"
	want_rc 0
	want_out_line 'ok' 'binary /usr/sbin/early-vfio'
	want_out_line 'ok' 'the config in the image is the same as'
	want_out_line 'ok' 'module vfio-pci' 'vfio-pci.ko.xz'
	want_out_line 'ok' 'dracut' 'pre-udev hook' '00-early-vfio.sh'
	want_out_line 'ok' 'systemd initrd' 'dracut-pre-udev.service' 'before systemd-udevd.service' 'initrd.target'
	want_out_line 'image is ready'
	# not wanted by any target: systemd never starts it
	rm "$T/main/etc/systemd/system/initrd.target.wants/dracut-pre-udev.service"
	mkdracut "$T/unwanted.img" "$T/early" "$T/main" xz
	ev check --initramfs "$T/unwanted.img"
	want_rc 1
	want_out_line 'FAIL' 'dracut-pre-udev.service'
	want_out_line 'image is NOT ready'
	# dracut 112's layout (Debian 14): dracut-lib.sh says hookdir=/var/lib/dracut/hooks, no link
	# from /lib/dracut/hooks, the unit's conditions name several folders
	dracut_tree "$T/ng" systemd
	rm "$T/ng/usr/lib/dracut/hooks"
	printf '#!/bin/sh\n# hookdir=/lib/dracut/hooks was the old place\nhookdir=/var/lib/dracut/hooks\nexport hookdir\n' \
		>"$T/ng/usr/lib/dracut-lib.sh"
	sed -i 's|^ConditionDirectoryNotEmpty=.*|ConditionDirectoryNotEmpty=\|/etc/dracut/hooks/pre-udev\nConditionDirectoryNotEmpty=\|/var/lib/dracut/hooks/pre-udev|' \
		"$T/ng/usr/lib/systemd/system/dracut-pre-udev.service"
	mkdracut "$T/ng.img" "$T/early" "$T/ng" zstd
	ev check --initramfs "$T/ng.img"
	want_rc 0
	want_out_line 'ok' 'pre-udev hook /var/lib/dracut/hooks/pre-udev/00-early-vfio.sh'
	want_out_line 'ok' 'systemd initrd' 'dracut-pre-udev.service'
	# the same image whose dracut-lib.sh still reads /lib/dracut/hooks: the hook would not run
	sed -i 's|^hookdir=.*|hookdir=/lib/dracut/hooks|' "$T/ng/usr/lib/dracut-lib.sh"
	mkdracut "$T/ng-old.img" "$T/early" "$T/ng" zstd
	ev check --initramfs "$T/ng-old.img"
	want_rc 1
	want_out_line 'FAIL' 'pre-udev hook /lib/dracut/hooks/pre-udev'
	# no hook at all (built before the module was installed)
	dracut_tree "$T/nohook" systemd
	rm "$T/nohook/var/lib/dracut/hooks/pre-udev/00-early-vfio.sh"
	mkdracut "$T/nohook.img" "$T/early" "$T/nohook" gzip
	ev check --initramfs "$T/nohook.img"
	want_rc 1
	want_out_line 'FAIL' 'pre-udev hook'
	want_out_line 'image is NOT ready'
}

t "check --initramfs reads a dracut image (early microcode cpio, zstd/xz/gzip main archive) without unmkinitramfs: hook, dracut-pre-udev.service before systemd-udevd" c_initramfs_dracut_systemd

c_initramfs_dracut_shell() {
	fx
	conf '[sata]' 'address = 00:03.0'
	early_microcode "$T/early"
	dracut_tree "$T/main" shell
	mkdracut "$T/shell.img" "$T/early" "$T/main" xz
	no_unmkinitramfs
	ev check --initramfs "$T/shell.img"
	want_rc 0
	want_out_line 'ok' 'shell initrd' 'pre-udev hooks' 'before' 'udevd'
	want_out_line 'image is ready'
	# an init that starts udevd first would bind the host drivers before the hook runs
	sed -i '/^source_hook pre-udev$/d; /systemd-udevd --daemon/a source_hook pre-udev' "$T/main/init"
	mkdracut "$T/late.img" "$T/early" "$T/main" zstd
	ev check --initramfs "$T/late.img"
	want_rc 1
	want_out_line 'FAIL' 'shell initrd' 'pre-udev hooks'
	want_out_line 'image is NOT ready'
	# another config than /etc's
	dracut_tree "$T/other" shell
	printf '[nvme]\naddress = 00:04.0\n' >"$T/other/etc/early-vfio.conf"
	mkdracut "$T/other.img" "$T/early" "$T/other" gzip
	ev check --initramfs "$T/other.img"
	want_rc 1
	want_out_line 'FAIL' 'the config in the image is the same as' 'dracut -f --regenerate-all'
}

t "check --initramfs on dracut's shell initrd: init sources the pre-udev hooks before it starts udevd, and says so when not" c_initramfs_dracut_shell

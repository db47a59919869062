#!/bin/sh
# Runs INSIDE the test VM as init (init=/sbin/evfio-guest-protected-root) for the "protected root"
# scenario of tests/vm/run.sh (issue 5). Unlike the image builds in the chroot, this runs on the
# booted system, so the initramfs hook sees the real mounts and devices: the root disk is behind
# the AHCI controller 00:1f.2.
#   1. good config (00:03.0 + 00:04.0): update-initramfs -u must succeed (the hook records the
#      protected devices in the image's /etc/early-vfio.protected)
#   2. a config taking 00:1f.2: update-initramfs -u must fail and leave the image as it was
#   2b. a config taking 00:05.0 by address: its image, whose record names the drive's serial, is
#      kept as /boot/evfio-hwchange.img (the host boots it with the drives swapped)
#   3. the good config goes back, / is remounted read-only (journal flushed, so the host can read
#      the disk image with debugfs), then /sbin/evfio-guest-check reports as in every boot and
#      appends the "## protected-*" sections written here to /run/evfio-extra.
# Each section: "status N", "seconds N", "sha256 HASH" of the image after the run, then the
# update-initramfs output as "| " lines. The root disk must not be snapshot=on here: the host
# reads the image back and boots the same disk again.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

[ -r /proc/cmdline ] || mount -t proc proc /proc
[ -d /sys/bus ] || mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
mountpoint -q /run || mount -t tmpfs tmpfs /run
dmesg -n 1 2>/dev/null

report=/run/evfio-extra
conf=/etc/early-vfio.conf
img=/boot/initrd.img-$(uname -r)
share=/usr/share/evfio-test

# progress MESSAGE   a line on the console (outside the report markers) with the guest's uptime
exec 3>&1
progress() { echo "evfio-protected: [$(cut -d' ' -f1 /proc/uptime)] $*" >&3; }

# run NAME CONF   update-initramfs -u with CONF as /etc/early-vfio.conf, reported as "## NAME"
run()
{
	progress "$1: update-initramfs -u with $2"
	cp "$2" "$conf"
	chmod 0644 "$conf"
	echo "## $1"
	echo "sha256-before $(sha256sum <"$img" | cut -d' ' -f1)"
	t0=$(date +%s)
	update-initramfs -u >/run/uinit.log 2>&1
	echo "status $?"
	echo "seconds $(($(date +%s) - t0))"
	echo "sha256 $(sha256sum <"$img" | cut -d' ' -f1)"
	sed 's/^/| /' /run/uinit.log
	progress "$1: done"
}

{
	echo "## protected-setup"
	if mount -o remount,rw /; then echo "remount-rw ok"; else echo "remount-rw failed"; fi
	grep ' / ' /proc/mounts
	# Speed, test only: under TCG an image with MODULES=most (a few thousand forks to copy every
	# module) takes over ten minutes; MODULES=dep (the root disk's drivers) plus nvme for the
	# other controllers takes a fraction of it. The hook under test does the same either way.
	# evfio.modules=most on the kernel command line (EVFIO_VM_MODULES_MOST=1 tests/vm/run.sh) keeps
	# the rootfs default.
	if ! grep -qw 'evfio.modules=most' /proc/cmdline; then
		echo 'MODULES=dep' >/etc/initramfs-tools/conf.d/evfio-test-speed
		echo nvme >>/etc/initramfs-tools/modules
		echo "modules dep+nvme"
	fi
	run protected-good "$share/by-address.conf"
	run protected-oops "$share/protected-root.conf"
	# Issue 17: an image whose record says 00:05.0 holds the drive with serial EVFIO-B (the nvme
	# driver holds it in this guest), kept as /boot/evfio-hwchange.img for the host to boot with
	# the drives swapped; the good image is put back as it was.
	cp "$img" /boot/evfio-good.img
	run protected-hwchange "$share/hwchange.conf"
	cp "$img" /boot/evfio-hwchange.img
	cp /boot/evfio-good.img "$img"
	rm -f /boot/evfio-good.img
	# Put the good config back: what an admin does after the refusal.
	cp "$share/by-address.conf" "$conf"
	echo "## protected-after"
	echo "conf-restored $(cmp -s "$share/by-address.conf" "$conf" && echo yes || echo no)"
	sync
	if mount -o remount,ro /; then echo "remount-ro ok"; else echo "remount-ro failed"; fi
} >"$report" 2>&1

exec /sbin/evfio-guest-check

#!/bin/sh
# Runs INSIDE the test VM as init (init=/sbin/evfio-guest-workflow) for the workflow scenario of
# tests/vm/run.sh (issue 19, tests/vm/rows-workflow.sh): what a new user does on the booted host,
# with no config yet and no file edited by hand:
#   early-vfio list
#   early-vfio add 00:03.0                  the AHCI twin, by address
#   early-vfio add /dev/ROOTDISK            refused (it holds /), the config byte for byte the same
#   early-vfio add /dev/nvmeXn1             the EVFIO-B drive while nvme holds it: by its serial
#   early-vfio apply                        update-initramfs -u -k all, check --initramfs, IOMMU, table
#   early-vfio apply --dry-run              with a GRUB config that lacks intel_iommu=on: says so
# The host then reads the image this wrote from the disk and boots it (the reboot). Each step is a
# "## workflow-NAME" section: "status N", "seconds N", then the command's output as "| " lines.
# The test rootfs has no boot loader: /etc/default/grub is written here as an installed host has
# it. The root disk must not be snapshot=on: the host reads it back and boots it again.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

[ -r /proc/cmdline ] || mount -t proc proc /proc
[ -d /sys/bus ] || mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
mountpoint -q /run || mount -t tmpfs tmpfs /run
dmesg -n 1 2>/dev/null

report=/run/evfio-extra
conf=/etc/early-vfio.conf

exec 3>&1
progress() { echo "evfio-workflow: [$(cut -d' ' -f1 /proc/uptime)] $*" >&3; }

# step NAME COMMAND...   run it, report it as "## workflow-NAME"
step()
{
	name=$1
	shift
	progress "$name: $*"
	echo "## workflow-$name"
	echo "command $*"
	t0=$(date +%s)
	"$@" >/run/step.log 2>&1
	echo "status $?"
	echo "seconds $(($(date +%s) - t0))"
	sed 's/^/| /' /run/step.log
	progress "$name: done"
}

# sum FILE   sha256 of FILE, or "absent"
sum() { if [ -e "$1" ]; then sha256sum <"$1" | cut -d' ' -f1; else echo absent; fi; }

{
	echo "## workflow-setup"
	if mount -o remount,rw /; then echo "remount-rw ok"; else echo "remount-rw failed"; fi
	# Speed, test only (as guest-protected-root.sh): MODULES=dep plus nvme instead of MODULES=most.
	if ! grep -qw 'evfio.modules=most' /proc/cmdline; then
		echo 'MODULES=dep' >/etc/initramfs-tools/conf.d/evfio-test-speed
		echo nvme >>/etc/initramfs-tools/modules
	fi
	echo "conf-before $(sum "$conf")"
	# the disk / is on, and the namespace of the NVMe drive with serial EVFIO-B
	root=$(basename "$(readlink "/sys/dev/block/$(mountpoint -d /)")")
	echo "root-disk $root"
	nvme=
	for c in /sys/class/nvme/nvme*; do
		[ "$(tr -d ' ' <"$c/serial" 2>/dev/null)" = EVFIO-B ] || continue
		for n in "$c"/nvme*n*; do
			[ -e "$n" ] && nvme=${n##*/} && break
		done
	done
	echo "evfio-b ${nvme:-none}"
	printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on"\nGRUB_CMDLINE_LINUX=""\n' \
		>/etc/default/grub

	step list early-vfio list
	step add-twin early-vfio add 00:03.0
	echo "## workflow-root-sums"
	echo "before $(sum "$conf")"
	step add-root early-vfio add "/dev/$root"
	echo "## workflow-root-sums-after"
	echo "after $(sum "$conf")"
	step add-nvme early-vfio add "/dev/${nvme:-nvme-EVFIO-B-not-found}"
	echo "## workflow-conf"
	sed 's/^/| /' "$conf"
	step apply early-vfio apply
	echo "## workflow-image"
	echo "sha256 $(sum "/boot/initrd.img-$(uname -r)")"
	# the same host, with a GRUB config that forgot intel_iommu=on
	printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n' >/etc/default/grub
	step nogrub early-vfio apply --dry-run
	rm -f /etc/default/grub

	echo "## workflow-after"
	sync
	if mount -o remount,ro /; then echo "remount-ro ok"; else echo "remount-ro failed"; fi
} >"$report" 2>&1

exec /sbin/evfio-guest-check

#!/bin/sh
# Runs INSIDE the test VM as init (init=/sbin/evfio-guest-check): the guest has reached userspace
# on the root disk behind 00:1f.2. Dump what the host-side test asserts on to the serial console
# between markers, then power off. Never exit: PID 1 exiting panics the kernel.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

[ -r /proc/cmdline ] || mount -t proc proc /proc
[ -d /sys/bus ] || mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev

# Keep kernel messages off the console so they cannot split our lines; they stay in dmesg.
dmesg -n 1 2>/dev/null

# nvme/ahci probe and scan asynchronously: wait (bounded, 20 s) until /sys/block has been stable
# for 2 s, so a disk that would appear late is not missed.
prev=
stable=0
i=0
while [ "$i" -lt 40 ] && [ "$stable" -lt 4 ]; do
	cur=$(echo /sys/block/*)
	if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
	prev=$cur
	sleep 0.5
	i=$((i + 1))
done

section() { echo "## $1"; }

echo "==EVFIO-BEGIN=="
section userspace
echo "reached $(uname -r)"
section cmdline
cat /proc/cmdline
section pci
# address vendor:device class driver iommu_group driver_override (machine-readable twin of
# lspci -knn; "-" for no driver or no group; the override as sysfs shows it, "(null)" when unset)
for d in /sys/bus/pci/devices/*; do
	drv=-
	[ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
	grp=-
	[ -e "$d/iommu_group" ] && grp=$(basename "$(readlink "$d/iommu_group")")
	ovr=$(cat "$d/driver_override" 2>/dev/null || echo -)
	echo "${d##*/} $(sed 's/^0x//' "$d/vendor"):$(sed 's/^0x//' "$d/device") $(sed 's/^0x//' "$d/class") $drv $grp ${ovr:--}"
done
section lspci
lspci -knn 2>&1
section block
# name size(512-byte sectors) serial-or-model sysfs-path (the path names the PCI controller)
for b in /sys/block/*; do
	[ -e "$b" ] || continue
	id=$(cat "$b/device/serial" 2>/dev/null || cat "$b/device/model" 2>/dev/null || echo -)
	echo "${b##*/} $(cat "$b/size") $(echo "$id" | tr -d ' ') $(readlink -f "$b")"
done
section evfio-status
# what a user sees: the serial of an NVMe controller on vfio-pci, from the boot's record
early-vfio status 2>&1
# Scenario-specific init scripts (guest-protected-root.sh) leave their own "## ..." sections here.
[ -r /run/evfio-extra ] && cat /run/evfio-extra
section dmesg
dmesg --color=never 2>&1
echo "==EVFIO-END=="

sync
# minbase has no poweroff(8) (no systemd-sysv); sysrq 'o' powers off, -no-reboot ends QEMU anyway.
echo o >/proc/sysrq-trigger
sleep 30
echo b >/proc/sysrq-trigger
while :; do sleep 60; done

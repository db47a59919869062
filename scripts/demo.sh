#!/bin/bash
# make demo: boot a Debian 12 VM twice, without and then with early-vfio, and show which driver
# holds each storage controller. The VM has two identical ICH9 AHCI controllers [8086:2922] (the
# boot disk is on 00:1f.2, its twin on 00:03.0) and two NVMe controllers with the same IDs.
# early-vfio moves the twin (by address) and one NVMe (by serial number) to vfio-pci before udev
# loads ahci/nvme; the boot controller and the other NVMe keep their drivers.
#
# Run as root on Debian 12: installs the host tools it needs (qemu-system-x86, debootstrap, ...),
# builds the guest rootfs once (cached in .cache/vm, 1-3 min) and then takes about a minute.
# KEEP=1 keeps the work directory, VERBOSE=1 shows the build output and serial consoles.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/vm/lib.sh disable=SC1091 # followed with shellcheck -x (make check-lint)
. "$top/tests/vm/lib.sh"

[ "$(id -u)" = 0 ] || vm_die "make demo needs root (debootstrap, chroot); try: sudo make demo"
# Build and VM packages (does nothing when all are there), then check the tools themselves.
if [ -x "$top/scripts/install-deps.sh" ]; then
	for set in build vm; do
		"$top/scripts/install-deps.sh" "$set" >&2 || vm_die "installing the $set packages failed"
	done
fi
vm_check_tools 1 || vm_die "could not install the host tools the demo needs"
# The static binary the guest gets (make install) is built from Debian's sources of libpci and
# libkmod, fetched here (make deps does the same); make itself never runs apt.
"$top/scripts/build-static-deps.sh" >&2 || vm_die "building the static libpci/libkmod failed"
if [ -z "${EVFIO_VM_BINARY:-}" ] && ! make -s -C "$top" early-vfio >/dev/null; then
	vm_die "building early-vfio failed (build dependencies: make deps)"
fi

vm_workdir_new
vm_setup

# The embedded demo config: what a user would write in /etc/early-vfio.conf.
cat >"$VM_WORK/demo.conf" <<'CONF'
# The second AHCI controller: same IDs as the boot controller 00:1f.2, so select it by address.
[sata-twin]
address = 00:03.0

# One of two identical NVMe controllers, by the serial number the drive reports
# (read through VFIO at boot, before the nvme driver is loaded).
[nvme-b]
serial = EVFIO-B
CONF

vm_set_config -
vm_update_initramfs before || vm_die "update-initramfs without a config failed ($VM_WORK/before.uinit.log)"
vm_set_config "$VM_WORK/demo.conf"
vm_update_initramfs after || {
	cat "$VM_WORK/after.uinit.log" >&2
	vm_die "update-initramfs with the demo config failed"
}

vm_log "booting without early-vfio"
vm_boot before "$VM_WORK/before.initrd" || true
vm_log "booting with early-vfio"
vm_boot after "$VM_WORK/after.initrd" || true
for b in before after; do
	vm_reached_userspace "$VM_WORK/$b.out" ||
		vm_die "the '$b' guest did not reach userspace; serial log: $VM_WORK/$b.serial (KEEP=1 keeps it)"
done

cat <<TXT

/etc/early-vfio.conf in the guest:
$(sed 's/^/    /' "$VM_WORK/demo.conf")

Storage controllers (lspci -knn "Kernel driver in use", disks in /sys/block), * = moved:
$(vm_storage_table "$VM_WORK/before.out" "$VM_WORK/after.out")

Guest kernel log of the boot with early-vfio (written from the initramfs, before udev):
$(vm_klog "$VM_WORK/after.out" | sed 's/^/    /')

TXT

#!/bin/bash
# baseline-guide.sh [-n] ROOT VENDOR:DEVICE... - the method of the popular VFIO guides, as the
# benchmark's baseline: loop over ROOT/sys/bus/pci/devices, read vendor and device with cat,
# compare with a list of ids, write "vfio-pci" to driver_override of each match.
#
# This is the loop the guides put in an initramfs script or a modprobe.d "install" hook
# (Arch wiki "PCI passthrough via OVMF", Proxmox forum and Level1Techs scripts), kept as they
# write it: one `cat` per attribute, a `for` over the id list.  Only differences: the /sys
# prefix is ROOT/sys so it runs on the benchmark's fake trees, and the final
# `modprobe -i vfio-pci` is left out (early-vfio --sysroot never loads modules either).
# It selects by vendor:device only; the guides have no address or class selectors.
#
# -n: dry run, the override is written to /dev/null instead (same open+write, tree untouched),
#     so the benchmark can rerun it on the same tree.
# Prints the addresses it overrode, one a line, then "N overridden".
set -u
OUT=
if [ "${1:-}" = -n ]; then
	OUT=/dev/null
	shift
fi
ROOT=${1:?usage: baseline-guide.sh [-n] ROOT VENDOR:DEVICE...}
shift
DEVS="$*"

count=0
for dev in "$ROOT"/sys/bus/pci/devices/*; do
	vendor=$(cat "$dev/vendor")
	device=$(cat "$dev/device")
	for id in $DEVS; do
		if [ "${vendor#0x}:${device#0x}" = "$id" ]; then
			echo "vfio-pci" >"${OUT:-$dev/driver_override}"
			echo "${dev##*/}"
			count=$((count + 1))
		fi
	done
done
echo "$count overridden"

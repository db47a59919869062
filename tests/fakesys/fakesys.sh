#!/bin/bash
# shellcheck shell=bash
# fakesys.sh - build a fake sysfs tree that looks like the kernel's, for tests.
#
# Source this file, then:
#   fs_init  ROOT                 skeleton: sys/{devices,bus/pci,kernel/iommu_groups}, proc, dev
#   fs_driver ROOT NAME...        register PCI drivers (sys/bus/pci/drivers/NAME/{bind,unbind,...})
#   fs_dev   ROOT BDF [opts]      add one PCI function; opts (defaults = Intel ICH9 AHCI on ahci):
#       --ids VVVV:DDDD           vendor:device                     (8086:2922)
#       --subsys VVVV:DDDD        subsystem vendor:device           (8086:5044)
#       --class CCCCCC            class, subclass, prog-if          (010601)
#       --rev RR                  revision                          (02)
#       --driver NAME|none        host driver, bound now            (ahci)
#       --unbound                 record the host driver but leave the device unbound
#       --bound-to NAME           currently bound to NAME instead of the host driver (e.g. vfio-pci)
#       --group N|none            IOMMU group (default: a new group per device)
#       --override NAME           driver_override content           ((null))
#       --sriov TOTAL:NUM         SR-IOV PF with sriov_totalvfs/sriov_numvfs
#       --config-size N           size of the config file (64 or 256; 256)
#   fs_attr  ROOT BDF ATTR VALUE  overwrite one attribute with raw VALUE (no newline added)
#
# Values are what the kernel prints: vendor "0x8086\n", class "0x010601\n", driver_override "(null)\n".
# Links are relative, as in sysfs:
#   sys/bus/pci/devices/BDF            -> ../../../devices/pci0000:00/BDF
#   sys/devices/pci0000:00/BDF/driver  -> ../../../bus/pci/drivers/ahci
#   sys/devices/pci0000:00/BDF/iommu_group -> ../../../kernel/iommu_groups/N
#   sys/kernel/iommu_groups/N/devices/BDF  -> ../../../../devices/pci0000:00/BDF
#   sys/bus/pci/drivers/ahci/BDF       -> ../../../../devices/pci0000:00/BDF
# The host driver of each device (the driver whose id table matches it) is recorded in
# ROOT/.fakesys/host/BDF for fakekernel.so; early-vfio never reads anything under ROOT/.fakesys.

FS_NEXT_GROUP=1

fs_init() {
	local r=$1
	mkdir -p "$r/sys/devices/pci0000:00" "$r/sys/bus/pci/devices" "$r/sys/bus/pci/drivers" \
		"$r/sys/kernel/iommu_groups" "$r/sys/module" "$r/proc" "$r/dev" "$r/.fakesys/host"
	printf '1\n' >"$r/sys/bus/pci/drivers_autoprobe"
	: >"$r/sys/bus/pci/drivers_probe"
	: >"$r/sys/bus/pci/rescan"
	: >"$r/sys/bus/pci/uevent"
	printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n' >"$r/proc/cmdline"
	FS_NEXT_GROUP=1
}

fs_driver() {
	local r=$1 d
	shift
	for d in "$@"; do
		mkdir -p "$r/sys/bus/pci/drivers/$d"
		: >"$r/sys/bus/pci/drivers/$d/bind"
		: >"$r/sys/bus/pci/drivers/$d/unbind"
		: >"$r/sys/bus/pci/drivers/$d/new_id"
		: >"$r/sys/bus/pci/drivers/$d/remove_id"
		: >"$r/sys/bus/pci/drivers/$d/uevent"
	done
}

# fs_le16 HEX4 -> printf escapes for a little-endian 16-bit value
fs_le16() {
	printf '\\x%s\\x%s' "${1:2:2}" "${1:0:2}"
}

fs_dev() {
	local r=$1 bdf=$2
	shift 2
	local ids=8086:2922 subsys=8086:5044 class=010601 rev=02 drv=ahci bound=1 cur=''
	local group=auto override='' sriov='' cfgsize=256
	while [ $# -gt 0 ]; do
		case $1 in
		--ids) ids=$2 ;;
		--subsys) subsys=$2 ;;
		--class) class=$2 ;;
		--rev) rev=$2 ;;
		--driver) drv=$2 ;;
		--unbound) bound=0; shift; continue ;;
		--bound-to) cur=$2 ;;
		--group) group=$2 ;;
		--override) override=$2 ;;
		--sriov) sriov=$2 ;;
		--config-size) cfgsize=$2 ;;
		*) echo "fs_dev: unknown option $1" >&2; return 1 ;;
		esac
		shift 2
	done
	local ven=${ids%%:*} dev=${ids##*:} sven=${subsys%%:*} sdev=${subsys##*:}
	local d="$r/sys/devices/pci0000:00/$bdf"
	mkdir -p "$d/power"
	printf '0x%s\n' "$ven" >"$d/vendor"
	printf '0x%s\n' "$dev" >"$d/device"
	printf '0x%s\n' "$sven" >"$d/subsystem_vendor"
	printf '0x%s\n' "$sdev" >"$d/subsystem_device"
	printf '0x%s\n' "$class" >"$d/class"
	printf '0x%s\n' "$rev" >"$d/revision"
	printf 'pci:v0000%sd0000%ssv0000%ssd0000%sbc%ssc%si%s\n' \
		"${ven^^}" "${dev^^}" "${sven^^}" "${sdev^^}" "${class:0:2}" "${class:2:2}" "${class:4:2}" \
		>"$d/modalias"
	if [ -n "$override" ]; then
		printf '%s\n' "$override" >"$d/driver_override"
	else
		printf '(null)\n' >"$d/driver_override"
	fi
	printf '16\n' >"$d/irq"
	printf '1\n' >"$d/enable"
	printf -- '-1\n' >"$d/numa_node"
	printf '0\n' >"$d/broken_parity_status"
	printf 'PCI_CLASS=%s\nPCI_ID=%s\nPCI_SUBSYS_ID=%s\nPCI_SLOT_NAME=%s\n' \
		"${class^^}" "${ids^^}" "${subsys^^}" "$bdf" >"$d/uevent"
	: >"$d/remove"
	: >"$d/rescan"
	: >"$d/reset"
	local _ res=''
	for _ in 0 1 2 3 4 5 6 7 8 9 10 11 12; do
		res+="0x0000000000000000 0x0000000000000000 0x0000000000000000"$'\n'
	done
	printf '%s' "$res" >"$d/resource"
	# config space: ids, command/status, revision+class, header type (1 for a bridge), subsystem ids
	local hdr=00
	[ "${class:0:4}" = 0604 ] && hdr=01
	local esc
	esc="$(fs_le16 "$ven")$(fs_le16 "$dev")\\x07\\x04\\x10\\x00"
	esc+="\\x$rev\\x${class:4:2}\\x${class:2:2}\\x${class:0:2}\\x00\\x00\\x$hdr\\x00"
	{
		printf '%b' "$esc"
		head -c 32 /dev/zero
		printf '%b' "$(fs_le16 "$sven")$(fs_le16 "$sdev")"
		head -c $((cfgsize - 52)) /dev/zero
	} >"$d/config"
	ln -s ../../../bus/pci "$d/subsystem"
	ln -s "../../../devices/pci0000:00/$bdf" "$r/sys/bus/pci/devices/$bdf"
	if [ -n "$sriov" ]; then
		printf '%s\n' "${sriov%%:*}" >"$d/sriov_totalvfs"
		printf '%s\n' "${sriov##*:}" >"$d/sriov_numvfs"
		printf '1\n' >"$d/sriov_drivers_autoprobe"
	fi
	if [ "$group" = auto ]; then
		group=$FS_NEXT_GROUP
	fi
	if [ "$group" != none ]; then
		[ "$group" -ge "$FS_NEXT_GROUP" ] && FS_NEXT_GROUP=$((group + 1))
		mkdir -p "$r/sys/kernel/iommu_groups/$group/devices"
		: >"$r/sys/kernel/iommu_groups/$group/reserved_regions"
		printf 'DMA\n' >"$r/sys/kernel/iommu_groups/$group/type"
		ln -s "../../../../devices/pci0000:00/$bdf" "$r/sys/kernel/iommu_groups/$group/devices/$bdf"
		ln -s "../../../kernel/iommu_groups/$group" "$d/iommu_group"
	fi
	if [ "$drv" != none ]; then
		printf '%s\n' "$drv" >"$r/.fakesys/host/$bdf"
		[ -d "$r/sys/bus/pci/drivers/$drv" ] || fs_driver "$r" "$drv"
	fi
	[ "$bound" = 1 ] && [ -z "$cur" ] && [ "$drv" != none ] && cur=$drv
	if [ -n "$cur" ]; then
		ln -s "../../../bus/pci/drivers/$cur" "$d/driver"
		if [ -d "$r/sys/bus/pci/drivers/$cur" ]; then
			ln -s "../../../../devices/pci0000:00/$bdf" "$r/sys/bus/pci/drivers/$cur/$bdf"
		fi
	fi
}

fs_attr() {
	printf '%s' "$4" >"$1/sys/devices/pci0000:00/$2/$3"
}

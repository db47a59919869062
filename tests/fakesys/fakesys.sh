#!/bin/bash
# shellcheck shell=bash
# fakesys.sh - build a fake sysfs tree that looks like the kernel's, for tests.
#
# Source this file, then:
#   fs_init  ROOT                 skeleton: sys/{devices,bus/pci,kernel/iommu_groups}, proc, dev, and
#                                 / mounted from a disk on no PCI device (vda1)
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
#       --sriov TOTAL:NUM         SR-IOV PF with sriov_totalvfs/sriov_numvfs (NUM VFs said to be
#                                 enabled, none made: writing sriov_numvfs through fakekernel.so
#                                 creates them), sriov_offset 1, sriov_stride 1,
#                                 sriov_drivers_autoprobe 1
#       --vf-device DDDD          the VFs' device id (sriov_vf_device; default the PF's)
#       --vf-driver NAME          the driver whose id table matches the VFs (default none)
#       --config-size N           size of the config file (64 or 256; 256)
#       --dsn XX-XX-XX-XX-XX-XX-XX-XX a PCI Express capability and a Device Serial Number
#                                 extended capability (config file of 4096 bytes)
#       --parent BDF              behind that bridge (a card in a slot): its directory is
#                                 sys/devices/.../BDF/<bdf> instead of sys/devices/pci0000:00/<bdf>
#   fs_attr  ROOT BDF ATTR VALUE  overwrite one attribute with raw VALUE (no newline added)
#   fs_module ROOT MODULE [DRIVER] the driver (default MODULE) is a module not loaded yet: its
#                                 sys/bus/pci/drivers/DRIVER goes away (call it after the fs_dev
#                                 calls, with the devices --unbound) and comes back when early-vfio
#                                 loads MODULE through libkmod; fakekernel.so then attaches the
#                                 driver to every unbound device it matches, as the kernel does.
#                                 ROOT/etc/modprobe.d/fakesys.conf aliases MODULE to itself, so
#                                 libkmod finds it without a modules.dep
#
# The running system (what early-vfio's protection scan reads; see src/protect.c):
#   fs_block ROOT NAME MAJ:MIN DEVPATH [SLAVE...]
#                                 a block device at sys/devices/DEVPATH (e.g.
#                                 pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1
#                                 or virtual/block/dm-0) with dev, slaves/ and holders/; the links
#                                 sys/class/block/NAME and sys/dev/block/MAJ:MIN (and sys/block/NAME
#                                 unless it is a partition: inside a block device added before); the node
#                                 ROOT/dev/NAME (a plain file).  Each SLAVE, a block device added
#                                 before (partition, md member, dm table device), gets
#                                 NAME/slaves/SLAVE and SLAVE/holders/NAME, as dm and md make them.
#   fs_link  ROOT PATH TARGET     any other symlink, parents created: udev's
#                                 dev/mapper/vg-root -> ../dm-0, dev/disk/by-id/X-part3 -> ../../sdb3,
#                                 or an NVMe subsystem's controller link
#   fs_mount ROOT MOUNTPOINT MAJ:MIN FSTYPE SOURCE
#                                 a line in proc/self/mountinfo (fs_init writes the pseudo file
#                                 systems: sysfs, proc, devtmpfs, tmpfs, none of them a system mount)
#   fs_swap  ROOT PATH [TYPE]     a line in proc/swaps (TYPE partition or file; partition)
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
	mkdir -p "$r/proc/self" "$r/sys/block" "$r/sys/class/block" "$r/sys/dev/block" "$r/run"
	cat >"$r/proc/self/mountinfo" <<'EOF'
21 26 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
22 26 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 26 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=8141848k,nr_inodes=2035462,mode=755
25 26 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1631796k,mode=755
EOF
	printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n' >"$r/proc/swaps"
	FS_NEXT_GROUP=1
	# The running system's / is on a disk that no PCI device holds (a platform device, as an SD
	# card or virtio-mmio disk would be): early-vfio can tell what the system runs from, and it is
	# none of the case's PCI devices. Cases about protection mount / (or more) on their own disks.
	fs_block "$r" vda 254:0 platform/fakeroot/block/vda
	fs_block "$r" vda1 254:1 platform/fakeroot/block/vda/vda1
	fs_mount "$r" / 254:1 ext4 /dev/vda1
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
	local group=auto override='' sriov='' cfgsize=256 dsn='' parent='' vfdev='' vfdrv=''
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
		--vf-device) vfdev=$2 ;;
		--vf-driver) vfdrv=$2 ;;
		--config-size) cfgsize=$2 ;;
		--dsn) dsn=$2; cfgsize=4096 ;;
		--parent) parent=$2 ;;
		*) echo "fs_dev: unknown option $1" >&2; return 1 ;;
		esac
		shift 2
	done
	local ven=${ids%%:*} dev=${ids##*:} sven=${subsys%%:*} sdev=${subsys##*:}
	local d="$r/sys/devices/pci0000:00/$bdf"
	if [ -n "$parent" ]; then
		d="$(realpath "$r/sys/bus/pci/devices/$parent")/$bdf"
	fi
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
	# as the kernel prints it (PCI_CLASS=%04X: "10802" for 010802); the PCI scan reads ids and
	# class from here. No DRIVER= line: fakekernel.so does not rewrite uevent on binds, and
	# early-vfio reads the driver link.
	printf 'PCI_CLASS=%04X\nPCI_ID=%s\nPCI_SUBSYS_ID=%s\nPCI_SLOT_NAME=%s\nMODALIAS=pci:v0000%sd0000%ssv0000%ssd0000%sbc%ssc%si%s\n' \
		"0x$class" "${ids^^}" "${subsys^^}" "$bdf" \
		"${ven^^}" "${dev^^}" "${sven^^}" "${sdev^^}" "${class:0:2}" "${class:2:2}" "${class:4:2}" >"$d/uevent"
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
		head -c 28 /dev/zero	# BARs and CardBus CIS pointer: subsystem ids at 0x2c
		printf '%b' "$(fs_le16 "$sven")$(fs_le16 "$sdev")"
		if [ -n "$dsn" ]; then
			# 0x34: capabilities at 0x40, a PCI Express one (id 0x10); 0x100: the DSN
			# extended capability (id 0x0003, version 1), low dword first, little-endian
			local b
			IFS=- read -ra b <<<"$dsn"
			head -c 4 /dev/zero
			printf '\x40'
			head -c 11 /dev/zero
			printf '\x10\x00'
			head -c $((0x100 - 0x42)) /dev/zero
			printf '\x03\x00\x01\x00'
			printf '%b' "\\x${b[7]}\\x${b[6]}\\x${b[5]}\\x${b[4]}\\x${b[3]}\\x${b[2]}\\x${b[1]}\\x${b[0]}"
			head -c $((cfgsize - 0x10c)) /dev/zero
		else
			head -c $((cfgsize - 48)) /dev/zero
		fi
	} >"$d/config"
	ln -s "$(fs_rel "$d" "$r/sys/bus/pci")" "$d/subsystem"
	ln -s "$(fs_rel "$r/sys/bus/pci/devices" "$d")" "$r/sys/bus/pci/devices/$bdf"
	if [ -n "$sriov" ]; then
		printf '%s\n' "${sriov%%:*}" >"$d/sriov_totalvfs"
		printf '%s\n' "${sriov##*:}" >"$d/sriov_numvfs"
		printf '1\n' >"$d/sriov_drivers_autoprobe"
		printf '1\n' >"$d/sriov_offset"
		printf '1\n' >"$d/sriov_stride"
		printf '%s\n' "${vfdev:-$dev}" >"$d/sriov_vf_device"
		mkdir -p "$r/.fakesys/sriov/$bdf"
		if [ -n "$vfdrv" ]; then
			printf '%s\n' "$vfdrv" >"$r/.fakesys/sriov/$bdf/vf_driver"
			[ -d "$r/sys/bus/pci/drivers/$vfdrv" ] || fs_driver "$r" "$vfdrv"
		fi
	fi
	if [ "$group" = auto ]; then
		group=$FS_NEXT_GROUP
	fi
	if [ "$group" != none ]; then
		[ "$group" -ge "$FS_NEXT_GROUP" ] && FS_NEXT_GROUP=$((group + 1))
		mkdir -p "$r/sys/kernel/iommu_groups/$group/devices"
		: >"$r/sys/kernel/iommu_groups/$group/reserved_regions"
		printf 'DMA\n' >"$r/sys/kernel/iommu_groups/$group/type"
		ln -s "$(fs_rel "$r/sys/kernel/iommu_groups/$group/devices" "$d")" \
			"$r/sys/kernel/iommu_groups/$group/devices/$bdf"
		ln -s "$(fs_rel "$d" "$r/sys/kernel/iommu_groups/$group")" "$d/iommu_group"
	fi
	if [ "$drv" != none ]; then
		printf '%s\n' "$drv" >"$r/.fakesys/host/$bdf"
		[ -d "$r/sys/bus/pci/drivers/$drv" ] || fs_driver "$r" "$drv"
	fi
	[ "$bound" = 1 ] && [ -z "$cur" ] && [ "$drv" != none ] && cur=$drv
	if [ -n "$cur" ]; then
		ln -s "$(fs_rel "$d" "$r/sys/bus/pci/drivers/$cur")" "$d/driver"
		if [ -d "$r/sys/bus/pci/drivers/$cur" ]; then
			ln -s "$(fs_rel "$r/sys/bus/pci/drivers/$cur" "$d")" "$r/sys/bus/pci/drivers/$cur/$bdf"
		fi
	fi
}

fs_module() {
	local r=$1 mod=$2 drv=${3:-$2}
	rm -rf "$r/sys/bus/pci/drivers/$drv"
	mkdir -p "$r/.fakesys/modules" "$r/etc/modprobe.d"
	printf '%s\n' "$drv" >"$r/.fakesys/modules/$mod"
	printf 'alias %s %s\n' "$mod" "$mod" >>"$r/etc/modprobe.d/fakesys.conf"
}

fs_attr() {
	printf '%s' "$4" >"$1/sys/bus/pci/devices/$2/$3"
}

# fs_nvme ROOT BDF SERIAL [MODEL]   the drive's Identify data, as the nvme driver shows it once
# it holds the controller (fakekernel.so creates BDF/nvme/nvme0/{state,serial,model} when nvme
# binds it); made now when BDF is already on nvme.
fs_nvme() {
	local r=$1 bdf=$2 d
	d=$(realpath "$1/sys/bus/pci/devices/$2")
	mkdir -p "$r/.fakesys/nvme/$bdf"
	printf '%s\n' "$3" >"$r/.fakesys/nvme/$bdf/serial"
	printf '%s\n' "${4:-Fake NVMe}" >"$r/.fakesys/nvme/$bdf/model"
	if [ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = nvme ]; then
		mkdir -p "$d/nvme/nvme0"
		cp "$r/.fakesys/nvme/$bdf/serial" "$r/.fakesys/nvme/$bdf/model" "$d/nvme/nvme0/"
		printf 'live\n' >"$d/nvme/nvme0/state"
	fi
}

# fs_rel FROM TO: the relative link from directory FROM to TO (both under the same root)
fs_rel() {
	realpath -m --relative-to="$1" "$2"
}

fs_block() {
	local r=$1 name=$2 devnum=$3 devpath=$4 s sdir type=disk
	shift 4
	local d="$r/sys/devices/$devpath"
	[ -f "$(dirname "$d")/dev" ] && type=partition	# partitions sit in their disk's directory
	mkdir -p "$d/slaves" "$d/holders" "$d/queue" "$r/dev"
	printf '%s\n' "$devnum" >"$d/dev"
	printf 'MAJOR=%s\nMINOR=%s\nDEVNAME=%s\nDEVTYPE=%s\n' "${devnum%%:*}" "${devnum##*:}" "$name" "$type" \
		>"$d/uevent"
	ln -s "../../devices/$devpath" "$r/sys/class/block/$name"
	ln -s "../../devices/$devpath" "$r/sys/dev/block/$devnum"
	if [ "$type" = disk ]; then
		ln -s "../devices/$devpath" "$r/sys/block/$name"
	else
		printf '%s\n' "${devnum##*:}" >"$d/partition"
	fi
	: >"$r/dev/$name"
	for s in "$@"; do
		sdir=$(readlink "$r/sys/class/block/$s") || { echo "fs_block: no block device $s" >&2; return 1; }
		sdir="$r/sys/devices/${sdir#../../devices/}"
		ln -s "$(fs_rel "$d/slaves" "$sdir")" "$d/slaves/$s"
		mkdir -p "$sdir/holders"
		ln -s "$(fs_rel "$sdir/holders" "$d")" "$sdir/holders/$name"
	done
}

fs_link() {
	mkdir -p "$(dirname "$1/$2")"
	ln -s "$3" "$1/$2"
}

# fs_octal PATH: a path as mountinfo and /proc/swaps print it (space, tab, newline, backslash octal)
fs_octal() {
	local p=${1//\\/\\134}
	p=${p// /\\040}
	p=${p//$'\t'/\\011}
	printf '%s' "${p//$'\n'/\\012}"
}

fs_mount() {
	local r=$1 point=$2 devnum=$3 fstype=$4 source=$5 id
	id=$(($(wc -l <"$r/proc/self/mountinfo") + 26))
	printf '%s 1 %s / %s rw,relatime shared:%s - %s %s rw\n' "$id" "$devnum" "$(fs_octal "$point")" "$id" \
		"$fstype" "$(fs_octal "$source")" >>"$r/proc/self/mountinfo"
}

fs_swap() {
	local r=$1 path=$2 type=${3:-partition}
	printf '%-40s%s\t%s\t\t0\t\t-2\n' "$(fs_octal "$path")" "$type" 8388604 >>"$r/proc/swaps"
}

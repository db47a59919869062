#!/bin/sh
# Runs INSIDE the test VM as init (init=/sbin/evfio-guest-host-in-use) for the host-in-use row of
# tests/vm/run.sh (issue 25, tests/vm/rows-host-in-use.sh): devices the host uses without a mount,
# made live on the booted guest (the rootfs has lvm2 and iproute2):
#   the NVMe drive with serial EVFIO-B (00:05.0) as an LVM PV, VG evfio-hiu, LV lv0 active, nothing
#   mounted:   early-vfio add /dev/nvmeXn1   refused, exit 2, the config byte for byte the same
#              early-vfio bind               with [hiu-nvme] address = 0000:00:05.0 written by hand:
#                                            the drive stays on nvme, its LV still active
#   the e1000e NIC at 00:06.0 as the port of bridge vmbr0 with 10.0.2.15/24 and the default route
#   via 10.0.2.2 (the NIC has no peer: nothing is reached)
#              early-vfio add 00:06.0        refused, exit 2, names the interface and the key that
#                                            overrides it, the config byte for byte the same
# Each step is a "## hiu-NAME" section: "status N", "seconds N", then the output as "| " lines.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

[ -r /proc/cmdline ] || mount -t proc proc /proc
[ -d /sys/bus ] || mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
mountpoint -q /run || mount -t tmpfs tmpfs /run
dmesg -n 1 2>/dev/null

report=/run/evfio-extra
conf=/etc/early-vfio.conf
nic_addr=0000:00:06.0
# no udev in this guest: LVM makes its own /dev nodes and does not wait for udev
lvmconf='activation { udev_sync = 0 udev_rules = 0 } devices { obtain_device_list_from_udev = 0 }'

exec 3>&1
progress() { echo "evfio-hiu: [$(cut -d' ' -f1 /proc/uptime)] $*" >&3; }

# step NAME COMMAND...   run it, report it as "## hiu-NAME"
step()
{
	name=$1
	shift
	progress "$name: $*"
	echo "## hiu-$name"
	echo "command $*"
	t0=$(date +%s)
	"$@" >/run/step.log 2>&1
	echo "status $?"
	echo "seconds $(($(date +%s) - t0))"
	sed 's/^/| /' /run/step.log
}

# sum FILE   sha256 of FILE, or "absent"
sum() { if [ -e "$1" ]; then sha256sum <"$1" | cut -d' ' -f1; else echo absent; fi; }
# driver ADDR   the driver ADDR is bound to, or "none"
driver() { d=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null) && echo "${d##*/}" || echo none; }
lvm_() { lvm "$@" --config "$lvmconf"; }

{
	echo "## hiu-setup"
	if mount -o remount,rw /; then echo "remount-rw ok"; else echo "remount-rw failed"; fi
	mkdir -p /run/lock/lvm
	for m in nvme e1000e bridge dm-mod; do modprobe "$m" 2>&1; done
	nvme=
	for c in /sys/class/nvme/nvme*; do
		[ "$(tr -d ' ' <"$c/serial" 2>/dev/null)" = EVFIO-B ] || continue
		for n in "$c"/nvme*n*; do
			[ -e "$n" ] && nvme=${n##*/} && break
		done
	done
	echo "evfio-b ${nvme:-none}"
	nic=
	for n in "/sys/bus/pci/devices/$nic_addr"/net/*; do [ -e "$n" ] && nic=${n##*/} && break; done
	echo "nic ${nic:-none} $(driver "$nic_addr")"
	# a config there already: a refused add must leave it exactly as it is
	printf '# early-vfio.conf of the host-in-use row\n[sata-00-03.0]\naddress = 0000:00:03.0\n' >"$conf"
	chmod 0644 "$conf"

	step lvm sh -c "lvm pvcreate -y -ff --config '$lvmconf' /dev/$nvme &&
		lvm vgcreate --config '$lvmconf' evfio-hiu /dev/$nvme &&
		lvm lvcreate -y --config '$lvmconf' -L 16M -n lv0 evfio-hiu &&
		lvm lvchange -ay --config '$lvmconf' evfio-hiu/lv0"
	echo "## hiu-lvm-state"
	printf 'holders'
	for h in "/sys/block/$nvme"/holders/*; do [ -e "$h" ] && printf ' %s' "${h##*/}"; done
	echo
	echo "lv-active $(lvm_ lvs --noheadings -o lv_active evfio-hiu/lv0 2>/dev/null | tr -d ' ')"
	echo "mounted $(grep -c "^/dev/\(mapper/evfio--hiu\|$nvme\)" /proc/mounts)"

	step net sh -c "ip link add vmbr0 type bridge &&
		ip link set '$nic' master vmbr0 && ip link set '$nic' up && ip link set vmbr0 up &&
		ip addr add 10.0.2.15/24 dev vmbr0 &&
		{ ip route add default via 10.0.2.2 dev vmbr0 || ip route add default via 10.0.2.2 dev vmbr0 onlink; }"
	echo "## hiu-net-state"
	echo "master $(basename "$(readlink "/sys/class/net/$nic/master" 2>/dev/null)")"
	echo "default $(ip -4 route show default | head -n 1)"

	echo "## hiu-sums-before"
	echo "sha256 $(sum "$conf")"
	step add-nvme early-vfio add "/dev/${nvme:-nvme-EVFIO-B-not-found}"
	echo "## hiu-sums-nvme"
	echo "sha256 $(sum "$conf")"
	step add-nic early-vfio add "$nic_addr"
	echo "## hiu-sums-nic"
	echo "sha256 $(sum "$conf")"

	# bind with a config that selects the drive by address, written by hand
	cp "$conf" /run/conf.saved
	printf '[hiu-nvme]\naddress = 0000:00:05.0\n' >"$conf"
	step bind early-vfio bind
	echo "## hiu-after-bind"
	echo "driver $(driver 0000:00:05.0)"
	echo "override $(cat /sys/bus/pci/devices/0000:00:05.0/driver_override 2>/dev/null)"
	echo "lv-active $(lvm_ lvs --noheadings -o lv_active evfio-hiu/lv0 2>/dev/null | tr -d ' ')"
	echo "nic-driver $(driver "$nic_addr")"
	cp /run/conf.saved "$conf"
	sync
} >"$report" 2>&1

exec /sbin/evfio-guest-check

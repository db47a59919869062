# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # scen, W, VM_*: set by tests/vm/run.sh and lib.sh, which source
# this file; row is theirs too
# Sourced by tests/vm/run.sh (EVFIO_VM_ROWS=host-in-use): issue 25, what the host uses without a
# mount, on a booted guest.
#
#   host-in-use   Debian 12 with lvm2 and iproute2 (scripts/vm-rootfs.sh EVFIO_VM_PACKAGES, cached),
#                 row 1's guest plus an e1000e NIC at 00:06.0 with no peer (-nic none: no network
#                 at all). One boot of the rootfs' own initrd, init=/sbin/evfio-guest-host-in-use
#                 (tests/vm/guest-host-in-use.sh): the EVFIO-B drive (00:05.0) made an LVM PV with
#                 an active LV, not mounted; `early-vfio add /dev/nvmeXn1` is refused (exit 2) with
#                 the config byte for byte the same, and `early-vfio bind` with [hiu-nvme] address =
#                 0000:00:05.0 leaves the drive on nvme with its LV active. The NIC made the port of
#                 bridge vmbr0 (10.0.2.15/24, the default route via 10.0.2.2); `early-vfio add
#                 00:06.0` is refused (exit 2), naming the interface and allow-system-device, the
#                 config byte for byte the same.
# Assertion helpers are only called through check(), which shellcheck cannot follow.
# shellcheck disable=SC2317

VM_HIU_NIC=0000:00:06.0

# hsect NAME   the "| " lines of the guest's "## hiu-NAME" section
hsect() { vm_section "$W/host-in-use.out" "hiu-$1" | sed -n 's/^| //p'; }
# hfield NAME KEY   the rest of the line "KEY ..." in that section
hfield() { vm_section "$W/host-in-use.out" "hiu-$1" | awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'; }
# hhas NAME STRING...   one output line of the step holds every STRING
hhas() {
	local n=$1 s lines
	shift
	lines=$(hsect "$n")
	for s in "$@"; do
		lines=$(grep -F -- "$s" <<<"$lines")
	done
	[ -n "$lines" ]
}
# hsame NAME   the config's sha256 after the step NAME is the one before the adds
hsame() { local a b; a=$(hfield sums-before sha256); b=$(hfield "sums-$1" sha256); [ -n "$a" ] && [ "$a" != absent ] && [ "$a" = "$b" ]; }

rows_host_in_use() {
	local t0 out nv nic d
	t0=$(vm_now)
	row=host-in-use-setup
	VM_PACKAGES="lvm2 iproute2" row_setup host-in-use bookworm 0
	row_begin host-in-use "12 bookworm" intel
	out=$W/host-in-use.out
	cp "$VM_TREE/boot/initrd.img-$VM_KVER" "$W/host-in-use.initrd"
	# no netdev: the NIC has no peer, the guest reaches nothing
	VM_QEMU_EXTRA="-device e1000e,mac=52:54:00:12:34:70,addr=06.0" \
		boot_and_check host-in-use "$W/host-in-use.initrd" init=/sbin/evfio-guest-host-in-use "ahci nvme nvme"
	vm_reached_userspace "$out" || { vm_log "row host-in-use: $(($(vm_now) - t0)) s"; return 0; }
	nv=$(hfield setup evfio-b)
	nic=$(hfield setup nic)
	nic=${nic%% *}
	check "host-in-use: EVFIO-B is ${nv:-none}; 06.0's interface is ${nic:-none}" \
		eval "[ -n '$nv' ] && [ '$nv' != none ] && [ -n '$nic' ] && [ '$nic' != none ]"
	check "host-in-use: ${nv:-?} is an LVM PV whose LV is active (holders: $(hfield lvm-state holders)), nothing mounted" \
		eval "[ \"\$(hfield lvm status)\" = 0 ] && [ -n \"\$(hfield lvm-state holders)\" ] &&
			hfield lvm-state lv-active | grep -qx active && [ \"\$(hfield lvm-state mounted)\" = 0 ]"
	check "host-in-use: $nic is a port of vmbr0, which has the default route ($(hfield net-state default))" \
		eval "[ \"\$(hfield net status)\" = 0 ] && [ \"\$(hfield net-state master)\" = vmbr0 ] &&
			hfield net-state default | grep -q 'via 10.0.2.2 dev vmbr0'"
	check "host-in-use: add /dev/$nv (an active LV on it) is refused: exit 2 (got $(hfield add-nvme status)), naming 0000:00:05.0" \
		eval "[ \"\$(hfield add-nvme status)\" = 2 ] && hhas add-nvme 0000:00:05.0 'not added'"
	check "host-in-use: the refused add of $nv left the config byte for byte as it was (sha256)" hsame nvme
	check "host-in-use: add 00:06.0 (port of vmbr0) is refused: exit 2 (got $(hfield add-nic status)), naming 0000:00:06.0, vmbr0 and $nic" \
		eval "[ \"\$(hfield add-nic status)\" = 2 ] && hhas add-nic 0000:00:06.0 'not added' vmbr0 '$nic'"
	check "host-in-use: the refusal of 00:06.0 names the key that overrides it (allow-system-device)" \
		hhas add-nic allow-system-device
	check "host-in-use: the refused add of 00:06.0 left the config byte for byte as it was (sha256)" hsame nic
	check "host-in-use: bind with [hiu-nvme] address = 0000:00:05.0 refuses it (status $(hfield bind status), not 0)" \
		eval "[ \"\$(hfield bind status)\" != 0 ] && hhas bind 0000:00:05.0"
	d=$(hfield after-bind driver)
	check "host-in-use: after bind 00:05.0 is still on nvme (got ${d:-none}), no driver_override, its LV active" \
		eval "[ '$d' = nvme ] && { [ -z \"\$(hfield after-bind override)\" ] || [ \"\$(hfield after-bind override)\" = '(null)' ]; } &&
			hfield after-bind lv-active | grep -qx active"
	check "host-in-use: 00:06.0 stays on e1000e through it all (got $(hfield after-bind nic-driver))" \
		eval "[ \"\$(hfield after-bind nic-driver)\" = e1000e ]"
	vm_log "row host-in-use: one boot: $(($(vm_now) - t0)) s"
}

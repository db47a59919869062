# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # T, CONF, RC, FAKE_ENV: run.sh's, which sources this file
# Sourced by run.sh: SR-IOV (issue 28). `early-vfio vfs [ADDRESS]` makes the VFs of a PF that an
# SR-IOV section (sriov-vfs, sriov-vfio) selects; fakekernel.so plays drivers/pci/iov.c:
# sriov_numvfs creates VFs (virtfnN, physfn, a group each), sriov_drivers_autoprobe 0 keeps every
# driver from a VF without driver_override. The PF is a QEMU NVMe controller on nvme whose VFs
# nvme also matches (--vf-driver nvme), as in the VM row sriov.

# sriov_pf [fs_dev options...]: the PF at 0000:00:04.0, 4 VFs possible, on nvme
sriov_pf() {
	fs_dev "$T" 0000:00:04.0 --ids 1b36:0010 --class 010802 --driver nvme --sriov 4:0 --vf-driver nvme "$@"
}

PF=sys/bus/pci/devices/0000:00:04.0

# want_vfs N: the PF has N VFs enabled and virtfn0..N-1
want_vfs() {
	local n
	n=$(cat "$T/$PF/sriov_numvfs")
	[ "$n" = "$1" ] || fail "sriov_numvfs is $n, expected $1"
	[ "$1" = 0 ] && [ -e "$T/$PF/virtfn0" ] && fail "virtfn0 still there"
	[ "$1" -gt 0 ] && [ ! -L "$T/$PF/virtfn$(($1 - 1))" ] && fail "no virtfn$(($1 - 1))"
	return 0
}

want_autoprobe() {
	[ "$(cat "$T/$PF/sriov_drivers_autoprobe")" = "$1" ] ||
		fail "sriov_drivers_autoprobe is $(cat "$T/$PF/sriov_drivers_autoprobe"), expected $1"
}

c_sriov_vfs_made_and_bound() {
	fx
	sriov_pf
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 3' 'sriov-vfio = 0 1'
	ev vfs 0000:00:04.0
	want_rc 0
	want_vfs 3
	want_host 0000:00:04.0 nvme
	want_target 0000:00:04.1
	want_target 0000:00:04.2
	want_host 0000:00:04.3 nvme
	want_autoprobe 1
	# the clean way: autoprobe off before the VFs exist, the override before their probe,
	# autoprobe back before the host's VF is probed; nvme never probes a VF for the VM
	want_log_order 'sriov_drivers_autoprobe 0000:00:04.0 = 0' 'sriov_numvfs 0000:00:04.0 = 3' \
		'driver_override 0000:00:04.1 = vfio-pci' 'drivers_probe 0000:00:04.1: bound to vfio-pci' \
		'driver_override 0000:00:04.2 = vfio-pci' 'sriov_drivers_autoprobe 0000:00:04.0 = 1' \
		'drivers_probe 0000:00:04.3: bound to nvme'
	want_no_log 'VF 0000:00:04.1: bound to nvme'
	want_no_log 'bound to nvme: 0000:00:04.1'
	want_no_log 'unbind 0000:00:04.0'
	want_err '0000:00:04.1 (VF 0 of 0000:00:04.0) (none) -> vfio-pci (nvme-vfs)'
	want_err '0000:00:04.3 (VF 2 of 0000:00:04.0): left to the host (nvme)'
	# a second run (the udev rule on a later bind event) changes nothing
	: >"$T/fakekernel.log"
	ev vfs 0000:00:04.0
	want_rc 0
	want_no_writes
	want_err '3 VFs enabled already'
}

c_sriov_pf_refused_vfs_in_use() {
	fx
	sriov_pf
	env FAKE_SYSROOT="$T" LD_PRELOAD="$SHIM" sh -c "echo 2 > $T/$PF/sriov_numvfs"
	: >"$T/fakekernel.log"
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 3' 'sriov-vfio = 0'
	ev vfs 0000:00:04.0
	want_rc 64
	want_no_writes
	want_vfs 2
	want_host 0000:00:04.1 nvme
	want_err '0000:00:04.0 [1b36:0010]: no VFs made (nvme-vfs): 2 VFs are enabled already (sriov-vfs = 3)'
}

c_sriov_pf_refused_on_target() {
	fx
	sriov_pf --bound-to vfio-pci
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 2' 'sriov-vfio = 0'
	ev vfs 0000:00:04.0
	want_rc 64
	want_no_writes
	want_err 'it is on vfio-pci: a PF with SR-IOV keeps its host driver'
}

c_sriov_pf_without_driver() {
	fx
	sriov_pf --unbound
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 2' 'sriov-vfio = 0'
	ev vfs 0000:00:04.0
	want_rc 64
	want_no_writes
	want_vfs 0
	want_driver 0000:00:04.0 none
	want_err 'no VFs made (nvme-vfs): it has no driver: VFs exist only while'
}

c_sriov_above_totalvfs() {
	fx
	sriov_pf
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 5' 'sriov-vfio = 0'
	ev vfs 0000:00:04.0
	want_rc 64
	want_no_writes
	want_vfs 0
	want_autoprobe 1
	want_err 'sriov-vfs = 5, but the PF supports at most 4 (sriov_totalvfs)'
}

c_sriov_time_limit() {
	fx
	sriov_pf
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 3' 'sriov-vfio = 0 1'
	# vfio-pci's probe of VF 1 never returns: the time limit interrupts it
	FAKE_ENV=(FAKE_HANG=vfio-pci:0000:00:04.2)
	ev --timeout 5 vfs 0000:00:04.0
	want_rc 64
	want_vfs 0
	want_autoprobe 1
	want_host 0000:00:04.0 nvme
	[ -e "$T/sys/bus/pci/devices/0000:00:04.1" ] && fail "VF 0 left behind"
	want_no_log 'bound to nvme'
	want_log_order 'probe vfio-pci 0000:00:04.2: hanging' 'sriov_numvfs 0000:00:04.0 = 0' \
		'sriov_drivers_autoprobe 0000:00:04.0 = 1'
	want_err 'the time limit (--timeout) was reached'
	want_err 'the VFs it made are removed, the PF is as it was'
}

c_sriov_no_time_left() {
	fx
	sriov_pf
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 3' 'sriov-vfio = 0 1'
	# the numvfs write takes longer than the whole limit: nothing is left for the VFs
	FAKE_ENV=(FAKE_SRIOV_SLOW=10)
	ev --timeout 4 vfs 0000:00:04.0
	want_rc 64
	want_vfs 0
	want_autoprobe 1
	want_err 'interrupted: the time limit (--timeout) was reached'
}

c_sriov_vf_refused_rolls_back() {
	fx
	sriov_pf
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 2' 'sriov-vfio = 1'
	FAKE_ENV=(FAKE_REFUSE=vfio-pci:0000:00:04.2)
	ev vfs 0000:00:04.0
	want_rc 64
	want_vfs 0
	want_autoprobe 1
	want_err 'vfio-pci did not take VF 1 (0000:00:04.2'
}

c_sriov_other_pf_ignored() {
	fx
	sriov_pf
	fs_dev "$T" 0000:03:00.0
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 2' 'sriov-vfio = 1'
	ev vfs 0000:03:00.0
	want_rc 0
	want_no_writes
}

c_sriov_bind_leaves_pf() {
	fx
	sriov_pf
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 2' 'sriov-vfio = 1'
	ev bind
	want_host 0000:00:04.0 nvme
	want_no_log 'driver_override 0000:00:04.0'
}

c_sriov_pf_also_selected_for_target() {
	fx
	sriov_pf
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 2' 'sriov-vfio = 1' \
		'[all-qemu-nvme]' 'ids = 1b36:0010'
	ev vfs 0000:00:04.0
	want_rc 64
	want_no_writes
	want_err '[all-qemu-nvme] selects the PF itself for vfio-pci'
}

t "vfs: VFs made with autoprobe off, chosen VFs on vfio-pci before any probe, the rest on nvme; a rerun writes nothing" c_sriov_vfs_made_and_bound
t "vfs: a PF with VFs enabled with another count is refused, nothing written (VFs may be in use)" c_sriov_pf_refused_vfs_in_use
t "vfs: a PF on vfio-pci is refused, nothing written" c_sriov_pf_refused_on_target
t "vfs: a PF without a driver is refused before any write (the udev rule runs when it binds)" c_sriov_pf_without_driver
t "vfs: sriov-vfs above sriov_totalvfs is refused before any write" c_sriov_above_totalvfs
t "vfs: the time limit reached in a VF's probe removes the VFs, restores autoprobe" c_sriov_time_limit
t "vfs: the time limit reached in the sriov_numvfs write: nothing made, autoprobe restored" c_sriov_no_time_left
t "vfs: vfio-pci refusing a chosen VF removes the VFs again" c_sriov_vf_refused_rolls_back
t "vfs ADDRESS of a device no SR-IOV section selects writes nothing, exits 0" c_sriov_other_pf_ignored
t "bind never takes the PF of an SR-IOV section" c_sriov_bind_leaves_pf
t "vfs: a PF that a vfio-pci section also selects is refused" c_sriov_pf_also_selected_for_target

c_sriov_boot_loads_pf_driver() {
	fx
	fs_dev "$T" 0000:03:00.0
	sriov_pf --unbound
	fs_module "$T" nvme
	printf 'alias pci:v00001B36d00000010sv*sd*bc*sc*i* nvme\n' >>"$T/etc/modprobe.d/fakesys.conf"
	conf '[sata]' 'address = 0000:03:00.0' \
		'[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 2' 'sriov-vfio = 1'
	printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n' >"$T/proc/cmdline"
	ev boot
	want_rc 0
	want_target 0000:03:00.0
	want_host 0000:00:04.0 nvme
	want_vfs 2
	want_host 0000:00:04.1 nvme
	want_target 0000:00:04.2
	want_log_order 'driver_override 0000:03:00.0 = vfio-pci' 'module nvme loaded' \
		'sriov_drivers_autoprobe 0000:00:04.0 = 0' 'sriov_numvfs 0000:00:04.0 = 2' \
		'driver_override 0000:00:04.2 = vfio-pci'
	want_no_log 'VF 0000:00:04.2: bound to nvme'
}

c_sriov_boot_pf_driver_not_in_image() {
	fx
	sriov_pf --unbound
	fs_module "$T" nvme
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 2' 'sriov-vfio = 1'
	printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n' >"$T/proc/cmdline"
	ev boot
	want_rc 0
	want_vfs 0
	want_driver 0000:00:04.0 none
	want_no_writes
	want_err 'its VFs are made when the driver binds (udev rule)'
	want_err 'no PCI device matches '"$CONF"' for the target driver (the VFs of its SR-IOV sections are made next)'
}

t "boot: after the bind, the PF's driver in the image is loaded and the PF's VFs made" c_sriov_boot_loads_pf_driver
t "boot: a PF whose driver is not in the image is left to the udev rule, nothing written" c_sriov_boot_pf_driver_not_in_image

# sriov_made: c_sriov_vfs_made_and_bound's state (3 VFs, 0 and 1 on vfio-pci, 2 on nvme)
sriov_made() {
	fx
	sriov_pf
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 3' 'sriov-vfio = 0 1'
	ev vfs
	[ "$RC" = 0 ] || fail "vfs exited $RC"
}

c_sriov_status_shows_pf_and_index() {
	sriov_made
	ev status
	want_rc 0
	grep -A9 '^0000:00:04.1 ' "$T/.out" | grep -qF 'SR-IOV: VF 0 of 0000:00:04.0' ||
		fail "status lacks 'SR-IOV: VF 0 of 0000:00:04.0' under 04.1"
	grep -A9 '^0000:00:04.2 ' "$T/.out" | grep -qF 'SR-IOV: VF 1 of 0000:00:04.0' ||
		fail "status lacks 'SR-IOV: VF 1 of 0000:00:04.0' under 04.2"
	ev status --json
	grep -qF '"address": "0000:00:04.2"' "$T/.out" || fail "no 04.2 in status --json"
	tr -d '\n' <"$T/.out" | grep -qE '"address": "0000:00:04.2"[^}]*"sriov_pf": "0000:00:04.0", "sriov_vf_index": 1' ||
		fail "status --json lacks sriov_pf/sriov_vf_index for 04.2"
	ev status -a
	grep -A9 '^0000:00:04.0 ' "$T/.out" |
		grep -qF 'SR-IOV: PF, 3 of 4 VFs enabled, [nvme-vfs] asks for 3: 00:04.1, 00:04.2, 00:04.3' ||
		fail "status -a lacks the PF's VFs under 04.0"
}

c_sriov_list_shows_pf_to_vfs() {
	sriov_made
	ev list
	want_rc 0
	grep -A6 ' 00:04.0 ' "$T/.out" | grep -qF 'SR-IOV: PF, 3 of 4 VFs enabled, [nvme-vfs] asks for 3: 00:04.1, 00:04.2, 00:04.3' ||
		fail "list lacks PF -> VFs under 00:04.0"
	grep -A6 ' 00:04.3 ' "$T/.out" | grep -qF 'SR-IOV: VF 2 of 0000:00:04.0' ||
		fail "list lacks 'VF 2 of 0000:00:04.0' under 00:04.3"
}

c_sriov_release_vf() {
	sriov_made
	: >"$T/fakekernel.log"
	ev release 0000:00:04.1
	want_rc 0
	want_host 0000:00:04.1 nvme
	want_target 0000:00:04.2
	want_host 0000:00:04.0 nvme
	want_vfs 3
	want_no_log 'sriov_numvfs'
}

t "status: each VF shows its PF and index (text and --json), the PF its VFs" c_sriov_status_shows_pf_and_index
t "list: the PF shows its VFs, each VF its PF and index" c_sriov_list_shows_pf_to_vfs
t "release ADDRESS hands a VF back to its host driver; the PF and the other VFs stay" c_sriov_release_vf

c_sriov_add_vf() {
	fx
	sriov_pf
	env FAKE_SYSROOT="$T" LD_PRELOAD="$SHIM" sh -c "echo 3 > $T/$PF/sriov_numvfs"
	conf '# VMs'
	cp "$CONF" "$T/conf.orig"
	ev add 0000:00:04.2
	want_rc 0
	cmp -s -n "$(wc -c <"$T/conf.orig")" "$T/conf.orig" "$CONF" || fail "the config's first bytes changed"
	grep -qx 'address = 0000:00:04.0' "$CONF" || fail "the new section does not select the PF by address"
	grep -qx 'sriov-vfs = 3' "$CONF" || fail "no 'sriov-vfs = 3' in the config"
	grep -qx 'sriov-vfio = 1' "$CONF" || fail "no 'sriov-vfio = 1' in the config"
	grep -q 'as VF 1 of its PF 0000:00:04.0' "$T/.out" || fail "add does not say it took VF 1 of the PF"
	ev check --offline
	want_rc 0
	# the same VF again: nothing to change; another VF of that PF: the section to edit is named
	cp "$CONF" "$T/conf.added"
	ev add 0000:00:04.2
	want_rc 0
	grep -q 'already selected by \[' "$T/.out" || fail "a second add of VF 1 does not say it is selected"
	ev add 0000:00:04.1
	want_rc 1
	want_err 'add 0 to its sriov-vfio line'
	cmp -s "$T/conf.added" "$CONF" || fail "a refused add changed the config"
}

t "add of a VF writes an SR-IOV section for its PF (sriov-vfs as now, that VF for vfio-pci)" c_sriov_add_vf

c_sriov_check_shows_pf() {
	fx
	sriov_pf
	conf '[nvme-vfs]' 'address = 0000:00:04.0' 'sriov-vfs = 5' 'sriov-vfio = 0'
	ev check
	want_rc 0
	grep -qF '0000:00:04.0 Non-Volatile memory controller' "$T/.out" || fail "check does not list the PF under [nvme-vfs]"
	grep -qF 'SR-IOV: PF, 0 of 4 VFs enabled, [nvme-vfs] asks for 5' "$T/.out" || fail "check lacks the PF's SR-IOV line"
	want_err '0000:00:04.0: no VFs will be made now: sriov-vfs = 5, but the PF supports at most 4'
	grep -q 'selects no device' "$T/.err" && fail "check says the SR-IOV section selects no device"
	want_no_writes
}

t "check lists an SR-IOV section's PF with its VFs, and warns what would keep vfs from making them" c_sriov_check_shows_pf

# shellcheck shell=bash
# Sourced by run.sh: the boot pipeline under hostile timing (issue 16). Each case was first run
# against the code before the redesign and failed there.
#
# fs_module makes nvme a module that is not loaded yet: when early-vfio loads it (to read a serial
# from the nvme driver), the fake kernel attaches nvme to every unbound NVMe controller at once,
# as the real driver_register() does. FAKE_VFIO_SLOW makes opening /dev/vfio/vfio slow.

# want_no_stray_override [BDF...]: no device has driver_override set, except the BDFs given,
# which must also be on vfio-pci
want_no_stray_override() {
	local d b ov ok
	for d in "$T"/sys/bus/pci/devices/*; do
		b=${d##*/}
		ov=$(override_of "$b")
		[ "$ov" = "(null)" ] && continue
		ok=0
		for a in "$@"; do
			[ "$a" = "$b" ] && ok=1
		done
		if [ "$ok" = 0 ]; then
			fail "$b keeps driver_override '$ov' (driver $(drv_of "$b"))"
		elif [ "$(drv_of "$b")" != vfio-pci ]; then
			fail "$b has driver_override '$ov' but is on '$(drv_of "$b")'"
		fi
	done
}

# Defect 1: reading a serial through the nvme driver loads nvme, and the kernel gives nvme every
# unbound NVMe controller, including one a section takes by address. That one must still end on
# vfio-pci, and since it needs no serial it is bound before nvme is loaded at all.
c_nvme_load_takes_addressed_drive() {
	fx
	fs_dev "$T" 0000:00:1f.2
	fs_dev "$T" 0000:03:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound
	fs_dev "$T" 0000:04:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound
	fs_dev "$T" 0000:05:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme --unbound
	fs_nvme "$T" 0000:03:00.0 SN-A
	fs_nvme "$T" 0000:04:00.0 SN-B
	fs_nvme "$T" 0000:05:00.0 SN-C
	fs_module "$T" nvme
	conf '[drive]' 'ids = 1b36:0010' 'serial = SN-B' '' '[vmdisk]' 'address = 0000:05:00.0'
	ev bind
	want_rc 0
	want_log 'module nvme loaded'
	want_target 0000:05:00.0
	want_target 0000:04:00.0
	want_host 0000:03:00.0 nvme
	want_no_log 'driver_attach nvme 0000:05:00.0'
	want_no_stray_override 0000:04:00.0 0000:05:00.0
}

# Issue 26 item 7: the nvme fallback never probes a drive that is (or may be) meant for a VM.
# Two serial candidates in one IOMMU group: whichever the serial picks, the other would stay on
# nvme in the VM's group, and the picked one was probed by nvme first.  Neither is given to nvme:
# both stay unread and unbound, no override left, the group named
c_fallback_two_candidates_one_group() {
	fx
	fs_dev "$T" 0000:00:1f.2
	fs_dev "$T" 0000:03:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound --group 7
	fs_dev "$T" 0000:04:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound --group 7
	fs_nvme "$T" 0000:03:00.0 SN-A
	fs_nvme "$T" 0000:04:00.0 SN-B
	fs_module "$T" nvme
	conf '[drive]' 'serial = SN-B'
	ev bind
	want_rc 64
	want_no_log 'nvme 0000:03:00.0'
	want_no_log 'nvme 0000:04:00.0'
	want_no_log 'bound to nvme'
	want_driver 0000:03:00.0 none
	want_driver 0000:04:00.0 none
	want_no_stray_override
	want_err_line '0000:04:00.0' 'cannot read its serial number, not bound (drive)' 'IOMMU group 7' '0000:03:00.0'
}

# An address-selected drive shares its IOMMU group with a serial candidate (so it waits for the
# candidates' reading), and another candidate elsewhere needs the nvme driver: loading nvme must
# not give it the address-selected drive (nor the candidate of its group); that one is still bound
c_fallback_addressed_drive_shares_candidate_group() {
	fx
	fs_dev "$T" 0000:00:1f.2
	fs_dev "$T" 0000:03:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound --group 8
	fs_dev "$T" 0000:04:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound --group 9
	fs_dev "$T" 0000:05:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme --unbound --group 8
	fs_nvme "$T" 0000:03:00.0 SN-A
	fs_nvme "$T" 0000:04:00.0 SN-B
	fs_nvme "$T" 0000:05:00.0 SN-C
	fs_module "$T" nvme
	conf '[drive]' 'ids = 1b36:0010' 'serial = SN-B' '' '[vmdisk]' 'address = 0000:05:00.0'
	ev bind
	want_rc 64
	want_log 'module nvme loaded'
	want_no_log 'nvme 0000:05:00.0'
	want_no_log 'nvme 0000:03:00.0'
	want_target 0000:05:00.0
	want_target 0000:04:00.0
	want_driver 0000:03:00.0 none
	want_no_stray_override 0000:04:00.0 0000:05:00.0
	want_err_line '0000:03:00.0' 'IOMMU group 8' '0000:05:00.0'
}

# Defect 2: the time limit runs out while candidates are being identified. Whatever was moved to
# read a serial goes back; nothing keeps an override it was not selected for.
c_deadline_during_identify() {
	fx
	nvme_twins boot
	conf '[drive]' 'serial = SN-A'
	FAKE_ENV=(FAKE_VFIO_SLOW=2)
	local start=$SECONDS
	ev --timeout 3 bind
	[ $((SECONDS - start)) -le 8 ] || fail "took $((SECONDS - start))s with --timeout 3"
	# 03:00.0 (SN-A) may have been bound in time; 04:00.0 (SN-B) must not be on vfio-pci
	[ "$(drv_of 0000:04:00.0)" = vfio-pci ] && fail "0000:04:00.0 (SN-B, not selected) left on vfio-pci"
	if [ "$(drv_of 0000:03:00.0)" = vfio-pci ]; then
		want_no_stray_override 0000:03:00.0
	else
		want_no_stray_override
		want_rc 1 64
	fi
	want_driver 0000:00:1f.2 ahci
	want_no_log '0000:00:1f.2'
}

# Defect 2 again, with the deadline inside the nvme driver's wait: the one selected drive never
# becomes live, the other is read in time; nothing is left with an override.
c_deadline_waiting_for_nvme() {
	fx
	nvme_twins boot
	fs_module "$T" nvme
	conf '[drive]' 'serial = SN-B'
	# shellcheck disable=SC2034 # read by ev in run.sh
	FAKE_ENV=(FAKE_NVME_DEAD=0000:04:00.0)
	local start=$SECONDS
	ev --timeout 2 bind
	[ $((SECONDS - start)) -le 6 ] || fail "took $((SECONDS - start))s with --timeout 2"
	want_rc 1 64
	want_no_stray_override
	want_host 0000:03:00.0 nvme
	[ "$(drv_of 0000:04:00.0)" = vfio-pci ] && fail "0000:04:00.0 on vfio-pci though its serial was never read"
}

# Defect 3: only class 010802 speaks the NVMe register interface. An NVMHCI controller (010801) or
# a vendor-specific 010800 device is no serial candidate: never moved, never written to.
c_only_010802_is_nvme() {
	fx
	fs_dev "$T" 0000:02:00.0 --ids 8086:0953 --class 010801 --driver none
	fs_dev "$T" 0000:03:00.0 --ids 1d82:0101 --class 010800 --driver none
	fs_dev "$T" 0000:04:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound
	fs_nvme "$T" 0000:04:00.0 SN-B
	conf '[drive]' 'serial = SN-B'
	ev bind
	want_rc 0
	want_target 0000:04:00.0
	want_no_log '0000:02:00.0'
	want_no_log '0000:03:00.0'
	want_driver 0000:02:00.0 none
	want_driver 0000:03:00.0 none
	want_no_stray_override 0000:04:00.0
}

# A device that changes driver between the scan and the move: bind re-reads it first.
c_driver_changed_after_scan() {
	fx
	fs_dev "$T" 0000:03:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound
	fs_dev "$T" 0000:04:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound
	fs_nvme "$T" 0000:03:00.0 SN-A
	fs_nvme "$T" 0000:04:00.0 SN-B
	fs_module "$T" nvme
	# 03:00.0 is taken by ids (with a serial section only for 04:00.0's twin): loading nvme for
	# the serial read must not leave 03:00.0 on nvme
	conf '[byid]' 'address = 03:00.0' '' '[drive]' 'address = 04:00.0' 'serial = SN-B'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_target 0000:04:00.0
	want_no_stray_override 0000:03:00.0 0000:04:00.0
}

t "item 7: two serial candidates in one IOMMU group: nvme probes neither, both unread, no override" c_fallback_two_candidates_one_group
t "item 7: an address-selected drive sharing a candidate's group is never given to nvme when it loads" c_fallback_addressed_drive_shares_candidate_group
t "pipeline: loading nvme for a serial read does not keep a drive a section takes by address" c_nvme_load_takes_addressed_drive
t "pipeline: the time limit during identification leaves nothing moved and no stray override" c_deadline_during_identify
t "pipeline: the time limit while nvme never becomes live: exit non-zero, no stray override" c_deadline_waiting_for_nvme
t "pipeline: only class 010802 is an NVMe serial candidate (010801, 010800 never touched)" c_only_010802_is_nvme
t "pipeline: a drive on nvme since the scan is unbound from nvme before vfio-pci takes it" c_driver_changed_after_scan

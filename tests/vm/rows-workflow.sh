# shellcheck shell=bash
# Sourced by tests/vm/run.sh: scenario 10, the everyday workflow on a booted guest (issue 19).
#
# workflow_start (in rows_bookworm, right after scenario 7 starts): the guest boots a copy of
# root.img (no config yet, the image debootstrap built) with init=/sbin/evfio-guest-workflow
# (tests/vm/guest-workflow.sh): early-vfio list; add 00:03.0; add of the root disk, refused with the
# config unchanged; add /dev/nvmeXn1 (the EVFIO-B drive, on nvme); apply (update-initramfs -u -k
# all inside the guest, check --initramfs, IOMMU, the table); apply --dry-run with a GRUB config
# that lacks intel_iommu=on. It runs in the background, beside the host's image builds.
# workflow_finish (after scenario 7's checks): the guest's reports, then the reboot: the image the
# guest built, read from its disk, boots the same disk; 00:03.0 and 00:05.0 must be on vfio-pci,
# 00:04.0 (EVFIO-A) on nvme.
# Assertion helpers are only called through check(), which shellcheck cannot follow.
# shellcheck disable=SC2317

wf_pid=

workflow_start() {
	wf_disk=$W/workflow.img
	cp --sparse=always "$W/root.img" "$wf_disk"
	t_wf=$(vm_now)
	local append=
	[ "${EVFIO_VM_MODULES_MOST:-0}" != 0 ] && append=evfio.modules=most
	VM_BOOT_ROOT=$wf_disk VM_BOOT_SNAPSHOT=off EVFIO_VM_TIMEOUT=${EVFIO_VM_WORKFLOW_TIMEOUT:-1800} \
		vm_boot workflow "$W/pristine.initrd" init=/sbin/evfio-guest-workflow $append &
	wf_pid=$!
}

# wsect NAME   the "| " lines of the guest's "## workflow-NAME" section
wsect() { vm_section "$W/workflow.out" "workflow-$1" | sed -n 's/^| //p'; }
# wfield NAME KEY   the value of "KEY value" in that section
wfield() { vm_section "$W/workflow.out" "workflow-$1" | awk -v k="$2" '$1 == k { print $2; exit }'; }
# wstep NAME STATUS   the step ran with that exit status
wstep() { [ "$(wfield "$1" status)" = "$2" ]; }
# whas NAME STRING...   one output line of the step holds every STRING
whas() {
	local n=$1 s lines
	shift
	lines=$(wsect "$n")
	for s in "$@"; do
		lines=$(grep -F -- "$s" <<<"$lines")
	done
	[ -n "$lines" ]
}

workflow_finish() {
	local t_wait rc root nv wo=$W/workflow.out
	t_wait=$(vm_now)
	wait "$wf_pid"
	wf_pid=
	vm_log "workflow guest: results read $(($(vm_now) - t_wf)) s after its start, waited $(($(vm_now) - t_wait)) s for it"
	if vm_reached_userspace "$wo"; then
		pass "workflow: guest reached userspace and reported its steps"
	else
		fail "workflow: guest reached userspace (serial log: $W/workflow.serial)"
		sed 's/\r//g' "$W/workflow.serial" 2>/dev/null | tail -n 25 | sed 's/^/    | /'
		return
	fi
	root=$(wfield setup root-disk)
	nv=$(wfield setup evfio-b)
	check "workflow: in the guest, no config to begin with; / on ${root:-?}, EVFIO-B is ${nv:-?}" \
		eval "[ '$(wfield setup conf-before)' = absent ] && [ -n '$root' ] && [ '$nv' != none ]"
	check "workflow: list shows 00:05.0 with its serial EVFIO-B and disk $nv, 64 MiB, its model and serial ($(wfield list seconds) s)" \
		eval "wstep list 0 && whas list 'NVMe: serial EVFIO-B' && whas list 'disk: $nv, 64 MiB, QEMU NVMe Ctrl, serial EVFIO-B'"
	check "workflow: list says the group of 00:1f.2 cannot be passed through, 00:1f.2 holding /" \
		eval "whas list 'cannot be passed through as it stands' && whas list 'it holds the running system (/ (root)'"
	check "workflow: add 00:03.0 writes [sata-00-03.0] by address with its ids as a guard" \
		eval "wstep add-twin 0 && whas add-twin '+ [sata-00-03.0]' && whas add-twin '+ address = 0000:00:03.0' &&
			whas add-twin '+ ids = 8086:2922'"
	check "workflow: add /dev/$root (the root disk) is refused: exit 2 (got $(wfield add-root status)), naming 0000:00:1f.2 and / (root)" \
		eval "wstep add-root 2 && whas add-root '0000:00:1f.2' 'not added' '/ (root)'"
	check "workflow: the refused add left the config byte for byte as it was (sha256)" \
		eval "[ -n '$(wfield root-sums before)' ] && [ '$(wfield root-sums before)' = '$(wfield root-sums-after after)' ]"
	check "workflow: add /dev/$nv (EVFIO-B, on nvme) writes serial = EVFIO-B with ids = 1b36:0010" \
		eval "wstep add-nvme 0 && whas add-nvme '+ serial = EVFIO-B' && whas add-nvme '+ ids = 1b36:0010'"
	check "workflow: the config is the two added sections, nothing else" \
		eval "[ \"\$(wsect conf | grep -c '^\[')\" = 2 ] && wsect conf | grep -qx '\[sata-00-03.0\]' &&
			wsect conf | grep -qx '\[nvme-EVFIO-B\]'"
	rc=$(wfield apply status)
	check "workflow: apply succeeds in the guest (status ${rc:-none}, $(wfield apply seconds) s)" test "$rc" = 0
	check "workflow: apply ran update-initramfs -u -k all and found the image ready" \
		eval "whas apply 'running: update-initramfs -u -k all' && whas apply 'image is ready'"
	check "workflow: apply's table: 00:03.0 ahci -> vfio-pci, 00:05.0 nvme ($nv) -> vfio-pci" \
		eval "whas apply '* 0000:00:03.0' 'ahci' '-> vfio-pci [sata-00-03.0]' &&
			whas apply '* 0000:00:05.0' 'nvme ($nv)' '-> vfio-pci [nvme-EVFIO-B]'"
	check "workflow: apply --dry-run without intel_iommu=on in /etc/default/grub says so, exit 1 (got $(wfield nogrub status))" \
		eval "wstep nogrub 1 && whas nogrub 'intel_iommu=on is not in /etc/default/grub'"
	check "workflow: and prints the line to put there" \
		whas nogrub 'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on"'
	check "workflow: the guest remounted / read-only" \
		eval "vm_section '$wo' workflow-after | grep -qx 'remount-ro ok'"

	# The reboot: the image the guest built, from its disk, on the same disk.
	e2fsck -fp "$wf_disk" >"$W/workflow.e2fsck.log" 2>&1
	rc=$?
	check "workflow: the guest's root filesystem is clean (e2fsck status $rc)" test "$rc" -le 1
	debugfs -R "dump /boot/initrd.img-$VM_KVER $W/workflow-next.initrd" "$wf_disk" >/dev/null 2>&1
	check "workflow: the image on the disk is the one apply built (sha256)" \
		eval "[ -s '$W/workflow-next.initrd' ] && [ \"\$(sha256sum <'$W/workflow-next.initrd' | cut -d' ' -f1)\" = '$(wfield image sha256)' ]"
	[ -s "$W/workflow-next.initrd" ] || return
	VM_BOOT_ROOT=$wf_disk boot_and_check workflow-next "$W/workflow-next.initrd" "" "vfio-pci nvme vfio-pci"
	check "workflow-next: 00:05.0 taken by its serial: the kernel log says serial EVFIO-B, [nvme-EVFIO-B]" \
		eval "vm_klog '$W/workflow-next.out' | grep -F '$VM_NVME_B_ADDR' | grep -F '(nvme-EVFIO-B)' | grep -qF 'serial EVFIO-B'"
	vm_log "workflow (scenario 10): $(($(vm_now) - t_wf)) s from the guest's start to the end of the reboot"
}

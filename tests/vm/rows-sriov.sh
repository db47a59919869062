# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # base, scen, W, VM_*: set by tests/vm/run.sh and lib.sh, which source
# this file; row and VM_DISK_SECTORS are theirs too
# Sourced by tests/vm/run.sh (EVFIO_VM_ROWS=sriov): issue 28, SR-IOV VFs made and bound at boot.
#
#   sriov   Debian 12, row 1's guest plus QEMU 7.2's SR-IOV NVMe controller at 00:06.0 (an
#           nvme-subsys, sriov_max_vfs=3, a 16M namespace): one image (scenarios/sriov.conf), one
#           boot. In init-top early-vfio loads nvme for the PF (it is in the image), makes 3 VFs
#           with sriov_drivers_autoprobe 0, binds VFs 0 and 1 (00:06.1, 00:06.2) to vfio-pci and
#           leaves VF 2 (00:06.3) to nvme. Checked: the PF on nvme with its namespace's disk; 06.1
#           and 06.2 on vfio-pci with driver_override, each in an IOMMU group, and never probed by
#           nvme (no "nvme nvmeN: pci function 0000:00:06.1" in the kernel log); 06.3 probed by
#           nvme. QEMU's secondary controllers stay offline until the PF assigns them resources
#           (NVMe virtualization management), so the nvme driver's initialisation of 06.3 fails
#           after its probe ("Device not ready" or "Ignoring bogus Namespace" in the log): the
#           assertion is that nvme probed it, not that it has a disk.

VM_SRIOV_PF=0000:00:06.0

rows_sriov() {
	local t0 out a d ovr grp vf
	t0=$(vm_now)
	row=sriov-setup
	row_setup sriov bookworm 0
	row_begin sriov "12 bookworm" intel
	truncate -s 16M "$W/nvme-sr.img"
	VM_DISK_SECTORS["$VM_SRIOV_PF"]=32768
	build_image sriov "$scen/sriov.conf"
	# one line: vm_boot reads VM_QEMU_EXTRA's first line as its words
	VM_QEMU_EXTRA="-device nvme-subsys,id=evfio-subsys,nqn=evfio-sriov \
-drive if=none,id=d-nvme-sr,file=$W/nvme-sr.img,format=raw,snapshot=on \
-device nvme,id=nvme-sr,serial=EVFIO-SR,addr=06.0,subsys=evfio-subsys,sriov_max_vfs=3,sriov_vq_flexible=6,sriov_vi_flexible=3 \
-device nvme-ns,drive=d-nvme-sr,bus=nvme-sr,nsid=1" \
		boot_and_check sriov "$W/sriov.initrd" "" "ahci nvme nvme"
	out=$W/sriov.out
	vm_reached_userspace "$out" || { vm_log "row sriov: $(($(vm_now) - t0)) s"; return 0; }
	vm_section "$out" dmesg >"$W/sriov.dmesg"
	d=$(vm_driver "$out" "$VM_SRIOV_PF")
	check "sriov: 06.0 (the PF) stays on nvme (got $d)" test "$d" = nvme
	check "sriov: 06.0's namespace is a disk (16M: $(vm_blocks_behind "$out" "$VM_SRIOV_PF" | paste -sd ' '))" \
		eval "vm_blocks_behind '$out' '$VM_SRIOV_PF' | grep -q ."
	check "sriov: the kernel log says 3 VFs made on 06.0, 2 on vfio-pci" \
		eval "vm_klog '$out' | grep -F '$VM_SRIOV_PF' | grep -qF '3 VFs made (nvme-vfs), 2 on vfio-pci, the PF stays on nvme'"
	for vf in 1 2; do
		a=0000:00:06.$vf
		d=$(vm_driver "$out" "$a")
		read -r _ _ _ _ grp ovr < <(vm_section "$out" pci | awk -v a="$a" '$1 == a')
		check "sriov: $a (VF $((vf - 1))) Kernel driver in use: vfio-pci (got $d)" test "$d" = vfio-pci
		check "sriov: $a has driver_override vfio-pci (got ${ovr:-none}) and an IOMMU group (${grp:-none})" \
			eval "[ '${ovr:-}' = vfio-pci ] && [ '${grp:--}' != - ]"
		check "sriov: $a was never probed by nvme (no 'nvme nvmeN: pci function $a' in the kernel log)" \
			eval "! grep -qF 'pci function $a' '$W/sriov.dmesg'"
		check "sriov: the kernel log has '$a (VF $((vf - 1)) of $VM_SRIOV_PF) (none) -> vfio-pci'" \
			eval "vm_klog '$out' | grep -qF '$a (VF $((vf - 1)) of $VM_SRIOV_PF) (none) -> vfio-pci (nvme-vfs)'"
	done
	a=0000:00:06.3
	d=$(vm_driver "$out" "$a")
	check "sriov: $a (VF 2) is left to nvme: bound to it (got $d) or probed by it" \
		eval "[ '$d' = nvme ] || grep -qF 'pci function $a' '$W/sriov.dmesg'"
	check "sriov: the kernel log says VF 2 is left to the host" \
		eval "vm_klog '$out' | grep -qF '$a (VF 2 of $VM_SRIOV_PF): left to the host'"
	vm_log "row sriov: one image, one boot: $(($(vm_now) - t0)) s"
}

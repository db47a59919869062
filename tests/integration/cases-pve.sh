# shellcheck shell=bash
# Sourced by run.sh after cases-workflow.sh (uses wf_host): a Proxmox VE host's VMs. The fixtures
# follow the documented formats: qm.conf(5) for /etc/pve/qemu-server/<vmid>.conf (hostpciN:
# [host=]ID[;ID...] or mapping=NAME, ID [domain:]bus:slot[.func]; onboot; the lines after the
# first [section] are snapshots), and the admin guide's Resource Mapping for
# /etc/pve/mapping/pci.cfg (NAME, then indented "map" entries with node, path, id, subsystem-id,
# iommugroup). The node is the host name up to its first dot (proc/sys/kernel/hostname).

# pve_host: wf_host on node pve1 with
#   VM 100 (onboot: 1, after its hostpci lines): hostpci0 the whole GPU card 0a:00 (both
#     functions), hostpci1 the mapping vmdisk (pve1: 00:05.0, the NVMe SN-B; pve2: 00:04.0);
#     its snapshot passes 00:06.0, which is not the config
#   VM 101 (not on boot): 02:00.0 and 02:00.1, host= with a ';' list, no domain
#   VM 102 (onboot: 1): a mediated device of the GPU (its parent stays on its driver)
#   VM 103 (onboot: 1): a mapping with no entry for pve1
pve_host() {
	wf_host
	mkdir -p "$T/proc/sys/kernel" "$T/etc/pve/qemu-server" "$T/etc/pve/mapping"
	echo pve1.example.com >"$T/proc/sys/kernel/hostname"
	cat >"$T/etc/pve/qemu-server/100.conf" <<-'EOF'
		#Windows 11, gaming
		boot: order=scsi0
		cores: 4
		hostpci0: 0000:0a:00,pcie=1,x-vga=1
		hostpci1: mapping=vmdisk,pcie=1
		memory: 8192
		name: win11
		onboot: 1
		scsi0: local-zfs:vm-100-disk-0,size=64G

		[before-update]
		hostpci2: 0000:00:06.0
		snaptime: 1700000000
	EOF
	cat >"$T/etc/pve/qemu-server/101.conf" <<-'EOF'
		hostpci0: host=02:00.0;02:00.1
		name: router
	EOF
	cat >"$T/etc/pve/qemu-server/102.conf" <<-'EOF'
		hostpci0: 0000:0a:00.0,mdev=nvidia-63
		onboot: 1
	EOF
	cat >"$T/etc/pve/qemu-server/103.conf" <<-'EOF'
		hostpci0: mapping=elsewhere
		onboot: 1
	EOF
	printf '%s\n' 'vmdisk' \
		'	map id=1b36:0010,iommugroup=16,node=pve1,path=0000:00:05.0,subsystem-id=1af4:1100' \
		'	map id=1b36:0010,iommugroup=15,node=pve2,path=0000:00:04.0,subsystem-id=1af4:1100' \
		'	description the VM disk' '' \
		'elsewhere' \
		'	map id=8086:1521,iommugroup=3,node=pve2,path=0000:02:00.0' \
		>"$T/etc/pve/mapping/pci.cfg"
}

c_pve_list_vms() {
	fx
	pve_host
	conf '# empty'
	ev list
	want_rc 0
	want_dev 0a:00.0 'passed through to: VM 100 (hostpci0), starts on boot (onboot: 1)' \
		'passed through to: VM 102 (hostpci0, a mediated device), starts on boot'
	want_dev 0a:00.1 'passed through to: VM 100 (hostpci0), starts on boot (onboot: 1)'
	want_dev 00:05.0 'passed through to: VM 100 (hostpci1, mapping vmdisk), starts on boot'
	want_dev 02:00.0 'passed through to: VM 101 (hostpci0), not started on boot'
	want_dev 02:00.1 'passed through to: VM 101 (hostpci0), not started on boot'
	# the mapping's path on another node, and a snapshot's device, are not this config's
	dev_block 00:04.0 | grep -q 'passed through' && fail "00:04.0 (pve2's path) shown as a VM's"
	dev_block 00:06.0 | grep -q 'passed through' && fail "00:06.0 (a snapshot's) shown as a VM's"
	ev list --json
	want_rc 0
	python3 - "$T/.out" <<-'EOF' || fail "list --json: $(cat "$T/.py" 2>/dev/null)"
		import json, sys
		j = json.load(open(sys.argv[1]))
		devs = {d["address"]: d for g in j["groups"] for d in g["devices"]}
		assert devs["0000:00:05.0"]["vms"] == [{"vmid": 100, "hostpci": 1, "mapping": "vmdisk", "onboot": True, "mdev": False}], devs["0000:00:05.0"]["vms"]
		assert [v["vmid"] for v in devs["0000:0a:00.0"]["vms"]] == [100, 102]
		assert devs["0000:02:00.1"]["vms"][0]["onboot"] is False
		assert devs["0000:00:04.0"]["vms"] == []
	EOF
}

c_pve_add_vm() {
	fx
	pve_host
	wf_conf
	ev add --vm 100
	want_rc 0
	want_no_writes
	want_kept
	# the card by address (both functions) with ids; the mapped NVMe drive by its serial
	want_section gpu-0a-00 'address=0000:0a:00.0 0000:0a:00.1' 'ids=10de:1b80 10de:10f0'
	want_section nvme-SN-B 'serial=SN-B' 'ids=1b36:0010'
	want_out_line 'added [gpu-0a-00] for --vm 100 (hostpci0)'
	want_out_line 'added [nvme-SN-B] for --vm 100 (hostpci1, mapping vmdisk)'
	ev add --vm 100
	want_rc 0
	want_out_line 'nothing to change'
	ev check
	want_rc 0
	grep -qF 'VM 100 starts on boot' "$T/.err" && fail "check still warns about VM 100 after add --vm 100"
	# a VM without a domain in its addresses, two functions of one card: one section, --name
	ev add --vm 101 --name router
	want_rc 0
	want_section router 'address=0000:02:00.0 0000:02:00.1' 'ids=8086:1521'
}

c_pve_add_vm_refusals() {
	fx
	pve_host
	wf_conf
	ev add --vm 999
	want_rc 1
	want_err_line 'VM 999 passes no PCI device through' 'not changed'
	ev add --vm 103
	want_rc 1
	want_err_line "VM 103 hostpci0: mapping 'elsewhere' has no entry for this node (pve1)"
	ev add --vm abc
	want_rc 1
	want_err_line "invalid --vm 'abc'"
	# a mediated device: its parent GPU stays with the host driver
	ev add --vm 102
	want_rc 0
	want_err_line 'VM 102 hostpci0: a mediated device' 'not added'
	cmp -s "$T/conf.orig" "$CONF" || fail "the config changed: $(diff "$T/conf.orig" "$CONF" | head -n 5)"
	# not a PVE host
	rm -r "$T/etc/pve"
	ev add --vm 100
	want_rc 1
	want_err_line 'not a Proxmox VE host'
	cmp -s "$T/conf.orig" "$CONF" || fail "the config changed"
}

c_pve_check() {
	fx
	pve_host
	wf_conf
	# the hardware changed under the mappings: another subsystem, another IOMMU group,
	# another card, a device gone
	printf '%s\n' 'nic' \
		'	map id=8086:1521,iommugroup=19,node=pve1,path=0000:02:00.0,subsystem-id=8086:0001' \
		'' 'moved' \
		'	map id=8086:1521,iommugroup=7,node=pve1,path=0000:02:00.1,subsystem-id=8086:5044' \
		'' 'swapped' \
		'	map id=10de:2204,node=pve1,path=0000:0a:00' \
		'' 'gone' \
		'	map id=8086:1521,node=pve1,path=0000:05:00.0' >>"$T/etc/pve/mapping/pci.cfg"
	ev check
	want_rc 0
	want_err_line "mapping 'nic'" 'subsystem-id 8086:0001, but 0000:02:00.0 has 8086:5044'
	want_err_line "mapping 'moved'" 'iommugroup 7, but 0000:02:00.1 is in IOMMU group 20'
	want_err_line "mapping 'swapped'" 'id 10de:2204, but 0000:0a:00.0 is [10de:1b80]'
	want_err_line "mapping 'gone'" 'no such device here'
	grep -qF "mapping 'vmdisk'" "$T/.err" && fail "the matching mapping vmdisk was warned about"
	# VM 100 starts on boot with devices early-vfio leaves to their drivers; VM 101 does not
	want_err_line 'VM 100 starts on boot (onboot: 1) and passes 0000:0a:00.0 (hostpci0)' \
		'nouveau binds it first' 'early-vfio add --vm 100'
	want_err_line 'passes 0000:00:05.0 (hostpci1, mapping vmdisk)' 'nvme binds it first'
	grep -qF 'VM 101 starts' "$T/.err" && fail "VM 101 (not on boot) warned about"
	grep -qF 'VM 102 starts' "$T/.err" && fail "VM 102 (a mediated device) warned about"
	want_err_line "VM 103 hostpci0: mapping 'elsewhere' has no entry for node pve1"
	want_no_writes
}

t "pve: list names the VM of each device (hostpciN by address, whole slot, ';' list, mapping on this node), onboot; not snapshots'; --json vms" c_pve_list_vms
t "pve: add --vm VMID: the VM's devices with stable selectors (card by address, mapped NVMe by serial), admin's bytes kept; again: no change" c_pve_add_vm
t "pve: add --vm: unknown VM, mapping without this node, bad VMID, not a PVE host: exit 1, file unchanged; a mediated device is not added" c_pve_add_vm_refusals
t "pve: check compares each mapping's id, subsystem-id, IOMMU group with the hardware; warns of onboot VMs' devices left to host drivers" c_pve_check

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

c_pve_long_line() {
	fx
	pve_host
	conf '# empty'
	# a description longer than a line buffer: its tail must not become a mapping of its own,
	# taking the map entry that follows from vmdisk
	{
		printf 'vmdisk\n\tdescription %s' "$(head -c 8178 /dev/zero | tr '\0' A)"
		printf 'evil\n\tmap id=1b36:0010,iommugroup=16,node=pve1,path=0000:00:05.0,subsystem-id=1af4:1100\n'
	} >"$T/etc/pve/mapping/pci.cfg"
	ev list
	want_rc 0
	want_dev 00:05.0 'passed through to: VM 100 (hostpci1, mapping vmdisk)'
	want_err_line 'pci.cfg:2: longer than'
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
t "pve: a pci.cfg line longer than the buffer is cut, its tail not read as a mapping of its own" c_pve_long_line
t "pve: add --vm VMID: the VM's devices with stable selectors (card by address, mapped NVMe by serial), admin's bytes kept; again: no change" c_pve_add_vm
t "pve: add --vm: unknown VM, mapping without this node, bad VMID, not a PVE host: exit 1, file unchanged; a mediated device is not added" c_pve_add_vm_refusals
t "pve: check compares each mapping's id, subsystem-id, IOMMU group with the hardware; warns of onboot VMs' devices left to host drivers" c_pve_check

# --- the boot loader with proxmox-boot-tool: apply, and the drift check and status see ------------

PVE_ESPS='1A2B-3C4D 5E6F-7A8B'

# pve_boot sdboot|grub: wf_boot, then two ESPs (as a ZFS mirror has) in proxmox-boot-tool's
# layout, listed in etc/kernel/proxmox-boot-uuids; each stands at dev/disk/by-uuid/UUID as a
# directory that the fake mount(8) in $T/bin links to its mount point (umount undoes it). A fake
# proxmox-boot-tool refresh copies /boot's kernels and images as the real one does (systemd-boot:
# EFI/proxmox/KVER/ and loader/entries/proxmox-KVER.conf with /etc/kernel/cmdline; GRUB: the top
# of the ESP), skipping the ESP named by FAKE_PBT_SKIP; update-initramfs runs the helper's
# post-update hook (etc/initramfs/post-update.d/proxmox-boot-sync) after building, as
# initramfs-tools does. Every program logs to $T/gen.log.
pve_boot() {
	local u
	wf_boot
	mkdir -p "$T/etc/kernel" "$T/etc/initramfs/post-update.d" "$T/dev/disk/by-uuid"
	: >"$T/etc/kernel/proxmox-boot-uuids"
	for u in $PVE_ESPS; do
		echo "$u" >>"$T/etc/kernel/proxmox-boot-uuids"
		if [ "$1" = sdboot ]; then
			mkdir -p "$T/dev/disk/by-uuid/$u/loader/entries" "$T/dev/disk/by-uuid/$u/EFI/proxmox"
			echo 'timeout 3' >"$T/dev/disk/by-uuid/$u/loader/loader.conf"
		else
			mkdir -p "$T/dev/disk/by-uuid/$u/grub" "$T/dev/disk/by-uuid/$u/EFI/proxmox"
			: >"$T/dev/disk/by-uuid/$u/EFI/proxmox/grubx64.efi"
		fi
	done
	[ "$1" = sdboot ] && printf 'root=ZFS=rpool/ROOT/pve-1 boot=zfs\n' >"$T/etc/kernel/cmdline"
	cat >"$T/bin/mount" <<-'EOF'
		#!/bin/sh
		echo "mount $*" >>"$FAKE_SYSROOT/gen.log"
		[ "$1 $2" = "-o ro" ] || exit 32
		rmdir "$4" && ln -s "$3" "$4"
	EOF
	cat >"$T/bin/umount" <<-'EOF'
		#!/bin/sh
		rm "$1" && mkdir "$1"
	EOF
	cat >"$T/bin/proxmox-boot-tool" <<-'EOF'
		#!/bin/bash
		echo "proxmox-boot-tool $*" >>"$FAKE_SYSROOT/gen.log"
		[ "$1" = refresh ] || exit 0
		while read -r u; do
			e=$FAKE_SYSROOT/dev/disk/by-uuid/$u
			[ "$u" = "${FAKE_PBT_SKIP:-}" ] && continue
			for i in "$FAKE_SYSROOT"/boot/initrd.img-*; do
				k=${i##*/initrd.img-}
				if [ -e "$e/loader/loader.conf" ]; then
					mkdir -p "$e/EFI/proxmox/$k"
					cp --preserve=timestamps "$FAKE_SYSROOT/boot/vmlinuz-$k" "$i" "$e/EFI/proxmox/$k/"
					printf 'title Proxmox\nversion %s\noptions %s\nlinux /EFI/proxmox/%s/vmlinuz-%s\ninitrd /EFI/proxmox/%s/initrd.img-%s\n' \
						"$k" "$(head -n 1 "$FAKE_SYSROOT/etc/kernel/cmdline")" "$k" "$k" "$k" "$k" >"$e/loader/entries/proxmox-$k.conf"
				else
					cp --preserve=timestamps "$FAKE_SYSROOT/boot/vmlinuz-$k" "$i" "$e/"
				fi
			done
		done <"$FAKE_SYSROOT/etc/kernel/proxmox-boot-uuids"
	EOF
	cat >"$T/etc/initramfs/post-update.d/proxmox-boot-sync" <<-'EOF'
		#!/bin/sh
		[ -z "$INITRAMFS_TOOLS_KERNEL_HOOK" ] && proxmox-boot-tool refresh --hook zz-proxmox-boot
	EOF
	# shellcheck disable=SC2016 # expanded by the fake, not here
	printf '#!/bin/sh\necho "update-grub $*" >>"$FAKE_SYSROOT/gen.log"\n' >"$T/bin/update-grub"
	chmod 0755 "$T/bin/mount" "$T/bin/umount" "$T/bin/proxmox-boot-tool" "$T/bin/update-grub" \
		"$T/etc/initramfs/post-update.d/proxmox-boot-sync"
	rm "$T/bin/update-initramfs"
	cat >"$T/bin/update-initramfs" <<-'EOF'
		#!/bin/sh
		echo "update-initramfs $*" >>"$FAKE_SYSROOT/gen.log"
		WF_SELF=1 "$(dirname "$0")/fake-generator" "$@" || exit 1
		h=$FAKE_SYSROOT/etc/initramfs/post-update.d/proxmox-boot-sync
		if [ -x "$h" ]; then exec "$h"; fi
	EOF
	chmod 0755 "$T/bin/update-initramfs"
	# the fake generator logs its own name: one line per run, from the wrapper above
	# shellcheck disable=SC2016 # a line of the fake generator, matched and rewritten as text
	sed -i 's|^echo "$(basename "$0") $\*" >>"$FAKE_SYSROOT/gen.log"$|[ -n "${WF_SELF:-}" ] \|\| echo "$(basename "$0") $*" >>"$FAKE_SYSROOT/gen.log"|' "$T/bin/fake-generator"
	FAKE_ENV+=(TMPDIR="$T/tmp")
	mkdir -p "$T/tmp"
}

# gen_log: the programs run, ';'-separated, mounts left out
gen_log() { grep -v '^mount ' "$T/gen.log" 2>/dev/null | paste -sd ';'; }

c_pve_apply_sdboot() {
	fx
	wf_host
	pve_boot sdboot
	conf '[twin]' 'address = 01:00.0'
	# not asked (no terminal) and no --yes: the command line is not written, apply says how
	ev apply
	want_rc 1
	want_out_line 'boot loader: systemd-boot on the ESPs proxmox-boot-tool keeps'
	want_out_line 'not written: add intel_iommu=on to /etc/kernel/cmdline?' 'apply --yes'
	[ "$(cat "$T/etc/kernel/cmdline")" = 'root=ZFS=rpool/ROOT/pve-1 boot=zfs' ] || fail "/etc/kernel/cmdline changed without --yes"
	rm -f "$T/gen.log"
	ev apply --yes
	want_rc 0
	[ "$(cat "$T/etc/kernel/cmdline")" = 'root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on' ] ||
		fail "/etc/kernel/cmdline is '$(cat "$T/etc/kernel/cmdline")'"
	[ "$(cat "$T/etc/kernel/cmdline.early-vfio-bak" 2>/dev/null)" = 'root=ZFS=rpool/ROOT/pve-1 boot=zfs' ] ||
		fail "no backup of the old /etc/kernel/cmdline"
	want_out_line 'the old /etc/kernel/cmdline is kept as /etc/kernel/cmdline.early-vfio-bak'
	# written before the rebuild, so the hook's one refresh copies it; apply does not refresh again
	[ "$(gen_log)" = 'update-initramfs -u -k all;proxmox-boot-tool refresh --hook zz-proxmox-boot' ] ||
		fail "apply ran '$(gen_log)'"
	want_out_line 'post-update hook' 'not run again'
	grep -q 'options root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on' "$T/dev/disk/by-uuid/5E6F-7A8B/loader/entries/proxmox-6.1.0-41-amd64.conf" ||
		fail "the ESP's loader entry lacks the new command line"
	# every image the firmware can load: two kernels in /boot and on each of the two ESPs
	[ "$(grep -c 'image is ready' "$T/.out")" = 6 ] || fail "$(grep -c 'image is ready' "$T/.out") images checked ready, expected 6"
	want_out_line 'ESP 5E6F-7A8B: ' "EFI/proxmox/6.1.0-41-amd64/initrd.img-6.1.0-41-amd64"
	want_out_line 'next boot: on (/etc/kernel/cmdline has intel_iommu=on)'
	[ -z "$(find "$T/tmp" -mindepth 1 -print -quit)" ] || fail "a mount point was left in TMPDIR: $(ls "$T/tmp")"
	# an ESP the refresh skipped keeps an image without early-vfio: apply says it is not ready
	rm "$T/etc/kernel/cmdline.early-vfio-bak"
	(cd "$T" && mkdir -p old && echo x >old/f && cd old && echo f | cpio -o -H newc --quiet | gzip -1) \
		>"$T/dev/disk/by-uuid/1A2B-3C4D/EFI/proxmox/6.1.0-41-amd64/initrd.img-6.1.0-41-amd64"
	touch -d '+1 hour' "$T/dev/disk/by-uuid/1A2B-3C4D/EFI/proxmox/6.1.0-41-amd64/initrd.img-6.1.0-41-amd64"
	FAKE_ENV+=(FAKE_PBT_SKIP=1A2B-3C4D)
	ev apply --yes
	want_rc 1
	want_out_line 'ESP 1A2B-3C4D: ' 'initrd.img-6.1.0-41-amd64'
	want_out_line 'image is NOT ready'
	want_err_line 'ESP 1A2B-3C4D: initrd.img-6.1.0-40-amd64 is older than /boot'
	want_err_line '2 images are NOT ready'
	[ -e "$T/etc/kernel/cmdline.early-vfio-bak" ] && fail "the command line was written again"
}

c_pve_apply_grub() {
	fx
	wf_host
	pve_boot grub
	conf '[twin]' 'address = 01:00.0'
	printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n' >"$T/etc/default/grub"
	ev apply --yes
	want_rc 0
	want_out_line 'boot loader: GRUB on the ESPs proxmox-boot-tool keeps'
	# shellcheck disable=SC2016 # the line as GRUB's shell reads it
	grep -qx 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on"' "$T/etc/default/grub.d/early-vfio.cfg" ||
		fail "no /etc/default/grub.d/early-vfio.cfg with intel_iommu=on"
	[ "$(cat "$T/etc/default/grub")" = "$(printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"')" ] || fail "/etc/default/grub was edited"
	# proxmox-boot-tool's refresh runs update-grub on each ESP: apply does not
	[ "$(gen_log)" = 'update-initramfs -u -k all;proxmox-boot-tool refresh --hook zz-proxmox-boot' ] ||
		fail "apply ran '$(gen_log)'"
	[ "$(grep -c 'image is ready' "$T/.out")" = 6 ] || fail "$(grep -c 'image is ready' "$T/.out") images checked ready, expected 6"
	want_out_line 'ESP 1A2B-3C4D: ' "/initrd.img-6.1.0-40-amd64: built by initramfs-tools"
	want_out_line 'next boot: on (/etc/default/grub has intel_iommu=on)'
	# plain GRUB (no ESPs kept by proxmox-boot-tool): the same file, then update-grub once
	rm -r "$T/etc/kernel" "$T/etc/default/grub.d" "$T/gen.log"
	rm "$T/bin/proxmox-boot-tool" "$T/etc/initramfs/post-update.d/proxmox-boot-sync"
	ev apply --yes
	want_rc 0
	want_out_line 'boot loader: GRUB (command line: /etc/default/grub, update-grub)'
	[ -e "$T/etc/default/grub.d/early-vfio.cfg" ] || fail "no /etc/default/grub.d/early-vfio.cfg"
	[ "$(gen_log)" = 'update-initramfs -u -k all;update-grub ' ] || fail "apply ran '$(gen_log)'"
	# again: nothing to write, update-grub not run
	rm "$T/gen.log"
	ev apply --yes
	want_rc 0
	[ -e "$T/etc/default/grub.d/early-vfio.cfg.early-vfio-bak" ] && fail "a second apply wrote the file again"
	grep -q update-grub "$T/gen.log" && fail "update-grub ran with nothing changed"
}

c_pve_drift() {
	fx
	wf_host
	pve_boot sdboot
	conf '[twin]' 'address = 01:00.0'
	printf 'root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on\n' >"$T/etc/kernel/cmdline"
	printf 'initrd=\\EFI\\proxmox\\6.1.0-41-amd64\\initrd.img-6.1.0-41-amd64 intel_iommu=on boot=zfs root=ZFS=rpool/ROOT/pve-1\n' >"$T/proc/cmdline"
	ev apply --yes
	want_rc 0
	ev check
	want_rc 0
	grep -qF 'ESP' "$T/.err" && fail "check warned about ESPs in step: $(grep ESP "$T/.err" | head -n 1)"
	grep -qF 'is not the command line this boot ran' "$T/.err" && fail "the same words in another order were called a difference"
	# /boot's image rebuilt, the ESPs not refreshed; one ESP lost an initrd; an entry with two initrds
	touch -d '+1 hour' "$T/boot/initrd.img-6.1.0-41-amd64"
	rm "$T/dev/disk/by-uuid/5E6F-7A8B/EFI/proxmox/6.1.0-40-amd64/initrd.img-6.1.0-40-amd64"
	echo 'initrd /EFI/proxmox/6.1.0-40-amd64/extra.img' >>"$T/dev/disk/by-uuid/1A2B-3C4D/loader/entries/proxmox-6.1.0-40-amd64.conf"
	printf 'root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on early-vfio.debug\n' >"$T/etc/kernel/cmdline"
	ev check
	want_rc 0
	want_err_line 'ESP 1A2B-3C4D: initrd.img-6.1.0-41-amd64 is older than /boot' 'proxmox-boot-tool refresh'
	want_err_line 'ESP 5E6F-7A8B: initrd.img-6.1.0-41-amd64 is older than /boot'
	want_err_line 'ESP 5E6F-7A8B has no initrd.img-6.1.0-40-amd64'
	want_err_line 'ESP 1A2B-3C4D: loader/entries/proxmox-6.1.0-40-amd64.conf loads 2 initrds'
	want_err_line '/etc/kernel/cmdline is not the command line this boot ran' 'early-vfio.debug'
	ev status
	want_rc 0
	want_err_line 'ESP 1A2B-3C4D: initrd.img-6.1.0-41-amd64 is older than /boot'
	want_err_line '/etc/kernel/cmdline is not the command line this boot ran'
	# an ESP in the list that is not on this machine, and a line that is not a VFAT UUID
	printf '9999-0000\nnot-a-uuid\n' >>"$T/etc/kernel/proxmox-boot-uuids"
	ev check
	want_err_line 'ESP 9999-0000' 'not on this machine'
	want_err_line "'not-a-uuid' is not a VFAT UUID"
	[ -z "$(find "$T/tmp" -mindepth 1 -print -quit)" ] || fail "a mount point was left in TMPDIR: $(ls "$T/tmp")"
}

t "pve: apply on systemd-boot + proxmox-boot-tool: intel_iommu=on into /etc/kernel/cmdline only with --yes, backup kept; one refresh; every ESP's images checked" c_pve_apply_sdboot
t "pve: apply on GRUB + proxmox-boot-tool and on plain GRUB: /etc/default/grub.d/early-vfio.cfg; update-grub only for plain GRUB, only when written" c_pve_apply_grub
t "pve: check and status: ESP initrd older than /boot's or missing, an entry with two initrds, /etc/kernel/cmdline unlike /proc/cmdline, ESPs not here" c_pve_drift

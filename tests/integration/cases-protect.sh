# shellcheck shell=bash
# Sourced by run.sh: everything the system needs is protected, and the hardware is held against
# the record of the machine the image was built for (issue 17). Each case failed on the code
# before the change (the binary of the commit before it).

# initramfs_mounts: the mounts as they are at boot, before the root is mounted
initramfs_mounts() {
	cat >"$T/proc/self/mountinfo" <<'EOF'
1 1 0:1 / / rw - rootfs rootfs rw
21 1 0:20 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
23 1 0:5 / /dev rw,nosuid,relatime - devtmpfs udev rw
EOF
}

# --- gap 1: every mount, and /etc/fstab's ---------------------------------------------------

c_protect_var_mount() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	sata_disk 0000:04:00.0 1 sdb 8:16
	sata_part sdb 1 8:17
	fs_mount "$T" /var 8:17 ext4 /dev/sdb1
	conf '[sata]' 'address = 03:00.0 04:00.0'
	ev check
	want_rc 2
	want_err_line '[sata] selects 0000:04:00.0' '/var (/dev/sdb1)'
	ev bind
	want_rc 64
	want_host 0000:04:00.0 ahci
	want_no_log '0000:04:00.0'
	want_target 0000:03:00.0
}

c_protect_fstab_entry() {
	fx
	fs_dev "$T" 0000:04:00.0
	fs_dev "$T" 0000:05:00.0
	sata_disk 0000:04:00.0 1 sdc 8:32
	sata_part sdc 1 8:33
	sata_disk 0000:05:00.0 1 sdd 8:48
	sata_part sdd 1 8:49
	fs_link "$T" dev/disk/by-uuid/0b1e-5rv ../../sdc1
	fs_link "$T" dev/disk/by-uuid/0ff-backup ../../sdd1
	mkdir -p "$T/etc"
	printf '%s\n' '# /srv is not mounted now, but the next boot mounts it' \
		'UUID=0b1e-5rv /srv ext4 defaults 0 2' \
		'UUID=0ff-backup /backup ext4 defaults,nofail 0 2' >"$T/etc/fstab"
	conf '[sata]' 'address = 04:00.0 05:00.0'
	ev check
	want_rc 2
	want_err_line '[sata] selects 0000:04:00.0' '/srv in /etc/fstab'
	grep -F '0000:05:00.0' "$T/.err" | grep -q 'hold' && fail "the nofail entry protected 05:00.0"
	ev bind
	want_rc 64
	want_host 0000:04:00.0 ahci
	want_target 0000:05:00.0
}

# --- gap 2: btrfs over several devices ---------------------------------------------------------

c_protect_btrfs_raid1() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	sata_disk 0000:03:00.0 1 sda 8:0
	sata_part sda 2 8:2
	sata_disk 0000:04:00.0 1 sdb 8:16
	sata_part sdb 2 8:18
	mkdir -p "$T/sys/fs/btrfs/6f1d-raid1/devices"
	fs_link "$T" sys/fs/btrfs/6f1d-raid1/devices/sda2 "../../../../devices/pci0000:00/0000:03:00.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda2"
	fs_link "$T" sys/fs/btrfs/6f1d-raid1/devices/sdb2 "../../../../devices/pci0000:00/0000:04:00.0/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb2"
	fs_mount "$T" / 0:33 btrfs /dev/sda2
	conf '[second]' 'address = 04:00.0'
	ev check
	want_rc 2
	want_err_line '[second] selects 0000:04:00.0' '/ (root) (/dev/sda2)'
	ev bind
	want_rc 64
	want_host 0000:04:00.0 ahci
	want_no_log '0000:04:00.0'
}

# --- gap 3: bcache's cache device ------------------------------------------------------------

c_protect_bcache_cache() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:05:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	sata_disk 0000:03:00.0 1 sdb 8:16
	fs_block "$T" nvme0n1 259:0 pci0000:00/0000:05:00.0/nvme/nvme0/nvme0n1
	mkdir -p "$T/sys/devices/pci0000:00/0000:05:00.0/nvme/nvme0/nvme0n1/bcache"
	fs_block "$T" bcache0 252:0 virtual/block/bcache0 sdb
	mkdir -p "$T/sys/devices/virtual/block/bcache0/bcache" "$T/sys/fs/bcache/5e7-cset"
	fs_link "$T" sys/devices/virtual/block/bcache0/bcache/cache ../../../../../fs/bcache/5e7-cset
	fs_link "$T" sys/fs/bcache/5e7-cset/cache0 ../../../devices/pci0000:00/0000:05:00.0/nvme/nvme0/nvme0n1/bcache
	fs_mount "$T" / 252:0 ext4 /dev/bcache0
	conf '[nvme]' 'address = 05:00.0'
	ev check
	want_rc 2
	want_err_line '[nvme] selects 0000:05:00.0' '/ (root) (/dev/bcache0)'
	ev bind
	want_rc 64
	want_host 0000:05:00.0 nvme
}

# --- gap 4: a root on the network ------------------------------------------------------------

# a NIC at BDF named IF; route_to IF DEST MASK (hex, as /proc/net/route prints them)
nic() {
	fs_dev "$T" "$1" --ids 8086:10d3 --class 020000 --driver e1000e
	mkdir -p "$T/sys/devices/pci0000:00/$1/net/$2" "$T/sys/class/net"
	ln -s "../../devices/pci0000:00/$1/net/$2" "$T/sys/class/net/$2"
}
routes() {
	printf 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' \
		>"$T/proc/net/route"
	while [ $# -ge 3 ]; do
		printf '%s\t%s\t00000000\t0001\t0\t0\t0\t%s\t0\t0\t0\n' "$1" "$2" "$3" >>"$T/proc/net/route"
		shift 3
	done
}

c_protect_nfs_root() {
	fx
	mkdir -p "$T/proc/net"
	nic 0000:06:00.0 eno1
	nic 0000:07:00.0 eno2
	# 10.0.0.0/24 on eno1 (the server's), the default route on eno2
	routes eno1 0000000A 00FFFFFF eno2 00000000 00000000
	initramfs_mounts
	fs_mount "$T" / 0:52 nfs4 10.0.0.5:/export/host1
	conf '[nics]' 'address = 06:00.0 07:00.0'
	ev check
	want_rc 2
	want_err_line '[nics] selects 0000:06:00.0' '/ (root) (10.0.0.5:/export/host1) over the network, via eno1'
	grep -F '0000:07:00.0' "$T/.err" | grep -q 'hold' && fail "07:00.0 (not on the route to the server) protected"
	ev bind
	want_rc 64
	want_host 0000:06:00.0 e1000e
	want_target 0000:07:00.0
}

c_protect_nfs_root_via_bridge() {
	fx
	mkdir -p "$T/proc/net" "$T/sys/devices/virtual/net/vmbr0/brif" "$T/sys/class/net"
	nic 0000:06:00.0 eno1
	ln -s ../../devices/virtual/net/vmbr0 "$T/sys/class/net/vmbr0"
	ln -s ../../../../pci0000:00/0000:06:00.0/net/eno1 "$T/sys/devices/virtual/net/vmbr0/brif/eno1"
	routes vmbr0 00000000 00000000
	initramfs_mounts
	fs_mount "$T" / 0:52 nfs nas:/srv/root
	conf '[nic]' 'address = 06:00.0'
	ev check
	want_rc 2
	want_err_line '[nic] selects 0000:06:00.0' 'over the network, via vmbr0'
	# a root on the network that no PCI NIC carries is said loudly
	rm "$T/sys/devices/virtual/net/vmbr0/brif/eno1"
	ev check
	want_err_line 'is on the network and no PCI network device that carries it was found'
}

# --- gap 5: an image built in a chroot --------------------------------------------------------

c_chroot_record_unknown_refuses_storage() {
	fx
	fs_dev "$T" 0000:03:00.0
	mkdir -p "$T/etc"
	printf 'UUID=5e7f0a1c-not-here / ext4 defaults 0 1\n' >"$T/etc/fstab"
	conf '[sata]' 'address = 03:00.0'
	ev record --chroot
	want_rc 0
	grep -q '^built	chroot$' "$T/.out" || fail "record --chroot does not say built chroot"
	grep -q '^system	unknown	' "$T/.out" || fail "record --chroot does not say the system is unknown"
	cp "$T/.out" "$T/etc/early-vfio.record"
	initramfs_mounts
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_no_log '0000:03:00.0'
	want_err_line '0000:03:00.0' 'storage controller' 'allow-unrecorded = yes'
	conf '[sata]' 'address = 03:00.0' 'allow-unrecorded = yes'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
}

c_chroot_record_by_path() {
	fx
	fs_dev "$T" 0000:00:1f.2
	fs_dev "$T" 0000:03:00.0
	mkdir -p "$T/etc"
	printf '/dev/disk/by-path/pci-0000:00:1f.2-ata-1 / ext4 defaults 0 1\n' >"$T/etc/fstab"
	conf '[sata]' 'address = 00:1f.2 03:00.0'
	ev record --chroot
	want_rc 0
	grep -q '^system	known$' "$T/.out" || fail "record --chroot: the by-path root is not known"
	grep -q '^protected	0000:00:1f.2	' "$T/.out" || fail "record --chroot: 00:1f.2 not protected"
	cp "$T/.out" "$T/etc/early-vfio.record"
	initramfs_mounts
	ev bind
	want_rc 64
	want_host 0000:00:1f.2 ahci
	want_no_log '0000:00:1f.2'
	want_target 0000:03:00.0
}

# --- gap 6: IOMMU group members that are chipset functions ------------------------------------

# the classic Intel PCH group: LPC (0601, lpc_ich), SATA (ahci), SMBus (i801_smbus)
pch_group() {
	fs_dev "$T" 0000:00:1f.0 --ids 8086:2918 --class 060100 --driver lpc_ich --group 9
	fs_dev "$T" 0000:00:1f.2 --group 9
	fs_dev "$T" 0000:00:1f.3 --ids 8086:2930 --class 0c0500 --driver i801_smbus --group 9
}

c_group_lpc_whole_refused() {
	fx
	pch_group
	conf '[options]' 'iommu-group = whole' '' '[sata]' 'address = 00:1f.2'
	ev bind
	want_rc 64
	want_no_writes
	want_host 0000:00:1f.2 ahci
	want_host 0000:00:1f.3 i801_smbus
	want_err_line '0000:00:1f.2' '0000:00:1f.0' 'chipset function' 'cannot be passed through as it stands'
}

c_group_lpc_check_names_it() {
	fx
	pch_group
	conf '[sata]' 'address = 00:1f.2'
	ev check
	want_rc 0
	want_err_line '0000:00:1f.2' '0000:00:1f.0 (' 'lpc_ich' 'cannot be passed through to a VM as it stands'
}

# a PCI bridge on pcieport in the group is harmless, as before
c_group_bridge_harmless() {
	fx
	fs_dev "$T" 0000:00:1c.0 --ids 8086:a110 --class 060400 --driver pcieport --group 4
	fs_dev "$T" 0000:03:00.0 --group 4
	conf '[options]' 'iommu-group = refuse' '' '[sata]' 'address = 03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_host 0000:00:1c.0 pcieport
}

# --- gap 7: check cannot read the mounts ------------------------------------------------------

c_check_without_mountinfo_fails() {
	fx
	ahci_root
	conf '[sata]' 'address = 00:1f.2'
	rm "$T/proc/self/mountinfo"
	ev check
	want_rc 1
	want_err 'cannot tell which devices hold the running system'
}

# --- gap 8: config values that vanish ---------------------------------------------------------

nvme_pair() {
	fs_dev "$T" 0000:04:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	fs_dev "$T" 0000:05:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
}

c_config_nul_at_line_start() {
	fx
	nvme_pair
	printf '[nvme]\nclass = 0108\n\000address = 0000:05:00.0\n' >"$CONF"
	chmod 0644 "$CONF"
	ev bind
	want_rc 2
	want_no_writes
	want_err "$CONF:3: line contains a NUL byte"
}

c_config_nul_mid_line() {
	fx
	nvme_pair
	printf '[nvme]\naddress = 0000:05\000:00.0\nclass = 0108\n' >"$CONF"
	chmod 0644 "$CONF"
	ev bind
	want_rc 2
	want_no_writes
	want_err "$CONF:2: line contains a NUL byte"
}

c_config_only_separators() {
	fx
	nvme_pair
	conf '[nvme]' 'ids = ,' 'class = 0108'
	ev bind
	want_rc 2
	want_no_writes
	want_err "$CONF:2: 'ids' has no value, only separators"
}

# --- the record: notice when the hardware changed ---------------------------------------------

# record_line KIND BDF IDS SUBSYS CLASS REV DSN SERIAL NOTE
record_line() {
	mkdir -p "$T/etc"
	[ -s "$T/etc/early-vfio.record" ] || printf 'built\thost\nsystem\tknown\n' >"$T/etc/early-vfio.record"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$T/etc/early-vfio.record"
}

c_record_address_changed() {
	fx
	# built when 03:00.0 was an AHCI controller; now an NVMe drive sits there
	fs_dev "$T" 0000:03:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme --unbound
	record_line selected 0000:03:00.0 8086:2922 8086:5044 010601 02 - - '[sata]'
	initramfs_mounts
	conf '[sata]' 'address = 03:00.0'
	ev bind
	want_rc 64
	want_no_writes
	want_driver 0000:03:00.0 none
	want_err_line '0000:03:00.0' 'not the device this image was built for' 'recorded [8086:2922]' 'found [144d:a808]' 'rebuild the image'
}

c_record_serial_swapped() {
	fx
	nvme_twins boot
	# built when 04:00.0 held SN-B; the drives were swapped since
	fs_nvme "$T" 0000:03:00.0 SN-B "Fake NVMe 1TB"
	fs_nvme "$T" 0000:04:00.0 SN-A "Fake NVMe 1TB"
	record_line selected 0000:04:00.0 1b36:0010 1af4:1100 010802 02 - SN-B '[nvme-b]'
	initramfs_mounts
	conf '[nvme-b]' 'address = 04:00.0'
	ev bind
	want_rc 64
	[ "$(drv_of 0000:04:00.0)" = vfio-pci ] && fail "04:00.0 (SN-A now) bound"
	want_override 0000:04:00.0 '(null)'
	want_err_line '0000:04:00.0' 'recorded' 'serial SN-B' 'found' 'serial SN-A'
}

c_record_new_device_refused() {
	fx
	fs_dev "$T" 0000:03:00.0 --unbound
	fs_dev "$T" 0000:04:00.0 --unbound
	# built when only 03:00.0 had these ids; 04:00.0 was added since
	record_line selected 0000:03:00.0 8086:2922 8086:5044 010601 02 - - '[sata]'
	initramfs_mounts
	conf '[sata]' 'ids = 8086:2922'
	ev bind
	want_rc 64
	want_target 0000:03:00.0
	want_driver 0000:04:00.0 none
	want_no_log '0000:04:00.0'
	want_err_line '0000:04:00.0' 'not selected when this image was built'
}

c_record_protected_moved() {
	fx
	fs_dev "$T" 0000:06:00.0 --ids 8086:10d3 --class 020000 --driver e1000e --dsn 52-54-00-ff-ff-12-34-56 --unbound
	# the NIC that carried / over NFS sat at 05:00.0 when the image was built
	record_line protected 0000:05:00.0 8086:10d3 8086:5044 020000 02 52-54-00-ff-ff-12-34-56 - '/ (root) over the network'
	initramfs_mounts
	conf '[nic]' 'dsn = 52-54-00-ff-ff-12-34-56'
	ev bind
	want_rc 64
	want_no_writes
	want_err_line '0000:06:00.0' 'it is 0000:05:00.0, which held the system'
}

c_record_absent_device_warned() {
	fx
	fs_dev "$T" 0000:03:00.0 --unbound
	record_line selected 0000:03:00.0 8086:2922 8086:5044 010601 02 - - '[sata]'
	record_line selected 0000:07:00.0 8086:2922 8086:5044 010601 02 - - '[gone]'
	initramfs_mounts
	conf '[sata]' 'address = 03:00.0' '' '[gone]' 'address = 07:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_err_line '0000:07:00.0' 'was selected by [gone] when the image was built, and is not there now'
}

# record on the host, then boot from it: the protected device is refused by its record alone
c_record_round_trip() {
	fx
	ahci_root
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme
	fs_dev "$T" 0000:05:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme
	fs_nvme "$T" 0000:04:00.0 SN-B "Fake NVMe 1TB"
	fs_nvme "$T" 0000:05:00.0 SN-A "Fake NVMe 1TB"
	conf '[sata]' 'address = 00:1f.2 03:00.0' '' '[drive]' 'serial = SN-B'
	ev record
	want_rc 0
	grep -q '^built	host$' "$T/.out" || fail "record: not built host"
	grep -q '^system	known$' "$T/.out" || fail "record: system not known"
	grep -q '^protected	0000:00:1f.2	8086:2922	8086:5044	010601	02	-	-	/ (root) (/dev/sda1)$' "$T/.out" ||
		fail "record: no identity line for the protected 00:1f.2"
	grep -q '^selected	0000:03:00.0	8086:2922	' "$T/.out" || fail "record: 03:00.0 not selected"
	grep -q '^selected	0000:04:00.0	1b36:0010	1af4:1100	010802	02	-	SN-B	\[drive\]$' "$T/.out" ||
		fail "record: 04:00.0 not recorded with its serial"
	grep -q '0000:00:1f.2' <(grep '^selected' "$T/.out") && fail "record: the protected 00:1f.2 recorded as selected"
	mkdir -p "$T/etc"
	cp "$T/.out" "$T/etc/early-vfio.record"
	initramfs_mounts
	ev bind
	want_host 0000:00:1f.2 ahci
	want_target 0000:03:00.0
	want_target 0000:04:00.0
	want_err_line '0000:00:1f.2' 'holds the running system' '/ (root) (/dev/sda1)'
}

# iommu-group = whole: a GPU and its audio function in one group, the section naming the GPU only;
# the record lists both, so the boot binds both and check advises nothing
c_record_group_whole() {
	fx
	ahci_root
	fs_dev "$T" 0000:00:01.0 --ids 8086:1901 --class 060400 --driver pcieport --group 13
	fs_dev "$T" 0000:0a:00.0 --parent 0000:00:01.0 --ids 10de:1b80 --class 030000 --driver nouveau --group 14
	fs_dev "$T" 0000:0a:00.1 --parent 0000:00:01.0 --ids 10de:10f0 --class 040300 --driver snd_hda_intel --group 14
	fs_driver "$T" nouveau snd_hda_intel
	conf '[options]' 'iommu-group = whole' '' '[gpu]' 'address = 0a:00.0'
	ev record
	want_rc 0
	grep -q '^selected	0000:0a:00.0	10de:1b80	' "$T/.out" || fail "record: 0a:00.0 not selected"
	grep -q '^selected	0000:0a:00.1	10de:10f0	.*\[gpu\]' "$T/.out" || fail "record: its group's 0a:00.1 not recorded"
	grep -q '^selected	0000:00:01.0' "$T/.out" && fail "record: the group's root port recorded as selected"
	mkdir -p "$T/etc" "$T/var/lib/early-vfio"
	cp "$T/.out" "$T/etc/early-vfio.record"
	cp "$T/.out" "$T/var/lib/early-vfio/record"
	ev check
	want_rc 0
	grep -q 'not selected when' "$T/.out" "$T/.err" && fail "check: $(grep -h 'not selected when' "$T/.out" "$T/.err" | head -n 1)"
	initramfs_mounts
	ev bind
	want_rc 0
	want_target 0000:0a:00.0
	want_target 0000:0a:00.1
	want_host 0000:00:01.0 pcieport
}

# check and status compare with the last image's record (the hook's copy)
c_check_shows_record_mismatch() {
	fx
	fs_dev "$T" 0000:03:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	mkdir -p "$T/var/lib/early-vfio"
	printf 'built\thost\nsystem\tknown\nselected\t0000:03:00.0\t8086:2922\t8086:5044\t010601\t02\t-\t-\t[sata]\n' \
		>"$T/var/lib/early-vfio/record"
	conf '[sata]' 'address = 03:00.0'
	ev check
	want_rc 0
	want_err_line '0000:03:00.0' 'not the device the last image was built for' 'rebuild the image'
	ev status
	want_rc 0
	awk '/^0000:03:00.0 /,/^$/' "$T/.out" | grep -qF 'early-vfio: not as the image built last recorded it (changed: [8086:2922]' ||
		fail "status shows no 'not as the image built last recorded it' under 03:00.0"
	ev status --json
	python3 - "$T/.out" <<'PY' || fail "status --json: record of 03:00.0 is not 'changed'"
import json, sys
devs = {d["address"]: d for d in json.load(open(sys.argv[1]))["devices"]}
assert devs["0000:03:00.0"]["record"] == "changed", devs
PY
}

# --- GPU: the boot display --------------------------------------------------------------------

c_check_boot_vga_warns() {
	fx
	fs_dev "$T" 0000:01:00.0 --ids 10de:1b80 --class 030000 --driver nouveau
	fs_attr "$T" 0000:01:00.0 boot_vga $'1\n'
	fs_dev "$T" 0000:02:00.0 --ids 10de:1b80 --class 030000 --driver nouveau
	fs_attr "$T" 0000:02:00.0 boot_vga $'0\n'
	conf '[gpu]' 'address = 01:00.0 02:00.0'
	ev check
	want_rc 0
	want_err_line '0000:01:00.0 is the boot display' 'video=efifb:off' 'initcall_blacklist=sysfb_init'
	grep -q '0000:02:00.0 is the boot display' "$T/.err" && fail "02:00.0 (boot_vga 0) called the boot display"
}

t "protect: a drive holding /var is refused by check (exit 2) and bind" c_protect_var_mount
t "protect: an fstab entry the next boot mounts is protected; a nofail one is not" c_protect_fstab_entry
t "protect: every device of a btrfs RAID1 root is protected, not only the mount source" c_protect_btrfs_raid1
t "protect: the cache device of a bcache root is protected" c_protect_bcache_cache
t "protect: an NFS root protects the NIC of the route to its server, not the others" c_protect_nfs_root
t "protect: an NFS root via a bridge protects the bridge's port; with none, a loud warning" c_protect_nfs_root_via_bridge
t "chroot: record --chroot with an fstab it cannot resolve: at boot storage is refused unless allow-unrecorded" c_chroot_record_unknown_refuses_storage
t "chroot: record --chroot with a by-path root: that controller is protected at boot, its twin bound" c_chroot_record_by_path
t "groups: iommu-group = whole with an LPC bridge in the group binds nothing, naming it" c_group_lpc_whole_refused
t "groups: check names the chipset function and says the group cannot be passed through" c_group_lpc_check_names_it
t "groups: a PCI bridge on pcieport in the group still leaves it usable" c_group_bridge_harmless
t "check exits 1 when it cannot read the mounts (it cannot tell what the system needs)" c_check_without_mountinfo_fails
t "config: a NUL byte at the start of a line is an error, not a line that vanishes" c_config_nul_at_line_start
t "config: a NUL byte mid-line is reported as such at its line" c_config_nul_mid_line
t "config: 'ids = ,' is an error, not an absent key that widens the selection" c_config_only_separators
t "record: a different device at a recorded address is refused, naming both identities" c_record_address_changed
t "record: NVMe drives swapped since the image was built: the one at the address is refused" c_record_serial_swapped
t "record: a device added since the image was built is refused, the recorded one bound" c_record_new_device_refused
t "record: the DSN of a device that held the system, now elsewhere, is refused" c_record_protected_moved
t "record: a recorded device that is gone is warned about; the boot goes on" c_record_absent_device_warned
t "record: on the host, then at boot from the record alone" c_record_round_trip
t "record: iommu-group = whole records the group's other functions, and the boot binds them (GPU + audio)" c_record_group_whole
t "record: check and status say when a selected device is not the one the last image was built for" c_check_shows_record_mismatch
t "GPU: check warns that the boot display loses the console and names the kernel options" c_check_boot_vga_warns

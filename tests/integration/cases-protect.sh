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
	# 10.0.0.0/24 on eno1 (the server's), 192.168.0.0/16 on eno2 (the default route would be
	# the management network's, protected on its own: c_mgmt_*)
	routes eno1 0000000A 00FFFFFF eno2 0000A8C0 0000FFFF
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
	# the console GPU is kept unless the section says so (issue 25); then check still warns
	conf '[gpu]' 'address = 01:00.0 02:00.0' 'allow-system-device = yes'
	ev check
	want_rc 0
	want_err_line '0000:01:00.0 is the boot display' 'video=efifb:off' 'initcall_blacklist=sysfb_init'
	grep -q '0000:02:00.0 is the boot display' "$T/.err" && fail "02:00.0 (boot_vga 0) called the boot display"
}

# --- issue 25: storage in use without a mount ---------------------------------------------------

# an NVMe drive at 05:00.0 (nvme0n1, partition nvme0n1p1), an AHCI controller 03:00.0 with sdb
nvme_and_sata() {
	fs_dev "$T" 0000:05:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	fs_block "$T" nvme0n1 259:0 pci0000:00/0000:05:00.0/nvme/nvme0/nvme0n1
	fs_block "$T" nvme0n1p1 259:1 pci0000:00/0000:05:00.0/nvme/nvme0/nvme0n1/nvme0n1p1
	fs_dev "$T" 0000:03:00.0
	sata_disk 0000:03:00.0 1 sdb 8:16
}

# dm_dev NAME MAJ:MIN DMNAME SLAVE...: a device-mapper device (an LV, a crypt or multipath map)
dm_dev() {
	local name=$1 devnum=$2 dmname=$3
	shift 3
	fs_block "$T" "$name" "$devnum" "virtual/block/$name" "$@"
	mkdir -p "$T/sys/devices/virtual/block/$name/dm"
	printf '%s\n' "$dmname" >"$T/sys/devices/virtual/block/$name/dm/name"
}

c_protect_lvm_pv_unmounted() {
	fx
	nvme_and_sata
	# Proxmox's local-lvm: the thin pool's data on the PV nvme0n1p1, a VM disk on it, no mount
	dm_dev dm-0 253:0 pve-data_tdata nvme0n1p1
	dm_dev dm-1 253:1 pve-data-tpool dm-0
	dm_dev dm-2 253:2 pve-vm--100--disk--0 dm-1
	conf '[drives]' 'address = 05:00.0 03:00.0'
	cp "$CONF" "$T/conf.before"
	ev check
	want_rc 2
	want_err_line '[drives] selects 0000:05:00.0' 'nvme0n1p1 is in use by dm-2 (pve-vm--100--disk--0)'
	ev bind
	want_rc 64
	want_host 0000:05:00.0 nvme
	want_no_log '0000:05:00.0'
	want_target 0000:03:00.0
	conf '# none yet'
	cp "$CONF" "$T/conf.before"
	ev add 0000:05:00.0
	want_rc 2
	cmp -s "$CONF" "$T/conf.before" || fail "add changed the config of a drive in use"
	want_out_or_err 'in use by dm-2'
}

c_protect_md_member_unmounted() {
	fx
	nvme_and_sata
	# md0 over sdb and nvme0n1p1, assembled, not mounted
	fs_block "$T" md0 9:0 virtual/block/md0 sdb nvme0n1p1
	conf '[drives]' 'address = 05:00.0 03:00.0'
	ev bind
	want_rc 64
	want_host 0000:05:00.0 nvme
	want_host 0000:03:00.0 ahci
	want_err_line '0000:03:00.0' 'sdb is in use by md0'
}

c_protect_lio_backstore() {
	fx
	nvme_and_sata
	mkdir -p "$T/sys/kernel/config/target/core/iblock_0/lun-vm1"
	printf '/dev/sdb\n' >"$T/sys/kernel/config/target/core/iblock_0/lun-vm1/udev_path"
	conf '[sata]' 'address = 03:00.0'
	ev check
	want_rc 2
	want_err_line '[sata] selects 0000:03:00.0' 'LIO backstore iblock_0/lun-vm1 (/dev/sdb)'
}

# fake_zpool BODY: a zpool in T/bin whose body is BODY (sh), with zfs loaded
fake_zpool() {
	mkdir -p "$T/bin" "$T/sys/module/zfs"
	printf '#!/bin/sh\n%s\n' "$1" >"$T/bin/zpool"
	chmod 0755 "$T/bin/zpool"
	FAKE_ENV=(PATH="$T/bin:$PATH")
}

c_protect_zfs_pool_unmounted() {
	fx
	nvme_and_sata
	fs_dev "$T" 0000:06:00.0
	# tank (VM disks, zvols: nothing mounted) on nvme0n1p1; / is not on ZFS
	fake_zpool 'case "$*" in
"list -H -o name") echo tank ;;
"status -P tank") printf "  pool: tank\nconfig:\n\n\tNAME STATE\n\ttank ONLINE\n\t  /dev/nvme0n1p1 ONLINE 0 0 0\n" ;;
*) echo "zpool: unexpected $*" >&2; exit 2 ;;
esac'
	conf '[nvme]' 'address = 05:00.0'
	ev check
	want_rc 2
	want_err_line '[nvme] selects 0000:05:00.0' 'ZFS pool tank (imported)'
	ev bind
	want_rc 64
	want_host 0000:05:00.0 nvme
}

# zfs_fails BODY: zpool behaves as BODY; storage must be refused, a NIC still taken
zfs_fails() {
	fx
	nvme_and_sata
	fs_dev "$T" 0000:07:00.0 --ids 8086:10d3 --class 020000 --driver e1000e
	fs_driver "$T" e1000e
	fake_zpool "$1"
	conf '[sata]' 'address = 03:00.0' '' '[nic]' 'address = 07:00.0'
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_no_log '0000:03:00.0'
	want_target 0000:07:00.0
	want_err_line '0000:03:00.0' 'storage controller' "$2"
}

c_zpool_fails_refuses_storage() {
	zfs_fails 'echo "internal error: out of memory" >&2; exit 1' "'zpool list -H -o name' failed"
}

c_zpool_hangs_refuses_storage() {
	local t0=$SECONDS
	zfs_fails 'exec sleep 60' 'did not answer in 10 s'
	[ $((SECONDS - t0)) -lt 25 ] || fail "a hung zpool held the scan $((SECONDS - t0)) s"
}

c_zpool_odd_name_refuses_storage() {
	zfs_fails 'case "$*" in "list -H -o name") printf "tank\nmy:pool\n" ;; *) exit 0 ;; esac' "pool name 'my:pool'"
	fake_zpool 'case "$*" in "list -H -o name") printf "tank\n\n" ;; *) exit 0 ;; esac'
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_err_line '0000:03:00.0' 'storage controller' "pool name ''"
}

c_zpool_unknown_vdev_refuses_storage() {
	zfs_fails 'case "$*" in "list -H -o name") echo tank ;; *) printf "\ttank\n\t  /dev/disk/by-id/wwn-0xgone ONLINE\n" ;; esac' 'no such device here: /dev/disk/by-id/wwn-0xgone'
}

c_protect_pve_storage() {
	fx
	nvme_and_sata
	dm_dev dm-0 253:0 pve-data nvme0n1p1
	mkdir -p "$T/etc/pve"
	printf '%s\n' 'dir: local' '	path /var/lib/vz' '	content iso,vztmpl,backup' '' \
		'lvmthin: local-lvm' '	thinpool data' '	vgname pve' '	content rootdir,images' >"$T/etc/pve/storage.cfg"
	# the holders scan alone would find dm-0; the storage names it for the reason
	rm "$T/sys/devices/pci0000:00/0000:05:00.0/nvme/nvme0/nvme0n1/nvme0n1p1/holders/dm-0"
	conf '[nvme]' 'address = 05:00.0'
	ev check
	want_rc 2
	want_err_line '[nvme] selects 0000:05:00.0' "Proxmox storage 'local-lvm' (lvmthin)"
	# a volume group that is not active: its disks cannot be told, storage is refused
	printf '%s\n' 'lvm: shared' '	vgname san-vg' '	shared 1' >>"$T/etc/pve/storage.cfg"
	conf '[sata]' 'address = 03:00.0'
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_err_line '0000:03:00.0' 'storage controller' 'volume group san-vg has no active logical volume'
}

c_nfs_root_without_cmdline() {
	fx
	mkdir -p "$T/proc/net"
	nic 0000:06:00.0 eno1
	routes eno1 0000000A 00FFFFFF
	rm "$T/proc/cmdline"
	initramfs_mounts
	fs_mount "$T" / 0:52 nfs4 10.0.0.5:/export/host1
	conf '[nic]' 'address = 06:00.0'
	ev check
	want_rc 2
	want_err_line '[nic] selects 0000:06:00.0' 'over the network, via eno1'
	grep -q '(ip=)' "$T/.err" && fail "an ip= device was made up without a command line"
}

# --- issue 25: the management network ----------------------------------------------------------

# vnet KIND NAME [PORT...]: a virtual interface; bridge ports in brif/, bond or VLAN lower_* links
vnet() {
	local kind=$1 name=$2 p d
	shift 2
	d="$T/sys/devices/virtual/net/$name"
	mkdir -p "$d" "$T/sys/class/net" "$T/proc/net"
	ln -s "../../devices/virtual/net/$name" "$T/sys/class/net/$name"
	[ "$kind" = bridge ] && mkdir -p "$d/brif"
	for p in "$@"; do
		case $kind in
		bridge) ln -s "$(fs_rel "$d/brif" "$(realpath -m "$T/sys/class/net/$(readlink "$T/sys/class/net/$p")")")" "$d/brif/$p" ;;
		lower) ln -s "../../../../$(readlink "$T/sys/class/net/$p" | sed 's|^\.\./\.\./devices/||')" "$d/lower_$p" ;;
		esac
	done
}
# route6 IF DEST32 PLEN: a line of /proc/net/ipv6_route
route6() {
	mkdir -p "$T/proc/net"
	printf '%s %s 00000000000000000000000000000000 00 00000000000000000000000000000000 00000400 00000001 00000000 00000003 %8s\n' \
		"$2" "$3" "$1" >>"$T/proc/net/ipv6_route"
}

c_mgmt_bridge_port_default_route() {
	fx
	fs_driver "$T" e1000e
	nic 0000:06:00.0 eno1
	nic 0000:07:00.0 eno2
	vnet bridge vmbr0 eno1
	routes vmbr0 00000000 00000000 vmbr0 0001A8C0 00FFFFFF
	conf '[nics]' 'address = 06:00.0 07:00.0'
	ev check
	want_rc 2
	want_err_line '[nics] selects 0000:06:00.0' 'the IPv4 default route, via vmbr0, port eno1' 'allow-system-device = yes'
	grep -F '0000:07:00.0' "$T/.err" | grep -q 'hold' && fail "eno2 (no address, no route) protected"
	ev bind
	want_rc 64
	want_host 0000:06:00.0 e1000e
	want_no_log '0000:06:00.0'
	want_target 0000:07:00.0
	ev list
	grep -A5 '^  06:00.0 ' "$T/.out" | grep -qF 'holds the running system (the management network: the IPv4 default route, via vmbr0, port eno1)' ||
		fail "list does not show why 06:00.0 is kept"
	conf '[nics]' 'address = 06:00.0' 'allow-system-device = yes'
	ev bind
	want_target 0000:06:00.0
}

c_mgmt_ipv6_bond_vlan() {
	fx
	fs_driver "$T" e1000e
	nic 0000:06:00.0 eno1
	nic 0000:07:00.0 eno2
	nic 0000:08:00.0 eno3
	# bond0 (members named only in bonding/slaves) under VLAN bond0.10, which has the IPv6 default
	vnet bond bond0
	mkdir -p "$T/sys/devices/virtual/net/bond0/bonding"
	printf 'eno1 eno2\n' >"$T/sys/devices/virtual/net/bond0/bonding/slaves"
	vnet lower bond0.10 bond0
	route6 bond0.10 00000000000000000000000000000000 00
	route6 lo 00000000000000000000000000000000 00
	conf '[nics]' 'address = 06:00.0 07:00.0 08:00.0'
	ev bind
	want_rc 64
	want_host 0000:06:00.0 e1000e
	want_host 0000:07:00.0 e1000e
	want_target 0000:08:00.0
	want_err_line '0000:07:00.0' 'the IPv6 default route, via bond0.10, over bond0, bond member eno2'
}

c_mgmt_bridge_address_corosync_ssh() {
	fx
	fs_driver "$T" e1000e
	nic 0000:06:00.0 eno1
	nic 0000:07:00.0 eno2
	nic 0000:08:00.0 eno3
	nic 0000:09:00.0 eno4
	nic 0000:0a:00.0 eno5
	# vmbr1: a global IPv6 address, no route of its own; vmbr2: no address at all
	vnet bridge vmbr1 eno1
	vnet bridge vmbr2 eno5
	printf '20010db8000000000000000000000010 05 40 00 80 %8s\n' vmbr1 >"$T/proc/net/if_inet6"
	# corosync's link on eno2 (10.10.10.0/24); the SSH session reaches 192.168.7.2 on eno3
	routes eno2 000A0A0A 00FFFFFF eno3 0007A8C0 00FFFFFF
	mkdir -p "$T/etc/pve"
	printf '%s\n' 'nodelist {' '  node {' '    name: pve1' '    ring0_addr: 10.10.10.1' '  }' \
		'  node {' '    name: pve2' '    ring0_addr: 10.10.10.2' '  }' '}' >"$T/etc/pve/corosync.conf"
	# shellcheck disable=SC2034 # read by ev in run.sh
	FAKE_ENV=(SSH_CONNECTION='192.168.7.50 51234 192.168.7.2 22')
	conf '[nics]' 'address = 06:00.0 07:00.0 08:00.0 09:00.0 0a:00.0'
	ev check
	want_rc 2
	want_err_line '0000:06:00.0' 'bridge vmbr1 has an address, port eno1'
	want_err_line '0000:07:00.0' 'corosync ring0_addr 10.10.10.1' 'via eno2'
	want_err_line '0000:08:00.0' 'the SSH session (to 192.168.7.2)' 'via eno3'
	grep -F '0000:09:00.0' "$T/.err" | grep -q 'hold' && fail "eno4 (unused) protected"
	grep -F '0000:0a:00.0' "$T/.err" | grep -q 'hold' && fail "eno5 (a port of a bridge with no address) protected"
	ev bind
	want_target 0000:09:00.0
	want_target 0000:0a:00.0
	want_host 0000:08:00.0 e1000e
}

c_network_storage_hostname_ipv6() {
	fx
	fs_driver "$T" e1000e
	nic 0000:06:00.0 eno1
	nic 0000:07:00.0 eno2
	nic 0000:08:00.0 eno3
	# an IPv6 NFS server on eno1's prefix; eno2 has a route; eno3 nothing
	route6 eno1 20010db8000000010000000000000000 40
	routes eno2 0000A8C0 0000FFFF
	mkdir -p "$T/etc/pve"
	printf '%s\n' 'nfs: backup6' '	server 2001:db8:0:1::5' '	export /srv/backup' '' \
		'cifs: nas' '	server nas.example.org' '	share vm' >"$T/etc/pve/storage.cfg"
	conf '[nics]' 'address = 06:00.0 07:00.0 08:00.0'
	ev check
	want_rc 2
	want_err_line '0000:06:00.0' "Proxmox storage 'backup6' (nfs) over the network, via eno1"
	# a host name cannot be resolved for the next boot's root: every configured interface is kept
	want_err_line '0000:07:00.0' "Proxmox storage 'nas' (cifs)" 'nas.example.org' 'a host name'
	grep -F '0000:08:00.0' "$T/.err" | grep -q 'hold' && fail "eno3 (no route) protected"
}

# --- issue 25: record integrity ----------------------------------------------------------------

c_record_mount_point_newline() {
	fx
	fs_dev "$T" 0000:04:00.0
	sata_disk 0000:04:00.0 1 sdb 8:16
	sata_part sdb 1 8:17
	# a mount point holding a newline and a tab, shaped as a record line
	fs_mount "$T" $'/srv/x\nbuilt\tchroot\nsystem\tunknown' 8:17 ext4 /dev/sdb1
	conf '[sata]' 'address = 04:00.0'
	ev record
	want_rc 0
	grep -q '^built	chroot' "$T/.out" && fail "a mount point wrote a 'built chroot' line into the record"
	grep -q '^system	unknown' "$T/.out" && fail "a mount point wrote a 'system unknown' line into the record"
	[ "$(grep -c '^built	' "$T/.out")" = 1 ] || fail "not exactly one 'built' line"
	grep -qF '/srv/x\012built\011chroot' "$T/.out" || fail "the mount point is not in the record, escaped"
	mkdir -p "$T/etc"
	cp "$T/.out" "$T/etc/early-vfio.record"
	initramfs_mounts
	ev bind
	want_rc 64
	want_host 0000:04:00.0 ahci
	want_err_line '0000:04:00.0' 'holds the running system' '/srv/x\012built'
}

c_config_acl_writable_refused() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'address = 03:00.0'
	# user:1000:rw- through an access ACL (user::rw- group::r-- mask::rw- other::r--): mode 0664, group root
	python3 - "$CONF" <<'PY' || { fail "cannot set an ACL here"; return; }
import os, struct, sys
e = [(0x01, 6, 0xffffffff), (0x02, 6, 1000), (0x04, 4, 0xffffffff), (0x10, 6, 0xffffffff), (0x20, 4, 0xffffffff)]
os.setxattr(sys.argv[1], "system.posix_acl_access", struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in e))
PY
	ev bind
	want_rc 2
	want_no_writes
	want_err 'writable by other users through its POSIX ACL (user:1000:w)'
	want_err 'setfacl -b'
	# a read-only entry for another user is fine
	python3 - "$CONF" <<'PY'
import os, struct, sys
e = [(0x01, 6, 0xffffffff), (0x02, 4, 1000), (0x04, 4, 0xffffffff), (0x10, 4, 0xffffffff), (0x20, 4, 0xffffffff)]
os.setxattr(sys.argv[1], "system.posix_acl_access", struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in e))
PY
	ev bind
	want_rc 0
	want_target 0000:03:00.0
}

# --- issue 25: the console GPU -------------------------------------------------------------------

c_console_gpu_refused() {
	fx
	fs_driver "$T" nouveau
	fs_dev "$T" 0000:01:00.0 --ids 10de:1b80 --class 030000 --driver nouveau
	fs_attr "$T" 0000:01:00.0 boot_vga $'1\n'
	fs_dev "$T" 0000:02:00.0 --ids 10de:1b80 --class 030000 --driver nouveau
	fs_attr "$T" 0000:02:00.0 boot_vga $'0\n'
	fs_dev "$T" 0000:03:00.0 --ids 10de:1b80 --class 030000 --driver nouveau
	fs_attr "$T" 0000:03:00.0 boot_vga $'0\n'
	# simpledrm sits in 03:00.0's BAR (boot_vga says nothing on some firmware)
	printf '%s\n' '00000000-00000fff : Reserved' 'c0000000-febfffff : PCI Bus 0000:00' \
		'  c0000000-cfffffff : 0000:03:00.0' '    c0000000-c07fffff : BOOTFB' '      c0000000-c07fffff : simpledrm' \
		'  d0000000-dfffffff : 0000:02:00.0' '    d0000000-d0ffffff : nouveau' >"$T/proc/iomem"
	mkdir -p "$T/etc/default"
	: >"$T/etc/default/grub"
	conf '[gpus]' 'address = 01:00.0 02:00.0 03:00.0'
	ev check
	want_rc 2
	want_err_line '[gpus] selects 0000:01:00.0' 'the console (boot_vga=1' 'video=efifb:off initcall_blacklist=sysfb_init' 'GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub' 'allow-system-device = yes'
	want_err_line '[gpus] selects 0000:03:00.0' 'the console (BOOTFB holds its memory)'
	grep -F '0000:02:00.0' "$T/.err" | grep -q 'the console' && fail "02:00.0 (not the console) refused"
	mkdir -p "$T/etc/kernel"
	: >"$T/etc/kernel/cmdline"
	ev bind
	want_rc 64
	want_host 0000:01:00.0 nouveau
	want_host 0000:03:00.0 nouveau
	want_target 0000:02:00.0
	want_err_line '0000:01:00.0' '/etc/kernel/cmdline, then proxmox-boot-tool refresh'
	ev list
	grep -A5 '^  01:00.0 ' "$T/.out" | grep -qF 'the console (boot_vga=1' || fail "list does not say why 01:00.0 is kept"
}

# --- issue 25: devices behind Intel VMD --------------------------------------------------------

c_vmd_never_one_by_one() {
	fx
	fs_driver "$T" vmd
	fs_dev "$T" 0000:00:0e.0 --ids 8086:467f --class 010400 --driver vmd
	fs_dev "$T" 0000:04:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	# an NVMe drive in VMD domain 10000, as the vmd driver makes it (no IOMMU group of its own)
	local d="$T/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:e1:00.0"
	mkdir -p "$d"
	printf '0x144d\n' >"$d/vendor"
	printf '0xa808\n' >"$d/device"
	printf '0x144d\n' >"$d/subsystem_vendor"
	printf '0xa801\n' >"$d/subsystem_device"
	printf '0x010802\n' >"$d/class"
	ln -s ../../../devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:e1:00.0 \
		"$T/sys/bus/pci/devices/10000:e1:00.0"
	conf '[nvme]' 'ids = 144d:a808'
	ev check
	want_rc 0
	want_err_line '10000:e1:00.0 [144d:a808]: [nvme] selects it, and it will not be bound' \
		'Intel VMD controller 0000:00:0e.0' 'pass the whole VMD controller through (address = 0000:00:0e.0)' 'turn VMD off in the firmware'
	ev bind
	want_target 0000:04:00.0
	want_no_log '10000:e1:00.0'
	conf '[nvme]' 'address = 10000:e1:00.0'
	ev check
	want_rc 2
	want_err 'Intel VMD controller'
}

# --- issue 25: host drivers built into the kernel ------------------------------------------------

c_builtin_host_driver_said() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	mkdir -p "$T/lib/modules/$(uname -r)"
	printf '%s\n' kernel/drivers/ata/libata.ko kernel/drivers/ata/ahci.ko kernel/drivers/nvme/host/nvme-core.ko \
		>"$T/lib/modules/$(uname -r)/modules.builtin"
	conf '[sata]' 'address = 03:00.0' '' '[nvme]' 'address = 04:00.0'
	ev check
	want_rc 0
	want_err_line '0000:03:00.0: its driver ahci is built into kernel' 'taken over from ahci after it has initialised it'
	grep -q '0000:04:00.0: its driver' "$T/.err" && fail "nvme (a module; only nvme-core built in) called built in"
	conf '# none'
	ev add 0000:03:00.0
	want_rc 0
	want_err_line '0000:03:00.0: its driver ahci is built into kernel'
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
t "GPU: taken with allow-system-device, check warns that the boot display loses the console and names the kernel options" c_check_boot_vga_warns
t "issue 25: an LVM PV under a thin pool, nothing mounted: check, bind and add refuse it" c_protect_lvm_pv_unmounted
t "issue 25: the members of an assembled md array, nothing mounted, are protected" c_protect_md_member_unmounted
t "issue 25: a LIO backstore's disk is protected" c_protect_lio_backstore
t "issue 25: every imported ZFS pool is protected, not only the root's" c_protect_zfs_pool_unmounted
t "issue 25: zpool that fails: storage refused (not known), a NIC still bound" c_zpool_fails_refuses_storage
t "issue 25: zpool that hangs: killed after 10 s, storage refused" c_zpool_hangs_refuses_storage
t "issue 25: zpool printing a pool name with ':' or a blank: storage refused" c_zpool_odd_name_refuses_storage
t "issue 25: zpool naming a vdev that is not here: storage refused" c_zpool_unknown_vdev_refuses_storage
t "issue 25: Proxmox storage.cfg: an LVM storage's disks protected; an inactive VG refuses storage" c_protect_pve_storage
t "issue 25: an NFS root without /proc/cmdline: the route's NIC protected, no ip= device made up" c_nfs_root_without_cmdline
t "issue 25: a bridge port carrying the default route is refused, naming vmbr0, eno1 and the key" c_mgmt_bridge_port_default_route
t "issue 25: the IPv6 default route over a VLAN over a bond protects the bond's members" c_mgmt_ipv6_bond_vlan
t "issue 25: a bridge with an address, corosync's link and the SSH session's NIC are protected" c_mgmt_bridge_address_corosync_ssh
t "issue 25: network storage by IPv6 protects that route's NIC; by host name, every routed NIC" c_network_storage_hostname_ipv6
t "issue 25: a mount point with a newline and a tab cannot forge record lines" c_record_mount_point_newline
t "issue 25: a config that a POSIX ACL lets another user write is refused" c_config_acl_writable_refused
t "issue 25: the console GPU (boot_vga, or a firmware framebuffer in its BAR) is refused, naming the kernel options" c_console_gpu_refused
t "issue 25: a device behind Intel VMD is never bound one by one: check says why and what to do" c_vmd_never_one_by_one
t "issue 25: a host driver built into the kernel: check and add say the device is taken over after it probed" c_builtin_host_driver_said

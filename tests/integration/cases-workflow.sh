# shellcheck shell=bash
# Sourced by run.sh: the everyday workflow. list (devices by IOMMU group, in lspci's words, with
# disks, mounts, serials, interfaces, protected roles and a verdict per group), add (the most stable
# selector each kind of DEVICE allows; comments kept byte for byte; refusals leave the file
# byte-identical; concurrent adds), remove, apply (fake generators on PATH), shell completion.

# --- a host as an admin sees it -----------------------------------------------------------------

# wf_dir BDF: the device's directory under sys/devices
wf_dir() { realpath --relative-to="$T/sys/devices" "$T/sys/bus/pci/devices/$1"; }

# wf_sata BDF PORT NAME MAJ:MIN SECTORS MODEL: a SATA disk on an AHCI (or USB: PORT "usb") controller
wf_sata() {
	local dev
	if [ "$2" = usb ]; then
		dev="$(wf_dir "$1")/usb2/2-1/2-1:1.0/host2/target2:0:0/2:0:0:0"
	else
		dev="$(wf_dir "$1")/ata$2/host$(($2 - 1))/target$(($2 - 1)):0:0/$(($2 - 1)):0:0:0"
	fi
	fs_block "$T" "$3" "$4" "$dev/block/$3"
	printf '%s\n' "$5" >"$T/sys/devices/$dev/block/$3/size"
	printf '%-16s\n' "$6" >"$T/sys/devices/$dev/model"
	ln -s "$(fs_rel "$T/sys/devices/$dev/block/$3" "$T/sys/devices/$dev")" "$T/sys/devices/$dev/block/$3/device"
}

# wf_nvme_disk BDF NAME MAJ:MIN SECTORS: the namespace of an NVMe controller on nvme (after fs_nvme)
wf_nvme_disk() {
	local dev
	dev="$(wf_dir "$1")/nvme/nvme0"
	fs_block "$T" "$2" "$3" "$dev/$2"
	printf '%s\n' "$4" >"$T/sys/devices/$dev/$2/size"
	ln -s ../../nvme0 "$T/sys/devices/$dev/$2/device"
}

# wf_part DISK N MAJ:MIN [SEP]: partition N of DISK ("p" for NVMe)
wf_part() {
	local d
	d=$(readlink "$T/sys/class/block/$1")
	fs_block "$T" "$1${4:-}$2" "$3" "${d#../../devices/}/$1${4:-}$2"
}

# wf_net IFACE BDF: a network interface of that PCI function (or "virtual")
wf_net() {
	local d
	if [ "$2" = virtual ]; then d="$T/sys/devices/virtual/net/$1"; else d="$T/sys/devices/$(wf_dir "$2")/net/$1"; fi
	mkdir -p "$d" "$T/sys/class/net"
	ln -s "$(fs_rel "$T/sys/class/net" "$d")" "$T/sys/class/net/$1"
}

# wf_host: a workstation.
#   group 10  00:1f.0 LPC bridge (lpc_ich), 00:1f.2 AHCI with sda (/ on sda1, swap on sda2),
#             00:1f.3 SMBus: the chipset's group, never a VM's
#   group 11  00:1c.0 root port;   group 12  01:00.0 AHCI behind it (sdb, 32 MiB), twin of 1f.2
#   group 13  00:01.0 root port;   group 14  0a:00.0 GPU + 0a:00.1 its audio, a card behind 00:01.0
#   group 15  00:04.0 NVMe SN-A (padded as the nvme driver shows it), nvme0n1 (64 MiB, /srv/data on
#             nvme0n1p1: a mount the system needs too)
#   group 16  00:05.0 NVMe SN-B, nvme1n1 (128 MiB), same model as SN-A
#   group 17  00:06.0 NIC with a DSN, enp0s6
#   group 18  00:1c.1 root port;  groups 19, 20  02:00.0 / 02:00.1 a dual-port NIC card (ACS:
#             a group per port), enp2s0f0 / enp2s0f1, no DSN
#   group 21  00:14.0 USB controller with a USB stick sdc
#   group 22  00:06.1 an unknown device of a known vendor, unknown subclass (lspci's fallbacks)
#   vmbr0: a virtual bridge interface
wf_host() {
	fs_dev "$T" 0000:00:1f.0 --ids 8086:2918 --class 060100 --driver lpc_ich --group 10
	fs_dev "$T" 0000:00:1f.2 --group 10
	fs_dev "$T" 0000:00:1f.3 --ids 8086:2930 --class 0c0500 --driver i801_smbus --group 10
	wf_sata 0000:00:1f.2 1 sda 8:0 3145728 'QEMU HARDDISK'
	wf_part sda 1 8:1
	wf_part sda 2 8:2
	fs_mount "$T" / 8:1 ext4 /dev/sda1
	fs_swap "$T" /dev/sda2
	fs_dev "$T" 0000:00:1c.0 --ids 8086:2940 --class 060400 --driver pcieport --group 11
	fs_dev "$T" 0000:01:00.0 --parent 0000:00:1c.0 --group 12
	wf_sata 0000:01:00.0 1 sdb 8:16 65536 'VM DISK'
	fs_dev "$T" 0000:00:01.0 --ids 8086:1901 --class 060400 --driver pcieport --group 13
	fs_dev "$T" 0000:0a:00.0 --parent 0000:00:01.0 --ids 10de:1b80 --class 030000 --driver nouveau --group 14
	fs_dev "$T" 0000:0a:00.1 --parent 0000:00:01.0 --ids 10de:10f0 --class 040300 --driver snd_hda_intel --group 14
	fs_dev "$T" 0000:00:04.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --group 15
	fs_dev "$T" 0000:00:05.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --group 16
	# as the nvme driver shows them: padded to 20 and 40 characters
	fs_nvme "$T" 0000:00:04.0 'SN-A                ' 'Fake NVMe 1TB                           '
	fs_nvme "$T" 0000:00:05.0 SN-B "Fake NVMe 1TB"
	wf_nvme_disk 0000:00:04.0 nvme0n1 259:0 131072
	wf_part nvme0n1 1 259:1 p
	fs_mount "$T" /srv/data 259:1 xfs /dev/nvme0n1p1
	wf_nvme_disk 0000:00:05.0 nvme1n1 259:2 262144
	fs_dev "$T" 0000:00:06.0 --ids 8086:10d3 --class 020000 --driver e1000e --dsn 52-54-00-ff-ff-12-34-56 --group 17
	wf_net enp0s6 0000:00:06.0
	fs_dev "$T" 0000:00:1c.1 --ids 8086:2942 --class 060400 --driver pcieport --group 18
	fs_dev "$T" 0000:02:00.0 --parent 0000:00:1c.1 --ids 8086:1521 --class 020000 --driver igb --group 19
	fs_dev "$T" 0000:02:00.1 --parent 0000:00:1c.1 --ids 8086:1521 --class 020000 --driver igb --group 20
	wf_net enp2s0f0 0000:02:00.0
	wf_net enp2s0f1 0000:02:00.1
	fs_dev "$T" 0000:00:14.0 --ids 8086:a36d --class 0c0330 --driver xhci_hcd --group 21
	wf_sata 0000:00:14.0 usb sdc 8:32 15728640 'USB Stick'
	fs_dev "$T" 0000:00:06.1 --ids 8086:0d57 --class ffff00 --driver none --group 22
	wf_net vmbr0 virtual
	fs_link "$T" dev/disk/by-id/nvme-Fake_NVMe_1TB_SN-B ../../nvme1n1
}

# dev_block SLOT: the lines list prints for one device, from its lspci line to the next device
dev_block() {
	awk -v s="  $1 " 'index($0, s) == 1 { f = 1; print; next } /^  [0-9a-f]/ || /^$/ || /^IOMMU/ { f = 0 } f' "$T/.out"
}

# want_dev SLOT STR...: list's lines for SLOT hold every STR, each on some line
want_dev() {
	local slot=$1 s b
	shift
	b=$(dev_block "$slot")
	[ -n "$b" ] || { fail "list shows no device $slot"; return; }
	for s in "$@"; do
		grep -qF -- "$s" <<<"$b" || fail "list: $slot lacks '$s'"
	done
}

c_wf_names_as_lspci() {
	fx
	command -v lspci >/dev/null || { fail "lspci is not installed"; return; }
	wf_host
	conf '# none'
	lspci -A linux-sysfs -O sysfs.path="$T/sys/bus/pci" -D -nn >"$T/lspci-D" 2>"$T/lspci.err" ||
		{ fail "lspci cannot read the fake tree: $(head -n 1 "$T/lspci.err")"; return; }
	lspci -A linux-sysfs -O sysfs.path="$T/sys/bus/pci" -nn >"$T/lspci" 2>/dev/null
	grep -qF 'Unassigned class [ffff]: Intel Corporation Device [8086:0d57]' "$T/lspci-D" ||
		fail "the tree lacks the device with lspci's fallback names (got: $(grep 06.1 "$T/lspci-D"))"
	ev status -a
	want_rc 0
	grep -E '^[0-9a-f]{4}:' "$T/.out" | sort >"$T/status-lines"
	sort "$T/lspci-D" | cmp -s - "$T/status-lines" ||
		fail "status -a device lines differ from lspci -D -nn: $(sort "$T/lspci-D" | diff - "$T/status-lines" | grep '^[<>]' | head -n 2 | tr '\n' ' ')"
	ev list -a
	want_rc 0
	sed -n 's/^  \([0-9a-f][0-9a-f]:\)/\1/p' "$T/.out" | sort >"$T/list-lines"
	sort "$T/lspci" | cmp -s - "$T/list-lines" ||
		fail "list -a device lines differ from lspci -nn: $(sort "$T/lspci" | diff - "$T/list-lines" | grep '^[<>]' | head -n 2 | tr '\n' ' ')"
}

c_wf_list() {
	fx
	wf_host
	conf '[twin]' 'address = 01:00.0'
	ev list
	want_rc 0
	want_no_writes
	want_out_line 'IOMMU group 10: cannot be passed through as it stands'
	want_dev 00:1f.2 'driver: ahci' 'disk: sda, 1.5 GiB, QEMU HARDDISK' 'mounted: / (sda1), [swap] (sda2)' \
		'keeps the group from a VM: it holds the running system (/ (root) (/dev/sda1))'
	want_dev 00:1f.0 'driver: lpc_ich' 'keeps the group from a VM: it is a chipset function (ISA bridge [0601], on lpc_ich)'
	dev_block 00:1f.3 | grep -q 'keeps the group' && fail "the SMBus (an endpoint) is said to keep the group"
	want_out_line 'IOMMU group 12: can be passed through whole'
	want_dev 01:00.0 'disk: sdb, 32 MiB, VM DISK' 'selected by: [twin]'
	want_out_line 'IOMMU group 14: can be passed through whole'
	want_out_line 'to pass it through: early-vfio add 0a:00.0 0a:00.1 (a VM gets all of them or none)'
	want_dev 0a:00.0 'driver: nouveau'
	# every mounted file system is the system's, not only /
	want_dev 00:04.0 'NVMe: serial SN-A, model Fake NVMe 1TB' 'disk: nvme0n1, 64 MiB' 'mounted: /srv/data (nvme0n1p1)' \
		'keeps the group from a VM: it holds the running system (/srv/data'
	want_out_line 'IOMMU group 15: cannot be passed through as it stands'
	want_dev 00:05.0 'NVMe: serial SN-B' 'disk: nvme1n1, 128 MiB'
	want_dev 00:06.0 'network interfaces: enp0s6'
	want_dev 02:00.1 'network interfaces: enp2s0f1'
	want_dev 00:14.0 'driver: xhci_hcd' 'disk: sdc, 7.5 GiB, USB Stick'
	grep -qF 'vmbr0' "$T/.out" && fail "the virtual bridge vmbr0 is listed under a device"
	# without -a: no bridges-only group, no unknown device
	grep -qE 'IOMMU group (11|13|18|22):' "$T/.out" && fail "list without -a shows a group of bridges or of an unknown device"
	ev list -a
	want_rc 0
	want_out_line 'IOMMU group 11: bridges only, nothing to pass through'
	want_out_line 'IOMMU group 22: can be passed through whole'
}

c_wf_list_json() {
	fx
	wf_host
	conf '[twin]' 'address = 01:00.0' '[b]' 'serial = SN-B'
	ev list -a --json
	want_rc 0
	find "$T/sys/bus/pci/devices" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort >"$T/all"
	python3 - "$T/.out" "$T/all" <<'EOF' || fail "list -a --json: wrong or incomplete (see the assertion above)"
import json, sys
doc = json.load(open(sys.argv[1]))
want = open(sys.argv[2]).read().split()
assert doc["iommu"] is True and doc["driver"] == "vfio-pci", doc
devs, groups = {}, {}
for g in doc["groups"]:
    groups[g["group"]] = g
    for d in g["devices"]:
        assert d["address"] not in devs, "listed twice: " + d["address"]
        devs[d["address"]] = dict(d, group=g["group"])
assert sorted(devs) == want, (sorted(devs), want)
v = {k: g["verdict"] for k, g in groups.items()}
assert v[10] == "blocked" and v[11] == "bridges-only" and v[14] == "whole" and v[12] == "whole", v
assert sorted(groups[10]["kept_by"]) == ["0000:00:1f.0", "0000:00:1f.2"], groups[10]
root = devs["0000:00:1f.2"]
assert "/ (root)" in root["protected"], root
assert root["disks"][0]["name"] == "sda" and root["disks"][0]["bytes"] == 3145728 * 512, root
assert root["disks"][0]["mounts"] == ["/ (sda1)", "[swap] (sda2)"], root["disks"]
assert root["lspci"].startswith("00:1f.2 SATA controller [0106]: "), root["lspci"]
a = devs["0000:00:04.0"]
assert a["serial"] == "SN-A" and a["model"] == "Fake NVMe 1TB", a
assert "/srv/data" in a["protected"] and v[15] == "blocked", (a, v)
assert a["disks"] == [{"name": "nvme0n1", "bytes": 131072 * 512, "model": "Fake NVMe 1TB", "serial": "SN-A",
                       "mounts": ["/srv/data (nvme0n1p1)"]}], a["disks"]
assert devs["0000:00:05.0"]["section"] == "b" and devs["0000:01:00.0"]["section"] == "twin"
assert devs["0000:00:04.0"]["section"] is None
assert devs["0000:00:06.0"]["interfaces"] == ["enp0s6"], devs["0000:00:06.0"]
assert devs["0000:00:06.0"]["dsn"] == "52-54-00-ff-ff-12-34-56"
assert devs["0000:00:14.0"]["disks"][0]["name"] == "sdc"
assert devs["0000:00:1c.0"]["bridge"] is True and devs["0000:00:1c.0"]["keeps_group"] is None
assert devs["0000:00:1f.3"]["keeps_group"] is None and devs["0000:00:1f.0"]["keeps_group"]
EOF
}

c_wf_list_no_iommu() {
	fx
	fs_dev "$T" 0000:03:00.0 --group none
	conf '# none'
	ev list
	want_rc 0
	want_out_line 'No IOMMU groups: the IOMMU is off'
	want_out_line '03:00.0 SATA controller [0106]'
}

# --- add -------------------------------------------------------------------------------------

# a config an admin wrote: comments, odd spacing, an inline comment, [options], a commented-out
# example after the last section; with "noeol" its last line has no newline
wf_conf() {
	printf '%s\n' '# my passthrough devices' '' '[options]' 'iommu-group = warn   ; the default' '' \
		'; the twin controller, by hand' '[twin]' 'address   =  01:00.0' '' '#[gpu]' >"$CONF"
	if [ "${1:-}" = noeol ]; then printf '%s' '#address = 0a:00.*' >>"$CONF"; else printf '%s\n' '#address = 0a:00.*' >>"$CONF"; fi
	chmod 0644 "$CONF"
	cp "$CONF" "$T/conf.orig"
}

# want_kept: the config starts with the original bytes, byte for byte
want_kept() {
	local n
	n=$(wc -c <"$T/conf.orig")
	cmp -s -n "$n" "$T/conf.orig" "$CONF" || fail "the config's original $n bytes changed: $(cmp "$T/conf.orig" "$CONF" 2>&1)"
}

# want_section NAME KEY=VALUE...: the config has [NAME] with exactly these keys (in this order)
want_section() {
	local name=$1 got want
	shift
	got=$(awk -v s="[$name]" '$0 == s { f = 1; next } /^\[/ { f = 0 } f && /=/ { gsub(/ *= */, "="); print }' "$CONF")
	want=$(printf '%s\n' "$@")
	[ "$got" = "$want" ] || fail "[$name] is '$(tr '\n' '|' <<<"$got")', expected '$(tr '\n' '|' <<<"$want")'"
}

# want_no_temp: no temporary file of a config replacement is left beside the config
want_no_temp() {
	local f
	for f in "$T"/.early-vfio.conf.*; do
		[ -e "$f" ] && fail "a temporary file was left: ${f##*/}"
	done
}

want_unchanged() {
	cmp -s "$T/conf.orig" "$CONF" || fail "the config changed: $(diff "$T/conf.orig" "$CONF" | head -n 3 | tr '\n' ' ')"
}

c_wf_add_nvme_by_serial() {
	fx
	wf_host
	wf_conf noeol
	ev add /dev/nvme1n1
	want_rc 0
	want_no_writes
	want_kept
	want_section nvme-SN-B 'serial=SN-B' 'ids=1b36:0010'
	want_out_line 'added [nvme-SN-B] for /dev/nvme1n1 (disk nvme1n1 at 0000:00:05.0)' 'NVMe serial number SN-B'
	want_out_line 'Next: early-vfio apply'
	ev check
	want_rc 0
	want_out_line '[nvme-SN-B]'
	want_out_line '0000:00:05.0' 'serial SN-B'
	grep -qF '0000:00:04.0' "$T/.out" && fail "check: the new section takes 00:04.0 (SN-A) too"
	# and it binds that drive only
	ev bind
	want_target 0000:00:05.0
	want_host 0000:00:04.0 nvme
}

c_wf_add_serial_unwritable() {
	local sn
	for sn in 'AB CD' 'AB,CD' '#AB'; do
		fx
		wf_host
		# the drive to add reports a serial the config cannot hold as one token; its twin "AB"
		# (or "#AB" read as a comment) would be what "serial = AB CD" selects
		fs_nvme "$T" 0000:00:05.0 "$sn" "Fake NVMe 1TB"
		fs_nvme "$T" 0000:00:04.0 AB "Fake NVMe 1TB"
		conf '# empty'
		ev add 00:05.0
		want_rc 0
		grep -q '^serial' "$CONF" && fail "'$sn': wrote $(grep '^serial' "$CONF")"
		want_section nvme-00-05.0 'address=0000:00:05.0' 'ids=1b36:0010'
		want_out_or_err "serial '$sn'.*(blank|comma|#)"
		ev check
		want_rc 0
		grep -qF '0000:00:04.0' "$T/.out" && fail "'$sn': check: the new section takes 00:04.0 (AB) too"
	done
}

c_wf_add_by_id_link_and_partition() {
	fx
	wf_host
	conf '# empty'
	# a /dev/disk/by-id link names the same drive
	ev add /dev/disk/by-id/nvme-Fake_NVMe_1TB_SN-B --name vmdisk
	want_rc 0
	want_section vmdisk 'serial=SN-B' 'ids=1b36:0010'
	# a partition's controller; a second --name for a new section
	ev add /dev/sdb1 --name other
	want_rc 1
	want_err '/dev/sdb1: not a block device'
	wf_part sdb 1 8:17
	ev add /dev/sdb1
	want_rc 0
	want_out_line 'partition sdb1 at 0000:01:00.0'
	want_section sata-01-00.0 'address=0000:01:00.0' 'ids=8086:2922'
}

c_wf_add_address_and_card() {
	fx
	wf_host
	wf_conf
	# the twin 01:00.0 is selected already: nothing to do, nothing written
	ev add 0000:01:00.0
	want_rc 0
	want_out_line 'already selected by [twin]'
	want_unchanged
	# one function of a card: the whole card, said so; address + ids (no serial to go by)
	ev add 0a:00.1
	want_rc 0
	want_kept
	want_section gpu-0a-00 'address=0000:0a:00.0 0000:0a:00.1' 'ids=10de:1b80 10de:10f0'
	want_out_line 'added [gpu-0a-00]' 'and the other functions of its card' 'by address'
	# an integrated function on the root bus (00:1f.x are separate devices): that one only
	ev add 00:1f.3
	want_rc 0
	want_section pci-00-1f.3 'address=0000:00:1f.3' 'ids=8086:2930'
	grep -q '^address = .*00:1f\.[02]' "$CONF" && fail "add 00:1f.3 also selected another function of slot 1f"
	want_err_line '0000:00:1f.3: IOMMU group 10 also holds 0000:00:1f.2' 'holds the running system'
	ev check
	want_rc 0
}

c_wf_add_interface() {
	fx
	wf_host
	conf '# empty'
	# a NIC with a Device Serial Number: by DSN, ids as a guard
	ev add enp0s6
	want_rc 0
	want_section nic-00-06.0 'dsn=52-54-00-ff-ff-12-34-56' 'ids=8086:10d3'
	want_out_line 'interface enp0s6' 'Device Serial Number'
	# one port of a dual-port card: that function only
	ev add enp2s0f1
	want_rc 0
	want_section nic-02-00.1 'address=0000:02:00.1' 'ids=8086:1521'
	ev add vmbr0
	want_rc 1
	want_err 'no PCI device behind it'
	ev bind
	want_target 0000:00:06.0
	want_target 0000:02:00.1
	want_host 0000:02:00.0 igb
}

c_wf_add_refuses_system_device() {
	fx
	wf_host
	wf_conf
	local before
	before=$(stat -c '%i %Y %a %u' "$CONF")
	ev add /dev/sda
	want_rc 2
	want_unchanged
	[ "$(stat -c '%i %Y %a %u' "$CONF")" = "$before" ] || fail "the config file was replaced"
	want_err_line '0000:00:1f.2' 'disk sda' 'not added' '/ (root)' 'allow-system-device = yes'
	want_err 'not changed'
	ev add /dev/sda1 00:05.0
	want_rc 2
	want_unchanged
	# swap is the system's too; and with no config at all, none is created
	rm "$CONF"
	ev add 00:1f.2
	want_rc 2
	[ -e "$CONF" ] && fail "a refused add created $CONF"
	want_no_temp
	# a bridge is never bound
	wf_conf
	ev add 00:1c.0
	want_rc 2
	want_unchanged
	want_err 'bridge'
	# an invalid config is not edited
	printf '[x]\nadress = 01:00.0\n' >"$CONF"
	cp "$CONF" "$T/conf.orig"
	ev add 00:05.0
	want_rc 2
	want_unchanged
	want_err "unknown key 'adress'"
}

c_wf_add_keeps_owner_mode_and_link() {
	fx
	need_root || return
	wf_host
	wf_conf
	chmod 0600 "$CONF"
	chgrp 4 "$CONF" 2>/dev/null || chgrp 0 "$CONF"
	local g
	g=$(stat -c %g "$CONF")
	ev add 00:05.0
	want_rc 0
	[ "$(stat -c '%a %u %g' "$CONF")" = "600 0 $g" ] || fail "mode/owner now $(stat -c '%a %u %g' "$CONF"), was 600 0 $g"
	# a symlinked config: the link stays, its target is replaced
	mv "$CONF" "$T/real.conf"
	ln -s real.conf "$CONF"
	ev add enp0s6
	want_rc 0
	[ -L "$CONF" ] || fail "the config symlink was replaced by a file"
	grep -q '^dsn = 52-54-00-ff-ff-12-34-56$' "$T/real.conf" || fail "the link's target did not get the section"
}

c_wf_remove() {
	fx
	wf_host
	wf_conf
	ev add 00:05.0 enp0s6
	want_rc 0
	# by device: its section only
	ev remove /dev/nvme1n1
	want_rc 0
	want_out_line 'removed [nvme-SN-B]' 'which selects /dev/nvme1n1'
	want_out_line '- serial = SN-B'
	grep -q 'SN-B' "$CONF" && fail "the removed section (or its comment) is still there"
	grep -q '^\[nic-00-06.0\]' "$CONF" || fail "remove took another section too"
	# by section name: back to the admin's file, byte for byte
	ev remove nic-00-06.0
	want_rc 0
	want_unchanged
	# a section that selects more than the device: refused, unchanged
	conf '# x' '' '[sata]' 'ids = 8086:2922'
	cp "$CONF" "$T/conf.orig"
	ev remove 01:00.0
	want_rc 1
	want_unchanged
	want_err_line '[sata] also selects' '0000:00:1f.2'
	ev remove nosuch
	want_rc 1
	want_unchanged
}

c_wf_remove_name_prefix() {
	fx
	wf_host
	# [gpu-2] takes the card's first function, [gpu] its audio: removing the card takes both
	# (a name that is the start of another is still its own section)
	conf '[gpu-2]' 'address = 0a:00.0' '' '[gpu]' 'address = 0a:00.1' '' '[twin]' 'address = 01:00.0'
	ev remove 0a:00.0
	want_rc 0
	grep -q '^\[gpu-2\]' "$CONF" && fail "[gpu-2] is still there"
	grep -q '^\[gpu\]' "$CONF" && fail "[gpu] is still there (skipped as a substring of gpu-2)"
	grep -q '^\[twin\]' "$CONF" || fail "remove took [twin] too"
}

c_wf_concurrent_adds() {
	fx
	wf_host
	wf_conf
	local devs=(00:05.0 00:1f.3 enp0s6 enp2s0f0 enp2s0f1 00:14.0 0a:00.0 00:06.1) i
	for i in "${!devs[@]}"; do
		env FAKE_SYSROOT="$T" LD_PRELOAD="$SHIM" \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
			timeout -k 5 120 "$BIN" --sysroot "$T" --config "$CONF" add "${devs[$i]}" \
			>"$T/.out$i" 2>"$T/.err$i" &
	done
	wait
	for i in "${!devs[@]}"; do
		grep -q '^early-vfio: .*runtime error\|Sanitizer' "$T/.err$i" && fail "add ${devs[$i]}: sanitizer report"
		grep -qF 'added [' "$T/.out$i" || fail "add ${devs[$i]} did not add: $(head -n 1 "$T/.err$i")"
	done
	want_kept
	[ "$(grep -c '^\[' "$CONF")" = 10 ] || fail "$(grep -c '^\[' "$CONF") section headers, expected 10 (options, twin, 8 added)"
	[ -z "$(grep '^\[' "$CONF" | sort | uniq -d)" ] || fail "sections there twice: $(grep '^\[' "$CONF" | sort | uniq -d)"
	want_no_temp
	ev check
	want_rc 0
	# the same device from several at once: one section
	wf_conf
	for i in 1 2 3 4 5; do
		env FAKE_SYSROOT="$T" LD_PRELOAD="$SHIM" \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
			timeout -k 5 120 "$BIN" --sysroot "$T" --config "$CONF" add 00:05.0 >/dev/null 2>&1 &
	done
	wait
	[ "$(grep -c '^serial = SN-B$' "$CONF")" = 1 ] || fail "five adds of one drive wrote $(grep -c '^serial = SN-B$' "$CONF") sections"
}

# --- apply -----------------------------------------------------------------------------------

# wf_boot: an installed kernel (and an older one), the DMAR table of an Intel VT-d machine, this
# boot's command line with intel_iommu=on, and fake generators in $T/bin that log their arguments
# to $T/gen.log and build images as the hook lays them out, with the record the binary writes
# (FAKE_GEN_FAIL=1: fail)
wf_boot() {
	local v
	for v in 6.1.0-40-amd64 6.1.0-41-amd64; do
		mkdir -p "$T/lib/modules/$v" "$T/boot"
		: >"$T/boot/vmlinuz-$v"
	done
	mkdir -p "$T/sys/firmware/acpi/tables" "$T/bin" "$T/etc/default"
	: >"$T/sys/firmware/acpi/tables/DMAR"
	printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet intel_iommu=on\n' >"$T/proc/cmdline"
	cat >"$T/bin/fake-generator" <<'EOF'
#!/bin/bash
# what update-initramfs -u -k all (or dracut --regenerate-all -f) does, for the test
echo "$(basename "$0") $*" >>"$FAKE_SYSROOT/gen.log"
# the hooks copy $EVFIO_CONF (default /etc/early-vfio.conf) into the image
echo "${EVFIO_CONF:-unset}" >"$FAKE_SYSROOT/gen.conf"
WF_CONF=${EVFIO_CONF:-$WF_CONF}
[ -n "${FAKE_GEN_FAIL:-}" ] && { echo "E: fake failure" >&2; exit 1; }
for m in "$FAKE_SYSROOT"/lib/modules/*; do
	v=${m##*/}
	d=$(mktemp -d) || exit 1
	k=usr/lib/modules/$v/kernel/drivers/vfio/pci
	mkdir -p "$d/usr/sbin" "$d/etc" "$d/scripts/init-top" "$d/$k"
	cp "$WF_BIN" "$d/usr/sbin/early-vfio"
	cp "$WF_CONF" "$d/etc/early-vfio.conf"
	# the record and the host's copy, as the hook writes them (the shared hook library itself)
	(EVFIO_BIN=$FAKE_SYSROOT/bin/early-vfio-root EVFIO_STATE_DIR=$FAKE_SYSROOT/var/lib/early-vfio
	 . "$WF_HOOKS/early-vfio-build.sh" && evfio_build_record "$d") || exit 1
	# a generator that fails after the hooks ran (compression, a full /boot)
	[ -n "${FAKE_GEN_FAIL_LATE:-}" ] && { echo "E: fake failure after the hooks" >&2; rm -rf "$d"; exit 1; }
	printf '#!/bin/sh\n' >"$d/scripts/init-top/early-vfio"
	printf '/scripts/init-top/early-vfio "$@"\n/scripts/init-top/udev "$@"\n' >"$d/scripts/init-top/ORDER"
	printf 'module' >"$d/$k/vfio-pci.ko"
	(cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$FAKE_SYSROOT/boot/initrd.img-$v"
	rm -rf "$d"
	# initramfs-tools runs /etc/initramfs/post-update.d/* after each image it built
	if [ "$(basename "$0")" = update-initramfs ] && [ -x "$WF_HOOKS/initramfs-tools/post-update" ]; then
		EVFIO_BUILD_LIB=$WF_HOOKS/early-vfio-build.sh EVFIO_STATE_DIR=$FAKE_SYSROOT/var/lib/early-vfio \
			"$WF_HOOKS/initramfs-tools/post-update" "$v" "$FAKE_SYSROOT/boot/initrd.img-$v" || exit 1
	fi
done
EOF
	# the hooks' early-vfio, on this sysroot
	# shellcheck disable=SC2016 # expanded by the wrapper, not here
	printf '#!/bin/sh\nexec "$WF_BIN" --sysroot "$FAKE_SYSROOT" "$@"\n' >"$T/bin/early-vfio-root"
	chmod 0755 "$T/bin/early-vfio-root"
	chmod 0755 "$T/bin/fake-generator"
	ln -s fake-generator "$T/bin/update-initramfs"
	# shellcheck disable=SC2016 # expanded by the fake, not here
	printf '#!/bin/sh\necho "proxmox-boot-tool $*" >>"$FAKE_SYSROOT/gen.log"\n' >"$T/bin/fake-pbt"
	chmod 0755 "$T/bin/fake-pbt"
	# no /usr/sbin: the host's own update-initramfs must never run
	FAKE_ENV=(PATH="$T/bin:/usr/bin:/bin" WF_BIN="$BIN" WF_CONF="$CONF" WF_HOOKS="$HERE/../../hooks")
}

# apply -c FILE: the file checked is the file the images get (EVFIO_CONF for the hooks), and the one
# check --initramfs compares them with; not FILE checked and /etc's built
c_wf_apply_config_file() {
	fx
	wf_host
	wf_boot
	conf '[twin]' 'address = 01:00.0'
	printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on"\nGRUB_CMDLINE_LINUX=""\n' >"$T/etc/default/grub"
	# shellcheck disable=SC2034 # read by ev in run.sh
	FAKE_ENV=(PATH="$T/bin:/usr/bin:/bin" WF_BIN="$BIN" WF_CONF="$T/etc/early-vfio.conf" WF_HOOKS="$HERE/../../hooks")
	printf '# the one in /etc: selects nothing\n' >"$T/etc/early-vfio.conf"
	ev apply
	want_rc 0
	[ "$(cat "$T/gen.conf" 2>/dev/null)" = "$(realpath "$CONF")" ] ||
		fail "the generator got EVFIO_CONF '$(cat "$T/gen.conf" 2>/dev/null)', expected $(realpath "$CONF")"
	want_out_line 'ready'
}

c_wf_apply() {
	fx
	wf_host
	wf_boot
	conf '# mine' '[twin]' 'address = 01:00.0'
	printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on"\nGRUB_CMDLINE_LINUX=""\n' >"$T/etc/default/grub"
	ev add /dev/nvme1n1
	want_rc 0
	# --dry-run: the plan, nothing run, nothing written
	ev apply --dry-run
	want_rc 0
	[ -e "$T/gen.log" ] && fail "apply --dry-run ran $(cat "$T/gen.log")"
	want_out_line 'would run: update-initramfs -u -k all'
	want_out_line "would check: $T/boot/initrd.img-6.1.0-41-amd64"
	[ -e "$T/boot/initrd.img-6.1.0-41-amd64" ] && fail "apply --dry-run built an image"
	want_no_writes
	ev apply
	want_rc 0
	[ "$(cat "$T/gen.log" 2>/dev/null)" = 'update-initramfs -u -k all' ] ||
		fail "apply ran '$(paste -sd ';' "$T/gen.log" 2>/dev/null)', expected 'update-initramfs -u -k all'"
	[ "$(grep -c 'image is ready' "$T/.out")" = 2 ] || fail "apply did not check both kernels' images ready"
	want_out_line 'next boot: on (/etc/default/grub has intel_iommu=on)'
	want_out_line '* 0000:00:05.0' 'nvme (nvme1n1)' '-> vfio-pci [nvme-SN-B]'
	want_out_line '* 0000:01:00.0' 'ahci (sdb)' '-> vfio-pci [twin]'
	want_out_line 'Ready: reboot'
	grep -qF '0000:00:04.0' "$T/.out" && fail "the table lists 00:04.0, which nothing selects"
	want_no_writes
	# on Proxmox VE with ESPs it manages: refreshed after the rebuild
	ln -s fake-pbt "$T/bin/proxmox-boot-tool"
	mkdir -p "$T/etc/kernel"
	: >"$T/etc/kernel/proxmox-boot-uuids"
	printf 'root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on\n' >"$T/etc/kernel/cmdline"
	rm "$T/gen.log"
	ev apply
	want_rc 0
	[ "$(paste -sd ';' "$T/gen.log")" = 'update-initramfs -u -k all;proxmox-boot-tool refresh' ] ||
		fail "apply ran '$(paste -sd ';' "$T/gen.log")'"
	want_out_line 'next boot: on (/etc/kernel/cmdline has intel_iommu=on)'
}

c_wf_apply_iommu_off_next_boot() {
	fx
	wf_host
	wf_boot
	conf '[twin]' 'address = 01:00.0'
	printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash"\n' >"$T/etc/default/grub"
	ev apply --dry-run
	want_rc 1
	want_err 'intel_iommu=on is not in /etc/default/grub'
	want_out_line '    GRUB_CMDLINE_LINUX_DEFAULT="quiet splash intel_iommu=on"'
	want_out_line 'then run: update-grub'
	# systemd-boot's /etc/kernel/cmdline, with no GRUB
	rm "$T/etc/default/grub"
	mkdir -p "$T/etc/kernel"
	printf 'root=ZFS=rpool/ROOT/pve-1 boot=zfs\n' >"$T/etc/kernel/cmdline"
	ev apply --dry-run
	want_rc 1
	want_err 'intel_iommu=on is not in /etc/kernel/cmdline'
	want_out_line '    root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on'
	want_out_line 'then run: proxmox-boot-tool refresh'
	# early-vfio=off on the next boot's line: said too
	printf 'root=/dev/sda1 intel_iommu=on early-vfio=off\n' >"$T/etc/kernel/cmdline"
	ev apply --dry-run
	want_rc 1
	want_err '/etc/kernel/cmdline has early-vfio=off'
	# no IOMMU at all: no groups, no DMAR or IVRS table
	rm "$T/sys/firmware/acpi/tables/DMAR"
	find "$T/sys/kernel/iommu_groups" -mindepth 1 -delete
	rm "$T/etc/kernel/cmdline"
	ev apply --dry-run
	want_rc 1
	want_err 'no IOMMU in the firmware'
}

c_wf_apply_stops() {
	fx
	wf_host
	wf_boot
	printf 'GRUB_CMDLINE_LINUX_DEFAULT="intel_iommu=on"\n' >"$T/etc/default/grub"
	# a refused config: stopped before anything is rebuilt
	conf '[oops]' 'address = 00:1f.2'
	ev apply
	want_rc 2
	[ -e "$T/gen.log" ] && fail "apply rebuilt after the check refused: $(cat "$T/gen.log")"
	want_err 'stopped at the check'
	# a generator that fails: stopped there, no image check, no refresh
	conf '[twin]' 'address = 01:00.0'
	ln -s fake-pbt "$T/bin/proxmox-boot-tool"
	mkdir -p "$T/etc/kernel"
	: >"$T/etc/kernel/proxmox-boot-uuids"
	FAKE_ENV+=(FAKE_GEN_FAIL=1)
	ev apply
	want_rc 1
	want_err 'update-initramfs failed'
	grep -q proxmox-boot-tool "$T/gen.log" && fail "proxmox-boot-tool ran after the rebuild failed"
	grep -q 'image is' "$T/.out" && fail "images were checked after the rebuild failed"
}

# Issue 26 item 8: the host's copy of the record (var/lib/early-vfio/record, which check and status
# compare with) changes only once the image build succeeded: a generator failing after the hooks
# ran leaves it as it was, with update-initramfs and with dracut; a build that succeeds updates it
c_wf_failed_build_keeps_host_record() {
	local gen
	for gen in update-initramfs dracut; do
		fx
		wf_host
		wf_boot
		conf '[twin]' 'address = 01:00.0'
		if [ "$gen" = dracut ]; then
			rm "$T/bin/update-initramfs"
			ln -s fake-generator "$T/bin/dracut"
		fi
		mkdir -p "$T/var/lib/early-vfio"
		printf 'the record of the image built before\n' >"$T/var/lib/early-vfio/record"
		FAKE_ENV+=(FAKE_GEN_FAIL_LATE=1)
		ev apply
		want_rc 1
		[ "$(cat "$T/var/lib/early-vfio/record")" = 'the record of the image built before' ] ||
			fail "$gen failed, and the host's record was changed"
		unset 'FAKE_ENV[${#FAKE_ENV[@]}-1]'
		ev apply
		want_rc 0
		grep -q '^selected	0000:01:00.0	' "$T/var/lib/early-vfio/record" ||
			fail "$gen succeeded, and the host's record is not the new one"
		[ -e "$T/var/lib/early-vfio/record.new" ] && fail "$gen: record.new left behind"
	done
	# update-initramfs run by hand (a kernel upgrade): its post-update.d hook promotes the copy
	printf 'the record of the image built before\n' >"$T/var/lib/early-vfio/record"
	rm "$T/bin/dracut"
	ln -s fake-generator "$T/bin/update-initramfs"
	env "${FAKE_ENV[@]}" FAKE_SYSROOT="$T" "$T/bin/update-initramfs" -u -k all 2>"$T/.err" ||
		fail "update-initramfs failed: $(cat "$T/.err")"
	grep -q '^selected	0000:01:00.0	' "$T/var/lib/early-vfio/record" ||
		fail "update-initramfs alone: post-update.d did not update the host's record"
	return 0
}

c_wf_apply_dracut() {
	fx
	wf_host
	wf_boot
	conf '[twin]' 'address = 01:00.0'
	rm "$T/bin/update-initramfs"
	ln -s fake-generator "$T/bin/dracut"
	ev apply
	want_rc 0
	[ "$(cat "$T/gen.log" 2>/dev/null)" = 'dracut --regenerate-all -f' ] ||
		fail "apply ran '$(paste -sd ';' "$T/gen.log" 2>/dev/null)', expected 'dracut --regenerate-all -f'"
	# neither: said, nothing run
	rm "$T/bin/dracut" "$T/gen.log"
	ev apply
	want_rc 1
	want_err 'neither update-initramfs'
}

# --- completion ------------------------------------------------------------------------------

# wf_complete WORDS...: what the bash completion offers for the last word, on a command line that
# names the case's root and config
wf_complete() {
	(
		# shellcheck source=conf/completion/early-vfio.bash
		. "$HERE/../../conf/completion/early-vfio.bash"
		COMP_WORDS=(early-vfio --sysroot "$T" -c "$CONF" "$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_early_vfio
		printf '%s\n' "${COMPREPLY[@]}"
	)
}

c_wf_completion() {
	fx
	wf_host
	conf '[twin]' 'address = 01:00.0' '' '[options]' 'driver = vfio-pci' '[nvme-b]' 'serial = SN-B'
	local got
	got=$(wf_complete '' | sort | paste -sd ' ')
	[ "$got" = 'add apply bind boot check list protected record release remove status vfs' ] || fail "commands: '$got'"
	got=$(wf_complete remove '' | sort | paste -sd ' ')
	case " $got " in *' nvme-b '*) ;; *) fail "remove: no section nvme-b in '$got'" ;; esac
	case " $got " in *' twin '*) ;; *) fail "remove: no section twin in '$got'" ;; esac
	case " $got " in *' 0a:00.0 '*) ;; *) fail "remove: no address 0a:00.0 in '$got'" ;; esac
	case " $got " in *' options '*) fail "remove offers [options]" ;; esac
	got=$(wf_complete add 0a: | paste -sd ' ')
	[ "$got" = '0a:00.0 0a:00.1' ] || fail "add 0a: offers '$got'"
	got=$(wf_complete add enp2 | sort | paste -sd ' ')
	[ "$got" = 'enp2s0f0 enp2s0f1' ] || fail "add enp2 offers '$got'"
	got=$(wf_complete apply --d | paste -sd ' ')
	[ "$got" = '--dry-run' ] || fail "apply --d offers '$got'"
	got=$(wf_complete list --j | paste -sd ' ')
	[ "$got" = '--json' ] || fail "list --j offers '$got'"
}

# wf_zcomplete LINE: what the zsh completion offers after "early-vfio --sysroot T -c CONF LINE",
# from an interactive zsh in a pseudo-terminal whose compadd also writes what it is given to a file
wf_zcomplete() {
	local out=$T/zcomp.out i
	rm -f "$out"
	mkdir -p "$T/zfunc"
	cp "$HERE/../../conf/completion/_early-vfio" "$T/zfunc/"
	# shellcheck disable=SC2016 # expanded by the inner zsh
	timeout 20 zsh -f -c '
		zmodload zsh/zpty
		zpty z "zsh -f -i"
		zpty -w z "PS1=\"> \"; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
		zpty -w z "compadd() { local -a _o; builtin compadd -O _o \"\$@\"; print -rl -- \$_o >>$2; builtin compadd \"\$@\" }"
		zpty -w z "early-vfio --sysroot $3 -c $4 $5"$'"'"'\t'"'"'
		for i in {1..50}; do [[ -s $2 ]] && break; sleep 0.1; done
		sleep 0.3
		zpty -d z
	' zc "$T/zfunc" "$out" "$T" "$CONF" "$1" >/dev/null 2>&1
	grep -v '^$' "$out" 2>/dev/null | sort -u | paste -sd ' '
}

c_wf_completion_zsh() {
	fx
	command -v zsh >/dev/null || { fail "zsh is not installed (scripts/install-deps.sh test)"; return; }
	wf_host
	conf '[twin]' 'address = 01:00.0' '' '[options]' 'driver = vfio-pci' '[nvme-b]' 'serial = SN-B'
	local got
	got=$(wf_zcomplete '')
	[ "$got" = 'add apply bind boot check list protected record release remove status vfs' ] || fail "commands: '$got'"
	got=$(wf_zcomplete 'remove tw')
	[ "$got" = 'twin' ] || fail "remove tw offers '$got'"
	got=$(wf_zcomplete 'add 0a:')
	[ "$got" = '0a:00.0 0a:00.1' ] || fail "add 0a: offers '$got'"
	got=$(wf_zcomplete 'add enp2')
	[ "$got" = 'enp2s0f0 enp2s0f1' ] || fail "add enp2 offers '$got'"
}

t "workflow: list, status: device names exactly as lspci -nn prints them (lspci's own output on the same tree)" c_wf_names_as_lspci
t "workflow: list: groups with a verdict, disks with size, model, mounts and swap, serials, interfaces, protected roles" c_wf_list
t "workflow: list -a --json: valid, every PCI device once, verdicts, kept_by, disks, mounts, serials, sections" c_wf_list_json
t "workflow: list without IOMMU groups says the IOMMU is off and still lists the devices" c_wf_list_no_iommu
t "workflow: add /dev/nvme1n1: serial + ids guard; the admin's bytes kept; check and bind take that drive only" c_wf_add_nvme_by_serial
t "workflow: add through a /dev/disk/by-id link, and a partition: the controller behind it" c_wf_add_by_id_link_and_partition
t "workflow: add ADDRESS: a card's functions together, a root-bus function alone, address + ids; selected: no change" c_wf_add_address_and_card
t "workflow: add INTERFACE: by DSN when the NIC has one; one port of a dual-port card; virtual interface refused" c_wf_add_interface
t "workflow: add of the root disk, its partition, a bridge, or into an invalid config: refused, file byte-identical" c_wf_add_refuses_system_device
t "workflow: add keeps the config's owner and mode, and replaces a symlinked config's target" c_wf_add_keeps_owner_mode_and_link
t "workflow: remove SECTION|DEVICE: that section and its comment only; add then remove gives the admin's bytes back" c_wf_remove
t "workflow: add: an NVMe serial with a blank, a comma or a leading '#' is not written; address and ids instead, and why" c_wf_add_serial_unwritable
t "workflow: remove DEVICE: [gpu] and [gpu-2] are two names, not a name and its substring" c_wf_remove_name_prefix
t "workflow: concurrent adds: every section once, the admin's bytes intact, the config valid" c_wf_concurrent_adds
t "workflow: apply -c FILE: the images get the file that was checked (EVFIO_CONF for the hooks), not /etc's" c_wf_apply_config_file
t "workflow: apply: a build that fails leaves the host's record as it was (update-initramfs, dracut); one that succeeds updates it" c_wf_failed_build_keeps_host_record
t "workflow: apply: --dry-run changes nothing; update-initramfs -u -k all, every image checked, proxmox-boot-tool refresh, the table" c_wf_apply
t "workflow: apply: intel_iommu=on missing from GRUB or /etc/kernel/cmdline: says so with the exact line; exit 1" c_wf_apply_iommu_off_next_boot
t "workflow: apply stops at a refused check (nothing rebuilt) and at a failing generator (no check, no refresh)" c_wf_apply_stops
t "workflow: apply with dracut: dracut --regenerate-all -f; with no generator: an error" c_wf_apply_dracut
t "workflow: bash completion: commands, sections for remove, addresses and interfaces for add, options" c_wf_completion
t "workflow: zsh completion: commands, sections for remove, addresses and interfaces for add" c_wf_completion_zsh

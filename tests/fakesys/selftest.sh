#!/bin/bash
# selftest.sh [FAKEKERNEL_SO] - prove that the fake sysfs and fakekernel.so behave like the kernel
# where early-vfio depends on it, using plain shell writes (dash's open + write).
# Output: "PASS: ..."/"FAIL: ...: why" per case, then "N passed, N failed"; exit 1 on failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/fakesys/fakesys.sh
. "$HERE/fakesys.sh"
SHIM=${1:-${FAKEKERNEL:-$HERE/fakekernel.so}}
if [ ! -f "$SHIM" ] || [ "$HERE/fakekernel.c" -nt "$SHIM" ]; then
	"${CC:-cc}" -Wall -Wextra -Werror -fPIC -shared -o "$SHIM" "$HERE/fakekernel.c" -ldl || exit 1
fi
SHIM=$(realpath "$SHIM")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fakesys-selftest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
T=''
WHY=''
B=''

fx() {
	T=$(mktemp -d "$WORK/case.XXXXXX")
	B=$T/sys/bus/pci
	fs_init "$T"
	fs_driver "$T" ahci vfio-pci
	fs_dev "$T" 0000:03:00.0
}

# k [VAR=VAL...] 'shell command': run under the fake kernel; sets RC
k() {
	local envs=()
	while [ $# -gt 1 ]; do
		envs+=("$1")
		shift
	done
	env "${envs[@]}" FAKE_SYSROOT="$T" LD_PRELOAD="$SHIM" sh -c "$1" 2>/dev/null
	RC=$?
}

fail() { WHY+="${WHY:+; }$*"; }
drv() {
	if [ -e "$B/devices/$1/driver" ]; then basename "$(readlink "$B/devices/$1/driver")"; else echo none; fi
}
want_drv() { [ "$(drv "$1")" = "$2" ] || fail "$1 on '$(drv "$1")', expected '$2'"; }
want_ov() {
	local got
	got=$(cat "$B/devices/$1/driver_override")
	[ "$got" = "$2" ] || fail "override '$got', expected '$2'"
}
want_rc() { [ "$RC" = "$1" ] || fail "exit $RC, expected $1"; }
want_log() { grep -qF -- "$1" "$T/fakekernel.log" 2>/dev/null || fail "log lacks '$1'"; }

t() {
	WHY=''
	"$2"
	if [ -z "$WHY" ]; then
		echo "PASS: $1"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL: $1: $WHY"
		FAILED=$((FAILED + 1))
	fi
}

s_lspci() {
	fx
	fs_dev "$T" 0000:01:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	if ! command -v lspci >/dev/null; then
		echo "  (lspci not installed: checked the tree by hand only)"
		[ -L "$B/devices/0000:03:00.0" ] || fail "no bus link"
		return
	fi
	local out
	out=$(lspci -A linux-sysfs -O "sysfs.path=$B" -knn -s 03:00.0 2>&1)
	grep -qF '03:00.0 SATA controller [0106]' <<<"$out" || fail "lspci: $out"
	grep -qF '[8086:2922] (rev 02)' <<<"$out" || fail "lspci ids: $out"
	grep -qF 'Subsystem: ' <<<"$out" || fail "lspci subsystem: $out"
	grep -qF '[8086:5044]' <<<"$out" || fail "lspci subsystem ids: $out"
	grep -qF 'Kernel driver in use: ahci' <<<"$out" || fail "lspci driver: $out"
	out=$(lspci -A linux-sysfs -O "sysfs.path=$B" -vv -s 03:00.0 2>&1)
	grep -qF 'IOMMU group: 1' <<<"$out" || fail "lspci iommu group: $out"
	grep -q 'pcilib' <<<"$out" && fail "lspci warned: $out"
	out=$(lspci -A linux-sysfs -O "sysfs.path=$B" -nn -s 01:00.0 2>&1)
	grep -qF 'Non-Volatile memory controller [0108]: ' <<<"$out" || fail "lspci nvme: $out"
}

s_override() {
	fx
	k "printf vfio-pci > $B/devices/0000:03:00.0/driver_override"
	want_rc 0
	want_ov 0000:03:00.0 vfio-pci
	want_drv 0000:03:00.0 ahci
	k "echo > $B/devices/0000:03:00.0/driver_override"
	want_ov 0000:03:00.0 '(null)'
	k "printf 'ahci\nrest' > $B/devices/0000:03:00.0/driver_override"
	want_ov 0000:03:00.0 ahci
}

s_unbind_probe() {
	fx
	k "echo vfio-pci > $B/devices/0000:03:00.0/driver_override && echo 0000:03:00.0 > $B/devices/0000:03:00.0/driver/unbind"
	want_rc 0
	want_drv 0000:03:00.0 none
	[ -e "$B/drivers/ahci/0000:03:00.0" ] && fail "still in drivers/ahci"
	k "printf 0000:03:00.0 > $B/drivers_probe"
	want_rc 0
	want_drv 0000:03:00.0 vfio-pci
	[ "$(readlink "$T/sys/devices/pci0000:00/0000:03:00.0/driver")" = ../../../bus/pci/drivers/vfio-pci ] ||
		fail "driver link not relative like the kernel's"
	[ -L "$B/drivers/vfio-pci/0000:03:00.0" ] || fail "no drivers/vfio-pci/0000:03:00.0"
	k "echo 0000:03:00.0 > $B/drivers_probe"
	want_rc 0
	want_log 'drivers_probe 0000:03:00.0: already bound to vfio-pci'
}

s_probe_host_without_override() {
	fx
	k "echo 0000:03:00.0 > $B/drivers/ahci/unbind && echo 0000:03:00.0 > $B/drivers_probe"
	want_drv 0000:03:00.0 ahci
}

s_probe_override_unregistered() {
	fx
	k "echo nvme > $B/devices/0000:03:00.0/driver_override && echo 0000:03:00.0 > $B/drivers/ahci/unbind && echo 0000:03:00.0 > $B/drivers_probe"
	want_rc 0
	want_drv 0000:03:00.0 none
	want_log 'drivers_probe 0000:03:00.0: no matching driver'
}

s_bind_rules() {
	fx
	k "echo 0000:03:00.0 > $B/drivers/ahci/bind"
	[ "$RC" = 0 ] && fail "bind of a bound device succeeded"
	want_log 'already bound to ahci (EBUSY)'
	k "echo 0000:03:00.0 > $B/drivers/ahci/unbind"
	k "echo 0000:03:00.0 > $B/drivers/vfio-pci/bind"
	[ "$RC" = 0 ] && fail "vfio-pci bind without override succeeded"
	want_drv 0000:03:00.0 none
	k "echo 0000:03:00.0 > $B/drivers/ahci/bind"
	want_rc 0
	want_drv 0000:03:00.0 ahci
	k "echo 0000:03:00.0 > $B/drivers/vfio-pci/unbind"
	[ "$RC" = 0 ] && fail "unbind from a driver it is not bound to succeeded"
	k "echo 0000:09:00.0 > $B/drivers_probe"
	[ "$RC" = 0 ] && fail "drivers_probe of an unknown device succeeded"
}

s_vfio_refusals() {
	fx
	fs_dev "$T" 0000:04:00.0 --group none --unbound
	fs_dev "$T" 0000:00:1c.0 --ids 8086:a110 --class 060400 --driver pcieport --unbound
	fs_dev "$T" 0000:05:00.0 --ids 8086:1521 --class 020000 --driver igb --sriov 7:2 --unbound
	local d
	for d in 0000:04:00.0 0000:00:1c.0 0000:05:00.0; do
		k "echo vfio-pci > $B/devices/$d/driver_override && echo $d > $B/drivers_probe"
		want_rc 0
		want_drv "$d" none
		k "echo $d > $B/drivers/vfio-pci/bind"
		[ "$RC" = 0 ] && fail "bind of $d succeeded"
	done
	want_log 'drivers_probe 0000:04:00.0: vfio-pci probe failed: no iommu_group (EINVAL)'
	want_log 'drivers_probe 0000:00:1c.0: vfio-pci probe failed: not a normal header device (bridge) (EINVAL)'
	want_log 'drivers_probe 0000:05:00.0: vfio-pci probe failed: PF with SR-IOV enabled (EBUSY)'
}

s_readonly_attrs() {
	fx
	k "echo 0x1234 > $B/devices/0000:03:00.0/vendor"
	[ "$RC" = 0 ] && fail "write to vendor succeeded"
	[ "$(cat "$B/devices/0000:03:00.0/vendor")" = 0x8086 ] || fail "vendor changed"
	k "echo x > $B/devices/0000:03:00.0/newattr"
	[ -e "$B/devices/0000:03:00.0/newattr" ] && fail "a file was created in sysfs"
}

s_faults() {
	fx
	k FAKE_RO=sys/bus/pci/devices/0000:03:00.0/driver_override "echo vfio-pci > $B/devices/0000:03:00.0/driver_override"
	[ "$RC" = 0 ] && fail "FAKE_RO write succeeded"
	want_ov 0000:03:00.0 '(null)'
	k FAKE_UNBIND_EBUSY=0000:03:00.0 "echo 0000:03:00.0 > $B/devices/0000:03:00.0/driver/unbind"
	[ "$RC" = 0 ] && fail "FAKE_UNBIND_EBUSY unbind succeeded"
	want_drv 0000:03:00.0 ahci
	k FAKE_REFUSE=vfio-pci:0000:03:00.0 "echo vfio-pci > $B/devices/0000:03:00.0/driver_override && echo 0000:03:00.0 > $B/drivers/ahci/unbind && echo 0000:03:00.0 > $B/drivers_probe"
	want_rc 0
	want_drv 0000:03:00.0 none
	k FAKE_HANG=vfio-pci:0000:03:00.0 FAKE_HANG_SECS=1 "echo vfio-pci > $B/devices/0000:03:00.0/driver_override && echo 0000:03:00.0 > $B/drivers_probe"
	want_log 'probe vfio-pci 0000:03:00.0: hanging (FAKE_HANG)'
	want_drv 0000:03:00.0 none
	k FAKE_VANISH=0000:03:00.0 "echo vfio-pci > $B/devices/0000:03:00.0/driver_override"
	[ "$RC" = 0 ] && fail "write to a vanished device succeeded"
	[ -e "$B/devices/0000:03:00.0" ] && fail "device still there"
	[ -e "$T/sys/devices/pci0000:00/0000:03:00.0" ] && fail "device dir still there"
	[ -e "$T/sys/kernel/iommu_groups/1/devices/0000:03:00.0" ] && fail "iommu group link still there"
	want_log 'vanish 0000:03:00.0 (FAKE_VANISH)'
}

s_sriov() {
	fx
	fs_dev "$T" 0000:00:04.0 --ids 1b36:0010 --class 010802 --driver nvme --sriov 4:0 --vf-driver nvme
	local P=$B/devices/0000:00:04.0
	k "echo 5 > $P/sriov_numvfs"
	[ "$RC" = 0 ] && fail "5 VFs on a PF with sriov_totalvfs 4 accepted"
	k "echo 0 > $P/sriov_drivers_autoprobe && echo 3 > $P/sriov_numvfs"
	want_rc 0
	[ "$(cat "$P/sriov_numvfs")" = 3 ] || fail "sriov_numvfs reads '$(cat "$P/sriov_numvfs")'"
	[ "$(readlink "$P/virtfn1")" = ../0000:00:04.2 ] || fail "virtfn1 -> '$(readlink "$P/virtfn1")'"
	[ "$(readlink "$B/devices/0000:00:04.2/physfn")" = ../0000:00:04.0 ] || fail "no physfn link"
	[ -e "$B/devices/0000:00:04.3/iommu_group" ] || fail "VF 2 has no IOMMU group"
	want_drv 0000:00:04.1 none
	k "echo 0000:00:04.2 > $B/drivers_probe"
	want_drv 0000:00:04.2 none
	want_log 'drivers_probe 0000:00:04.2: not probed (VF, PF sriov_drivers_autoprobe 0, no driver_override)'
	k "echo vfio-pci > $B/devices/0000:00:04.1/driver_override && echo 0000:00:04.1 > $B/drivers_probe"
	want_drv 0000:00:04.1 vfio-pci
	k "echo 1 > $P/sriov_drivers_autoprobe && echo 0000:00:04.2 > $B/drivers_probe"
	want_drv 0000:00:04.2 nvme
	k "echo 2 > $P/sriov_numvfs"
	[ "$RC" = 0 ] && fail "changing the count with VFs enabled succeeded (EBUSY expected)"
	k "echo 0 > $P/sriov_numvfs"
	[ -e "$B/devices/0000:00:04.1" ] && fail "VF still there after sriov_numvfs 0"
	[ -e "$P/virtfn0" ] && fail "virtfn0 still there"
	k "echo 4 > $P/sriov_numvfs"
	want_drv 0000:00:04.4 nvme	# autoprobe 1: the VFs' driver takes them as they appear
	k "echo 0 > $P/sriov_numvfs && echo 0000:00:04.0 > $P/driver/unbind && echo 1 > $P/sriov_numvfs"
	[ "$RC" = 0 ] && fail "VFs enabled on a PF without a driver"
	want_log 'sriov_numvfs 0000:00:04.0 = 1: no driver bound (ENOENT)'
}

s_outside_untouched() {
	fx
	: >"$T/plain"
	k "echo hello > $T/plain"
	[ "$(cat "$T/plain")" = hello ] || fail "write outside sys/ was not passed through"
	[ -e "$T/fakekernel.log" ] && fail "write outside sys/ was logged"
}

t "lspci (libpci linux-sysfs) reads the fixture: ids, class, subsystem, driver, iommu group" s_lspci
t "driver_override keeps the value up to the newline; empty or newline reads back (null)" s_override
t "unbind removes the driver link; drivers_probe binds the override driver with relative links" s_unbind_probe
t "drivers_probe without override binds the host driver" s_probe_host_without_override
t "drivers_probe with an override naming an unregistered driver binds nothing" s_probe_override_unregistered
t "bind: EBUSY when bound, ENODEV when the override does not match; unbind/probe ENODEV" s_bind_rules
t "vfio-pci refuses no iommu_group, bridges, SR-IOV PF with VFs; drivers_probe still succeeds" s_vfio_refusals
t "read-only attributes cannot be written, files cannot be created" s_readonly_attrs
t "fault injection: FAKE_RO, FAKE_UNBIND_EBUSY, FAKE_REFUSE, FAKE_HANG, FAKE_VANISH" s_faults
t "SR-IOV: sriov_numvfs makes VFs (virtfnN, physfn, groups), autoprobe 0 holds them for an override; ERANGE, EBUSY, ENOENT" s_sriov
t "paths outside SYSROOT/sys are passed through untouched" s_outside_untouched

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

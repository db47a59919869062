#!/bin/bash
# run.sh BINARY - integration tests: the real early-vfio binary on a fake sysfs.
#
# Each case builds a fresh tree with tests/fakesys/fakesys.sh in its own temp dir T, writes
# T/early-vfio.conf, runs  BINARY --sysroot T --config T/early-vfio.conf ARGS  with
# tests/fakesys/fakekernel.so preloaded (it plays the kernel: driver_override, unbind,
# drivers_probe, bind, vfio-pci refusals, injected faults; log in T/fakekernel.log), then checks
# the resulting sysfs state (driver links, driver_override), the exit code and key messages.
#
# Output: "PASS: <behaviour>" or "FAIL: <behaviour>: <why>" (followed by the binary's stderr),
# then exactly "N passed, N failed".  Exit 1 when any case failed.
# Env: FAKEKERNEL=path/to/fakekernel.so (default: tests/fakesys/fakekernel.so, built if missing),
#      KEEP=1 keeps the temp dirs, ONLY=substring runs the matching cases only.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 BINARY" >&2
	exit 1
fi
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
FAKESYS=$(cd "$HERE/../fakesys" && pwd)
# shellcheck source=tests/fakesys/fakesys.sh
. "$FAKESYS/fakesys.sh"

SHIM=${FAKEKERNEL:-$FAKESYS/fakekernel.so}
if [ ! -f "$SHIM" ] || [ "$FAKESYS/fakekernel.c" -nt "$SHIM" ]; then
	"${CC:-cc}" -Wall -Wextra -Werror -fPIC -shared -o "$SHIM" "$FAKESYS/fakekernel.c" -ldl || exit 1
fi
SHIM=$(realpath "$SHIM")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/early-vfio-it.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then
	trap 'rm -rf "$WORK"' EXIT
else
	echo "keeping $WORK" >&2
fi

PASSED=0
FAILED=0
T=''      # the case's sysroot
CONF=''   # its config file
RC=0      # exit code of the last run
WHY=''    # failure reasons of the current case
FAKE_ENV=() # extra environment for the next run (fault injection)

# --- fixture -------------------------------------------------------------------------------

# fx: fresh sysroot with the usual drivers registered
fx() {
	T=$(mktemp -d "$WORK/case.XXXXXX")
	CONF=$T/early-vfio.conf
	fs_init "$T"
	fs_driver "$T" ahci nvme vfio-pci
	FAKE_ENV=()
}

# conf LINE...: write the config file, one argument per line
conf() {
	printf '%s\n' "$@" >"$CONF"
	chmod 0644 "$CONF"
}

# ev ARGS...: run the binary on the case's sysroot; stdout in $T/.out, stderr in $T/.err
ev() {
	env "${FAKE_ENV[@]}" FAKE_SYSROOT="$T" LD_PRELOAD="$SHIM" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
		timeout -k 5 30 "$BIN" --sysroot "$T" --config "$CONF" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	if [ "$RC" -ge 124 ]; then
		fail "'$*' crashed or hung (exit $RC)"
	fi
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/.err"; then
		fail "'$*': sanitizer report"
	fi
}

# snap FILE: every path, type, link target and file checksum under sys/
snap() {
	(
		cd "$T" || exit 1
		find sys -printf '%p %y %l\n' | sort
		find sys -type f -exec md5sum {} + | sort
	) >"$1"
}

# --- assertions ----------------------------------------------------------------------------

fail() {
	WHY+="${WHY:+; }$*"
}

drv_of() {
	local l="$T/sys/bus/pci/devices/$1"
	if [ ! -e "$l" ]; then
		echo gone
	elif [ -e "$l/driver" ]; then
		basename "$(readlink "$l/driver")"
	else
		echo none
	fi
}

override_of() {
	local f="$T/sys/bus/pci/devices/$1/driver_override"
	if [ -e "$f" ]; then head -n 1 "$f"; else echo gone; fi
}

want_rc() {
	local w
	for w in "$@"; do
		[ "$RC" = "$w" ] && return 0
	done
	fail "exit $RC, expected $*"
}

want_driver() {
	local got
	got=$(drv_of "$1")
	[ "$got" = "$2" ] || fail "$1 on driver '$got', expected '$2'"
}

want_override() {
	local got
	got=$(override_of "$1")
	[ "$got" = "$2" ] || fail "$1 driver_override '$got', expected '$2'"
}

# want_host BDF DRV: back on (or still on) its host driver, override cleared
want_host() {
	want_driver "$1" "$2"
	want_override "$1" "(null)"
}

# want_target BDF: on vfio-pci, with the override that keeps it there
want_target() {
	want_driver "$1" vfio-pci
	want_override "$1" vfio-pci
	[ -L "$T/sys/bus/pci/drivers/vfio-pci/$1" ] || fail "no drivers/vfio-pci/$1 link"
}

want_err() {
	grep -qF -- "$1" "$T/.err" || fail "stderr lacks '$1'"
}

want_out_or_err() {
	cat "$T/.out" "$T/.err" | grep -qiE -- "$1" || fail "output lacks /$1/"
}

want_log() {
	grep -qF -- "$1" "$T/fakekernel.log" 2>/dev/null || fail "fake kernel saw no '$1'"
}

want_no_log() {
	if grep -qF -- "$1" "$T/fakekernel.log" 2>/dev/null; then
		fail "fake kernel saw '$(grep -F -- "$1" "$T/fakekernel.log" | head -n 1)'"
	fi
}

want_no_writes() {
	if [ -s "$T/fakekernel.log" ]; then
		fail "sysfs was written: $(head -n 1 "$T/fakekernel.log")"
	fi
}

# want_log_order ERE...: lines matching these extended regexps appear in this order
want_log_order() {
	local prev=0 n s
	for s in "$@"; do
		n=$(grep -nE -- "$s" "$T/fakekernel.log" 2>/dev/null | cut -d: -f1 |
			awk -v p="$prev" '$1 > p { print; exit }')
		if [ -z "$n" ]; then
			fail "fake kernel saw no /$s/$( [ "$prev" -gt 0 ] && echo " after line $prev")"
			return
		fi
		prev=$n
	done
}

# --- runner --------------------------------------------------------------------------------

t() {
	local name=$1 fn=$2
	if [ -n "${ONLY:-}" ] && [[ $name != *"$ONLY"* ]]; then
		return
	fi
	WHY=''
	T=''
	"$fn"
	if [ -z "$WHY" ]; then
		echo "PASS: $name"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL: $name: $WHY"
		FAILED=$((FAILED + 1))
		if [ -n "$T" ] && [ -s "$T/.err" ]; then
			head -n 12 "$T/.err" | sed 's/^/    | /'
		fi
	fi
}

# evs ARGS...: like ev but with EARLY_VFIO_SYSROOT instead of --sysroot
evs() {
	env "${FAKE_ENV[@]}" FAKE_SYSROOT="$T" LD_PRELOAD="$SHIM" EARLY_VFIO_SYSROOT="$T" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		timeout -k 5 30 "$BIN" --config "$CONF" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	[ "$RC" -ge 124 ] && fail "'$*' crashed or hung (exit $RC)"
}

# --- cases ---------------------------------------------------------------------------------

c_twins_by_address() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_host 0000:04:00.0 ahci
	want_no_log 0000:04:00.0
	want_err 'early-vfio: 0000:03:00.0 [8086:2922] ahci -> vfio-pci (sata-passthrough)'
}

c_address_without_domain() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	conf '[sata-passthrough]' 'address = 04:00.0'
	ev bind
	want_rc 0
	want_target 0000:04:00.0
	want_host 0000:03:00.0 ahci
}

c_unbind_host_then_bind() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata-passthrough]' 'ids = 8086:2922'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	[ -e "$T/sys/bus/pci/drivers/ahci/0000:03:00.0" ] && fail "still listed under drivers/ahci"
	want_log_order '^driver_override 0000:03:00\.0 = vfio-pci$' '^unbind 0000:03:00\.0 from ahci$' \
		'^drivers_probe 0000:03:00\.0: bound to vfio-pci$'
}

c_unbound_device_bound() {
	fx
	fs_dev "$T" 0000:03:00.0 --unbound
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_no_log 'unbind'
}

c_unbind_no_keeps_host() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[options]' 'unbind = no' '' '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	# not bound as asked: 64 by the contract; 0 would also be defensible (it obeyed the config)
	want_rc 64 0
	want_host 0000:03:00.0 ahci
	want_no_log 'unbind'
	want_err '0000:03:00.0'
}

c_unbind_no_binds_unbound() {
	fx
	fs_dev "$T" 0000:03:00.0 --unbound
	conf '[options]' 'unbind = no' '' '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
}

c_idempotent() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	cp "$T/fakekernel.log" "$T/.log1" 2>/dev/null || : >"$T/.log1"
	snap "$T/.snap1"
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	cmp -s "$T/.log1" "$T/fakekernel.log" || fail "second run wrote: $(diff "$T/.log1" "$T/fakekernel.log" 2>&1 | grep '^>' | head -n 1)"
	snap "$T/.snap2"
	cmp -s "$T/.snap1" "$T/.snap2" || fail "second run changed the sysfs tree"
	want_err 'early-vfio: 0000:03:00.0 [8086:2922] already on vfio-pci (sata-passthrough)'
}

c_absent_device() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata-passthrough]' 'address = 0000:09:00.0'
	snap "$T/.snap1"
	ev bind
	want_rc 0
	want_no_writes
	snap "$T/.snap2"
	cmp -s "$T/.snap1" "$T/.snap2" || fail "bind changed the sysfs tree"
	ev check
	want_rc 0
	want_out_or_err 'sata-passthrough'
	want_out_or_err 'warn|nothing|no device|no match|matches no|selects no'
}

c_override_unwritable() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0 0000:04:00.0'
	FAKE_ENV=(FAKE_RO=sys/devices/pci0000:00/0000:03:00.0/driver_override)
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_no_log 'unbind 0000:03:00.0'
	want_target 0000:04:00.0
	want_err '0000:03:00.0'
}

c_probe_refused_gives_back() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	FAKE_ENV=(FAKE_REFUSE=vfio-pci:0000:03:00.0)
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	[ -L "$T/sys/bus/pci/drivers/ahci/0000:03:00.0" ] || fail "not listed under drivers/ahci"
	want_log_order '^unbind 0000:03:00\.0 from ahci$' '^drivers_probe 0000:03:00\.0: vfio-pci probe failed' \
		'^driver_override 0000:03:00\.0 = \(null\)$' \
		'^(drivers_probe 0000:03:00\.0: bound to ahci|bind ahci 0000:03:00\.0: bound)$'
	want_err '0000:03:00.0'
	grep '0000:03:00.0' "$T/.err" | grep -q ahci || fail "stderr does not say 0000:03:00.0 went back to ahci"
}

c_config_errors_bind_nothing() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:01:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	conf '[sata-passthrough]' 'address = 0000:03:00.0' '' '[nvme]' 'adress = 0000:01:00.0'
	snap "$T/.snap1"
	ev bind
	want_rc 2
	want_err "early-vfio: $CONF:5: unknown key 'adress' (did you mean 'address'?)"
	want_no_writes
	want_host 0000:03:00.0 ahci
	snap "$T/.snap2"
	cmp -s "$T/.snap1" "$T/.snap2" || fail "bind changed the sysfs tree"
}

# other invalid configs: each binds nothing, exit 2
bad_conf() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf "$@"
	ev bind
	want_rc 2
	want_no_writes
	want_host 0000:03:00.0 ahci
	grep -qF "$CONF:" "$T/.err" || fail "no '$CONF:<line>' in the error"
}
c_bad_ids() { bad_conf '[s]' 'address = 0000:03:00.0' '[t]' 'ids = 8086:29zz'; }
c_bad_address() { bad_conf '[s]' 'address = 0000:03:00.0' '[t]' 'address = 0000:03:00.9'; }
c_empty_section() { bad_conf '[s]' 'address = 0000:03:00.0' '[t]'; }
c_duplicate_section() { bad_conf '[s]' 'address = 0000:03:00.0' '[s]' 'ids = 8086:2922'; }
c_long_line() {
	local long
	long=$(printf '8086:2922 %.0s' $(seq 60))
	bad_conf '[s]' 'address = 0000:03:00.0' '[t]' "ids = $long"
}
c_non_utf8() { bad_conf '[s]' 'address = 0000:03:00.0' '[t]' $'ids = 8086:2922\xff\xfe'; }

c_dry_run() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	snap "$T/.snap1"
	ev --dry-run bind
	want_rc 0
	want_no_writes
	snap "$T/.snap2"
	cmp -s "$T/.snap1" "$T/.snap2" || fail "dry run changed the sysfs tree"
	want_host 0000:03:00.0 ahci
	want_out_or_err '0000:03:00.0'
}

c_target_driver_missing() {
	T=$(mktemp -d "$WORK/case.XXXXXX")
	CONF=$T/early-vfio.conf
	FAKE_ENV=()
	fs_init "$T"
	fs_driver "$T" ahci
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	conf '[sata-passthrough]' 'ids = 8086:2922'
	snap "$T/.snap1"
	ev bind
	[ "$RC" = 0 ] && fail "exit 0 although vfio-pci is not available"
	want_no_writes
	snap "$T/.snap2"
	cmp -s "$T/.snap1" "$T/.snap2" || fail "a device was touched"
	want_host 0000:03:00.0 ahci
	want_host 0000:04:00.0 ahci
	want_err 'vfio-pci'
}

c_unbind_ebusy() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0 0000:04:00.0'
	FAKE_ENV=(FAKE_UNBIND_EBUSY=0000:03:00.0)
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_log 'unbind 0000:03:00.0 from ahci: EBUSY'
	want_target 0000:04:00.0
	want_err '0000:03:00.0'
}

c_vanish() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0 0000:04:00.0'
	FAKE_ENV=(FAKE_VANISH=0000:03:00.0)
	ev bind
	want_log 'vanish 0000:03:00.0'
	want_rc 64
	want_driver 0000:03:00.0 gone
	want_target 0000:04:00.0
	want_err '0000:03:00.0'
}

c_probe_hang_time_bound() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	FAKE_ENV=(FAKE_HANG=vfio-pci:0000:03:00.0 FAKE_HANG_SECS=25)
	local start=$SECONDS
	ev --timeout 2 bind
	want_log 'hanging (FAKE_HANG)'
	[ $((SECONDS - start)) -le 10 ] || fail "took $((SECONDS - start))s with --timeout 2"
	[ "$RC" = 0 ] && fail "exit 0 although the bind did not finish"
	want_err 'time limit'
}

c_no_iommu_group() {
	fx
	fs_dev "$T" 0000:03:00.0 --group none
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_no_writes
	grep '0000:03:00.0' "$T/.err" | grep -qi iommu || fail "no reason naming the IOMMU group for 0000:03:00.0"
}

c_bridge_not_bound() {
	fx
	fs_dev "$T" 0000:00:1c.0 --ids 8086:a110 --class 060400 --driver pcieport
	fs_dev "$T" 0000:03:00.0
	conf '[everything]' 'address = 00:1c.0 03:00.0'
	ev bind
	[ "$RC" = 0 ] && fail "exit 0 although a selected bridge was not bound"
	want_host 0000:00:1c.0 pcieport
	want_no_log '0000:00:1c.0'
	want_err '0000:00:1c.0'
	want_target 0000:03:00.0
}

c_sriov_pf_not_bound() {
	fx
	fs_dev "$T" 0000:05:00.0 --ids 8086:1521 --class 020000 --driver igb --sriov 7:2
	conf '[nic]' 'address = 0000:05:00.0'
	ev bind
	want_rc 64
	want_host 0000:05:00.0 igb
	want_no_log '0000:05:00.0'
	want_err '0000:05:00.0'
}

c_subsystem_ids() {
	fx
	fs_dev "$T" 0000:03:00.0 --subsys 8086:5044
	fs_dev "$T" 0000:04:00.0 --subsys 1028:0123
	conf '[sata-passthrough]' 'ids = 8086:2922:1028:0123'
	ev bind
	want_rc 0
	want_target 0000:04:00.0
	want_host 0000:03:00.0 ahci
}

c_class_prefix() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:01:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	conf '[nvme]' 'class = 0108'
	ev bind
	want_rc 0
	want_target 0000:01:00.0
	want_host 0000:03:00.0 ahci
	want_err 'early-vfio: 0000:01:00.0 [144d:a808] nvme -> vfio-pci (nvme)'
}

c_function_wildcard() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:03:00.1 --group 1
	fs_dev "$T" 0000:04:00.0
	conf '[slot3]' 'address = 03:00.*'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_target 0000:03:00.1
	want_host 0000:04:00.0 ahci
}

c_function_exact() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:03:00.1 --group 1
	conf '[fn1]' 'address = 03:00.1'
	ev bind
	want_rc 0
	want_target 0000:03:00.1
	want_host 0000:03:00.0 ahci
	want_no_log '0000:03:00.0'
}

c_on_target_without_override() {
	fx
	fs_dev "$T" 0000:03:00.0 --bound-to vfio-pci
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_no_log 'unbind'
	want_no_log 'drivers_probe'
}

c_status_json() {
	fx
	fs_dev "$T" 0000:03:00.0 --group 7
	fs_dev "$T" 0000:04:00.0 --group 8
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_target 0000:03:00.0
	ev status --json
	want_rc 0
	python3 -m json.tool "$T/.out" >/dev/null 2>&1 || fail "status --json is not valid JSON"
	python3 - "$T/.out" 2>/dev/null <<'EOF' || fail "JSON has no object for 0000:03:00.0 with vfio-pci, iommu group 7 and section sata-passthrough"
import json, sys

def values(o):
    if isinstance(o, dict):
        for k, v in o.items():
            yield k
            yield from values(v)
    elif isinstance(o, list):
        for v in o:
            yield from values(v)
    else:
        yield o

def objects(o):
    if isinstance(o, dict):
        yield o
        for v in o.values():
            yield from objects(v)
    elif isinstance(o, list):
        for v in o:
            yield from objects(v)

doc = json.load(open(sys.argv[1]))
for obj in objects(doc):
    vals = [str(v) for v in values(obj)]
    if any(v in ("0000:03:00.0", "03:00.0") for v in vals) and not any("04:00.0" in v for v in vals):
        if "vfio-pci" in vals and "7" in vals and "sata-passthrough" in vals:
            sys.exit(0)
sys.exit(1)
EOF
}

c_release() {
	fx
	fs_dev "$T" 0000:03:00.0 --bound-to vfio-pci --override vfio-pci
	fs_dev "$T" 0000:04:00.0 --bound-to vfio-pci --override vfio-pci
	conf '[sata-passthrough]' 'address = 0000:03:00.0 0000:04:00.0'
	ev release 0000:03:00.0
	want_rc 0
	want_host 0000:03:00.0 ahci
	[ -L "$T/sys/bus/pci/drivers/ahci/0000:03:00.0" ] || fail "not listed under drivers/ahci"
	want_target 0000:04:00.0
	want_no_log '0000:04:00.0'
}

# release with no argument: a device whose /dev/vfio/GROUP a process holds open (a running VM) is
# skipped and named; the others are released; named, it is released as asked
c_release_skips_held_group() {
	fx
	fs_dev "$T" 0000:03:00.0 --bound-to vfio-pci --override vfio-pci --group 7
	fs_dev "$T" 0000:04:00.0 --bound-to vfio-pci --override vfio-pci --group 8
	mkdir -p "$T/proc/4242/fd" "$T/proc/77/fd"
	ln -s /dev/vfio/vfio "$T/proc/4242/fd/5"
	ln -s /dev/vfio/7 "$T/proc/4242/fd/6"
	ln -s /dev/vfio/70 "$T/proc/77/fd/3"
	printf 'qemu-system-x86\n' >"$T/proc/4242/comm"
	conf '[sata-passthrough]' 'address = 0000:03:00.0 0000:04:00.0'
	ev release
	want_rc 0
	want_target 0000:03:00.0
	want_no_log '0000:03:00.0'
	want_host 0000:04:00.0 ahci
	want_err '0000:03:00.0: skipped: /dev/vfio/7 is open in process 4242 (qemu-system-x86)'
	ev release 03:00.0
	want_rc 0
	want_host 0000:03:00.0 ahci
}

c_status_text() {
	fx
	fs_dev "$T" 0000:03:00.0 --bound-to vfio-pci --override vfio-pci --group 7
	fs_dev "$T" 0000:04:00.0 --group 8
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev status
	want_rc 0
	grep -q '03:00.0 .*\[8086:2922\]' "$T/.out" || fail "no lspci-like line for 03:00.0"
	grep -qF 'Kernel driver in use: vfio-pci' "$T/.out" || fail "no 'Kernel driver in use: vfio-pci'"
	grep -qE 'IOMMU group:? 7' "$T/.out" || fail "no 'IOMMU group: 7'"
	grep -qF 'sata-passthrough' "$T/.out" || fail "matched section not shown"
	grep -qF '04:00.0' "$T/.out" && fail "unselected 04:00.0 listed without -a"
	ev status -a
	want_rc 0
	grep -qF '04:00.0' "$T/.out" || fail "status -a does not list 04:00.0"
	want_no_writes
}

c_sysroot_env() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	evs bind
	want_rc 0
	want_target 0000:03:00.0
	want_host 0000:04:00.0 ahci
}

c_bad_sysroot_no_host_fallback() {
	fx
	rm -rf "$T/sys"
	conf '[storage]' 'class = 01'
	# status only reads: safe even if the binary wrongly fell back to the host's /sys
	ev status -a
	[ "$RC" = 0 ] && fail "status on a sysroot without sys/bus/pci exits 0"
	grep -q '^[0-9a-f]\{4\}:' "$T/.out" && fail "listed devices that are not in the sysroot: $(head -n 1 "$T/.out")"
	want_err "$T"
}

c_other_target_driver() {
	fx
	fs_driver "$T" pci-stub
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	conf '[options]' 'driver = pci-stub' '' '[stub]' 'address = 0000:03:00.0'
	ev bind
	want_rc 0
	want_driver 0000:03:00.0 pci-stub
	want_override 0000:03:00.0 pci-stub
	want_host 0000:04:00.0 ahci
	want_err 'early-vfio: 0000:03:00.0 [8086:2922] ahci -> pci-stub (stub)'
}

c_iommu_off() {
	fx
	fs_dev "$T" 0000:03:00.0 --group none
	fs_dev "$T" 0000:04:00.0 --group none
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev check
	want_out_or_err 'intel_iommu=on'
	ev bind
	want_rc 64
	want_no_writes
	want_host 0000:03:00.0 ahci
}

c_cmdline_off() {
	fx
	fs_dev "$T" 0000:03:00.0
	printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro early-vfio=off quiet\n' >"$T/proc/cmdline"
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev boot
	want_rc 0
	want_no_writes
	want_host 0000:03:00.0 ahci
	want_err 'early-vfio=off'
}

c_cmdline_skip() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:01:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro early-vfio.skip=sata quiet\n' >"$T/proc/cmdline"
	conf '[sata]' 'address = 0000:03:00.0' '' '[nvme]' 'class = 0108'
	ev boot
	want_rc 0
	want_host 0000:03:00.0 ahci
	want_no_log '0000:03:00.0'
	want_target 0000:01:00.0
}

c_release_dry_run() {
	fx
	fs_dev "$T" 0000:03:00.0 --bound-to vfio-pci --override vfio-pci
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev --dry-run release 0000:03:00.0
	want_rc 0
	want_no_writes
	want_target 0000:03:00.0
	want_out_or_err '0000:03:00.0'
}

c_missing_config() {
	fx
	fs_dev "$T" 0000:03:00.0
	CONF=$T/does-not-exist.conf
	ev bind
	want_rc 0
	want_err "early-vfio: $CONF: not found, nothing to do"
	want_no_writes
	ev check
	[ "$RC" = 0 ] && fail "check exits 0 without a config"
}

c_garbage_vendor() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	fs_attr "$T" 0000:04:00.0 vendor $'zzzz\n'
	conf '[sata-passthrough]' 'ids = 8086:2922'
	ev bind
	want_rc 0 64
	want_target 0000:03:00.0
	want_host 0000:04:00.0 ahci
	want_no_log '0000:04:00.0'
}

c_garbage_class_selected_by_address() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	fs_attr "$T" 0000:04:00.0 class $'\xff\xfe garbage'
	conf '[sata-passthrough]' 'address = 0000:04:00.0'
	ev bind
	want_host 0000:03:00.0 ahci
	want_no_log '0000:03:00.0'
	# the address still names it: either taken (exit 0) or left on ahci with a reason (exit 64)
	if [ "$(drv_of 0000:04:00.0)" = vfio-pci ]; then
		want_override 0000:04:00.0 vfio-pci
		want_rc 0
	else
		want_host 0000:04:00.0 ahci
		want_rc 64
		want_err '0000:04:00.0'
	fi
}

c_missing_vendor() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_dev "$T" 0000:04:00.0
	rm "$T/sys/devices/pci0000:00/0000:04:00.0/vendor"
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_no_log '0000:04:00.0'
	want_host 0000:04:00.0 ahci
	if [ "$(drv_of 0000:03:00.0)" != vfio-pci ]; then
		want_host 0000:03:00.0 ahci
		[ "$RC" = 0 ] && fail "exit 0 although the selected device was not bound"
	fi
}

c_dangling_driver_link() {
	fx
	fs_dev "$T" 0000:03:00.0 --bound-to gone
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
}

c_kmsg() {
	fx
	fs_dev "$T" 0000:03:00.0
	: >"$T/dev/kmsg"
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_rc 0
	grep -qF 'early-vfio: 0000:03:00.0 [8086:2922] ahci -> vfio-pci (sata-passthrough)' "$T/dev/kmsg" ||
		fail "the device line is not in SYSROOT/dev/kmsg"
}

c_no_ro_writes() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev bind
	want_target 0000:03:00.0
	want_no_log 'EACCES'
}

# --- the running system: protected devices -------------------------------------------------

# want_line_in FILE NAME STR...: one line of $T/FILE (NAME in the message) holds every STR
want_line_in() {
	local file=$1 name=$2 s lines
	shift 2
	lines=$(cat "$T/$file")
	for s in "$@"; do
		lines=$(grep -F -- "$s" <<<"$lines")
	done
	[ -n "$lines" ] || fail "no $name line with all of: $*"
}

# want_err_line STR... / want_out_line STR...: one stderr / stdout line holds every STR
want_err_line() { want_line_in .err stderr "$@"; }
want_out_line() { want_line_in .out stdout "$@"; }

# sata_disk BDF N NAME MAJ:MIN: a SATA disk NAME on port N of the AHCI controller BDF
sata_disk() {
	fs_block "$T" "$3" "$4" "pci0000:00/$1/ata$2/host$(($2 - 1))/target$(($2 - 1)):0:0/$(($2 - 1)):0:0:0/block/$3"
}

# sata_part DISK N MAJ:MIN: partition N of DISK
sata_part() {
	local d
	d=$(readlink "$T/sys/class/block/$1")
	fs_block "$T" "$1$2" "$3" "${d#../../devices/}/$1$2"
}

# root on sda1, sda on the AHCI controller 00:1f.2
ahci_root() {
	fs_dev "$T" 0000:00:1f.2
	sata_disk 0000:00:1f.2 1 sda 8:0
	sata_part sda 1 8:1
	fs_mount "$T" / 8:1 ext4 /dev/sda1
}

c_protect_root_ahci() {
	fx
	ahci_root
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'address = 00:1f.2 03:00.0'
	ev bind
	want_rc 64
	want_host 0000:00:1f.2 ahci
	want_no_log '0000:00:1f.2'
	want_target 0000:03:00.0
	want_err_line '0000:00:1f.2' '/ (root)' '/dev/sda1' 'sata'
	ev check
	want_rc 2
	want_err_line '0000:00:1f.2' '/ (root)' '[sata]'
}

c_protect_allow_system() {
	fx
	ahci_root
	conf '[sata]' 'address = 00:1f.2' 'allow-system-device = yes'
	ev check
	want_rc 0
	ev bind
	want_rc 0
	want_target 0000:00:1f.2
	want_err_line '0000:00:1f.2' '/ (root)' 'allow-system-device'
}

c_protect_allow_is_per_section() {
	fx
	ahci_root
	fs_dev "$T" 0000:03:00.0
	conf '[other]' 'address = 03:00.0' 'allow-system-device = yes' '' '[sata]' 'address = 00:1f.2'
	ev bind
	want_rc 64
	want_host 0000:00:1f.2 ahci
	want_target 0000:03:00.0
}

c_protect_root_by_devnum() {
	fx
	fs_dev "$T" 0000:00:1f.2
	sata_disk 0000:00:1f.2 1 sda 8:0
	sata_part sda 2 8:2
	# a kernel-mounted root shows as /dev/root, which is no node: only MAJ:MIN finds it
	fs_mount "$T" / 8:2 ext4 /dev/root
	conf '[sata]' 'address = 00:1f.2'
	ev bind
	want_rc 64
	want_host 0000:00:1f.2 ahci
	want_no_writes
	want_err_line '0000:00:1f.2' '/ (root)'
}

# root on LVM (dm-0) on dm-crypt (dm-1) on nvme0n1p3, NVMe controller 04:00.0
c_protect_lvm_crypt_nvme() {
	fx
	local p=pci0000:00/0000:04:00.0/nvme/nvme0/nvme0n1
	fs_dev "$T" 0000:04:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	fs_dev "$T" 0000:05:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	fs_block "$T" nvme0n1 259:0 "$p"
	fs_block "$T" nvme0n1p3 259:3 "$p/nvme0n1p3"
	fs_block "$T" dm-1 253:1 virtual/block/dm-1 nvme0n1p3
	fs_block "$T" dm-0 253:0 virtual/block/dm-0 dm-1
	fs_link "$T" dev/mapper/nvme0n1p3_crypt ../dm-1
	fs_link "$T" dev/mapper/pve-root ../dm-0
	fs_mount "$T" / 253:0 ext4 /dev/mapper/pve-root
	conf '[nvme]' 'class = 0108'
	ev bind
	want_rc 64
	want_host 0000:04:00.0 nvme
	want_no_log '0000:04:00.0'
	want_target 0000:05:00.0
	want_err_line '0000:04:00.0' '/ (root)' '/dev/mapper/pve-root'
	ev protected
	want_rc 0
	grep -qxF $'0000:04:00.0\t/ (root) (/dev/mapper/pve-root)' "$T/.out" ||
		fail "protected does not list 0000:04:00.0 for / through LVM and dm-crypt"
	grep -qF '0000:05:00.0' "$T/.out" && fail "protected lists 0000:05:00.0, which holds nothing"
}

# /boot on md0, a RAID1 of sda2 (00:1f.2) and sdc2 (06:00.0)
c_protect_md_raid1() {
	fx
	fs_dev "$T" 0000:00:1f.2
	fs_dev "$T" 0000:06:00.0 --ids 1b21:0612 --subsys 1b21:1060
	fs_dev "$T" 0000:03:00.0
	sata_disk 0000:00:1f.2 1 sda 8:0
	sata_part sda 2 8:2
	sata_disk 0000:06:00.0 1 sdc 8:32
	sata_part sdc 2 8:34
	fs_block "$T" md0 9:0 virtual/block/md0 sda2 sdc2
	fs_mount "$T" /boot 9:0 ext4 /dev/md0
	conf '[sata]' 'class = 0106'
	ev bind
	want_rc 64
	want_host 0000:00:1f.2 ahci
	want_host 0000:06:00.0 ahci
	want_no_log '0000:00:1f.2'
	want_no_log '0000:06:00.0'
	want_target 0000:03:00.0
	want_err_line '0000:00:1f.2' '/boot (/dev/md0)'
	want_err_line '0000:06:00.0' '/boot (/dev/md0)'
}

# swap on /dev/mapper/swap (dm-2) over sdd1 on 07:00.0; also a swap file
c_protect_swap_mapper() {
	fx
	fs_dev "$T" 0000:07:00.0
	fs_dev "$T" 0000:03:00.0
	sata_disk 0000:07:00.0 1 sdd 8:48
	sata_part sdd 1 8:49
	fs_block "$T" dm-2 253:2 virtual/block/dm-2 sdd1
	fs_link "$T" dev/mapper/swap ../dm-2
	fs_swap "$T" /swapfile file
	fs_swap "$T" /dev/mapper/swap
	conf '[sata]' 'address = 07:00.0 03:00.0'
	ev bind
	want_rc 64
	want_host 0000:07:00.0 ahci
	want_no_log '0000:07:00.0'
	want_target 0000:03:00.0
	want_err_line '0000:07:00.0' 'swap (/dev/mapper/swap)'
}

c_swap_file_not_a_device() {
	fx
	fs_dev "$T" 0000:03:00.0
	fs_swap "$T" /swapfile file
	fs_swap "$T" '/var/lib/swap file' file
	fs_swap "$T" /dev/zram0
	fs_block "$T" zram0 252:0 virtual/block/zram0
	conf '[sata]' 'address = 03:00.0'
	ev protected
	want_rc 0
	grep -q '^0000:' "$T/.out" && fail "protected lists a device for a swap file: $(grep '^0000:' "$T/.out")"
	ev bind
	want_rc 0
	want_target 0000:03:00.0
}

# native NVMe multipath: the disk hangs off nvme-subsys0, reached through 00:05.0 and 00:06.0
c_protect_nvme_multipath() {
	fx
	local s=virtual/nvme-subsystem/nvme-subsys0 b
	for b in 0000:00:05.0 0000:00:06.0 0000:08:00.0; do
		fs_dev "$T" "$b" --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	done
	mkdir -p "$T/sys/devices/pci0000:00/0000:00:05.0/nvme/nvme0" "$T/sys/devices/pci0000:00/0000:00:06.0/nvme/nvme1"
	fs_link "$T" "sys/devices/$s/nvme0" ../../../pci0000:00/0000:00:05.0/nvme/nvme0
	fs_link "$T" "sys/devices/$s/nvme1" ../../../pci0000:00/0000:00:06.0/nvme/nvme1
	fs_block "$T" nvme0n1 259:0 "$s/nvme0n1"
	fs_block "$T" nvme0n1p2 259:2 "$s/nvme0n1/nvme0n1p2"
	fs_mount "$T" / 259:2 xfs /dev/nvme0n1p2
	conf '[nvme]' 'class = 0108'
	ev bind
	want_rc 64
	want_host 0000:00:05.0 nvme
	want_host 0000:00:06.0 nvme
	want_no_log '0000:00:05.0'
	want_no_log '0000:00:06.0'
	want_target 0000:08:00.0
	want_err_line '0000:00:05.0' '/ (root)'
}

# ZFS root: rpool mirrors sdb3 (02:00.0) and nvme0n1p3 (04:00.0), named by-id as zpool prints them
zfs_root() {
	fs_dev "$T" 0000:02:00.0
	fs_dev "$T" 0000:04:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	fs_dev "$T" 0000:03:00.0
	sata_disk 0000:02:00.0 2 sdb 8:16
	sata_part sdb 3 8:19
	fs_block "$T" nvme0n1 259:0 pci0000:00/0000:04:00.0/nvme/nvme0/nvme0n1
	fs_block "$T" nvme0n1p3 259:3 pci0000:00/0000:04:00.0/nvme/nvme0/nvme0n1/nvme0n1p3
	fs_link "$T" dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_S6PUNX0T123456A-part3 ../../sdb3
	fs_link "$T" dev/disk/by-id/nvme-Samsung_SSD_980_PRO_1TB_S5GXNX0T654321B-part3 ../../nvme0n1p3
	fs_mount "$T" / 0:26 zfs rpool/ROOT/pve-1
	mkdir -p "$T/bin"
	cat >"$T/bin/zpool" <<'EOF'
#!/bin/sh
if [ "$*" != "status -P rpool" ]; then
	echo "zpool: unexpected arguments: $*" >&2
	exit 2
fi
cat <<'EOS'
  pool: rpool
 state: ONLINE
  scan: scrub repaired 0B in 00:01:12 with 0 errors on Sun Nov  8 00:25:13 2026
config:

	NAME                                                                STATE     READ WRITE CKSUM
	rpool                                                               ONLINE       0     0     0
	  mirror-0                                                          ONLINE       0     0     0
	    /dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_S6PUNX0T123456A-part3  ONLINE       0     0     0
	    /dev/disk/by-id/nvme-Samsung_SSD_980_PRO_1TB_S5GXNX0T654321B-part3  ONLINE       0     0     0

errors: No known data errors
EOS
EOF
	chmod 0755 "$T/bin/zpool"
}

c_protect_zfs() {
	fx
	zfs_root
	FAKE_ENV=(PATH="$T/bin:$PATH")
	conf '[storage]' 'address = 02:00.0 04:00.0 03:00.0'
	ev bind
	want_rc 64
	want_host 0000:02:00.0 ahci
	want_host 0000:04:00.0 nvme
	want_no_log '0000:02:00.0'
	want_no_log '0000:04:00.0'
	want_target 0000:03:00.0
	want_err_line '0000:02:00.0' '/ (root) (rpool/ROOT/pve-1)'
	ev check
	want_rc 2
	want_err_line '0000:04:00.0' '[storage]'
}

c_zfs_without_zpool() {
	fx
	zfs_root
	# a PATH with timeout but no zpool
	mkdir -p "$T/nozpool"
	ln -s "$(command -v timeout)" "$T/nozpool/timeout"
	FAKE_ENV=(PATH="$T/nozpool")
	conf '[storage]' 'address = 03:00.0'
	# the root pool's disks cannot be told: no storage controller is taken (issue 25: fail closed)
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_err_line '0000:03:00.0' 'storage controller' "'zpool status -P rpool' cannot be run"
	ev check
	want_out_or_err 'zpool'
	conf '[storage]' 'address = 03:00.0' 'allow-unrecorded = yes'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
}

# --- the list recorded in the image --------------------------------------------------------

c_recorded_list_refused() {
	fx
	fs_dev "$T" 0000:00:03.0
	fs_dev "$T" 0000:04:00.0
	mkdir -p "$T/etc"
	printf '# early-vfio: PCI devices that hold the running system\n0000:00:03.0\t/ (root) (/dev/sdb1)\n' \
		>"$T/etc/early-vfio.protected"
	conf '[sata]' 'address = 00:03.0 04:00.0'
	ev bind
	want_rc 64
	want_host 0000:00:03.0 ahci
	want_no_log '0000:00:03.0'
	want_target 0000:04:00.0
	want_err_line '0000:00:03.0' '/ (root) (/dev/sdb1)' 'sata'
	ev check
	want_rc 2
	want_err_line '0000:00:03.0' '[sata]'
}

c_protected_round_trip() {
	fx
	ahci_root
	fs_dev "$T" 0000:03:00.0
	ev protected
	want_rc 0
	[ "$(grep -v '^#' "$T/.out")" = $'0000:00:1f.2\t/ (root) (/dev/sda1)' ] ||
		fail "protected printed '$(grep -v '^#' "$T/.out" | head -n 3)', expected '0000:00:1f.2<TAB>/ (root) (/dev/sda1)'"
	# what the initramfs hook records, read back at boot when nothing is mounted
	mkdir -p "$T/etc"
	cp "$T/.out" "$T/etc/early-vfio.protected"
	head -n 4 "$T/proc/self/mountinfo" >"$T/.mi" && mv "$T/.mi" "$T/proc/self/mountinfo"
	ev protected
	grep -q '^0000:' "$T/.out" && fail "protected lists the recorded file, not only the live mounts"
	conf '[sata]' 'address = 00:1f.2 03:00.0'
	ev bind
	want_rc 64
	want_host 0000:00:1f.2 ahci
	want_target 0000:03:00.0
	want_err_line '0000:00:1f.2' '/ (root) (/dev/sda1)'
}

c_recorded_line_without_reason() {
	fx
	fs_dev "$T" 0000:00:03.0
	mkdir -p "$T/etc"
	# a long comment fills the line buffer; the last line has no reason and no newline
	{
		printf '# %s\n' "$(printf 'comment-text-%.0s' $(seq 25))"
		printf '0000:00:03.0'
	} >"$T/etc/early-vfio.protected"
	conf '[sata]' 'address = 00:03.0'
	ev bind
	want_rc 64
	want_host 0000:00:03.0 ahci
	want_no_writes
	grep -qF 'comment-text' "$T/.err" && fail "the reason shows text from another line: $(grep -F 'comment-text' "$T/.err" | head -n 1)"
}

# --- IOMMU group policy ----------------------------------------------------------------------

# group 5: the root port 00:1c.0, the selected SATA controller 03:00.0 and a USB controller 03:00.1
group_of_three() {
	fs_dev "$T" 0000:00:1c.0 --ids 8086:a110 --class 060400 --driver pcieport --group 5
	fs_dev "$T" 0000:03:00.0 --group 5
	fs_dev "$T" 0000:03:00.1 --ids 1b21:1242 --subsys 1043:8675 --class 0c0330 --driver xhci_hcd --group 5
	fs_dev "$T" 0000:04:00.0 --group 6
}

c_group_warn() {
	fx
	group_of_three
	conf '[options]' 'iommu-group = warn' '' '[sata]' 'address = 03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_host 0000:03:00.1 xhci_hcd
	want_no_log '0000:03:00.1'
	want_no_log '0000:00:1c.0'
	want_err_line '0000:03:00.0' 'group 5' '0000:03:00.1'
	grep 'group 5' "$T/.err" | grep -qF '00:1c.0' && fail "the root port is named as a device of the group to select"
	ev check
	want_out_or_err '0000:03:00.1'
}

c_group_warn_default() {
	fx
	group_of_three
	conf '[sata]' 'address = 03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_err_line 'group 5' '0000:03:00.1'
}

c_group_refuse() {
	fx
	group_of_three
	conf '[options]' 'iommu-group = refuse' '' '[sata]' 'address = 03:00.0 04:00.0'
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_host 0000:03:00.1 xhci_hcd
	want_no_log '0000:03:00.0'
	want_no_log '0000:03:00.1'
	want_target 0000:04:00.0
	want_err_line '0000:03:00.0' 'not bound' '0000:03:00.1'
}

c_group_refuse_complete() {
	fx
	group_of_three
	conf '[options]' 'iommu-group = refuse' '' '[sata]' 'address = 03:00.0' '' '[usb]' 'address = 03:00.1'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_target 0000:03:00.1
	want_host 0000:00:1c.0 pcieport
	want_no_log '0000:00:1c.0'
}

c_group_whole() {
	fx
	group_of_three
	conf '[options]' 'iommu-group = whole' '' '[sata]' 'address = 03:00.0'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_target 0000:03:00.1
	want_host 0000:00:1c.0 pcieport
	want_no_log '0000:00:1c.0'
	want_host 0000:04:00.0 ahci
	want_out_or_err '0000:03:00.1 joins 0000:03:00.0'
}

c_group_whole_protected_member() {
	fx
	fs_dev "$T" 0000:00:1c.0 --ids 8086:a110 --class 060400 --driver pcieport --group 5
	fs_dev "$T" 0000:03:00.0 --group 5
	fs_dev "$T" 0000:03:00.1 --group 5
	sata_disk 0000:03:00.1 1 sda 8:0
	sata_part sda 1 8:1
	fs_mount "$T" / 8:1 ext4 /dev/sda1
	conf '[options]' 'iommu-group = whole' '' '[sata]' 'address = 03:00.0'
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_host 0000:03:00.1 ahci
	want_no_writes
	want_err_line '0000:03:00.1' '/ (root)'
	want_err_line '0000:03:00.0' 'not bound' '0000:03:00.1'
}

# allow-system-device covers what the section selects itself, not a system disk's controller that
# would only join through the IOMMU group
c_group_whole_allow_does_not_cover_joined_member() {
	fx
	fs_dev "$T" 0000:03:00.0 --group 5
	fs_dev "$T" 0000:03:00.1 --group 5
	sata_disk 0000:03:00.1 1 sda 8:0
	sata_part sda 1 8:1
	fs_mount "$T" / 8:1 ext4 /dev/sda1
	conf '[options]' 'iommu-group = whole' '' '[sata]' 'address = 03:00.0' 'allow-system-device = yes'
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_host 0000:03:00.1 ahci
	want_no_writes
	want_err_line '0000:03:00.1' '/ (root)'
}

# the member is refused by vfio-pci's own rules, not by a protection: still no partial group
c_group_whole_sriov_member() {
	fx
	fs_dev "$T" 0000:03:00.0 --group 5
	fs_dev "$T" 0000:03:00.1 --ids 8086:1521 --subsys 8086:0001 --class 020000 --driver igb --sriov 7:2 --group 5
	conf '[options]' 'iommu-group = whole' '' '[sata]' 'address = 03:00.0'
	ev bind
	want_rc 64
	want_host 0000:03:00.0 ahci
	want_host 0000:03:00.1 igb
	want_no_writes
	want_err_line '0000:03:00.0' 'not bound' '0000:03:00.1'
}

c_group_status() {
	fx
	group_of_three
	conf '[options]' 'iommu-group = refuse' '' '[sata]' 'address = 03:00.0 04:00.0'
	ev status
	want_rc 0
	want_no_writes
	awk '/^0000:03:00.0 /,/^$/' "$T/.out" >"$T/.blk"
	grep -qE 'IOMMU group:? 5' "$T/.blk" || fail "no 'IOMMU group: 5' under 03:00.0"
	grep -i 'refused' "$T/.blk" | grep -qF '0000:03:00.1' || fail "03:00.0 shows no refusal naming 0000:03:00.1"
	awk '/^0000:04:00.0 /,/^$/' "$T/.out" | grep -qE 'IOMMU group:? 6' || fail "no 'IOMMU group: 6' under 04:00.0"
	awk '/^0000:04:00.0 /,/^$/' "$T/.out" | grep -qi 'refused' && fail "04:00.0 shown as refused"
	ev status --json
	want_rc 0
	python3 - "$T/.out" <<'EOF' || fail "status --json: iommu_group/refused wrong for 03:00.0 or 04:00.0"
import json, sys
devs = {d["address"]: d for d in json.load(open(sys.argv[1]))["devices"]}
a, b = devs["0000:03:00.0"], devs["0000:04:00.0"]
assert a["iommu_group"] == 5 and "0000:03:00.1" in a["refused"]
assert b["iommu_group"] == 6 and b["refused"] is None
EOF
}

# --- config ownership, kernel command line ----------------------------------------------------

# need_root: the ownership cases chown the config; as another user the binary also accepts its own files
need_root() {
	[ "$(id -u)" = 0 ] && return 0
	fail "needs root (to chown the config): run as root, as make check does"
	return 1
}

# bad_owner CHOWN CHMOD MESSAGE: check exits 2 with MESSAGE, bind binds nothing
bad_owner() {
	fx
	need_root || return
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'address = 03:00.0'
	chown "$1" "$CONF"
	chmod "$2" "$CONF"
	ev check
	want_rc 2
	want_err "$3"
	ev bind
	want_rc 2
	want_no_writes
	want_host 0000:03:00.0 ahci
	want_err "$3"
}
c_config_other_owner() { bad_owner 65534 0644 'must be owned by root'; }
c_config_world_writable() { bad_owner 0:0 0666 'writable by other users'; }
c_config_group_writable() { bad_owner 0:65534 0664 'writable by other users'; }

c_config_root_group_writable() {
	fx
	need_root || return
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'address = 03:00.0'
	chown 0:0 "$CONF"
	chmod 0664 "$CONF"
	ev bind
	want_rc 0
	want_target 0000:03:00.0
}

c_cmdline_no() {
	fx
	fs_dev "$T" 0000:03:00.0
	# last on the line, before the kernel's newline
	printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet early-vfio=no\n' >"$T/proc/cmdline"
	conf '[sata-passthrough]' 'address = 0000:03:00.0'
	ev boot
	want_rc 0
	want_no_writes
	want_host 0000:03:00.0 ahci
	want_err 'early-vfio='
}

t "identical controllers told apart by address: only the addressed one moves to vfio-pci" c_twins_by_address
t "address without domain selects the device in domain 0000" c_address_without_domain
t "device bound to ahci is overridden, unbound, then probed onto vfio-pci" c_unbind_host_then_bind
t "device with no driver is bound to vfio-pci without an unbind" c_unbound_device_bound
t "unbind = no leaves a host-bound device on ahci with its override cleared" c_unbind_no_keeps_host
t "unbind = no still binds a device that has no driver" c_unbind_no_binds_unbound
t "second bind run changes nothing and says already on vfio-pci" c_idempotent
t "selector matching no device: bind exits 0 writing nothing, check warns" c_absent_device
t "unwritable driver_override keeps the device on ahci, others still bound, exit 64" c_override_unwritable
t "vfio-pci refusing the device gives it back to ahci with override cleared, exit 64" c_probe_refused_gives_back
t "unknown key 'adress' names file:line and 'address', binds nothing, exit 2" c_config_errors_bind_nothing
t "malformed ids value binds nothing, exit 2" c_bad_ids
t "invalid address (function 9) binds nothing, exit 2" c_bad_address
t "empty section binds nothing, exit 2" c_empty_section
t "duplicate section binds nothing, exit 2" c_duplicate_section
t "config line over 198 bytes binds nothing, exit 2" c_long_line
t "non-UTF-8 bytes in a value bind nothing, exit 2" c_non_utf8
t "--dry-run prints the plan and writes nothing" c_dry_run
t "target driver missing: no device is touched, exit non-zero" c_target_driver_missing
t "unbind EBUSY keeps the device on ahci with override cleared, exit 64" c_unbind_ebusy
t "device vanishing between scan and bind: others still bound, exit 64" c_vanish
t "a driver stuck in probe: bind gives up after --timeout, exit non-zero" c_probe_hang_time_bound
t "device without iommu_group is refused with a reason and left on ahci" c_no_iommu_group
t "PCI bridge is never bound, even when selected" c_bridge_not_bound
t "SR-IOV PF with VFs enabled is not bound" c_sriov_pf_not_bound
t "ids with subsystem ids select only the matching subsystem" c_subsystem_ids
t "class prefix 0108 selects the NVMe controller only" c_class_prefix
t "function wildcard 03:00.* selects every function of the slot only" c_function_wildcard
t "address 03:00.1 selects that function only, not 03:00.0" c_function_exact
t "device already on vfio-pci without override keeps it and gets the override" c_on_target_without_override
t "status --json is valid JSON with the bound device, its iommu group and section" c_status_json
t "release 0000:03:00.0 gives that device back to ahci only" c_release
t "release with no argument skips a device whose /dev/vfio/N a process holds open (a running VM), and says so" c_release_skips_held_group
t "status lists the selected device like lspci -knn with IOMMU group and section; -a lists all" c_status_text
t "EARLY_VFIO_SYSROOT works like --sysroot" c_sysroot_env
t "sysroot without sys/bus/pci fails instead of listing the host's devices" c_bad_sysroot_no_host_fallback
t "[options] driver = pci-stub binds to pci-stub" c_other_target_driver
t "IOMMU off: check says intel_iommu=on, bind touches nothing, exit 64" c_iommu_off
t "early-vfio=off on the kernel command line binds nothing" c_cmdline_off
t "early-vfio.skip=sata on the kernel command line skips that section only" c_cmdline_skip
t "release --dry-run writes nothing" c_release_dry_run
t "missing config: bind exits 0 nothing to do, check fails" c_missing_config
t "garbage vendor attribute: no crash, that device is not taken" c_garbage_vendor
t "garbage class on the addressed device: no crash, nothing half-done" c_garbage_class_selected_by_address
t "missing vendor attribute on another device: no crash, nothing half-done" c_missing_vendor
t "dangling driver link counts as unbound and the device is bound" c_dangling_driver_link
t "device lines also go to SYSROOT/dev/kmsg" c_kmsg
t "no write to a read-only sysfs attribute is attempted" c_no_ro_writes

t "root on an AHCI partition: bind refuses its controller naming device, mount and section; check exits 2" c_protect_root_ahci
t "allow-system-device = yes takes the root controller with a warning" c_protect_allow_system
t "allow-system-device in another section does not release the root controller" c_protect_allow_is_per_section
t "root mounted as /dev/root is found by its MAJ:MIN and protected" c_protect_root_by_devnum
t "root on LVM over dm-crypt over NVMe: the NVMe controller is protected and listed" c_protect_lvm_crypt_nvme
t "/boot on md RAID1 across two controllers: both are protected" c_protect_md_raid1
t "swap on /dev/mapper/swap: the controller under the dm device is protected" c_protect_swap_mapper
t "a swap file or zram swap protects no PCI device and does not crash" c_swap_file_not_a_device
t "root on native NVMe multipath: every controller of the subsystem is protected" c_protect_nvme_multipath
t "ZFS root: the controllers of every vdev in zpool status -P are protected" c_protect_zfs
t "ZFS root without zpool: storage refused, naming the pool; taken with allow-unrecorded" c_zfs_without_zpool
t "recorded etc/early-vfio.protected, no mounts: bind refuses the listed device, check exits 2" c_recorded_list_refused
t "protected prints BDF<TAB>reason of the live mounts; that list read back at boot protects" c_protected_round_trip
t "recorded line with no reason and no newline: protected, no text from other lines" c_recorded_line_without_reason
t "iommu-group = warn binds and names the unselected endpoint, not the root port" c_group_warn
t "iommu-group defaults to warn" c_group_warn_default
t "iommu-group = refuse leaves a partial group alone, exit 64, naming the other device" c_group_refuse
t "iommu-group = refuse binds a group whose endpoints are all selected, never its root port" c_group_refuse_complete
t "iommu-group = whole binds every endpoint of the group, never its root port" c_group_whole
t "iommu-group = whole with a protected member binds no member of the group" c_group_whole_protected_member
t "allow-system-device does not cover a system device that only joins through its IOMMU group" c_group_whole_allow_does_not_cover_joined_member
t "iommu-group = whole with a member vfio-pci refuses (SR-IOV PF) binds no member of the group" c_group_whole_sriov_member
t "status shows each device's IOMMU group and a refused device's reason; --json iommu_group and refused" c_group_status
t "config owned by another uid: check exits 2 'must be owned by root', bind binds nothing" c_config_other_owner
t "config mode 0666: check exits 2 'writable by other users', bind binds nothing" c_config_world_writable
t "config group-writable by a non-root group: refused like 0666" c_config_group_writable
t "config group-writable by group root is accepted" c_config_root_group_writable
t "early-vfio=no on the kernel command line binds nothing, like early-vfio=off" c_cmdline_no

# shellcheck source=tests/integration/cases-serial.sh disable=SC1091 # followed with -x (make check-lint)
. "$HERE/cases-serial.sh"
# shellcheck source=tests/integration/cases-initramfs.sh disable=SC1091 # followed with -x (make check-lint)
. "$HERE/cases-initramfs.sh"
# shellcheck source=tests/integration/cases-pipeline.sh disable=SC1091 # followed with -x (make check-lint)
. "$HERE/cases-pipeline.sh"
# shellcheck source=tests/integration/cases-boot.sh disable=SC1091 # followed with -x (make check-lint)
. "$HERE/cases-boot.sh"
# shellcheck source=tests/integration/cases-protect.sh disable=SC1091 # followed with -x (make check-lint)
. "$HERE/cases-protect.sh"
# shellcheck source=tests/integration/cases-workflow.sh disable=SC1091 # followed with -x (make check-lint)
. "$HERE/cases-workflow.sh"
# shellcheck source=tests/integration/cases-pve.sh disable=SC1091 # followed with -x (make check-lint)
. "$HERE/cases-pve.sh"
# shellcheck source=tests/integration/cases-sriov.sh disable=SC1091 # followed with -x (make check-lint)
. "$HERE/cases-sriov.sh"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

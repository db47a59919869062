# shellcheck shell=bash
# Sourced by run.sh: NVMe serial / model selectors and PCIe Device Serial Numbers.
#
# The fake sysroot has no dev/vfio, so method 1 (Identify through VFIO) fails as it does on a
# host without /dev/vfio, and every candidate is identified by method 2: the nvme driver takes
# it (fakekernel.so makes nvme/nvme0/{state,serial,model} from fs_nvme's data) and the match is
# moved to vfio-pci.  Method 1 itself needs a kernel: tests/vm proves it on a real boot.

# Two NVMe controllers with the same vendor:device (1b36:0010), serials SN-A (03:00.0) and SN-B
# (04:00.0), and an AHCI controller (00:1f.2) that no serial selector may touch.  With "boot"
# they have no driver yet (before udev); with "host" both are on nvme already.
nvme_twins() {
	local state=$1 opt=(--unbound)
	[ "$state" = host ] && opt=()
	fs_dev "$T" 0000:00:1f.2
	fs_dev "$T" 0000:03:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme "${opt[@]}"
	fs_dev "$T" 0000:04:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme "${opt[@]}"
	fs_nvme "$T" 0000:03:00.0 SN-A "Fake NVMe 1TB"
	fs_nvme "$T" 0000:04:00.0 SN-B "Fake NVMe 1TB"
}

c_serial_picks_one_twin_at_boot() {
	fx
	nvme_twins boot
	conf '[drive-b]' 'serial = SN-B'
	ev bind
	want_rc 0
	want_target 0000:04:00.0
	want_host 0000:03:00.0 nvme
	want_driver 0000:00:1f.2 ahci
	want_no_log '0000:00:1f.2'
	want_err_line '0000:04:00.0' 'nvme -> vfio-pci (drive-b)' 'serial SN-B (read from the nvme driver)'
	# why method 1 did not run is said once per device
	want_err_line '0000:03:00.0' 'through VFIO' '/dev/vfio/vfio'
}

c_serial_on_host_driver() {
	fx
	nvme_twins host
	conf '[drive-a]' 'serial = SN-A'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_host 0000:04:00.0 nvme
	# the other twin is read from sysfs, never written
	want_no_log '0000:04:00.0'
	want_err_line '0000:03:00.0' 'nvme -> vfio-pci (drive-a)' 'read from the nvme driver'
}

c_serial_padding_trimmed() {
	fx
	nvme_twins boot
	# what a drive reports: the 20-byte field padded with spaces
	fs_nvme "$T" 0000:04:00.0 '  SN-B              ' 'Fake NVMe 1TB                           '
	conf '[drive-b]' 'serial = SN-B' 'model = Fake NVMe 1TB'
	ev bind
	want_rc 0
	want_target 0000:04:00.0
	want_host 0000:03:00.0 nvme
}

c_serial_several_one_missing() {
	fx
	nvme_twins boot
	conf '[drives]' 'serial = SN-A, SN-C'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_host 0000:04:00.0 nvme
	want_err_line 'early-vfio.conf:1' '[drives]' "no NVMe controller has serial 'SN-C'"
}

c_serial_and_address() {
	fx
	nvme_twins boot
	# SN-A is at 03:00.0, not 04:00.0: both keys must hold
	conf '[x]' 'address = 04:00.0' 'serial = SN-A'
	ev bind
	want_rc 0
	# 03:00.0 is no candidate (wrong address): untouched, still waiting for its driver
	want_driver 0000:03:00.0 none
	want_no_log '0000:03:00.0'
	# 04:00.0 was read (SN-B) and given back
	want_host 0000:04:00.0 nvme
	conf '[x]' 'address = 03:00.0' 'serial = SN-A'
	ev bind
	want_rc 0
	want_target 0000:03:00.0
	want_host 0000:04:00.0 nvme
}

c_serial_matches_nothing() {
	fx
	nvme_twins boot
	conf '[ghost]' 'serial = NOPE'
	ev bind
	want_rc 0
	want_host 0000:03:00.0 nvme
	want_host 0000:04:00.0 nvme
	want_err_line '[ghost]' "no NVMe controller has serial 'NOPE'"
	want_err 'no PCI device matches'
	local l
	for l in "$T"/sys/bus/pci/drivers/vfio-pci/0000:*; do
		[ -e "$l" ] && fail "${l##*/} is on vfio-pci"
	done
}

c_model_alone_selects() {
	fx
	nvme_twins boot
	fs_nvme "$T" 0000:04:00.0 SN-B "Other Model 2TB"
	conf '[big]' 'model = Other Model 2TB'
	ev bind
	want_rc 0
	want_target 0000:04:00.0
	want_host 0000:03:00.0 nvme
}

c_serial_controller_never_live() {
	fx
	nvme_twins boot
	# shellcheck disable=SC2034 # read by ev in run.sh
	FAKE_ENV=(FAKE_NVME_DEAD=0000:04:00.0)
	conf '[drive-b]' 'serial = SN-B'
	ev --timeout 3 bind
	want_rc 64
	want_driver 0000:04:00.0 nvme
	want_override 0000:04:00.0 '(null)'
	want_host 0000:03:00.0 nvme
	want_err_line '0000:04:00.0' 'cannot read its serial number, not bound (drive-b)' 'did not become live'
	want_err "whose serial could be read has serial 'SN-B'"
}

# SIGTERM, SIGINT or SIGHUP while a candidate is being identified (a drive that never goes live):
# the run stops as at its time limit, and gives every drive back; no driver_override is left
c_serial_signal_mid_identify() {
	local sig pid
	for sig in TERM INT HUP; do
		fx
		nvme_twins boot
		# shellcheck disable=SC2034 # read by ev in run.sh
		FAKE_ENV=(FAKE_NVME_DEAD=0000:04:00.0)
		conf '[drive-b]' 'serial = SN-B'
		env "${FAKE_ENV[@]}" FAKE_SYSROOT="$T" LD_PRELOAD="$SHIM" \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
			"$BIN" --sysroot "$T" --config "$CONF" --timeout 20 bind >"$T/.out" 2>"$T/.err" &
		pid=$!
		# wait until it waits for the drive to go live, then signal it
		for _ in $(seq 200); do
			grep -qF 'drivers_probe 0000:04:00.0: bound to nvme' "$T/fakekernel.log" 2>/dev/null && break
			sleep 0.05
		done
		sleep 0.2
		kill -"$sig" "$pid"
		wait "$pid"
		RC=$?
		[ "$RC" -ge 124 ] && [ "$RC" != $((128 + $(kill -l "$sig"))) ] && fail "SIG$sig: exit $RC"
		[ "$RC" = 1 ] || fail "SIG$sig: exit $RC, expected 1"
		want_override 0000:04:00.0 '(null)'
		want_override 0000:03:00.0 '(null)'
		[ "$(drv_of 0000:04:00.0)" = vfio-pci ] && fail "SIG$sig: 04:00.0 left on vfio-pci"
		want_host 0000:03:00.0 nvme
		want_err "SIG$sig"
	done
}

# SIGKILL mid-identify (no handler can run): both twins are left on vfio-pci with driver_override
# set, listed in run/early-vfio/moving.  The next bind gives them back first, says so, and then
# binds only the one the config selects
c_serial_killed_run_given_back() {
	local pid
	fx
	nvme_twins boot
	conf '[drive-b]' 'serial = SN-B'
	env FAKE_VFIO_SLOW=20 FAKE_SYSROOT="$T" LD_PRELOAD="$SHIM" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$BIN" --sysroot "$T" --config "$CONF" --timeout 25 bind >"$T/.out" 2>"$T/.err" &
	pid=$!
	for _ in $(seq 200); do
		grep -qF 'open dev/vfio/vfio: slow' "$T/fakekernel.log" 2>/dev/null && break
		sleep 0.05
	done
	kill -KILL "$pid"
	{ wait "$pid"; } 2>/dev/null
	want_target 0000:03:00.0
	want_target 0000:04:00.0
	[ -s "$T/run/early-vfio/moving" ] || fail "no run/early-vfio/moving left by the killed run"
	ev bind
	want_rc 0
	want_host 0000:03:00.0 nvme
	want_target 0000:04:00.0
	want_err_line '0000:03:00.0' 'left on vfio-pci by an earlier run that was killed' 'given back'
	[ -e "$T/run/early-vfio/moving" ] && fail "run/early-vfio/moving still there after the run"
	return 0
}

# The list as a killed run leaves it, prepared by hand: a device it lists that the config does not
# select (not even a candidate) is given back to the driver it was on; one the config selects by
# address stays; release gives back what it lists too
c_killed_run_list_by_hand() {
	fx
	fs_dev "$T" 0000:00:1f.2
	fs_dev "$T" 0000:03:00.0 --ids 1b36:0010 --class 010802 --driver nvme --bound-to vfio-pci --override vfio-pci
	fs_dev "$T" 0000:05:00.0 --bound-to vfio-pci --override vfio-pci
	mkdir -p "$T/run/early-vfio"
	printf '0000:03:00.0\tnvme\n0000:05:00.0\tahci\n' >"$T/run/early-vfio/moving"
	conf '[disk]' 'address = 05:00.0'
	ev bind
	want_rc 0
	want_host 0000:03:00.0 nvme
	want_target 0000:05:00.0
	want_err_line '0000:03:00.0' 'earlier run' 'given back (nvme)'
	[ -e "$T/run/early-vfio/moving" ] && fail "run/early-vfio/moving still there after bind"
	# release gives back what the list names as well as what it is asked to
	fs_dev "$T" 0000:06:00.0 --bound-to vfio-pci --override vfio-pci
	printf '0000:06:00.0\tahci\n' >"$T/run/early-vfio/moving"
	ev release 05:00.0
	want_rc 0
	want_host 0000:06:00.0 ahci
	want_host 0000:05:00.0 ahci
	[ -e "$T/run/early-vfio/moving" ] && fail "run/early-vfio/moving still there after release"
	return 0
}

# A drive already on vfio-pci (a VM may be about to use it): status, check, record, add and
# bind --dry-run never open /dev/vfio to identify it; they use what the boot read
# (run/early-vfio/nvme-ids), else the record of the last image, else say it is unknown
c_serial_no_live_identify_off_boot() {
	local cmd
	fx
	fs_dev "$T" 0000:00:1f.2
	fs_dev "$T" 0000:03:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver vfio-pci
	fs_dev "$T" 0000:04:00.0 --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver vfio-pci
	fs_nvme "$T" 0000:03:00.0 SN-A "Fake NVMe 1TB"
	fs_nvme "$T" 0000:04:00.0 SN-B "Fake NVMe 1TB"
	mkdir -p "$T/run/early-vfio" "$T/var/lib/early-vfio"
	printf '0000:03:00.0\tSN-A\tFake NVMe 1TB\n' >"$T/run/early-vfio/nvme-ids"
	printf 'built\thost\nsystem\tknown\nselected\t0000:04:00.0\t1b36:0010\t1af4:1100\t010802\t02\t-\tSN-B\t[b]\n' \
		>"$T/var/lib/early-vfio/record"
	conf '[b]' 'serial = SN-B'
	# shellcheck disable=SC2034 # read by ev in run.sh
	FAKE_ENV=(FAKE_VFIO_SLOW=1)
	for cmd in status check record 'bind --dry-run' 'add 00:03.0 --name a'; do
		# shellcheck disable=SC2086 # the command and its arguments
		ev $cmd
		want_no_log 'open dev/vfio/vfio'
		rm -f "$T/fakekernel.log"
	done
	ev status
	want_out_or_err 'SN-A'
	want_out_or_err 'SN-B'
	ev record
	grep -q '^selected	0000:04:00.0	.*	SN-B	\[b\]$' "$T/.out" || fail "record: 04:00.0 (SN-B, from the last record) not selected"
}

# Candidates are asked side by side: four drives that each take 1 s to become live (a drive's
# ready delay) cost about one drive's time, not four.  One after the other would take >= 4 s.
c_serial_candidates_side_by_side() {
	local t0 ms
	fx
	fs_dev "$T" 0000:00:1f.2
	for b in 3 4 5 6; do
		fs_dev "$T" "0000:0$b:00.0" --ids 1b36:0010 --subsys 1af4:1100 --class 010802 --driver nvme --unbound
		fs_nvme "$T" "0000:0$b:00.0" "SN-$b" "Fake NVMe 1TB"
	done
	# shellcheck disable=SC2034 # read by ev in run.sh
	FAKE_ENV=(FAKE_NVME_READY_MS=1000)
	conf '[drive-5]' 'serial = SN-5'
	t0=$(date +%s%N)
	ev bind
	ms=$((($(date +%s%N) - t0) / 1000000))
	want_rc 0
	want_target 0000:05:00.0
	for b in 3 4 6; do
		want_host "0000:0$b:00.0" nvme
	done
	[ "$(grep -c 'live in 1000 ms' "$T/fakekernel.log")" = 4 ] ||
		fail "the nvme driver did not take the four drives with the ready delay (fakekernel.log)"
	[ "$ms" -lt 2000 ] ||
		fail "4 drives with a 1 s ready delay took $ms ms: not side by side (one after the other is >= 4000)"
}

c_serial_protected_candidate_untouched() {
	fx
	nvme_twins boot
	mkdir -p "$T/etc"
	printf '0000:03:00.0\t/ (root) (/dev/nvme0n1p2)\n' >"$T/etc/early-vfio.protected"
	conf '[drive-b]' 'serial = SN-B'
	ev bind
	want_rc 0
	want_target 0000:04:00.0
	# the root drive is not even moved to read its serial
	want_no_log '0000:03:00.0'
	want_driver 0000:03:00.0 none
}

c_serial_dry_run_moves_nothing() {
	fx
	nvme_twins boot
	conf '[drive-b]' 'serial = SN-B'
	ev bind --dry-run
	want_rc 0
	want_no_writes
	want_err_line '0000:04:00.0' 'serial not known yet' 'at boot it is read before binding'
}

c_serial_status_and_check() {
	fx
	nvme_twins host
	conf '[drive-b]' 'serial = SN-B'
	# a running host: check resolves the serials from the nvme driver, names the drive it takes
	ev check
	want_rc 0
	want_no_writes
	want_out_line '0000:04:00.0' 'driver nvme' 'serial SN-B'
	grep -qF '0000:03:00.0' "$T/.out" && fail "check lists 03:00.0 (SN-A) under [drive-b]"
	ev bind
	want_rc 0
	want_target 0000:04:00.0
	# on vfio-pci the nvme driver cannot show the serial any more: status has it from the boot
	ev status
	want_rc 0
	awk '/^0000:04:00.0 /,/^$/' "$T/.out" | grep -qF 'NVMe serial: SN-B, model: Fake NVMe 1TB' ||
		fail "status shows no 'NVMe serial: SN-B' under 04:00.0"
	ev status -a --json
	want_rc 0
	python3 - "$T/.out" <<'EOF' || fail "status --json: serial/model of 03:00.0 and 04:00.0 wrong"
import json, sys
devs = {d["address"]: d for d in json.load(open(sys.argv[1]))["devices"]}
a, b = devs["0000:03:00.0"], devs["0000:04:00.0"]
assert a["serial"] == "SN-A" and a["serial_read"] == "from the nvme driver", a
assert b["serial"] == "SN-B" and b["model"] == "Fake NVMe 1TB" and b["driver"] == "vfio-pci", b
assert devs["0000:00:1f.2"]["serial"] is None
EOF
}

c_serial_check_unknown_warns() {
	fx
	nvme_twins boot
	conf '[drive-b]' 'serial = SN-B'
	ev check
	want_rc 0
	want_no_writes
	want_err_line '0000:04:00.0' 'serial unknown' 'no driver holds it'
}

c_serial_of_root_drive_is_an_error() {
	fx
	local p=pci0000:00/0000:04:00.0/nvme/nvme0/nvme0n1
	fs_dev "$T" 0000:04:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	fs_dev "$T" 0000:05:00.0 --ids 144d:a808 --subsys 144d:a801 --class 010802 --driver nvme
	fs_nvme "$T" 0000:04:00.0 S4ROOT0000001 "Samsung SSD 980 PRO 1TB"
	fs_nvme "$T" 0000:05:00.0 S4VM00000002 "Samsung SSD 980 PRO 1TB"
	fs_block "$T" nvme0n1 259:0 "$p"
	fs_block "$T" nvme0n1p2 259:2 "$p/nvme0n1p2"
	fs_mount "$T" / 259:2 ext4 /dev/nvme0n1p2
	# the serial of the drive the host runs from: what the hook's check must stop
	conf '[vm]' 'serial = S4ROOT0000001'
	ev check
	want_rc 2
	want_no_writes
	want_err_line '[vm] selects 0000:04:00.0' '/ (root)'
	ev bind
	want_rc 64
	want_host 0000:04:00.0 nvme
	want_no_log '0000:04:00.0'
	conf '[vm]' 'serial = S4VM00000002'
	ev check
	want_rc 0
	want_out_line '0000:05:00.0' 'serial S4VM00000002'
	ev bind
	want_rc 0
	want_target 0000:05:00.0
	want_no_log '0000:04:00.0'
}

c_dsn_selects_one_of_twins() {
	fx
	fs_dev "$T" 0000:05:00.0 --ids 8086:10d3 --class 020000 --driver e1000e --dsn 52-54-00-ff-ff-12-34-56
	fs_dev "$T" 0000:06:00.0 --ids 8086:10d3 --class 020000 --driver e1000e --dsn 52-54-00-ff-ff-12-34-57
	conf '[nic]' 'dsn = 52-54-00-FF-FF-12-34-57'
	ev bind
	want_rc 0
	want_target 0000:06:00.0
	want_host 0000:05:00.0 e1000e
	want_no_log '0000:05:00.0'
	ev status -a
	awk '/^0000:05:00.0 /,/^$/' "$T/.out" | grep -qF 'Device Serial Number: 52-54-00-ff-ff-12-34-56' ||
		fail "status shows no DSN under 05:00.0"
	ev status --json
	python3 - "$T/.out" <<'EOF' || fail "status --json: dsn of 06:00.0 wrong"
import json, sys
devs = {d["address"]: d for d in json.load(open(sys.argv[1]))["devices"]}
assert devs["0000:06:00.0"]["dsn"] == "52-54-00-ff-ff-12-34-57", devs
EOF
}

c_dsn_absent_matches_nothing() {
	fx
	fs_dev "$T" 0000:05:00.0 --ids 8086:10d3 --class 020000 --driver e1000e
	conf '[nic]' 'dsn = 00-00-00-00-00-00-00-00'
	ev bind
	want_rc 0
	want_no_writes
	want_err 'no PCI device matches'
}

t "serial: of two identical NVMe drives at boot, the one with the serial goes to vfio-pci, the other to nvme" c_serial_picks_one_twin_at_boot
t "serial: drives already on nvme: the match is moved, its twin is never written" c_serial_on_host_driver
t "serial and model are compared after trimming the drive's padding spaces" c_serial_padding_trimmed
t "several serials in one section: each match is bound, a serial no drive has is warned about" c_serial_several_one_missing
t "serial + address: both must hold" c_serial_and_address
t "a serial that matches nothing: warning, nothing bound, every candidate back on nvme" c_serial_matches_nothing
t "model alone selects the drives of that model" c_model_alone_selects
t "a controller that never becomes live: not bound, exit 64, left on nvme with no override" c_serial_controller_never_live
t "serial: SIGTERM, SIGINT or SIGHUP mid-identify: every drive given back, no driver_override left, the signal named" c_serial_signal_mid_identify
t "serial: SIGKILL mid-identify leaves drives on vfio-pci; the next bind gives them back first and binds only the selected" c_serial_killed_run_given_back
t "run/early-vfio/moving as a killed run leaves it: bind gives back the unselected, keeps the selected; release gives back" c_killed_run_list_by_hand
t "serial: status, check, record, add, bind --dry-run never open /dev/vfio for a drive on vfio-pci: the boot's reading or the record" c_serial_no_live_identify_off_boot
t "four NVMe candidates with a 1 s ready delay are read side by side: under 2 s, not 4" c_serial_candidates_side_by_side
t "a protected NVMe drive is not moved, even to read its serial" c_serial_protected_candidate_untouched
t "bind --dry-run with serial selectors writes nothing and says the serial is read at boot" c_serial_dry_run_moves_nothing
t "check names the drive a serial takes; status shows serials, on vfio-pci from the boot's record" c_serial_status_and_check
t "check warns that a candidate with no driver has an unknown serial" c_serial_check_unknown_warns
t "serial of the drive / is on: check exits 2 naming it, bind refuses it; the twin's serial binds only the twin" c_serial_of_root_drive_is_an_error
t "dsn: of two identical NICs, the one with the Device Serial Number is bound; status shows DSNs" c_dsn_selects_one_of_twins
t "dsn on a device without the capability matches nothing" c_dsn_absent_matches_nothing

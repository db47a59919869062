# shellcheck shell=bash
# Sourced by run.sh: `early-vfio boot`, the one entry point of the boot scripts. It alone reads
# the kernel command line (T/proc/cmdline here), runs bind in a child under the time limit and
# always exits 0.

cmdline() {
	printf 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet %s\n' "$*" >"$T/proc/cmdline"
}

c_boot_binds_with_default_limit() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'address = 0000:03:00.0'
	cmdline early-vfio.debug
	ev boot
	want_rc 0
	want_target 0000:03:00.0
	want_err 'boot: time limit 60 s'
}

# dash stopped at "Illegal number: 08" in the old init-top script, with bind already started
c_boot_timeout_leading_zero() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'address = 0000:03:00.0'
	cmdline early-vfio.timeout=08 early-vfio.debug
	ev boot
	want_rc 0
	want_target 0000:03:00.0
	want_err 'boot: time limit 8 s'
}

# one vocabulary and one range: 0 is no limit for a boot, above 3600 is clamped, garbage is said
c_boot_timeout_out_of_range() {
	local v want
	for v in 0:'using 60' 99999:'using 3600' 2x:'not a number of seconds' -5:'not a number of seconds'; do
		fx
		fs_dev "$T" 0000:03:00.0
		conf '[sata]' 'address = 0000:03:00.0'
		want=${v#*:}
		cmdline "early-vfio.timeout=${v%%:*}"
		ev boot
		want_rc 0
		want_target 0000:03:00.0
		want_err "early-vfio.timeout=${v%%:*}"
		want_err "$want"
	done
}

c_boot_off_words() {
	local w
	for w in off 0 no false; do
		fx
		fs_dev "$T" 0000:03:00.0
		conf '[sata]' 'address = 0000:03:00.0'
		cmdline "early-vfio=$w"
		ev boot
		want_rc 0
		want_no_writes
		want_err 'disabled on the kernel command line'
	done
	# an unknown value is said and does not disable
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'address = 0000:03:00.0'
	cmdline early-vfio=maybe
	ev boot
	want_rc 0
	want_target 0000:03:00.0
	want_err 'early-vfio=maybe'
}

c_boot_invalid_config_still_zero() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'adress = 0000:03:00.0'
	ev boot
	want_rc 0
	want_no_writes
	want_err "$CONF:2: unknown key 'adress'"
	want_err 'bind exited with status 2, continuing the boot'
}

# a driver stuck in probe in D state: no signal ends it, the boot goes on after limit + 10 s
c_boot_stuck_child_bounded() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'address = 0000:03:00.0'
	cmdline early-vfio.timeout=2
	# shellcheck disable=SC2034 # read by ev in run.sh
	FAKE_ENV=(FAKE_HANG=vfio-pci:0000:03:00.0 FAKE_HANG_SECS=14 FAKE_HANG_HARD=1)
	local start=$SECONDS
	ev boot
	want_rc 0
	[ $((SECONDS - start)) -le 15 ] || fail "boot returned after $((SECONDS - start))s (limit 2 s + 10 s)"
	want_err 'bind still running after 12 s, continuing the boot without waiting'
	sleep 3	# the stuck child ends before the case's tree goes
}

# bind, run by hand, is not the boot: the kernel command line is not its business
c_bind_ignores_cmdline() {
	fx
	fs_dev "$T" 0000:03:00.0
	conf '[sata]' 'address = 0000:03:00.0'
	cmdline early-vfio=off
	ev bind
	want_rc 0
	want_target 0000:03:00.0
}

t "boot: binds with the default 60 s limit and exits 0" c_boot_binds_with_default_limit
t "boot: early-vfio.timeout=08 is 8 seconds (dash stopped at 'Illegal number: 08')" c_boot_timeout_leading_zero
t "boot: early-vfio.timeout=0, 99999, 2x, -5: said, a bounded limit used, the boot binds" c_boot_timeout_out_of_range
t "boot: early-vfio=off|0|no|false disable it; another value is said and ignored" c_boot_off_words
t "boot: an invalid config binds nothing, and boot still exits 0 saying why" c_boot_invalid_config_still_zero
t "boot: a bind stuck in D state does not hold the boot beyond the limit + 10 s" c_boot_stuck_child_bounded
t "bind by hand ignores the kernel command line (early-vfio=off is for the boot)" c_bind_ignores_cmdline

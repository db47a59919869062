#!/bin/bash
# End-to-end test (part of `make check`): install early-vfio into a Debian bookworm guest, build its
# initramfs with update-initramfs, boot it in QEMU (TCG, q35 + intel-iommu) and check from inside
# the guest which driver holds each storage controller and which disks exist.
#
#   tests/vm/run.sh            all scenarios; one PASS:/FAIL: line per assertion, then "N passed, N failed"
#   KEEP=1 tests/vm/run.sh     keep the work directory (serial logs, initrds, update-initramfs logs)
#   VERBOSE=1 tests/vm/run.sh  show update-initramfs output and the guests' serial consoles
#
# Needs root (debootstrap, chroot) and qemu-system-x86; exits 77 (skip) without them. The rootfs is
# built once and cached in .cache/vm (scripts/vm-rootfs.sh); delete that directory to rebuild it.
#
# Scenarios (configs in tests/vm/scenarios/):
#   1 by-address  00:03.0 (the twin of the boot AHCI 00:1f.2, same IDs) and NVMe 00:04.0 by address
#   2 by-ids      ids: both NVMe [1b36:0010]; ids + address: only the AHCI twin; a never-matching section
#   3 no config   the hook adds nothing, every controller keeps its host driver
#   4 invalid     update-initramfs fails with file:line, the previous image is untouched (it is the
#                 noconf image byte for byte, so scenario 3's boot covers it)
#   5 off         the by-address image booted with early-vfio=off: nothing bound, "disabled" logged
#   5b skip       the by-address image with early-vfio.skip=nvme-a early-vfio.debug: only 00:03.0 bound
#   6 preloaded   ahci/nvme loaded before early-vfio (as if built in): unbound, then bound to vfio-pci
#   7 protected   in the booted guest (not a chroot), update-initramfs -u with 03.0 + 04.0 succeeds and
#                 records 00:1f.2 as protected; with [oops] address = 00:1f.2 (the root disk's
#                 controller) it fails and leaves the image alone; the same disk boots that image
#                 (guest-protected-root.sh; this boot runs in the background while the host works)
#   8 deb         the package from scripts/mkdeb.sh (make deb) installed with dpkg -i in a copy of the
#                 rootfs (scripts/deb/test-install.sh), 03.0 + 04.0 by address, static binary in the
#                 image; after dpkg --purge the image has no early-vfio file and binds nothing
# Every boot's serial log (kernel timestamps) is copied to .cache/vm/logs/ for
# tests/bench/vm-boot-cost.sh: noconf.serial is a boot without early-vfio, by-address.serial one with.
# Image checks: lsinitramfs holds binary, config and vfio modules; ORDER runs early-vfio before udev;
# the hook prints its Proxmox hint when proxmox-boot-tool is installed.
# Assertion helpers are only called through check(), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh disable=SC1091 # followed with shellcheck -x (make check-lint)
. "$here/lib.sh"
scen=$here/scenarios

passed=0
failed=0
pass() { printf 'PASS: %s\n' "$*"; passed=$((passed + 1)); }
fail() { printf 'FAIL: %s\n' "$*"; failed=$((failed + 1)); }
# check DESCRIPTION COMMAND...   PASS if the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
prot_pid=
deb_pid=
finish() {
	# A setup error while scenario 7's guest or scenario 8's install test still runs in the
	# background: stop its child (timeout -> QEMU; test-install.sh unmounts on TERM) and wait.
	local p
	for p in $prot_pid $deb_pid; do
		if kill -0 "$p" 2>/dev/null; then
			pkill -TERM -P "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
	printf '%d passed, %d failed\n' "$passed" "$failed"
	[ "$failed" = 0 ]
	exit
}

# A setup error (no mirror, make install failing, ...) still ends with the summary line.
vm_die() { fail "$*"; finish; }

if [ "$(id -u)" != 0 ] || ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: the VM test needs root and qemu-system-x86_64"
	exit 77
fi
vm_check_tools 0 || { fail "host tools for the VM test are installed"; finish; }

t_start=$(vm_now)
vm_workdir_new
vm_setup
W=$VM_WORK

# Scenario 7 boots first and in the background: update-initramfs inside a TCG guest takes minutes,
# mostly one busy vCPU, so it overlaps with the image builds in the chroot (the guest builds with
# MODULES=dep + nvme; EVFIO_VM_MODULES_MOST=1 keeps MODULES=most, >10 min). Its root disk is a copy
# of root.img that keeps the guest's writes (the image it builds, the config it restores), from
# the image debootstrap built (no early-vfio yet).
prot_disk=$W/protected.img
cp --sparse=always "$W/root.img" "$prot_disk"
cp "$VM_TREE/boot/initrd.img-$VM_KVER" "$W/pristine.initrd"
t_prot=$(vm_now)
prot_append=
prot_timeout=900	# about 2 min unloaded
if [ "${EVFIO_VM_MODULES_MOST:-0}" != 0 ]; then
	prot_append=evfio.modules=most
	prot_timeout=3000
fi
VM_BOOT_ROOT=$prot_disk VM_BOOT_SNAPSHOT=off EVFIO_VM_TIMEOUT=${EVFIO_VM_PROTECTED_TIMEOUT:-$prot_timeout} \
	vm_boot protected "$W/pristine.initrd" init=/sbin/evfio-guest-protected-root $prot_append &
prot_pid=$!

# Scenario 8: the Debian package. scripts/deb/test-install.sh installs it with dpkg -i into an
# overlay of the cached rootfs (the update-initramfs trigger), writes the by-address config,
# rebuilds, purges, and saves both images; its ok:/FAIL: lines become assertions below. It runs in
# the background too: update-initramfs is mostly one busy CPU, and the chroot builds take another.
deb_images=$W/deb-images
mkdir -p "$deb_images"
deb=${EVFIO_VM_DEB:-}
if [ -z "$deb" ]; then
	# What `make deb` runs, without lintian (make check-lint's business), into the work directory.
	if OUTDIR=$W/deb vm_run_logged "$W/mkdeb.log" "$EVFIO_TOP/scripts/mkdeb.sh"; then
		deb=$(tail -n 1 "$W/mkdeb.log")
	else
		fail "deb: scripts/mkdeb.sh builds the package (log: $W/mkdeb.log)"
	fi
fi
if [ -n "$deb" ]; then
	deb_rootfs=$("$EVFIO_TOP/scripts/vm-rootfs.sh" "$EVFIO_VM_CACHE")
	(
		t0=$(vm_now)
		rc=0
		EVFIO_DEB_CONF=$scen/by-address.conf EVFIO_DEB_SAVE=$deb_images TMPDIR=$W \
			vm_run_logged "$W/deb-test.log" "$EVFIO_TOP/scripts/deb/test-install.sh" "$deb" "$deb_rootfs" ||
			rc=$?
		echo "$(($(vm_now) - t0))" >"$W/deb-test.time"
		echo "$rc" >"$W/deb-test.rc"
	) &
	deb_pid=$!
fi

# Kernel log markers around init-top in every image built in the chroot below, for the init-top
# figure of tests/bench/vm-boot-cost.sh (0-... runs first, zz-... after udev, last).
itop=$VM_TREE/usr/share/initramfs-tools/scripts/init-top
install -m 0755 "$scen/mark-init-top-begin" "$itop/0-evfio-mark-begin"
install -m 0755 "$scen/mark-init-top-end" "$itop/zz-evfio-mark-end"

# --- image checks --------------------------------------------------------------------------------

# image_has NAME REGEX   a path in the image matches (grep on a file: no SIGPIPE games)
image_has() { grep -Eq "$2" "$W/$1.list"; }
image_list() { lsinitramfs "$W/$1.initrd" >"$W/$1.list" 2>&1; }

# image_unpack NAME   unpack the image once (microcode and main archives alike) for the checks below
image_unpack() {
	[ -d "$W/$1.unpacked" ] && return 0
	unmkinitramfs "$W/$1.initrd" "$W/$1.unpacked" >/dev/null 2>&1
}

# image_runs_before NAME A B   in the image's scripts/init-top/ORDER, script A runs before script B
image_runs_before() {
	local order a b
	image_unpack "$1" || return 1
	order=$(find "$W/$1.unpacked" -path '*/scripts/init-top/ORDER' | head -n 1)
	[ -n "$order" ] || return 1
	a=$(grep -n "^/scripts/init-top/$2 " "$order" | cut -d: -f1)
	b=$(grep -n "^/scripts/init-top/$3 " "$order" | cut -d: -f1)
	vm_verbose && grep '^/scripts' "$order" >&2
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}

# image_conf_is NAME FILE   the config inside the image is FILE
image_conf_is() {
	local c
	image_unpack "$1" || return 1
	c=$(find "$W/$1.unpacked" -path '*/etc/early-vfio.conf' | head -n 1)
	[ -n "$c" ] && cmp -s "$c" "$2"
}

# image_file NAME PATH   the file PATH (e.g. usr/sbin/early-vfio) of the unpacked image, or nothing
image_file() { image_unpack "$1" && find "$W/$1.unpacked" -path "*/$2" | head -n 1; }

# image_bin_static NAME   file(1) says the image's early-vfio is statically linked
image_bin_static() {
	local b
	b=$(image_file "$1" usr/sbin/early-vfio)
	[ -n "$b" ] && file -L "$b" | grep -q 'statically linked'
}

# image_protects NAME ADDR   the image's etc/early-vfio.protected ("BDF<TAB>why" lines) lists ADDR
image_protects() {
	local p
	p=$(image_file "$1" etc/early-vfio.protected)
	vm_verbose && [ -n "$p" ] && cat "$p" >&2
	[ -n "$p" ] && grep -q "^$2[[:space:]]" "$p"
}

evfio=${EVFIO_VM_BINARY:-$EVFIO_TOP/early-vfio}
[ -x "$evfio" ] || vm_die "no early-vfio binary at $evfio (run make)"
exec 3>/dev/null
vm_verbose && exec 3>&2

# image_ready CONF NAME   early-vfio check --initramfs: binary, CONF, modules and ORDER in the image
image_ready() { "$evfio" -c "$1" check --initramfs "$W/$2.initrd" >&3 2>&3; }
not() { ! "$@"; }

# Scenario 3's image: no config -> the hook adds nothing (the init-top script is always there).
vm_set_config -
if vm_update_initramfs noconf; then
	pass "no config: update-initramfs succeeds"
	image_list noconf
	check "no config: the hook adds neither binary nor config to the image" \
		eval '! image_has noconf "^usr/sbin/early-vfio$" && ! image_has noconf "^etc/early-vfio.conf$"'
	check "no config: early-vfio check --initramfs says the image is not ready" \
		not image_ready "$scen/by-address.conf" noconf
else
	fail "no config: update-initramfs succeeds (log: $W/noconf.uinit.log)"
fi
noconf_sum=$(sha256sum <"$VM_TREE/boot/initrd.img-$VM_KVER")

# Scenario 4: a broken config must stop update-initramfs and leave the previous image in place.
vm_set_config "$scen/invalid.conf"
if vm_update_initramfs invalid; then
	fail "invalid config: update-initramfs fails"
else
	pass "invalid config: update-initramfs fails"
fi
check "invalid config: the error names /etc/early-vfio.conf:3 and the bad key" \
	grep -Eq "/etc/early-vfio.conf:3: .*adress" "$W/invalid.uinit.log"
# Byte for byte the noconf image, so scenario 3's boot is this image's boot: no boot of its own.
check "invalid config: the previous image is unchanged (the noconf image, booted below)" \
	test "$(sha256sum <"$VM_TREE/boot/initrd.img-$VM_KVER")" = "$noconf_sum"

# build_image NAME CONF   update-initramfs with CONF and check what the image holds
build_image() {
	local name=$1 conf=$2
	vm_set_config "$conf"
	if vm_update_initramfs "$name"; then
		pass "$name: update-initramfs succeeds"
	else
		fail "$name: update-initramfs succeeds (log: $W/$name.uinit.log)"
		return 1
	fi
	image_list "$name"
	check "$name: image holds usr/sbin/early-vfio" image_has "$name" '^usr/sbin/early-vfio$'
	check "$name: image holds etc/early-vfio.conf" image_has "$name" '^etc/early-vfio.conf$'
	check "$name: image holds vfio-pci.ko" image_has "$name" '/vfio[-_]pci\.ko(\.[gx]z|\.zst)?$'
	check "$name: image holds vfio_iommu_type1.ko" image_has "$name" '/vfio_iommu_type1\.ko(\.[gx]z|\.zst)?$'
	check "$name: init-top ORDER runs early-vfio before udev" image_runs_before "$name" early-vfio udev
	check "$name: the config in the image is the one written" image_conf_is "$name" "$conf"
	# What a user runs to verify an image without rebooting (host-built binary, guest's config).
	check "$name: early-vfio check --initramfs says the image is ready" \
		image_ready "$VM_TREE/etc/early-vfio.conf" "$name"
}

# Scenarios 1 and 5 share this image.
build_image by-address "$scen/by-address.conf"

# Scenario 2, built on a host that looks like Proxmox VE: the hook says what refreshes the ESPs.
printf '#!/bin/sh\nexit 0\n' >"$VM_TREE/usr/sbin/proxmox-boot-tool"
chmod 0755 "$VM_TREE/usr/sbin/proxmox-boot-tool"
if build_image by-ids "$scen/by-ids.conf"; then
	check "by-ids: with proxmox-boot-tool installed the hook prints its one-line hint" \
		grep -q "early-vfio: proxmox-boot-tool" "$W/by-ids.uinit.log"
fi
rm -f "$VM_TREE/usr/sbin/proxmox-boot-tool"

# Scenario 6: a test-only init-top script loads ahci and nvme before early-vfio runs (as if they
# were built in), so early-vfio has to take the controllers away from their host drivers.
preload=$VM_TREE/usr/share/initramfs-tools/scripts/init-top/0-evfio-test-preload
install -m 0755 "$scen/preload-host-drivers" "$preload"
if build_image preloaded "$scen/by-address.conf"; then
	check "preloaded: init-top ORDER runs the test preload before early-vfio" \
		image_runs_before preloaded 0-evfio-test-preload early-vfio
fi
rm -f "$preload"

# Scenario 8: what test-install.sh found (it ran in the background).
if [ -n "$deb" ]; then
	wait "$deb_pid"
	deb_pid=
	deb_rc=$(cat "$W/deb-test.rc" 2>/dev/null || echo none)
	vm_log "deb install/purge test: status $deb_rc in $(cat "$W/deb-test.time" 2>/dev/null || echo ?) s"
	while IFS= read -r l; do
		case $l in
		"ok: "*) pass "deb: ${l#ok: }" ;;
		"FAIL: "*) fail "deb: ${l#FAIL: }" ;;
		esac
	done <"$W/deb-test.log"
	check "deb: scripts/deb/test-install.sh ends with 0 failed (log: $W/deb-test.log)" \
		eval "[ $deb_rc = 0 ] && grep -q ' passed, 0 failed$' '$W/deb-test.log'"
	cp "$deb_images/configured.initrd" "$W/deb.initrd" 2>/dev/null
	cp "$deb_images/purged.initrd" "$W/deb-purged.initrd" 2>/dev/null
	if [ -f "$W/deb.initrd" ]; then
		"$evfio" -c "$scen/by-address.conf" check --initramfs "$W/deb.initrd" >"$W/deb.check" 2>&1
		check "deb: early-vfio check --initramfs says the image is ready" image_ready "$scen/by-address.conf" deb
		check "deb: early-vfio check --initramfs reports the binary in the image as (static)" \
			grep -qF 'binary /usr/sbin/early-vfio (static)' "$W/deb.check"
		check "deb: file(1) says the image's usr/sbin/early-vfio is statically linked" image_bin_static deb
	else
		fail "deb: test-install.sh saved the configured image"
	fi
	# (test-install.sh has checked that the purged image holds no early-vfio file.)
	[ -f "$W/deb-purged.initrd" ] || fail "deb: test-install.sh saved the image rebuilt after the purge"
fi
t_images=$(vm_now)

# --- boots ---------------------------------------------------------------------------------------

# boot_and_check NAME INITRD "APPEND" EXPECT [FROM]
#   EXPECT: drivers of 03.0 04.0 05.0, e.g. "vfio-pci vfio-pci nvme"
#   FROM: what early-vfio must report taking each vfio-pci device from: "early" (default: no driver
#   yet, it ran before udev) or "host" (ahci/nvme already had it and were unbound)
boot_and_check() {
	local name=$1 initrd=$2 append=$3 out=$W/$1.out from=${5:-early}
	local -a want
	read -r -a want <<<"$4"
	local addrs=("$VM_AHCI2_ADDR" "$VM_NVME_A_ADDR" "$VM_NVME_B_ADDR") i a d blk
	if [ ! -f "$initrd" ]; then
		fail "$name: boot (no image)"
		return
	fi
	vm_boot "$name" "$initrd" "$append"
	if vm_reached_userspace "$out"; then
		pass "$name: guest reached userspace on the root disk behind 00:1f.2"
	else
		fail "$name: guest reached userspace (serial log: $W/$name.serial)"
		sed 's/\r//g' "$W/$name.serial" 2>/dev/null | tail -n 25 | sed 's/^/    | /'
		return
	fi
	d=$(vm_driver "$out" "$VM_BOOT_ADDR")
	check "$name: 00:1f.2 [8086:2922] boot AHCI stays on ahci (got $d)" test "$d" = ahci
	for i in 0 1 2; do
		a=${addrs[$i]}
		d=$(vm_driver "$out" "$a")
		blk=$(vm_blocks_behind "$out" "$a" | paste -sd ' ')
		check "$name: ${a#0000:} [$(vm_ids "$out" "$a")] Kernel driver in use: ${want[$i]} (got $d)" \
			test "$d" = "${want[$i]}"
		if [ "${want[$i]}" = vfio-pci ]; then
			check "$name: ${a#0000:} has no disk in /sys/block (got: ${blk:-none})" test -z "$blk"
			check "$name: ${a#0000:} is in an IOMMU group" \
				eval "vm_section '$out' pci | awk '\$1 == \"$a\" && \$5 != \"-\"' | grep -q ."
			check "$name: kernel log has an early-vfio line for ${a#0000:} -> vfio-pci" \
				eval "vm_klog '$out' | grep -F '$a' | grep -q vfio-pci"
			if [ "$from" = early ]; then
				# "(none) -> vfio-pci": bound before udev loaded ahci/nvme, not taken from them.
				check "$name: ${a#0000:} was bound before any host driver had it" \
					eval "vm_klog '$out' | grep -F '$a' | grep -qF '(none) -> vfio-pci'"
			else
				check "$name: ${a#0000:} was taken from its host driver (ahci/nvme -> vfio-pci)" \
					eval "vm_klog '$out' | grep -F '$a' | grep -Eq ' (ahci|nvme) -> vfio-pci'"
			fi
		else
			check "$name: ${a#0000:} disk is in /sys/block (got: ${blk:-none})" test -n "$blk"
		fi
	done
}

# Scenario 3: no config, nothing changes.
boot_and_check noconf "$W/noconf.initrd" "" "ahci nvme nvme"
check "noconf: no early-vfio lines in the kernel log" eval "[ -z \"\$(vm_klog '$W/noconf.out')\" ]"

# Scenario 1: by address among identical IDs.
boot_and_check by-address "$W/by-address.initrd" "" "vfio-pci vfio-pci nvme"
check "by-address: early-vfio: lines are in the kernel log" eval "vm_klog '$W/by-address.out' | grep -q 'early-vfio: '"

# Scenario 5: early-vfio=off on the command line.
boot_and_check off "$W/by-address.initrd" "early-vfio=off" "ahci nvme nvme"
check "off: kernel log says early-vfio is disabled on the kernel command line" \
	eval "vm_klog '$W/off.out' | grep -q 'early-vfio: disabled on the kernel command line'"

# Kernel command line options reach the binary: skip one section of the by-address config, debug on.
boot_and_check skip "$W/by-address.initrd" "early-vfio.skip=nvme-a early-vfio.debug" "vfio-pci nvme nvme"
# With debug on, one device yields more early-vfio lines than two devices did without it.
check "skip: early-vfio.debug makes early-vfio say more" \
	test "$(vm_klog "$W/skip.out" | wc -l)" -gt "$(vm_klog "$W/by-address.out" | wc -l)"

# Scenario 2: by ids.
boot_and_check by-ids "$W/by-ids.initrd" "" "vfio-pci vfio-pci vfio-pci"

# Scenario 6: host drivers already bound when early-vfio runs (the built-in driver case).
boot_and_check preloaded "$W/preloaded.initrd" "" "vfio-pci vfio-pci nvme" host
check "preloaded: the test preload loaded ahci and nvme before early-vfio ran" \
	eval "vm_section '$W/preloaded.out' dmesg | grep -q 'evfio-test: ahci and nvme loaded'"

# Scenario 8: the image built after dpkg -i and the config binds like scenario 1; after the purge
# nothing is bound.
if [ -n "$deb" ]; then
	boot_and_check deb "$W/deb.initrd" "" "vfio-pci vfio-pci nvme"
	boot_and_check deb-purged "$W/deb-purged.initrd" "" "ahci nvme nvme"
	check "deb-purged: no early-vfio lines in the kernel log" eval "[ -z \"\$(vm_klog '$W/deb-purged.out')\" ]"
fi

# Scenario 7: what the guest reported about its own update-initramfs runs.
t_wait=$(vm_now)
wait "$prot_pid"
prot_pid=
vm_log "protected-root guest: results read $(($(vm_now) - t_prot)) s after its start, waited $(($(vm_now) - t_wait)) s for it"
po=$W/protected.out
# pfield SECTION KEY   the value of "KEY value" in a protected-* section of the guest report
pfield() { vm_section "$po" "$1" | awk -v k="$2" '$1 == k { print $2; exit }'; }
for sct in good oops; do
	vm_section "$po" "protected-$sct" | sed -n 's/^| //p' >"$W/protected-$sct.uinit.log"
done
if vm_reached_userspace "$po"; then
	pass "protected: guest reached userspace and reported its update-initramfs runs"
else
	fail "protected: guest reached userspace (serial log: $W/protected.serial)"
	sed 's/\r//g' "$W/protected.serial" 2>/dev/null | tail -n 25 | sed 's/^/    | /'
fi
check "protected: / remounted read-write in the booted guest" \
	eval "vm_section '$po' protected-setup | grep -qx 'remount-rw ok'"
rc=$(pfield protected-good status)
check "protected: in the guest, update-initramfs -u with 03.0 + 04.0 succeeds (status ${rc:-none}, $(pfield protected-good seconds) s)" \
	test "$rc" = 0
rc=$(pfield protected-oops status)
check "protected: in the guest, update-initramfs -u with [oops] address = 00:1f.2 fails (status ${rc:-none}, $(pfield protected-oops seconds) s)" \
	eval "[ -n '$rc' ] && [ '$rc' != 0 ]"
check "protected: the refusal names 0000:00:1f.2" grep -qF '0000:00:1f.2' "$W/protected-oops.uinit.log"
check "protected: the refusal names the mount / (root)" grep -qF '/ (root)' "$W/protected-oops.uinit.log"
check "protected: the refusal names the section [oops]" grep -qF '[oops]' "$W/protected-oops.uinit.log"
good_sum=$(pfield protected-good sha256)
check "protected: the refused update left the image unchanged (sha256 before = after)" \
	eval "[ -n '$good_sum' ] && [ '$(pfield protected-oops sha256-before)' = '$good_sum' ] &&
		[ '$(pfield protected-oops sha256)' = '$good_sum' ]"
check "protected: the guest put the good config back and remounted / read-only" \
	eval "vm_section '$po' protected-after | grep -qx 'conf-restored yes' &&
		vm_section '$po' protected-after | grep -qx 'remount-ro ok'"
# Read the image back from the disk: e2fsck first (replays the journal should the guest not have
# flushed it), then debugfs, so no loop device is needed.
e2fsck -fp "$prot_disk" >"$W/protected.e2fsck.log" 2>&1
e2rc=$?
check "protected: the guest's root filesystem is clean (e2fsck status $e2rc)" test "$e2rc" -le 1
debugfs -R "dump /boot/initrd.img-$VM_KVER $W/protected-next.initrd" "$prot_disk" >/dev/null 2>&1
check "protected: the image on the disk is the one the guest built (sha256)" \
	eval "[ -s '$W/protected-next.initrd' ] && [ \"\$(sha256sum <'$W/protected-next.initrd' | cut -d' ' -f1)\" = '$good_sum' ]"
if [ -s "$W/protected-next.initrd" ]; then
	image_list protected-next
	check "protected: the guest-built image holds usr/sbin/early-vfio" image_has protected-next '^usr/sbin/early-vfio$'
	check "protected: the guest-built image's etc/early-vfio.protected lists 0000:00:1f.2" \
		image_protects protected-next "$VM_BOOT_ADDR"
	# "The host still boots": the same disk, with the image the refused update left in place.
	VM_BOOT_ROOT=$prot_disk boot_and_check protected-next "$W/protected-next.initrd" "" "vfio-pci vfio-pci nvme"
fi

# Serial logs of the latest run (kernel timestamps) for tests/bench/vm-boot-cost.sh.
logs=$EVFIO_VM_CACHE/logs
rm -rf --one-file-system "$logs.new"
mkdir -p "$logs.new" && cp "$W"/*.serial "$logs.new/" 2>/dev/null
rm -rf --one-file-system "$logs"
mv "$logs.new" "$logs"
check "logs: vm-boot-cost.sh reads noconf.serial (no early-vfio) and by-address.serial (early-vfio span), both with init-top" \
	eval "'$EVFIO_TOP/tests/bench/vm-boot-cost.sh' '$logs/noconf.serial' '$logs/by-address.serial' >'$W/boot-cost.txt' 2>&1 &&
		grep -q 'SUMMARY .*noconf.serial: early-vfio absent, .*init-top [0-9.]* ms' '$W/boot-cost.txt' &&
		grep -q 'SUMMARY .*by-address.serial: early-vfio [0-9.]* ms.*init-top [0-9.]* ms' '$W/boot-cost.txt'"
vm_verbose && cat "$W/boot-cost.txt" >&2

t_end=$(vm_now)
vm_log "timings: setup+images $((t_images - t_start)) s, boots $((t_end - t_images)) s, total $((t_end - t_start)) s"
finish

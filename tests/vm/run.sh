#!/bin/bash
# End-to-end test (part of `make check`): install early-vfio into Debian guests, build their
# initramfs with each release's own update-initramfs in a chroot, boot them in QEMU (TCG, q35 with
# an Intel or AMD vIOMMU) and check from inside the guest which driver holds each storage
# controller and which disks exist.
#
#   tests/vm/run.sh            every row; one "PASS: [ROW] scenario: ..." or FAIL: line per
#                              assertion, then a table (row, kernel the guest ran, scenarios and
#                              assertions passed/failed) and "N passed, N failed"
#   EVFIO_VM_ROWS=trixie tests/vm/run.sh   only rows 2-4 ("bookworm" is rows 1 and 5, "dracut" the
#                              dracut rows of rows-dracut.sh, "sriov" the SR-IOV row of
#                              rows-sriov.sh, "host-in-use" the LVM PV and bridge port row of
#                              rows-host-in-use.sh; default all five)
#   KEEP=1 tests/vm/run.sh     keep the work directory (serial logs, initrds, update-initramfs logs)
#   VERBOSE=1 tests/vm/run.sh  show update-initramfs output and the guests' serial consoles
#
# Needs root (debootstrap, chroot) and qemu-system-x86; exits 77 (skip) without them. Each rootfs is
# built once and cached in .cache/vm (scripts/vm-rootfs.sh); delete that directory to rebuild them.
# On a cold cache the trixie ones are built in the background while rows 1 and 5 run.
#
# Rows (the same guest hardware in each, see lib.sh; the kernel version is read from the guest):
#   1 bookworm-6.1             Debian 12 with its kernel, intel-iommu: scenarios 1-5, 5b, 7, 8, 10, 11
#   2 trixie-6.12              Debian 13 with its kernel, intel-iommu: scenarios 3 (no config),
#                              1 (by-address), 5 (off), 2 (by-ids), 9 (by-serial), 8 with apt
#                              (deb-apt: the Debian 12 package, apt install ./early-vfio_*.deb)
#   3 trixie-backports-X.Y     Debian 13 with linux-image-amd64 from trixie-backports, the 6.12
#                              kernel purged: scenario 1 (by-address)
#   4 trixie-6.12-amd-iommu    row 2's by-address image booted with -device amd-iommu instead of
#                              intel-iommu (no intel_iommu=on): binds as in row 2; the IOMMU's own
#                              PCI function (class 0806, no IOMMU group) is not on vfio-pci, has no
#                              driver_override and is named in no early-vfio log line; and row 2's
#                              by-serial image (the NVMe serial read through VFIO, DMA through AMD-Vi)
#   5 bookworm-6.1-host-driver scenario 6 (preloaded) and 9 with nvme preloaded (preloaded-serial)
#                              on row 1's guest
#   EVFIO_VM_ROWS=group        scenario 11 (group-whole) alone, on row 1's guest (row 1 runs it too)
#   host-in-use                issue 25 on a booted Debian 12 guest with lvm2 and iproute2
#                              (tests/vm/rows-host-in-use.sh): an NVMe LVM PV with an active LV and
#                              no mount, and an e1000e port of vmbr0 with the default route: add of
#                              either refused with the config unchanged, bind leaves the PV on nvme
# Every image with a config, in every row: the early-vfio binary in it is static (file -L) where
# make install put it; the package's binary is dynamic and runs chrooted into its image; and
# every module `modprobe -d TREE -S KVER --show-depends vfio-pci` lists for that tree's kernel is
# in it (lsinitramfs).
#
# Scenarios (configs in tests/vm/scenarios/). To add one to row 1: a config there, then in
# rows_bookworm a build_image NAME CONF call and a boot_and_check NAME INITRD "" "DRIVERS" call,
# DRIVERS being the drivers expected on 03.0 04.0 05.0.
#   1 by-address  00:03.0 (the twin of the boot AHCI 00:1f.2, same IDs) and NVMe 00:04.0 by address
#   2 by-ids      ids: both NVMe [1b36:0010]; ids + address: only the AHCI twin; a never-matching section
#   3 no config   the hook adds nothing, every controller keeps its host driver
#   4 invalid     update-initramfs fails with file:line, the previous image is untouched (it is the
#                 noconf image byte for byte, so scenario 3's boot covers it)
#   5 off         the by-address image booted with early-vfio=off: nothing bound, "disabled" logged
#   5b skip       the by-address image with early-vfio.skip=nvme-a early-vfio.debug early-vfio.timeout=08:
#                 only 00:03.0 bound, the limit read as 8 s, no shell error
#   6 preloaded   ahci/nvme loaded before early-vfio (as if built in): 00:03.0 is taken from ahci and
#                 00:04.0 from nvme (the kernel log says "<bdf> [...] ahci -> vfio-pci"), their disks
#                 leave /sys/block, the boot AHCI is untouched
#   7 protected   in the booted guest (not a chroot), update-initramfs -u with 03.0 + 04.0 succeeds and
#                 records 00:1f.2 as protected; with [oops] address = 00:1f.2 (the root disk's
#                 controller) it fails and leaves the image alone; the same disk boots that image
#                 (guest-protected-root.sh; this boot runs in the background while the host works)
#   9 by-serial   [nvme-b] serial = EVFIO-B: of the two identical NVMe controllers only 00:05.0 goes
#                 to vfio-pci, its serial read through VFIO (the log says so); 00:04.0 (EVFIO-A) is
#                 given back and ends on nvme with its namespace; the nvme driver never probed 00:05.0
#                 (no "nvme nvmeN: pci function 0000:00:05.0" in the kernel log, no disk of its size);
#                 early-vfio status in the guest shows "NVMe serial: EVFIO-B" for 00:05.0. Also in
#                 row 2 (trixie), and with nvme preloaded in row 5 (preloaded-serial: the serial read
#                 from the nvme driver, 00:05.0 then taken from nvme)
#   8 deb         the package dpkg-buildpackage built (make deb; EVFIO_VM_DEB=FILE, else built here
#                 with scripts/deb/build.sh) installed with dpkg -i in a copy of the rootfs
#                 (scripts/deb/test-install.sh), 03.0 + 04.0 by address; the dynamic binary runs
#                 chrooted into the image (copy_exec put its libraries in); after dpkg --purge the
#                 image has no early-vfio file and binds nothing
#  10 workflow    on a booted guest with no config: early-vfio list, add 00:03.0, add of the root
#                 disk (refused, config unchanged), add /dev/nvmeXn1 (EVFIO-B, by serial), apply
#                 (update-initramfs in the guest), apply --dry-run without intel_iommu=on in GRUB's
#                 config; then the image it built boots the same disk: 03.0 and 05.0 on vfio-pci
#                 (tests/vm/rows-workflow.sh, guest-workflow.sh; in the background like scenario 7)
#  11 group-whole [options] iommu-group = whole, [nic-card] address = 00:06.0, a two-function e1000
#                 card at 06.0 + 06.1 (one IOMMU group: conventional PCI, no ACS): both functions on
#                 vfio-pci, 06.1 "joins 06.0", e1000 probes neither (one image, one boot)
# Every boot's serial log (kernel timestamps) of row 1 is copied to .cache/vm/logs/ for
# tests/bench/vm-boot-cost.sh: noconf.serial is a boot without early-vfio, by-address.serial one with.
# Image checks: lsinitramfs holds binary, config and vfio modules; ORDER runs early-vfio before udev;
# the hook prints its Proxmox hint when proxmox-boot-tool is installed.
# Assertion helpers are only called through check(), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh disable=SC1091 # followed with shellcheck -x (make check-lint)
. "$here/lib.sh"
# shellcheck source=tests/vm/rows-dracut.sh disable=SC1091 # followed with shellcheck -x
. "$here/rows-dracut.sh"
# shellcheck source=tests/vm/rows-workflow.sh disable=SC1091 # followed with shellcheck -x (make check-lint)
. "$here/rows-workflow.sh"
# shellcheck source=tests/vm/rows-sriov.sh disable=SC1091 # followed with shellcheck -x (make check-lint)
. "$here/rows-sriov.sh"
# shellcheck source=tests/vm/rows-host-in-use.sh disable=SC1091 # followed with shellcheck -x (make check-lint)
. "$here/rows-host-in-use.sh"
scen=$here/scenarios

# --- results: per assertion, per scenario, per row -----------------------------------------------

passed=0
failed=0
row=setup		# the row the next assertions belong to (row_begin)
rows=()			# rows in the order they began
declare -A row_release=() row_iommu=() row_kernel=() row_pass=() row_fail=() scen_fail=()
declare -A row_scens=()	# ROW -> its scenario names, one a line, in the order of their first assertion
# tally 1|0 DESCRIPTION   count one assertion for $row and its scenario (DESCRIPTION up to the first ':')
tally() {
	local s=${2%%:*} k
	k="$row|$s"
	if [ -z "${scen_fail[$k]+x}" ]; then
		scen_fail[$k]=0
		row_scens[$row]+="$s"$'\n'
	fi
	if [ "$1" = 1 ]; then
		row_pass[$row]=$((${row_pass[$row]:-0} + 1))
	else
		row_fail[$row]=$((${row_fail[$row]:-0} + 1))
		scen_fail[$k]=$((scen_fail[$k] + 1))
	fi
}
pass() { printf 'PASS: [%s] %s\n' "$row" "$*"; passed=$((passed + 1)); tally 1 "$*"; }
fail() { printf 'FAIL: [%s] %s\n' "$row" "$*"; failed=$((failed + 1)); tally 0 "$*"; }
# check DESCRIPTION COMMAND...   PASS if the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
# row_begin NAME RELEASE IOMMU   the assertions that follow belong to row NAME
row_begin() {
	row=$1
	if [ -z "${row_release[$row]+x}" ]; then
		rows+=("$row")
		row_release[$row]=$2
		row_iommu[$row]=$3
	fi
}
# kshort KVER   6.12.117+deb13-amd64 -> 6.12
kshort() { printf '%s' "$1" | cut -d. -f1,2; }

# summary   one line per row: the kernel its guests ran (uname -r), scenarios and assertions
# passed/failed (a scenario passes when all its assertions in that row pass), failed scenarios named
summary() {
	local r s sp sf
	[ "${#rows[@]}" -gt 0 ] || return 0
	printf '\n%-26s %-22s %-11s %-24s %-16s %s\n' ROW RELEASE IOMMU "KERNEL (guest uname -r)" \
		SCENARIOS ASSERTIONS
	for r in "${rows[@]}"; do
		sp=0
		sf=0
		while IFS= read -r s; do
			[ -n "$s" ] || continue
			if [ "${scen_fail[$r|$s]}" = 0 ]; then sp=$((sp + 1)); else sf=$((sf + 1)); fi
		done <<<"${row_scens[$r]:-}"
		printf '%-26s %-22s %-11s %-24s %-16s %s\n' "$r" "${row_release[$r]}" "${row_iommu[$r]}" \
			"${row_kernel[$r]:-(no guest)}" "$sp ok, $sf failed" \
			"${row_pass[$r]:-0} passed, ${row_fail[$r]:-0} failed"
		while IFS= read -r s; do
			[ -n "$s" ] && [ "${scen_fail[$r|$s]}" != 0 ] && printf '    failed: %s\n' "$s"
		done <<<"${row_scens[$r]:-}"
	done
	# Boots that failed for a reason outside early-vfio (QEMU crashed, the guest kernel died before
	# /init) are booted once more (lib.sh vm_boot_flake); each is named here.
	printf '\nQEMU boots: %s, booted once more: %s\n' \
		"$(wc -l 2>/dev/null <"$VM_COUNTS/boots" || echo 0)" "$(wc -l 2>/dev/null <"$VM_COUNTS/retries" || echo 0)"
	[ -s "$VM_COUNTS/retries" ] && sed 's/^/    retried: /' "$VM_COUNTS/retries"
	echo
}

prot_pid=
deb_pid=
prefetch_pid=
finish() {
	# A setup error while scenario 7's guest or scenario 8's install test still runs in the
	# background: stop its child (timeout -> QEMU; test-install.sh unmounts on TERM) and wait.
	local p
	for p in $prot_pid $deb_pid $wf_pid; do
		if kill -0 "$p" 2>/dev/null; then
			pkill -TERM -P "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
	# The trixie rootfs build is left to finish (debootstrap mounts inside its target): a few
	# minutes at most, and the next run finds it cached.
	[ -n "$prefetch_pid" ] && wait "$prefetch_pid" 2>/dev/null
	summary
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

want_rows=${EVFIO_VM_ROWS:-bookworm trixie dracut sriov host-in-use}
want_row() { case " $want_rows " in *" $1 "*) return 0 ;; esac; return 1; }

t_start=$(vm_now)
vm_workdir_new
base=$VM_WORK
W=$base
export VM_COUNTS=$base/counts
mkdir -p "$VM_COUNTS"

# Rows 2-4 need the trixie rootfs and the one with the backports kernel (cached like bookworm's).
# On a cold cache they are built while rows 1 and 5 run: debootstrap is mostly network and disk.
if want_row trixie; then
	EVFIO_VM_SUITE=trixie EVFIO_VM_BACKPORTS=1 "$EVFIO_TOP/scripts/vm-rootfs.sh" "$EVFIO_VM_CACHE" \
		>"$base/rootfs-trixie.log" 2>&1 &
	prefetch_pid=$!
fi
want_row dracut && dracut_prefetch

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

# image_bin_runs NAME   the image's early-vfio runs chrooted into the unpacked archive holding it:
# its loader and libraries are in the image (a dynamic binary, as the .deb ships, copied with
# copy_exec), not taken from the host or the tree that built it
image_bin_runs() {
	local b v
	b=$(image_file "$1" usr/sbin/early-vfio)
	[ -n "$b" ] || return 1
	v=$(chroot "${b%/usr/sbin/early-vfio}" /usr/sbin/early-vfio --version 2>&1)
	[ "${v%% *}" = early-vfio ]
}

# deb_get   the package scenario 8 and the trixie row install: EVFIO_VM_DEB (make check passes the
# one make deb built), else dpkg-buildpackage as `make deb` runs it (no lintian, no build-time unit
# tests) into $base/deb; sets deb (empty when the build failed)
deb_get() {
	deb=${EVFIO_VM_DEB:-}
	[ -n "$deb" ] && return 0
	[ -n "${deb_built:-}" ] && { deb=$deb_built; return 0; }
	if OUTDIR=$base/deb DEB_BUILD_OPTIONS=nocheck vm_run_logged "$base/deb-build.log" \
		"$EVFIO_TOP/scripts/deb/build.sh"; then
		deb=$(tail -n 1 "$base/deb-build.log")
		deb_built=$deb
	else
		deb=
		fail "deb: scripts/deb/build.sh (dpkg-buildpackage) builds the package (log: $base/deb-build.log)"
	fi
}

# deb_image_checks NAME   the image the package built with the by-address config: ready, and its
# binary (dynamic, as the package ships it) runs from the image alone
deb_image_checks() {
	local n=$1
	"$evfio" -c "$scen/by-address.conf" check --initramfs "$W/$n.initrd" >"$W/$n.check" 2>&1
	check "$n: early-vfio check --initramfs says the image is ready" image_ready "$scen/by-address.conf" "$n"
	check "$n: early-vfio check --initramfs reports the binary in the image as (dynamic), the package's" \
		grep -qF 'binary /usr/sbin/early-vfio (dynamic)' "$W/$n.check"
	check "$n: the image's usr/sbin/early-vfio runs chrooted into the image (its libraries are in it)" \
		image_bin_runs "$n"
}

evfio=${EVFIO_VM_BINARY:-$EVFIO_TOP/early-vfio}
[ -x "$evfio" ] || vm_die "no early-vfio binary at $evfio (run make)"
exec 3>/dev/null
vm_verbose && exec 3>&2

# image_ready CONF NAME   early-vfio check --initramfs: binary, CONF, modules and ORDER in the image
image_ready() { "$evfio" -c "$1" check --initramfs "$W/$2.initrd" >&3 2>&3; }
not() { ! "$@"; }

# image_vfio_deps NAME   every module `modprobe -d TREE -S KVER --show-depends vfio-pci` lists for
# this tree's kernel (its modules.dep, and vfio's softdep on vfio_iommu_type1) is in the image,
# compression suffixes aside. Leaves NAME.vfio-deps (wanted) and NAME.vfio-missing in $W.
image_vfio_deps() {
	local n=$1
	modprobe -d "$VM_TREE" -S "$VM_KVER" --show-depends vfio-pci >"$W/$n.show-depends" 2>&1 || return 1
	awk '$1 == "insmod" { print $2 }' "$W/$n.show-depends" |
		sed -E 's|.*/lib/modules/[^/]+/||; s/\.(xz|gz|zst)$//' | sort -u >"$W/$n.vfio-deps"
	sed -nE 's#^(usr/)?lib/modules/[^/]+/(.*\.ko)(\.xz|\.gz|\.zst)?$#\2#p' "$W/$n.list" | sort -u >"$W/$n.modules"
	comm -23 "$W/$n.vfio-deps" "$W/$n.modules" >"$W/$n.vfio-missing"
	# The list itself must make sense: vfio-pci and vfio are in it (a wrong -d or -S finds neither).
	grep -Eq '/vfio[-_]pci\.ko$' "$W/$n.vfio-deps" && grep -q '/vfio\.ko$' "$W/$n.vfio-deps" &&
		[ ! -s "$W/$n.vfio-missing" ]
}

# noconf_image   scenario 3's image: no config -> the hook adds nothing (the init-top script is
# always there)
noconf_image() {
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
}

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
	# Not the build host's libraries (a Debian 12 host building a Debian 13 image, or the other
	# way round): make install puts the static binary in.
	check "$name: the early-vfio in the image is statically linked" image_bin_static "$name"
	local wanted missing
	image_vfio_deps "$name"
	wanted=$(wc -l <"$W/$name.vfio-deps" 2>/dev/null)
	missing=$(paste -sd ' ' "$W/$name.vfio-missing" 2>/dev/null)
	check "$name: image holds all ${wanted:-0} modules modprobe --show-depends vfio-pci lists for $VM_KVER (missing: ${missing:-none})" \
		image_vfio_deps "$name"
}

# --- boots ---------------------------------------------------------------------------------------

# boot_and_check NAME INITRD "APPEND" EXPECT [FROM]
#   EXPECT: drivers of 03.0 04.0 05.0, e.g. "vfio-pci vfio-pci nvme" ("absent": not in the guest)
#   FROM: what early-vfio must report taking each vfio-pci device from: "early" (default: no driver
#   yet, it ran before udev) or "host" (its host driver had it and was unbound: ahci for 03.0,
#   nvme for 04.0 and 05.0)
# Also records the kernel the guest ran (uname -r) as the row's, and checks it is $VM_KVER.
boot_and_check() {
	local name=$1 initrd=$2 append=$3 out=$W/$1.out from=${5:-early}
	local -a want
	read -r -a want <<<"$4"
	local addrs=("$VM_AHCI2_ADDR" "$VM_NVME_A_ADDR" "$VM_NVME_B_ADDR") hosts=(ahci nvme nvme)
	local i a d blk k ovr
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
	k=$(vm_section "$out" userspace | sed -n 's/^reached //p')
	row_kernel[$row]=$k
	check "$name: the guest runs the tree's kernel $VM_KVER (uname -r: ${k:-none})" test "$k" = "$VM_KVER"
	d=$(vm_driver "$out" "$VM_BOOT_ADDR")
	check "$name: 00:1f.2 [8086:2922] boot AHCI stays on ahci (got $d)" test "$d" = ahci
	ovr=$(vm_section "$out" pci | awk -v a="$VM_BOOT_ADDR" '$1 == a { print $6 }')
	check "$name: 00:1f.2 was not touched: no driver_override (got: ${ovr:-none}), no early-vfio line binds it" \
		eval "{ [ '$ovr' = '(null)' ] || [ '$ovr' = - ]; } && ! vm_klog '$out' | grep -F '$VM_BOOT_ADDR' | grep -qF -- '-> vfio-pci'"
	for i in 0 1 2; do
		a=${addrs[$i]}
		if [ "${want[$i]}" = absent ]; then
			check "$name: ${a#0000:} is not in the guest (the card was removed)" \
				eval "! vm_section '$out' pci | grep -q '^$a '"
			continue
		fi
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
				# early-vfio logs "<bdf> [vendor:device] <old driver> -> vfio-pci (section)".
				check "$name: ${a#0000:} was taken from ${hosts[$i]}: kernel log has '$a [$(vm_ids "$out" "$a")] ${hosts[$i]} -> vfio-pci'" \
					eval "vm_klog '$out' | grep -qF '$a [$(vm_ids "$out" "$a")] ${hosts[$i]} -> vfio-pci'"
			fi
		else
			check "$name: ${a#0000:} disk is in /sys/block (got: ${blk:-none})" test -n "$blk"
		fi
	done
}

# serial_checks NAME HOW   scenario 9: 00:05.0 (EVFIO-B) was selected by its serial, read HOW
#   ("through VFIO" or "from the nvme driver"); 00:04.0 (EVFIO-A) was read too and not selected
serial_checks() {
	local name=$1 how=$2 out=$W/$1.out dm=$W/$1.dmesg st=$W/$1.status
	vm_reached_userspace "$out" || return 0	# boot_and_check has failed it already
	vm_section "$out" dmesg >"$dm"
	vm_section "$out" evfio-status >"$st"
	check "$name: kernel log: 00:05.0 -> vfio-pci (nvme-b), serial EVFIO-B (read $how)" \
		eval "vm_klog '$out' | grep -F '$VM_NVME_B_ADDR [1b36:0010]' | grep -F -- '-> vfio-pci (nvme-b)' | grep -qF 'serial EVFIO-B (read $how)'"
	if [ "$how" = "through VFIO" ]; then
		check "$name: kernel log: 00:04.0's serial EVFIO-A was read through VFIO, not selected, given back" \
			eval "vm_klog '$out' | grep -F '$VM_NVME_A_ADDR' | grep -qF 'serial EVFIO-A (read through VFIO) is not selected; given back'"
		check "$name: the nvme driver never probed 00:05.0 (no 'pci function $VM_NVME_B_ADDR' in the kernel log)" \
			eval "! grep -qF 'pci function $VM_NVME_B_ADDR' '$dm'"
		check "$name: the nvme driver took 00:04.0 after early-vfio gave it back" \
			grep -qF "pci function $VM_NVME_A_ADDR" "$dm"
	fi
	check "$name: early-vfio status in the guest shows 'NVMe serial: EVFIO-B' under 00:05.0" \
		eval "awk '/^$VM_NVME_B_ADDR /,/^\$/' '$st' | grep -qF 'NVMe serial: EVFIO-B,'"
}

# hwchange_checks   issue 17, the hardware changed: the image the protected-root guest built for
# [nvme-b] address = 00:05.0 while that slot held EVFIO-B, booted with the drives swapped (00:05.0 is
# refused as changed, stays on nvme, the boot completes) and without the second drive (said)
hwchange_checks() {
	local h=$W/hwchange.initrd r
	debugfs -R "dump /boot/evfio-hwchange.img $h" "$prot_disk" >/dev/null 2>&1
	if [ ! -s "$h" ]; then
		fail "hwchange: the guest kept /boot/evfio-hwchange.img"
		return
	fi
	image_list hwchange
	r=$(image_file hwchange etc/early-vfio.record)
	check "hwchange: the image's record says 00:05.0 held the drive with serial EVFIO-B" \
		eval "[ -n '$r' ] && grep -q '^selected	$VM_NVME_B_ADDR	1b36:0010	.*	EVFIO-B	\[nvme-b\]$' '$r'"
	VM_NVME_SWAP=1 boot_and_check hwchange-swapped "$h" "" "ahci nvme nvme"
	check "hwchange-swapped: kernel log: 00:05.0 refused, not the device the image was built for (recorded serial EVFIO-B, found EVFIO-A)" \
		eval "vm_klog '$W/hwchange-swapped.out' | grep -F '$VM_NVME_B_ADDR' | grep -F 'not the device this image was built for' |
			grep -F 'serial EVFIO-B' | grep -qF 'serial EVFIO-A'"
	check "hwchange-swapped: 00:05.0 has no driver_override left" \
		eval "vm_section '$W/hwchange-swapped.out' pci | awk '\$1 == \"$VM_NVME_B_ADDR\" { print \$6 }' | grep -qx '(null)'"
	VM_NVME_B=off boot_and_check hwchange-removed "$h" "" "ahci nvme absent"
	check "hwchange-removed: kernel log: the recorded 00:05.0 is not there now" \
		eval "vm_klog '$W/hwchange-removed.out' | grep -F '$VM_NVME_B_ADDR' | grep -qF 'is not there now'"
}

# dsn_gpu_checks   issue 17 on a real boot: of two identical e1000e NICs, the one with the selected
# PCIe DSN ends on vfio-pci and e1000e never probes it; the second display adapter (secondary-vga)
# ends on vfio-pci and bochs-drm never probes it, while the boot display keeps bochs-drm
dsn_gpu_checks() {
	local out=$W/dsn-gpu.out dm=$W/dsn-gpu.dmesg m=$VM_TREE/etc/initramfs-tools/modules a drv
	local -A want=([0000:00:06.0]=e1000e [0000:00:07.0]=vfio-pci [0000:00:08.0]=bochs-drm [0000:00:09.0]=vfio-pci)
	cp "$m" "$W/modules.saved"
	echo bochs >>"$m"	# the display driver in the image, as e1000e is already
	build_image dsn-gpu "$scen/dsn-gpu.conf"
	cp "$W/modules.saved" "$m"
	local nics="-device e1000e,mac=52:54:00:12:34:56,addr=06.0 -device e1000e,mac=52:54:00:12:34:57,addr=07.0"
	VM_QEMU_EXTRA="$nics -device VGA,addr=08.0 -device secondary-vga,addr=09.0" \
		boot_and_check dsn-gpu "$W/dsn-gpu.initrd" "" "ahci nvme nvme"
	vm_reached_userspace "$out" || return 0
	vm_section "$out" dmesg >"$dm"
	for a in "${!want[@]}"; do
		drv=$(vm_driver "$out" "$a")
		check "dsn-gpu: ${a#0000:} [$(vm_ids "$out" "$a")] Kernel driver in use: ${want[$a]} (got $drv)" \
			test "$drv" = "${want[$a]}"
	done
	check "dsn-gpu: kernel log: 07.0 -> vfio-pci (nic-b), selected by its DSN" \
		eval "vm_klog '$out' | grep -F '0000:00:07.0' | grep -qF -- '-> vfio-pci (nic-b)'"
	check "dsn-gpu: e1000e never probed 07.0, bochs-drm never probed 09.0" \
		eval "! grep -Eq '(e1000e|bochs-drm).*0000:00:0(7|9)\.0' '$dm'"
	check "dsn-gpu: e1000e probed 06.0 and bochs-drm 08.0 (the boot display)" \
		eval "grep -q 'e1000e 0000:00:06.0' '$dm' && grep -q 'bochs-drm.*0000:00:08.0' '$dm'"
}

# group_whole_checks   issue 26 on a real boot: a two-function e1000 card (06.0 + 06.1, conventional
# PCI: no ACS, so one IOMMU group; the multifunction bit on both functions, else the kernel gives 06.1
# a group of its own; not e1000e, whose 82574 the kernel's ACS quirks split into a group per function,
# as seen: groups 4 and 5), [nic-card] address = 00:06.0 with iommu-group = whole: both functions
# end on vfio-pci, 06.1 joins through its group, e1000 probes neither; the disks as without a config
group_whole_checks() {
	local out=$W/group-whole.out dm=$W/group-whole.dmesg a drv g0 g1 t0
	t0=$(vm_now)
	build_image group-whole "$scen/group-whole.conf" || return 0
	VM_QEMU_EXTRA="-device e1000,mac=52:54:00:12:34:60,addr=06.0,multifunction=on -device e1000,mac=52:54:00:12:34:61,addr=06.1,multifunction=on" \
		boot_and_check group-whole "$W/group-whole.initrd" "" "ahci nvme nvme"
	vm_reached_userspace "$out" || return 0
	vm_section "$out" dmesg >"$dm"
	g0=$(vm_section "$out" pci | awk '$1 == "0000:00:06.0" { print $5 }')
	g1=$(vm_section "$out" pci | awk '$1 == "0000:00:06.1" { print $5 }')
	check "group-whole: 06.0 and 06.1 share one IOMMU group (got '$g0' and '$g1')" \
		eval "[ -n '$g0' ] && [ '$g0' != - ] && [ '$g0' = '$g1' ]"
	for a in 0000:00:06.0 0000:00:06.1; do
		drv=$(vm_driver "$out" "$a")
		check "group-whole: ${a#0000:} [$(vm_ids "$out" "$a")] Kernel driver in use: vfio-pci (got $drv)" \
			test "$drv" = vfio-pci
		check "group-whole: kernel log: ${a#0000:} -> vfio-pci (nic-card)" \
			eval "vm_klog '$out' | grep -F '$a' | grep -qF -- '-> vfio-pci (nic-card)'"
	done
	check "group-whole: kernel log: 06.1 joins 06.0 through its IOMMU group" \
		eval "vm_klog '$out' | grep -qF '0000:00:06.1 joins 0000:00:06.0'"
	check "group-whole: e1000 probed neither function" \
		eval "! grep -Eq 'e1000 0000:00:06\.[01]' '$dm'"
	vm_log "group-whole (one image, one boot): $(($(vm_now) - t0)) s"
}

# rows_group   EVFIO_VM_ROWS=group: only the group-whole scenario, on row 1's Debian 12 guest
rows_group() {
	VM_SUITE=bookworm VM_BACKPORTS=0 vm_setup
	W=$VM_WORK
	row_begin "bookworm-$(kshort "$VM_KVER")-group" "12 bookworm" intel
	group_whole_checks
}

# --- rows 1 and 5: Debian 12 ---------------------------------------------------------------------

rows_bookworm() {
	local t_bw
	t_bw=$(vm_now)
	VM_SUITE=bookworm VM_BACKPORTS=0 vm_setup
	W=$VM_WORK
	row_begin "bookworm-$(kshort "$VM_KVER")" "12 bookworm" intel
	main_row=$row
	host_row="$main_row-host-driver"

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
	# About 2 min unloaded; 726 s in a cold make check on a slow day; over 900 s (timed out) with two other VM
	# runs beside it: three update-initramfs in a TCG guest. The host reads the results only
	# after rows 1 and 5, so a longer limit costs nothing unless the guest hangs.
	prot_timeout=1800
	if [ "${EVFIO_VM_MODULES_MOST:-0}" != 0 ]; then
		prot_append=evfio.modules=most
		prot_timeout=3000
	fi
	VM_BOOT_ROOT=$prot_disk VM_BOOT_SNAPSHOT=off EVFIO_VM_TIMEOUT=${EVFIO_VM_PROTECTED_TIMEOUT:-$prot_timeout} \
		vm_boot protected "$W/pristine.initrd" init=/sbin/evfio-guest-protected-root $prot_append &
	prot_pid=$!
	# Scenario 10 (tests/vm/rows-workflow.sh): list, add, apply on a booted guest, in the background too.
	workflow_start

	# Scenario 8: the Debian package. scripts/deb/test-install.sh installs it with dpkg -i into an
	# overlay of the cached rootfs (the update-initramfs trigger), writes the by-address config,
	# rebuilds, purges, and saves both images; its ok:/FAIL: lines become assertions below. It runs in
	# the background too: update-initramfs is mostly one busy CPU, and the chroot builds take another.
	deb_images=$W/deb-images
	mkdir -p "$deb_images"
	deb_get
	if [ -n "$deb" ]; then
		deb_rootfs=$("$EVFIO_TOP/scripts/vm-rootfs.sh" "$EVFIO_VM_CACHE")
		vm_fstab >"$W/deb-fstab"
		(
			t0=$(vm_now)
			rc=0
			EVFIO_DEB_CONF=$scen/by-address.conf EVFIO_DEB_FSTAB=$W/deb-fstab EVFIO_DEB_SAVE=$deb_images TMPDIR=$W \
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

	noconf_image
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
	row_begin "$host_row" "12 bookworm" intel
	if build_image preloaded "$scen/by-address.conf"; then
		check "preloaded: init-top ORDER runs the test preload before early-vfio" \
			image_runs_before preloaded 0-evfio-test-preload early-vfio
	fi
	# Scenario 9 with nvme preloaded: the serial comes from the nvme driver (method 2).
	build_image preloaded-serial "$scen/by-serial.conf"
	row=$main_row
	rm -f "$preload"

	# Scenario 9: one NVMe of two identical ones, by serial number.
	build_image by-serial "$scen/by-serial.conf"

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
			deb_image_checks deb
		else
			fail "deb: test-install.sh saved the configured image"
		fi
		# (test-install.sh has checked that the purged image holds no early-vfio file.)
		[ -f "$W/deb-purged.initrd" ] || fail "deb: test-install.sh saved the image rebuilt after the purge"
	fi
	t_images=$(vm_now)

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
	# early-vfio.timeout=08: dash's arithmetic stopped the old init-top script at "Illegal number: 08"
	# with bind already started in the background, so udev ran beside it.
	boot_and_check skip "$W/by-address.initrd" "early-vfio.skip=nvme-a early-vfio.debug early-vfio.timeout=08" \
		"vfio-pci nvme nvme"
	check "skip: early-vfio.timeout=08 is read as 8 s (kernel log: 'boot: time limit 8 s')" \
		eval "vm_klog '$W/skip.out' | grep -qF 'early-vfio: boot: time limit 8 s'"
	check "skip: no shell error in the boot log (Illegal number)" \
		eval "! grep -q 'Illegal number' '$W/skip.serial'"
	# With debug on, one device yields more early-vfio lines than two devices did without it.
	check "skip: early-vfio.debug makes early-vfio say more" \
		test "$(vm_klog "$W/skip.out" | wc -l)" -gt "$(vm_klog "$W/by-address.out" | wc -l)"

	# Scenario 2: by ids.
	boot_and_check by-ids "$W/by-ids.initrd" "" "vfio-pci vfio-pci vfio-pci"

	# Scenario 9: by serial, read through VFIO before nvme is loaded.
	boot_and_check by-serial "$W/by-serial.initrd" "" "ahci nvme vfio-pci"
	serial_checks by-serial "through VFIO"

	# Scenario 11: iommu-group = whole, a two-function card in one IOMMU group.
	group_whole_checks

	# Scenario 6: host drivers already bound when early-vfio runs (the built-in driver case).
	row_begin "$host_row" "12 bookworm" intel
	boot_and_check preloaded "$W/preloaded.initrd" "" "vfio-pci vfio-pci nvme" host
	vm_section "$W/preloaded.out" dmesg >"$W/preloaded.dmesg"
	check "preloaded: the test preload loaded ahci and nvme before early-vfio ran" \
		grep -q 'evfio-test: ahci and nvme loaded' "$W/preloaded.dmesg"
	boot_and_check preloaded-serial "$W/preloaded-serial.initrd" "" "ahci nvme vfio-pci" host
	serial_checks preloaded-serial "from the nvme driver"
	row=$main_row

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
		check "protected: the guest-built image's record (etc/early-vfio.record) protects 0000:00:1f.2 and names 04.0's serial EVFIO-A" \
			eval "r=\$(image_file protected-next etc/early-vfio.record) && grep -q '^protected	$VM_BOOT_ADDR	8086:2922	' \"\$r\" &&
				grep -q '^selected	$VM_NVME_A_ADDR	1b36:0010	.*	EVFIO-A	\[nvme-a\]$' \"\$r\""
		# "The host still boots": the same disk, with the image the refused update left in place.
		# 04.0 is recorded with its serial: it is read at boot to make sure before it is bound.
		VM_BOOT_ROOT=$prot_disk boot_and_check protected-next "$W/protected-next.initrd" "" "vfio-pci vfio-pci nvme"
	fi
	hwchange_checks

	# Scenario 10: what the workflow guest reported, then its reboot.
	workflow_finish

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
	vm_log "rows 1 and 5 (bookworm): setup and images $((t_images - t_bw)) s, boots $(($(vm_now) - t_images)) s"
}

# --- rows 2-4: Debian 13 with its kernel and with the backports kernel; the AMD vIOMMU -----------

# amd_iommu_checks NAME   row 4: AMD-Vi is on, and the AMD IOMMU's own PCI function (class 0806;
# it has no IOMMU group, it is the IOMMU) was left alone
amd_iommu_checks() {
	local out=$W/$1.out dm=$W/$1.dmesg a drv grp ovr
	vm_reached_userspace "$out" || return 0	# boot_and_check has failed it already
	vm_section "$out" dmesg >"$dm"
	check "$1: the kernel log shows AMD-Vi (amd-iommu), not Intel DMAR remapping" \
		eval "grep -q 'AMD-Vi: ' '$dm' && ! grep -q 'DMAR: IOMMU enabled' '$dm'"
	read -r a _ _ drv grp ovr < <(vm_section "$out" pci | awk '$3 ~ /^0806/ { print; exit }')
	check "$1: the guest has the AMD IOMMU's PCI function, class 0806 (got: ${a:-none})" test -n "${a:-}"
	[ -n "${a:-}" ] || return 0
	check "$1: ${a#0000:} (the IOMMU) has no IOMMU group (got: $grp)" test "$grp" = -
	check "$1: ${a#0000:} (the IOMMU) is not on vfio-pci (driver: $drv)" test "$drv" != vfio-pci
	check "$1: ${a#0000:} (the IOMMU) has no driver_override (got: $ovr)" \
		eval "[ '$ovr' = '(null)' ] || [ '$ovr' = - ]"
	check "$1: no early-vfio kernel log line names ${a#0000:} (the IOMMU)" \
		eval "! vm_klog '$out' | grep -qF '$a'"
}

# row_setup DIR SUITE BACKPORTS   a guest of its own in $base/DIR (vm_setup), W pointing there
row_setup() {
	VM_WORK=$base/$1
	mkdir -p "$VM_WORK" || vm_die "mkdir $VM_WORK"
	VM_SUITE=$2 VM_BACKPORTS=$3 vm_setup
	W=$VM_WORK
}

rows_trixie() {
	local t0 rc=0 n
	t0=$(vm_now)
	if [ -n "$prefetch_pid" ]; then
		wait "$prefetch_pid" || rc=$?
		prefetch_pid=
		vm_log "trixie rootfs (background): status $rc, waited $(($(vm_now) - t0)) s for it"
		[ "$rc" = 0 ] || tail -n 30 "$base/rootfs-trixie.log" >&2
	fi

	# Row 2: Debian 13 with its own kernel, intel-iommu.
	row=trixie-setup
	row_setup trixie trixie 0
	row_begin "trixie-$(kshort "$VM_KVER")" "13 trixie" intel
	local trixie_row=$row trixie_kver=$VM_KVER m newest deb_rc
	# The package built on Debian 12, installed with apt install ./early-vfio_*.deb into an overlay
	# of the trixie rootfs (which lacks libinih1: apt fetches it), in the background while the
	# images below are built; its configured image boots with the others.
	deb_get
	if [ -n "$deb" ]; then
		mkdir -p "$W/deb-images"
		vm_fstab >"$W/deb-fstab"
		(
			rc=0
			EVFIO_DEB_APT=1 EVFIO_DEB_CONF=$scen/by-address.conf EVFIO_DEB_FSTAB=$W/deb-fstab \
				EVFIO_DEB_SAVE=$W/deb-images TMPDIR=$W vm_run_logged "$W/deb-test.log" \
				"$EVFIO_TOP/scripts/deb/test-install.sh" "$deb" \
				"$(EVFIO_VM_SUITE=trixie "$EVFIO_TOP/scripts/vm-rootfs.sh" "$EVFIO_VM_CACHE")" || rc=$?
			echo "$rc" >"$W/deb-test.rc"
		) &
		deb_pid=$!
	fi
	noconf_image
	build_image by-address "$scen/by-address.conf"
	build_image by-ids "$scen/by-ids.conf"
	build_image by-serial "$scen/by-serial.conf"
	boot_and_check noconf "$W/noconf.initrd" "" "ahci nvme nvme"
	check "noconf: no early-vfio lines in the kernel log" eval "[ -z \"\$(vm_klog '$W/noconf.out')\" ]"
	boot_and_check by-address "$W/by-address.initrd" "" "vfio-pci vfio-pci nvme"
	boot_and_check off "$W/by-address.initrd" "early-vfio=off" "ahci nvme nvme"
	check "off: kernel log says early-vfio is disabled on the kernel command line" \
		eval "vm_klog '$W/off.out' | grep -q 'early-vfio: disabled on the kernel command line'"
	boot_and_check by-ids "$W/by-ids.initrd" "" "vfio-pci vfio-pci vfio-pci"
	boot_and_check by-serial "$W/by-serial.initrd" "" "ahci nvme vfio-pci"
	serial_checks by-serial "through VFIO"

	# The Debian 12 package on Debian 13 (apt install): installed, configured, purged; the
	# configured image binds like by-address.
	if [ -n "$deb" ]; then
		wait "$deb_pid"
		deb_pid=
		deb_rc=$(cat "$W/deb-test.rc" 2>/dev/null || echo none)
		while IFS= read -r l; do
			case $l in
			"ok: "*) pass "deb-apt: ${l#ok: }" ;;
			"FAIL: "*) fail "deb-apt: ${l#FAIL: }" ;;
			esac
		done <"$W/deb-test.log"
		check "deb-apt: scripts/deb/test-install.sh ends with 0 failed (log: $W/deb-test.log)" \
			eval "[ $deb_rc = 0 ] && grep -q ' passed, 0 failed$' '$W/deb-test.log'"
		if cp "$W/deb-images/configured.initrd" "$W/deb-apt.initrd" 2>/dev/null; then
			deb_image_checks deb-apt
			boot_and_check deb-apt "$W/deb-apt.initrd" "" "vfio-pci vfio-pci nvme"
		else
			fail "deb-apt: test-install.sh saved the configured image"
		fi
	fi

	# Issue 17: the IOMMU off (no vIOMMU): nothing is bound, every controller keeps its host
	# driver, and the kernel log says why, one line per selected device.
	VM_IOMMU=none boot_and_check iommu-off "$W/by-address.initrd" "" "ahci nvme nvme"
	for a in "$VM_AHCI2_ADDR" "$VM_NVME_A_ADDR"; do
		check "iommu-off: kernel log: ${a#0000:} not bound, it has no IOMMU group (one line)" \
			eval "[ \"\$(vm_klog '$W/iommu-off.out' | grep -F '$a' | grep -c 'has no IOMMU group')\" = 1 ]"
	done
	dsn_gpu_checks

	# Row 4: row 2's by-address image on a machine with an AMD IOMMU.
	row_begin "$trixie_row-amd-iommu" "13 trixie" amd
	VM_IOMMU=amd boot_and_check by-address-amd "$W/by-address.initrd" "" "vfio-pci vfio-pci nvme"
	amd_iommu_checks by-address-amd
	# Identify through VFIO maps its DMA buffer through the AMD IOMMU here.
	VM_IOMMU=amd boot_and_check by-serial-amd "$W/by-serial.initrd" "" "ahci nvme vfio-pci"
	serial_checks by-serial-amd "through VFIO"

	# Row 3: the newest kernel Debian offers, from trixie-backports; the 6.12 kernel purged.
	row=trixie-backports-setup
	row_setup trixie-backports trixie 1
	row_begin "trixie-backports-$(kshort "$VM_KVER")" "13 trixie + backports" intel
	n=$(find "$VM_TREE/boot" -maxdepth 1 -name 'vmlinuz-*' | wc -l)
	m=$(find "$VM_TREE/lib/modules" -mindepth 1 -maxdepth 1 | wc -l)
	newest=$(printf '%s\n' "$VM_KVER" "$trixie_kver" | sort -V | tail -n 1)
	check "by-address: the tree has one kernel, $VM_KVER, newer than trixie's $trixie_kver (kernels: $n, module trees: $m)" \
		eval "[ '$n' = 1 ] && [ '$m' = 1 ] && [ '$newest' = '$VM_KVER' ] && [ '$VM_KVER' != '$trixie_kver' ]"
	build_image by-address "$scen/by-address.conf"
	boot_and_check by-address "$W/by-address.initrd" "" "vfio-pci vfio-pci nvme"
	vm_log "rows 2-4 (trixie): $(($(vm_now) - t0)) s"
}

want_row bookworm && rows_bookworm
want_row group && ! want_row bookworm && rows_group
want_row trixie && rows_trixie
want_row dracut && rows_dracut
want_row sriov && rows_sriov
want_row host-in-use && rows_host_in_use

vm_log "timings: total $(($(vm_now) - t_start)) s"
finish

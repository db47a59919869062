# shellcheck shell=bash
# shellcheck disable=SC2154 # base, evfio, scen: set by tests/vm/run.sh, which sources this file
# Sourced by tests/vm/run.sh (EVFIO_VM_ROWS=dracut): the rows whose images dracut builds, on the
# same guest hardware as the initramfs-tools rows (see lib.sh), with run.sh's build checks and
# boot_and_check/serial_checks.
#
#   trixie-dracut-6.12         Debian 13 after `apt install dracut` (initramfs-tools removed), its
#                              6.12 kernel, dracut's default systemd initrd: no config, invalid config
#                              (dracut fails, the previous image stays), by address among identical
#                              IDs, early-vfio=off, by NVMe serial
#   trixie-dracut-6.12-shell   the same guest, by address with an image built with --omit systemd
#                              (dracut's shell init runs the pre-udev hooks)
#   forky-7.2                  Debian 14 (forky) as debootstrap installs it: its own kernel, dracut
#                              as the kernel's default generator, systemd initrd: by address, by serial
#
# Every image with a config is checked with dracut's own lsinitrd (run in the guest tree) and with
# `early-vfio check --initramfs`; every boot that binds checks that the kernel log has early-vfio's
# lines before udev's first driver probe (the first ahci or nvme line), and which initrd ran them:
# in the systemd initrd systemd's "dracut-pre-udev.service" status lines enclose them on the
# console, before systemd-udevd.service starts, and the journal's copy of early-vfio's stderr on the
# console is signed "dracut-pre-udev[PID]"; in the shell initrd no systemd ran before the guest
# check (init=/sbin/evfio-guest-check), so the console has no "systemd[1]" line at all.
# Knob: EVFIO_VM_DRACUT_ARGS adds arguments to every dracut run.

dracut_prefetch_pids=

# dracut_prefetch   build the two rootfs in the background while the other rows run
dracut_prefetch() {
	EVFIO_VM_SUITE=forky "$EVFIO_TOP/scripts/vm-rootfs.sh" "$EVFIO_VM_CACHE" >"$base/rootfs-forky.log" 2>&1 &
	dracut_prefetch_pids="$!"
	EVFIO_VM_SUITE=trixie EVFIO_VM_DRACUT=1 "$EVFIO_TOP/scripts/vm-rootfs.sh" "$EVFIO_VM_CACHE" \
		>"$base/rootfs-trixie-dracut.log" 2>&1 &
	dracut_prefetch_pids="$dracut_prefetch_pids $!"
}

# vm_dracut NAME [ARGS...]   dracut -f --no-hostonly (the chroot is not the machine that boots) for
# the tree's kernel, in the guest tree; log in $W/NAME.dracut.log. Returns dracut's status; on
# success the image is copied to $W/NAME.initrd.
vm_dracut() {
	local name=$1 rc=0 t0
	shift
	t0=$(vm_now)
	# shellcheck disable=SC2086 # EVFIO_VM_DRACUT_ARGS: words
	vm_run_logged "$W/$name.dracut.log" vm_chroot "$VM_TREE" dracut -f --no-hostonly \
		${EVFIO_VM_DRACUT_ARGS:-} "$@" --kver "$VM_KVER" || rc=$?
	vm_log "dracut ($name${*:+ $*}): status $rc in $(($(vm_now) - t0)) s"
	[ "$rc" = 0 ] && cp "$VM_TREE/boot/initrd.img-$VM_KVER" "$W/$name.initrd"
	return "$rc"
}

# dracut_list NAME   the image's paths as the guest's own lsinitrd lists them (NAME.lsinitrd: its
# output; NAME.list: one path a line, as lsinitramfs prints them, for image_has/image_vfio_deps)
dracut_list() {
	vm_chroot "$VM_TREE" lsinitrd "/boot/initrd.img-$VM_KVER" >"$W/$1.lsinitrd" 2>&1 || return 1
	awk '$1 ~ /^[-dlcbps][-rwxsStT]+$/ && NF >= 9 { print $9 }' "$W/$1.lsinitrd" >"$W/$1.list"
	[ -s "$W/$1.list" ]
}

# dracut_has_module NAME   early-vfio is in the "dracut modules:" list lsinitrd prints
dracut_has_module() { sed -n '/^dracut modules:/,/^====/p' "$W/$1.lsinitrd" | grep -qx early-vfio; }

# dracut_file NAME PATH OUT   lsinitrd -f PATH of the image into OUT
dracut_file() {
	vm_chroot "$VM_TREE" lsinitrd -f "$2" "/boot/initrd.img-$VM_KVER" >"$3" 2>/dev/null && [ -s "$3" ]
}

# dracut_image NAME CONF systemd|shell [DRACUT ARGS...]   dracut with CONF; check the image
dracut_image() {
	local name=$1 conf=$2 flavour=$3 wanted missing
	shift 3
	vm_set_config "$conf"
	if vm_dracut "$name" "$@"; then
		pass "$name: dracut succeeds"
	else
		fail "$name: dracut succeeds (log: $W/$name.dracut.log)"
		return 1
	fi
	check "$name: lsinitrd lists the image" dracut_list "$name"
	check "$name: lsinitrd: the image's dracut modules include early-vfio" dracut_has_module "$name"
	check "$name: lsinitrd: usr/sbin/early-vfio" image_has "$name" '^usr/sbin/early-vfio$'
	check "$name: lsinitrd: etc/early-vfio.conf" image_has "$name" '^etc/early-vfio.conf$'
	check "$name: lsinitrd: the pre-udev hook" image_has "$name" '/dracut/hooks/pre-udev/00-early-vfio\.sh$'
	check "$name: lsinitrd: vfio-pci.ko" image_has "$name" '/vfio[-_]pci\.ko(\.[gx]z|\.zst)?$'
	check "$name: lsinitrd: vfio_iommu_type1.ko" image_has "$name" '/vfio_iommu_type1\.ko(\.[gx]z|\.zst)?$'
	check "$name: lsinitrd -f etc/early-vfio.conf is the config written" \
		eval "dracut_file '$name' etc/early-vfio.conf '$W/$name.conf' && cmp -s '$W/$name.conf' '$conf'"
	check "$name: the early-vfio in the image is statically linked (lsinitrd -f, file -L)" \
		eval "dracut_file '$name' usr/sbin/early-vfio '$W/$name.bin' && file -L '$W/$name.bin' | grep -q 'statically linked'"
	image_vfio_deps "$name"
	wanted=$(wc -l <"$W/$name.vfio-deps" 2>/dev/null)
	missing=$(paste -sd ' ' "$W/$name.vfio-missing" 2>/dev/null)
	check "$name: image holds all ${wanted:-0} modules modprobe --show-depends vfio-pci lists for $VM_KVER (missing: ${missing:-none})" \
		image_vfio_deps "$name"
	"$evfio" -c "$conf" check --initramfs "$W/$name.initrd" >"$W/$name.check" 2>&1
	check "$name: early-vfio check --initramfs says the image is ready" grep -qx 'image is ready' "$W/$name.check"
	check "$name: check --initramfs: built by dracut, hook in place, $flavour initrd runs it before udev" \
		eval "grep -q 'built by dracut' '$W/$name.check' && grep -q '^  ok   dracut pre-udev hook' '$W/$name.check' &&
			grep -q '^  ok   $flavour initrd: ' '$W/$name.check'"
	if [ "$flavour" = shell ]; then
		check "$name: lsinitrd: /init is dracut's shell script, no systemd in the image" \
			eval "! grep -qE ' init -> ' '$W/$name.lsinitrd' && ! image_has '$name' '^usr/lib/systemd/systemd$'"
	else
		check "$name: lsinitrd: /init is systemd, dracut-pre-udev.service wanted by initrd.target" \
			eval "grep -qE ' init -> (/?usr/lib|/?lib)/systemd/systemd$' '$W/$name.lsinitrd' &&
				image_has '$name' '/initrd\.target\.wants/dracut-pre-udev\.service$'"
	fi
}

# dracut_order NAME systemd|shell   the kernel log of boot NAME has early-vfio's lines before the
# first ahci/nvme probe, and shows which initrd ran them
dracut_order() {
	local name=$1 flavour=$2 out=$W/$1.out dm=$W/$1.dmesg con=$W/$1.console e p s f u
	vm_reached_userspace "$out" || return 0	# boot_and_check has failed it already
	vm_section "$out" dmesg >"$dm"
	e=$(grep -n 'early-vfio: ' "$dm" | tail -n 1 | cut -d: -f1)
	p=$(grep -nE '\] (ahci|nvme) [0-9a-f]{4}:|\] nvme nvme[0-9]' "$dm" | head -n 1 | cut -d: -f1)
	check "$name: kernel log: early-vfio's last line (line ${e:-none}) comes before udev's first ahci/nvme probe (line ${p:-none})" \
		eval "[ -n '$e' ] && [ -n '$p' ] && [ '$e' -lt '$p' ]"
	# The console (kernel messages and systemd's status lines, in the order they were written).
	sed 's/\x1b\][^\x07\x1b]*\(\x07\|\x1b\\\)//g; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\r//g' \
		"$W/$name.serial" 2>/dev/null | awk '/==EVFIO-BEGIN==/ { exit } { print }' >"$con"
	if [ "$flavour" = systemd ]; then
		s=$(grep -n 'dracut-pre-udev' "$con" | head -n 1 | cut -d: -f1)
		e=$(grep -n 'early-vfio: ' "$con" | head -n 1 | cut -d: -f1)
		f=$(grep -n 'Finished.*dracut-pre-udev' "$con" | head -n 1 | cut -d: -f1)
		u=$(grep -n 'systemd-udevd\.service' "$con" | head -n 1 | cut -d: -f1)
		check "$name: systemd initrd: the console shows dracut-pre-udev.service starting (line ${s:-none}) before early-vfio's first line (${e:-none}), finishing (${f:-none}) before systemd-udevd (${u:-none})" \
			eval "[ -n '$s' ] && [ -n '$e' ] && [ -n '$f' ] && [ -n '$u' ] && [ '$s' -lt '$e' ] && [ '$e' -lt '$f' ] && [ '$f' -lt '$u' ]"
		# The unit's output goes to the journal and the console under the name of the process
		# that wrote it: early-vfio's stderr shows up as "dracut-pre-udev[PID]: early-vfio: ...".
		check "$name: systemd initrd: the console names dracut-pre-udev as the process early-vfio ran under" \
			grep -qE 'dracut-pre-udev\[[0-9]+\]: early-vfio: ' "$con"
	else
		check "$name: shell initrd: no systemd ran before the guest check (no 'systemd' line on the console)" \
			eval "! grep -q 'systemd\[1\]' '$con' && ! grep -q 'dracut-pre-udev.service' '$con'"
	fi
}

# dracut_guest SUITE DRACUT   a guest of its own for the suite (DRACUT=1: the release with dracut
# installed in place of initramfs-tools; forky has it already)
dracut_guest() {
	VM_WORK=$base/$1-dracut
	mkdir -p "$VM_WORK" || vm_die "mkdir $VM_WORK"
	EVFIO_VM_DRACUT=$2 VM_SUITE=$1 VM_BACKPORTS=0 vm_setup
	W=$VM_WORK
	[ -x "$VM_TREE/usr/bin/dracut" ] || vm_die "no dracut in the $1 guest tree"
	[ -f "$VM_TREE/usr/lib/dracut/modules.d/90early-vfio/module-setup.sh" ] ||
		vm_die "make install did not install the dracut module into the $1 guest tree"
}

rows_dracut() {
	local t0 t1 rc=0 p noconf_sum main_row
	t0=$(vm_now)
	for p in $dracut_prefetch_pids; do
		wait "$p" || rc=$?
	done
	dracut_prefetch_pids=
	[ "$rc" = 0 ] || tail -n 30 "$base/rootfs-forky.log" "$base/rootfs-trixie-dracut.log" >&2
	vm_log "dracut rootfs (background): status $rc, waited $(($(vm_now) - t0)) s for them"

	# Debian 13 with dracut instead of initramfs-tools.
	row=trixie-dracut-setup
	dracut_guest trixie 1
	row_begin "trixie-dracut-$(kshort "$VM_KVER")" "13 trixie + dracut" intel
	main_row=$row
	check "setup: initramfs-tools is gone from the tree (apt removed it for dracut)" \
		test ! -e "$VM_TREE/usr/sbin/update-initramfs"

	# No config: dracut builds an image without early-vfio.
	vm_set_config -
	if vm_dracut noconf; then
		pass "noconf: dracut succeeds"
		check "noconf: dracut leaves the early-vfio module out (lsinitrd)" \
			eval "dracut_list noconf && ! dracut_has_module noconf && ! image_has noconf 'early-vfio'"
		check "noconf: early-vfio check --initramfs says the image is not ready" \
			not image_ready "$scen/by-address.conf" noconf
	else
		fail "noconf: dracut succeeds (log: $W/noconf.dracut.log)"
	fi
	noconf_sum=$(sha256sum <"$VM_TREE/boot/initrd.img-$VM_KVER")

	# An invalid config fails dracut and leaves the image in place (the noconf one, booted below).
	vm_set_config "$scen/invalid.conf"
	if vm_dracut invalid; then
		fail "invalid: dracut fails"
	else
		pass "invalid: dracut fails"
	fi
	check "invalid: the error names /etc/early-vfio.conf:3 and the bad key" \
		grep -Eq "/etc/early-vfio.conf:3: .*adress" "$W/invalid.dracut.log"
	check "invalid: the previous image is unchanged (the noconf image, booted below)" \
		test "$(sha256sum <"$VM_TREE/boot/initrd.img-$VM_KVER")" = "$noconf_sum"
	check "invalid: dracut left no temporary tree behind" \
		eval "[ -z \"\$(find '$VM_TREE/var/tmp' '$VM_TREE/tmp' -maxdepth 1 -name 'dracut.*' 2>/dev/null)\" ]"

	dracut_image by-address "$scen/by-address.conf" systemd
	dracut_image by-serial "$scen/by-serial.conf" systemd
	row_begin "$main_row-shell" "13 trixie + dracut" intel
	dracut_image shell "$scen/by-address.conf" shell --omit systemd
	row=$main_row
	t1=$(vm_now)

	boot_and_check noconf "$W/noconf.initrd" "" "ahci nvme nvme"
	check "noconf: no early-vfio lines in the kernel log" eval "[ -z \"\$(vm_klog '$W/noconf.out')\" ]"
	boot_and_check by-address "$W/by-address.initrd" "" "vfio-pci vfio-pci nvme"
	dracut_order by-address systemd
	boot_and_check off "$W/by-address.initrd" "early-vfio=off" "ahci nvme nvme"
	check "off: kernel log says early-vfio is disabled on the kernel command line" \
		eval "vm_klog '$W/off.out' | grep -q 'early-vfio: disabled on the kernel command line'"
	boot_and_check by-serial "$W/by-serial.initrd" "" "ahci nvme vfio-pci"
	serial_checks by-serial "through VFIO"
	dracut_order by-serial systemd
	row_begin "$main_row-shell" "13 trixie + dracut" intel
	boot_and_check shell "$W/shell.initrd" "" "vfio-pci vfio-pci nvme"
	dracut_order shell shell
	vm_log "trixie-dracut rows: images $((t1 - t0)) s, boots $(($(vm_now) - t1)) s"

	# Debian 14: its kernel, dracut as debootstrap installs it for that kernel.
	t0=$(vm_now)
	row=forky-setup
	dracut_guest forky 0
	row_begin "forky-$(kshort "$VM_KVER")" "14 forky" intel
	main_row=$row
	dracut_image by-address "$scen/by-address.conf" systemd
	dracut_image by-serial "$scen/by-serial.conf" systemd
	# No shell initrd here: forky's minbase has no switch_root (util-linux no longer ships it), so
	# dracut --omit systemd logs "Failed to install switch_root" and its image cannot leave the
	# initrd (early-vfio binds in it all the same). The shell initrd is the trixie row's.
	t1=$(vm_now)
	boot_and_check by-address "$W/by-address.initrd" "" "vfio-pci vfio-pci nvme"
	dracut_order by-address systemd
	boot_and_check by-serial "$W/by-serial.initrd" "" "ahci nvme vfio-pci"
	serial_checks by-serial "through VFIO"
	dracut_order by-serial systemd
	vm_log "forky rows: images $((t1 - t0)) s, boots $(($(vm_now) - t1)) s"
}

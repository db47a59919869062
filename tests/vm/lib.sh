# shellcheck shell=bash
# Shared by tests/vm/run.sh (make check) and scripts/demo.sh (make demo): build a Debian guest
# (bookworm by default; trixie, with or without the trixie-backports kernel, for run.sh's other
# rows) with early-vfio installed, build its initramfs with a given config, boot it in QEMU (TCG,
# q35 + intel-iommu, or amd-iommu) with twin AHCI controllers and two NVMe controllers, and read
# back what the guest saw. Source it from bash; it sets no shell options of its own.
#
# Guest PCI layout (all on pcie.0):
#   00:1f.2  built-in ICH9 AHCI [8086:2922]  root disk (1500M)        must stay on ahci
#   00:03.0  second ich9-ahci   [8086:2922]  disk  32M =  65536 sectors (identical twin of 1f.2)
#   00:04.0  nvme serial EVFIO-A [1b36:0010] disk  48M =  98304 sectors
#   00:05.0  nvme serial EVFIO-B [1b36:0010] disk  64M = 131072 sectors
#
# Knobs: KEEP=1 keeps the work directory, VERBOSE=1 shows command output and serial logs,
# EVFIO_VM_CACHE (default .cache/vm), EVFIO_VM_TIMEOUT (per boot, default 300 s),
# EVFIO_VM_SMP (guest CPUs, default 1: see vm_boot_flake), VM_QEMU_EXTRA (more QEMU arguments),
# EVFIO_VM_BINARY=FILE installs FILE instead of `make install` (to try a harness change without
# a build), VM_SUITE=bookworm|trixie and VM_BACKPORTS=0|1 pick the release for vm_setup,
# VM_IOMMU=intel|amd|none (default intel) the guest's vIOMMU for vm_boot, VM_NVME_SWAP=1 swaps the
# NVMe drives' serials, VM_NVME_B=off leaves the second NVMe drive out.

EVFIO_TOP=${EVFIO_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
EVFIO_VM_CACHE=${EVFIO_VM_CACHE:-$EVFIO_TOP/.cache/vm}
EVFIO_VM_TIMEOUT=${EVFIO_VM_TIMEOUT:-300}
VM_ROOT_UUID=5e7f0a1c-ea51-4f10-9e0d-000000e4f10a	# fixed: the guest mounts root by UUID
VM_BOOT_ADDR=0000:00:1f.2
VM_AHCI2_ADDR=0000:00:03.0
VM_NVME_A_ADDR=0000:00:04.0
VM_NVME_B_ADDR=0000:00:05.0
declare -A VM_DISK_SECTORS=(
	["$VM_AHCI2_ADDR"]=65536
	["$VM_NVME_A_ADDR"]=98304
	["$VM_NVME_B_ADDR"]=131072
)

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$*" >&2; exit 1; }
vm_verbose() { [ "${VERBOSE:-0}" != 0 ]; }

# Run "$@" with output to LOG (first argument); with VERBOSE=1 also on stderr.
vm_run_logged()
{
	local log=$1
	shift
	if vm_verbose; then
		"$@" 2>&1 | tee "$log" >&2
		return "${PIPESTATUS[0]}"
	fi
	"$@" >"$log" 2>&1
}

vm_now() { date +%s; }

# The host tools the VM needs. With INSTALL=1 (and root) missing Debian packages are installed.
vm_check_tools()
{
	local install=${1:-0} missing=() pkgs=() t p
	local -A pkg_of=(
		[qemu-system-x86_64]=qemu-system-x86 [debootstrap]=debootstrap [mkfs.ext4]=e2fsprogs
		[unmkinitramfs]=initramfs-tools [lsinitramfs]=initramfs-tools [unshare]=util-linux
		[timeout]=coreutils [flock]=util-linux
		# tests/vm/run.sh: scenario 7 reads the guest's disk, scenario 8 builds the .deb
		[debugfs]=e2fsprogs [e2fsck]=e2fsprogs [file]=file [strip]=binutils [dpkg-deb]=dpkg
	)
	[ "$(id -u)" = 0 ] || { vm_log "the VM test needs root (debootstrap, chroot, unshare)"; return 1; }
	for t in "${!pkg_of[@]}"; do
		command -v "$t" >/dev/null 2>&1 || { missing+=("$t"); pkgs+=("${pkg_of[$t]}"); }
	done
	[ "${#missing[@]}" = 0 ] && return 0
	if [ "$install" = 1 ] && command -v apt-get >/dev/null; then
		# shellcheck disable=SC2207 # package names have no spaces
		pkgs=($(printf '%s\n' "${pkgs[@]}" | sort -u))
		vm_log "installing ${pkgs[*]}"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >&2 \
			|| return 1
		for p in "${missing[@]}"; do command -v "$p" >/dev/null || return 1; done
		return 0
	fi
	vm_log "missing host tools: ${missing[*]} (apt-get install ${pkgs[*]})"
	return 1
}

# New work directory under the cache (same filesystem as the rootfs, so copies can reflink).
# Removed at exit unless KEEP=1.
vm_workdir_new()
{
	mkdir -p "$EVFIO_VM_CACHE"
	VM_WORK=$(mktemp -d "$EVFIO_VM_CACHE/work.XXXXXX")
	if [ "${KEEP:-0}" != 0 ]; then
		vm_log "KEEP=1: work directory $VM_WORK stays"
	else
		# shellcheck disable=SC2064 # expand now: the path is fixed
		trap "rm -rf --one-file-system '$VM_WORK'" EXIT
	fi
}

# Run a command chrooted into TREE with proc/sys/dev mounted in a private mount namespace, so
# nothing stays mounted (or leaks to the host) when it ends, even on failure.
vm_chroot()
{
	local tree=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --propagation private -- /bin/sh -c '
		t=$1; shift
		mount -t proc proc "$t/proc" && mount -t sysfs sysfs "$t/sys" &&
			mount --rbind /dev "$t/dev" || exit 1
		exec chroot "$t" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
	' vm-chroot "$tree" "$@"
}

vm_kver() { find "$1/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1; }

# Set up $VM_WORK: a fresh copy of the cached rootfs of release $VM_SUITE (default bookworm; with
# VM_BACKPORTS=1 the one with the $VM_SUITE-backports kernel; with VM_PACKAGES="P1 P2" the one with
# those packages installed, see scripts/vm-rootfs.sh) with
# early-vfio installed and the guest check as init, the root disk image, and the empty data disks.
# Sets VM_TREE and VM_KVER.
# The guest's /etc/fstab: its root by its controller's path, as an image builder knows it. In a
# chroot the hook's record protects 00:1f.2 from this line (the guest itself mounts root by UUID);
# a chroot without one is "system unknown" and storage sections are refused at boot.
vm_fstab()
{
	printf '/dev/disk/by-path/pci-%s-ata-1 / ext4 defaults 0 1\n' "$VM_BOOT_ADDR"
}

vm_setup()
{
	local rootfs t0 suite=${VM_SUITE:-bookworm} bpo=${VM_BACKPORTS:-0}
	t0=$(vm_now)
	rootfs=$(EVFIO_VM_SUITE=$suite EVFIO_VM_BACKPORTS=$bpo EVFIO_VM_PACKAGES=${VM_PACKAGES:-} \
		"$EVFIO_TOP/scripts/vm-rootfs.sh" "$EVFIO_VM_CACHE") ||
		vm_die "could not build the $suite rootfs (backports: $bpo)"
	VM_TREE=$VM_WORK/tree
	cp -a --reflink=auto "$rootfs" "$VM_TREE"
	rm -f "$VM_TREE/.evfio-rootfs-ready"
	vm_install_project "$VM_TREE"
	vm_install_guest_scripts "$VM_TREE"
	rm -f "$VM_TREE/etc/early-vfio.conf"	# every build sets (or removes) its own config
	vm_fstab >"$VM_TREE/etc/fstab"
	VM_KVER=$(vm_kver "$VM_TREE")
	if [ -z "$VM_KVER" ] || [ ! -f "$VM_TREE/boot/vmlinuz-$VM_KVER" ]; then
		vm_die "no kernel in $VM_TREE"
	fi
	# The root image only carries userspace and the guest check; each boot passes its own initrd,
	# and boots use snapshot=on, so one image serves every boot of the run.
	mkfs.ext4 -q -F -U "$VM_ROOT_UUID" -L evfio-root -d "$VM_TREE" "$VM_WORK/root.img" 1500M >/dev/null \
		|| vm_die "mkfs.ext4 -d failed"
	truncate -s 32M "$VM_WORK/ahci2.img"
	truncate -s 48M "$VM_WORK/nvme-a.img"
	truncate -s 64M "$VM_WORK/nvme-b.img"
	vm_log "guest prepared in $(($(vm_now) - t0)) s ($suite, kernel $VM_KVER)"
}

# vm_install_guest_scripts TREE   the guest inits (tests/vm/guest-NAME.sh as /sbin/evfio-guest-NAME;
# evfio-guest-check is the default init) and the scenario configs (/usr/share/evfio-test/) for
# guests that build their own image.
vm_install_guest_scripts()
{
	local tree=$1 f n
	for f in "$EVFIO_TOP"/tests/vm/guest-*.sh; do
		n=${f##*/}
		install -m 0755 "$f" "$tree/sbin/evfio-${n%.sh}" || vm_die "installing $f into $tree failed"
	done
	if ! install -d "$tree/usr/share/evfio-test" ||
		! install -m 0644 "$EVFIO_TOP"/tests/vm/scenarios/*.conf "$tree/usr/share/evfio-test/"; then
		vm_die "installing the scenario configs into $tree failed"
	fi
}

# make install into TREE, or EVFIO_VM_BINARY plus the hooks when set.
vm_install_project()
{
	local tree=$1 d=/usr/share/initramfs-tools
	if [ -n "${EVFIO_VM_BINARY:-}" ]; then
		# shellcheck disable=SC2015 # vm_die exits: it is the else of the whole chain
		install -D -m 0755 "$EVFIO_VM_BINARY" "$tree/usr/sbin/early-vfio" &&
			install -D -m 0755 "$EVFIO_TOP/hooks/initramfs-tools/hook" "$tree$d/hooks/early-vfio" &&
			install -D -m 0755 "$EVFIO_TOP/hooks/initramfs-tools/init-top" "$tree$d/scripts/init-top/early-vfio" &&
			install -D -m 0755 "$EVFIO_TOP/hooks/initramfs-tools/post-update" "$tree/etc/initramfs/post-update.d/early-vfio" &&
			install -D -m 0644 "$EVFIO_TOP/hooks/early-vfio-build.sh" "$tree/usr/share/early-vfio/early-vfio-build.sh" &&
			install -D -m 0755 -t "$tree/usr/lib/dracut/modules.d/90early-vfio" "$EVFIO_TOP"/hooks/dracut/90early-vfio/*.sh ||
			vm_die "installing $EVFIO_VM_BINARY into $tree failed"
		return 0
	fi
	vm_run_logged "$VM_WORK/make-install.log" make -C "$EVFIO_TOP" install DESTDIR="$tree" PREFIX=/usr \
		|| { tail -n 20 "$VM_WORK/make-install.log" >&2; vm_die "make install DESTDIR=$tree failed"; }
	[ -x "$tree/usr/sbin/early-vfio" ] || vm_die "make install did not install usr/sbin/early-vfio"
}

# vm_set_config CONF|-   write CONF (a file) as the guest's /etc/early-vfio.conf, or remove it (-).
vm_set_config()
{
	if [ "$1" = - ]; then
		rm -f "$VM_TREE/etc/early-vfio.conf"
	else
		install -m 0644 "$1" "$VM_TREE/etc/early-vfio.conf"
	fi
}

# vm_update_initramfs NAME   update-initramfs -u -k all in the guest tree; log in $VM_WORK/NAME.uinit.log.
# Returns update-initramfs' status. On success the image is copied to $VM_WORK/NAME.initrd.
vm_update_initramfs()
{
	local name=$1 rc=0 t0
	t0=$(vm_now)
	vm_run_logged "$VM_WORK/$name.uinit.log" vm_chroot "$VM_TREE" update-initramfs -u -k all || rc=$?
	vm_log "update-initramfs ($name): status $rc in $(($(vm_now) - t0)) s"
	[ "$rc" = 0 ] && cp "$VM_TREE/boot/initrd.img-$VM_KVER" "$VM_WORK/$name.initrd"
	return "$rc"
}

# vm_boot NAME INITRD [APPEND...]   boot the guest; its report goes to $VM_WORK/NAME.out (empty
# when the guest never got there), the raw serial log to $VM_WORK/NAME.serial. Returns QEMU's status.
# The root disk is $VM_WORK/root.img with snapshot=on (writes are thrown away); set VM_BOOT_ROOT=FILE
# and VM_BOOT_SNAPSHOT=off for a boot whose writes must stay on the disk. VM_IOMMU=amd boots with
# -device amd-iommu (Linux turns AMD-Vi on from the IVRS table, no option) instead of intel-iommu
# with intel_iommu=on.
vm_boot()
{
	local name=$1 initrd=$2 rc t0 w=$VM_WORK attempt=1 why
	local root=${VM_BOOT_ROOT:-$VM_WORK/root.img} snap=${VM_BOOT_SNAPSHOT:-on}
	local iommu=intel-iommu iommu_opt=intel_iommu=on
	local -a extra nvme_b=() iommu_dev
	local sa=EVFIO-A sb=EVFIO-B
	shift 2
	read -r -a extra <<<"${VM_QEMU_EXTRA:-}"
	case ${VM_IOMMU:-intel} in
	intel) ;;
	amd) iommu=amd-iommu iommu_opt= ;;
	none) iommu='' iommu_opt='' ;;
	*) vm_log "VM_IOMMU=$VM_IOMMU: intel, amd or none"; return 1 ;;
	esac
	iommu_dev=()
	[ -n "$iommu" ] && iommu_dev=(-device "$iommu")
	# VM_NVME_SWAP=1: the two drives' serials swapped; VM_NVME_B=off: the second drive removed
	[ "${VM_NVME_SWAP:-0}" = 1 ] && sa=EVFIO-B sb=EVFIO-A
	[ "${VM_NVME_B:-on}" = on ] && nvme_b=(-drive "if=none,id=d-nvme-b,file=$w/nvme-b.img,format=raw,snapshot=on"
		-device "nvme,serial=$sb,addr=05.0,drive=d-nvme-b")
	while :; do
		rc=0
		t0=$(vm_now)
		timeout --kill-after=10 "$EVFIO_VM_TIMEOUT" qemu-system-x86_64 \
			-accel tcg -cpu max -M q35 -m 1024 -smp "${EVFIO_VM_SMP:-1}" \
			"${iommu_dev[@]}" \
			-kernel "$VM_TREE/boot/vmlinuz-$VM_KVER" -initrd "$initrd" \
			-append "root=UUID=$VM_ROOT_UUID ro console=ttyS0 $iommu_opt panic=-1 no_timer_check log_buf_len=8M init=/sbin/evfio-guest-check $*" \
			-no-reboot -display none -vga none -nic none -monitor none -serial "file:$w/$name.serial" \
			-drive "if=none,id=root,file=$root,format=raw,snapshot=$snap" \
			-device ide-hd,drive=root,bus=ide.0 \
			-device ich9-ahci,bus=pcie.0,addr=03.0,id=ahci2 \
			-drive "if=none,id=d-ahci2,file=$w/ahci2.img,format=raw,snapshot=on" -device ide-hd,drive=d-ahci2,bus=ahci2.0 \
			-drive "if=none,id=d-nvme-a,file=$w/nvme-a.img,format=raw,snapshot=on" \
			-device "nvme,serial=$sa,addr=04.0,drive=d-nvme-a" \
			"${nvme_b[@]}" \
			"${extra[@]}" \
			</dev/null >"$w/$name.qemu.log" 2>&1 || rc=$?
		vm_count boots "$name"
		# Strip CR and terminal escape sequences, keep what is between the guest's markers.
		vm_clean_serial "$w/$name.serial" |
			awk '/==EVFIO-END==/ { exit } f { print } /==EVFIO-BEGIN==/ { f = 1 }' >"$w/$name.out"
		vm_log "boot ($name, ${VM_KVER}, ${iommu:-no IOMMU}): QEMU status $rc in $(($(vm_now) - t0)) s"
		if vm_verbose; then
			vm_log "serial log of $name:"
			sed 's/\r//g' "$w/$name.serial" >&2
		fi
		why=$(vm_boot_flake "$w/$name.serial" "$rc")
		# shellcheck disable=SC2015 # break is the else of the whole test
		[ -n "$why" ] && [ "$attempt" = 1 ] && [ "${VM_BOOT_SNAPSHOT:-on}" = on ] || break
		# Not a failure of the code under test: boot once more, and say so in the summary.
		vm_log "boot ($name): $why; booting it once more"
		vm_count retries "$name: $why"
		cp "$w/$name.serial" "$w/$name.serial.first"
		attempt=2
	done
	return "$rc"
}

# vm_boot_flake SERIAL STATUS   why a boot failed for a reason outside the code under test, or
# nothing: QEMU itself crashed (killed by a signal: not timeout's 124 and 137, a segfault is 139),
# or the guest kernel died before it ran /init (an Oops or panic before "Run /init", as TCG's
# cross-CPU code patching can cause). A guest that reached /init and then failed is never retried:
# that may be early-vfio's doing.
vm_boot_flake()
{
	local serial=$1 rc=$2
	if [ "$rc" -gt 128 ] && [ "$rc" != 137 ]; then
		echo "QEMU crashed (status $rc)"
	elif ! grep -q 'Run /init as init process' "$serial" 2>/dev/null &&
		grep -Eq 'Kernel panic|Oops|general protection fault' "$serial" 2>/dev/null; then
		echo "the guest kernel died before running /init ($(grep -Em1 'Kernel panic|Oops|general protection' "$serial" | sed 's/\r//; s/^\[[ 0-9.]*\] //'))"
	fi
}

# vm_count KIND TEXT   one line in $VM_COUNTS/KIND (boots, retries): counted across the background
# boots of a run, which run in subshells
vm_count() { [ -n "${VM_COUNTS:-}" ] && printf '%s\n' "$2" >>"$VM_COUNTS/$1"; return 0; }

# vm_clean_serial FILE   the serial log without CR, colour and OSC sequences (BEL- or ESC\-ended)
vm_clean_serial()
{
	sed 's/\x1b\][^\x07\x1b]*\(\x07\|\x1b\\\)//g; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\r//g' "$1" 2>/dev/null
}

# --- reading a guest report (FILE = $VM_WORK/NAME.out) ---

# vm_section FILE NAME   lines of one "## NAME" section
vm_section() { awk -v s="## $2" '$0 == s { f = 1; next } /^## / { f = 0 } f' "$1"; }

# vm_driver FILE ADDR   driver bound to ADDR as lspci -knn showed it ("none" if no driver line)
vm_driver()
{
	local slot=${2#0000:}
	vm_section "$1" lspci | awk -v slot="$slot" '
		/^[^\t ]/ { cur = $1 }
		cur == slot && /^[\t ]+Kernel driver in use:/ { sub(/.*: */, ""); d = $0 }
		END { print (d == "" ? "none" : d) }'
}

# vm_ids FILE ADDR   vendor:device of ADDR from the sysfs table
vm_ids() { vm_section "$1" pci | awk -v a="$2" '$1 == a { print $2 }'; }

# vm_blocks_behind FILE ADDR   block devices whose sysfs path goes through ADDR, or whose size is
# the size of the disk attached to ADDR
vm_blocks_behind()
{
	vm_section "$1" block | awk -v a="/$2/" -v n="${VM_DISK_SECTORS[$2]:-x}" \
		'index($4, a) || $2 == n { print $1 }'
}

vm_reached_userspace() { vm_section "$1" userspace | grep -q '^reached '; }

# vm_klog FILE   the early-vfio lines of the guest kernel log
vm_klog() { vm_section "$1" dmesg | grep 'early-vfio: ' || true; }

# vm_storage_table BEFORE AFTER   one lspci-style line per storage controller (class 01xx):
# address, [vendor:device], what it is, driver and disks before -> after
vm_storage_table()
{
	local before=$1 after=$2 a ids cls b_drv a_drv mark
	printf '  %-8s %-11s %-32s %-20s    %s\n' ADDRESS ID CONTROLLER BEFORE AFTER
	while read -r a ids cls _; do
		case $cls in 01*) ;; *) continue ;; esac
		b_drv="$(vm_driver "$before" "$a") ($(vm_disks_of "$before" "$a"))"
		a_drv="$(vm_driver "$after" "$a") ($(vm_disks_of "$after" "$a"))"
		mark=' '
		[ "$(vm_driver "$before" "$a")" = "$(vm_driver "$after" "$a")" ] || mark='*'
		printf '%s %-8s [%s] %-32s %-20s -> %s\n' "$mark" "${a#0000:}" "$ids" \
			"$(vm_describe "$before" "$a")" "$b_drv" "$a_drv"
	done < <(vm_section "$before" pci)
}

# vm_disks_of FILE ADDR   the disks behind ADDR, comma-separated, or "no disk"
vm_disks_of()
{
	local d
	d=$(vm_section "$1" block | awk -v a="/$2/" 'index($4, a) { print $1 }' | paste -sd ,)
	printf '%s' "${d:-no disk}"
}

# vm_describe FILE ADDR   what the controller is: lspci's class name plus our role for it
vm_describe()
{
	local name
	name=$(vm_section "$1" lspci | awk -v slot="${2#0000:}" '$1 == slot {
		sub(/^[^ ]+ /, ""); sub(/ \[[0-9a-f][0-9a-f][0-9a-f][0-9a-f]\]:.*/, ""); print; exit }')
	case $2 in
	"$VM_BOOT_ADDR") name="$name, boot disk" ;;
	"$VM_AHCI2_ADDR") name="$name, twin of 1f.2" ;;
	"$VM_NVME_A_ADDR") name="NVMe, serial EVFIO-A" ;;
	"$VM_NVME_B_ADDR") name="NVMe, serial EVFIO-B" ;;
	esac
	printf '%s' "$name"
}

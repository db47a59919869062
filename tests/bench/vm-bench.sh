#!/bin/bash
# vm-bench.sh - `make bench-vm` (not in make check: ~10 min): what early binding adds to the
# initramfs, in the VM of tests/vm (QEMU/TCG, Debian 12 guest), three ways on the same guest:
#   none   no early binding (no /etc/early-vfio.conf: the hook leaves early-vfio out)
#   seed   the guides' init-top script, the method early-vfio replaces:
#          `modprobe vfio-pci ids=1b36:0010` (tests/vm/scenarios/seed-init-top, no prereqs,
#          before udev; vfio_pci in /etc/initramfs-tools/modules)
#   evfio  early-vfio, one NVMe drive by address (address = 00:04.0)
# Every image carries three kernel-log markers: init-top begin (first script), udev start (just
# before init-top/udev), init-top end (after udev). The guest init (tests/vm/guest-bench.sh)
# powers off as soon as the root disk is reached. Boots are interleaved (none seed evfio none
# ...), BENCH_VM_BOOTS each (default 5), so drift on the shared host hits all three alike.
#
# Figures, from the guest kernel's timestamps on the serial console (ms):
#   begin-udev   init-top begin marker -> udev start marker: what the way adds before udev
#   ev-span      early-vfio's first to last log line (evfio)
#   ev-tail      early-vfio's last log line -> udev start marker: process exit, script end
# With BENCH_VM_ICOUNT=1 QEMU runs with -icount shift=0 (guest time = instructions executed, 1 ns
# each): far less noisy than TCG wall time, slower to boot.
#
# Usage: EVFIO_VM_CACHE=/work/vmcache tests/bench/vm-bench.sh   (root; the VM test's tools)
# Logs and the table stay in $EVFIO_VM_CACHE/bench-vm/<time>/. KEEP=1 keeps the work directory
# (images included); BENCH_VM_REUSE=THAT-DIR boots its images again without building anything;
# BENCH_VM_APPEND="..." adds kernel parameters (e.g. early-vfio.debug); BENCH_VM_WAYS="evfio"
# boots only some ways.
set -u
here=$(cd "$(dirname "$0")" && pwd)
EVFIO_TOP=$(cd "$here/../.." && pwd)
# shellcheck source=tests/vm/lib.sh disable=SC1091 # followed with shellcheck -x (make check-lint)
. "$EVFIO_TOP/tests/vm/lib.sh"
BOOTS=${BENCH_VM_BOOTS:-5}
read -r -a WAYS <<<"${BENCH_VM_WAYS:-none seed evfio}"
scen=$EVFIO_TOP/tests/vm/scenarios

vm_check_tools "${INSTALL:-0}" || exit 1
out=$EVFIO_VM_CACHE/bench-vm/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
if [ -n "${BENCH_VM_REUSE:-}" ]; then
	# boot the images of an earlier run again (its KEEP=1 work directory), nothing rebuilt
	VM_WORK=$(realpath "$BENCH_VM_REUSE")
	VM_TREE=$VM_WORK/tree
	VM_KVER=$(find "$VM_TREE/boot" -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
	for w in "${WAYS[@]}"; do
		[ -f "$VM_WORK/$w.initrd" ] || vm_die "BENCH_VM_REUSE: no $VM_WORK/$w.initrd"
	done
	build=0
else
	vm_workdir_new
	vm_setup
	build=1
fi

# the three images, from the one guest tree: markers in all, the seed's script or early-vfio's config
build_images() {
itop=$VM_TREE/usr/share/initramfs-tools/scripts/init-top
mods=$VM_TREE/etc/initramfs-tools/modules
install -m 0755 "$scen/mark-init-top-begin" "$itop/0-evfio-mark-begin"
install -m 0755 "$scen/mark-udev-start" "$itop/u-evfio-mark-udev"
install -m 0755 "$scen/mark-init-top-end" "$itop/zz-evfio-mark-end"
cp "$mods" "$VM_WORK/modules.orig"

# way images
vm_set_config -
vm_update_initramfs none || vm_die "update-initramfs (none) failed"

install -m 0755 "$scen/seed-init-top" "$itop/evfio-seed"
printf 'vfio_pci\n' >>"$mods"
vm_update_initramfs seed || vm_die "update-initramfs (seed) failed"
rm -f "$itop/evfio-seed"
cp "$VM_WORK/modules.orig" "$mods"

printf '# tests/bench/vm-bench.sh: one NVMe drive by address\n[nvme-a]\naddress = 00:04.0\n' >"$VM_WORK/evfio.conf"
vm_set_config "$VM_WORK/evfio.conf"
vm_update_initramfs evfio || vm_die "update-initramfs (evfio) failed"
}
[ "$build" = 0 ] || build_images

if [ "${BENCH_VM_ICOUNT:-0}" = 1 ]; then
	VM_QEMU_EXTRA="${VM_QEMU_EXTRA:-} -icount shift=0"
	export VM_QEMU_EXTRA
fi

# figures SERIAL: one boot's figures from its serial log, "begin->udev begin->ev-first
# begin->ev-last ev-span ev-tail begin->vfio-module" in ms; "-" for what the log lacks
figures() {
	vm_clean_serial "$1" | awk '
	function ts(line) { sub(/^\[ */, "", line); sub(/\].*/, "", line); return line * 1000 }
	/^\[ *[0-9]+\.[0-9]+\] / {
		t = ts($0)
		if (/evfio-mark: init-top begin/ && b == "") b = t
		if (/evfio-mark: udev start/ && u == "") u = t
		if (/evfio-mark: init-top end/ && e == "") e = t
		if (/\] early-vfio: /) { if (f == "") f = t; l = t }
		if (/VFIO - User Level meta-driver/ && v == "") v = t
		if (/evfio-mark: userspace/) us = t
	}
	function d(a, c) { return (a == "" || c == "") ? "-" : sprintf("%.1f", c - a) }
	END { printf "%s %s %s %s %s %s\n", d(b, u), d(b, f), d(b, l), d(f, l), d(l, u), d(b, v) }'
}

printf 'way\tboot\tbegin_udev_ms\tbegin_evfirst_ms\tbegin_evlast_ms\tev_span_ms\tev_tail_ms\tbegin_vfio_ms\n' >"$out/boots.tsv"
for ((i = 1; i <= BOOTS; i++)); do
	for w in "${WAYS[@]}"; do
		name=$w.$i
		# shellcheck disable=SC2086 # BENCH_VM_APPEND: words for the kernel command line
		vm_boot "$name" "$VM_WORK/$w.initrd" init=/sbin/evfio-guest-bench ${BENCH_VM_APPEND:-} >/dev/null 2>&1 ||
			vm_log "boot $name: QEMU status $?"
		cp "$VM_WORK/$name.serial" "$out/"
		read -r bu bf bl span tail bv < <(figures "$VM_WORK/$name.serial")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$i" "$bu" "$bf" "$bl" "$span" "$tail" "$bv" >>"$out/boots.tsv"
		vm_log "boot $name: init-top begin -> udev start ${bu} ms"
	done
done

python3 - "$out/boots.tsv" "$BOOTS" "${BENCH_VM_ICOUNT:-0}" <<'EOF' | tee "$out/report.txt"
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
icount = sys.argv[3] == "1"
def col(way, k):
    v = [float(r[k]) for r in rows if r[0] == way and r[k] != "-"]
    return v
def fmt(v):
    if not v:
        return "-"
    return "%.0f" % statistics.median(v)
print("early-vfio boot cost (tests/bench/vm-bench.sh): init-top begin -> udev start, guest kernel ms%s"
      % (", -icount shift=0 (guest time = instructions)" if icount else ", QEMU/TCG"))
print("%-6s %5s %9s %9s %9s %9s %10s" % ("way", "boots", "median", "min", "max", "spread", "added"))
med = {}
for w in ("none", "seed", "evfio"):
    v = col(w, 2)
    med[w] = statistics.median(v) if v else None
for w in ("none", "seed", "evfio"):
    v = col(w, 2)
    if not v:
        print("%-6s %5d %9s" % (w, 0, "-"))
        continue
    added = "" if w == "none" or med["none"] is None else "%+.0f" % (med[w] - med["none"])
    print("%-6s %5d %9.0f %9.0f %9.0f %9.0f %10s" % (w, len(v), med[w], min(v), max(v), max(v) - min(v), added))
ev = col("evfio", 5)
tail = col("evfio", 6)
first = col("evfio", 3)
print("evfio: begin -> first early-vfio line %s ms, first -> last line %s ms, last line -> udev start %s ms (medians)"
      % (fmt(first), fmt(ev), fmt(tail)))
print("seed: begin -> vfio module loaded %s ms; evfio: %s ms (medians)" % (fmt(col("seed", 7)), fmt(col("evfio", 7))))
if None not in med.values():
    a_seed = med["seed"] - med["none"]
    a_ev = med["evfio"] - med["none"]
    ok = a_ev <= 1.10 * a_seed
    print("%s  early-vfio adds at most 10%% more than the seed's script: %+.0f ms vs %+.0f ms (x%.2f)"
          % ("MET " if ok else "MISS", a_ev, a_seed, a_ev / a_seed if a_seed else float("nan")))
EOF
vm_log "logs and table in $out"

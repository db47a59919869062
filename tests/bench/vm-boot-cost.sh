#!/bin/bash
# vm-boot-cost.sh LOG... - early-vfio's boot cost, from saved guest serial logs / dmesg with
# kernel timestamps ("[    4.356531] ..."), e.g. the *.serial files that KEEP=1 runs of
# tests/vm/run.sh leave in .cache/vm/work.*/ (this script only reads them).
#
# Per log it prints (seconds, kernel clock):
#   init        "Run /init as init process": the initramfs starts
#   vfio        first "VFIO - User Level meta-driver" line: early-vfio loading vfio-pci
#               (or the kernel's own load, without early-vfio), an upper bound of its start
#   ev-first, ev-last, ev-span   first and last "early-vfio:" lines and the time between
#   ev-total    from the vfio line (or ev-first) to ev-last: the part of the bind visible in
#               the log (module load + scan + binds)
#   begin-to-ev-last  from the init-top begin marker to the last early-vfio line: everything
#               early-vfio adds before udev (init-top script, process start, module load,
#               scan, binds), an upper bound; the script polls every 0.1 s after that
#   init-top    the init-top phase, when the log carries the markers
#               "evfio-mark: init-top begin" and "evfio-mark: init-top end" (kmsg lines, see
#               tests/bench/README.md); otherwise
#   to-udev     from "Run /init" to the first kernel line after the console line
#               "Starting systemd-udevd": /init's set-up plus init-top up to udev's first
#               device; compare a boot with early-vfio and one without (noconf / off)
# ANSI colours (dmesg --color) are stripped; the guest-check dump that repeats the kernel log
# after "==EVFIO-BEGIN==" is used only for the early-vfio lines.
# Prints "name<TAB>value" lines per log, then one summary line per log; exit 1 if a log has
# no timestamps at all.
set -u
if [ $# -eq 0 ]; then
	echo "usage: $0 SERIAL-OR-DMESG-LOG..." >&2
	exit 1
fi
rc=0
for log in "$@"; do
	if [ ! -r "$log" ]; then
		echo "$log: cannot read" >&2
		rc=1
		continue
	fi
	sed 's/\x1b\[[0-9;]*m//g; s/\r$//' "$log" | awk -v name="$log" '
	function ts(line) { sub(/^\[ */, "", line); sub(/\].*/, "", line); return line + 0 }
	/^==EVFIO-BEGIN==/ { dump = 1 }
	/^\[ *[0-9]+\.[0-9]+\] / {
		t = ts($0); stamped++
		if (!dump && want_udev && udev == "") udev = t
		if (!dump && init == "" && /Run \/init as init process/) init = t
		if (vfio == "" && /VFIO - User Level meta-driver/) vfio = t
		if (/\] early-vfio: /) {
			if (evf == "" || t < evf) evf = t
			if (evl == "" || t > evl) evl = t
			nev++
		}
		if (/evfio-mark: init-top begin/ && mb == "") mb = t
		if (/evfio-mark: init-top end/ && me == "") me = t
		next
	}
	!dump && /Starting systemd-udevd/ { want_udev = 1 }
	END {
		if (!stamped) { printf "%s: no kernel timestamps\n", name > "/dev/stderr"; exit 1 }
		printf "%s\n", name
		printf "  init\t%s\n", init == "" ? "-" : sprintf("%.6f", init)
		printf "  vfio\t%s\n", vfio == "" ? "-" : sprintf("%.6f", vfio)
		if (nev) {
			printf "  ev-first\t%.6f\n  ev-last\t%.6f\n  ev-lines\t%d\n", evf, evl, nev
			printf "  ev-span\t%.3f ms\n", (evl - evf) * 1000
			start = (vfio != "" && vfio <= evf) ? vfio : evf
			printf "  ev-total\t%.3f ms\n", (evl - start) * 1000
		} else {
			printf "  ev-span\t- (no early-vfio: lines)\n"
		}
		if (mb != "" && nev && evl >= mb)
			printf "  begin-to-ev-last\t%.3f ms\n", (evl - mb) * 1000
		if (mb != "" && me != "") printf "  init-top\t%.3f ms\n", (me - mb) * 1000
		else printf "  init-top\t- (no evfio-mark: init-top begin/end lines)\n"
		if (init != "" && udev != "") printf "  to-udev\t%.3f ms\n", (udev - init) * 1000
		else printf "  to-udev\t- (no \"Run /init\" or \"Starting systemd-udevd\" line)\n"
		summary = sprintf("SUMMARY %s: early-vfio %s, to-udev %s", name,
			nev ? sprintf("%.1f ms (span %.1f ms)", (evl - start) * 1000, (evl - evf) * 1000) : "absent",
			(init != "" && udev != "") ? sprintf("%.1f ms", (udev - init) * 1000) : "-")
		if (mb != "" && me != "") summary = summary sprintf(", init-top %.1f ms", (me - mb) * 1000)
		if (mb != "" && me != "" && nev && evl >= mb)
			summary = summary sprintf(" (of which init-top begin to last early-vfio line %.1f ms, %.1f%%)",
				(evl - mb) * 1000, (evl - mb) * 100 / (me - mb))
		print summary
	}' || rc=1
done
exit "$rc"

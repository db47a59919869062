#!/bin/bash
# run.sh - `make bench`: early-vfio against the popular-guide shell loop and driverctl on
# synthetic sysfs trees of N PCI functions; prints one comparison table.
#
# For each N (tests/bench/tree.sh generates the tree once, then reuses it) it measures, on the
# same tree:
#   ev-bind-dry  early-vfio --sysroot T --config T/early-vfio.conf bind --dry-run
#   ev-status    ... status
#   ev-check     ... check
#   ev-static-dry  bind --dry-run with early-vfio-static (what the initramfs carries), if built
#   ev-bind      ... bind for real, with tests/fakesys/fakekernel.so preloaded, on a fresh
#                overlayfs copy of T per run (root only: private mount namespace; skipped
#                otherwise); the shim's own work counts in its instructions
#   guide-sh     tests/bench/baseline-guide.sh -n T IDS  (IDS = the config's ids= values)
#   driverctl    driverctl list-devices, with T/sys bind-mounted over /sys in a private mount
#                namespace (driverctl has no sysroot option; root only, skipped otherwise)
# Figures:
#   wall   median of hyperfine runs (early-vfio) or of a timed loop of BENCH_SHELL_RUNS runs
#          (the shell tools; one run above N=10000, where one run takes minutes)
#   instr  valgrind --tool=callgrind "I refs".  For the shell tools the whole process tree:
#          the shell itself under callgrind with --trace-children=yes, the programs it execs
#          for every device (cat, basename, readlink) skipped and added as
#          (exec count x one exec's measured count); exact up to the few hundred instructions
#          a forked subshell runs before its exec.  A full trace costs ~0.3 s per exec, so
#          above BENCH_SHELL_INSTR_MAX it is a linear fit of the two largest measured Ns,
#          marked '~'.
#   rss    peak resident set (/usr/bin/time %M, KiB; for a shell: its largest process)
#
# Env: BENCH_N="100 1000 10000 50000"  BENCH_RUNS=10 (early-vfio)  BENCH_SHELL_RUNS=3
#      BENCH_SHELL_INSTR_MAX=1000  BIN=./early-vfio  STATIC=./early-vfio-static ('' = skip)
#      BENCH_CACHE=.cache/bench
# Raw results: .cache/bench/results/<time>/results.tsv (and hyperfine JSON, callgrind files).
# Then tests/bench/floor.sh on the same Ns: CPU time and file opens of bind --dry-run against
# floor-c (tests/bench/floor.c: vendor and device of each function, nothing else) and the guide
# loop in dash with the read builtin (tests/bench/baseline-read.sh); its table in floor.txt.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BIN=$(realpath "${BIN:-$TOP/early-vfio}")
NS=${BENCH_N:-100 1000 10000 50000}
RUNS=${BENCH_RUNS:-10}
SHELL_RUNS=${BENCH_SHELL_RUNS:-3}
SHELL_INSTR_MAX=${BENCH_SHELL_INSTR_MAX:-1000}
CACHE=${BENCH_CACHE:-$TOP/.cache/bench}
export BENCH_CACHE=$CACHE

for t in valgrind hyperfine /usr/bin/time python3; do
	command -v "$t" >/dev/null || { echo "run.sh: $t is required (apt-get install valgrind hyperfine time python3)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "run.sh: no binary $BIN (run make)" >&2; exit 1; }
# the static binary is what the initramfs carries: measured too when it is built
STATIC=${STATIC-$TOP/early-vfio-static}
[ -x "$STATIC" ] && STATIC=$(realpath "$STATIC") || STATIC=

SHIM=$TOP/tests/fakesys/fakekernel.so
if [ ! -f "$SHIM" ] || [ "$TOP/tests/fakesys/fakekernel.c" -nt "$SHIM" ]; then
	"${CC:-cc}" -Wall -Wextra -Werror -fPIC -shared -o "$SHIM" "$TOP/tests/fakesys/fakekernel.c" -ldl || exit 1
fi

ROOT_OK=0
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
	ROOT_OK=1
fi
DRIVERCTL=$(command -v driverctl || true)

OUT=$CACHE/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
# measure copies: a rebuild during the (long) run must not mix two versions in one table
cp "$BIN" "$OUT/early-vfio"
BIN=$OUT/early-vfio
if [ -n "$STATIC" ]; then
	cp "$STATIC" "$OUT/early-vfio-static"
	STATIC=$OUT/early-vfio-static
fi
git -C "$TOP" log -1 --format='commit %h %s' >"$OUT/version" 2>/dev/null
"$BIN" --version >>"$OUT/version" 2>&1
RES=$OUT/results.tsv
printf 'n\ttool\twall_ms\tinstr\tinstr_how\trss_kib\tnote\n' >"$RES"
echo "run.sh: results in $OUT" >&2

# "${IN_NS[@]}" T CMD...: run CMD with T/sys bind-mounted over /sys, in a private mount
# namespace (a command, not a function, so that /usr/bin/time can run it)
# shellcheck disable=SC2016 # expanded by the inner bash
IN_NS=(unshare -m --propagation private bash -c 'mount --bind "$1/sys" /sys && shift && exec "$@"' _)

# cg_total FILE...: sum of callgrind totals
cg_total() {
	awk '/^(totals|summary):/ { s += $2; nextfile } END { printf "%.0f\n", s }' "$@"
}

# cg_one NAME CMD...: instructions of one process
cg_one() {
	local name=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$name" "$@" >/dev/null 2>"$OUT/cg.$name.err"
	cg_total "$OUT/cg.$name"
}

# cg_tree NAME SKIP CMD...: instructions of a process tree, SKIP = comma-separated programs
# that are not traced (added later by the caller as exec count x per-exec cost)
cg_tree() {
	local name=$1 skip=$2
	shift 2
	rm -rf "$OUT/cgt.$name"
	mkdir -p "$OUT/cgt.$name"
	valgrind --tool=callgrind --trace-children=yes --trace-children-skip="$skip" \
		--callgrind-out-file="$OUT/cgt.$name/cg.%p" "$@" >/dev/null 2>"$OUT/cgt.$name.err"
	cg_total "$OUT/cgt.$name"/cg.*
}

# rss CMD...: peak RSS in KiB
rss() {
	/usr/bin/time -f %M -o "$OUT/rss.tmp" "$@" >/dev/null 2>&1
	tail -n 1 "$OUT/rss.tmp"
}

# hf NAME CMD...: median wall time in ms (hyperfine, no intermediate shell)
hf() {
	local name=$1
	shift
	hyperfine -N --style none --warmup 2 --runs "$RUNS" --export-json "$OUT/hf.$name.json" \
		-- "$*" >/dev/null 2>"$OUT/hf.$name.err" || { echo nan; return; }
	python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' \
		"$OUT/hf.$name.json"
}

# loop RUNS CMD...: "median-wall-ms peak-rss-kib" of RUNS timed runs (for the slow shell tools;
# the RSS is the largest over the runs, of the largest process in the tree)
loop() {
	local runs=$1 i s e
	shift
	for ((i = 0; i < runs; i++)); do
		s=$(date +%s%N)
		/usr/bin/time -f %M -o "$OUT/rss.loop" "$@" >/dev/null 2>&1
		e=$(date +%s%N)
		echo "$(((e - s) / 1000)) $(tail -n 1 "$OUT/rss.loop")"
	done | sort -n | awk '{ v[NR] = $1; if ($2 > r) r = $2 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %d\n", m / 1000, r }'
}

row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RES"; }

# Per-exec instruction counts of the programs the shell tools run per device (on tree $1)
declare -A EXEC_COST=()
exec_costs() {
	local t=$1 d
	d=$(find "$t/sys/bus/pci/devices/" -mindepth 1 -maxdepth 1 | sort | head -n 1)
	EXEC_COST[cat]=$(cg_one exec-cat cat "$d/vendor")
	EXEC_COST[basename]=$(cg_one exec-basename basename "$d")
	EXEC_COST[readlink]=$(cg_one exec-readlink readlink "$d/driver")
}

# guide-sh / driverctl instruction figures measured so far: "N instr" lines, for the fit
declare -A SHELL_PTS=()
fit() { # fit TOOL N -> linear extrapolation from the two largest measured points
	printf '%s' "${SHELL_PTS[$1]:-}" | sort -n | tail -n 2 | awk -v n="$2" '
		{ x[NR] = $1; y[NR] = $2 }
		END { if (NR < 2 || x[1] == x[2]) { print ""; exit }
		      b = (y[2] - y[1]) / (x[2] - x[1]); printf "%.0f\n", y[2] + b * (n - x[2]) }'
}

for N in $NS; do
	T=$(BENCH_CACHE=$CACHE "$HERE/tree.sh" "$N") || exit 1
	CONF=$T/early-vfio.conf
	# shellcheck disable=SC2207 # ids are plain tokens
	IDS=($(sed -n 's/^ids *= *//p' "$CONF" | tr ',' ' '))
	SEL=$(sed -n 's/^selected=//p' "$T/.bench/meta")
	echo "== N=$N ($SEL selected) $T" >&2
	[ ${#EXEC_COST[@]} -gt 0 ] || exec_costs "$T"

	# sanity: the dry run selects what the generator selected
	got=$("$BIN" --sysroot "$T" --config "$CONF" bind --dry-run 2>&1 | sed -n 's/^early-vfio: \([0-9]*\) selected:.*/\1/p')
	note=ok
	[ "$got" = "$SEL" ] || note="selected $got, generator says $SEL"

	CASES=("bind-dry:$BIN:bind --dry-run" "status:$BIN:status" "check:$BIN:check")
	[ -z "$STATIC" ] || CASES+=("static-dry:$STATIC:bind --dry-run")
	for c in "${CASES[@]}"; do
		name=ev-${c%%:*}
		c=${c#*:}
		# shellcheck disable=SC2086 # the subcommand and its options are words
		set -- "${c%%:*}" --sysroot "$T" --config "$CONF" ${c#*:}
		echo "   $name" >&2
		w=$(hf "$N.$name" "$@")
		i=$(cg_one "$N.$name" "$@")
		r=$(rss "$@")
		row "$N" "$name" "$w" "$i" callgrind "$r" "$note"
	done

	if [ "$ROOT_OK" = 1 ]; then
		echo "   ev-bind (overlay + fakekernel.so)" >&2
		O=$OUT/ovl.$N
		mkdir -p "$O"
		# one private namespace: a tmpfs for the upper layers, a fresh overlay per run
		unshare -m --propagation private bash -s "$T" "$O" "$BIN" "$SHIM" "$RUNS" "$OUT" "$N" >"$OUT/bind.$N.txt" 2>"$OUT/bind.$N.err" <<'EOF'
T=$1 O=$2 BIN=$3 SHIM=$4 RUNS=$5 R=$6 N=$7
mount -t tmpfs bench "$O" || exit 1
mkdir -p "$O/m"
fresh() {
	umount "$O/m" 2>/dev/null
	rm -rf "$O/u" "$O/w"
	mkdir -p "$O/u" "$O/w"
	mount -t overlay bench -o "lowerdir=$T,upperdir=$O/u,workdir=$O/w" "$O/m"
}
export -f fresh
export O T
M=$O/m
fresh
FAKE_SYSROOT=$M LD_PRELOAD=$SHIM "$BIN" --sysroot "$M" --config "$M/early-vfio.conf" bind >"$R/bind.$N.out" 2>&1
echo "rc=$?"
echo "bound=$(grep -c 'bound to vfio-pci' "$M/fakekernel.log" 2>/dev/null)"
fresh
hyperfine -N --style none --warmup 1 --runs "$RUNS" --prepare "bash -c fresh" \
	--export-json "$O/hf.json" -- "env FAKE_SYSROOT=$M LD_PRELOAD=$SHIM $BIN --sysroot $M --config $M/early-vfio.conf bind" >/dev/null 2>&1
python3 -c 'import json,sys; print("wall=%.3f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$O/hf.json"
fresh
FAKE_SYSROOT="$M" LD_PRELOAD="$SHIM" valgrind --tool=callgrind --callgrind-out-file="$R/cg.$N.ev-bind" \
	"$BIN" --sysroot "$M" --config "$M/early-vfio.conf" bind >/dev/null 2>"$R/cg.$N.ev-bind.err"
echo "instr=$(awk '/^(totals|summary):/ { print $2; exit }' "$R/cg.$N.ev-bind")"
fresh
FAKE_SYSROOT="$M" LD_PRELOAD="$SHIM" /usr/bin/time -f %M -o "$O/rss" \
	"$BIN" --sysroot "$M" --config "$M/early-vfio.conf" bind >/dev/null 2>&1
echo "rss=$(tail -n 1 "$O/rss")"
umount "$M"
umount "$O"
EOF
		b() { sed -n "s/^$1=//p" "$OUT/bind.$N.txt"; }
		note="rc $(b rc), $(b bound) bound"
		[ "$(b bound)" = "$SEL" ] || note="$note, generator says $SEL"
		row "$N" ev-bind "$(b wall)" "$(b instr)" callgrind "$(b rss)" "$note"
	fi

	SRUNS=$SHELL_RUNS
	[ "$N" -le 10000 ] || SRUNS=1
	echo "   guide-sh ($SRUNS runs)" >&2
	set -- "$HERE/baseline-guide.sh" -n "$T" "${IDS[@]}"
	read -r w r < <(loop "$SRUNS" "$@")
	if [ "$N" -le "$SHELL_INSTR_MAX" ]; then
		own=$(cg_tree "$N.guide" '*/cat' "$@")
		i=$((own + 2 * N * EXEC_COST[cat]))
		SHELL_PTS[guide]+="$N $i"$'\n'
		how=callgrind-tree
	else
		i=$(fit guide "$N")
		how=linear-fit
	fi
	row "$N" guide-sh "$w" "${i:-nan}" "$how" "$r" "ids only: ${IDS[*]}"

	if [ -n "$DRIVERCTL" ] && [ "$ROOT_OK" = 1 ]; then
		echo "   driverctl" >&2
		read -r w r < <(loop "$SRUNS" "${IN_NS[@]}" "$T" "$DRIVERCTL" list-devices)
		if [ "$N" -le "$SHELL_INSTR_MAX" ]; then
			mkdir -p "$OUT/cgt.$N.driverctl"
			# shellcheck disable=SC2016 # expanded by the inner bash
			own=$("${IN_NS[@]}" "$T" bash -c 'd=$1; shift; valgrind --tool=callgrind --trace-children=yes \
				--trace-children-skip="*/basename,*/readlink" --callgrind-out-file="$d/cg.%p" "$@" \
				>/dev/null 2>"$d.err"; awk "/^(totals|summary):/ { s += \$2; nextfile } END { printf \"%.0f\\n\", s }" "$d"/cg.*' \
				_ "$OUT/cgt.$N.driverctl" "$DRIVERCTL" list-devices)
			bound=$(find "$T/.fakesys/host" -type f | wc -l)
			i=$((own + N * EXEC_COST[basename] + bound * (EXEC_COST[basename] + EXEC_COST[readlink])))
			SHELL_PTS[driverctl]+="$N $i"$'\n'
			how=callgrind-tree
		else
			i=$(fit driverctl "$N")
			how=linear-fit
		fi
		row "$N" driverctl "$w" "${i:-nan}" "$how" "$r" "list-devices, /sys bind-mounted"
	elif [ "$N" = "${NS%% *}" ]; then
		echo "   driverctl: skipped ($([ -z "$DRIVERCTL" ] && echo 'not installed: apt-get install driverctl' || echo 'needs root and unshare -m to bind-mount the tree over /sys'))" >&2
	fi
done

{
	"$HERE/report.py" "$RES" "$BIN"
	echo "measured: $(tr '\n' ';' <"$OUT/version" | sed 's/;$//'); $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
} | tee "$OUT/report.txt"

# the scan against its floor: CPU time and opens beside a C loop that reads vendor and device only
echo
echo "floor (tests/bench/floor.sh): CPU time and file opens against the least a vendor:device loop does"
BIN=$BIN STATIC=$STATIC BENCH_N="$NS" BENCH_FLOOR_GUIDE=0 "$HERE/floor.sh" | tee "$OUT/floor.txt"

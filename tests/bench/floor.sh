#!/bin/bash
# floor.sh - the scan against its floor, part of `make bench` (run.sh calls it last) and runnable
# alone: CPU time and file opens of early-vfio's bind --dry-run beside what any vendor:device
# loop must at least do, on the synthetic trees of tests/bench/tree.sh.
#   floor-c        tests/bench/floor.c: opens each function's vendor and device, nothing else
#   dash-read      tests/bench/baseline-read.sh: the guide loop in dash with the read builtin
#   guide-sh       tests/bench/baseline-guide.sh: the guide loop as written, two cats a function
#   ev-static-dry  early-vfio-static bind --dry-run (what the initramfs runs), if built
#   ev-bind-dry    early-vfio bind --dry-run (dynamic build)
# CPU time: user + system of the process tree (tests/bench/cputime.c, wait4's rusage), median of
# BENCH_FLOOR_RUNS runs (21; the shell loops 3, guide-sh 1 above N=1,000). Wall time beside it.
# Opens: tests/bench/opens.sh (strace): the most any function that no section selects costs
# (early-vfio) or any function (the loops), and the total; guide-sh is not traced (its cats).
# Targets (issue 21) at N=10,000 and 50,000: ev-static-dry within 1.2x of floor-c's CPU time,
# and at most 2 opens per unselected function.
#
# Env: BENCH_N="10000 50000"  BENCH_FLOOR_RUNS=21  BIN=./early-vfio  STATIC=./early-vfio-static
#      BENCH_FLOOR_GUIDE=0 leaves guide-sh out (it takes minutes at N=50,000)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
NS=${BENCH_N:-10000 50000}
RUNS=${BENCH_FLOOR_RUNS:-21}
BIN=$(realpath "${BIN:-$TOP/early-vfio}")
STATIC=${STATIC-$TOP/early-vfio-static}
[ -n "$STATIC" ] && [ -x "$STATIC" ] && STATIC=$(realpath "$STATIC") || STATIC=
CACHE=${BENCH_CACHE:-$TOP/.cache/bench}
export BENCH_CACHE=$CACHE
command -v strace >/dev/null || { echo "floor.sh: strace is required (apt-get install strace)" >&2; exit 1; }
command -v dash >/dev/null || { echo "floor.sh: dash is required" >&2; exit 1; }

mkdir -p "$CACHE"
for p in floor cputime; do
	if [ ! -x "$CACHE/$p" ] || [ "$HERE/$p.c" -nt "$CACHE/$p" ]; then
		"${CC:-cc}" -O2 -Wall -Wextra -o "$CACHE/$p" "$HERE/$p.c" || exit 1
	fi
done
FLOOR=$CACHE/floor
CPUTIME=$CACHE/cputime

declare -A CPU=()
targets=()
printf '%6s  %-14s %9s %19s %9s %7s %13s %9s\n' N tool "cpu ms" "(min-max)" "wall ms" "x floor" "opens/fn max" "opens"
printf -- '-%.0s' {1..94}
echo
for N in $NS; do
	T=$("$HERE/tree.sh" "$N") || exit 1
	CONF=$T/early-vfio.conf
	# shellcheck disable=SC2207 # ids are plain tokens
	IDS=($(sed -n 's/^ids *= *//p' "$CONF" | tr ',' ' '))
	TOOLS=(floor-c dash-read)
	[ "${BENCH_FLOOR_GUIDE:-1}" = 1 ] && TOOLS+=(guide-sh)
	[ -n "$STATIC" ] && TOOLS+=(ev-static-dry)
	TOOLS+=(ev-bind-dry)
	for tool in "${TOOLS[@]}"; do
		runs=$RUNS
		case $tool in
		floor-c) set -- "$FLOOR" "$T" "${IDS[@]}" ;;
		dash-read) set -- "$HERE/baseline-read.sh" -n "$T" "${IDS[@]}"; runs=3 ;;
		guide-sh) set -- "$HERE/baseline-guide.sh" -n "$T" "${IDS[@]}"; runs=3; [ "$N" -le 1000 ] || runs=1 ;;
		ev-static-dry) set -- "$STATIC" --sysroot "$T" --config "$CONF" bind --dry-run ;;
		ev-bind-dry) set -- "$BIN" --sysroot "$T" --config "$CONF" bind --dry-run ;;
		esac
		read -r cpu lo hi wall < <("$CPUTIME" "$runs" "$@") || { echo "floor.sh: $tool failed" >&2; continue; }
		CPU[$N.$tool]=$cpu
		omax=- otot=-
		if [ "$tool" != guide-sh ]; then
			o=$("$HERE/opens.sh" "$T" "$@")
			omax=$(printf '%s\n' "$o" | sed -n 's/.*per_unselected_max=\([0-9]*\).*/\1/p')
			otot=$(printf '%s\n' "$o" | sed -n 's/.* opens=\([0-9]*\).*/\1/p')
		fi
		ratio=$(awk -v a="$cpu" -v b="${CPU[$N.floor-c]}" 'BEGIN { printf "x%.2f", a / b }')
		printf '%6s  %-14s %9.1f %19s %9.1f %7s %13s %9s\n' "$N" "$tool" "$cpu" \
			"($(printf '%.1f-%.1f' "$lo" "$hi"))" "$wall" "$ratio" "$omax" "$otot"
		if [ "$tool" = ev-static-dry ] || { [ -z "$STATIC" ] && [ "$tool" = ev-bind-dry ]; }; then
			ok=MISS
			awk -v a="$cpu" -v b="${CPU[$N.floor-c]}" 'BEGIN { exit !(a <= 1.2 * b) }' && ok=MET
			targets+=("$ok  $tool CPU within 1.2x of floor-c at N=$N: $ratio ($cpu ms vs ${CPU[$N.floor-c]} ms)")
			ok=MISS
			[ -n "$omax" ] && [ "$omax" -le 2 ] && ok=MET
			targets+=("$ok  $tool opens per unselected function <= 2 at N=$N: $omax")
		fi
	done
	echo
done
echo "targets:"
printf '  %s\n' "${targets[@]}"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; $(git -C "$TOP" log -1 --format='commit %h' 2>/dev/null)"

#!/bin/bash
# check.sh [--record] [BINARY] - cheap performance regression check for `make check`.
#
# Counts the instructions (valgrind --tool=callgrind, repeatable on noisy machines, unlike
# wall time) of `early-vfio bind --dry-run` and `early-vfio status` on the synthetic N=1000
# tree (tests/bench/tree.sh, cached in .cache/bench) and compares each with the figure
# recorded in tests/bench/baseline.txt: a case fails when it grows by more than the margin
# recorded there (margin_pct), and counts the files bind --dry-run opens per function that no
# section selects (tests/bench/opens.sh, strace), which may not exceed opens.unselected_max.
# Prints each figure either way, then "N passed, N failed".
# --record writes the current figures into baseline.txt (after an intended change; commit it
# with the reason).  Takes ~10 s (plus ~20 s the first time, to generate the tree).
#
# Counts depend a little on the toolchain and on libc/libpci/libkmod versions: the recorded
# figure is from the machine in tests/bench/README.md (Debian 12 packages).  A drop below
# the figure passes and says so: record it to tighten the budget.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BASE=$HERE/baseline.txt
RECORD=0
if [ "${1:-}" = --record ]; then
	RECORD=1
	shift
fi
BIN=$(realpath "${1:-$TOP/early-vfio}")
N=1000
PASSED=0
FAILED=0

if ! command -v valgrind >/dev/null || ! command -v strace >/dev/null; then
	echo "FAIL: valgrind or strace is not installed (apt-get install valgrind strace)"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$BIN" ]; then
	echo "FAIL: no binary $BIN (run make)"
	echo "0 passed, 1 failed"
	exit 1
fi
T=$("$HERE/tree.sh" "$N") || { echo "FAIL: cannot generate the N=$N tree"; echo "0 passed, 1 failed"; exit 1; }
GEN=$(basename "$(dirname "$T")")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/early-vfio-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# instr NAME ARGS...: callgrind total of one early-vfio run on the tree
instr() {
	local name=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$name" \
		"$BIN" --sysroot "$T" --config "$T/early-vfio.conf" "$@" >/dev/null 2>"$TMP/err.$name"
	awk '/^(totals|summary):/ { print $2; exit }' "$TMP/cg.$name"
}

get() { sed -n "s/^$1=//p" "$BASE" 2>/dev/null | head -n 1; }
MARGIN=$(get margin_pct)
MARGIN=${MARGIN:-25}
[ "$(get generator)" = "$GEN" ] || [ "$RECORD" = 1 ] ||
	echo "note: tree generator $GEN differs from the recorded $(get generator); figures may move (re-record)"

declare -A NOW=()
for c in bind-dry status; do
	case $c in
	bind-dry) NOW[$c]=$(instr "$c" bind --dry-run) ;;
	status) NOW[$c]=$(instr "$c" status) ;;
	esac
	if [ -z "${NOW[$c]}" ]; then
		echo "FAIL: $c at N=$N: no instruction count (valgrind: $(tail -n 1 "$TMP/err.$c"))"
		FAILED=$((FAILED + 1))
		continue
	fi
	[ "$RECORD" = 1 ] && continue
	was=$(get "instr.$c")
	if [ -z "$was" ]; then
		echo "FAIL: $c at N=$N: $(printf "%d" "${NOW[$c]}") instructions, nothing recorded in $BASE (run $0 --record)"
		FAILED=$((FAILED + 1))
		continue
	fi
	pct=$(awk -v a="${NOW[$c]}" -v b="$was" 'BEGIN { printf "%+.1f", (a - b) * 100 / b }')
	msg="$c at N=$N: $(printf "%d" "${NOW[$c]}") instructions, recorded $(printf "%d" "$was") ($pct%, budget +$MARGIN%)"
	if awk -v a="${NOW[$c]}" -v b="$was" -v m="$MARGIN" 'BEGIN { exit !(a <= b * (1 + m / 100)) }'; then
		echo "PASS: $msg"
		PASSED=$((PASSED + 1))
		if awk -v a="${NOW[$c]}" -v b="$was" -v m="$MARGIN" 'BEGIN { exit !(a < b * (1 - m / 100)) }'; then
			echo "note: $c is more than $MARGIN% below the record: run $0 --record to keep the gain"
		fi
	else
		echo "FAIL: $msg: profile with callgrind_annotate (see tests/bench/README.md)"
		FAILED=$((FAILED + 1))
	fi
done

# Files opened per function that no section selects (tests/bench/opens.sh, strace): the scan
# reads such a function's uevent and nothing else; only the functions a section may select get
# libpci's detailed reads.  A budget in opens, not instructions: it is what the boot pays in
# path walks on a real sysfs, and it does not move with the toolchain.
OPENS_MAX=$(get opens.unselected_max)
OPENS_MAX=${OPENS_MAX:-2}
if [ "$RECORD" != 1 ]; then
	o=$("$HERE/opens.sh" "$T" "$BIN" --sysroot "$T" --config "$T/early-vfio.conf" bind --dry-run 2>&1)
	max=$(printf '%s\n' "$o" | sed -n 's/.*per_unselected_max=\([0-9]*\).*/\1/p')
	msg="opens per unselected function at N=$N (bind-dry): ${max:-?} at most (budget $OPENS_MAX; $o)"
	if [ -n "$max" ] && [ "$max" -le "$OPENS_MAX" ]; then
		echo "PASS: $msg"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL: $msg"
		FAILED=$((FAILED + 1))
	fi
fi

if [ "$RECORD" = 1 ] && [ "$FAILED" = 0 ]; then
	{
		echo "# tests/bench/baseline.txt - written by tests/bench/check.sh --record; read by check.sh (make check)."
		echo "# Instructions (callgrind I refs) of early-vfio on the synthetic N=$N tree; a run may exceed"
		echo "# them by margin_pct.  Machine and packages: tests/bench/README.md."
		echo "n=$N"
		echo "generator=$GEN"
		echo "margin_pct=$MARGIN"
		echo "instr.bind-dry=${NOW[bind-dry]}"
		echo "instr.status=${NOW[status]}"
		echo "opens.unselected_max=$OPENS_MAX"
		echo "recorded=$(date -u +%Y-%m-%d) $("$BIN" --version 2>/dev/null | head -n 1), libpci $(dpkg-query -W -f '${Version}' libpci3 2>/dev/null), libc $(dpkg-query -W -f '${Version}' libc6 2>/dev/null)"
	} >"$BASE"
	echo "recorded: bind-dry $(printf "%d" "${NOW[bind-dry]}"), status $(printf "%d" "${NOW[status]}") in $BASE"
	PASSED=2
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]

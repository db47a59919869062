#!/bin/bash
# size.sh [BINARY] - the stripped size of the static binary the initramfs carries stays within
# its budget (tests/bench/README.md, "Budgets"). Prints one PASS/FAIL line and "N passed, N failed".
set -u
BIN=${1:-early-vfio-static}
BUDGET=${SIZE_BUDGET:-1600000}	# bytes, stripped; measured 1,396,616 on 2026-11-25
if [ ! -x "$BIN" ]; then
	echo "FAIL: no binary $BIN (run make static)"
	echo "0 passed, 1 failed"
	exit 1
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
strip -o "$tmp" "$BIN"
size=$(stat -c %s "$tmp")
if file "$BIN" | grep -q 'statically linked' && [ "$size" -le "$BUDGET" ]; then
	echo "PASS: $BIN is static and $size bytes stripped (budget $BUDGET)"
	echo "1 passed, 0 failed"
else
	echo "FAIL: $BIN: $(file -b "$BIN" | cut -d, -f1-5); $size bytes stripped (budget $BUDGET)"
	echo "0 passed, 1 failed"
	exit 1
fi

#!/bin/bash
# opens.sh TREE CMD [ARG...] - the files CMD opens per PCI function on a synthetic tree
# (tests/bench/tree.sh), counted with strace -f -e trace=open,openat,openat2 (failed opens
# count too: each is a path walk).
#
# A function counts as kept when CMD names it in its output (early-vfio: a selected device, bound
# or refused, "early-vfio: BDF ...") or shares an IOMMU group with one (early-vfio reads the
# group's other members in detail for its safety review); every other function is unselected.
# An open counts for a function when its path names the function's address.
# Prints one line of "key=value" words:
#   functions=  kept=  opens=  (all opens, libraries and config included)
#   per_unselected_max=  per_unselected_mean=  (opens per unselected function)
#   per_kept_mean=  other=  (opens that name no function)
set -u
T=${1:?usage: opens.sh TREE CMD [ARG...]}
shift
command -v strace >/dev/null || { echo "opens.sh: strace is required (apt-get install strace)" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/early-vfio-opens.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

strace -f -qq -e trace=open,openat,openat2 -o "$TMP/trace" "$@" >"$TMP/out" 2>&1
# kept: the functions named in the output, and the members of their IOMMU groups
sed -n 's/^early-vfio: \([0-9a-f]\{4\}:[0-9a-f]\{2\}:[0-9a-f]\{2\}\.[0-7]\) .*/\1/p' "$TMP/out" | sort -u >"$TMP/named"
while read -r bdf; do
	echo "$bdf"
	g=$(readlink "$T/sys/bus/pci/devices/$bdf/iommu_group" 2>/dev/null) || continue
	ls "$T/sys/kernel/iommu_groups/${g##*/}/devices" 2>/dev/null
done <"$TMP/named" | sort -u >"$TMP/kept"
ls "$T/sys/bus/pci/devices" >"$TMP/all"

awk -v keptf="$TMP/kept" -v allf="$TMP/all" '
	BEGIN {
		while ((getline l < keptf) > 0) kept[l] = 1
		while ((getline l < allf) > 0) { fn[l] = 0; nfn++ }
	}
	/open(at2?)?\(/ {
		opens++
		if (match($0, /[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]\.[0-7]/)) {
			b = substr($0, RSTART, RLENGTH)
			if (b in fn) { fn[b]++; next }
		}
		other++
	}
	END {
		for (b in fn) {
			if (b in kept) { nk++; ko += fn[b]; continue }
			nu++; uo += fn[b]
			if (fn[b] > umax) umax = fn[b]
		}
		printf "functions=%d kept=%d opens=%d per_unselected_max=%d per_unselected_mean=%.2f per_kept_mean=%.1f other=%d\n",
			nfn, nk, opens, umax, nu ? uo / nu : 0, nk ? ko / nk : 0, other
	}' "$TMP/trace"

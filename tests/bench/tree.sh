#!/bin/bash
# tree.sh N - print the path of the synthetic sysfs tree of N PCI functions, generating it
# first when missing.  Trees live in .cache/bench/trees/<generator hash>/N (git-ignored) and
# are reused: a changed gen-sysfs.c gives new trees, the old ones can be deleted.
# The tree is never modified by the benchmarks (real binds run on a copy, see run.sh).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CACHE=${BENCH_CACHE:-$TOP/.cache/bench}
N=${1:?usage: tree.sh N}

mkdir -p "$CACHE"
GEN=$CACHE/gen-sysfs
if [ ! -x "$GEN" ] || [ "$HERE/gen-sysfs.c" -nt "$GEN" ]; then
	"${CC:-cc}" -O2 -Wall -Wextra -o "$GEN.tmp" "$HERE/gen-sysfs.c"
	mv "$GEN.tmp" "$GEN"
fi
KEY=$(sha256sum "$HERE/gen-sysfs.c" | cut -c1-12)
T=$CACHE/trees/$KEY/$N
if [ ! -f "$T/.bench/done" ]; then
	rm -rf "$T"
	mkdir -p "$(dirname "$T")"
	echo "tree.sh: generating $N functions in $T" >&2
	"$GEN" "$T" "$N"
	: >"$T/.bench/done"
fi
echo "$T"

#!/bin/dash
# baseline-read.sh [-n] ROOT VENDOR:DEVICE... - baseline-guide.sh without its forks: the same
# loop in dash, vendor and device read with the `read` builtin (`read -r v <"$dev/vendor"`)
# instead of $(cat ...). The best a shell script can do; what remains is the shell's own work.
# -n and the output as for baseline-guide.sh.
set -u
OUT=
if [ "${1:-}" = -n ]; then
	OUT=/dev/null
	shift
fi
ROOT=${1:?usage: baseline-read.sh [-n] ROOT VENDOR:DEVICE...}
shift
DEVS="$*"

count=0
for dev in "$ROOT"/sys/bus/pci/devices/*; do
	read -r vendor <"$dev/vendor"
	read -r device <"$dev/device"
	for id in $DEVS; do
		if [ "${vendor#0x}:${device#0x}" = "$id" ]; then
			echo "vfio-pci" >"${OUT:-$dev/driver_override}"
			echo "${dev##*/}"
			count=$((count + 1))
		fi
	done
done
echo "$count overridden"

#!/bin/sh
# Runs INSIDE the test VM as init for tests/bench/vm-bench.sh (init=/sbin/evfio-guest-bench): the
# boot has reached the root disk, which is all the benchmark needs (its figures are the kernel
# log's, on the serial console). Say so in the kernel log and power off at once. Never exit: PID 1
# exiting panics the kernel.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
[ -r /proc/sysrq-trigger ] || mount -t proc proc /proc
[ -c /dev/kmsg ] || mount -t devtmpfs devtmpfs /dev
echo "evfio-mark: userspace" >/dev/kmsg
echo 1 >/proc/sys/kernel/sysrq
echo o >/proc/sysrq-trigger
while :; do sleep 60; done

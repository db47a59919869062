#!/bin/sh
# dracut pre-udev hook for early-vfio: installed into the image as hooks/pre-udev/00-early-vfio.sh by
# module-setup.sh. Sourced (not run) by dracut's init in the shell initrd and by
# /usr/bin/dracut-pre-udev (dracut-pre-udev.service) in the systemd initrd, before udevd starts:
# so no exit, no shell options, no variables. `early-vfio boot` reads the kernel command line
# (early-vfio=off, .skip=, .debug, .timeout=), logs to the kernel log, bounds its own time and
# always returns 0: the boot goes on whatever happens.
if [ -x /usr/sbin/early-vfio ]; then
	/usr/sbin/early-vfio boot
fi

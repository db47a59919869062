#!/bin/bash
# dracut module for early-vfio: installed as /usr/lib/dracut/modules.d/90early-vfio/module-setup.sh
# (sourced by dracut, which calls the functions below). The same guarantee as the initramfs-tools
# hook: the devices /etc/early-vfio.conf selects get driver_override=vfio-pci from a pre-udev hook,
# before udev's coldplug loads ahci/nvme for them.
#
#   check()          include the module when the config has device sections; an invalid config is
#                    included too, so that install() can stop the build
#   install()        copy the config into the image and validate that copy (shared with
#                    initramfs-tools: /usr/share/early-vfio/early-vfio-build.sh), then the binary,
#                    the record and the pre-udev hook
#   installkernel()  vfio-pci and what it needs on the kernel being built
#
# Where the hook runs: the shell initrd (99base's init) sources pre-udev hooks before it starts
# systemd-udevd; the systemd initrd runs them from dracut-pre-udev.service, ordered
# Before=systemd-udevd.service dracut-pre-trigger.service (so before systemd-udev-trigger.service).
# `early-vfio check --initramfs IMAGE` verifies both in a built image.

# shellcheck disable=SC2034 # evfio_dracut_decision is read by the next function dracut calls
evfio_dracut_decide()
{
	# dracut sources this file again before each function it calls, in the same shell: decide once
	[ -n "${evfio_dracut_decision:-}" ] && return 0
	if [ ! -r /usr/share/early-vfio/early-vfio-build.sh ]; then
		derror "early-vfio: /usr/share/early-vfio/early-vfio-build.sh is missing (reinstall early-vfio)"
		evfio_dracut_decision=1
		return 0
	fi
	# shellcheck source=hooks/early-vfio-build.sh
	. /usr/share/early-vfio/early-vfio-build.sh
	evfio_build_msg()
	{
		local level=$1
		shift
		case $level in
		E) derror "early-vfio: $*" ;;
		W) dwarn "early-vfio: $*" ;;
		*) dinfo "early-vfio: $*" ;;
		esac
	}
	evfio_dracut_decision=0
	evfio_build_wanted || evfio_dracut_decision=$?
}

# called by dracut
check()
{
	# not needed to mount anything
	[[ $mount_needs ]] && return 1
	evfio_dracut_decide
	case $evfio_dracut_decision in
	0) return 0 ;;
	# nothing to bind: only when asked for by name (--add early-vfio); install() then adds nothing
	3) return 255 ;;
	# refused: included, so that install() stops the build
	*) return 0 ;;
	esac
}

# called by dracut
depends()
{
	return 0
}

# called by dracut
install()
{
	evfio_dracut_decide
	case $evfio_dracut_decision in
	0) ;;
	3)
		dinfo "early-vfio: no device section in ${EVFIO_CONF:-/etc/early-vfio.conf}: nothing to add"
		return 0
		;;
	*)
		dfatal "early-vfio: not building ${outfile:-the image} (see above); the previous image is unchanged"
		exit 1
		;;
	esac
	# Copy the config into the image and validate that copy; then the record. dracut ignores
	# install()'s status, so a refusal stops it here: its EXIT trap removes the temporary tree
	# and the image already in place is left as it was.
	# shellcheck disable=SC2154 # initdir is dracut's image tree
	evfio_build_decide "$initdir" || evfio_dracut_decision=$?
	case $evfio_dracut_decision in
	0) ;;
	3)
		dinfo "early-vfio: no device section in $EVFIO_CONF: nothing to add"
		return 0
		;;
	*)
		dfatal "early-vfio: not building ${outfile:-the image} (see above); the previous image is unchanged"
		exit 1
		;;
	esac
	inst_binary "$EVFIO_BIN" /usr/sbin/early-vfio || {
		dfatal "early-vfio: cannot install $EVFIO_BIN"
		exit 1
	}
	evfio_build_record "$initdir" || {
		dfatal "early-vfio: not building ${outfile:-the image} (see above); the previous image is unchanged"
		exit 1
	}
	# shellcheck disable=SC2154 # moddir is this module's folder, set by dracut
	inst_hook pre-udev 00 "$moddir/early-vfio.sh"
}

# called by dracut
installkernel()
{
	evfio_dracut_decide
	[ "$evfio_dracut_decision" = 0 ] || return 0
	# vfio-pci and everything it needs on this kernel ($kernel), from that kernel's own modules.dep
	# and softdeps (dracut-install follows both): no fixed list. hostonly='' because a host-only
	# build adds only the modules loaded right now, and vfio-pci usually is not.
	# shellcheck disable=SC2154 # kernel is set by dracut
	hostonly='' instmods vfio-pci ||
		dwarn "early-vfio: vfio-pci is not a module of kernel $kernel; the devices stay with their drivers"
	return 0
}

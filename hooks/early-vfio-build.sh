# shellcheck shell=sh
# early-vfio: what every initramfs generator does at image build time, in one place. Installed as
# /usr/share/early-vfio/early-vfio-build.sh and sourced (POSIX sh) by the initramfs-tools hook
# (/usr/share/initramfs-tools/hooks/early-vfio) and by the dracut module
# (/usr/lib/dracut/modules.d/90early-vfio/module-setup.sh). The generator-specific parts (copying
# the binary with its libraries, adding the kernel modules, installing the boot script) stay in
# those two files.
#
#   evfio_build_decide    validate /etc/early-vfio.conf for the image being built and decide:
#                         returns 0 = put early-vfio in the image, 1 = refuse to build the image
#                         (the reason printed), 3 = nothing to bind (no config, or no device
#                         section): leave early-vfio out
#   evfio_build_record DIR   write what the boot needs to know about this machine into the image
#                         tree DIR (nothing in a chroot, where this is not the machine that boots)
#
# Messages go through evfio_build_msg LEVEL TEXT... (LEVEL: E, W or I), which prints
# "LEVEL: early-vfio: TEXT" on stderr as initramfs-tools' own hooks do; a generator with its own
# logger (dracut's dfatal/dwarn/dinfo) redefines it after sourcing this file.
#
# Every name here starts with evfio_ (functions) or EVFIO_ (settings): both generators source
# their hooks into their own shell.

EVFIO_BIN=${EVFIO_BIN:-/usr/sbin/early-vfio}
EVFIO_CONF=${EVFIO_CONF:-/etc/early-vfio.conf}
# "yes" when the image is built in a chroot (set by evfio_build_decide; kept when this file is
# sourced again, as dracut sources its module-setup.sh before each of check() and install())
EVFIO_CHROOT=${EVFIO_CHROOT:-no}

evfio_build_msg()
{
	evfio_level=$1
	shift
	echo "$evfio_level: early-vfio: $*" >&2
}

evfio_build_decide()
{
	evfio_rc=0

	# No config: the user has not asked for anything, the image stays as it was.
	[ -e "$EVFIO_CONF" ] || return 3
	if [ ! -x "$EVFIO_BIN" ]; then
		evfio_build_msg E "$EVFIO_CONF exists but $EVFIO_BIN is missing"
		return 1
	fi

	# On the machine that will boot this image, check against its devices and mounts: a section
	# that takes the controller of /, /boot, the ESP or swap is an error here (exit 2), so such an
	# image is never built. In a chroot (an image for another machine, or an installer) the
	# mounts and devices are not that machine's: validate the config alone.
	EVFIO_CHROOT=no
	if command -v ischroot >/dev/null 2>&1 && ischroot; then
		EVFIO_CHROOT=yes
		evfio_build_msg I "in a chroot: checking $EVFIO_CONF alone, not against this machine's" \
			"devices and mounts (no record of them in the image)"
	fi

	# check --offline: 0 valid with device sections, 3 valid without any (the shipped example is
	# all comments: nothing to bind), 2 invalid ("FILE:LINE: ..." printed by the binary itself).
	"$EVFIO_BIN" check --offline -q -c "$EVFIO_CONF" >/dev/null || evfio_rc=$?
	case $evfio_rc in
	0) ;;
	3) return 3 ;;
	*)
		evfio_build_msg E "$EVFIO_CONF is invalid (exit $evfio_rc), not building an image that" \
			"would boot with it; fix it (or remove it) and build the image again"
		return 1
		;;
	esac

	if [ "$EVFIO_CHROOT" = no ]; then
		evfio_rc=0
		"$EVFIO_BIN" check -q -c "$EVFIO_CONF" >/dev/null || evfio_rc=$?
		if [ "$evfio_rc" -eq 2 ]; then
			evfio_build_msg E "$EVFIO_CONF would take a device this system needs (see above);" \
				"not building an image that could not boot"
			return 1
		elif [ "$evfio_rc" -ne 0 ]; then
			evfio_build_msg W "could not check $EVFIO_CONF against this machine's devices (exit $evfio_rc)"
		fi
	fi
	return 0
}

evfio_build_record()
{
	# At boot nothing is mounted yet: record now which PCI devices hold the system, so the binder
	# refuses them even if the config or the hardware changes after this image was built.
	[ "$EVFIO_CHROOT" = no ] || return 0
	mkdir -p "$1/etc" || return 1
	if ! "$EVFIO_BIN" protected >"$1/etc/early-vfio.protected"; then
		evfio_build_msg W "could not list the devices that hold this system"
	fi
	return 0
}

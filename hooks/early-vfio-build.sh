# shellcheck shell=sh
# early-vfio: what every initramfs generator does at image build time, in one place. Installed as
# /usr/share/early-vfio/early-vfio-build.sh and sourced (POSIX sh) by the initramfs-tools hook
# (/usr/share/initramfs-tools/hooks/early-vfio) and by the dracut module
# (/usr/lib/dracut/modules.d/90early-vfio/module-setup.sh). The generator-specific parts (copying
# the binary with its libraries, adding the kernel modules, installing the boot script) stay in
# those two files.
#
#   evfio_build_wanted        is there anything to put in an image? 0 = yes (a config with device
#                             sections, or an invalid one, which the build must then refuse),
#                             3 = no (no config, or no device section). Reads, writes nothing.
#   evfio_build_decide DIR    copy the config into the image tree DIR (DIR/etc/early-vfio.conf) and
#                             validate that copy, as the boot will read it: 0 = put early-vfio in
#                             the image, 1 = refuse to build the image (the reason printed), 3 =
#                             nothing to bind. On 1 and 3 the copy is removed again.
#   evfio_build_record DIR    write the record (what the system needs, who each selected device
#                             is) into DIR/etc/early-vfio.record, a copy staged as
#                             $EVFIO_STATE_DIR/record.new; 1 = refuse to build the image without it
#   evfio_build_promote       after the image was built: the staged copy becomes the host's
#                             record ($EVFIO_STATE_DIR/record, which check and status read)
#
# Messages go through evfio_build_msg LEVEL TEXT... (LEVEL: E, W or I), which prints
# "LEVEL: early-vfio: TEXT" on stderr as initramfs-tools' own hooks do; a generator with its own
# logger (dracut's derror/dwarn/dinfo) redefines it after sourcing this file.
#
# Every name here starts with evfio_ (functions, variables) or EVFIO_ (settings): both generators
# source their hooks into their own shell.

EVFIO_BIN=${EVFIO_BIN:-/usr/sbin/early-vfio}
EVFIO_CONF=${EVFIO_CONF:-/etc/early-vfio.conf}
# where the host's copy of the record of the last image built is kept (check and status read it)
EVFIO_STATE_DIR=${EVFIO_STATE_DIR:-/var/lib/early-vfio}
# "yes" when the image is built in a chroot (set by evfio_build_decide; kept when this file is
# sourced again, as dracut sources its module-setup.sh before each of check() and install())
EVFIO_CHROOT=${EVFIO_CHROOT:-no}

evfio_build_msg()
{
	evfio_level=$1
	shift
	echo "$evfio_level: early-vfio: $*" >&2
}

evfio_build_wanted()
{
	[ -e "$EVFIO_CONF" ] || return 3
	[ -x "$EVFIO_BIN" ] || return 0
	evfio_rc=0
	"$EVFIO_BIN" check --offline -q -c "$EVFIO_CONF" >/dev/null 2>&1 || evfio_rc=$?
	[ "$evfio_rc" -ne 3 ] || return 3
	return 0
}

evfio_build_decide()
{
	evfio_copy="$1/etc/early-vfio.conf"

	# No config: the user has not asked for anything, the image stays as it was.
	[ -e "$EVFIO_CONF" ] || return 3
	if [ ! -x "$EVFIO_BIN" ]; then
		evfio_build_msg E "$EVFIO_CONF exists but $EVFIO_BIN is missing"
		return 1
	fi

	# Validate the copy that goes into the image, not the file a moment before: what is checked
	# is what boots. On the machine that will boot this image, check it against its devices and
	# mounts: a section that takes a device the system needs is an error here (exit 2), so such
	# an image is never built. In a chroot (an installer, a rescue system, an image for another
	# machine) the mounts are not that system's: only the syntax is checked, and the record says
	# what the chroot's /etc/fstab names (early-vfio(8), "What early-vfio protects").
	EVFIO_CHROOT=no
	if command -v ischroot >/dev/null 2>&1 && ischroot; then
		EVFIO_CHROOT=yes
		evfio_build_msg I "in a chroot: checking $EVFIO_CONF's syntax only, not against this" \
			"machine's devices and mounts; what the system needs is taken from /etc/fstab"
	fi
	if ! { mkdir -p "$1/etc" && cp -p "$EVFIO_CONF" "$evfio_copy"; }; then
		evfio_build_msg E "cannot copy $EVFIO_CONF into the image"
		return 1
	fi

	# check --offline: 0 valid with device sections, 3 valid without any (the shipped example is
	# all comments: nothing to bind), 2 invalid ("FILE:LINE: ..." printed by the binary itself).
	evfio_rc=0
	"$EVFIO_BIN" check --offline -q -c "$evfio_copy" >/dev/null || evfio_rc=$?
	case $evfio_rc in
	0) ;;
	3)
		rm -f "$evfio_copy"
		return 3
		;;
	*)
		rm -f "$evfio_copy"
		evfio_build_msg E "$EVFIO_CONF is invalid (exit $evfio_rc), not building an image that" \
			"would boot with it; fix it (or remove it) and build the image again"
		return 1
		;;
	esac

	if [ "$EVFIO_CHROOT" = no ]; then
		evfio_rc=0
		"$EVFIO_BIN" check -q -c "$evfio_copy" >/dev/null || evfio_rc=$?
		if [ "$evfio_rc" -eq 2 ]; then
			rm -f "$evfio_copy"
			evfio_build_msg E "$EVFIO_CONF would take a device this system needs (see above);" \
				"not building an image that could not boot"
			return 1
		elif [ "$evfio_rc" -ne 0 ]; then
			rm -f "$evfio_copy"
			evfio_build_msg E "could not check $EVFIO_CONF against this machine's devices and" \
				"mounts (exit $evfio_rc, see above); not building an image that might take one" \
				"the system needs"
			return 1
		fi
	fi
	return 0
}

evfio_build_record()
{
	# At boot nothing is mounted yet: record now what the system needs and who each selected
	# device is, so the boot refuses a device the system needs, and one that is not the device
	# this image was built for (a card added, moved or swapped since). A copy stays on the host
	# for check and status.
	evfio_record_opt=
	[ "$EVFIO_CHROOT" = no ] || evfio_record_opt=--chroot
	# shellcheck disable=SC2086 # empty or one word
	if ! "$EVFIO_BIN" record $evfio_record_opt -c "$1/etc/early-vfio.conf" \
		>"$1/etc/early-vfio.record"; then
		evfio_build_msg E "could not record what this system needs (see above); not building" \
			"an image without it"
		return 1
	fi
	# The copy is staged (record.new) and becomes the host's record only once the image is
	# built: evfio_build_promote, from initramfs-tools' post-update.d and from "early-vfio apply"
	# (dracut has no hook after a successful build). A build that fails later leaves the host's
	# record as it was.
	if ! { mkdir -p "$EVFIO_STATE_DIR" &&
		cp "$1/etc/early-vfio.record" "$EVFIO_STATE_DIR/record.new"; }; then
		evfio_build_msg W "could not keep a copy of the record in $EVFIO_STATE_DIR"
	fi
	return 0
}

evfio_build_promote()
{
	[ -e "$EVFIO_STATE_DIR/record.new" ] || return 0
	if ! mv -f "$EVFIO_STATE_DIR/record.new" "$EVFIO_STATE_DIR/record"; then
		evfio_build_msg W "could not update $EVFIO_STATE_DIR/record (check and status compare" \
			"with the record of an older image)"
	fi
	return 0
}

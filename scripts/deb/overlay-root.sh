# shellcheck shell=sh
# Sourced by test-install.sh and build-in-rootfs.sh: a throwaway root to chroot into, over a
# cached VM rootfs that is never modified.
#   overlay_root ROOTFS PREFIX   sets work (a new folder named PREFIX.XXXXXX under TMPDIR) and
#                                root ($work/root): an overlay on ROOTFS (a copy where overlayfs
#                                is not available), with /proc, /sys and /dev bound in; an EXIT
#                                trap unmounts them and removes $work
overlay_root() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX")
	root=$work/root
	mounts=""
	trap overlay_root_cleanup EXIT
	trap 'exit 1' INT TERM
	mkdir -p "$root" "$work/upper" "$work/ovl"
	if mount -t overlay overlay -o "lowerdir=$1,upperdir=$work/upper,workdir=$work/ovl" "$root" 2>/dev/null; then
		mounts="$root"
	else
		cp -a "$1/." "$root/"
	fi
	for d in proc sys dev; do
		mount --bind "/$d" "$root/$d"
		mounts="$root/$d $mounts"
	done
}

overlay_root_cleanup() {
	for m in $mounts; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$work"
}

#!/bin/sh
# Build static libpci.a and libkmod.a from Debian's own source packages.
#
# Debian ships libinih.a, libzstd.a, liblzma.a and libz.a, but no static
# libpci or libkmod, and the initramfs wants one self-contained binary.  This
# script fetches `apt-get source pciutils kmod` with a private apt
# configuration (below), builds small static libraries (no udev hwdb, no DNS,
# no zlib'd pci.ids, no openssl) and installs them into
#
#   $OUT/lib        libpci.a libkmod.a
#   $OUT/include    pci/{pci.h,header.h,config.h,types.h} libkmod.h
#   $OUT/pkgconfig  libpci.pc libkmod.pc   (use with pkg-config --static)
#
# OUT defaults to <repo>/.cache/static (git-ignored).  The result is cached
# behind a stamp keyed on the source package versions and this script's own
# contents, so a second run is a no-op.
#
# apt: the host's /etc/apt is only read, never written.  The sources are
# fetched through APT_CONFIG=$OUT/apt/apt.conf: its own sources.list (one
# deb-src line for the host's Debian mirror and release, with the host entry's
# Signed-By keyring), package lists in $OUT/apt/lists and downloads in
# $OUT/apt/cache.  Only the build dependencies are installed with the host's
# apt.  Earlier versions of this script added
# /etc/apt/sources.list.d/early-vfio-src.list and left it there; a run with
# apt (make deps) removes that file, by that exact name and only when it is the
# one this script wrote (its first line says so).
#
# Usage: scripts/build-static-deps.sh [--force] [--fetch-only] [--check] [--print-flags]
#   --force        rebuild even if the stamp matches
#   --fetch-only   fetch the two source packages into $OUT/src, build nothing
#   --check        link a test program (libpci+libkmod+inih) with -static and
#                  run it on this bus and on xz/zstd/gzip-compressed modules
#   --print-flags  print CFLAGS/LDLIBS to use (after building if needed)
# Environment:
#   OUT                 output folder (default <repo>/.cache/static)
#   PCIUTILS_VERSION    source version to fetch (default: apt's candidate)
#   KMOD_VERSION        idem for kmod
#   NO_APT=1            never run apt-get (sources and build deps must be there)
#   FETCH_ONLY=1        as --fetch-only
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
OUT=${OUT:-$repo/.cache/static}
self_sum=$(sha256sum "$0" | cut -d' ' -f1)
jobs=$(nproc 2>/dev/null || echo 2)

force=0 check=0 print=0 fetch_only=${FETCH_ONLY:-0}
for a in "$@"; do
	case $a in
	--force) force=1 ;;
	--fetch-only) fetch_only=1 ;;
	--check) check=1 ;;
	--print-flags) print=1 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-static-deps: unknown argument '$a'" >&2; exit 1 ;;
	esac
done
[ "$fetch_only" = 1 ] && force=1

log() { echo "build-static-deps: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Flags for the final static link of early-vfio (and of the --check program).
# -ffunction-sections/-fdata-sections in the library builds let
# -Wl,--gc-sections drop the unused parts of libpci and libkmod.
print_flags() {
	cat <<EOF
STATIC_CFLAGS  = -I$OUT/include
STATIC_LDFLAGS = -static -L$OUT/lib -Wl,--gc-sections
STATIC_LDLIBS  = -lpci -lkmod -linih -lzstd -llzma -lz
EOF
}

# --- apt plumbing ----------------------------------------------------------

# The private apt configuration: apt-get and apt-cache through papt read the
# host's apt.conf.d (proxies) but this sources.list, lists and cache only.
apt_dir=$OUT/apt
papt() { APT_CONFIG=$apt_dir/apt.conf "$@"; }

# Print "URI SUITE [SIGNED-BY]" of the first enabled 'deb' entry for this
# release on the host.  The deb-src line must repeat the entry's Signed-By,
# or apt refuses the two as conflicting.
host_mirror() {
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v c="$codename" '$1=="deb" {
			i=2; sb=""
			if ($i ~ /^\[/) {
				for (; ; i++) {
					o=$i; gsub(/[][]/, "", o)
					if (o ~ /^signed-by=/) { sb=o; sub(/^signed-by=/, "", sb) }
					if ($i ~ /\]$/) break
				}
				i++
			}
			if ($(i+1) == c) { print $i, $(i+1), sb; exit }
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v c="$codename" 'BEGIN{RS=""}
		{
			n=split($0, L, "\n"); t=""; u=""; s=""; sb=""; en=1
			for (j=1; j<=n; j++) {
				if (L[j] ~ /^Types:/) t=L[j]
				else if (L[j] ~ /^URIs:/) { u=L[j]; sub(/^URIs:[[:space:]]*/, "", u); sub(/[[:space:]].*/, "", u) }
				else if (L[j] ~ /^Suites:/) s=" " L[j] " "
				else if (L[j] ~ /^Signed-By:[[:space:]]*\//) { sb=L[j]; sub(/^Signed-By:[[:space:]]*/, "", sb); sub(/[[:space:]].*/, "", sb) }
				else if (L[j] ~ /^Enabled:[[:space:]]*no/) en=0
			}
			if (en && t ~ /deb( |$)/ && index(s, " " c " ")) { print u, c, sb; exit }
		}' "$f"
	done | head -n1
	return 0
}

# The file earlier versions of this script wrote into the host's apt sources:
# removed when it is that one (its first line), never any other.
legacy_src=/etc/apt/sources.list.d/early-vfio-src.list
remove_legacy_src() {
	[ -f "$legacy_src" ] || return 0
	if [ "$(head -n 1 "$legacy_src")" != '# added by early-vfio scripts/build-static-deps.sh for apt-get source' ]; then
		log "keeping $legacy_src: not the file an earlier version of this script wrote"
		return 0
	fi
	log "removing $legacy_src (an earlier version of this script added it; the sources now come through $apt_dir)"
	rm -f "$legacy_src"
}

setup_private_apt() {
	# shellcheck disable=SC2046 # three words wanted
	set -- $(host_mirror)
	uri=${1:-http://deb.debian.org/debian}
	suite=${2:-bookworm}
	opts=${3:+[signed-by=$3] }
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d" \
		"$apt_dir/preferences.d"
	line="deb-src $opts$uri $suite main"
	# the lists are fetched again when the line changed or they are a day old (a new upload of
	# pciutils or kmod is then seen); otherwise no network
	if [ "$(sed -n 2p "$apt_dir/sources.list" 2>/dev/null)" = "$line" ] && [ -f "$apt_dir/apt.conf" ] &&
	   [ -n "$(find "$apt_dir/updated" -mmin -1440 2>/dev/null)" ]; then
		return 0
	fi
	rm -f "$apt_dir/updated"
	printf '# early-vfio scripts/build-static-deps.sh: apt-get source only\n%s\n' "$line" \
		>"$apt_dir/sources.list"
	cat >"$apt_dir/apt.conf" <<EOF
// early-vfio scripts/build-static-deps.sh: apt-get source without touching the host's apt
Dir::Etc::SourceList "$apt_dir/sources.list";
Dir::Etc::SourceParts "$apt_dir/sources.list.d";
Dir::Etc::Preferences "$apt_dir/preferences";
Dir::Etc::PreferencesParts "$apt_dir/preferences.d";
Dir::State::Lists "$apt_dir/lists";
Dir::Cache "$apt_dir/cache";
APT::Sandbox::User "root";
EOF
	log "apt-get update (private: $line, lists in $apt_dir)"
	papt apt-get update -qq >&2 || die "apt-get update with $apt_dir/apt.conf failed"
	touch "$apt_dir/updated"
}

# Newest version apt would fetch for a source package (empty if unknown, or
# when the private lists are not there yet).
src_version() {
	[ -f "$apt_dir/apt.conf" ] || return 0
	papt apt-cache showsrc --only-source "$1" 2>/dev/null |
		awk '/^Version:/ {print $2}' | sort -V | tail -n1
}

ensure_build_deps() {
	# --check also wants depmod, xz and zstd for its fake modules tree
	extra=""
	[ $check = 1 ] && extra="kmod xz-utils zstd"
	# gcc/make for both, autotools+libtool for kmod's snapshot, pkg-config
	# for kmod's configure, and the compression libraries libkmod uses
	# (their static .a come with the -dev packages).
	need=""
	for p in build-essential dpkg-dev autoconf automake libtool pkg-config \
	         libzstd-dev liblzma-dev zlib1g-dev libinih-dev file $extra; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			need="$need $p"
	done
	[ -z "$need" ] && return 0
	[ "${NO_APT:-0}" = 1 ] && die "missing build dependencies:$need (NO_APT=1): run 'make deps' as root"
	log "installing build dependencies:$need"
	# shellcheck disable=SC2086 # a list of package names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
}

# One build at a time (parallel make targets may all ask for the libraries);
# the lock is released when the script exits.
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
if [ "${NO_APT:-0}" != 1 ]; then
	remove_legacy_src
	setup_private_apt
fi

# --- stamp -------------------------------------------------------------------

stamp=$OUT/.stamp
outputs_present() {
	for f in lib/libpci.a lib/libkmod.a include/pci/pci.h include/libkmod.h \
	         pkgconfig/libpci.pc pkgconfig/libkmod.pc; do
		[ -f "$OUT/$f" ] || return 1
	done
}

# Fast path: versions pinned by the environment or, when the private source
# lists are there, asked from apt-cache (a few ms); without either, trust the
# stamp.
if [ $force = 0 ] && [ -f "$stamp" ] && outputs_present; then
	pv=${PCIUTILS_VERSION:-$(src_version pciutils)}
	kv=${KMOD_VERSION:-$(src_version kmod)}
	want_p=$(sed -n 's/^pciutils=//p' "$stamp")
	want_k=$(sed -n 's/^kmod=//p' "$stamp")
	want_s=$(sed -n 's/^script=//p' "$stamp")
	if [ "${pv:-$want_p}" = "$want_p" ] && [ "${kv:-$want_k}" = "$want_k" ] &&
	   [ "$want_s" = "$self_sum" ]; then
		[ $check = 0 ] && [ $print = 0 ] && log "up to date (pciutils $want_p, kmod $want_k) in $OUT"
		[ $print = 1 ] && print_flags
		[ $check = 0 ] && exit 0
		skip_build=1
	fi
fi

# --- build -------------------------------------------------------------------

if [ "${skip_build:-0}" = 0 ]; then
t0=$(date +%s)
[ "$fetch_only" = 1 ] || ensure_build_deps
# without apt (NO_APT=1) and no private lists yet: the versions fetched before
pv=${PCIUTILS_VERSION:-$(src_version pciutils)}
kv=${KMOD_VERSION:-$(src_version kmod)}
[ -n "$pv" ] || pv=$(cat "$OUT"/src/pciutils-*/.evfio-version 2>/dev/null | sort -V | tail -n1)
[ -n "$kv" ] || kv=$(cat "$OUT"/src/kmod-*/.evfio-version 2>/dev/null | sort -V | tail -n1)
[ -n "$pv" ] || die "apt knows no source package pciutils"
[ -n "$kv" ] || die "apt knows no source package kmod"

src=$OUT/src
mkdir -p "$src"
if [ "$fetch_only" = 0 ]; then
	rm -rf "${OUT:?}/lib" "${OUT:?}/include" "${OUT:?}/pkgconfig" "$stamp"
	mkdir -p "$OUT/lib" "$OUT/include/pci" "$OUT/pkgconfig"
fi

# Upstream version without epoch and Debian revision: the folder name
# apt-get source extracts into.
upver() { echo "$1" | sed 's/^[0-9]*://; s/-[^-]*$//'; }
pdir=$src/pciutils-$(upver "$pv")
kdir=$src/kmod-$(upver "$kv")

fetch() { # package version dir
	if [ -d "$3" ] && [ -f "$3/.evfio-version" ] && [ "$(cat "$3/.evfio-version")" = "$2" ]; then
		return 0
	fi
	[ "${NO_APT:-0}" = 1 ] &&
		die "no source of $1 $2 in $src (NO_APT=1): run 'make deps' as root to fetch it, or build the dynamic binary (make STATIC=no install)"
	rm -rf "$3"
	log "apt-get source $1=$2"
	(cd "$src" && papt apt-get source -qq --only-source "$1=$2" >"$src/apt-source-$1.log" 2>&1) ||
		{ cat "$src/apt-source-$1.log" >&2; die "apt-get source $1=$2 failed"; }
	[ -d "$3" ] || die "expected $3 after apt-get source"
	echo "$2" >"$3/.evfio-version"
}
fetch pciutils "$pv" "$pdir"
fetch kmod "$kv" "$kdir"
if [ "$fetch_only" = 1 ]; then
	log "fetched pciutils $pv and kmod $kv into $src"
	exit 0
fi

LIBCFLAGS="-O2 -g0 -ffunction-sections -fdata-sections"

# pciutils: only lib/libpci.a.  linux-sysfs (plus /proc fallback) is all
# early-vfio uses; no zlib'd pci.ids, no DNS lookups, no udev hwdb, no
# libkmod (pci_fill_info(PCI_FILL_MODULE_ALIAS) is not used).
log "building libpci ($pv)"
pmake="make -C $pdir ZLIB=no DNS=no HWDB=no LIBKMOD=no SHARED=no \
	PREFIX=/usr IDSDIR=/usr/share/misc OPT=\"$LIBCFLAGS\""
(cd "$pdir" && eval "make clean >/dev/null 2>&1 || true")
eval "$pmake lib/libpci.a" >"$src/pciutils.log" 2>&1 ||
	{ tail -n 30 "$src/pciutils.log" >&2; die "libpci build failed (log: $src/pciutils.log)"; }
cp "$pdir/lib/libpci.a" "$OUT/lib/"
for h in pci.h header.h config.h types.h; do
	cp "$pdir/lib/$h" "$OUT/include/pci/"
done
pci_upver=$(upver "$pv")
cat >"$OUT/pkgconfig/libpci.pc" <<EOF
prefix=$OUT
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libpci
Description: libpci (static, built from Debian pciutils $pv by early-vfio)
Version: $pci_upver
Libs: -L\${libdir} -lpci
Libs.private:
Cflags: -I\${includedir}
EOF

# kmod: its configure refuses --enable-static ("not supported by kmod"), so
# configure the default shared build and make only the convenience library
# libkmod/libkmod-internal.la, which kmod's own tools link: its
# .libs/libkmod-internal.a holds the libkmod objects plus shared/libshared
# (hash, strbuf, util...), i.e. a complete static libkmod.  Compression:
# zstd, xz and zlib (Debian's kernels ship xz- or zstd-compressed modules
# depending on version); no openssl (only used to print signatures), no
# tools, manpages, test modules or python.
log "building libkmod ($kv)"
build_kmod() {
	set -e
	cd "$kdir"
	if [ ! -x configure ]; then
		# The snapshot has no generated files (Debian runs dh_autoreconf
		# after gtkdocize).  The API docs are not built here, so an empty
		# gtk-doc.make spares us gtk-doc-tools.
		[ -f libkmod/docs/gtk-doc.make ] || echo 'EXTRA_DIST =' >libkmod/docs/gtk-doc.make
		autoreconf -fi
	fi
	if [ ! -f Makefile ] || [ "$(cat .evfio-configured 2>/dev/null)" != "$self_sum" ]; then
		if [ -f Makefile ]; then make distclean || true; fi
		./configure --disable-static --enable-shared \
			--with-zstd --with-xz --with-zlib --without-openssl \
			--disable-manpages --disable-tools --disable-test-modules \
			--disable-python --disable-debug \
			--prefix=/usr --sysconfdir=/etc --with-rootlibdir=/lib \
			CFLAGS="$LIBCFLAGS"
		echo "$self_sum" >.evfio-configured
	fi
	make -j"$jobs" libkmod/libkmod-internal.la
}
# Not `if ! (build_kmod)`: set -e is ignored inside a tested command, so a
# failing step would go unnoticed.
set +e
(build_kmod) >"$src/kmod.log" 2>&1
rc=$?
set -e
if [ $rc != 0 ]; then
	tail -n 30 "$src/kmod.log" >&2; die "libkmod build failed (log: $src/kmod.log)"
fi
ar t "$kdir/libkmod/.libs/libkmod-internal.a" | grep -q hash.o ||
	die "libkmod-internal.a lacks shared/libshared objects"
cp "$kdir/libkmod/.libs/libkmod-internal.a" "$OUT/lib/libkmod.a"
cp "$kdir/libkmod/libkmod.h" "$OUT/include/"
cat >"$OUT/pkgconfig/libkmod.pc" <<EOF
prefix=$OUT
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libkmod
Description: libkmod (static, built from Debian kmod $kv by early-vfio)
Version: $(upver "$kv" | sed 's/+.*//')
Requires.private: libzstd liblzma zlib
Libs: -L\${libdir} -lkmod
Cflags: -I\${includedir}
EOF

printf 'pciutils=%s\nkmod=%s\nscript=%s\n' "$pv" "$kv" "$self_sum" >"$stamp"
log "built libpci.a and libkmod.a into $OUT in $(( $(date +%s) - t0 )) s"
[ $print = 1 ] && print_flags
fi

# --- link check ----------------------------------------------------------------
# Links a program using the same calls as early-vfio (pci_alloc/pci_init/
# pci_scan_bus, kmod_new/lookup/modinfo, ini_parse) with -static, checks
# `file` says "statically linked", then runs it on the host's PCI bus and on
# a fake /lib/modules tree whose modules are xz-, zstd- and gzip-compressed
# (made with depmod), so libkmod's static decompression paths are exercised.

if [ $check = 1 ]; then
	[ "${skip_build:-0}" = 1 ] && ensure_build_deps
	tdir=$OUT/check
	case $tdir in /*/check) ;; *) die "bad check folder '$tdir'" ;; esac
	rm -rf "$tdir"; mkdir -p "$tdir"
	cat >"$tdir/t.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <pci/pci.h>
#include <libkmod.h>
#include <ini.h>

static int h(void *u, const char *s, const char *k, const char *v)
{ (void)s; (void)k; (void)v; ++*(int *)u; return 1; }

/* argv[1]: modules dir ("" for kmod's default /lib/modules/$(uname -r)),
 * argv[2..]: module names to look up; prints path and modinfo name= */
int main(int argc, char **argv)
{
	struct pci_access *pa = pci_alloc();
	struct pci_dev *d;
	struct kmod_ctx *ctx;
	int n = 0, bad = 0, i, keys = 0;

	pci_init(pa);
	pci_scan_bus(pa);
	for (d = pa->devices; d; d = d->next)
		n++;
	pci_cleanup(pa);
	printf("libpci: %d devices\n", n);

	ctx = kmod_new(argc > 1 && *argv[1] ? argv[1] : NULL, NULL);
	if (!ctx)
		return 1;
	printf("libkmod: dirname %s, resources %s\n", kmod_get_dirname(ctx),
	       kmod_load_resources(ctx) < 0 ? "NOT loaded" : "loaded");
	for (i = 2; i < argc; i++) {
		struct kmod_list *l = NULL, *it, *info = NULL;
		struct kmod_module *m = NULL;
		const char *name = "?";

		if (strchr(argv[i], '/')) {	/* a file: no index needed */
			if (kmod_module_new_from_path(ctx, argv[i], &m) < 0) {
				printf("libkmod: %s: cannot open\n", argv[i]);
				bad++;
				continue;
			}
		} else if (kmod_module_new_from_lookup(ctx, argv[i], &l) < 0 || !l) {
			printf("libkmod: %s not found\n", argv[i]);
			bad++;
			continue;
		} else {
			m = kmod_module_get_module(l);
		}
		if (kmod_module_get_info(m, &info) < 0) {
			printf("libkmod: %s: cannot read modinfo\n", argv[i]);
			bad++;
		} else {
			kmod_list_foreach(it, info)
				if (!strcmp(kmod_module_info_get_key(it), "name"))
					name = kmod_module_info_get_value(it);
			printf("libkmod: %s -> %s (modinfo name=%s)\n", argv[i],
			       kmod_module_get_path(m), name);
			kmod_module_info_free_list(info);
		}
		kmod_module_unref(m);
		kmod_module_unref_list(l);
	}
	kmod_unref(ctx);
	i = ini_parse("t.ini", h, &keys);
	printf("inih: ini_parse -> %d, %d keys\n", i, keys);
	if (i != 0 || keys != 1)
		bad++;
	return bad ? 1 : 0;
}
EOF
	printf '[options]\ndriver = vfio-pci\n' >"$tdir/t.ini"
	gcc -std=c11 -Os -Wall -I"$OUT/include" -o "$tdir/t" "$tdir/t.c" \
		-static -L"$OUT/lib" -Wl,--gc-sections \
		-lpci -lkmod -linih -lzstd -llzma -lz 2>"$tdir/link.log" ||
		{ cat "$tdir/link.log" >&2; die "static link check failed"; }
	if [ -s "$tdir/link.log" ]; then
		log "linker warnings:"; cat "$tdir/link.log" >&2
	fi
	file "$tdir/t" | grep -q 'statically linked' ||
		die "test binary is not statically linked: $(file "$tdir/t")"
	cp "$tdir/t" "$tdir/t.stripped" && strip "$tdir/t.stripped"
	log "static link ok: $(stat -c %s "$tdir/t") bytes, stripped $(stat -c %s "$tdir/t.stripped") bytes"

	# fake modules tree: vfio-pci.ko.xz and zfake.ko.zst indexed by depmod,
	# gfake.ko.gz opened by path (Debian's own kmod is built without zlib,
	# so its depmod ignores .ko.gz files)
	kver=6.1.0-evfio-check
	mdir=$tdir/root/lib/modules/$kver
	set --
	if command -v depmod >/dev/null && command -v xz >/dev/null &&
	   command -v zstd >/dev/null && command -v gzip >/dev/null; then
		mkdir -p "$mdir/kernel/drivers/vfio/pci"
		for spec in vfio-pci:xz zfake:zstd gfake:gzip; do
			mod=${spec%%:*} z=${spec#*:}
			ko=$mdir/kernel/drivers/vfio/pci/$mod.ko
			printf '__attribute__((section(".modinfo"), used)) static const char mi[] = "license=GPL\\0depends=\\0name=%s\\0vermagic=%s SMP mod_unload ";\n' \
				"$(echo "$mod" | tr - _)" "$kver" >"$tdir/mod.c"
			gcc -c -o "$ko" "$tdir/mod.c"
			case $z in
			zstd) zstd -q --rm "$ko" ;;
			*) $z "$ko" ;;
			esac
		done
		: >"$mdir/modules.builtin"
		: >"$mdir/modules.order"
		: >"$mdir/modules.builtin.modinfo"
		depmod -b "$tdir/root" "$kver"
		set -- "$mdir" vfio-pci vfio_pci zfake "$mdir/kernel/drivers/vfio/pci/gfake.ko.gz"
	else
		log "depmod/xz/zstd/gzip missing: skipping the compressed-module check"
	fi
	(cd "$tdir" && ./t "$@") >&2 || die "test binary failed"
fi

#!/bin/sh
# Install, with apt-get, what building and testing early-vfio needs and is
# missing.  Run as root on Debian 12 or 13; does nothing when all is there.
#   scripts/install-deps.sh [build|test|vm|all]   (default: all)
set -eu

# build: also debian/control's Build-Depends (debhelper provides debhelper-compat (= 13)), so
# `make deb` (dpkg-buildpackage) works offline; test: lintian for make deb, autopkgtest to run
# debian/tests by hand, fakeroot and blhc for make check-package
build="build-essential pkgconf libpci-dev libkmod-dev libinih-dev pciutils debhelper dpkg-dev libcmocka-dev"
test="libcmocka-dev shellcheck python3 valgrind strace clang libclang-rt-dev dpkg-dev file lintian autopkgtest zsh fakeroot blhc"
vm="qemu-system-x86 debootstrap e2fsprogs cpio zstd xz-utils util-linux initramfs-tools file binutils dpkg-dev"

case "${1:-all}" in
build) want=$build ;;
test) want="$build $test" ;;
vm) want=$vm ;;
all) want="$build $test $vm" ;;
*) echo "usage: $0 [build|test|vm|all]" >&2; exit 1 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/bin/sh
# tests/deps/apt.sh [--network] - make deps leaves the host's /etc/apt as it was.
#
# scripts/build-static-deps.sh fetches Debian's sources of pciutils and kmod with a private apt
# configuration; /etc/apt is only read. Each case runs the script (FETCH_ONLY=1: fetch, build
# nothing; OUT in a temporary folder) in a mount namespace whose /etc/apt is a tmpfs holding the
# case's tree, and compares that tree before and after (names, types, modes, owners, sizes,
# mtimes, link targets, contents):
#   no-deb-src     sources without any deb-src entry: /etc/apt unchanged; apt-get update, apt-cache
#                  and apt-get source ran with APT_CONFIG=OUT/apt/apt.conf, whose sources.list has
#                  the deb-src line of the host entry (URI, release, Signed-By)
#   legacy-file    the file earlier versions wrote (sources.list.d/early-vfio-src.list, first line
#                  theirs) is there: removed, and nothing else changed
#   foreign-file   a file by that name that is not theirs: kept, nothing changed
# apt-get and apt-cache are stand-ins on PATH that log their calls (no network). --network runs
# the first case with the real apt against the host's mirror instead (a copy of the host's own
# /etc/apt; about 20 s and 3 MB from the archive), and checks the two sources were fetched.
# As root (unshare -m). Prints one line per case, then "N passed, N failed".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
script=$top/scripts/build-static-deps.sh
network=0
case ${1:-} in
--network) network=1 ;;
'') ;;
*) echo "usage: $0 [--network]" >&2; exit 1 ;;
esac
[ "$(id -u)" = 0 ] || { echo "tests/deps/apt.sh: needs root (unshare -m)" >&2; exit 1; }
command -v unshare >/dev/null || { echo "tests/deps/apt.sh: unshare not found (util-linux)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/evfio-apt.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
legacy_head='# added by early-vfio scripts/build-static-deps.sh for apt-get source'

# The stand-ins: every call logged with its APT_CONFIG; apt-cache showsrc knows one version of
# each source package, apt-get source makes the folder dpkg-source would extract.
mkdir -p "$work/bin"
cat >"$work/bin/apt-get" <<'EOS'
#!/bin/sh
echo "apt-get APT_CONFIG=${APT_CONFIG:-} $*" >>"$EVFIO_FAKE_APT_LOG"
for a in "$@"; do
	case $a in
	pciutils=*) mkdir -p pciutils-3.9.0 ;;
	kmod=*) mkdir -p kmod-30+20221128 ;;
	esac
done
exit 0
EOS
cat >"$work/bin/apt-cache" <<'EOS'
#!/bin/sh
echo "apt-cache APT_CONFIG=${APT_CONFIG:-} $*" >>"$EVFIO_FAKE_APT_LOG"
for a in "$@"; do
	case $a in
	pciutils) printf 'Package: pciutils\nVersion: 1:3.9.0-4\n\n' ;;
	kmod) printf 'Package: kmod\nVersion: 30+20221128-1\n\n' ;;
	esac
done
exit 0
EOS
chmod +x "$work/bin/apt-get" "$work/bin/apt-cache"

# A host's /etc/apt without deb-src: Debian's deb822 entry, as a Debian 12 or 13 install has.
base=$work/base
mkdir -p "$base/sources.list.d" "$base/apt.conf.d" "$base/preferences.d" "$base/trusted.gpg.d"
: >"$base/sources.list"
printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n' \
	"$codename" "$codename" "$keyring" >"$base/sources.list.d/debian.sources"
echo 'APT::Install-Recommends "false";' >"$base/apt.conf.d/99local"

# The part that runs in the namespace: $1 the case's tree, $2 the prefix of its results, $3 PATH.
# snapshot: one line per entry of /etc/apt, then the contents' checksums.
cat >"$work/inner.sh" <<'EOS'
set -e
snapshot() {
	(cd /etc/apt && find . -printf '%P %y %m %U:%G %s %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}
mount -t tmpfs -o mode=0755 evfio-apt /etc/apt
cp -a "$1/." /etc/apt/
touch -r "$1" /etc/apt
snapshot >"$2.before"
rc=0
env PATH="$3" OUT="$2.out" FETCH_ONLY=1 EVFIO_FAKE_APT_LOG="$2.apt" "$4" >"$2.log" 2>&1 || rc=$?
echo "$rc" >"$2.rc"
snapshot >"$2.after"
EOS

# run CASE TREE [real]: the script in a namespace over a copy of TREE; leaves
# $work/CASE.{before,after,log,apt,rc} and the script's OUT in $work/CASE.out
run() {
	rm -rf "${work:?}/$1.tree" && cp -a "$2" "$work/$1.tree"
	: >"$work/$1.apt"
	path=$work/bin:$PATH
	[ "${3:-}" = real ] && path=$PATH
	unshare -m --propagation private sh "$work/inner.sh" "$work/$1.tree" "$work/$1" "$path" "$script"
}

# changed A B: the lines that differ
changed() { diff "$1" "$2" | grep '^[<>]' | sed 's/^/      /' | head -n 10; }

# --- no-deb-src ------------------------------------------------------------
c=no-deb-src
if [ $network = 1 ]; then
	tree=$work/host
	cp -a /etc/apt "$tree"
	rm -f "$tree/sources.list.d/early-vfio-src.list"
	run "$c" "$tree" real
else
	run "$c" "$base"
fi
why=""
[ "$(cat "$work/$c.rc")" = 0 ] || why="the script failed (status $(cat "$work/$c.rc")): $(tail -n 3 "$work/$c.log")"
if ! cmp -s "$work/$c.before" "$work/$c.after"; then
	why="${why:+$why; }/etc/apt changed:
$(changed "$work/$c.before" "$work/$c.after")"
fi
aptconf=$work/$c.out/apt/apt.conf
if [ $network = 1 ]; then
	for d in "$work/$c.out"/src/pciutils-* "$work/$c.out"/src/kmod-*; do
		[ -f "$d/.evfio-version" ] || why="${why:+$why; }no source fetched ($d)"
	done
else
	# every call but the build dependencies' apt-get install (the host's apt, rightly)
	grep -v '^apt-get [^ ]* install ' "$work/$c.apt" >"$work/$c.apt.src" || true
	calls=$(grep -c . "$work/$c.apt.src" || true)
	private=$(grep -c "APT_CONFIG=$aptconf " "$work/$c.apt.src" || true)
	if [ "$calls" = 0 ] || [ "$calls" != "$private" ]; then
		why="${why:+$why; }$((calls - private)) of $calls apt calls without APT_CONFIG=$aptconf: $(grep -v "APT_CONFIG=$aptconf " "$work/$c.apt.src" | head -n 3)"
	fi
	for w in 'apt-get .* update' 'apt-get .* source .*pciutils=1:3.9.0-4' 'apt-get .* source .*kmod=30+20221128-1'; do
		grep -q "$w" "$work/$c.apt" || why="${why:+$why; }no call '$w'"
	done
	line="deb-src [signed-by=$keyring] http://deb.debian.org/debian $codename main"
	grep -qxF "$line" "$work/$c.out/apt/sources.list" 2>/dev/null ||
		why="${why:+$why; }the private sources.list lacks '$line'"
	for k in 'Dir::Etc::SourceList' 'Dir::State::Lists' 'Dir::Cache'; do
		grep -q "^$k \"$work/$c.out/apt/" "$aptconf" 2>/dev/null || why="${why:+$why; }$aptconf sets no private $k"
	done
fi
if [ -z "$why" ]; then ok "$c: /etc/apt unchanged, the sources fetched through $aptconf"; else bad "$c" "$why"; fi

if [ $network = 0 ]; then
	# --- legacy-file -------------------------------------------------------
	c=legacy-file
	tree=$work/legacy
	cp -a "$base" "$tree"
	printf '%s\ndeb-src [signed-by=%s] http://deb.debian.org/debian %s main\n' "$legacy_head" \
		"$keyring" "$codename" >"$tree/sources.list.d/early-vfio-src.list"
	touch -r "$base/sources.list.d" "$tree/sources.list.d"
	run "$c" "$tree"
	# what it must be after: the base tree (the namespace's view of it)
	run base-view "$base"
	why=""
	[ "$(cat "$work/$c.rc")" = 0 ] || why="the script failed (status $(cat "$work/$c.rc")): $(tail -n 3 "$work/$c.log")"
	# the folder's mtime changes with the removal: compare all but that line
	grep -v '^sources.list.d d ' "$work/$c.after" >"$work/$c.after.cmp"
	grep -v '^sources.list.d d ' "$work/base-view.before" >"$work/$c.want.cmp"
	if ! cmp -s "$work/$c.want.cmp" "$work/$c.after.cmp"; then
		why="${why:+$why; }/etc/apt is not the tree without the old file:
$(changed "$work/$c.want.cmp" "$work/$c.after.cmp")"
	fi
	if [ -z "$why" ]; then ok "$c: the old script's early-vfio-src.list removed, nothing else changed"; else bad "$c" "$why"; fi

	# --- foreign-file ------------------------------------------------------
	c=foreign-file
	tree=$work/foreign
	cp -a "$base" "$tree"
	printf '# mine\ndeb-src [signed-by=%s] http://deb.debian.org/debian %s main\n' "$keyring" \
		"$codename" >"$tree/sources.list.d/early-vfio-src.list"
	run "$c" "$tree"
	why=""
	[ "$(cat "$work/$c.rc")" = 0 ] || why="the script failed (status $(cat "$work/$c.rc")): $(tail -n 3 "$work/$c.log")"
	cmp -s "$work/$c.before" "$work/$c.after" || why="${why:+$why; }/etc/apt changed:
$(changed "$work/$c.before" "$work/$c.after")"
	if [ -z "$why" ]; then ok "$c: a file of that name that is not the old script's is kept"; else bad "$c" "$why"; fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

# shellcheck shell=bash
# bash completion for early-vfio(8): commands, options, section names of the config, PCI
# addresses, disks (/dev/...) and network interfaces. Installed by `make install` as
# /usr/share/bash-completion/completions/early-vfio. It reads the config named by -c/--config on
# the command line (default /etc/early-vfio.conf) and the devices under --sysroot (or
# $EARLY_VFIO_SYSROOT, as early-vfio does; default /).

_early_vfio_commands='list add remove apply bind boot status check release vfs protected record'

# _early_vfio_sections CONFIG: the device sections' names
_early_vfio_sections()
{
	[ -r "$1" ] || return 0
	sed -n 's/^[[:space:]]*\[[[:space:]]*\([A-Za-z0-9._-]*\)[[:space:]]*\].*/\1/p' "$1" | grep -vx options
}

# _early_vfio_addresses ROOT: PCI addresses as lspci shows them (the domain only when not 0000)
_early_vfio_addresses()
{
	local d
	for d in "$1"/sys/bus/pci/devices/*; do
		[ -e "$d" ] || continue
		d=${d##*/}
		printf '%s\n' "${d#0000:}"
	done
}

# _early_vfio_netifs ROOT: network interfaces, lo aside
_early_vfio_netifs()
{
	local d
	for d in "$1"/sys/class/net/*; do
		[ -e "$d" ] || [ -L "$d" ] || continue
		d=${d##*/}
		[ "$d" = lo ] || printf '%s\n' "$d"
	done
}

# _early_vfio_disks ROOT: /dev/NAME of every disk and partition
_early_vfio_disks()
{
	local d
	for d in "$1"/sys/class/block/*; do
		[ -e "$d" ] || [ -L "$d" ] || continue
		printf '/dev/%s\n' "${d##*/}"
	done
}

_early_vfio()
{
	local cur prev cmd='' config=/etc/early-vfio.conf root=${EARLY_VFIO_SYSROOT:-/} i w
	local opts='-c --config --sysroot -n --dry-run --skip --timeout -a --all -j --json --offline
		--initramfs --name --vm -y --yes --chroot -v --verbose -q --quiet -h --help -V --version'
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]:-}

	# the command, and the config and root the line names
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-c | --config) config=${COMP_WORDS[i + 1]:-$config}; i=$((i + 1)) ;;
		--sysroot) root=${COMP_WORDS[i + 1]:-$root}; i=$((i + 1)) ;;
		--config=*) config=${w#--config=} ;;
		--sysroot=*) root=${w#--sysroot=} ;;
		--skip | --timeout | --initramfs | --name | --vm) i=$((i + 1)) ;;
		-*) ;;
		*) [ -z "$cmd" ] && cmd=$w ;;
		esac
	done

	case $prev in
	-c | --config | --initramfs)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	--sysroot)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return 0
		;;
	--skip)
		mapfile -t COMPREPLY < <(compgen -W "$(_early_vfio_sections "$config")" -- "$cur")
		return 0
		;;
	--timeout | --name)
		return 0
		;;
	--vm)
		# Proxmox VE: the VM IDs of /etc/pve/qemu-server/<vmid>.conf
		local f ids=''
		for f in "${root%/}"/etc/pve/qemu-server/*.conf; do
			[ -e "$f" ] || continue
			f=${f##*/}
			ids+="${f%.conf} "
		done
		mapfile -t COMPREPLY < <(compgen -W "$ids" -- "$cur")
		return 0
		;;
	esac

	if [[ $cur == -* ]]; then
		case $cmd in
		list | status) opts='-a --all -j --json' ;;
		add) opts='--name --vm' ;;
		apply) opts='-n --dry-run -y --yes' ;;
		bind | release | vfs) opts='-n --dry-run' ;;
		check) opts='--offline --initramfs' ;;
		record) opts='--chroot' ;;
		esac
		# shellcheck disable=SC2086 # a word list
		mapfile -t COMPREPLY < <(compgen -W "$(printf '%s ' $opts)" -- "$cur")
		return 0
	fi
	if [ -z "$cmd" ]; then
		mapfile -t COMPREPLY < <(compgen -W "$_early_vfio_commands" -- "$cur")
		return 0
	fi
	case $cmd in
	add)
		if [[ $cur == /* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$(_early_vfio_disks "$root")" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(_early_vfio_addresses "$root") $(_early_vfio_netifs "$root")" -- "$cur")
		fi
		;;
	remove)
		if [[ $cur == /* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$(_early_vfio_disks "$root")" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(_early_vfio_sections "$config") $(_early_vfio_addresses "$root")" -- "$cur")
		fi
		;;
	release | vfs)
		mapfile -t COMPREPLY < <(compgen -W "$(_early_vfio_addresses "$root")" -- "$cur")
		;;
	esac
	return 0
}
complete -F _early_vfio early-vfio

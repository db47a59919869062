// SPDX-License-Identifier: MIT
/* early-vfio: options, commands and exit codes.  The work is done by the
 * modules named in early-vfio.h; this file only wires them together. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "early-vfio.h"


/* The commands: what each needs from main before it runs. */
enum {
	NEEDS_MODULES = 1 << 0,	/* libkmod (not for check --offline/--initramfs) */
	LOGS_TO_KMSG = 1 << 1,	/* its lines also go to the kernel log */
	TAKES_ARGS = 1 << 2,	/* addresses after the command */
};

struct command {
	const char *name;
	int (*run)(struct evfio_ctx *c, struct evfio_opts *o);
	unsigned int flags;
	const char *synopsis;	/* after "early-vfio [options] NAME" */
	const char *help;
};

static const struct command commands[] = {
	{ "list", evfio_cmd_list, NEEDS_MODULES, " [-a] [--json]",
	  "devices by IOMMU group: disks, interfaces, what can go to a VM" },
	{ "add", evfio_cmd_add, NEEDS_MODULES | TAKES_ARGS,
	  " DEVICE...|--vm VMID [--name SECTION]",
	  "select a device (address, /dev disk, interface) in the config" },
	{ "remove", evfio_cmd_remove, NEEDS_MODULES | TAKES_ARGS, " SECTION|DEVICE...",
	  "take a section, or the section of a device, out of the config" },
	{ "apply", evfio_cmd_apply, NEEDS_MODULES, " [--dry-run] [--yes]",
	  "check, rebuild every initramfs, verify; what the next boot binds" },
	{ "bind", evfio_cmd_bind, NEEDS_MODULES | LOGS_TO_KMSG, "",
	  "bind every selected device now" },
	{ "boot", evfio_cmd_boot, NEEDS_MODULES | LOGS_TO_KMSG, "",
	  "bind at boot: kernel command line, time limit; always succeeds" },
	{ "status", evfio_cmd_status, NEEDS_MODULES, " [-a] [--json]",
	  "show selected devices and devices on the target driver" },
	{ "check", evfio_cmd_check, NEEDS_MODULES, " [--offline | --initramfs IMAGE]",
	  "validate the config and show what each section selects" },
	{ "release", evfio_cmd_release, NEEDS_MODULES | LOGS_TO_KMSG | TAKES_ARGS,
	  " [ADDRESS...]", "give devices on the target driver back to their host driver" },
	{ "vfs", evfio_cmd_vfs, NEEDS_MODULES | LOGS_TO_KMSG | TAKES_ARGS, " [ADDRESS...]",
	  "create SR-IOV VFs on selected PFs, bind the chosen ones (udev runs it)" },
	{ "protected", evfio_cmd_protected, 0, "",
	  "list the PCI devices that hold the running system" },
	{ "record", evfio_cmd_record, NEEDS_MODULES, " [--chroot]",
	  "print what the initramfs is built for (the hook puts it in the image)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* "bind, boot, status, check, release or protected" */
static void command_names(char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_COMMANDS && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					i == 0 ? "" : i + 1 == N_COMMANDS ? " or " : ", ",
					commands[i].name);
}

static void usage(void)
{
	fputs("Usage:\n", stdout);
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf(" early-vfio [options] %s%s\n", commands[i].name,
		       commands[i].synopsis);
	fputs("\n"
	      "Bind the PCI devices selected in " EVFIO_DEFAULT_CONFIG " to vfio-pci,\n"
	      "early in boot, before their host drivers (ahci, nvme, ...) take them.\n"
	      "\n"
	      "Commands:\n", stdout);
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf(" %-15s %s\n", commands[i].name, commands[i].help);
	fputs("\n"
	      "Options:\n"
	      " -c, --config FILE    read FILE instead of " EVFIO_DEFAULT_CONFIG "\n"
	      "     --sysroot DIR    use DIR as the root for /sys, /proc and /dev/kmsg;\n"
	      "                      modules are then looked up under DIR and never loaded\n"
	      " -n, --dry-run        print what bind, release or apply would do, change nothing\n"
	      "     --skip LIST      ignore these sections (comma-separated)\n"
	      "     --timeout SEC    give up a bind after SEC seconds (default 60, 0: none)\n"
	      " -a, --all            status, list: every PCI device\n"
	      " -j, --json           status, list: print JSON\n"
	      "     --name SECTION   add: the new section's name\n"
	      "     --vm VMID        add: the devices of that Proxmox VE VM's hostpci lines\n"
	      " -y, --yes            apply: write the IOMMU option to the boot loader's\n"
	      "                      command line without asking\n"
	      "     --offline        check: validate the config only, no devices needed\n"
	      "     --initramfs IMG  check: is early-vfio in IMG, with this config, before udev\n"
	      "     --chroot         record: in a chroot: the system is /etc/fstab's\n"
	      " -v, --verbose        say more: every sysfs write and libkmod's messages\n"
	      " -q, --quiet          print errors only\n"
	      " -h, --help           display this help\n"
	      " -V, --version        display version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 invalid configuration (nothing bound),\n"
	      "3 check: valid configuration without device sections, 64 some selected\n"
	      "devices could not be bound (each given back).\n"
	      "\n"
	      "For more details see early-vfio(8) and early-vfio.conf(5).\n",
	      stdout);
	exit(EVFIO_EXIT_OK);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
try_help(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("early-vfio: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'early-vfio --help' for more information.\n", stderr);
	exit(EVFIO_EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	enum { OPT_SYSROOT = 256, OPT_SKIP, OPT_TIMEOUT, OPT_OFFLINE, OPT_INITRAMFS,
	       OPT_CHROOT, OPT_NAME, OPT_VM, OPT_YES };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "skip", required_argument, NULL, OPT_SKIP },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "offline", no_argument, NULL, OPT_OFFLINE },
		{ "initramfs", required_argument, NULL, OPT_INITRAMFS },
		{ "chroot", no_argument, NULL, OPT_CHROOT },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "vm", required_argument, NULL, OPT_VM },
		{ "yes", no_argument, NULL, 'y' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct evfio_opts o = {
		.config = EVFIO_DEFAULT_CONFIG,
		.level = LOG_INFO,
		.timeout = EVFIO_DEFAULT_TIMEOUT,
	};
	struct evfio_ctx c;
	const struct command *cmd;
	char *end;
	int ch, r;

	memset(&c, 0, sizeof(c));
	c.fs.rootfd = -1;
	o.sysroot = getenv("EARLY_VFIO_SYSROOT");
	opterr = 0;	/* our messages start with "early-vfio: " */
	while ((ch = getopt_long(argc, argv, ":c:najyvqhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config = optarg;
			break;
		case OPT_SYSROOT:
			o.sysroot = optarg;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case OPT_SKIP:
			o.skip = optarg;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			o.timeout = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-' ||
			    o.timeout > EVFIO_MAX_TIMEOUT)
				try_help("invalid --timeout '%s': seconds, 0-%u",
					 optarg, EVFIO_MAX_TIMEOUT);
			break;
		case 'a':
			o.all = true;
			break;
		case 'j':
			o.json = true;
			break;
		case OPT_OFFLINE:
			o.offline = true;
			break;
		case OPT_INITRAMFS:
			o.initramfs = optarg;
			break;
		case OPT_CHROOT:
			o.chroot = true;
			break;
		case OPT_NAME:
			o.name = optarg;
			break;
		case OPT_VM:
			o.vm = optarg;
			break;
		case 'y':
			o.yes = true;
			break;
		case 'v':
			o.level = LOG_DEBUG;
			break;
		case 'q':
			o.level = LOG_ERR;
			break;
		case 'h':
			usage();
			break;
		case 'V':
			printf("early-vfio " EVFIO_VERSION "\n");
			return EVFIO_EXIT_OK;
		case ':':
			try_help("option '%s' needs an argument", argv[optind - 1]);
			break;
		default:
			try_help("unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		char names[128];

		command_names(names, sizeof(names));
		try_help("no command given (%s)", names);
	}
	cmd = command_find(argv[optind]);
	if (!cmd)
		try_help("unknown command '%s'", argv[optind]);
	optind++;
	if (optind < argc && !(cmd->flags & TAKES_ARGS))
		try_help("%s takes no argument ('%s')", cmd->name, argv[optind]);
	if (!o.sysroot || !*o.sysroot)
		o.sysroot = "/";

	evfio_log_init(&c.log, o.level);
	c.dry_run = o.dry_run;
	r = evfio_sysfs_open(&c.fs, o.sysroot);
	if (r < 0) {
		ev_err(&c.log, "%s: %s", o.sysroot, strerror(-r));
		return EVFIO_EXIT_FAILURE;
	}
	if (cmd->flags & LOGS_TO_KMSG)
		evfio_log_open_kmsg(&c.log, &c.fs);
	if (cmd->run == evfio_cmd_bind || cmd->run == evfio_cmd_vfs) {
		evfio_signals_arm();
		evfio_deadline_set(&c.deadline, o.timeout);
		evfio_deadline_arm(&c.deadline);
	}
	if ((cmd->flags & NEEDS_MODULES) && !(cmd->run == evfio_cmd_check &&
					       (o.offline || o.initramfs))) {
		r = evfio_modules_new(&c.mods, o.sysroot, &c.log);
		if (r < 0) {
			ev_err(&c.log, "libkmod: %s", strerror(-r));
			return EVFIO_EXIT_FAILURE;
		}
	}

	o.args = argv + optind;
	o.nargs = argc - optind;
	r = cmd->run(&c, &o);
	if (cmd->run == evfio_cmd_bind && evfio_stop_signal()) {
		int sig = evfio_stop_signal();

		ev_err(&c.log, "stopped by SIG%s: no device was moved after it, and the "
		       "moved ones that were not to stay were given back",
		       sig == SIGINT ? "INT" : sig == SIGTERM ? "TERM" : "HUP");
		r = EVFIO_EXIT_FAILURE;
	}

	evfio_config_free(&c.cfg);
	evfio_protect_free(&c.prot);
	evfio_record_free(&c.rec);
	evfio_modules_free(c.mods);
	evfio_log_close(&c.log);
	evfio_sysfs_close(&c.fs);
	if (fflush(stdout) != 0 || ferror(stdout))
		return EVFIO_EXIT_FAILURE;
	return r;
}

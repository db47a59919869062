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


static void usage(void)
{
	fputs("Usage:\n"
	      " early-vfio [options] bind\n"
	      " early-vfio [options] status [-a] [--json]\n"
	      " early-vfio [options] check [--offline | --initramfs IMAGE]\n"
	      " early-vfio [options] release [ADDRESS...]\n"
	      " early-vfio [options] protected\n"
	      "\n"
	      "Bind the PCI devices selected in " EVFIO_DEFAULT_CONFIG " to vfio-pci,\n"
	      "early in boot, before their host drivers (ahci, nvme, ...) take them.\n"
	      "\n"
	      "Commands:\n"
	      " bind            bind every selected device (the boot-time job)\n"
	      " status          show selected devices and devices on the target driver\n"
	      " check           validate the config and show what each section selects\n"
	      " release         give devices on the target driver back to their host driver\n"
	      " protected       list the PCI devices that hold the running system\n"
	      "\n"
	      "Options:\n"
	      " -c, --config FILE    read FILE instead of " EVFIO_DEFAULT_CONFIG "\n"
	      "     --sysroot DIR    use DIR as the root for /sys, /proc and /dev/kmsg;\n"
	      "                      modules are then looked up under DIR and never loaded\n"
	      " -n, --dry-run        print what bind or release would do, change nothing\n"
	      "     --skip LIST      ignore these sections (comma-separated)\n"
	      "     --timeout SEC    give up a bind after SEC seconds (default 60)\n"
	      " -a, --all            status: list every PCI device\n"
	      " -j, --json           status: print JSON\n"
	      "     --offline        check: validate the config only, no devices needed\n"
	      "     --initramfs IMG  check: is early-vfio in IMG, with this config, before udev\n"
	      " -v, --verbose        say more: every sysfs write and libkmod's messages\n"
	      " -q, --quiet          print errors only\n"
	      " -h, --help           display this help\n"
	      " -V, --version        display version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 invalid configuration (nothing bound),\n"
	      "64 some selected devices could not be bound (each given back).\n"
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

static void on_alarm(int sig)
{
	static const char msg[] =
		"early-vfio: time limit reached, giving up (see --timeout)\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(EVFIO_EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	enum { OPT_SYSROOT = 256, OPT_SKIP, OPT_TIMEOUT, OPT_OFFLINE, OPT_INITRAMFS };
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
	const char *cmd;
	char *end;
	int ch, r;

	memset(&c, 0, sizeof(c));
	c.fs.rootfd = -1;
	o.sysroot = getenv("EARLY_VFIO_SYSROOT");
	opterr = 0;	/* our messages start with "early-vfio: " */
	while ((ch = getopt_long(argc, argv, ":c:najvqhV", longopts, NULL)) != -1) {
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
			if (errno || *end || !*optarg || o.timeout > 3600)
				try_help("invalid --timeout '%s': seconds, 0-3600",
					 optarg);
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
	if (optind >= argc)
		try_help("%s", "no command given (bind, status, check or release)");
	cmd = argv[optind++];
	if (!o.sysroot || !*o.sysroot)
		o.sysroot = "/";

	evfio_log_init(&c.log, o.level);
	c.dry_run = o.dry_run;
	r = evfio_sysfs_open(&c.fs, o.sysroot);
	if (r < 0) {
		ev_err(&c.log, "%s: %s", o.sysroot, strerror(-r));
		return EVFIO_EXIT_FAILURE;
	}

	if (!strcmp(cmd, "bind")) {
		if (optind < argc)
			try_help("bind takes no argument ('%s')", argv[optind]);
		evfio_log_open_kmsg(&c.log, c.fs.rootfd);
		if (o.timeout) {
			signal(SIGALRM, on_alarm);
			alarm(o.timeout);
		}
	} else if (!strcmp(cmd, "release")) {
		evfio_log_open_kmsg(&c.log, c.fs.rootfd);
	} else if (strcmp(cmd, "status") && strcmp(cmd, "check") &&
		   strcmp(cmd, "protected")) {
		try_help("unknown command '%s'", cmd);
	} else if (optind < argc) {
		try_help("unexpected argument '%s'", argv[optind]);
	}

	if (strcmp(cmd, "check") || !(o.offline || o.initramfs)) {
		r = evfio_modules_new(&c.mods, o.sysroot, &c.log);
		if (r < 0) {
			ev_err(&c.log, "libkmod: %s", strerror(-r));
			return EVFIO_EXIT_FAILURE;
		}
	}

	if (!strcmp(cmd, "bind"))
		r = evfio_cmd_bind(&c, &o);
	else if (!strcmp(cmd, "status"))
		r = evfio_cmd_status(&c, &o);
	else if (!strcmp(cmd, "check"))
		r = evfio_cmd_check(&c, &o);
	else if (!strcmp(cmd, "protected"))
		r = evfio_cmd_protected(&c, &o);
	else
		r = evfio_cmd_release(&c, &o, argv + optind, argc - optind);

	evfio_config_free(&c.cfg);
	evfio_protect_free(&c.prot);
	evfio_modules_free(c.mods);
	evfio_log_close(&c.log);
	evfio_sysfs_close(&c.fs);
	if (fflush(stdout) != 0 || ferror(stdout))
		return EVFIO_EXIT_FAILURE;
	return r;
}

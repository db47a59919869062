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

struct opts {
	const char *config;
	const char *sysroot;
	const char *skip;
	const char *initramfs;
	int level;
	bool dry_run, json, all, offline;
	unsigned int timeout;
};

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

/* Config: 0 loaded, 1 missing, or an exit code. */
static int load_config(struct evfio_ctx *c, const struct opts *o)
{
	int r = evfio_config_load(&c->cfg, o->config, &c->log);

	if (r == -ENOENT)
		return 1;
	if (r == -EINVAL || r == -EPERM) {
		ev_err(&c->log, "%s: invalid configuration: nothing will be bound",
		       o->config);
		return EVFIO_EXIT_CONFIG;
	}
	if (r < 0) {
		ev_err(&c->log, "%s: %s", o->config, strerror(-r));
		return EVFIO_EXIT_CONFIG;
	}
	if (o->skip)
		evfio_config_skip(&c->cfg, o->skip);
	return 0;
}

static void defaults_without_config(struct evfio_ctx *c, const char *path)
{
	evfio_config_free(&c->cfg);
	memset(&c->cfg, 0, sizeof(c->cfg));
	c->cfg.path = path;
	c->cfg.log = &c->log;
	snprintf(c->cfg.driver, sizeof(c->cfg.driver), "%s", EVFIO_DEFAULT_DRIVER);
	c->cfg.unbind = true;
}

static int scan(struct evfio_ctx *c, bool names, struct evfio_devlist *l)
{
	int r = evfio_pci_scan(&c->fs, &c->log, names, l);

	if (r < 0) {
		ev_err(&c->log, "cannot scan PCI devices under %s: %s", c->fs.root,
		       strerror(-r));
		return r;
	}
	for (size_t i = 0; i < l->n; i++)
		l->devs[i].section = evfio_config_match(&c->cfg, &l->devs[i].id);
	return 0;
}

/* The devices that hold the system: those recorded in the image when it
 * was built (at boot nothing is mounted yet), and those mounted now. */
static void load_protections(struct evfio_ctx *c)
{
	int r = evfio_protect_load(&c->fs, EVFIO_PROTECTED_FILE, &c->prot);

	if (r < 0 && r != -ENOENT)
		ev_warn(&c->log, "/%s: %s", EVFIO_PROTECTED_FILE, strerror(-r));
	r = evfio_protect_scan(&c->fs, &c->log, &c->prot);
	if (r < 0)
		ev_dbg(&c->log, "cannot read mounts: %s", strerror(-r));
}

/* "early-vfio=off" and "early-vfio.skip=a,b" on the kernel command line. */
static bool cmdline_says_off(struct evfio_ctx *c, struct opts *o)
{
	static char skip[1024];
	char buf[4096];
	char *p, *tok;

	if (evfio_sysfs_read(&c->fs, "proc/cmdline", buf, sizeof(buf)) < 0)
		return false;
	for (p = buf; (tok = strtok(p, " \t")); p = NULL) {
		if (!strcmp(tok, "early-vfio=off") || !strcmp(tok, "early-vfio=0") ||
		    !strcmp(tok, "early-vfio=no") || !strcmp(tok, "early-vfio=false"))
			return true;
		if (!strncmp(tok, "early-vfio.skip=", 16) && !o->skip) {
			snprintf(skip, sizeof(skip), "%s", tok + 16);
			o->skip = skip;
		}
	}
	return false;
}

static int cmd_bind(struct evfio_ctx *c, struct opts *o)
{
	struct evfio_devlist l;
	size_t n_sel = 0, n_ok = 0, n_already = 0, n_fail = 0, n_todo = 0;
	int r;

	if (cmdline_says_off(c, o)) {
		ev_info(&c->log, "disabled on the kernel command line (early-vfio=off)");
		return EVFIO_EXIT_OK;
	}
	r = load_config(c, o);
	if (r == 1) {
		ev_info(&c->log, "%s: not found, nothing to do", o->config);
		return EVFIO_EXIT_OK;
	}
	if (r)
		return r;
	if (o->skip)
		ev_info(&c->log, "skipping sections: %s", o->skip);
	if (scan(c, false, &l) < 0)
		return EVFIO_EXIT_FAILURE;
	load_protections(c);
	evfio_safety_review(c, &l);

	for (size_t i = 0; i < l.n; i++) {
		struct evfio_dev *d = &l.devs[i];

		if (!d->section)
			continue;
		n_sel++;
		if ((strcmp(d->driver, c->cfg.driver) ||
		     strcmp(d->override, c->cfg.driver)) &&
		    !evfio_safety_refusal(d))
			n_todo++;
	}
	if (n_sel == 0) {
		ev_info(&c->log, "no PCI device matches %s", o->config);
		evfio_devlist_free(&l);
		return EVFIO_EXIT_OK;
	}
	if (n_todo && evfio_modules_load_driver(c->mods, &c->fs, c->cfg.driver,
						 c->dry_run) < 0) {
		for (size_t i = 0; i < l.n; i++) {
			char label[64];

			if (!l.devs[i].section)
				continue;
			if (evfio_safety_refusal(&l.devs[i])) {
				evfio_bind_device(c, &l.devs[i]);
				continue;
			}
			evfio_dev_label(&l.devs[i], label, sizeof(label));
			ev_err(&c->log, "%s: not bound (%s): driver %s is not "
			       "available; the device was not touched", label,
			       l.devs[i].section->name, c->cfg.driver);
		}
		evfio_devlist_free(&l);
		return EVFIO_EXIT_FAILURE;
	}

	for (size_t i = 0; i < l.n; i++) {
		if (!l.devs[i].section)
			continue;
		switch (evfio_bind_device(c, &l.devs[i])) {
		case EVFIO_BOUND:
		case EVFIO_PLANNED:
			n_ok++;
			break;
		case EVFIO_ALREADY:
			n_already++;
			break;
		default:
			n_fail++;
		}
	}
	evfio_devlist_free(&l);
	if (n_already == n_sel)
		ev_info(&c->log, "nothing to do: all %zu selected device%s on %s",
			n_sel, n_sel == 1 ? " is" : "s are", c->cfg.driver);
	else
		ev_info(&c->log, "%zu selected: %zu bound, %zu already on %s, %zu "
			"failed", n_sel, n_ok, n_already, c->cfg.driver, n_fail);
	return n_fail ? EVFIO_EXIT_PARTIAL : EVFIO_EXIT_OK;
}

static int cmd_status(struct evfio_ctx *c, struct opts *o)
{
	struct evfio_devlist l;
	int r;

	r = load_config(c, o);
	if (r == 1)
		defaults_without_config(c, o->config);
	else if (r)
		return r;
	if (scan(c, true, &l) < 0)
		return EVFIO_EXIT_FAILURE;
	load_protections(c);
	evfio_safety_review(c, &l);
	if (o->json)
		evfio_print_status_json(stdout, c, &l, o->all);
	else
		evfio_print_status(stdout, c, &l, o->all);
	evfio_devlist_free(&l);
	return EVFIO_EXIT_OK;
}

static int cmd_check(struct evfio_ctx *c, struct opts *o)
{
	struct evfio_devlist l;
	int r, warnings = 0, errors;

	if (o->initramfs)
		return evfio_initramfs_check(o->initramfs, o->config, &c->log) ?
			       EVFIO_EXIT_FAILURE : EVFIO_EXIT_OK;
	r = load_config(c, o);
	if (r == 1) {
		ev_err(&c->log, "%s: not found (see early-vfio.conf(5))", o->config);
		return EVFIO_EXIT_CONFIG;
	}
	if (r)
		return r;
	printf("%s: valid, %zu section%s, target driver %s\n", o->config,
	       c->cfg.n_sections, c->cfg.n_sections == 1 ? "" : "s",
	       c->cfg.driver);
	if (o->offline)
		return EVFIO_EXIT_OK;
	if (scan(c, true, &l) < 0)
		return EVFIO_EXIT_FAILURE;
	load_protections(c);
	errors = evfio_safety_review(c, &l);
	if (!evfio_iommu_present(&c->fs)) {
		ev_warn(&c->log, "no IOMMU groups in /sys/kernel/iommu_groups: the "
			"IOMMU is off or absent; on Intel add intel_iommu=on to the "
			"kernel command line (AMD-Vi is on by default), then check "
			"with: dmesg | grep -e DMAR -e IOMMU");
		warnings++;
	}
	for (size_t s = 0; s < c->cfg.n_sections; s++) {
		const struct evfio_section *sec = &c->cfg.sections[s];
		size_t found = 0;

		printf("[%s]%s\n", sec->name, sec->skipped ? " (skipped)" : "");
		for (size_t i = 0; i < l.n; i++) {
			const struct evfio_dev *d = &l.devs[i];
			const char *why;

			if (d->section != sec)
				continue;
			found++;
			printf("  %s %s [%04x]: %s [%04x:%04x] driver %s\n", d->bdf,
			       d->class_name, d->id.class >> 8, d->dev_name,
			       d->id.vendor, d->id.device,
			       d->driver[0] ? d->driver : "(none)");
			why = evfio_safety_refusal(d);
			if (why && evfio_protect_why(&c->prot, d->bdf) &&
			    !sec->allow_system)
				ev_err(&c->log, "%s: [%s] selects %s, but %s",
				       o->config, sec->name, d->bdf, why);
			else if (why) {
				ev_warn(&c->log, "%s: will not be bound: %s", d->bdf,
					why);
				warnings++;
			}
		}
		if (!found && !sec->skipped) {
			ev_warn(&c->log, "%s:%d: section [%s] selects no device on "
				"this machine", o->config, sec->line, sec->name);
			warnings++;
		}
	}
	evfio_devlist_free(&l);
	if (warnings)
		printf("%d warning%s\n", warnings, warnings == 1 ? "" : "s");
	if (errors) {
		ev_err(&c->log, "%s: %d selected device%s hold%s the running "
		       "system", o->config, errors, errors == 1 ? "" : "s",
		       errors == 1 ? "s" : "");
		return EVFIO_EXIT_CONFIG;
	}
	return EVFIO_EXIT_OK;
}

static int cmd_protected(struct evfio_ctx *c, struct opts *o)
{
	int r = evfio_protect_scan(&c->fs, &c->log, &c->prot);

	(void)o;
	if (r < 0) {
		ev_err(&c->log, "cannot read the mounts: %s", strerror(-r));
		return EVFIO_EXIT_FAILURE;
	}
	evfio_protect_print(stdout, &c->prot);
	return EVFIO_EXIT_OK;
}

static int cmd_release(struct evfio_ctx *c, struct opts *o, char **args,
		       int nargs)
{
	struct evfio_devlist l;
	struct evfio_addr *addrs = NULL;
	size_t n_fail = 0, n_done = 0;
	int r;

	if (nargs) {
		addrs = calloc((size_t)nargs, sizeof(*addrs));
		if (!addrs)
			return EVFIO_EXIT_FAILURE;
	}
	for (int i = 0; i < nargs; i++) {
		const char *msg = evfio_addr_parse(args[i], &addrs[i]);

		if (msg) {
			free(addrs);
			try_help("invalid address '%s': %s", args[i], msg);
		}
	}
	/* releasing must work even when the config is broken: it only needs
	 * the target driver, which is then the default */
	r = load_config(c, o);
	if (r == 1 || (r && nargs)) {
		defaults_without_config(c, o->config);
	} else if (r) {
		free(addrs);
		return r;
	}
	if (scan(c, false, &l) < 0) {
		free(addrs);
		return EVFIO_EXIT_FAILURE;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct evfio_dev *d = &l.devs[i];
		bool want = false;

		if (!nargs) {
			want = !strcmp(d->override, c->cfg.driver);
		} else {
			for (int k = 0; k < nargs && !want; k++)
				want = evfio_addr_match(&addrs[k], &d->id);
		}
		if (!want)
			continue;
		n_done++;
		if (evfio_release_device(c, d) < 0)
			n_fail++;
	}
	free(addrs);
	evfio_devlist_free(&l);
	if (!n_done)
		ev_info(&c->log, "no device to release");
	if (!n_fail)
		return EVFIO_EXIT_OK;
	return n_fail == n_done ? EVFIO_EXIT_FAILURE : EVFIO_EXIT_PARTIAL;
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
	struct opts o = {
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
		r = cmd_bind(&c, &o);
	else if (!strcmp(cmd, "status"))
		r = cmd_status(&c, &o);
	else if (!strcmp(cmd, "check"))
		r = cmd_check(&c, &o);
	else if (!strcmp(cmd, "protected"))
		r = cmd_protected(&c, &o);
	else
		r = cmd_release(&c, &o, argv + optind, argc - optind);

	evfio_config_free(&c.cfg);
	evfio_protect_free(&c.prot);
	evfio_modules_free(c.mods);
	evfio_log_close(&c.log);
	evfio_sysfs_close(&c.fs);
	if (fflush(stdout) != 0 || ferror(stdout))
		return EVFIO_EXIT_FAILURE;
	return r;
}

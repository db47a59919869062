// SPDX-License-Identifier: MIT
/* The commands: each wires config, scan, safety review and the bind,
 * release or output modules together, and turns the result into an exit
 * code.  Options are parsed by main.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "early-vfio.h"

/* Config: 0 loaded, 1 missing, or an exit code. */
static int load_config(struct evfio_ctx *c, const struct evfio_opts *o)
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
	evfio_config_init(&c->cfg, path, &c->log);
}

/* Which devices a command keeps from the scan (see evfio_pci_scan). */
enum keep_what { KEEP_SELECTED, KEEP_STATUS, KEEP_ALL, KEEP_RELEASE };

struct keep {
	struct evfio_ctx *c;
	enum keep_what what;
	const struct evfio_addr *addrs;
	int nargs;
};

static bool keep_dev(const struct evfio_sysfs *fs, struct evfio_dev *d,
		     void *data)
{
	const struct keep *k = data;
	const char *target = k->c->cfg.driver;

	if (k->what == KEEP_RELEASE && k->nargs) {
		for (int i = 0; i < k->nargs; i++)
			if (evfio_addr_match(&k->addrs[i], &d->id))
				return true;
		return false;
	}
	if (k->what != KEEP_RELEASE && evfio_config_match(&k->c->cfg, &d->id))
		return true;
	if (k->what == KEEP_SELECTED || evfio_dev_refresh(fs, d) < 0)
		return false;
	if (k->what == KEEP_RELEASE)
		return !strcmp(d->override, target);
	return !strcmp(d->driver, target) || !strcmp(d->override, target);
}

static int scan(struct evfio_ctx *c, const struct keep *k, bool names,
		struct evfio_devlist *l)
{
	struct evfio_scan how = {
		.need = c->cfg.need,
		.names = names,
		.groups = k->what != KEEP_RELEASE,
		.keep = k->what == KEEP_ALL ? NULL : keep_dev,
		.data = (void *)k,
	};
	int r = evfio_pci_scan(&c->fs, &c->log, &how, l);

	if (r < 0) {
		ev_err(&c->log, "cannot scan PCI devices under %s: %s", c->fs.root,
		       strerror(-r));
		return r;
	}
	for (size_t i = 0; i < l->n; i++)
		l->devs[i].section = l->devs[i].group_only || k->what == KEEP_RELEASE ?
			NULL : evfio_config_match(&c->cfg, &l->devs[i].id);
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
static bool cmdline_says_off(struct evfio_ctx *c, struct evfio_opts *o)
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

/* Serial and model selectors: find out which NVMe candidates they take.
 * A dry run only reads what is known; a bind may move candidates (see
 * identify.c).  Returns the candidates that could not be identified. */
static size_t identify(struct evfio_ctx *c, const struct evfio_opts *o,
		       struct evfio_devlist *l)
{
	unsigned int ms = 10000;
	size_t n = 0;

	if (o->timeout && o->timeout * 1000 / 3 < ms)
		ms = o->timeout * 1000 / 3;
	for (size_t i = 0; i < l->n; i++)
		n += l->devs[i].section &&
		     evfio_section_needs_nvme_id(l->devs[i].section, &l->devs[i].id);
	if (!n)
		return 0;
	if (!c->dry_run) {
		/* method 1 binds candidates to it to ask their serial */
		evfio_modules_load_driver(c->mods, &c->fs, c->cfg.driver, false);
		return (size_t)evfio_identify_bind(c, l, ms);
	}
	evfio_identify_known(c, l, false, true);
	for (size_t i = 0; i < l->n; i++) {
		struct evfio_dev *d = &l->devs[i];
		char label[64];

		if (!d->section || !evfio_section_needs_nvme_id(d->section, &d->id))
			continue;
		evfio_dev_label(d, label, sizeof(label));
		ev_info(&c->log, "%s: serial not known yet (%s): at boot it is read "
			"before binding (%s) [dry run]", label, d->id_error,
			d->section->name);
		d->section = NULL;
	}
	return 0;
}

int evfio_cmd_bind(struct evfio_ctx *c, struct evfio_opts *o)
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
	if (scan(c, &(struct keep){ .c = c, .what = KEEP_SELECTED }, false, &l) < 0)
		return EVFIO_EXIT_FAILURE;
	load_protections(c);
	if (c->cfg.need & EVFIO_SCAN_NVME_ID)
		n_fail = identify(c, o, &l);
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
		return n_fail ? EVFIO_EXIT_PARTIAL : EVFIO_EXIT_OK;
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
	/* "nothing to do" must not hide a drive left unidentified */
	if (n_already == n_sel && n_sel == 1 && !n_fail)
		ev_info(&c->log, "nothing to do: the selected device is on %s",
			c->cfg.driver);
	else if (n_already == n_sel && !n_fail)
		ev_info(&c->log, "nothing to do: all %zu selected devices are on %s",
			n_sel, c->cfg.driver);
	else
		ev_info(&c->log, "%zu selected: %zu %s, %zu already on %s, %zu "
			"%s", n_sel, n_ok, c->dry_run ? "would be bound" : "bound",
			n_already, c->cfg.driver, n_fail,
			c->dry_run ? "would fail" : "failed");
	return n_fail ? EVFIO_EXIT_PARTIAL : EVFIO_EXIT_OK;
}

int evfio_cmd_status(struct evfio_ctx *c, struct evfio_opts *o)
{
	struct evfio_devlist l;
	int r;

	r = load_config(c, o);
	if (r == 1)
		defaults_without_config(c, o->config);
	else if (r)
		return r;
	if (scan(c, &(struct keep){ .c = c, .what = o->all ? KEEP_ALL : KEEP_STATUS },
		 true, &l) < 0)
		return EVFIO_EXIT_FAILURE;
	load_protections(c);
	evfio_identify_known(c, &l, true, false);
	evfio_safety_review(c, &l);
	if (o->json)
		evfio_print_status_json(stdout, c, &l, o->all);
	else
		evfio_print_status(stdout, c, &l, o->all);
	evfio_devlist_free(&l);
	return EVFIO_EXIT_OK;
}

int evfio_cmd_check(struct evfio_ctx *c, struct evfio_opts *o)
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
	if (scan(c, &(struct keep){ .c = c, .what = KEEP_SELECTED }, true, &l) < 0)
		return EVFIO_EXIT_FAILURE;
	load_protections(c);
	evfio_identify_known(c, &l, true, true);
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
			printf("  %s %s [%04x]: %s [%04x:%04x] driver %s", d->bdf,
			       d->class_name, d->id.class >> 8, d->dev_name,
			       d->id.vendor, d->id.device,
			       d->driver[0] ? d->driver : "(none)");
			if (d->id.nvme_known)
				printf(", serial %s", d->id.serial);
			putchar('\n');
			if (evfio_section_needs_nvme_id(sec, &d->id)) {
				ev_warn(&c->log, "%s: serial unknown, [%s] may or "
					"may not take it at boot: %s", d->bdf,
					sec->name, d->id_error);
				warnings++;
				continue;
			}
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

int evfio_cmd_protected(struct evfio_ctx *c, struct evfio_opts *o)
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

int evfio_cmd_release(struct evfio_ctx *c, struct evfio_opts *o, char **args,
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
			ev_err(&c->log, "invalid address '%s': %s", args[i], msg);
			free(addrs);
			return EVFIO_EXIT_FAILURE;
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
	if (scan(c, &(struct keep){ .c = c, .what = KEEP_RELEASE, .addrs = addrs,
				    .nargs = nargs }, false, &l) < 0) {
		free(addrs);
		return EVFIO_EXIT_FAILURE;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct evfio_dev *d = &l.devs[i];

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

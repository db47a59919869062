// SPDX-License-Identifier: MIT
/* Kernel modules, through libkmod: load the target driver the way modprobe
 * would (dependencies, softdeps, modprobe.d options), and name the modules
 * that claim a device, as "lspci -k" does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <libkmod.h>

#include "early-vfio.h"

struct evfio_modules {
	struct kmod_ctx *ctx;
	struct evfio_log *log;
	bool insert;		/* false under --sysroot: resolve only */
	char dir[4200];
};

static void kmod_log_cb(void *data, int priority, const char *file, int line,
			const char *fn, const char *format, va_list args)
{
	struct evfio_modules *m = data;
	char msg[512];

	(void)file;
	(void)line;
	(void)fn;
	vsnprintf(msg, sizeof(msg), format, args);
	/* libkmod's own errors are context for ours: show them with -v */
	evfio_log(m->log, priority < LOG_DEBUG ? LOG_DEBUG : priority,
		  "libkmod: %s", msg);
}

int evfio_modules_new(struct evfio_modules **out, const char *root,
		      struct evfio_log *log)
{
	struct evfio_modules *m;
	struct utsname u;
	char conf[3][4200];
	const char *confs[4];
	const char *slash;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->log = log;
	if (uname(&u) < 0) {
		free(m);
		return -errno;
	}
	m->insert = !strcmp(root, "/");
	if (m->insert) {
		snprintf(m->dir, sizeof(m->dir), "/lib/modules/%s", u.release);
		m->ctx = kmod_new(NULL, NULL);
	} else {
		slash = root[strlen(root) - 1] == '/' ? "" : "/";
		snprintf(m->dir, sizeof(m->dir), "%s%slib/modules/%s", root,
			 slash, u.release);
		snprintf(conf[0], sizeof(conf[0]), "%s%setc/modprobe.d", root, slash);
		snprintf(conf[1], sizeof(conf[1]), "%s%srun/modprobe.d", root, slash);
		snprintf(conf[2], sizeof(conf[2]), "%s%slib/modprobe.d", root, slash);
		confs[0] = conf[0];
		confs[1] = conf[1];
		confs[2] = conf[2];
		confs[3] = NULL;
		m->ctx = kmod_new(m->dir, confs);
	}
	if (!m->ctx) {
		free(m);
		return -ENOMEM;
	}
	kmod_set_log_fn(m->ctx, kmod_log_cb, m);
	*out = m;
	return 0;
}

void evfio_modules_free(struct evfio_modules *m)
{
	if (!m)
		return;
	kmod_unref(m->ctx);
	free(m);
}

int evfio_modules_load_driver(struct evfio_modules *m,
			      const struct evfio_sysfs *fs, const char *driver,
			      bool dry_run)
{
	struct kmod_list *list = NULL, *it;
	char path[128];
	unsigned int flags = 0;
	int r, n = 0;

	snprintf(path, sizeof(path), "sys/bus/pci/drivers/%s", driver);
	if (evfio_sysfs_exists(fs, path))
		return 0;

	r = kmod_module_new_from_lookup(m->ctx, driver, &list);
	if (r < 0) {
		ev_err(m->log, "cannot look up module %s in %s: %s", driver,
		       m->dir, strerror(-r));
		return r;
	}
	if (!m->insert || dry_run)
		flags |= KMOD_PROBE_DRY_RUN;
	kmod_list_foreach(it, list) {
		struct kmod_module *mod = kmod_module_get_module(it);

		r = kmod_module_probe_insert_module(mod, flags, NULL, NULL,
						    NULL, NULL);
		if (r < 0)
			ev_err(m->log, "loading module %s: %s",
			       kmod_module_get_name(mod), strerror(-r));
		else
			ev_dbg(m->log, "%s module %s",
			       flags & KMOD_PROBE_DRY_RUN ? "found" : "loaded",
			       kmod_module_get_name(mod));
		kmod_module_unref(mod);
		if (r < 0)
			break;
		n++;
	}
	kmod_module_unref_list(list);
	if (r < 0)
		return r;
	if (n == 0) {
		ev_err(m->log, "no module provides driver %s in %s", driver,
		       m->dir);
		return -ENOENT;
	}
	if (dry_run)
		return 0;
	if (!evfio_sysfs_exists(fs, path)) {
		ev_err(m->log, "driver %s is not registered after loading its "
		       "module (%s%s)", driver, fs->root,
		       m->insert ? "" : ": --sysroot never loads modules");
		return -ENODEV;
	}
	return 0;
}

int evfio_modules_for_alias(struct evfio_modules *m, const char *alias,
			    char *buf, size_t size)
{
	struct kmod_list *list = NULL, *it;
	const char *last = NULL;
	size_t len = 0;
	int r;

	buf[0] = '\0';
	if (!*alias)
		return 0;
	r = kmod_module_new_from_lookup(m->ctx, alias, &list);
	if (r < 0)
		return r;
	kmod_list_foreach(it, list) {
		struct kmod_module *mod = kmod_module_get_module(it);
		const char *name = kmod_module_get_name(mod);

		/* lspci drops consecutive duplicates */
		if (!last || strcmp(last, name)) {
			int w = snprintf(buf + len, size - len, "%s%s",
					 len ? ", " : "", name);

			if (w > 0 && (size_t)w < size - len)
				len += (size_t)w;
		}
		last = name;
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(list);
	return 0;
}

/* Whether driver is built into the running kernel's image: a line
 * ".../driver.ko" of lib/modules/RELEASE/modules.builtin under the root
 * ('-' and '_' alike, as modprobe takes them). */
bool evfio_driver_builtin(const struct evfio_sysfs *fs, const char *driver,
			  char *release, size_t size)
{
	char path[300], line[512];
	struct utsname u;
	bool yes = false;
	FILE *f;

	if (!driver[0] || uname(&u) < 0)
		return false;
	snprintf(release, size, "%s", u.release);
	snprintf(path, sizeof(path), "lib/modules/%.200s/modules.builtin", u.release);
	f = evfio_sysfs_fopen(fs, path);
	while (f && !yes && fgets(line, sizeof(line), f)) {
		char *base = strrchr(line, '/');
		size_t n;

		base = base ? base + 1 : line;
		n = strcspn(base, "\n");
		if (n < 4 || strncmp(base + n - 3, ".ko", 3) || n - 3 != strlen(driver))
			continue;
		yes = true;
		for (size_t i = 0; i < n - 3 && yes; i++)
			yes = base[i] == driver[i] ||
			      ((base[i] == '-' || base[i] == '_') &&
			       (driver[i] == '-' || driver[i] == '_'));
	}
	if (f)
		fclose(f);
	return yes;
}

bool evfio_builtin_warn(const struct evfio_sysfs *fs, struct evfio_log *log,
			const struct evfio_dev *d, const char *target)
{
	char release[128];

	if (!d->driver[0] || !strcmp(d->driver, target) ||
	    !evfio_driver_builtin(fs, d->driver, release, sizeof(release)))
		return false;
	ev_warn(log, "%s: its driver %s is built into kernel %s (modules.builtin), "
		"so it probes the device before early-vfio runs: at boot the device "
		"is taken over from %s after it has initialised it, not kept from "
		"it (a driver that must never touch the device has to be a module)",
		d->bdf, d->driver, release, d->driver);
	return true;
}

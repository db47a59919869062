// SPDX-License-Identifier: MIT
/* Which NVMe controllers are the drives the config names by serial number
 * or model.  Neither is in sysfs until a driver has talked to the drive, and
 * at boot no driver has: early-vfio runs before udev loads nvme.
 *
 * At boot every candidate (an NVMe controller a serial or model section
 * would take, if the serial matched) is identified before anything else is
 * bound:
 *   1. through VFIO: the candidate is bound to vfio-pci (the goal anyway),
 *      opened through its IOMMU group, and asked Identify Controller from
 *      here (nvme.c).  A match stays on vfio-pci; the others are given back
 *      with no driver, for udev to load nvme as on any boot.  The nvme
 *      driver never touches a drive that is passed through.
 *   2. through the nvme driver, where 1 cannot work (no IOMMU group, a group
 *      that is not viable, a target driver that is not vfio-pci): nvme is
 *      loaded, takes the candidate, and once the controller is live its
 *      sysfs serial is read; a match is then moved to vfio-pci like any
 *      device on a host driver, still before udev, so nothing is mounted or
 *      assembled from it.
 * Every identified controller is recorded in /run/early-vfio/nvme-ids, so
 * "early-vfio status" can name a drive a VM holds. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "early-vfio.h"

#define VIA_VFIO "through VFIO"
#define VIA_DRIVER "from the nvme driver"
#define VIA_RECORD "at boot, through VFIO"

static bool target_is_vfio(const struct evfio_ctx *c)
{
	return !strcmp(c->cfg.driver, "vfio-pci");
}

static void set_error(struct evfio_dev *d, const char *how, const char *why,
		      int r)
{
	size_t len = strlen(d->id_error);

	snprintf(d->id_error + len, sizeof(d->id_error) - len, "%s%s: %s (%s)",
		 len ? "; " : "", how, why, strerror(r < 0 ? -r : r));
}

/* Method 1.  With bind, a device not on vfio-pci is moved there first and
 * marked taken; the caller gives it back if it is not selected. */
static int via_vfio(struct evfio_ctx *c, struct evfio_dev *d,
		    unsigned int timeout_ms, bool bind)
{
	bool moved = false;
	struct evfio_vfio v;
	const char *why;
	char buf[160];
	int r;

	if (strcmp(d->driver, c->cfg.driver)) {
		if (!bind)
			return -EAGAIN;
		snprintf(d->was_on, sizeof(d->was_on), "%s", d->driver);
		buf[0] = '\0';
		if (evfio_bind_move(c, d, buf, sizeof(buf)) != EVFIO_BOUND) {
			set_error(d, VIA_VFIO, buf, EIO);
			return -EIO;
		}
		moved = true;
	}
	r = evfio_vfio_open(&v, &c->fs, d, &why);
	if (!r) {
		r = evfio_nvme_identify_vfio(&v, timeout_ms, &d->id, &why);
		evfio_vfio_close(&v);
	}
	if (r) {
		set_error(d, VIA_VFIO, why, r);
		if (moved && evfio_unbind_target(c, d) < 0)
			ev_err(&c->log, "%s: could not be given back after a failed "
			       "identify: still on %s", d->bdf, c->cfg.driver);
		return r;
	}
	d->id_via = VIA_VFIO;
	d->taken = moved;
	return 0;
}

/* Method 2: let the nvme driver take the controller and read its serial
 * once it is live. */
static int via_driver(struct evfio_ctx *c, struct evfio_dev *d,
		      unsigned int timeout_ms, bool *nvme_loaded)
{
	uint64_t deadline = evfio_now_ms() + timeout_ms;
	int r;

	if (!*nvme_loaded) {
		r = evfio_modules_load_driver(c->mods, &c->fs, "nvme", false);
		if (r < 0) {
			set_error(d, VIA_DRIVER, "the nvme driver is not available", r);
			return r;
		}
		*nvme_loaded = true;
	}
	if (strcmp(d->driver, "nvme")) {
		if (d->driver[0] && strcmp(d->driver, c->cfg.driver)) {
			set_error(d, VIA_DRIVER, d->driver, EBUSY);
			return -EBUSY;
		}
		r = evfio_unbind_target(c, d);
		if (!r && strcmp(d->driver, "nvme"))
			r = -ENODEV;
		if (r) {
			set_error(d, VIA_DRIVER, "nvme did not take the controller", r);
			return r;
		}
	}
	while ((r = evfio_nvme_identify_sysfs(&c->fs, d->bdf, &d->id)) == -EAGAIN ||
	       r == -ENOENT) {
		if (evfio_now_ms() > deadline)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	if (r) {
		set_error(d, VIA_DRIVER, r == -EAGAIN ? "the controller did not "
			  "become live in time" : "cannot read its serial", r);
		return r;
	}
	d->id_via = VIA_DRIVER;
	return 0;
}

/* A line of the record: "0000:01:00.0\tSERIAL\tMODEL". */
static bool record_line(char *line, char **serial, char **model)
{
	char *t1 = strchr(line, '\t'), *t2;

	if (!t1 || t1 - line != EVFIO_BDF_LEN - 1)
		return false;
	*t1 = '\0';
	t2 = strchr(t1 + 1, '\t');
	if (!t2)
		return false;
	*t2 = '\0';
	*serial = t1 + 1;
	*model = t2 + 1;
	(*model)[strcspn(*model, "\n")] = '\0';
	return strlen(*serial) <= EVFIO_SERIAL_MAX &&
	       strlen(*model) <= EVFIO_MODEL_MAX;
}

static bool from_record(const struct evfio_ctx *c, struct evfio_dev *d)
{
	char line[EVFIO_BDF_LEN + EVFIO_SERIAL_MAX + EVFIO_MODEL_MAX + 8];
	char *serial, *model;
	bool found = false;
	FILE *f;
	int fd;

	fd = openat(c->fs.rootfd, EVFIO_ID_RECORD, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return false;
	}
	while (!found && fgets(line, sizeof(line), f))
		if (record_line(line, &serial, &model) && !strcmp(line, d->bdf)) {
			evfio_trim_field(d->id.serial, serial, strlen(serial));
			evfio_trim_field(d->id.model, model, strlen(model));
			d->id.nvme_known = found = true;
			d->id_via = VIA_RECORD;
		}
	fclose(f);
	return found;
}

static void write_record(struct evfio_ctx *c, const struct evfio_devlist *l)
{
	FILE *f;
	int fd;

	mkdirat(c->fs.rootfd, "run/early-vfio", 0755);
	fd = openat(c->fs.rootfd, EVFIO_ID_RECORD ".new",
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		ev_dbg(&c->log, "/%s: %s", EVFIO_ID_RECORD, strerror(errno));
		return;
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->devs[i].id.nvme_known)
			fprintf(f, "%s\t%s\t%s\n", l->devs[i].bdf,
				l->devs[i].id.serial, l->devs[i].id.model);
	if (fclose(f) == 0)
		renameat(c->fs.rootfd, EVFIO_ID_RECORD ".new", c->fs.rootfd,
			 EVFIO_ID_RECORD);
}

/* A section's serials (and model) that no identified controller has. */
static void warn_unmatched(struct evfio_ctx *c, const struct evfio_devlist *l,
			   int unread)
{
	for (size_t s = 0; s < c->cfg.n_sections; s++) {
		const struct evfio_section *sec = &c->cfg.sections[s];

		for (size_t k = 0; k < sec->n_serials && !sec->skipped; k++) {
			bool found = false;

			for (size_t i = 0; i < l->n && !found; i++)
				found = l->devs[i].id.nvme_known &&
					!strcmp(l->devs[i].id.serial, sec->serials[k]);
			if (!found)
				ev_warn(&c->log, "%s:%d: [%s]: no NVMe controller "
					"%shas serial '%s'", c->cfg.path, sec->line,
					sec->name, unread ? "whose serial could be "
					"read " : "", sec->serials[k]);
		}
	}
}

static bool needs_id(const struct evfio_dev *d)
{
	return d->section && evfio_section_needs_nvme_id(d->section, &d->id);
}

/* After identification: the section that really takes d, if any. */
static void rematch(struct evfio_ctx *c, struct evfio_dev *d)
{
	if (d->id.nvme_known && !d->group_only)
		d->section = evfio_config_match(&c->cfg, &d->id);
}

int evfio_identify_bind(struct evfio_ctx *c, struct evfio_devlist *l,
			unsigned int timeout_ms)
{
	bool nvme_loaded = false, any = false;
	int failed = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct evfio_dev *d = &l->devs[i];
		char label[64];
		int r = -ENOTSUP;
		bool asked;

		if (!needs_id(d))
			continue;
		any = true;
		evfio_dev_label(d, label, sizeof(label));
		if (strcmp(d->driver, "nvme") && evfio_protect_why(&c->prot, d->bdf) &&
		    !d->section->allow_system) {
			/* never moved, not even to read its serial; on nvme
			 * it is read in place, and refused if it matches */
			ev_dbg(&c->log, "%s holds the running system: not identified",
			       label);
			d->section = NULL;
			continue;
		}
		asked = !strcmp(d->driver, "nvme");
		if (asked)
			r = via_driver(c, d, timeout_ms, &nvme_loaded);
		else if (target_is_vfio(c) && !evfio_safety_refusal(d) &&
			 (!d->driver[0] || !strcmp(d->driver, c->cfg.driver)))
			/* never unbinds a host driver: nvme is asked (above),
			 * any other driver is not an NVMe one */
			r = via_vfio(c, d, timeout_ms, true);
		else if (d->driver[0] && strcmp(d->driver, c->cfg.driver))
			snprintf(d->id_error, sizeof(d->id_error), "it is on %s, "
				 "which cannot tell its serial", d->driver);
		/* given back after method 1 failed, it may be on nvme now */
		if (r && !asked && (!d->driver[0] || !strcmp(d->driver, c->cfg.driver) ||
			  !strcmp(d->driver, "nvme"))) {
			if (d->id_error[0])
				ev_info(&c->log, "%s: cannot ask its serial %s; asking "
					"the nvme driver", label, d->id_error);
			r = via_driver(c, d, timeout_ms, &nvme_loaded);
		}
		if (r) {
			ev_err(&c->log, "%s: cannot read its serial number, not bound "
			       "(%s): %s", label, d->section->name, d->id_error);
			d->section = NULL;
			failed++;
			continue;
		}
		rematch(c, d);
		ev_dbg(&c->log, "%s: serial '%s', model '%s' (read %s)", label,
		       d->id.serial, d->id.model, d->id_via);
		if (d->section || !d->taken)
			continue;
		/* identified through vfio-pci, not selected: give it back */
		d->taken = false;
		if (evfio_unbind_target(c, d) < 0) {
			ev_err(&c->log, "%s: serial %s is not selected, but it could "
			       "not be given back: still on %s", label,
			       d->id.serial, c->cfg.driver);
			failed++;
		} else {
			ev_info(&c->log, "%s: serial %s (read %s) is not selected; "
				"given back (%s)", label, d->id.serial, d->id_via,
				d->driver[0] ? d->driver : "no driver yet");
		}
	}
	if (any) {
		write_record(c, l);
		warn_unmatched(c, l, failed);
	}
	return failed;
}

void evfio_identify_known(struct evfio_ctx *c, struct evfio_devlist *l,
			  bool live, bool warn)
{

	int unread = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct evfio_dev *d = &l->devs[i];
		int r = -ENOENT;

		if (!evfio_is_nvme(&d->id) || d->id.nvme_known)
			continue;
		if (!strcmp(d->driver, "nvme")) {
			r = evfio_nvme_identify_sysfs(&c->fs, d->bdf, &d->id);
			if (!r)
				d->id_via = VIA_DRIVER;
			else
				set_error(d, VIA_DRIVER, "cannot read its serial", r);
		} else if (!strcmp(d->driver, "vfio-pci")) {
			if (from_record(c, d))
				r = 0;
			else if (live)
				r = via_vfio(c, d, 2000, false);
		} else {
			snprintf(d->id_error, sizeof(d->id_error), "no driver holds "
				 "it: neither nvme nor vfio-pci can tell its serial");
		}
		if (!r)
			rematch(c, d);
		else
			unread += needs_id(d);
	}
	if (warn && c->cfg.need & EVFIO_SCAN_NVME_ID)
		warn_unmatched(c, l, unread);
}

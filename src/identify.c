// SPDX-License-Identifier: MIT
/* The serial number and model of NVMe controllers, which neither sysfs nor
 * the config's other keys show until a driver has talked to the drive: at
 * boot no driver has (early-vfio runs before udev loads nvme).
 *
 * This module only reads.  It never moves a device: the pipeline in
 * commands.c moves candidates to vfio-pci (bind.c) before asking them
 * through VFIO, or lets the nvme driver take them before asking nvme's
 * sysfs, and gives back what it moved.  Both ways ask every candidate side
 * by side, so N drives cost about the time of the slowest one, within the
 * run's one deadline:
 *   through VFIO: Identify Controller from here (nvme.c's state machine),
 *      the controller disabled again after; the nvme driver never touches
 *      a drive that is passed through;
 *   from the nvme driver: its nvme/nvmeN/{state,serial,model}, once live.
 * What was learnt goes into the device's ident (matched by the config's
 * serial and model keys) and id_src; what failed into id_error.  The serials
 * read at boot are recorded in /run/early-vfio/nvme-ids for "status". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "early-vfio.h"

/* The longest one controller may take, whatever --timeout allows. */
#define ONE_DRIVE_MS 10000u

static void set_error(struct evfio_dev *d, enum evfio_id_src how,
		      const char *why, int r)
{
	size_t len = strlen(d->id_error);

	snprintf(d->id_error + len, sizeof(d->id_error) - len, "%s%s: %s (%s)",
		 len ? "; " : "", evfio_id_src_text(how), why,
		 strerror(r < 0 ? -r : r));
}

static void learnt(struct evfio_dev *d, const struct evfio_ident *id,
		   enum evfio_id_src src)
{
	memcpy(d->id.serial, id->serial, sizeof(d->id.serial));
	memcpy(d->id.model, id->model, sizeof(d->id.model));
	d->id.nvme_known = true;
	d->id_src = src;
}

static void nap(unsigned int *us)
{
	nanosleep(&(struct timespec){ .tv_nsec = (long)*us * 1000L }, NULL);
	if (*us < 2000)
		*us *= 2;
}

struct asked {
	struct evfio_dev *d;
	struct evfio_vfio v;
	struct evfio_nvme_job job;
	struct evfio_ident id;
	int r;			/* -EAGAIN while the job runs */
};

/* One batch: open each controller (a blocking open counts against the
 * deadline), begin its job, poll them all until each is done, end them. */
static size_t vfio_batch(struct evfio_ctx *c, struct asked *a, size_t n,
			 uint64_t reserve_ms)
{
	uint64_t end = evfio_deadline_until(&c->deadline, ONE_DRIVE_MS, reserve_ms);
	unsigned int us = 50;
	size_t found = 0, busy = 0;
	const char *why;

	for (size_t i = 0; i < n; i++) {
		a[i].r = -ETIME;
		memset(&a[i].id, 0, sizeof(a[i].id));
		evfio_vfio_init(&a[i].v);
		if (evfio_now_ms() >= end || evfio_deadline_passed(&c->deadline)) {
			set_error(a[i].d, EVFIO_ID_VFIO, "no time left (--timeout)", ETIME);
			continue;
		}
		a[i].r = evfio_vfio_open(&a[i].v, &c->fs, a[i].d, &why);
		if (!a[i].r)
			a[i].r = evfio_nvme_job_begin(&a[i].job, &a[i].v, end, &a[i].id);
		else
			a[i].job.v = NULL;
		if (a[i].r) {
			if (a[i].job.v)
				why = a[i].job.why;
			set_error(a[i].d, EVFIO_ID_VFIO, why, a[i].r);
			evfio_nvme_job_end(&a[i].job);
			evfio_vfio_close(&a[i].v);
			continue;
		}
		a[i].r = -EAGAIN;
		busy++;
	}
	while (busy) {
		busy = 0;
		for (size_t i = 0; i < n; i++) {
			if (a[i].r != -EAGAIN)
				continue;
			a[i].r = evfio_nvme_job_poll(&a[i].job);
			busy += a[i].r == -EAGAIN;
		}
		if (busy)
			nap(&us);
	}
	for (size_t i = 0; i < n; i++) {
		if (a[i].r == -ETIME)
			continue;	/* never opened */
		if (a[i].job.v) {
			if (a[i].r == 0)
				learnt(a[i].d, &a[i].id, EVFIO_ID_VFIO);
			else
				set_error(a[i].d, EVFIO_ID_VFIO, a[i].job.why, a[i].r);
			found += a[i].r == 0;
			evfio_nvme_job_end(&a[i].job);
		}
		evfio_vfio_close(&a[i].v);
	}
	return found;
}

size_t evfio_identify_vfio(struct evfio_ctx *c, struct evfio_dev **devs,
			   size_t n, uint64_t reserve_ms)
{
	struct asked *a = calloc(EVFIO_ID_PARALLEL, sizeof(*a));
	size_t found = 0;

	if (!a) {
		for (size_t i = 0; i < n; i++)
			set_error(devs[i], EVFIO_ID_VFIO, "out of memory", ENOMEM);
		return 0;
	}
	for (size_t i = 0; i < n; i += EVFIO_ID_PARALLEL) {
		size_t k = n - i < EVFIO_ID_PARALLEL ? n - i : EVFIO_ID_PARALLEL;

		for (size_t j = 0; j < k; j++)
			a[j].d = devs[i + j];
		found += vfio_batch(c, a, k, reserve_ms);
	}
	free(a);
	return found;
}

size_t evfio_identify_driver(struct evfio_ctx *c, struct evfio_dev **devs,
			     size_t n, uint64_t reserve_ms)
{
	uint64_t end = evfio_deadline_until(&c->deadline, ONE_DRIVE_MS, reserve_ms);
	int *r = calloc(n ? n : 1, sizeof(*r));
	size_t found = 0, busy = n;

	if (!r)
		return 0;
	for (size_t i = 0; i < n; i++)
		r[i] = -EAGAIN;
	for (;;) {
		busy = 0;
		for (size_t i = 0; i < n; i++) {
			struct evfio_ident id = devs[i]->id;

			if (r[i] != -EAGAIN && r[i] != -ENOENT)
				continue;
			r[i] = evfio_nvme_identify_sysfs(&c->fs, devs[i]->bdf, &id);
			if (!r[i]) {
				learnt(devs[i], &id, EVFIO_ID_DRIVER);
				found++;
			}
			busy += r[i] == -EAGAIN || r[i] == -ENOENT;
		}
		if (!busy || evfio_now_ms() >= end || evfio_deadline_passed(&c->deadline))
			break;
		evfio_pause_ms(&c->deadline, 10);
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i] == -EAGAIN)
			set_error(devs[i], EVFIO_ID_DRIVER, "the controller did not "
				  "become live in time", r[i]);
		else if (r[i])
			set_error(devs[i], EVFIO_ID_DRIVER, "cannot read its serial", r[i]);
	}
	free(r);
	return found;
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
	FILE *f = evfio_sysfs_fopen(&c->fs, EVFIO_ID_RECORD_FILE);

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (record_line(line, &serial, &model) && !strcmp(line, d->bdf)) {
			evfio_trim_field(d->id.serial, serial, strlen(serial));
			evfio_trim_field(d->id.model, model, strlen(model));
			d->id.nvme_known = found = true;
			d->id_src = EVFIO_ID_RECORD;
		}
	fclose(f);
	return found;
}

/* The serial the record of the last image gives this address, for the
 * same vendor:device (the record has no model). */
static bool from_image_record(const struct evfio_ctx *c, struct evfio_dev *d)
{
	const struct evfio_identity *e = evfio_record_at(&c->rec, d->bdf, true);

	if (!e || !e->serial[0] || !e->has_ids || e->vendor != d->id.vendor ||
	    e->device != d->id.device)
		return false;
	snprintf(d->id.serial, sizeof(d->id.serial), "%s", e->serial);
	d->id.nvme_known = true;
	d->id_src = EVFIO_ID_RECORD;
	return true;
}

void evfio_identify_record(struct evfio_ctx *c, const struct evfio_devlist *l)
{
	const char *dir = EVFIO_ID_RECORD_DIR, *name = &EVFIO_ID_RECORD_FILE[sizeof(EVFIO_ID_RECORD_DIR)];
	size_t cap = 1, len = 0;
	char *text;
	int r;

	for (size_t i = 0; i < l->n; i++)
		cap += EVFIO_BDF_LEN + EVFIO_SERIAL_MAX + EVFIO_MODEL_MAX + 3;
	text = malloc(cap);
	if (!text)
		return;
	text[0] = '\0';
	for (size_t i = 0; i < l->n; i++)
		if (l->devs[i].id.nvme_known)
			len += (size_t)snprintf(text + len, cap - len, "%s\t%s\t%s\n",
						l->devs[i].bdf, l->devs[i].id.serial,
						l->devs[i].id.model);
	r = evfio_file_replace(&c->fs, dir, name, text);
	if (r < 0)
		ev_dbg(&c->log, "/%s: %s", EVFIO_ID_RECORD_FILE, strerror(-r));
	free(text);
}

void evfio_identify_warn_unmatched(struct evfio_ctx *c,
				   const struct evfio_devlist *l, size_t unread)
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

void evfio_identify_rematch(struct evfio_ctx *c, struct evfio_dev *d)
{
	if (d->id.nvme_known && !d->group_only)
		d->section = evfio_config_match(&c->cfg, &d->id);
}

void evfio_identify_known(struct evfio_ctx *c, struct evfio_devlist *l,
			  bool live, bool warn)
{
	size_t unread = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct evfio_dev *d = &l->devs[i];
		int r = -ENOENT;

		if (!evfio_is_nvme(&d->id) || d->id.nvme_known)
			continue;
		if (!strcmp(d->driver, "nvme")) {
			r = evfio_nvme_identify_sysfs(&c->fs, d->bdf, &d->id);
			if (!r)
				d->id_src = EVFIO_ID_DRIVER;
			else
				set_error(d, EVFIO_ID_DRIVER, "cannot read its serial", r);
		} else if (!strcmp(d->driver, "vfio-pci")) {
			/* what the boot read, else the last image's record: a
			 * drive on vfio-pci may be a VM's, or about to be, and
			 * is asked live only when live is set (nothing does,
			 * off the boot's own identify) */
			if (from_record(c, d) || from_image_record(c, d))
				r = 0;
			else if (live)
				r = (int)evfio_identify_vfio(c, &d, 1, 0) - 1;
			else
				snprintf(d->id_error, sizeof(d->id_error), "it is on "
					 "vfio-pci and was not read at this boot (a VM may "
					 "hold it; reboot, or early-vfio release it)");
		} else {
			snprintf(d->id_error, sizeof(d->id_error), "no driver holds "
				 "it: neither nvme nor vfio-pci can tell its serial");
		}
		if (!r)
			evfio_identify_rematch(c, d);
		else
			unread += needs_id(d);
	}
	if (warn && c->cfg.need & EVFIO_SCAN_NVME_ID)
		evfio_identify_warn_unmatched(c, l, unread);
}

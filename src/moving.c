// SPDX-License-Identifier: MIT
/* The moves in progress: run/early-vfio/moving lists, one "BDF\tDRIVER"
 * a line, every device a bind run moved to the target driver only to read
 * its serial and has not given back yet, with the driver it was on.  It is
 * written before such a move and removed when the run ends.  A run killed
 * in between (SIGKILL, a crash) leaves it behind, with the drives on the
 * target and driver_override set; the next bind, boot or release gives
 * back what it lists and does not select, before anything else.  The writes to
 * the devices stay in bind.c (evfio_move_back). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "early-vfio.h"

int evfio_moving_save(struct evfio_ctx *c, const char *text)
{
	const char *name = &EVFIO_MOVING_FILE[sizeof(EVFIO_ID_RECORD_DIR)];
	int r;

	if (!text[0]) {
		r = unlinkat(c->fs.rootfd, EVFIO_MOVING_FILE, 0) < 0 && errno != ENOENT ?
			-errno : 0;
	} else {
		r = evfio_file_replace(&c->fs, EVFIO_ID_RECORD_DIR, name, text);
	}
	if (r < 0)
		ev_warn(&c->log, "/%s: %s (a run killed now could leave a drive on %s)",
			EVFIO_MOVING_FILE, strerror(-r), c->cfg.driver);
	return r;
}

/* "dddd:bb:dd.f", lower-case hex, as sysfs names devices. */
static bool is_bdf(const char *s)
{
	static const char form[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i]; i++)
		if (form[i] == 'x' ? !isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])
				   : s[i] != form[i])
			return false;
	return true;
}

static struct evfio_dev *find(struct evfio_devlist *l, const char *bdf)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (!strcmp(l->devs[i].bdf, bdf))
			return &l->devs[i];
	return NULL;
}

static void give_back(struct evfio_ctx *c, struct evfio_devlist *l,
		      const char *bdf, const char *from)
{
	struct evfio_dev tmp, *d = find(l, bdf);
	char label[64];

	if (d && d->section && !evfio_needs_identity(c, d)) {
		ev_dbg(&c->log, "%s: listed in /%s, and selected (%s): left to the "
		       "bind", bdf, EVFIO_MOVING_FILE, d->section->name);
		return;
	}
	if (!d) {
		memset(&tmp, 0, sizeof(tmp));
		snprintf(tmp.bdf, sizeof(tmp.bdf), "%s", bdf);
		tmp.iommu_group = -1;
		d = &tmp;
	}
	if (evfio_dev_refresh(&c->fs, d) < 0) {
		ev_dbg(&c->log, "%s: listed in /%s, gone", bdf, EVFIO_MOVING_FILE);
		return;
	}
	if (d == &tmp)
		snprintf(label, sizeof(label), "%s", bdf);
	else
		evfio_dev_label(d, label, sizeof(label));
	if (strcmp(d->driver, c->cfg.driver) && strcmp(d->override, c->cfg.driver))
		return;		/* not on the target any more: nothing to undo */
	if (c->dry_run) {
		ev_info(&c->log, "%s: left on %s by an earlier run that was killed "
			"while reading serials; would be given back to %s [dry run]",
			label, c->cfg.driver, from[0] ? from : "no driver");
		return;
	}
	if (evfio_move_back(c, d, from) < 0 || !strcmp(d->driver, c->cfg.driver) ||
	    !strcmp(d->override, c->cfg.driver))
		ev_err(&c->log, "%s: left on %s by an earlier run that was killed "
		       "while reading serials, and could not be given back: still on %s",
		       label, c->cfg.driver, d->driver[0] ? d->driver : "no driver");
	else
		ev_warn(&c->log, "%s: left on %s by an earlier run that was killed "
			"while reading serials; given back (%s)", label, c->cfg.driver,
			d->driver[0] ? d->driver : "no driver yet");
}

void evfio_moving_recover(struct evfio_ctx *c, struct evfio_devlist *l)
{
	char line[EVFIO_BDF_LEN + EVFIO_NAME_MAX + 8];
	FILE *f = evfio_sysfs_fopen(&c->fs, EVFIO_MOVING_FILE);

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t');

		line[strcspn(line, "\n")] = '\0';
		if (!tab || (*tab = '\0', !is_bdf(line)) ||
		    (tab[1] && !evfio_valid_name(tab + 1))) {
			ev_warn(&c->log, "/%s: a line that is no 'BDF<TAB>driver' is "
				"ignored", EVFIO_MOVING_FILE);
			continue;
		}
		give_back(c, l, line, tab + 1);
	}
	fclose(f);
	if (!c->dry_run)
		evfio_moving_save(c, "");
}

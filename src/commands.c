// SPDX-License-Identifier: MIT
/* The commands: each wires config, scan, safety review and the bind,
 * release or output modules together, and turns the result into an exit
 * code.  Options are parsed by main.c. */
#include <dirent.h>
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
enum keep_what { KEEP_SELECTED, KEEP_STATUS, KEEP_ALL, KEEP_RELEASE, KEEP_RECORD };

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
	if (k->what == KEEP_RECORD)
		return evfio_protect_why(&k->c->prot, d->bdf) != NULL;
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

/* What the system needs: what the record says (in the image at boot, where
 * nothing is mounted yet; else the copy the hook kept of the last one
 * built), an old image's list, and what the running system uses.  Returns
 * -errno when the running system's mounts cannot be read. */
static int load_protections(struct evfio_ctx *c)
{
	int r = evfio_record_load(&c->fs, EVFIO_RECORD_FILE, &c->rec);

	if (r == -ENOENT) {
		evfio_record_free(&c->rec);
		r = evfio_record_load(&c->fs, EVFIO_RECORD_HOST, &c->rec);
	}
	if (r == -ENOENT)
		evfio_record_free(&c->rec);
	else if (r < 0)
		ev_warn(&c->log, "the record: %s", strerror(-r));
	for (size_t i = 0; i < c->rec.n; i++) {
		const struct evfio_identity *e = &c->rec.v[i];
		char why[200];

		if (e->selected)
			continue;
		snprintf(why, sizeof(why), "%.160s (recorded when the image was built)", e->note);
		if (evfio_protect_add(&c->prot, e->bdf, why) < 0)
			return -ENOMEM;
	}
	if (c->rec.present) {
		c->prot.known = c->rec.known;
		snprintf(c->prot.unknown_why, sizeof(c->prot.unknown_why), "%s",
			 c->rec.unknown_why);
	}
	r = evfio_protect_load(&c->fs, EVFIO_PROTECTED_FILE, &c->prot);
	if (r == 0)
		c->prot.known = true;	/* an image built on the machine itself */
	else if (r != -ENOENT)
		ev_warn(&c->log, "/%s: %s", EVFIO_PROTECTED_FILE, strerror(-r));
	r = evfio_protect_scan(&c->fs, &c->log, &c->prot);
	if (r < 0)
		ev_dbg(&c->log, "cannot read /proc/self/mountinfo: %s", strerror(-r));
	return r;
}

/* check, record: without the mounts nothing can be said. */
static int need_mounts(struct evfio_ctx *c, int r)
{
	if (r >= 0)
		return 0;
	ev_err(&c->log, "cannot read /proc/self/mountinfo (%s): cannot tell which "
	       "devices hold the running system, so nothing is checked", strerror(-r));
	return EVFIO_EXIT_FAILURE;
}

/* bind: a device the record names that is not selected now. */
static void warn_missing(struct evfio_ctx *c, const struct evfio_devlist *l)
{
	for (size_t i = 0; i < c->rec.n; i++) {
		const struct evfio_identity *e = &c->rec.v[i];
		char path[128], what[200];
		bool found = false;

		if (!e->selected)
			continue;
		for (size_t k = 0; k < l->n && !found; k++)
			found = l->devs[k].section && !strcmp(l->devs[k].bdf, e->bdf);
		if (found)
			continue;
		evfio_identity_text(e, what, sizeof(what));
		evfio_dev_path(path, sizeof(path), e->bdf, "vendor");
		if (!evfio_sysfs_exists(&c->fs, path))
			ev_warn(&c->log, "%s %s was selected by %s when the image was "
				"built, and is not there now (removed?)", e->bdf, what,
				e->note);
		else
			ev_warn(&c->log, "%s %s was selected by %s when the image was "
				"built, and is not selected now", e->bdf, what, e->note);
	}
}

/* ---- bind: scan -> select -> review -> identify -> bind ---------------- */

/* The run of one bind: the devices moved to the target only to read their
 * serial, with the driver each was on, are owned here, and every one that
 * is not selected in the end is given back, on every path. */
struct moved {
	struct evfio_dev *d;
	char from[EVFIO_NAME_MAX];
	bool kept;		/* selected: it stays, pass 2 logs the move */
};

struct run {
	struct evfio_ctx *c;
	struct evfio_devlist *l;
	bool *done;		/* per device: a bind pass handled it */
	struct moved *moved;
	size_t n_moved;
	bool *held;		/* per device: kept from nvme by its override */
	size_t n_sel, n_ok, n_already, n_fail;
};

/* d shares its IOMMU group with a candidate: its review depends on what
 * identification finds, so it waits for pass 2. */
static bool group_has_candidate(const struct evfio_ctx *c,
				const struct evfio_devlist *l,
				const struct evfio_dev *d)
{
	for (size_t i = 0; d->iommu_group >= 0 && i < l->n; i++)
		if (l->devs[i].iommu_group == d->iommu_group &&
		    evfio_needs_identity(c, &l->devs[i]))
			return true;
	return false;
}

static struct moved *moved_of(struct run *r, const struct evfio_dev *d)
{
	for (size_t i = 0; i < r->n_moved; i++)
		if (r->moved[i].d == d)
			return &r->moved[i];
	return NULL;
}

/* The moves in progress, for the run after this one if it is killed
 * (moving.c): what was moved only to be read and not settled yet, and the
 * n_next devices about to be moved.  Written before each batch of moves
 * and after the give-backs. */
static void save_moving(struct run *r, struct evfio_dev *const *next, size_t n_next)
{
	struct evfio_ctx *c = r->c;
	size_t cap = (r->n_moved + n_next) * (EVFIO_BDF_LEN + EVFIO_NAME_MAX + 2) + 1;
	size_t len = 0;
	char *text = malloc(cap);

	if (!text)
		return;
	text[0] = '\0';
	for (size_t i = 0; i < r->n_moved; i++)
		if (!r->moved[i].kept)
			len += (size_t)snprintf(text + len, cap - len, "%s\t%s\n",
						r->moved[i].d->bdf, r->moved[i].from);
	for (size_t i = 0; i < n_next; i++)
		if (strcmp(next[i]->driver, c->cfg.driver) && !moved_of(r, next[i]))
			len += (size_t)snprintf(text + len, cap - len, "%s\t%s\n",
						next[i]->bdf, next[i]->driver);
	evfio_moving_save(c, text);
	free(text);
}

static void tally(struct run *r, enum evfio_result res)
{
	r->n_sel++;
	if (res == EVFIO_BOUND || res == EVFIO_PLANNED)
		r->n_ok++;
	else if (res == EVFIO_ALREADY)
		r->n_already++;
	else
		r->n_fail++;
}

/* Pass 1 binds what needs no serial (and shares no group with a device
 * that does); pass 2, after identification and the final review, the
 * rest. */
static void bind_pass(struct run *r, bool second)
{
	for (size_t i = 0; i < r->l->n; i++) {
		struct evfio_dev *d = &r->l->devs[i];
		struct moved *mv;

		if (r->done[i] || !d->section)
			continue;
		if (!second && (evfio_needs_identity(r->c, d) ||
				group_has_candidate(r->c, r->l, d)))
			continue;
		r->done[i] = true;
		mv = moved_of(r, d);
		tally(r, evfio_bind_device(r->c, d, mv ? mv->from : NULL));
		if (mv)
			mv->kept = true;	/* given back by bind_device if refused */
	}
}

/* Give back one device moved for identification. */
static void give_back(struct run *r, struct moved *mv)
{
	struct evfio_ctx *c = r->c;
	struct evfio_dev *d = mv->d;
	char label[64];

	mv->kept = true;	/* handled */
	evfio_dev_label(d, label, sizeof(label));
	if (evfio_move_back(c, d, mv->from) < 0 || !strcmp(d->driver, c->cfg.driver)) {
		ev_err(&c->log, "%s: could not be given back: still on %s", label,
		       d->driver[0] ? d->driver : "no driver");
		r->n_fail++;
		return;
	}
	if (d->id.nvme_known)
		ev_info(&c->log, "%s: serial %s (read %s) is not selected; given back (%s)",
			label, d->id.serial, evfio_id_src_text(d->id_src),
			d->driver[0] ? d->driver : "no driver yet");
	else
		ev_dbg(&c->log, "%s: given back (%s)", label,
		       d->driver[0] ? d->driver : "no driver yet");
}

/* Ask candidates through VFIO: move each to the target (tracked), read
 * them side by side, give back the ones that could not be read.  Those go
 * to *via_driver for the nvme driver to read. */
static void identify_through_vfio(struct run *r, struct evfio_dev **cand,
				  size_t n, struct evfio_dev **via_driver,
				  size_t *n_driver)
{
	struct evfio_ctx *c = r->c;
	struct evfio_dev **ask = calloc(n ? n : 1, sizeof(*ask));
	size_t n_ask = 0;

	if (!ask)
		return;
	if (n)
		save_moving(r, cand, n);	/* before the first move */
	for (size_t i = 0; i < n; i++) {
		struct evfio_dev *d = cand[i];
		struct evfio_move m;

		switch (evfio_move_to_target(c, d, &m)) {
		case EVFIO_BOUND:
			r->moved[r->n_moved].d = d;
			snprintf(r->moved[r->n_moved].from, EVFIO_NAME_MAX, "%s", m.from);
			r->moved[r->n_moved++].kept = false;
			/* fall through */
		case EVFIO_ALREADY:
			ask[n_ask++] = d;
			break;
		default:
			snprintf(d->id_error + strlen(d->id_error),
				 sizeof(d->id_error) - strlen(d->id_error), "%s%s: %s",
				 d->id_error[0] ? "; " : "",
				 evfio_id_src_text(EVFIO_ID_VFIO), evfio_stage_text(m.stage));
			if (m.stage != EVFIO_STAGE_TIME && m.stage != EVFIO_STAGE_GONE)
				via_driver[(*n_driver)++] = d;
		}
	}
	if (n)
		save_moving(r, NULL, 0);	/* what was moved */
	evfio_identify_vfio(c, ask, n_ask, EVFIO_MOVE_RESERVE_MS);
	for (size_t i = 0; i < n_ask; i++) {
		struct evfio_dev *d = ask[i];
		struct moved *mv = moved_of(r, d);
		char label[64];

		if (d->id.nvme_known)
			continue;
		evfio_dev_label(d, label, sizeof(label));
		if (mv) {
			give_back(r, mv);
			mv->kept = true;
		}
		if (evfio_deadline_passed(&c->deadline))
			continue;
		ev_info(&c->log, "%s: cannot ask its serial %s; asking the nvme driver",
			label, d->id_error);
		via_driver[(*n_driver)++] = d;
	}
	free(ask);
}

/* Another device of d's IOMMU group that is, or may be, meant for a VM:
 * selected, or a candidate.  NULL when there is none. */
static const struct evfio_dev *vm_group_peer(const struct run *r,
					     const struct evfio_dev *d)
{
	for (size_t i = 0; d->iommu_group >= 0 && i < r->l->n; i++) {
		const struct evfio_dev *o = &r->l->devs[i];

		if (o != d && o->iommu_group == d->iommu_group && o->section)
			return o;
	}
	return NULL;
}

/* Before nvme is loaded (the kernel then gives it every NVMe controller
 * no driver holds): every such device that is, or may be, meant for a VM
 * and is not to be read by nvme gets the target's driver_override, so
 * that nvme cannot probe it.  Pass 2 binds the selected ones; the end of
 * the run clears it on the others. */
static void hold_from_nvme(struct run *r, struct evfio_dev *const *list, size_t n)
{
	struct evfio_ctx *c = r->c;
	struct evfio_dev **hold = calloc(r->l->n ? r->l->n : 1, sizeof(*hold));
	size_t n_hold = 0;

	if (!hold)
		return;
	for (size_t i = 0; i < r->l->n; i++) {
		struct evfio_dev *o = &r->l->devs[i];
		bool asked = false;

		for (size_t j = 0; j < n && !asked; j++)
			asked = list[j] == o;
		if (!asked && o->section && !o->driver[0] && evfio_is_nvme(&o->id) &&
		    !evfio_safety_refusal(o))
			hold[n_hold++] = o;
	}
	if (n_hold)
		save_moving(r, hold, n_hold);	/* a killed run's are given back */
	for (size_t i = 0; i < n_hold; i++) {
		char label[64];
		int e = evfio_hold_for_target(c, hold[i]);

		evfio_dev_label(hold[i], label, sizeof(label));
		r->held[hold[i] - r->l->devs] = true;
		if (e)
			ev_warn(&c->log, "%s: cannot keep it from the nvme driver: %s",
				label, strerror(-e));
		else
			ev_dbg(&c->log, "%s: kept from the nvme driver (driver_override "
			       "%s) while nvme reads serials", label, c->cfg.driver);
	}
	free(hold);
}

/* Ask candidates through the nvme driver: load it (the kernel then gives
 * it every unbound NVMe controller), let it take the ones it did not, read
 * them side by side.  A candidate no driver holds is not given to nvme
 * when its IOMMU group holds another device that is selected or a
 * candidate: nvme would probe a drive that is, or may be, meant for a VM,
 * and the group could not go to a VM whole. */
static void identify_through_driver(struct run *r, struct evfio_dev **list,
				    size_t n)
{
	struct evfio_ctx *c = r->c;
	size_t k = 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		struct evfio_dev *d = list[i];
		const struct evfio_dev *o;

		if (evfio_dev_refresh(&c->fs, d) == 0 && !d->driver[0] &&
		    (o = vm_group_peer(r, d))) {
			size_t len = strlen(d->id_error);

			snprintf(d->id_error + len, sizeof(d->id_error) - len,
				 "%sfrom the nvme driver: not asked: IOMMU group %d also "
				 "holds %s, %s meant for a VM, and nvme must probe "
				 "neither (only VFIO can read it here)", len ? "; " : "",
				 d->iommu_group, o->bdf, evfio_needs_identity(c, o) ?
				 "a serial candidate that may be" : "selected and");
			continue;
		}
		list[k++] = d;
	}
	n = k;
	k = 0;
	if (!n)
		return;
	hold_from_nvme(r, list, n);
	err = evfio_modules_load_driver(c->mods, &c->fs, "nvme", false);
	for (size_t i = 0; i < n; i++) {
		struct evfio_dev *d = list[i];

		if (err < 0) {
			snprintf(d->id_error + strlen(d->id_error),
				 sizeof(d->id_error) - strlen(d->id_error),
				 "%sfrom the nvme driver: the nvme driver is not available (%s)",
				 d->id_error[0] ? "; " : "", strerror(-err));
			continue;
		}
		if (evfio_dev_refresh(&c->fs, d) == 0 && !d->driver[0])
			evfio_move_back(c, d, "nvme");	/* probe: nvme takes it */
		if (strcmp(d->driver, "nvme")) {
			snprintf(d->id_error + strlen(d->id_error),
				 sizeof(d->id_error) - strlen(d->id_error),
				 "%sfrom the nvme driver: nvme did not take the controller%s%s",
				 d->id_error[0] ? "; " : "", d->driver[0] ? ", it is on " : "",
				 d->driver);
			continue;
		}
		list[k++] = d;
	}
	evfio_identify_driver(c, list, k, EVFIO_MOVE_RESERVE_MS);
}

/* Identify every candidate the review let through, re-match the ones
 * read, give back what was moved and is not selected.  Returns how many
 * candidates could not be read (each logged). */
static size_t identify(struct run *r)
{
	struct evfio_ctx *c = r->c;
	struct evfio_devlist *l = r->l;
	struct evfio_dev **vfio = calloc(l->n, sizeof(*vfio));
	struct evfio_dev **driver = calloc(l->n, sizeof(*driver));
	size_t n_vfio = 0, n_driver = 0, unread = 0;
	bool by_vfio = !strcmp(c->cfg.driver, "vfio-pci");
	bool *cand;

	r->moved = calloc(l->n, sizeof(*r->moved));
	r->held = calloc(l->n, sizeof(*r->held));
	cand = calloc(l->n, sizeof(*cand));
	if (!vfio || !driver || !r->moved || !r->held || !cand) {
		free(vfio);
		free(driver);
		free(cand);
		return 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct evfio_dev *d = &l->devs[i];
		char label[64];

		cand[i] = evfio_needs_identity(c, d);
		if (!cand[i])
			continue;
		evfio_dev_label(d, label, sizeof(label));
		if (!strcmp(d->driver, "nvme")) {
			/* read in place: a protected drive is then refused by
			 * name if its serial is the selected one */
			driver[n_driver++] = d;
		} else if (evfio_safety_refusal(d)) {
			/* never moved, not even to read its serial */
			ev_dbg(&c->log, "%s: not identified: %s", label,
			       evfio_safety_refusal(d));
			d->section = NULL;
			cand[i] = false;
		} else if (by_vfio && (!d->driver[0] || !strcmp(d->driver, c->cfg.driver))) {
			vfio[n_vfio++] = d;
		} else {
			snprintf(d->id_error, sizeof(d->id_error), "it is on %s, which "
				 "cannot tell its serial", d->driver);
		}
	}
	identify_through_vfio(r, vfio, n_vfio, driver, &n_driver);
	identify_through_driver(r, driver, n_driver);

	for (size_t i = 0; i < l->n; i++) {
		struct evfio_dev *d = &l->devs[i];
		char label[64];

		if (!cand[i])
			continue;
		evfio_dev_label(d, label, sizeof(label));
		if (d->id.nvme_known) {
			ev_dbg(&c->log, "%s: serial '%s', model '%s' (read %s)", label,
			       d->id.serial, d->id.model, evfio_id_src_text(d->id_src));
			evfio_identify_rematch(c, d);
			continue;
		}
		ev_err(&c->log, "%s: cannot read its serial number, not bound (%s): %s",
		       label, d->section->name, d->id_error[0] ? d->id_error :
		       "no way to read it");
		d->section = NULL;
		unread++;
	}
	/* read and not selected: back where they were */
	for (size_t i = 0; i < r->n_moved; i++)
		if (!r->moved[i].kept && !r->moved[i].d->section)
			give_back(r, &r->moved[i]);
	free(vfio);
	free(driver);
	free(cand);
	return unread;
}

/* bind --dry-run: what can be known without moving a device. */
static void identify_dry(struct evfio_ctx *c, struct evfio_devlist *l)
{
	evfio_identify_known(c, l, false, true);
	for (size_t i = 0; i < l->n; i++) {
		struct evfio_dev *d = &l->devs[i];
		char label[64];

		if (!evfio_needs_identity(c, d))
			continue;
		evfio_dev_label(d, label, sizeof(label));
		ev_info(&c->log, "%s: serial not known yet (%s): at boot it is read "
			"before binding (%s) [dry run]", label, d->id_error,
			d->section->name);
		d->section = NULL;
	}
}

/* Selected devices the target driver is needed for. */
static size_t to_move(const struct evfio_ctx *c, const struct evfio_devlist *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct evfio_dev *d = &l->devs[i];

		n += d->section && !evfio_safety_refusal(d) &&
		     (strcmp(d->driver, c->cfg.driver) || strcmp(d->override, c->cfg.driver));
	}
	return n;
}

static int driver_missing(struct evfio_ctx *c, struct evfio_devlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct evfio_dev *d = &l->devs[i];
		char label[64];

		if (!d->section)
			continue;
		evfio_dev_label(d, label, sizeof(label));
		if (evfio_safety_refusal(d))
			ev_err(&c->log, "%s: not bound to %s (%s): %s", label,
			       c->cfg.driver, d->section->name, evfio_safety_refusal(d));
		else
			ev_err(&c->log, "%s: not bound (%s): driver %s is not "
			       "available; the device was not touched", label,
			       d->section->name, c->cfg.driver);
	}
	return EVFIO_EXIT_FAILURE;
}

static int summary(struct run *r, size_t unread)
{
	struct evfio_ctx *c = r->c;
	size_t failed = r->n_fail + unread;

	if (evfio_deadline_passed(&c->deadline)) {
		ev_err(&c->log, "time limit reached (--timeout %u s): %zu selected "
		       "device%s bound, %zu not; what was moved only to read a "
		       "serial was given back", c->deadline.seconds, r->n_ok,
		       r->n_ok == 1 ? "" : "s", failed);
		return EVFIO_EXIT_FAILURE;
	}
	if (r->n_sel == 0) {
		ev_info(&c->log, "no PCI device matches %s%s", c->cfg.path,
			evfio_config_has_sriov(&c->cfg) ? " for the target driver (the "
			"VFs of its SR-IOV sections are made next)" : "");
		return failed ? EVFIO_EXIT_PARTIAL : EVFIO_EXIT_OK;
	}
	/* "nothing to do" must not hide a drive left unidentified */
	if (r->n_already == r->n_sel && r->n_sel == 1 && !failed)
		ev_info(&c->log, "nothing to do: the selected device is on %s",
			c->cfg.driver);
	else if (r->n_already == r->n_sel && !failed)
		ev_info(&c->log, "nothing to do: all %zu selected devices are on %s",
			r->n_sel, c->cfg.driver);
	else
		ev_info(&c->log, "%zu selected: %zu %s, %zu already on %s, %zu %s",
			r->n_sel, r->n_ok, c->dry_run ? "would be bound" : "bound",
			r->n_already, c->cfg.driver, failed,
			c->dry_run ? "would fail" : "failed");
	return failed ? EVFIO_EXIT_PARTIAL : EVFIO_EXIT_OK;
}

int evfio_cmd_bind(struct evfio_ctx *c, struct evfio_opts *o)
{
	struct evfio_devlist l;
	struct run r = { .c = c, .l = &l };
	size_t unread = 0;
	bool cands = false;
	int ret;

	ret = load_config(c, o);
	if (ret == 1) {
		ev_info(&c->log, "%s: not found, nothing to do", o->config);
		return EVFIO_EXIT_OK;
	}
	if (ret)
		return ret;
	if (o->skip)
		ev_info(&c->log, "skipping sections: %s", o->skip);
	if (scan(c, &(struct keep){ .c = c, .what = KEEP_SELECTED }, false, &l) < 0)
		return EVFIO_EXIT_FAILURE;
	load_protections(c);
	c->enforce_record = true;
	evfio_safety_review(c, &l, false);
	/* first, what a killed run left on the target */
	evfio_moving_recover(c, &l);
	for (size_t i = 0; i < l.n; i++)
		cands |= evfio_needs_identity(c, &l.devs[i]);
	if (to_move(c, &l) && evfio_modules_load_driver(c->mods, &c->fs, c->cfg.driver,
							c->dry_run) < 0) {
		ret = driver_missing(c, &l);
		evfio_devlist_free(&l);
		return ret;
	}
	r.done = calloc(l.n ? l.n : 1, sizeof(*r.done));
	if (!r.done) {
		evfio_devlist_free(&l);
		return EVFIO_EXIT_FAILURE;
	}

	bind_pass(&r, false);
	if (cands && c->dry_run)
		identify_dry(c, &l);
	else if (cands)
		unread = identify(&r);
	evfio_safety_review(c, &l, true);
	bind_pass(&r, true);
	/* whatever was moved to read a serial and is not bound now goes back */
	for (size_t i = 0; i < r.n_moved; i++)
		if (!r.moved[i].kept)
			give_back(&r, &r.moved[i]);
	/* what was kept from nvme and is not bound: its override cleared */
	for (size_t i = 0; r.held && i < l.n; i++)
		if (r.held[i])
			evfio_leave_refused(c, &l.devs[i]);
	if (r.n_moved || r.held)
		evfio_moving_save(c, "");	/* every move settled */
	if (cands && !c->dry_run) {
		evfio_identify_record(c, &l);
		evfio_identify_warn_unmatched(c, &l, unread);
	}
	warn_missing(c, &l);

	ret = summary(&r, unread);
	free(r.moved);
	free(r.held);
	free(r.done);
	evfio_devlist_free(&l);
	return ret;
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
	evfio_identify_known(c, &l, false, false);
	evfio_safety_review(c, &l, true);
	if (o->json)
		evfio_print_status_json(stdout, c, &l, o->all);
	else
		evfio_print_status(stdout, c, &l, o->all);
	evfio_devlist_free(&l);
	/* the next boot: what the ESPs and /etc/kernel/cmdline will give it */
	evfio_cmdline_drift(c);
	evfio_esp_check(c, NULL, NULL);
	return EVFIO_EXIT_OK;
}

/* check: a selected device that the image built last would refuse. */
static int check_record(struct evfio_ctx *c, const struct evfio_dev *d)
{
	const struct evfio_identity *e;
	struct evfio_identity cur;
	char was[200], now[200];
	bool unique = d->section->n_serials || d->section->n_dsns;

	switch (evfio_record_match(&c->rec, d, unique, &e)) {
	case EVFIO_MATCH_CHANGED:
	case EVFIO_MATCH_PROTECTED:
		evfio_identity_text(e, was, sizeof(was));
		evfio_identity_of(d, &cur);
		evfio_identity_text(&cur, now, sizeof(now));
		ev_warn(&c->log, "%s: not the device the last image was built for "
			"(at %s: recorded %s; here now: %s): rebuild the image "
			"(update-initramfs -u -k all) before rebooting, or the boot "
			"refuses it", d->bdf, e->bdf, was, now);
		return 1;
	case EVFIO_MATCH_NEW:
		ev_warn(&c->log, "%s: not selected when the last image was built: "
			"rebuild the image (update-initramfs -u -k all) before "
			"rebooting, or the boot refuses it", d->bdf);
		return 1;
	default:
		return 0;
	}
}

int evfio_cmd_check(struct evfio_ctx *c, struct evfio_opts *o)
{
	struct evfio_devlist l;
	int r, warnings = 0, errors;

	if (o->initramfs) {
		r = evfio_initramfs_check(o->initramfs, o->config, &c->log);
		return r < 0 ? EVFIO_EXIT_FAILURE : r ? EVFIO_EXIT_EMPTY : EVFIO_EXIT_OK;
	}
	r = load_config(c, o);
	if (r == 1) {
		ev_err(&c->log, "%s: not found (see early-vfio.conf(5))", o->config);
		return EVFIO_EXIT_CONFIG;
	}
	if (r)
		return r;
	if (!c->cfg.n_sections) {
		printf("%s: valid, no device section: nothing to bind\n", o->config);
		return EVFIO_EXIT_EMPTY;
	}
	printf("%s: valid, %zu section%s, target driver %s\n", o->config,
	       c->cfg.n_sections, c->cfg.n_sections == 1 ? "" : "s",
	       c->cfg.driver);
	if (o->offline)
		return EVFIO_EXIT_OK;
	if (scan(c, &(struct keep){ .c = c, .what = KEEP_SELECTED }, true, &l) < 0)
		return EVFIO_EXIT_FAILURE;
	r = need_mounts(c, load_protections(c));
	if (r) {
		evfio_devlist_free(&l);
		return r;
	}
	evfio_identify_known(c, &l, false, true);
	errors = evfio_safety_review(c, &l, true);
	warnings += evfio_vmd_review(&c->fs, &c->log, &c->cfg);
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
		if (sec->sriov_vfs)	/* its PF keeps its driver (sriov.c) */
			found = evfio_sriov_check_print(c, sec, &warnings);
		for (size_t i = 0; i < l.n && !sec->sriov_vfs; i++) {
			const struct evfio_dev *d = &l.devs[i];
			const char *why;
			char line[320];

			if (d->section != sec)
				continue;
			found++;
			evfio_dev_lspci(d, true, line, sizeof(line));
			printf("  %s, driver %s", line, d->driver[0] ? d->driver : "(none)");
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
			warnings += check_record(c, d);
			warnings += evfio_builtin_warn(&c->fs, &c->log, d, c->cfg.driver);
			if (d->boot_vga && !evfio_safety_refusal(d)) {
				ev_warn(&c->log, "%s is the boot display (boot_vga): bound to "
					"%s, the host loses its console, and the firmware's "
					"framebuffer (efifb, simpledrm) may still hold its "
					"memory (\"BAR 0: can't reserve\"); the kernel options "
					"people add for it: video=efifb:off, or "
					"initcall_blacklist=sysfb_init", d->bdf, c->cfg.driver);
				warnings++;
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
	warnings += evfio_pve_check(c);	/* Proxmox VE: mappings, VMs started on boot */
	/* what the firmware will load: the ESPs proxmox-boot-tool keeps */
	warnings += evfio_cmdline_drift(c) + evfio_esp_check(c, NULL, NULL);
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
	if (need_mounts(c, r))
		return EVFIO_EXIT_FAILURE;
	evfio_protect_print(stdout, &c->prot);
	return EVFIO_EXIT_OK;
}

/* The record of this machine: what holds the system (or, in a chroot, what
 * its /etc/fstab names), and who each selected device is. */
/* iommu-group = whole: the other endpoints of d's IOMMU group join its
 * section at boot (safety.c), so the record lists them as selected too,
 * each once; else the boot refuses them as "not selected when this image
 * was built" and with them the whole group. */
static int record_group(const struct evfio_ctx *c, const struct evfio_devlist *l,
			const struct evfio_dev *d, struct evfio_record *rec)
{
	struct evfio_identity id;
	int r = 0;

	if (d->iommu_group < 0)
		return 0;
	for (size_t k = 0; k < l->n && !r; k++) {
		const struct evfio_dev *o = &l->devs[k];

		if (o == d || o->iommu_group != d->iommu_group || o->section ||
		    evfio_group_member(o) != EVFIO_MEMBER_ENDPOINT ||
		    evfio_protect_why(&c->prot, o->bdf) ||
		    evfio_record_at(rec, o->bdf, true))
			continue;
		evfio_identity_of(o, &id);
		id.selected = true;
		snprintf(id.note, sizeof(id.note), "[%s] (IOMMU group %d of %s)",
			 d->section->name, d->iommu_group, d->bdf);
		r = evfio_record_add(rec, &id);
	}
	return r;
}

int evfio_cmd_record(struct evfio_ctx *c, struct evfio_opts *o)
{
	struct evfio_record rec = { .chroot = o->chroot };
	struct evfio_identity id;
	struct evfio_devlist l = { 0 };
	int r;

	r = load_config(c, o);
	if (r == 1)
		defaults_without_config(c, o->config);
	else if (r)
		return r;
	if (o->chroot) {
		/* the mounts and the devices are the build host's: only the
		 * chroot's /etc/fstab says what the image's system needs */
		evfio_protect_scan_fstab(&c->fs, &c->log, &c->prot);
	} else {
		r = evfio_protect_scan(&c->fs, &c->log, &c->prot);
		if (need_mounts(c, r))
			return EVFIO_EXIT_FAILURE;
		if (scan(c, &(struct keep){ .c = c, .what = KEEP_RECORD }, false, &l) < 0)
			return EVFIO_EXIT_FAILURE;
		/* a drive on vfio-pci that this boot did not read: the serial
		 * the last image recorded at its address */
		if (evfio_record_load(&c->fs, EVFIO_RECORD_HOST, &c->rec) < 0)
			evfio_record_free(&c->rec);
		evfio_identify_known(c, &l, false, false);
	}
	rec.known = c->prot.known;
	snprintf(rec.unknown_why, sizeof(rec.unknown_why), "%s", c->prot.unknown_why);
	for (size_t i = 0; i < c->prot.n; i++) {
		const struct evfio_dev *d = NULL;

		for (size_t k = 0; k < l.n && !d; k++)
			if (!strcmp(l.devs[k].bdf, c->prot.v[i].bdf))
				d = &l.devs[k];
		if (d) {
			evfio_identity_of(d, &id);
		} else {
			memset(&id, 0, sizeof(id));
			snprintf(id.bdf, sizeof(id.bdf), "%s", c->prot.v[i].bdf);
		}
		snprintf(id.note, sizeof(id.note), "%s", c->prot.v[i].why);
		r = evfio_record_add(&rec, &id);
	}
	for (size_t i = 0; i < l.n && !r; i++) {
		const struct evfio_dev *d = &l.devs[i];

		if (!d->section || d->group_only || evfio_protect_why(&c->prot, d->bdf))
			continue;
		if (evfio_section_needs_nvme_id(d->section, &d->id))
			continue;	/* serial unknown: not known to be selected */
		evfio_identity_of(d, &id);
		id.selected = true;
		snprintf(id.note, sizeof(id.note), "[%s]", d->section->name);
		r = evfio_record_add(&rec, &id);
		if (!r && c->cfg.group == EVFIO_GROUP_WHOLE)
			r = record_group(c, &l, d, &rec);
	}
	if (!r)
		evfio_record_print(stdout, &rec);
	evfio_record_free(&rec);
	evfio_devlist_free(&l);
	return r ? EVFIO_EXIT_FAILURE : EVFIO_EXIT_OK;
}

/* A process that holds /dev/vfio/GROUP open (a VM using the device): its
 * "PID (comm)" in who, and true.  Every /proc/PID/fd/N under the root. */
static bool group_held(const struct evfio_ctx *c, int group, char *who, size_t size)
{
	char want[32], path[96], target[64], comm[32];
	struct dirent *p, *f;
	bool held = false;
	DIR *procs, *fds;

	if (group < 0)
		return false;
	snprintf(want, sizeof(want), "/dev/vfio/%d", group);
	procs = evfio_sysfs_opendir(&c->fs, "proc");
	if (!procs)
		return false;
	while (!held && (p = readdir(procs))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9' ||
		    strspn(p->d_name, "0123456789") != strlen(p->d_name))
			continue;
		snprintf(path, sizeof(path), "proc/%.24s/fd", p->d_name);
		fds = evfio_sysfs_opendir(&c->fs, path);
		if (!fds)
			continue;	/* gone, or not ours to read */
		while (!held && (f = readdir(fds))) {
			snprintf(path, sizeof(path), "proc/%.24s/fd/%.16s", p->d_name, f->d_name);
			held = f->d_name[0] != '.' &&
			       !evfio_sysfs_readlink(&c->fs, path, target, sizeof(target)) &&
			       !strcmp(target, want);
		}
		closedir(fds);
		if (held) {
			snprintf(path, sizeof(path), "proc/%.24s/comm", p->d_name);
			if (evfio_sysfs_read(&c->fs, path, comm, sizeof(comm)) < 0)
				snprintf(comm, sizeof(comm), "?");
			snprintf(who, size, "%.24s (%.31s)", p->d_name, comm);
		}
	}
	closedir(procs);
	return held;
}

int evfio_cmd_release(struct evfio_ctx *c, struct evfio_opts *o)
{
	char **args = o->args;
	int nargs = o->nargs;
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
	/* what a killed bind left on the target goes back where it was */
	evfio_moving_recover(c, NULL);
	for (size_t i = 0; i < l.n; i++) {
		struct evfio_dev *d = &l.devs[i];
		char who[64];

		/* every device on vfio-pci: not the ones a running VM holds
		 * (its unbind would wait on the VM, or take the device from it) */
		if (!nargs && group_held(c, d->iommu_group, who, sizeof(who))) {
			ev_warn(&c->log, "%s: skipped: /dev/vfio/%d is open in process %s "
				"(a running VM?); stop it first, or name the device to "
				"release it anyway", d->bdf, d->iommu_group, who);
			continue;
		}
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

int evfio_cmd_survey(struct evfio_ctx *c, struct evfio_opts *o,
		     struct evfio_devlist *l, bool *missing, bool live)
{
	int r = load_config(c, o);

	*missing = r == 1;
	if (r == 1)
		defaults_without_config(c, o->config);
	else if (r)
		return r;
	if (scan(c, &(struct keep){ .c = c, .what = KEEP_ALL }, true, l) < 0)
		return EVFIO_EXIT_FAILURE;
	r = need_mounts(c, load_protections(c));
	if (r) {
		evfio_devlist_free(l);
		return r;
	}
	evfio_identify_known(c, l, live, false);
	evfio_safety_review(c, l, false);
	return EVFIO_EXIT_OK;
}

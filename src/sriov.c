// SPDX-License-Identifier: MIT
/* SR-IOV: virtual functions created on a PF and bound at boot.
 *
 * A device section with "sriov-vfs = N" selects a physical function (with
 * any selector) that keeps its host driver; the stage "early-vfio vfs"
 * creates N VFs on it and gives the VF indexes of "sriov-vfio" to the
 * target driver, the others to their host driver.  The kernel's clean way
 * (Documentation/ABI/testing/sysfs-bus-pci, drivers/pci/iov.c): with the
 * PF's sriov_drivers_autoprobe at 0 no driver probes a new VF unless its
 * driver_override is set (pci_device_can_probe), so
 *
 *   sriov_drivers_autoprobe <- 0, sriov_numvfs <- N,
 *   per VF for the target: driver_override <- vfio-pci, drivers_probe,
 *   sriov_drivers_autoprobe <- its old value, per VF left to the host:
 *   drivers_probe
 *
 * and no VF meant for a VM is ever seen by a host driver.  Every write is
 * bind.c's.  A PF whose VFs are enabled with another count is left alone
 * (its VFs may be in a VM: changing the count removes them all); the PF
 * itself is never unbound.  Whatever fails, and when the time limit is
 * reached, the VFs made by this run are removed again (sriov_numvfs <- 0)
 * and autoprobe restored: the PF is as it was. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "early-vfio.h"

/* ---- sysfs: what a PF and a VF say -------------------------------------- */

static int read_uint(const struct evfio_sysfs *fs, const char *bdf, const char *attr,
		     unsigned int *out)
{
	char path[128], buf[32], *end;
	unsigned long v;
	int r;

	r = evfio_dev_path(path, sizeof(path), bdf, attr);
	if (!r)
		r = evfio_sysfs_read(fs, path, buf, sizeof(buf));
	if (r < 0)
		return r;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (!buf[0] || *end || errno || v > 65535)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* A link to a PCI device ("../0000:00:04.1"): the address it names, when
 * the device is there. */
static int link_bdf(const struct evfio_sysfs *fs, const char *path, char *buf,
		    size_t size)
{
	char target[256];
	const char *base;
	struct evfio_addr a;
	int r;

	r = evfio_sysfs_readlink(fs, path, target, sizeof(target));
	if (r < 0)
		return r;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) != EVFIO_BDF_LEN - 1 || size < EVFIO_BDF_LEN ||
	    evfio_addr_parse(base, &a) || a.domain < 0 || a.func < 0)
		return -EILSEQ;
	if (!evfio_sysfs_exists(fs, path))
		return -ENOENT;	/* dangling */
	memcpy(buf, base, EVFIO_BDF_LEN);
	return 0;
}

/* PF/virtfnI -> the VF's address */
static int vf_addr(const struct evfio_sysfs *fs, const char *pf, unsigned int i,
		   char bdf[EVFIO_BDF_LEN])
{
	char path[128], attr[32], buf[64];
	int r;

	snprintf(attr, sizeof(attr), "virtfn%u", i);
	r = evfio_dev_path(path, sizeof(path), pf, attr);
	if (!r)
		r = link_bdf(fs, path, buf, sizeof(buf));
	if (r < 0)
		return r;
	memcpy(bdf, buf, EVFIO_BDF_LEN);
	return 0;
}

int evfio_vf_of(const struct evfio_sysfs *fs, const char *bdf,
		char pf[EVFIO_BDF_LEN], int *index)
{
	char path[128], buf[64], vf[EVFIO_BDF_LEN];
	unsigned int n = 0;
	int r;

	r = evfio_dev_path(path, sizeof(path), bdf, "physfn");
	if (!r)
		r = link_bdf(fs, path, buf, sizeof(buf));
	if (r < 0)
		return r;
	memcpy(pf, buf, EVFIO_BDF_LEN);
	*index = -1;
	if (read_uint(fs, pf, "sriov_numvfs", &n) < 0)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		if (vf_addr(fs, pf, i, vf) == 0 && !strcmp(vf, bdf)) {
			*index = (int)i;
			break;
		}
	}
	return 0;
}

bool evfio_sriov_text(const struct evfio_ctx *c, const struct evfio_dev *d,
		      char *buf, size_t size)
{
	char pf[EVFIO_BDF_LEN];
	unsigned int total = 0, cur = 0;
	int idx;

	if (evfio_vf_of(&c->fs, d->bdf, pf, &idx) == 0) {
		if (idx >= 0)
			snprintf(buf, size, "VF %d of %s", idx, pf);
		else
			snprintf(buf, size, "VF of %s", pf);
		return true;
	}
	if (read_uint(&c->fs, d->bdf, "sriov_totalvfs", &total) < 0 || !total)
		return false;
	read_uint(&c->fs, d->bdf, "sriov_numvfs", &cur);
	snprintf(buf, size, "PF, %u of %u VFs enabled", cur, total);
	for (size_t i = 0; i < c->cfg.n_sections; i++) {
		const struct evfio_section *s = &c->cfg.sections[i];
		size_t len = strlen(buf);

		if (s->sriov_vfs && evfio_section_selects(s, &d->id)) {
			snprintf(buf + len, size - len, ", [%s] asks for %u", s->name,
				 s->sriov_vfs);
			break;
		}
	}
	for (unsigned int i = 0; i < cur && i < EVFIO_SRIOV_MAX; i++) {
		char vf[EVFIO_BDF_LEN];
		size_t len = strlen(buf);

		if (vf_addr(&c->fs, d->bdf, i, vf) == 0)
			snprintf(buf + len, size - len, "%s%s", i ? ", " : ": ", vf + 5);
	}
	return true;
}

int evfio_sriov_add_keys(const struct evfio_ctx *c, const struct evfio_devlist *l,
			 const struct evfio_dev *vf, char *keys, size_t ksize,
			 char *how, size_t hsize)
{
	const struct evfio_dev *p = NULL;
	char pf[EVFIO_BDF_LEN];
	unsigned int cur = 0;
	int idx;

	if (evfio_vf_of(&c->fs, vf->bdf, pf, &idx) < 0)
		return 0;
	for (size_t i = 0; i < l->n && !p; i++)
		if (!strcmp(l->devs[i].bdf, pf))
			p = &l->devs[i];
	if (idx < 0 || !p) {
		snprintf(how, hsize, "it is a VF of %s, but not one of its virtfnN", pf);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->cfg.n_sections; i++) {
		const struct evfio_section *s = &c->cfg.sections[i];

		if (!s->sriov_vfs || !evfio_section_selects(s, &p->id))
			continue;
		if (evfio_sriov_wants_vfio(s, (unsigned int)idx)) {
			snprintf(how, hsize, "already selected by [%s] (VF %d of %s)",
				 s->name, idx, pf);
			return 1;
		}
		snprintf(how, hsize, "it is VF %d of %s, whose VFs [%s] makes: add %d to "
			 "its sriov-vfio line", idx, pf, s->name, idx);
		return -EEXIST;
	}
	read_uint(&c->fs, pf, "sriov_numvfs", &cur);
	snprintf(keys, ksize, "address = %s\nids = %04x:%04x\nsriov-vfs = %u\n"
		 "sriov-vfio = %d\n", pf, p->id.vendor, p->id.device, cur, idx);
	snprintf(how, hsize, "as VF %d of its PF %s: VFs exist only while the PF's "
		 "driver is bound, so the section selects the PF (by address, with its "
		 "vendor:device as a guard), which makes %u VFs and gives VF %d to %s",
		 idx, pf, cur, idx, c->cfg.driver);
	return 2;
}

/* ---- the stage ---------------------------------------------------------- */

struct vf {
	struct evfio_dev d;
	bool vfio;		/* for the target driver */
};

/* One PF's run; on failure everything it made is undone. */
struct pf_run {
	struct evfio_ctx *c;
	const struct evfio_section *s;
	struct evfio_dev *pf;
	char label[64];
	bool autoprobe;		/* its value when we began */
	bool created;		/* sriov_numvfs written by us */
	struct vf *vfs;
	unsigned int n;
};

static void undo(struct pf_run *p, const char *why)
{
	struct evfio_ctx *c = p->c;
	int r;

	for (unsigned int i = 0; i < p->n; i++)
		if (p->vfs[i].vfio && p->vfs[i].d.bdf[0])
			evfio_vf_clear(c, &p->vfs[i].d);
	if (p->created) {
		r = evfio_sriov_set_numvfs(c, p->pf->bdf, 0);
		if (r)
			ev_err(&c->log, "%s: removing the VFs again: %s", p->label,
			       strerror(-r));
	}
	r = evfio_sriov_set_autoprobe(c, p->pf->bdf, p->autoprobe);
	if (r)
		ev_err(&c->log, "%s: restoring sriov_drivers_autoprobe: %s", p->label,
		       strerror(-r));
	ev_err(&c->log, "%s: no VFs made (%s): %s; %s", p->label, p->s->name, why,
	       p->created ? "the VFs it made are removed, the PF is as it was" :
			    "the PF is as it was");
}

static const char *numvfs_error(int err)
{
	switch (err) {
	case -ENOENT:
		return "its driver cannot create VFs (no driver bound, or one without "
		       "SR-IOV support)";
	case -ERANGE:
		return "more VFs than the PF supports";
	case -EBUSY:
		return "VFs are already enabled";
	case -EINTR:
		return "interrupted: the time limit (--timeout) was reached";
	default:
		return strerror(-err);
	}
}

/* Adopt VFs enabled with the wanted count: the ones for the target that no
 * driver holds are bound, the rest are left as they are. */
static int adopt(struct pf_run *p)
{
	struct evfio_ctx *c = p->c;
	int bad = 0;

	for (unsigned int i = 0; i < p->n; i++) {
		struct evfio_dev *d = &p->vfs[i].d;
		char label[64];

		if (vf_addr(&c->fs, p->pf->bdf, i, d->bdf) < 0 ||
		    evfio_dev_refresh(&c->fs, d) < 0) {
			ev_err(&c->log, "%s: VF %u (virtfn%u) cannot be read", p->label, i, i);
			bad++;
			continue;
		}
		snprintf(label, sizeof(label), "%s (VF %u of %s)", d->bdf, i, p->pf->bdf);
		if (!p->vfs[i].vfio) {
			ev_info(&c->log, "%s: left to the host (%s)", label,
				d->driver[0] ? d->driver : "no driver");
			continue;
		}
		if (!strcmp(d->driver, c->cfg.driver)) {
			ev_info(&c->log, "%s already on %s (%s)", label, c->cfg.driver,
				p->s->name);
			continue;
		}
		if (d->driver[0]) {
			ev_err(&c->log, "%s: on %s, not moved to %s (%s): it was probed "
			       "before early-vfio ran; 'early-vfio release %s' gives it "
			       "back, or set sriov_numvfs to 0 and run 'early-vfio vfs %s'",
			       label, d->driver, c->cfg.driver, p->s->name, d->bdf,
			       p->pf->bdf);
			bad++;
			continue;
		}
		if (c->dry_run) {
			ev_info(&c->log, "%s (none) -> %s (%s) [dry run]", label,
				c->cfg.driver, p->s->name);
			continue;
		}
		if (evfio_vf_to_target(c, d) < 0) {
			ev_err(&c->log, "%s: not bound to %s (%s): the target driver did "
			       "not take it (see dmesg)", label, c->cfg.driver, p->s->name);
			bad++;
			continue;
		}
		ev_info(&c->log, "%s (none) -> %s (%s)", label, c->cfg.driver, p->s->name);
	}
	return bad ? -EAGAIN : 0;
}

static int create(struct pf_run *p)
{
	struct evfio_ctx *c = p->c;
	char why[192];
	int r;

	r = evfio_sriov_set_autoprobe(c, p->pf->bdf, false);
	if (r) {
		snprintf(why, sizeof(why), "writing sriov_drivers_autoprobe: %s",
			 strerror(-r));
		undo(p, why);
		return r;
	}
	r = evfio_sriov_set_numvfs(c, p->pf->bdf, p->n);
	if (r) {
		snprintf(why, sizeof(why), "writing %u to sriov_numvfs: %s", p->n,
			 numvfs_error(r));
		undo(p, why);
		return r;
	}
	p->created = true;
	for (unsigned int i = 0; i < p->n; i++) {
		if (vf_addr(&c->fs, p->pf->bdf, i, p->vfs[i].d.bdf) < 0 ||
		    evfio_dev_refresh(&c->fs, &p->vfs[i].d) < 0) {
			p->vfs[i].d.bdf[0] = '\0';
			snprintf(why, sizeof(why), "VF %u (virtfn%u) did not appear", i, i);
			undo(p, why);
			return -ENODEV;
		}
	}
	for (unsigned int i = 0; i < p->n; i++) {
		if (!p->vfs[i].vfio)
			continue;
		if (evfio_deadline_left(&c->deadline) < EVFIO_MOVE_RESERVE_MS) {
			undo(p, "the time limit (--timeout) was reached");
			return -ETIME;
		}
		r = evfio_vf_to_target(c, &p->vfs[i].d);
		if (r) {
			if (evfio_deadline_passed(&c->deadline))
				snprintf(why, sizeof(why), "the time limit (--timeout) was "
					 "reached while %s probed VF %u (%s)", c->cfg.driver,
					 i, p->vfs[i].d.bdf);
			else
				snprintf(why, sizeof(why), "%s did not take VF %u (%s; see "
					 "dmesg)", c->cfg.driver, i, p->vfs[i].d.bdf);
			undo(p, why);
			return r;
		}
	}
	r = evfio_sriov_set_autoprobe(c, p->pf->bdf, p->autoprobe);
	if (r) {
		snprintf(why, sizeof(why), "restoring sriov_drivers_autoprobe: %s",
			 strerror(-r));
		undo(p, why);
		return r;
	}
	for (unsigned int i = 0; i < p->n; i++) {
		struct evfio_dev *d = &p->vfs[i].d;
		char label[64];

		snprintf(label, sizeof(label), "%s (VF %u of %s)", d->bdf, i, p->pf->bdf);
		if (p->vfs[i].vfio) {
			ev_info(&c->log, "%s (none) -> %s (%s)", label, c->cfg.driver,
				p->s->name);
			continue;
		}
		if (p->autoprobe)
			evfio_vf_to_host(c, d);
		ev_info(&c->log, "%s: left to the host (%s)", label,
			d->driver[0] ? d->driver :
			p->autoprobe ? "no driver took it" :
				       "not probed: sriov_drivers_autoprobe was 0");
	}
	return 0;
}

/* Why the PF cannot have its VFs made, or NULL. */
static const char *pf_refusal(struct pf_run *p, char *buf, size_t size)
{
	struct evfio_ctx *c = p->c;
	const struct evfio_dev *d = p->pf;
	unsigned int total, cur, ap;
	char pf[EVFIO_BDF_LEN];
	int idx;

	if (evfio_vf_of(&c->fs, d->bdf, pf, &idx) == 0) {
		snprintf(buf, size, "it is itself a VF (of %s): select the PF", pf);
		return buf;
	}
	if (read_uint(&c->fs, d->bdf, "sriov_totalvfs", &total) < 0 ||
	    read_uint(&c->fs, d->bdf, "sriov_numvfs", &cur) < 0 || total == 0) {
		snprintf(buf, size, "it is not an SR-IOV physical function (no "
			 "sriov_totalvfs)");
		return buf;
	}
	if (p->s->sriov_vfs > total) {
		snprintf(buf, size, "sriov-vfs = %u, but the PF supports at most %u "
			 "(sriov_totalvfs)", p->s->sriov_vfs, total);
		return buf;
	}
	if (!d->driver[0]) {
		snprintf(buf, size, "it has no driver: VFs exist only while the PF's "
			 "driver is bound; the udev rule runs 'early-vfio vfs %s' when "
			 "it binds", d->bdf);
		return buf;
	}
	if (!strcmp(d->driver, c->cfg.driver)) {
		snprintf(buf, size, "it is on %s: a PF with SR-IOV keeps its host "
			 "driver (remove it from any other section, then 'early-vfio "
			 "release %s')", d->driver, d->bdf);
		return buf;
	}
	if (cur && cur != p->s->sriov_vfs) {
		snprintf(buf, size, "%u VFs are enabled already (sriov-vfs = %u); "
			 "they may be in use, and changing the count removes them "
			 "all: left alone (when no VM uses them, write 0 to its "
			 "sriov_numvfs and run 'early-vfio vfs %s')", cur,
			 p->s->sriov_vfs, d->bdf);
		return buf;
	}
	if (read_uint(&c->fs, d->bdf, "sriov_drivers_autoprobe", &ap) < 0 || ap > 1) {
		snprintf(buf, size, "its sriov_drivers_autoprobe cannot be read");
		return buf;
	}
	p->autoprobe = ap == 1;
	return NULL;
}

static int run_pf(struct evfio_ctx *c, const struct evfio_section *s,
		  struct evfio_dev *pf)
{
	struct pf_run p = { .c = c, .s = s, .pf = pf, .n = s->sriov_vfs };
	char why[400];
	unsigned int cur = 0, nvfio = 0;
	int r;

	evfio_dev_label(pf, p.label, sizeof(p.label));
	if (evfio_dev_refresh(&c->fs, pf) < 0) {
		ev_err(&c->log, "%s: gone", p.label);
		return -ENODEV;
	}
	if (pf_refusal(&p, why, sizeof(why))) {
		ev_err(&c->log, "%s: no VFs made (%s): %s", p.label, s->name, why);
		return -EPERM;
	}
	p.vfs = calloc(p.n, sizeof(*p.vfs));
	if (!p.vfs)
		return -ENOMEM;
	for (unsigned int i = 0; i < p.n; i++) {
		p.vfs[i].vfio = evfio_sriov_wants_vfio(s, i);
		nvfio += p.vfs[i].vfio;
	}
	read_uint(&c->fs, pf->bdf, "sriov_numvfs", &cur);
	if (cur == p.n) {
		ev_info(&c->log, "%s: %u VFs enabled already (%s)", p.label, cur, s->name);
		r = adopt(&p);
		goto out;
	}
	/* the least time it needs: every VF for the target is a move */
	if (evfio_deadline_left(&c->deadline) < EVFIO_MOVE_RESERVE_MS * (nvfio + 1)) {
		ev_err(&c->log, "%s: no VFs made (%s): no time left (--timeout); "
		       "nothing written", p.label, s->name);
		r = -ETIME;
		goto out;
	}
	if (nvfio && evfio_modules_load_driver(c->mods, &c->fs, c->cfg.driver,
					       c->dry_run) < 0) {
		ev_err(&c->log, "%s: no VFs made (%s): %s cannot be loaded; nothing "
		       "written", p.label, s->name, c->cfg.driver);
		r = -ENOENT;
		goto out;
	}
	if (c->dry_run) {
		ev_info(&c->log, "%s: %u VFs would be made (%s), %u for %s [dry run]",
			p.label, p.n, s->name, nvfio, c->cfg.driver);
		r = 0;
		goto out;
	}
	r = create(&p);
	if (!r)
		ev_info(&c->log, "%s: %u VFs made (%s), %u on %s, the PF stays on %s",
			p.label, p.n, s->name, nvfio, c->cfg.driver, pf->driver);
out:
	free(p.vfs);
	return r;
}

struct pf_keep {
	struct evfio_ctx *c;
	const struct evfio_addr *addrs;
	int naddrs;
};

static bool any_sriov_selects(const struct evfio_config *cfg, const struct evfio_ident *d)
{
	for (size_t i = 0; i < cfg->n_sections; i++)
		if (cfg->sections[i].sriov_vfs && evfio_section_selects(&cfg->sections[i], d))
			return true;
	return false;
}

static bool keep_pf(const struct evfio_sysfs *fs, struct evfio_dev *d, void *data)
{
	const struct pf_keep *k = data;
	bool named = !k->naddrs;

	(void)fs;
	for (int i = 0; i < k->naddrs && !named; i++)
		named = evfio_addr_match(&k->addrs[i], &d->id);
	return named && any_sriov_selects(&k->c->cfg, &d->id);
}

/* The SR-IOV section that takes d, after its NVMe serial is known; NULL
 * when none or (logged) more than one. */
static const struct evfio_section *section_of(struct evfio_ctx *c, struct evfio_dev *d,
					      bool *failed)
{
	const struct evfio_section *found = NULL, *bind;
	char label[64];

	if (evfio_is_nvme(&d->id) && !d->id.nvme_known &&
	    evfio_nvme_identify_sysfs(&c->fs, d->bdf, &d->id) == 0)
		d->id_src = EVFIO_ID_DRIVER;
	evfio_dev_label(d, label, sizeof(label));
	for (size_t i = 0; i < c->cfg.n_sections; i++) {
		const struct evfio_section *s = &c->cfg.sections[i];

		if (!s->sriov_vfs || !evfio_section_selects(s, &d->id))
			continue;
		if (evfio_section_needs_nvme_id(s, &d->id)) {
			ev_err(&c->log, "%s: no VFs made (%s): its serial cannot be read "
			       "(it is not on nvme, or its controller is not live)",
			       label, s->name);
			*failed = true;
			return NULL;
		}
		if (found) {
			ev_err(&c->log, "%s: no VFs made: selected by [%s] and [%s]; "
			       "keep one", label, found->name, s->name);
			*failed = true;
			return NULL;
		}
		found = s;
	}
	bind = evfio_config_match(&c->cfg, &d->id);
	if (found && bind) {
		ev_err(&c->log, "%s: no VFs made (%s): [%s] selects the PF itself for "
		       "%s; keep one", label, found->name, bind->name, c->cfg.driver);
		*failed = true;
		return NULL;
	}
	return found;
}

/* 0, 1: some PF failed, or -errno of the scan */
static int run(struct evfio_ctx *c, const struct evfio_addr *addrs, int naddrs)
{
	struct pf_keep k = { .c = c, .addrs = addrs, .naddrs = naddrs };
	struct evfio_scan how = { .need = c->cfg.need, .keep = keep_pf, .data = &k };
	struct evfio_devlist l = { 0 };
	int r, bad = 0;

	r = evfio_pci_scan(&c->fs, &c->log, &how, &l);
	if (r < 0) {
		ev_err(&c->log, "cannot scan PCI devices: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < l.n; i++) {
		bool failed = false;
		const struct evfio_section *s = section_of(c, &l.devs[i], &failed);

		if (!s) {
			bad += failed;
			continue;
		}
		if (run_pf(c, s, &l.devs[i]) < 0)
			bad++;
	}
	if (!l.n)
		ev_dbg(&c->log, "vfs: no PF selected by an SR-IOV section%s",
		       naddrs ? " at that address" : "");
	evfio_devlist_free(&l);
	return bad ? 1 : 0;
}

size_t evfio_sriov_check_print(struct evfio_ctx *c, const struct evfio_section *sec,
			       int *warnings)
{
	struct pf_keep k = { .c = c };
	struct evfio_scan how = { .need = c->cfg.need, .names = true, .keep = keep_pf,
				  .data = &k };
	struct evfio_devlist l = { 0 };
	size_t found = 0;

	if (evfio_pci_scan(&c->fs, &c->log, &how, &l) < 0)
		return 0;
	for (size_t i = 0; i < l.n; i++) {
		struct evfio_dev *d = &l.devs[i];
		struct pf_run p = { .c = c, .s = sec, .pf = d };
		char line[320], text[1200], why[400];

		if (evfio_is_nvme(&d->id) && !d->id.nvme_known)
			evfio_nvme_identify_sysfs(&c->fs, d->bdf, &d->id);
		if (!evfio_section_selects(sec, &d->id))
			continue;
		found++;
		evfio_dev_lspci(d, true, line, sizeof(line));
		printf("  %s, driver %s\n", line, d->driver[0] ? d->driver : "(none)");
		if (evfio_sriov_text(c, d, text, sizeof(text)))
			printf("    SR-IOV: %s\n", text);
		if (pf_refusal(&p, why, sizeof(why))) {
			ev_warn(&c->log, "%s: no VFs will be made now: %s", d->bdf, why);
			(*warnings)++;
		}
	}
	evfio_devlist_free(&l);
	return found;
}

bool evfio_config_has_sriov(const struct evfio_config *cfg)
{
	for (size_t i = 0; i < cfg->n_sections; i++)
		if (cfg->sections[i].sriov_vfs && !cfg->sections[i].skipped)
			return true;
	return false;
}

int evfio_cmd_vfs(struct evfio_ctx *c, struct evfio_opts *o)
{
	struct evfio_addr *addrs = NULL;
	int r;

	r = evfio_config_load(&c->cfg, o->config, &c->log);
	if (r == -ENOENT) {
		ev_dbg(&c->log, "%s: no config, no VFs to make", o->config);
		return EVFIO_EXIT_OK;
	}
	if (r < 0) {
		if (r != -EINVAL && r != -EPERM)
			ev_err(&c->log, "%s: %s", o->config, strerror(-r));
		ev_err(&c->log, "%s: invalid configuration: no VFs made", o->config);
		return EVFIO_EXIT_CONFIG;
	}
	if (o->skip)
		evfio_config_skip(&c->cfg, o->skip);
	if (!evfio_config_has_sriov(&c->cfg))
		return EVFIO_EXIT_OK;
	if (o->nargs) {
		addrs = calloc((size_t)o->nargs, sizeof(*addrs));
		if (!addrs)
			return EVFIO_EXIT_FAILURE;
		for (int i = 0; i < o->nargs; i++) {
			const char *msg = evfio_addr_parse(o->args[i], &addrs[i]);

			if (msg) {
				ev_err(&c->log, "invalid address '%.40s': %s", o->args[i], msg);
				free(addrs);
				return EVFIO_EXIT_FAILURE;
			}
		}
	}
	r = run(c, addrs, o->nargs);
	free(addrs);
	if (r < 0)
		return EVFIO_EXIT_FAILURE;
	return r ? EVFIO_EXIT_PARTIAL : EVFIO_EXIT_OK;
}

/* ---- at boot ----------------------------------------------------------- */

#define PF_DRIVER_WAIT_MS 5000	/* for a PF's driver to bind once loaded */

/* Load the module of a PF that has no driver yet, when the image has it,
 * and wait (bounded) for its driver to bind; false when it did not. */
static bool pf_driver_up(struct evfio_ctx *c, struct evfio_dev *pf)
{
	char mods[256], label[64], *tok, *save = NULL;
	uint64_t end;

	evfio_dev_label(pf, label, sizeof(label));
	if (!c->mods || evfio_modules_for_alias(c->mods, pf->modalias, mods,
						sizeof(mods)) < 0 || !mods[0]) {
		ev_info(&c->log, "%s: its driver is not in this image: its VFs are "
			"made when the driver binds (udev rule)", label);
		return false;
	}
	for (tok = strtok_r(mods, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (evfio_modules_load_driver(c->mods, &c->fs, tok, false) < 0)
			ev_warn(&c->log, "%s: loading %s failed: its VFs are made when "
				"a driver binds it (udev rule)", label, tok);
	end = evfio_deadline_until(&c->deadline, PF_DRIVER_WAIT_MS, EVFIO_MOVE_RESERVE_MS);
	while (evfio_dev_refresh(&c->fs, pf) == 0 && !pf->driver[0] &&
	       evfio_now_ms() < end)
		evfio_pause_ms(&c->deadline, 50);
	if (!pf->driver[0])
		ev_info(&c->log, "%s: no driver bound it: its VFs are made when one "
			"does (udev rule)", label);
	return pf->driver[0] != '\0';
}

int evfio_sriov_boot(struct evfio_ctx *c)
{
	struct pf_keep k = { .c = c };
	struct evfio_scan how = { .need = c->cfg.need, .keep = keep_pf, .data = &k };
	struct evfio_devlist l = { 0 };
	int r;

	if (c->cfg.n_errors || !evfio_config_has_sriov(&c->cfg))
		return 0;
	r = evfio_pci_scan(&c->fs, &c->log, &how, &l);
	if (r < 0) {
		ev_err(&c->log, "vfs: cannot scan PCI devices: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < l.n; i++)
		if (!l.devs[i].driver[0])
			pf_driver_up(c, &l.devs[i]);
	evfio_devlist_free(&l);
	r = run(c, NULL, 0);
	return r < 0 ? r : r ? -EAGAIN : 0;
}

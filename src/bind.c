// SPDX-License-Identifier: MIT
/* Moving a device to the target driver, and back: the only module that
 * writes driver_override, unbind, bind or drivers_probe.
 *
 * Every move starts by re-reading the device's driver and override from
 * sysfs: what the scan saw may be stale (loading nvme to read a serial
 * binds it to every unbound NVMe controller at once).  Then
 * driver_override is written, so that from then on only the target driver
 * may bind the device; the driver holding it (if any) is unbound and the
 * bus asked to probe.  Whatever fails, the device is given back: the
 * override is cleared and the driver it was on asked to take it again.  A
 * move is not started with less than EVFIO_MOVE_RESERVE_MS of the run's
 * deadline left; giving back always runs. */
#include <errno.h>
#include <string.h>

#include "early-vfio.h"

static int write_attr(struct evfio_ctx *c, const struct evfio_dev *d,
		      const char *attr, const char *value)
{
	char path[128];
	int r;

	r = evfio_dev_path(path, sizeof(path), d->bdf, attr);
	if (!r)
		r = evfio_sysfs_write(&c->fs, path, value);
	ev_dbg(&c->log, "%s: %s <- '%s': %s", d->bdf, attr,
	       value[0] == '\n' ? "\\n" : value, r ? strerror(-r) : "ok");
	return r;
}

static int unbind_from(struct evfio_ctx *c, const struct evfio_dev *d,
		       const char *driver)
{
	char path[128];
	int r;

	snprintf(path, sizeof(path), "sys/bus/pci/drivers/%s/unbind", driver);
	r = evfio_sysfs_write(&c->fs, path, d->bdf);
	ev_dbg(&c->log, "%s: unbind from %s: %s", d->bdf, driver,
	       r ? strerror(-r) : "ok");
	return r;
}

static int probe(struct evfio_ctx *c, const struct evfio_dev *d)
{
	int r = evfio_sysfs_write(&c->fs, "sys/bus/pci/drivers_probe", d->bdf);

	ev_dbg(&c->log, "%s: drivers_probe: %s", d->bdf, r ? strerror(-r) : "ok");
	return r;
}

static int bind_to(struct evfio_ctx *c, const struct evfio_dev *d,
		   const char *driver)
{
	char path[128];
	int r;

	snprintf(path, sizeof(path), "sys/bus/pci/drivers/%s/bind", driver);
	r = evfio_sysfs_write(&c->fs, path, d->bdf);
	ev_dbg(&c->log, "%s: bind to %s: %s", d->bdf, driver, r ? strerror(-r) : "ok");
	return r;
}

const char *evfio_stage_text(enum evfio_stage stage)
{
	switch (stage) {
	case EVFIO_STAGE_TIME:
		return "no time left to move it (--timeout)";
	case EVFIO_STAGE_GONE:
		return "the device is gone";
	case EVFIO_STAGE_READ:
		return "its driver or driver_override cannot be read";
	case EVFIO_STAGE_OVERRIDE:
		return "writing driver_override failed";
	case EVFIO_STAGE_UNBIND:
		return "unbinding its driver failed";
	case EVFIO_STAGE_PROBE:
		return "drivers_probe failed";
	case EVFIO_STAGE_TARGET:
		return "the target driver did not take it (see dmesg)";
	default:
		return "done";
	}
}

static bool is_target(const struct evfio_ctx *c, const char *driver)
{
	return !strcmp(driver, c->cfg.driver);
}

/* Re-read d; -ENODEV when it is gone. */
static int refresh(struct evfio_ctx *c, struct evfio_dev *d)
{
	int r = evfio_dev_refresh(&c->fs, d);

	if (r < 0)
		ev_dbg(&c->log, "%s: re-reading its driver: %s", d->bdf, strerror(-r));
	return r;
}

int evfio_move_back(struct evfio_ctx *c, struct evfio_dev *d, const char *to)
{
	int r, err = 0;

	if (refresh(c, d) == -ENODEV)
		return -ENODEV;
	if (is_target(c, d->override)) {	/* ours; another is the admin's */
		r = write_attr(c, d, "driver_override", "\n");
		if (r == -ENOENT || r == -ENODEV)
			return -ENODEV;
		if (r)
			err = r;
	}
	if (is_target(c, d->driver)) {
		r = unbind_from(c, d, d->driver);
		if (r && !err)
			err = r;
	}
	if (refresh(c, d) == 0 && !d->driver[0]) {
		probe(c, d);
		if (refresh(c, d) == 0 && !d->driver[0] && to && to[0] &&
		    !is_target(c, to))
			bind_to(c, d, to);
		refresh(c, d);
	}
	return err;
}

/* The move failed at stage: give d back to host, say how it ended. */
static enum evfio_result failed(struct evfio_ctx *c, struct evfio_dev *d,
				struct evfio_move *m, enum evfio_stage stage, int err)
{
	m->stage = stage;
	m->err = err;
	if (evfio_move_back(c, d, m->from) == -ENODEV) {
		m->stage = EVFIO_STAGE_GONE;
		return m->result = EVFIO_LOST;
	}
	if (is_target(c, d->driver))
		return m->result = EVFIO_LOST;
	if (d->driver[0] || !m->from[0])
		return m->result = EVFIO_RETURNED;
	return m->result = EVFIO_LOST;
}

enum evfio_result evfio_move_to_target(struct evfio_ctx *c, struct evfio_dev *d,
				       struct evfio_move *m)
{
	const char *target = c->cfg.driver;
	int r;

	memset(m, 0, sizeof(*m));
	if (evfio_deadline_left(&c->deadline) < EVFIO_MOVE_RESERVE_MS) {
		m->stage = EVFIO_STAGE_TIME;
		m->err = -ETIME;
		return m->result = EVFIO_REFUSED;
	}
	r = refresh(c, d);
	if (r) {
		m->stage = r == -ENODEV ? EVFIO_STAGE_GONE : EVFIO_STAGE_READ;
		m->err = r;
		return m->result = r == -ENODEV ? EVFIO_LOST : EVFIO_REFUSED;
	}
	snprintf(m->from, sizeof(m->from), "%s", d->driver);
	if (is_target(c, d->driver) && is_target(c, d->override))
		return m->result = EVFIO_ALREADY;
	r = write_attr(c, d, "driver_override", target);
	if (r) {
		m->stage = r == -ENOENT ? EVFIO_STAGE_GONE : EVFIO_STAGE_OVERRIDE;
		m->err = r;
		/* nothing else was written: it stays where it is */
		return m->result = r == -ENOENT ? EVFIO_LOST : EVFIO_REFUSED;
	}
	if (is_target(c, d->driver))
		return m->result = EVFIO_BOUND;	/* on it already (e.g. by ids=):
						 * the override keeps it so */
	if (d->driver[0]) {
		r = unbind_from(c, d, d->driver);
		if (r)
			return failed(c, d, m, EVFIO_STAGE_UNBIND, r);
	}
	r = probe(c, d);
	if (r)
		return failed(c, d, m, EVFIO_STAGE_PROBE, r);
	r = refresh(c, d);
	if (r == -ENODEV)
		return failed(c, d, m, EVFIO_STAGE_GONE, r);
	if (r || !is_target(c, d->driver))
		return failed(c, d, m, EVFIO_STAGE_TARGET, r ? r : -ENODEV);
	return m->result = EVFIO_BOUND;
}

/* ", serial S1 (read through VFIO)" for devices selected by serial. */
static void id_note(const struct evfio_dev *d, char *buf, size_t size)
{
	buf[0] = '\0';
	if (d->id.nvme_known && d->id_src != EVFIO_ID_NONE)
		snprintf(buf, size, ", serial %s (read %s)", d->id.serial,
			 evfio_id_src_text(d->id_src));
}

int evfio_hold_for_target(struct evfio_ctx *c, struct evfio_dev *d)
{
	int r = refresh(c, d);

	if (r)
		return r;
	if (d->driver[0])
		return -EBUSY;	/* never unbound here */
	if (is_target(c, d->override))
		return 0;
	return write_attr(c, d, "driver_override", c->cfg.driver);
}

void evfio_leave_refused(struct evfio_ctx *c, struct evfio_dev *d)
{
	if (c->dry_run || refresh(c, d) < 0)
		return;
	if (is_target(c, d->override) && !is_target(c, d->driver))
		write_attr(c, d, "driver_override", "\n");
}

/* How a failed move ended, for the log. */
static void log_failure(struct evfio_ctx *c, const char *label, const char *section,
			const struct evfio_dev *d, const struct evfio_move *m)
{
	const char *target = c->cfg.driver;
	char why[160];

	if (m->err && m->stage != EVFIO_STAGE_TARGET && m->stage != EVFIO_STAGE_TIME &&
	    m->stage != EVFIO_STAGE_GONE)
		snprintf(why, sizeof(why), "%s: %s", evfio_stage_text(m->stage),
			 strerror(-m->err));
	else
		snprintf(why, sizeof(why), "%s", evfio_stage_text(m->stage));
	if (m->result == EVFIO_REFUSED)
		ev_err(&c->log, "%s: not bound to %s (%s): %s%s%s", label, target,
		       section, why, m->from[0] ? "; it stays on " : "", m->from);
	else if (m->stage == EVFIO_STAGE_GONE)
		ev_err(&c->log, "%s: not bound to %s (%s): %s", label, target, section,
		       why);
	else if (is_target(c, d->driver))
		ev_err(&c->log, "%s: %s, and it is still on %s", label, why, d->driver);
	else if (d->driver[0])
		ev_err(&c->log, "%s: not bound to %s (%s): %s; back on %s", label,
		       target, section, why, d->driver);
	else if (!m->from[0])
		ev_err(&c->log, "%s: not bound to %s (%s): %s; it had no driver and "
		       "has none", label, target, section, why);
	else
		ev_err(&c->log, "%s: not bound to %s (%s): %s; %s did not take it "
		       "back: it has no driver now", label, target, section, why,
		       m->from);
}

enum evfio_result evfio_bind_device(struct evfio_ctx *c, struct evfio_dev *d,
				    const char *moved_from)
{
	const char *target = c->cfg.driver;
	const char *section = d->section ? d->section->name : "?";
	char label[64], note[96];
	const char *refusal;
	struct evfio_move m;

	evfio_dev_label(d, label, sizeof(label));
	id_note(d, note, sizeof(note));
	refusal = evfio_safety_refusal(d);
	if (refusal) {
		ev_err(&c->log, "%s: not bound to %s (%s)%s: %s", label, target,
		       section, note, refusal);
		if (moved_from)
			evfio_move_back(c, d, moved_from);
		else
			evfio_leave_refused(c, d);
		return EVFIO_REFUSED;
	}
	if (moved_from && refresh(c, d) == 0 && is_target(c, d->driver) &&
	    is_target(c, d->override)) {
		ev_info(&c->log, "%s %s -> %s (%s)%s", label,
			moved_from[0] ? moved_from : "(none)", target, section, note);
		return EVFIO_BOUND;
	}
	if (!c->cfg.unbind && refresh(c, d) == 0 && d->driver[0] &&
	    !is_target(c, d->driver)) {
		ev_err(&c->log, "%s: not bound to %s (%s): it is on %s and "
		       "[options] unbind = no", label, target, section, d->driver);
		evfio_leave_refused(c, d);
		return EVFIO_REFUSED;
	}
	if (c->dry_run) {
		if (is_target(c, d->driver) && is_target(c, d->override)) {
			ev_info(&c->log, "%s already on %s (%s)%s", label, target,
				section, note);
			return EVFIO_ALREADY;
		}
		ev_info(&c->log, "%s %s -> %s (%s)%s [dry run]", label,
			d->driver[0] ? d->driver : "(none)", target, section, note);
		return EVFIO_PLANNED;
	}
	switch (evfio_move_to_target(c, d, &m)) {
	case EVFIO_ALREADY:
		ev_info(&c->log, "%s already on %s (%s)%s", label, target, section,
			note);
		return EVFIO_ALREADY;
	case EVFIO_BOUND:
		if (is_target(c, m.from))
			ev_info(&c->log, "%s already on %s, override set (%s)", label,
				target, section);
		else
			ev_info(&c->log, "%s %s -> %s (%s)%s", label,
				m.from[0] ? m.from : "(none)", target, section, note);
		return EVFIO_BOUND;
	default:
		log_failure(c, label, section, d, &m);
		return m.result;
	}
}

int evfio_release_device(struct evfio_ctx *c, struct evfio_dev *d)
{
	const char *target = c->cfg.driver;
	char label[64];
	int r;

	evfio_dev_label(d, label, sizeof(label));
	if (refresh(c, d) == -ENODEV) {
		ev_err(&c->log, "%s: gone", label);
		return -ENODEV;
	}
	if (!is_target(c, d->driver) && !is_target(c, d->override)) {
		ev_info(&c->log, "%s is not on %s (driver %s): nothing to release",
			label, target, d->driver[0] ? d->driver : "(none)");
		return 0;
	}
	if (c->dry_run) {
		ev_info(&c->log, "%s %s -> host driver [dry run]", label, target);
		return 0;
	}
	r = evfio_move_back(c, d, NULL);
	if (r) {
		ev_err(&c->log, "%s: release from %s: %s", label, target,
		       strerror(-r));
		return r;
	}
	ev_info(&c->log, "%s %s -> %s (released)", label, target,
		d->driver[0] ? d->driver : "(none)");
	return 0;
}

/* ---- SR-IOV (sriov.c decides, these write) --------------------------- */

static int pf_write(struct evfio_ctx *c, const char *pf, const char *attr,
		    const char *value)
{
	char path[128];
	int r;

	r = evfio_dev_path(path, sizeof(path), pf, attr);
	if (!r)
		r = evfio_sysfs_write(&c->fs, path, value);
	ev_dbg(&c->log, "%s: %s <- '%s': %s", pf, attr, value, r ? strerror(-r) : "ok");
	return r;
}

int evfio_sriov_set_autoprobe(struct evfio_ctx *c, const char *pf, bool on)
{
	return pf_write(c, pf, "sriov_drivers_autoprobe", on ? "1" : "0");
}

int evfio_sriov_set_numvfs(struct evfio_ctx *c, const char *pf, unsigned int n)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", n);
	return pf_write(c, pf, "sriov_numvfs", v);
}

int evfio_vf_to_target(struct evfio_ctx *c, struct evfio_dev *vf)
{
	int r;

	r = refresh(c, vf);
	if (r)
		return r;
	if (vf->driver[0])
		return is_target(c, vf->driver) ? 0 : -EBUSY;	/* never unbound here */
	r = write_attr(c, vf, "driver_override", c->cfg.driver);
	if (r)
		return r;
	r = probe(c, vf);
	if (!r)
		r = refresh(c, vf);
	if (!r && !is_target(c, vf->driver))
		r = -ENODEV;
	if (r)
		evfio_vf_clear(c, vf);
	return r;
}

void evfio_vf_clear(struct evfio_ctx *c, struct evfio_dev *vf)
{
	if (refresh(c, vf) < 0)
		return;
	if (is_target(c, vf->override))
		write_attr(c, vf, "driver_override", "\n");
	if (is_target(c, vf->driver))
		unbind_from(c, vf, vf->driver);
	refresh(c, vf);
}

int evfio_vf_to_host(struct evfio_ctx *c, struct evfio_dev *vf)
{
	int r = refresh(c, vf);

	if (r || vf->driver[0])
		return r;
	r = probe(c, vf);
	refresh(c, vf);
	return r;
}

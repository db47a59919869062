// SPDX-License-Identifier: MIT
/* Moving one device to the target driver, and back.
 *
 * driver_override is written first, so that from then on only the target
 * driver may bind the device; then the host driver (if any) is unbound and
 * the bus asked to probe.  Whatever fails, the device is given back: the
 * override is cleared and its previous driver asked to take it again. */
#include <errno.h>
#include <string.h>

#include "early-vfio.h"

void evfio_dev_label(const struct evfio_dev *d, char *buf, size_t size)
{
	snprintf(buf, size, "%s [%04x:%04x]", d->bdf, d->id.vendor,
		 d->id.device);
}

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

	snprintf(path, sizeof(path), "sys/bus/pci/drivers/%s/bind", driver);
	return evfio_sysfs_write(&c->fs, path, d->bdf);
}

/* Clear the override and let the previous driver take the device again. */
static enum evfio_result give_back(struct evfio_ctx *c, struct evfio_dev *d,
				   const char *host, const char *why)
{
	char label[64];
	int r;

	evfio_dev_label(d, label, sizeof(label));
	r = write_attr(c, d, "driver_override", "\n");
	if (r == -ENOENT || r == -ENODEV) {
		ev_err(&c->log, "%s: %s; the device is gone", label, why);
		return EVFIO_LOST;
	}
	if (r)
		ev_warn(&c->log, "%s: cannot clear driver_override: %s", label,
			strerror(-r));
	if (evfio_dev_refresh(&c->fs, d) == 0 && !d->driver[0] && host[0]) {
		probe(c, d);
		if (evfio_dev_refresh(&c->fs, d) == 0 && !d->driver[0])
			bind_to(c, d, host);
		evfio_dev_refresh(&c->fs, d);
	}
	if (d->driver[0] && !strcmp(d->driver, c->cfg.driver)) {
		ev_err(&c->log, "%s: %s, and it is still on %s", label, why,
		       d->driver);
		return EVFIO_LOST;
	}
	if (d->driver[0]) {
		ev_err(&c->log, "%s: %s; left on %s", label, why, d->driver);
		return EVFIO_RETURNED;
	}
	if (!host[0]) {
		ev_err(&c->log, "%s: %s; it had no driver and has none", label,
		       why);
		return EVFIO_RETURNED;
	}
	ev_err(&c->log, "%s: %s; %s did not take it back: it has no driver now",
	       label, why, host);
	return EVFIO_LOST;
}

/* ", serial S1 (read through VFIO)" for devices selected by serial. */
static void id_note(const struct evfio_dev *d, char *buf, size_t size)
{
	buf[0] = '\0';
	if (d->id.nvme_known && d->id_via)
		snprintf(buf, size, ", serial %s (read %s)", d->id.serial,
			 d->id_via);
}

enum evfio_result evfio_bind_move(struct evfio_ctx *c, struct evfio_dev *d,
				  char *why, size_t size)
{
	const char *target = c->cfg.driver;
	char host[EVFIO_NAME_MAX];
	int r;

	snprintf(host, sizeof(host), "%s", d->driver);
	r = write_attr(c, d, "driver_override", target);
	if (r) {
		snprintf(why, size, "driver_override: %s%s%s",
			 r == -ENOENT ? "the device is gone" : strerror(-r),
			 host[0] ? "; it stays on " : "", host);
		return r == -ENOENT ? EVFIO_LOST : EVFIO_REFUSED;
	}
	if (!strcmp(host, target))
		return EVFIO_BOUND;	/* bound already (e.g. by ids=): the
					 * override keeps it so */
	if (host[0]) {
		r = write_attr(c, d, "driver/unbind", d->bdf);
		if (r) {
			snprintf(why, size, "unbind from %s failed: %s", host,
				 strerror(-r));
			return give_back(c, d, host, why);
		}
	}
	r = probe(c, d);
	if (r == 0)
		r = evfio_dev_refresh(&c->fs, d);
	if (r == 0 && !strcmp(d->driver, target))
		return EVFIO_BOUND;
	if (r)
		snprintf(why, size, "bind to %s failed: %s", target, strerror(-r));
	else
		snprintf(why, size, "%s refused the device (see dmesg)", target);
	return give_back(c, d, host, why);
}

/* A refused device is left as it was: one moved to the target only to read
 * its serial goes back, an override set for it is cleared. */
static enum evfio_result leave_refused(struct evfio_ctx *c, struct evfio_dev *d)
{
	if (d->taken)
		evfio_unbind_target(c, d);
	else if (!c->dry_run && !strcmp(d->override, c->cfg.driver))
		write_attr(c, d, "driver_override", "\n");
	return EVFIO_REFUSED;
}

enum evfio_result evfio_bind_device(struct evfio_ctx *c, struct evfio_dev *d)
{
	const char *target = c->cfg.driver;
	const char *section = d->section ? d->section->name : "?";
	char label[64], host[EVFIO_NAME_MAX], why[160], note[96];
	const char *refusal;
	enum evfio_result res;

	evfio_dev_label(d, label, sizeof(label));
	id_note(d, note, sizeof(note));
	if (!d->taken && !strcmp(d->driver, target) &&
	    !strcmp(d->override, target)) {
		ev_info(&c->log, "%s already on %s (%s)%s", label, target, section,
			note);
		return EVFIO_ALREADY;
	}
	refusal = evfio_safety_refusal(d);
	if (refusal) {
		ev_err(&c->log, "%s: not bound to %s (%s)%s: %s", label, target,
		       section, note, refusal);
		return leave_refused(c, d);
	}
	if (d->taken) {
		ev_info(&c->log, "%s %s -> %s (%s)%s", label,
			d->was_on[0] ? d->was_on : "(none)", target, section, note);
		return EVFIO_BOUND;
	}
	if (d->driver[0] && strcmp(d->driver, target) && !c->cfg.unbind) {
		ev_err(&c->log, "%s: not bound to %s (%s): it is on %s and "
		       "[options] unbind = no", label, target, section, d->driver);
		return leave_refused(c, d);
	}
	if (c->dry_run) {
		ev_info(&c->log, "%s %s -> %s (%s)%s [dry run]", label,
			d->driver[0] ? d->driver : "(none)", target, section, note);
		return EVFIO_PLANNED;
	}

	snprintf(host, sizeof(host), "%s", d->driver);
	why[0] = '\0';
	res = evfio_bind_move(c, d, why, sizeof(why));
	if (res != EVFIO_BOUND && !strncmp(why, "driver_override:", 16))
		ev_err(&c->log, "%s: not bound to %s (%s): %s", label, target,
		       section, why);
	else if (res == EVFIO_BOUND && !strcmp(host, target))
		ev_info(&c->log, "%s already on %s, override set (%s)", label,
			target, section);
	else if (res == EVFIO_BOUND)
		ev_info(&c->log, "%s %s -> %s (%s)%s", label,
			host[0] ? host : "(none)", target, section, note);
	return res;
}

int evfio_unbind_target(struct evfio_ctx *c, struct evfio_dev *d)
{
	int r = write_attr(c, d, "driver_override", "\n");

	if (!r && !strcmp(d->driver, c->cfg.driver))
		r = write_attr(c, d, "driver/unbind", d->bdf);
	if (!r)
		r = probe(c, d);
	if (!r)
		r = evfio_dev_refresh(&c->fs, d);
	return r;
}

int evfio_release_device(struct evfio_ctx *c, struct evfio_dev *d)
{
	const char *target = c->cfg.driver;
	char label[64];
	int r;

	evfio_dev_label(d, label, sizeof(label));
	if (strcmp(d->driver, target) && strcmp(d->override, target)) {
		ev_info(&c->log, "%s is not on %s (driver %s): nothing to release",
			label, target, d->driver[0] ? d->driver : "(none)");
		return 0;
	}
	if (c->dry_run) {
		ev_info(&c->log, "%s %s -> host driver [dry run]", label, target);
		return 0;
	}
	r = evfio_unbind_target(c, d);
	if (r) {
		ev_err(&c->log, "%s: release from %s: %s", label, target,
		       strerror(-r));
		return r;
	}
	ev_info(&c->log, "%s %s -> %s (released)", label, target,
		d->driver[0] ? d->driver : "(none)");
	return 0;
}

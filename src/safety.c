// SPDX-License-Identifier: MIT
/* Devices the target driver must not be given.  vfio-pci's probe refuses
 * bridges, SR-IOV PFs with VFs enabled and devices without an IOMMU group;
 * with driver_override set, such a device would end with no driver at all,
 * so we refuse first and say why. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "early-vfio.h"

bool evfio_is_bridge(const struct evfio_dev *d)
{
	uint32_t cls = d->id.class >> 8;

	/* host, ISA, PCI-to-PCI, CardBus... bridges; 0680 "other bridge"
	 * is how some endpoints describe themselves */
	return (cls >> 8) == 0x06 && cls != 0x0680;
}

const char *evfio_safety_refusal(const struct evfio_dev *d)
{
	if (d->refusal[0])
		return d->refusal;
	if (d->garbled)
		return "its sysfs attributes are unreadable or malformed";
	if (evfio_is_bridge(d))
		return "it is a bridge (class 06xx): bridges and root ports are "
		       "never bound";
	if (d->sriov_numvfs > 0)
		return "it is an SR-IOV physical function with virtual functions "
		       "enabled (vfio-pci refuses it; set sriov_numvfs to 0 or "
		       "select the VFs)";
	if (d->iommu_group < 0)
		return "it has no IOMMU group: the IOMMU is off or absent (add "
		       "intel_iommu=on to the kernel command line on Intel; AMD-Vi "
		       "is on by default; check with: dmesg | grep -e DMAR -e IOMMU)";
	return NULL;
}

bool evfio_iommu_present(const struct evfio_sysfs *fs)
{
	struct dirent *e;
	bool found = false;
	DIR *dir = evfio_sysfs_opendir(fs, "sys/kernel/iommu_groups");

	if (!dir)
		return false;
	while (!found && (e = readdir(dir)))
		found = e->d_name[0] != '.';
	closedir(dir);
	return found;
}

/* The kept devices by IOMMU group, so each device finds its group's
 * members without a walk over every device (hosts have thousands). */
struct member {
	int group;
	size_t i;
};

struct groups {
	struct member *m;
	size_t n;
};

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int groups_build(struct groups *g, const struct evfio_devlist *l)
{
	g->n = 0;
	g->m = malloc((l->n ? l->n : 1) * sizeof(*g->m));
	if (!g->m)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		if (l->devs[i].iommu_group >= 0)
			g->m[g->n++] = (struct member){ l->devs[i].iommu_group, i };
	if (g->n > 1)
		qsort(g->m, g->n, sizeof(*g->m), cmp_member);
	return 0;
}

/* The members of group: *count entries from the returned one. */
static const struct member *groups_find(const struct groups *g, int group,
					size_t *count)
{
	size_t lo = 0, hi = g->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->m[mid].group < group)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < g->n && g->m[end].group == group; end++)
		;
	*count = end - lo;
	return g->m + lo;
}

/* What a member of a selected device's IOMMU group means for the group.
 * Since Linux 5.19 VFIO claims DMA ownership of the whole group: any
 * member on a driver that uses the DMA API keeps it from a VM; a PCI
 * bridge (header type 1 or 2) on pcieport or on no driver does not.  The
 * class alone says nothing: an ISA/LPC bridge (0601) or a host bridge
 * with an EDAC driver is an endpoint (header type 0) the host needs. */
enum member_kind {
	MEMBER_BRIDGE,		/* a PCI bridge: the group stays usable */
	MEMBER_ENDPOINT,	/* a device that a section could take too */
	MEMBER_CHIPSET,		/* a chipset function: never taken, the group
				 * cannot be passed through as it stands */
};

static enum member_kind member_kind(const struct evfio_dev *o)
{
	if ((o->hdr_type == 1 || o->hdr_type == 2) &&
	    (!o->driver[0] || !strcmp(o->driver, "pcieport")))
		return MEMBER_BRIDGE;
	return evfio_is_bridge(o) ? MEMBER_CHIPSET : MEMBER_ENDPOINT;
}

/* The other members of d's IOMMU group that no section selects and that
 * keep the group from a VM; *chipset counts the ones that can never be
 * taken. */
static size_t group_strangers(const struct groups *g,
			      const struct evfio_devlist *l,
			      const struct evfio_dev *d, char *buf, size_t size,
			      size_t *chipset)
{
	const struct member *m;
	size_t count, n = 0, len = 0;

	buf[0] = '\0';
	*chipset = 0;
	if (d->iommu_group < 0)
		return 0;
	m = groups_find(g, d->iommu_group, &count);
	for (size_t k = 0; k < count; k++) {
		const struct evfio_dev *o = &l->devs[m[k].i];
		enum member_kind kind = member_kind(o);

		if (o == d || kind == MEMBER_BRIDGE ||
		    (o->section && kind == MEMBER_ENDPOINT))
			continue;
		n++;
		*chipset += kind == MEMBER_CHIPSET;
		if (len + 16 >= size)
			continue;
		if (kind == MEMBER_CHIPSET)
			len += (size_t)snprintf(buf + len, size - len, "%s%s (%s [%04x] on "
						"%s, a chipset function)", len ? ", " : "",
						o->bdf, o->class_name[0] ? o->class_name :
						"bridge", o->id.class >> 8,
						o->driver[0] ? o->driver : "no driver yet");
		else
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						len ? ", " : "", o->bdf);
	}
	return n;
}

static void protect_review(struct evfio_ctx *c, struct evfio_dev *d, int *errors,
			   bool final)
{
	const char *why = evfio_protect_why(&c->prot, d->bdf);

	if (!why)
		return;
	/* the opt-in covers what the section itself selects, not a device
	 * that only joined through its IOMMU group */
	if (d->section->allow_system && !d->via_group) {
		if (final)
			ev_warn(&c->log, "%s holds the running system (%s), taken anyway: "
			"[%s] sets allow-system-device = yes", d->bdf, why,
			d->section->name);
		return;
	}
	snprintf(d->refusal, sizeof(d->refusal),
		 "it holds the running system: %s; remove it from [%s] (or set "
		 "allow-system-device = yes there if the system really moves "
		 "elsewhere)", why, d->section->name);
	(*errors)++;
}

/* Without a record of what the system runs from (an image built in a
 * chroot for another machine, an initramfs without a record), a storage
 * controller could be the one that holds it: refused unless the section
 * says it surely is not. */
static void system_unknown_review(struct evfio_ctx *c, struct evfio_dev *d)
{
	if (c->prot.known || (d->id.class >> 16) != 0x01 ||
	    d->section->allow_unrecorded || d->section->allow_system)
		return;
	snprintf(d->refusal, sizeof(d->refusal),
		 "it is a storage controller, and which devices the system runs "
		 "from is not known (%.140s); rebuild the image on the machine itself, "
		 "or set allow-unrecorded = yes in [%s] if it surely holds nothing "
		 "the system needs", c->prot.unknown_why[0] ? c->prot.unknown_why :
		 "no record", d->section->name);
}

/* The section takes d by its serial or DSN: that is its identity. */
static bool unique_selector(const struct evfio_section *s)
{
	return s->n_serials || s->n_dsns;
}

/* bind: the device must be the one the image was built for. */
static void record_review(struct evfio_ctx *c, struct evfio_dev *d, bool final)
{
	const struct evfio_identity *e;
	struct evfio_identity cur;
	char was[200], now[200];
	const char *fix = "run 'early-vfio check', then rebuild the image "
			  "(update-initramfs -u -k all)";

	/* a device that joins through its IOMMU group is not the one the
	 * section's serial or DSN names: it must be the one recorded here */
	switch (evfio_record_match(&c->rec, d, unique_selector(d->section) && !d->via_group,
				   &e)) {
	case EVFIO_MATCH_UNREAD:
		if (final)
			snprintf(d->refusal, sizeof(d->refusal), "the image was built "
				 "for the drive with serial %s here, and this one's "
				 "serial could not be read to make sure; %s", e->serial,
				 fix);
		return;
	case EVFIO_MATCH_PROTECTED:
		snprintf(d->refusal, sizeof(d->refusal), "it is %s, which held the "
			 "system when the image was built (%.150s), now at another "
			 "address; %s", e->bdf, e->note, fix);
		return;
	case EVFIO_MATCH_CHANGED:
		evfio_identity_text(e, was, sizeof(was));
		evfio_identity_of(d, &cur);
		evfio_identity_text(&cur, now, sizeof(now));
		snprintf(d->refusal, sizeof(d->refusal), "it is not the device this "
			 "image was built for: recorded %.150s, found %.150s (the hardware "
			 "changed); %s", was, now, fix);
		return;
	case EVFIO_MATCH_NEW:
		snprintf(d->refusal, sizeof(d->refusal), "it was not selected when "
			 "this image was built (a card added or moved since?); %s", fix);
		return;
	default:
		return;
	}
}

bool evfio_needs_identity(const struct evfio_ctx *c, const struct evfio_dev *d)
{
	const struct evfio_identity *e;

	if (!d->section || d->id.nvme_known || !evfio_is_nvme(&d->id))
		return false;
	if (evfio_section_needs_nvme_id(d->section, &d->id))
		return true;
	/* recorded with its serial: read it before binding, to make sure */
	e = c->enforce_record ? evfio_record_at(&c->rec, d->bdf, true) : NULL;
	return e && e->serial[0];
}

static bool candidate(const struct evfio_ctx *c, const struct evfio_dev *d)
{
	return evfio_needs_identity(c, d);
}

int evfio_safety_review(struct evfio_ctx *c, struct evfio_devlist *l, bool final)
{
	const struct member *m;
	struct groups g;
	char others[400];
	int errors = 0;
	size_t n = l->n, count, chipset;

	/* a verdict of an earlier review is reconsidered from scratch */
	for (size_t i = 0; i < n; i++) {
		if (l->devs[i].via_group) {
			l->devs[i].section = NULL;
			l->devs[i].via_group = false;
		}
		l->devs[i].refusal[0] = '\0';
	}

	if (groups_build(&g, l) < 0) {
		/* cannot judge groups: refuse rather than guess */
		for (size_t i = 0; i < n; i++)
			if (l->devs[i].section)
				snprintf(l->devs[i].refusal, sizeof(l->devs[i].refusal),
					 "out of memory while checking its IOMMU group");
		return 0;
	}
	/* whole groups first, so the added devices get the same review */
	if (c->cfg.group == EVFIO_GROUP_WHOLE) {
		for (size_t i = 0; i < n; i++) {
			struct evfio_dev *d = &l->devs[i];

			if (!d->section || d->via_group || d->iommu_group < 0 ||
			    candidate(c, d))
				continue;
			m = groups_find(&g, d->iommu_group, &count);
			for (size_t k = 0; k < count; k++) {
				struct evfio_dev *o = &l->devs[m[k].i];

				if (o->section || member_kind(o) != MEMBER_ENDPOINT)
					continue;
				o->section = d->section;
				o->via_group = true;
				if (final)
					ev_info(&c->log, "%s joins %s: same IOMMU group %d "
					"(iommu-group = whole)", o->bdf, d->bdf,
					d->iommu_group);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct evfio_dev *d = &l->devs[i];

		if (!d->section)
			continue;
		protect_review(c, d, &errors, final);
		if (!d->refusal[0])
			system_unknown_review(c, d);
		if (!d->refusal[0] && c->enforce_record)
			record_review(c, d, final);
		if (d->refusal[0] ||
		    !group_strangers(&g, l, d, others, sizeof(others), &chipset))
			continue;
		if (chipset && c->cfg.group != EVFIO_GROUP_WARN) {
			snprintf(d->refusal, sizeof(d->refusal),
				 "IOMMU group %d also holds %.300s: this group cannot be "
				 "passed through as it stands (a chipset function is "
				 "never taken; another slot, or the firmware's ACS "
				 "setting, may split the group)", d->iommu_group, others);
			continue;
		}
		if (c->cfg.group == EVFIO_GROUP_REFUSE) {
			snprintf(d->refusal, sizeof(d->refusal),
				 "IOMMU group %d also holds %s, which no section "
				 "selects (iommu-group = refuse)", d->iommu_group,
				 others);
			continue;
		}
		if (final && chipset)
			ev_warn(&c->log, "%s: IOMMU group %d also holds %s: this group "
				"cannot be passed through to a VM as it stands (a chipset "
				"function is never taken; another slot, or the firmware's "
				"ACS setting, may split the group)", d->bdf,
				d->iommu_group, others);
		else if (final)
			ev_warn(&c->log, "%s: IOMMU group %d also holds %s: a VM can "
				"only use the whole group; select them too, or set "
				"iommu-group = whole or refuse in [options]", d->bdf,
				d->iommu_group, others);
	}
	/* a group is taken whole or not at all: one refusal spoils it */
	if (c->cfg.group == EVFIO_GROUP_WHOLE) {
		for (size_t i = 0; i < n; i++) {
			struct evfio_dev *d = &l->devs[i];

			if (!d->section || !evfio_safety_refusal(d) ||
			    d->iommu_group < 0)
				continue;
			m = groups_find(&g, d->iommu_group, &count);
			for (size_t k = 0; k < count; k++) {
				struct evfio_dev *o = &l->devs[m[k].i];

				if (o != d && o->section && !o->refusal[0])
					snprintf(o->refusal, sizeof(o->refusal),
						 "IOMMU group %d is taken whole, "
						 "and %s in it cannot be taken",
						 d->iommu_group, d->bdf);
			}
		}
	}
	free(g.m);
	return errors;
}

enum evfio_member evfio_group_member(const struct evfio_dev *o)
{
	switch (member_kind(o)) {
	case MEMBER_BRIDGE:
		return EVFIO_MEMBER_BRIDGE;
	case MEMBER_CHIPSET:
		return EVFIO_MEMBER_CHIPSET;
	default:
		return EVFIO_MEMBER_ENDPOINT;
	}
}

/* A PCI function behind an Intel VMD controller: its domain (10000 and
 * up) has more than 4 hex digits; *vmd gets the controller's address. */
static bool behind_vmd(const struct evfio_sysfs *fs, const char *name,
		       char vmd[EVFIO_BDF_LEN])
{
	char path[128], target[512];
	const char *p;

	if (strcspn(name, ":") <= 4 || strspn(name, "0123456789abcdef") != strcspn(name, ":"))
		return false;
	vmd[0] = '\0';
	snprintf(path, sizeof(path), "sys/bus/pci/devices/%.63s", name);
	if (evfio_sysfs_readlink(fs, path, target, sizeof(target)) < 0)
		return true;
	/* ../../../devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/... */
	for (p = target; *p; p += strcspn(p, "/"), p += *p == '/') {
		size_t n = strcspn(p, "/");

		if (n == 12 && p[4] == ':' && p[7] == ':' && p[10] == '.')
			snprintf(vmd, EVFIO_BDF_LEN, "%.12s", p);
	}
	return true;
}

static uint32_t hex_attr(const struct evfio_sysfs *fs, const char *name, const char *attr)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%.63s/%s", name, attr);
	if (evfio_sysfs_read(fs, path, buf, sizeof(buf)) < 0)
		return 0;
	return (uint32_t)strtoul(buf, NULL, 16);
}

int evfio_vmd_review(const struct evfio_sysfs *fs, struct evfio_log *log,
		     const struct evfio_config *cfg)
{
	struct dirent *e;
	DIR *d = evfio_sysfs_opendir(fs, "sys/bus/pci/devices");
	int n = 0;

	while (d && (e = readdir(d))) {
		const struct evfio_section *s;
		struct evfio_ident id = { 0 };
		char vmd[EVFIO_BDF_LEN];
		unsigned int dom, bus, slot, func;

		if (e->d_name[0] == '.' || !behind_vmd(fs, e->d_name, vmd) ||
		    sscanf(e->d_name, "%x:%x:%x.%u", &dom, &bus, &slot, &func) != 4)
			continue;
		id.domain = dom;
		id.bus = bus;
		id.slot = slot;
		id.func = func;
		id.vendor = (uint16_t)hex_attr(fs, e->d_name, "vendor");
		id.device = (uint16_t)hex_attr(fs, e->d_name, "device");
		id.subvendor = (uint16_t)hex_attr(fs, e->d_name, "subsystem_vendor");
		id.subdevice = (uint16_t)hex_attr(fs, e->d_name, "subsystem_device");
		id.class = hex_attr(fs, e->d_name, "class");
		s = evfio_config_match(cfg, &id);
		if (!s)
			continue;
		ev_warn(log, "%s [%04x:%04x]: [%s] selects it, and it will not be bound: it "
			"is behind the Intel VMD controller %s, which does its DMA (it "
			"has no IOMMU group of its own), so it is never taken one by one; "
			"pass the whole VMD controller through (address = %s), or turn "
			"VMD off in the firmware (the drives then appear as ordinary "
			"NVMe devices)", e->d_name, id.vendor, id.device, s->name,
			vmd[0] ? vmd : "(not found)", vmd[0] ? vmd : "...");
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

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

/* The other endpoints of d's IOMMU group that no section selects. */
static size_t group_strangers(const struct groups *g,
			      const struct evfio_devlist *l,
			      const struct evfio_dev *d, char *buf, size_t size)
{
	const struct member *m;
	size_t count, n = 0, len = 0;

	buf[0] = '\0';
	if (d->iommu_group < 0)
		return 0;
	m = groups_find(g, d->iommu_group, &count);
	for (size_t k = 0; k < count; k++) {
		const struct evfio_dev *o = &l->devs[m[k].i];

		if (o == d || o->section || evfio_is_bridge(o))
			continue;
		n++;
		if (len + 16 < size)
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

/* A candidate: selected if its serial (not read yet) matches. */
static bool candidate(const struct evfio_dev *d)
{
	return d->section && evfio_section_needs_nvme_id(d->section, &d->id);
}

int evfio_safety_review(struct evfio_ctx *c, struct evfio_devlist *l, bool final)
{
	const struct member *m;
	struct groups g;
	char others[160];
	int errors = 0;
	size_t n = l->n, count;

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
			    candidate(d))
				continue;
			m = groups_find(&g, d->iommu_group, &count);
			for (size_t k = 0; k < count; k++) {
				struct evfio_dev *o = &l->devs[m[k].i];

				if (o->section || evfio_is_bridge(o))
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
		if (d->refusal[0] ||
		    !group_strangers(&g, l, d, others, sizeof(others)))
			continue;
		if (c->cfg.group == EVFIO_GROUP_REFUSE) {
			snprintf(d->refusal, sizeof(d->refusal),
				 "IOMMU group %d also holds %s, which no section "
				 "selects (iommu-group = refuse)", d->iommu_group,
				 others);
			continue;
		}
		if (final)
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

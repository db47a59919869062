// SPDX-License-Identifier: MIT
/* "list": what can be given to a VM, by IOMMU group, in lspci's words.
 * For each device: its driver, the disks and network interfaces behind it
 * (inventory.c), NVMe serial and model, the section that selects it, and
 * whether the system needs it (protect.c, as check sees it).  For each
 * group a verdict: a VM can only have a group whole, so a group can be
 * passed through when every member can leave the host; otherwise the
 * members that keep it, and what the admin can do.  Reads only. */
#include <stdlib.h>
#include <string.h>

#include "early-vfio.h"

/* What one member means for its group: the review's rule (safety.c),
 * and before it what list knows more of. */
enum member {
	M_ENDPOINT,	/* goes to the VM with the group */
	M_BRIDGE,	/* a PCI bridge on pcieport or no driver: VFIO does not
			 * count it */
	M_CHIPSET,	/* a chipset function (bridge class on a host driver, an
			 * LPC or host bridge): the host keeps it, and the group */
	M_SYSTEM,	/* holds the running system */
	M_REFUSED,	/* vfio-pci would refuse it (SR-IOV PF with VFs...) */
};

static enum member member_kind(const struct evfio_ctx *c, const struct evfio_dev *d)
{
	if (evfio_protect_why(&c->prot, d->bdf))
		return M_SYSTEM;
	switch (evfio_group_member(d)) {
	case EVFIO_MEMBER_BRIDGE:
		return M_BRIDGE;
	case EVFIO_MEMBER_CHIPSET:
		return M_CHIPSET;
	default:
		break;
	}
	if (d->garbled || d->sriov_numvfs > 0)
		return M_REFUSED;
	return M_ENDPOINT;
}

/* Worth showing without -a: storage, network, display, USB controllers,
 * and whatever a section selects or the target driver holds. */
static bool interesting(const struct evfio_ctx *c, const struct evfio_dev *d)
{
	unsigned int base = d->id.class >> 16, cls = d->id.class >> 8;
	size_t it = 0;

	if (c->pve && evfio_pve_next_use(c->pve, d, &it))
		return true;	/* a VM's device */
	return base == 0x01 || base == 0x02 || base == 0x03 || cls == 0x0c03 ||
	       d->section || !strcmp(d->driver, c->cfg.driver);
}

/* "32 MiB", "1.5 GiB", as lsblk rounds */
static void human(uint64_t bytes, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v - (double)(uint64_t)v < 0.05 || v - (double)(uint64_t)v >= 0.95)
		snprintf(buf, size, "%.0f %s", v, unit[u]);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
}

/* The members of each group, in address order; the devices without a
 * group last. */
struct grouping {
	size_t *order;		/* indices into l */
	size_t n;
};

static const struct evfio_devlist *sort_list;

static int cmp_order(const void *a, const void *b)
{
	const struct evfio_dev *x = &sort_list->devs[*(const size_t *)a];
	const struct evfio_dev *y = &sort_list->devs[*(const size_t *)b];
	unsigned int gx = (unsigned int)x->iommu_group, gy = (unsigned int)y->iommu_group;

	/* -1 becomes the largest: no group, last */
	if (gx != gy)
		return gx < gy ? -1 : 1;
	return strcmp(x->bdf, y->bdf);
}

static int grouping_build(struct grouping *g, const struct evfio_devlist *l)
{
	g->n = l->n;
	g->order = malloc((l->n ? l->n : 1) * sizeof(*g->order));
	if (!g->order)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		g->order[i] = i;
	sort_list = l;
	qsort(g->order, g->n, sizeof(*g->order), cmp_order);
	return 0;
}

/* One group: order[from, to). */
struct group {
	int id;
	size_t from, to;
	size_t n_endpoints, n_blockers, n_selected;
	bool shown;
};

static void group_judge(const struct evfio_ctx *c, const struct evfio_devlist *l,
			const struct grouping *g, struct group *gr, bool all)
{
	gr->n_endpoints = gr->n_blockers = gr->n_selected = 0;
	gr->shown = all;
	for (size_t k = gr->from; k < gr->to; k++) {
		const struct evfio_dev *d = &l->devs[g->order[k]];
		enum member m = member_kind(c, d);

		gr->n_endpoints += m == M_ENDPOINT;
		gr->n_blockers += m == M_SYSTEM || m == M_CHIPSET || m == M_REFUSED;
		gr->n_selected += d->section != NULL;
		gr->shown |= interesting(c, d);
	}
}

static const char *verdict_key(const struct group *gr)
{
	if (gr->id < 0)
		return "no-iommu-group";
	if (gr->n_blockers)
		return "blocked";
	if (!gr->n_endpoints)
		return "bridges-only";
	return "whole";
}

static const char *verdict_text(const struct group *gr)
{
	if (gr->n_blockers)
		return "cannot be passed through as it stands";
	if (!gr->n_endpoints)
		return "bridges only, nothing to pass through";
	return "can be passed through whole";
}

const char *evfio_group_blocker(const struct evfio_ctx *c, const struct evfio_dev *d,
				char *buf, size_t size)
{
	switch (member_kind(c, d)) {
	case M_SYSTEM:
		snprintf(buf, size, "it holds the running system (%s): it stays with "
			 "the host, and so does its group", evfio_protect_why(&c->prot, d->bdf));
		return buf;
	case M_CHIPSET:
		snprintf(buf, size, "it is a chipset function (%s [%04x], on %s): the "
			 "host keeps it, so no VM can have this group; a card in another "
			 "slot (one wired to the CPU), or the firmware's ACS setting, may "
			 "give it a group of its own", d->class_name[0] ? d->class_name :
			 "bridge", d->id.class >> 8, d->driver[0] ? d->driver : "no driver yet");
		return buf;
	case M_REFUSED:
		snprintf(buf, size, "%s", evfio_safety_refusal(d) ? evfio_safety_refusal(d) :
			 "vfio-pci cannot take it");
		return buf;
	default:
		return NULL;
	}
}

static void print_disks(FILE *f, const struct evfio_inventory *inv, const char *bdf)
{
	char size[32];

	for (size_t i = 0; i < inv->n_disks; i++) {
		const struct evfio_disk *k = &inv->disks[i];

		if (strcmp(k->bdf, bdf))
			continue;
		human(k->bytes, size, sizeof(size));
		fprintf(f, "\tdisk: %s, %s", k->name, size);
		if (k->model[0])
			fprintf(f, ", %s", k->model);
		if (k->serial[0])
			fprintf(f, ", serial %s", k->serial);
		if (k->mounts[0]) {
			fputs("; mounted: ", f);
			for (const char *p = k->mounts; *p;) {
				size_t n = strcspn(p, "\n");

				fprintf(f, "%.*s%s", (int)n, p, p[n] ? ", " : "");
				p += n + (p[n] == '\n');
			}
		}
		fputc('\n', f);
	}
}

static void print_device(FILE *f, const struct evfio_ctx *c, const struct evfio_dev *d,
			 const struct evfio_inventory *inv, bool domain, bool grouped)
{
	char line[320], why[400], sriov[1200];
	bool first = true;

	evfio_dev_lspci(d, domain, line, sizeof(line));
	fprintf(f, "  %s\n", line);
	fprintf(f, "\tdriver: %s\n", d->driver[0] ? d->driver : "(none)");
	if (evfio_sriov_text(c, d, sriov, sizeof(sriov)))
		fprintf(f, "\tSR-IOV: %s\n", sriov);
	if (d->id.nvme_known)
		fprintf(f, "\tNVMe: serial %s, model %s\n", d->id.serial, d->id.model);
	print_disks(f, inv, d->bdf);
	for (size_t i = 0; i < inv->n_nets; i++) {
		if (strcmp(inv->nets[i].bdf, d->bdf))
			continue;
		fprintf(f, "%s%s", first ? "\tnetwork interfaces: " : ", ", inv->nets[i].name);
		first = false;
	}
	if (!first)
		fputc('\n', f);
	if (d->section)
		fprintf(f, "\tselected by: [%s]%s\n", d->section->name,
			d->via_group ? " (the rest of its IOMMU group)" : "");
	if (c->pve) {
		const struct evfio_pve_use *u;
		size_t it = 0;

		while ((u = evfio_pve_next_use(c->pve, d, &it))) {
			evfio_pve_use_text(u, why, sizeof(why));
			fprintf(f, "\tpassed through to: %s\n", why);
		}
	}
	if (!grouped && evfio_protect_why(&c->prot, d->bdf))
		fprintf(f, "\tholds the running system: %s\n", evfio_protect_why(&c->prot, d->bdf));
	else if (grouped && evfio_group_blocker(c, d, why, sizeof(why)))
		fprintf(f, "\tkeeps the group from a VM: %s\n", why);
}

static bool any_domain(const struct evfio_devlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->devs[i].bdf, "0000:", 5))
			return true;
	return false;
}

static void print_options(FILE *f, const struct evfio_ctx *c, const struct evfio_devlist *l,
			  const struct grouping *g, const struct group *gr, bool domain)
{
	char slot[EVFIO_BDF_LEN];

	if (gr->id < 0 || gr->n_blockers || !gr->n_endpoints)
		return;
	if (gr->n_selected >= gr->n_endpoints) {
		fputs("  selected: at boot the whole group goes to ", f);
		fprintf(f, "%s\n", c->cfg.driver);
		return;
	}
	fputs("  to pass it through: early-vfio add", f);
	for (size_t k = gr->from; k < gr->to; k++) {
		const struct evfio_dev *d = &l->devs[g->order[k]];

		if (member_kind(c, d) != M_ENDPOINT || d->section)
			continue;
		evfio_dev_slot(d, domain, slot, sizeof(slot));
		fprintf(f, " %s", slot);
	}
	fputs(gr->n_endpoints > 1 ? " (a VM gets all of them or none)\n" : "\n", f);
}

static void print_text(FILE *f, struct evfio_ctx *c, const struct evfio_devlist *l,
		       const struct grouping *g, struct group *groups, size_t n_groups,
		       const struct evfio_inventory *inv, bool all)
{
	bool domain = any_domain(l), iommu = evfio_iommu_present(&c->fs);
	size_t shown = 0;

	if (!iommu)
		fputs("No IOMMU groups: the IOMMU is off or absent, so nothing can be "
		      "passed through yet\n(early-vfio apply says how to turn it on).\n", f);
	for (size_t i = 0; i < n_groups; i++) {
		struct group *gr = &groups[i];

		if (!gr->shown)
			continue;
		fputc('\n', f);
		if (gr->id >= 0)
			fprintf(f, "IOMMU group %d: %s\n", gr->id, verdict_text(gr));
		else
			fputs(iommu ? "No IOMMU group (vfio-pci cannot take these):\n" :
				      "Devices:\n", f);
		for (size_t k = gr->from; k < gr->to; k++) {
			const struct evfio_dev *d = &l->devs[g->order[k]];

			if (gr->id < 0 && !all && !interesting(c, d))
				continue;
			print_device(f, c, d, inv, domain, gr->id >= 0);
			shown++;
		}
		print_options(f, c, l, g, gr, domain);
	}
	if (!shown)
		fputs("No storage, network, display or USB controller found "
		      "(-a lists every PCI device).\n", f);
}

static void json_disks(FILE *f, const struct evfio_inventory *inv, const char *bdf)
{
	bool first = true;

	fputs("\"disks\": [", f);
	for (size_t i = 0; i < inv->n_disks; i++) {
		const struct evfio_disk *k = &inv->disks[i];
		bool m1 = true;

		if (strcmp(k->bdf, bdf))
			continue;
		fprintf(f, "%s{\"name\": ", first ? "" : ", ");
		first = false;
		evfio_json_str(f, k->name);
		fprintf(f, ", \"bytes\": %llu, \"model\": ", (unsigned long long)k->bytes);
		evfio_json_str(f, k->model);
		fputs(", \"serial\": ", f);
		evfio_json_str(f, k->serial);
		fputs(", \"mounts\": [", f);
		for (const char *p = k->mounts; *p;) {
			size_t n = strcspn(p, "\n");
			char one[320];

			snprintf(one, sizeof(one), "%.*s", (int)n, p);
			fputs(m1 ? "" : ", ", f);
			m1 = false;
			evfio_json_str(f, one);
			p += n + (p[n] == '\n');
		}
		fputs("]}", f);
	}
	fputc(']', f);
}

static void json_device(FILE *f, const struct evfio_ctx *c, const struct evfio_dev *d,
			const struct evfio_inventory *inv, bool domain)
{
	char line[320], why[400], slot[EVFIO_BDF_LEN], dsn[24];
	bool first = true;

	evfio_dev_lspci(d, domain, line, sizeof(line));
	evfio_dev_slot(d, domain, slot, sizeof(slot));
	fprintf(f, "{\"address\": \"%s\", \"slot\": \"%s\", \"lspci\": ", d->bdf, slot);
	evfio_json_str(f, line);
	fprintf(f, ", \"vendor\": \"%04x\", \"device\": \"%04x\", \"class\": \"%06x\", "
		"\"class_name\": ", d->id.vendor, d->id.device, d->id.class);
	evfio_json_str(f, d->class_name);
	fputs(", \"name\": ", f);
	evfio_json_str(f, d->dev_name);
	fputs(", \"driver\": ", f);
	evfio_json_str(f, d->driver);
	fputs(", \"serial\": ", f);
	evfio_json_str(f, d->id.nvme_known ? d->id.serial : NULL);
	fputs(", \"model\": ", f);
	evfio_json_str(f, d->id.nvme_known ? d->id.model : NULL);
	if (d->id.has_dsn)
		evfio_dsn_format(d->id.dsn, dsn);
	fputs(", \"dsn\": ", f);
	evfio_json_str(f, d->id.has_dsn ? dsn : NULL);
	fputs(", ", f);
	json_disks(f, inv, d->bdf);
	fputs(", \"interfaces\": [", f);
	for (size_t i = 0; i < inv->n_nets; i++) {
		if (strcmp(inv->nets[i].bdf, d->bdf))
			continue;
		fputs(first ? "" : ", ", f);
		first = false;
		evfio_json_str(f, inv->nets[i].name);
	}
	fputs("], \"section\": ", f);
	evfio_json_str(f, d->section ? d->section->name : NULL);
	fputs(", \"vms\": [", f);
	if (c->pve) {
		const struct evfio_pve_use *u;
		size_t it = 0;

		for (first = true; (u = evfio_pve_next_use(c->pve, d, &it)); first = false) {
			fprintf(f, "%s{\"vmid\": %u, \"hostpci\": %u, \"mapping\": ",
				first ? "" : ", ", u->vmid, u->slot);
			evfio_json_str(f, u->mapping);
			fprintf(f, ", \"onboot\": %s, \"mdev\": %s}", u->onboot ? "true" :
				"false", u->mdev ? "true" : "false");
		}
	}
	fputc(']', f);
	fputs(", \"protected\": ", f);
	evfio_json_str(f, evfio_protect_why(&c->prot, d->bdf));
	fputs(", \"keeps_group\": ", f);
	evfio_json_str(f, evfio_group_blocker(c, d, why, sizeof(why)));
	fprintf(f, ", \"bridge\": %s}", evfio_is_bridge(d) ? "true" : "false");
}

static void print_json(FILE *f, struct evfio_ctx *c, const struct evfio_devlist *l,
		       const struct grouping *g, struct group *groups, size_t n_groups,
		       const struct evfio_inventory *inv, bool all)
{
	bool domain = any_domain(l), first_group = true;

	fputs("{\n  \"config\": ", f);
	evfio_json_str(f, c->cfg.path);
	fputs(",\n  \"driver\": ", f);
	evfio_json_str(f, c->cfg.driver);
	fprintf(f, ",\n  \"iommu\": %s,\n  \"groups\": [",
		evfio_iommu_present(&c->fs) ? "true" : "false");
	for (size_t i = 0; i < n_groups; i++) {
		struct group *gr = &groups[i];
		bool first = true;
		char why[400];

		if (!gr->shown)
			continue;
		fprintf(f, "%s\n    {\"group\": ", first_group ? "" : ",");
		first_group = false;
		if (gr->id >= 0)
			fprintf(f, "%d", gr->id);
		else
			fputs("null", f);
		fprintf(f, ", \"verdict\": \"%s\", \"kept_by\": [", verdict_key(gr));
		for (size_t k = gr->from; k < gr->to && gr->id >= 0; k++) {
			const struct evfio_dev *d = &l->devs[g->order[k]];

			if (!evfio_group_blocker(c, d, why, sizeof(why)))
				continue;
			fprintf(f, "%s\"%s\"", first ? "" : ", ", d->bdf);
			first = false;
		}
		fputs("], \"devices\": [", f);
		first = true;
		for (size_t k = gr->from; k < gr->to; k++) {
			const struct evfio_dev *d = &l->devs[g->order[k]];

			if (gr->id < 0 && !all && !interesting(c, d))
				continue;
			fputs(first ? "\n      " : ",\n      ", f);
			first = false;
			json_device(f, c, d, inv, domain);
		}
		fputs(first ? "]}" : "\n    ]}", f);
	}
	fputs(first_group ? "]\n}\n" : "\n  ]\n}\n", f);
}

int evfio_cmd_list(struct evfio_ctx *c, struct evfio_opts *o)
{
	struct evfio_inventory inv;
	struct evfio_pve pve;
	struct evfio_devlist l;
	struct grouping g;
	struct group *groups;
	size_t n_groups = 0;
	bool missing;
	int r;

	r = evfio_cmd_survey(c, o, &l, &missing, false);
	if (r)
		return r;
	if (evfio_inventory_scan(&c->fs, &c->log, &l, &inv) < 0 || grouping_build(&g, &l) < 0) {
		ev_err(&c->log, "out of memory");
		evfio_devlist_free(&l);
		return EVFIO_EXIT_FAILURE;
	}
	r = evfio_pve_load(&c->fs, &c->log, &pve);
	if (r < 0)
		ev_warn(&c->log, "/etc/pve: cannot read the VMs' configs: %s", strerror(-r));
	else if (pve.present)
		c->pve = &pve;
	r = EVFIO_EXIT_OK;
	groups = calloc(l.n ? l.n : 1, sizeof(*groups));
	if (!groups) {
		ev_err(&c->log, "out of memory");
		r = EVFIO_EXIT_FAILURE;
		goto out;
	}
	for (size_t k = 0; k < g.n;) {
		struct group *gr = &groups[n_groups++];
		int id = l.devs[g.order[k]].iommu_group;

		gr->id = id < 0 ? -1 : id;
		gr->from = k;
		while (k < g.n && l.devs[g.order[k]].iommu_group == id)
			k++;
		gr->to = k;
		group_judge(c, &l, &g, gr, o->all);
	}
	if (o->json)
		print_json(stdout, c, &l, &g, groups, n_groups, &inv, o->all);
	else
		print_text(stdout, c, &l, &g, groups, n_groups, &inv, o->all);
	free(groups);
out:
	if (c->pve)
		evfio_pve_free(&pve);
	c->pve = NULL;
	free(g.order);
	evfio_inventory_free(&inv);
	evfio_devlist_free(&l);
	return r;
}

// SPDX-License-Identifier: MIT
/* "add DEVICE..." and "remove SECTION|DEVICE...": the config edited for
 * the admin, who names a device the way they know it (a PCI address, the
 * disk /dev/nvme1n1, the interface enp5s0) and gets the most stable
 * selector that device allows:
 *   an NVMe drive by its serial number, with its vendor:device as a guard
 *     (only controllers of that model are read at boot to find it);
 *   a device with a PCIe Device Serial Number by it (with the same guard);
 *   anything else by address, with its vendor:device as a guard (a card
 *     moved to another slot is then not replaced by whatever sits there).
 * Every function of a card goes together (a GPU and its audio).
 *
 * What the new config would take is reviewed exactly as check reviews it
 * (safety.c's review, protect.c's list): a device the system needs is
 * refused, exit 2, and the file is not touched.  The edit keeps every other
 * byte (confedit.c) and replaces the file atomically under a lock, so
 * concurrent adds take turns. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "early-vfio.h"

#define LOCK_WAIT_S 60
#define SECTION_NAME_MAX 48	/* as config.c: inih keeps 49 characters */
#define COMMENT_MAX 150		/* comment lines, well under EVFIO_LINE_MAX */

/* One section to write: one device, or the functions of one card. */
struct unit {
	size_t idx[8];
	size_t n;
	bool card;		/* more functions than the one named */
	const char *arg;	/* the argument it came from */
	char what[160];		/* "disk nvme1n1" */
	char name[EVFIO_NAME_MAX];
	char keys[600];		/* "serial = ...\nids = ...\n" */
	char how[300];		/* why this selector, for the admin */
};

struct edit {
	struct evfio_ctx *c;
	struct evfio_opts *o;
	struct evfio_devlist l;
	struct unit *units;
	size_t n_units;
	char names[2048];	/* names given so far, "\n"-separated */
	char vm_args[32][96];	/* add --vm: "VM 100 hostpci0", what each unit came from */
};

static void slot_of(const struct evfio_dev *d, char *buf, size_t size)
{
	snprintf(buf, size, "%.10s", d->bdf);	/* "0000:03:00" */
}

/* The functions of d's card, d first; just d when it is not on a card. */
static size_t card_functions(struct edit *e, size_t i, size_t *idx, size_t max)
{
	const struct evfio_dev *d = &e->l.devs[i];
	char slot[16], other[16];
	size_t n = 0;

	idx[n++] = i;
	if (!evfio_dev_on_card(&e->c->fs, d))
		return n;
	slot_of(d, slot, sizeof(slot));
	for (size_t k = 0; k < e->l.n && n < max; k++) {
		const struct evfio_dev *o = &e->l.devs[k];

		slot_of(o, other, sizeof(other));
		if (k != i && !strcmp(slot, other) && !evfio_is_bridge(o))
			idx[n++] = k;
	}
	return n;
}

static int cmp_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;	/* l is in address order */
}

static bool in_units(const struct edit *e, size_t i)
{
	for (size_t u = 0; u < e->n_units; u++)
		for (size_t k = 0; k < e->units[u].n; k++)
			if (e->units[u].idx[k] == i)
				return true;
	return false;
}

/* The argument's devices, as units (a card's functions together). */
static int add_units(struct edit *e, const char *arg, const struct evfio_target *t)
{
	for (size_t k = 0; k < t->n; k++) {
		struct unit *u, *v;

		if (in_units(e, t->idx[k]))
			continue;	/* named twice, or a function of a card already in */
		v = realloc(e->units, (e->n_units + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->units = v;
		u = &v[e->n_units++];
		memset(u, 0, sizeof(*u));
		u->arg = arg;
		snprintf(u->what, sizeof(u->what), "%s", t->what);
		if (t->kind == EVFIO_ARG_NETIF) {
			/* one port of a card with several: that function only */
			u->idx[u->n++] = t->idx[k];
			continue;
		}
		u->n = card_functions(e, t->idx[k], u->idx, 8);
		u->card = u->n > 1;
		/* in address order: function 0 names the card */
		qsort(u->idx, u->n, sizeof(*u->idx), cmp_index);
	}
	return 0;
}

/* ---- the selector ----------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* "ids = 1b36:0010" with each vendor:device once */
static void ids_line(const struct edit *e, const struct unit *u, char *buf, size_t size)
{
	char id[16];

	append(buf, size, "%s", "ids =");
	for (size_t k = 0; k < u->n; k++) {
		const struct evfio_dev *d = &e->l.devs[u->idx[k]];

		snprintf(id, sizeof(id), " %04x:%04x", d->id.vendor, d->id.device);
		if (!strstr(buf, id))
			append(buf, size, "%s", id);
	}
	append(buf, size, "%s", "\n");
}

static bool unit_has(const struct unit *u, size_t i)
{
	for (size_t k = 0; k < u->n; k++)
		if (u->idx[k] == i)
			return true;
	return false;
}

/* Every function an NVMe controller with one serial, known, that no other
 * controller here has; returns it or NULL (why in *why). */
static const char *unit_serial(const struct edit *e, const struct unit *u, char *why,
			       size_t size)
{
	const struct evfio_dev *d0 = &e->l.devs[u->idx[0]];
	char parsed[EVFIO_SERIAL_MAX + 1];

	for (size_t k = 0; k < u->n; k++) {
		const struct evfio_dev *d = &e->l.devs[u->idx[k]];

		if (!evfio_is_nvme(&d->id))
			return NULL;
		if (!d->id.nvme_known) {
			snprintf(why, size, "its NVMe serial cannot be read now (%.150s)",
				 d->id_error[0] ? d->id_error : "no driver holds it");
			return NULL;
		}
		if (strcmp(d->id.serial, d0->id.serial))
			return NULL;
	}
	if (evfio_serial_parse(d0->id.serial, parsed, EVFIO_SERIAL_MAX)) {
		snprintf(why, size, "its NVMe serial '%s' cannot be written in the config",
			 d0->id.serial);
		return NULL;
	}
	/* the config has no quoting: a blank or a comma splits the value into
	 * two serials ("AB CD" would select a drive "AB"), and a value that
	 * starts with '#' or ';' is a comment */
	if (strpbrk(d0->id.serial, " \t,") || strchr("#;", d0->id.serial[0])) {
		snprintf(why, size, "its NVMe serial '%s' holds a %s, which the config "
			 "cannot quote", d0->id.serial,
			 strpbrk(d0->id.serial, " \t") ? "blank" :
			 strchr(d0->id.serial, ',') ? "comma" : "leading '#' or ';'");
		return NULL;
	}
	for (size_t i = 0; i < e->l.n; i++)
		if (!unit_has(u, i) && e->l.devs[i].id.nvme_known &&
		    !strcmp(e->l.devs[i].id.serial, d0->id.serial)) {
			snprintf(why, size, "another NVMe controller here, %s, reports the "
				 "same serial %s", e->l.devs[i].bdf, d0->id.serial);
			return NULL;
		}
	return d0->id.serial;
}

/* Every function has a DSN that no other device here has (firmware that
 * writes zeros, or one number for every unit, is not a serial). */
static bool unit_dsn(const struct edit *e, const struct unit *u, char *why, size_t size)
{
	for (size_t k = 0; k < u->n; k++) {
		const struct evfio_dev *d = &e->l.devs[u->idx[k]];

		if (!d->id.has_dsn)
			return false;
		if (!d->id.dsn || d->id.dsn == UINT64_MAX) {
			snprintf(why, size, "its Device Serial Number is blank");
			return false;
		}
		for (size_t i = 0; i < e->l.n; i++)
			if (!unit_has(u, i) && e->l.devs[i].id.has_dsn &&
			    e->l.devs[i].id.dsn == d->id.dsn) {
				snprintf(why, size, "%s has the same Device Serial Number",
					 e->l.devs[i].bdf);
				return false;
			}
	}
	return true;
}

static void choose_selector(struct edit *e, struct unit *u)
{
	char why[200] = "", dsn[24];
	const char *serial = unit_serial(e, u, why, sizeof(why));

	u->keys[0] = '\0';
	if (serial) {
		append(u->keys, sizeof(u->keys), "serial = %s\n", serial);
		ids_line(e, u, u->keys, sizeof(u->keys));
		snprintf(u->how, sizeof(u->how), "by its NVMe serial number %s (found "
			 "wherever it is plugged in), with its vendor:device as a guard",
			 serial);
		return;
	}
	if (unit_dsn(e, u, why, sizeof(why))) {
		append(u->keys, sizeof(u->keys), "%s", "dsn =");
		for (size_t k = 0; k < u->n; k++) {
			char tok[32];

			evfio_dsn_format(e->l.devs[u->idx[k]].id.dsn, dsn);
			snprintf(tok, sizeof(tok), " %s", dsn);
			if (!strstr(u->keys, tok))
				append(u->keys, sizeof(u->keys), "%s", tok);
		}
		append(u->keys, sizeof(u->keys), "%s", "\n");
		ids_line(e, u, u->keys, sizeof(u->keys));
		snprintf(u->how, sizeof(u->how), "by its PCIe Device Serial Number (found "
			 "in any slot), with its vendor:device as a guard");
		return;
	}
	append(u->keys, sizeof(u->keys), "%s", "address =");
	for (size_t k = 0; k < u->n; k++)
		append(u->keys, sizeof(u->keys), " %s", e->l.devs[u->idx[k]].bdf);
	append(u->keys, sizeof(u->keys), "%s", "\n");
	ids_line(e, u, u->keys, sizeof(u->keys));
	snprintf(u->how, sizeof(u->how), "by address, with its vendor:device as a "
		 "guard (%.180s; if it moves to another slot, run early-vfio add again)",
		 why[0] ? why : "it has no serial number to go by");
}

/* ---- the section name ------------------------------------------------- */

static const char *kind_of(const struct evfio_dev *d)
{
	unsigned int cls = d->id.class >> 8;

	switch (cls) {
	case 0x0101: return "ide";
	case 0x0104: return "raid";
	case 0x0106: return "sata";
	case 0x0107: return "sas";
	case 0x0108: return "nvme";
	case 0x0200: return "nic";
	case 0x0280: return "wifi";
	case 0x0300: case 0x0302: case 0x0380: return "gpu";
	case 0x0403: return "audio";
	case 0x0c03: return "usb";
	}
	switch (cls >> 8) {
	case 0x01: return "storage";
	case 0x02: return "net";
	case 0x03: return "display";
	case 0x04: return "media";
	}
	return "pci";
}

/* name is one whole line of the "\n"-separated list (not the start of one:
 * "gpu" is not "gpu-2") */
static bool listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; *p; p += strcspn(p, "\n"), p += *p == '\n')
		if (!strncmp(p, name, len) && (p[len] == '\n' || !p[len]))
			return true;
	return false;
}

static bool name_taken(const struct edit *e, const char *text, const char *name)
{
	return listed(e->names, name) || !strcmp(name, "options") ||
	       evfio_conf_has_section(text, name);
}

static void take_name(struct edit *e, const char *name)
{
	size_t len = strlen(e->names);

	snprintf(e->names + len, sizeof(e->names) - len, "%s\n", name);
}

/* base, or base-2, base-3... whichever is free */
static int pick_name(struct edit *e, const char *text, const char *base, char *out)
{
	char cand[EVFIO_NAME_MAX];

	for (int n = 1; n < 100; n++) {
		if (n == 1)
			snprintf(cand, sizeof(cand), "%.*s", SECTION_NAME_MAX, base);
		else
			snprintf(cand, sizeof(cand), "%.*s-%d", SECTION_NAME_MAX - 3, base, n);
		if (!name_taken(e, text, cand)) {
			strcpy(out, cand);
			take_name(e, cand);
			return 0;
		}
	}
	return -EEXIST;
}

static void default_name(const struct edit *e, const struct unit *u, char *buf, size_t size)
{
	const struct evfio_dev *d = &e->l.devs[u->idx[0]];
	const char *serial = strstr(u->keys, "serial = ");
	size_t len;

	if (serial) {
		size_t n = strcspn(serial + 9, "\n");

		snprintf(buf, size, "nvme-%.*s", (int)n, serial + 9);
		for (char *p = buf; *p; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789-_.", *p))
				*p = '-';
		return;
	}
	/* "sata-00-03.0", "gpu-0a-00" (a whole card), "nic-0001-05-00.1" */
	if (strncmp(d->bdf, "0000", 4))
		snprintf(buf, size, "%s-%.4s-%.2s-%.2s", kind_of(d), d->bdf, d->bdf + 5,
			 d->bdf + 8);
	else
		snprintf(buf, size, "%s-%.2s-%.2s", kind_of(d), d->bdf + 5, d->bdf + 8);
	len = strlen(buf);
	if (!u->card)
		snprintf(buf + len, size - len, ".%c", d->bdf[11]);
}

/* ---- the section's text ----------------------------------------------- */

/* A comment line: printable ASCII only (a name cut in a UTF-8 sequence
 * would make the file invalid), at most COMMENT_MAX characters. */
static void comment_line(char *buf, size_t size, const char *text)
{
	size_t len = strlen(buf), n = 0;

	append(buf, size, "%s", "# ");
	len += 2;
	for (const char *p = text; *p && n < COMMENT_MAX && len + 2 < size; p++, n++)
		buf[len++] = (*p >= 0x20 && *p <= 0x7e) ? *p : '?';
	buf[len++] = '\n';
	buf[len] = '\0';
}

static void section_text(const struct edit *e, const struct unit *u, char *buf, size_t size)
{
	char line[320], head[200];

	buf[0] = '\0';
	if (strcmp(u->arg, u->what))
		snprintf(head, sizeof(head), "early-vfio add %.80s (%.80s):", u->arg, u->what);
	else
		snprintf(head, sizeof(head), "early-vfio add %.80s:", u->arg);
	comment_line(buf, size, head);
	for (size_t k = 0; k < u->n; k++) {
		evfio_dev_lspci(&e->l.devs[u->idx[k]], true, line, sizeof(line));
		comment_line(buf, size, line);
	}
	append(buf, size, "[%s]\n", u->name);
	append(buf, size, "%s", u->keys);
}

/* ---- the review: what check would say about the new config ------------ */

/* A section this run writes. */
static bool name_new(const struct edit *e, const char *name)
{
	for (size_t u = 0; u < e->n_units; u++)
		if (e->units[u].n && !strcmp(e->units[u].name, name))
			return true;
	return false;
}

/* What the admin named to get device i ("disk sda"). */
static const char *unit_what(const struct edit *e, size_t i)
{
	for (size_t u = 0; u < e->n_units; u++)
		if (unit_has(&e->units[u], i))
			return e->units[u].what;
	return e->l.devs[i].bdf;
}

/* The new config in c->cfg, every device matched against it and reviewed
 * as check does; returns check's errors (devices the system needs). */
/* Replace the config with text; EVFIO_EXIT_FAILURE, said, when it cannot be. */
static int write_config(struct evfio_ctx *c, const struct evfio_opts *o,
			const struct evfio_conftext *t, const char *text)
{
	int r = evfio_conf_write(o->config, t, text);

	if (r >= 0)
		return 0;
	ev_err(&c->log, "%s: cannot write it: %s; not changed", o->config, strerror(-r));
	return EVFIO_EXIT_FAILURE;
}

static int review(struct edit *e, const char *text)
{
	struct evfio_ctx *c = e->c;
	int r, errors;

	evfio_config_free(&c->cfg);
	r = evfio_config_load_string(&c->cfg, e->o->config, text, &c->log);
	if (r < 0)
		return r;
	if (e->o->skip)
		evfio_config_skip(&c->cfg, e->o->skip);
	for (size_t i = 0; i < e->l.n; i++) {
		struct evfio_dev *d = &e->l.devs[i];

		d->via_group = false;
		d->section = evfio_config_match(&c->cfg, &d->id);
	}
	errors = evfio_safety_review(c, &e->l, false);
	for (size_t i = 0; i < e->l.n; i++) {
		const struct evfio_dev *d = &e->l.devs[i];
		const char *why = evfio_safety_refusal(d);

		if (!d->section || !why || !evfio_protect_why(&c->prot, d->bdf) ||
		    (d->section->allow_system && !d->via_group) ||
		    evfio_section_needs_nvme_id(d->section, &d->id))
			continue;
		if (name_new(e, d->section->name))
			ev_err(&c->log, "%s (%s): not added: it holds the running system: %s; "
			       "if the system really moves elsewhere, write its section by "
			       "hand with allow-system-device = yes (early-vfio.conf(5))",
			       d->bdf, unit_what(e, i), evfio_protect_why(&c->prot, d->bdf));
		else
			ev_err(&c->log, "%s: [%s] selects %s, but %s", e->o->config,
			       d->section->name, d->bdf, why);
	}
	return errors;
}

/* What the admin should know about the devices a new section takes: a
 * refusal that is not an error (no IOMMU group yet, VFs enabled), and the
 * rest of their IOMMU groups, which a VM must have with them. */
static void advise(struct edit *e, const struct unit *u)
{
	struct evfio_ctx *c = e->c;
	char why[400];

	for (size_t k = 0; k < u->n; k++) {
		const struct evfio_dev *d = &e->l.devs[u->idx[k]];
		const char *no = evfio_safety_refusal(d);
		bool seen = false;

		if (no && !evfio_protect_why(&c->prot, d->bdf))
			ev_warn(&c->log, "%s: will not be bound while %s", d->bdf, no);
		if (!no)
			evfio_builtin_warn(&c->fs, &c->log, d, c->cfg.driver);
		for (size_t j = 0; j < k && !seen; j++)
			seen = e->l.devs[u->idx[j]].iommu_group == d->iommu_group;
		for (size_t i = 0; !seen && d->iommu_group >= 0 && i < e->l.n; i++) {
			const struct evfio_dev *o = &e->l.devs[i];

			if (o->iommu_group != d->iommu_group || unit_has(u, i))
				continue;
			if (evfio_group_blocker(c, o, why, sizeof(why)))
				ev_warn(&c->log, "%s: IOMMU group %d also holds %s: %s",
					d->bdf, d->iommu_group, o->bdf, why);
			else if (!evfio_is_bridge(o) && !o->section)
				ev_warn(&c->log, "%s: IOMMU group %d also holds %s, which "
					"no section selects: a VM can only have the whole "
					"group (early-vfio add %s)", d->bdf, d->iommu_group,
					o->bdf, o->bdf + 5);
		}
	}
}

/* ---- add --vm VMID: the devices of a Proxmox VE VM's hostpciN lines --- */

static int add_vm(struct edit *e, const char *arg)
{
	struct evfio_ctx *c = e->c;
	struct evfio_pve p;
	size_t n = 0, skipped = 0;
	unsigned long vmid;
	char *end;
	int r;

	errno = 0;
	vmid = strtoul(arg, &end, 10);
	if (errno || *end || !*arg || arg[0] == '-' || vmid < 100 || vmid > 999999999) {
		ev_err(&c->log, "invalid --vm '%.40s': a VM ID, 100-999999999", arg);
		return EVFIO_EXIT_FAILURE;
	}
	r = evfio_pve_load(&c->fs, &c->log, &p);
	if (r < 0 || !p.present) {
		ev_err(&c->log, "--vm %lu: %s; %s not changed", vmid, r < 0 ? strerror(-r) :
		       "no /etc/pve/qemu-server: not a Proxmox VE host", e->o->config);
		return EVFIO_EXIT_FAILURE;
	}
	r = 0;
	for (size_t i = 0; i < p.n_uses && !r; i++) {
		const struct evfio_pve_use *u = &p.uses[i];
		struct evfio_target tg;
		char addr[32];

		if (u->vmid != vmid)
			continue;
		if (u->unresolved) {
			ev_err(&c->log, "VM %lu hostpci%u: mapping '%s' has no entry for this "
			       "node (%s) in /etc/pve/mapping/pci.cfg; %s not changed", vmid,
			       u->slot, u->mapping, p.node, e->o->config);
			r = EVFIO_EXIT_FAILURE;
			break;
		}
		if (u->mdev) {
			ev_warn(&c->log, "VM %lu hostpci%u: a mediated device (mdev) of %s: "
				"its parent stays with its host driver, not added", vmid,
				u->slot, u->path);
			skipped++;
			continue;
		}
		if (n == sizeof(e->vm_args) / sizeof(e->vm_args[0])) {
			ev_err(&c->log, "VM %lu: too many hostpci devices; %s not changed",
			       vmid, e->o->config);
			r = EVFIO_EXIT_FAILURE;
			break;
		}
		if (u->addr.func < 0)
			snprintf(addr, sizeof(addr), "%04x:%02x:%02x.*", (unsigned int)u->addr.domain,
				 (unsigned int)u->addr.bus, (unsigned int)u->addr.slot);
		else
			snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x", (unsigned int)u->addr.domain,
				 (unsigned int)u->addr.bus, (unsigned int)u->addr.slot,
				 (unsigned int)u->addr.func);
		snprintf(e->vm_args[n], sizeof(e->vm_args[n]), "--vm %lu (hostpci%u%s%.60s)",
			 vmid, u->slot, u->mapping[0] ? ", mapping " : "", u->mapping);
		if (evfio_resolve(&c->fs, &c->log, &e->l, addr, &tg) ||
		    add_units(e, e->vm_args[n], &tg)) {
			ev_err(&c->log, "VM %lu hostpci%u: %s; %s not changed", vmid, u->slot,
			       tg.what, e->o->config);
			r = EVFIO_EXIT_FAILURE;
		}
		evfio_target_free(&tg);
		n++;
	}
	if (!r && !n && !skipped) {
		ev_err(&c->log, "VM %lu passes no PCI device through (no hostpciN line in "
		       "/etc/pve/qemu-server/%lu.conf); %s not changed", vmid, vmid,
		       e->o->config);
		r = EVFIO_EXIT_FAILURE;
	}
	evfio_pve_free(&p);
	return r;
}

/* ---- add -------------------------------------------------------------- */

static int prepare(struct edit *e, int *lock, struct evfio_conftext *t)
{
	struct evfio_ctx *c = e->c;
	bool missing;
	int r;

	*lock = evfio_conf_lock(e->o->config, LOCK_WAIT_S);
	if (*lock < 0) {
		ev_err(&c->log, "%s: cannot lock its directory: %s", e->o->config,
		       *lock == -ETIMEDOUT ? "another early-vfio add or remove holds it" :
		       strerror(-*lock));
		return EVFIO_EXIT_FAILURE;
	}
	r = evfio_conf_read(e->o->config, t);
	if (r < 0) {
		ev_err(&c->log, "%s: %s", e->o->config, r == -EILSEQ ?
		       "has a NUL byte: not a config file" : strerror(-r));
		return r == -EILSEQ ? EVFIO_EXIT_CONFIG : EVFIO_EXIT_FAILURE;
	}
	r = evfio_cmd_survey(c, e->o, &e->l, &missing, false);
	if (r == EVFIO_EXIT_CONFIG)
		ev_err(&c->log, "%s: not changed: fix the errors above first", e->o->config);
	return r;
}

static void finish(struct edit *e, int lock, struct evfio_conftext *t)
{
	evfio_conf_free(t);
	evfio_conf_unlock(lock);
	free(e->units);
	evfio_devlist_free(&e->l);
}

static void print_block(const char *block, char sign)
{
	for (const char *p = block; *p;) {
		size_t n = strcspn(p, "\n");

		printf("  %c %.*s\n", sign, (int)n, p);
		p += n + (p[n] == '\n');
	}
}

int evfio_cmd_add(struct evfio_ctx *c, struct evfio_opts *o)
{
	char **args = o->args;
	int nargs = o->nargs;
	struct edit e = { .c = c, .o = o };
	struct evfio_conftext t = { 0 };
	char *text = NULL, block[2048];
	size_t n_new = 0;
	int lock = -1, r, errors;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* lines and warnings in order */
	if (!nargs && !o->vm) {
		ev_err(&c->log, "add: name a device: a PCI address (03:00.0), a disk "
		       "(/dev/nvme1n1), a network interface (enp5s0) or --vm VMID");
		return EVFIO_EXIT_FAILURE;
	}
	if (o->name && (!evfio_valid_name(o->name) || strlen(o->name) > SECTION_NAME_MAX ||
			!strcmp(o->name, "options"))) {
		ev_err(&c->log, "invalid --name '%.60s': up to %d letters, digits, '-', "
		       "'_' or '.', not 'options'", o->name, SECTION_NAME_MAX);
		return EVFIO_EXIT_FAILURE;
	}
	r = prepare(&e, &lock, &t);
	if (r)
		goto out;
	if (o->name && evfio_conf_has_section(t.text, o->name)) {
		ev_err(&c->log, "%s: not changed: it has a section [%s] already (early-vfio "
		       "remove %s, or another --name)", o->config, o->name, o->name);
		r = EVFIO_EXIT_FAILURE;
		goto out;
	}
	if (o->vm) {
		r = add_vm(&e, o->vm);
		if (r)
			goto out;
	}
	for (int a = 0; a < nargs; a++) {
		struct evfio_target tg;

		r = evfio_resolve(&c->fs, &c->log, &e.l, args[a], &tg);
		if (!r)
			r = add_units(&e, args[a], &tg);
		if (r) {
			ev_err(&c->log, "%s; %s not changed", tg.what, o->config);
			evfio_target_free(&tg);
			r = EVFIO_EXIT_FAILURE;
			goto out;
		}
		evfio_target_free(&tg);
	}

	text = strdup(t.text);
	for (size_t u = 0; u < e.n_units && text; u++) {
		struct unit *un = &e.units[u];
		size_t keep = 0;
		char *next;

		/* what a section already takes stays where it is */
		for (size_t k = 0; k < un->n; k++) {
			const struct evfio_dev *d = &e.l.devs[un->idx[k]];

			if (d->section && !d->via_group &&
			    !evfio_section_needs_nvme_id(d->section, &d->id)) {
				printf("%s (%s): already selected by [%s]\n", d->bdf,
				       un->what, d->section->name);
				continue;
			}
			if (evfio_is_bridge(d)) {
				ev_err(&c->log, "%s: not added: %s; %s not changed", d->bdf,
				       evfio_safety_refusal(d), o->config);
				r = EVFIO_EXIT_CONFIG;
				goto out;
			}
			un->idx[keep++] = un->idx[k];
		}
		un->n = keep;
		if (!un->n)
			continue;
		/* an SR-IOV VF: a section for its PF (sriov.c) */
		r = un->n == 1 ? evfio_sriov_add_keys(c, &e.l, &e.l.devs[un->idx[0]], un->keys,
						      sizeof(un->keys), un->how,
						      sizeof(un->how)) : 0;
		if (r == 1) {
			printf("%s (%s): %s\n", e.l.devs[un->idx[0]].bdf, un->what, un->how);
			un->n = 0;
			continue;
		}
		if (r < 0) {
			ev_err(&c->log, "%s: not added: %s; %s not changed",
			       e.l.devs[un->idx[0]].bdf, un->how, o->config);
			r = EVFIO_EXIT_FAILURE;
			goto out;
		}
		if (r != 2)
			choose_selector(&e, un);
		if (o->name && !n_new) {
			snprintf(un->name, sizeof(un->name), "%s", o->name);
			take_name(&e, o->name);
		} else {
			char base[EVFIO_NAME_MAX];

			if (o->name)
				snprintf(base, sizeof(base), "%.40s", o->name);
			else
				default_name(&e, un, base, sizeof(base));
			if (pick_name(&e, text, base, un->name) < 0) {
				ev_err(&c->log, "no free section name like [%s]", base);
				r = EVFIO_EXIT_FAILURE;
				goto out;
			}
		}
		section_text(&e, un, block, sizeof(block));
		next = evfio_conf_append(text, block);
		free(text);
		text = next;
		n_new++;
	}
	if (!text) {
		ev_err(&c->log, "out of memory");
		r = EVFIO_EXIT_FAILURE;
		goto out;
	}
	if (!n_new) {
		printf("%s: nothing to change\n", o->config);
		r = EVFIO_EXIT_OK;
		goto out;
	}

	errors = review(&e, text);
	if (errors) {
		ev_err(&c->log, "%s: not changed: %s", o->config, errors < 0 ?
		       "the new section would not be valid (a bug: please report it)" :
		       "a device the system needs would be taken");
		r = EVFIO_EXIT_CONFIG;
		goto out;
	}
	r = write_config(c, o, &t, text);
	if (r)
		goto out;
	for (size_t u = 0; u < e.n_units; u++) {
		struct unit *un = &e.units[u];

		if (!un->n)
			continue;
		printf("%s: added [%s] for %s (%s%s%s%s), %s:\n", o->config, un->name,
		       un->arg, strcmp(un->what, un->arg) ? un->what : "",
		       strcmp(un->what, un->arg) ? " at " : "", e.l.devs[un->idx[0]].bdf,
		       un->card ? " and the other functions of its card" : "", un->how);
		section_text(&e, un, block, sizeof(block));
		print_block(block, '+');
		advise(&e, un);
	}
	printf("Next: early-vfio apply (rebuilds the initramfs of every installed "
	       "kernel and checks it), then reboot.\n");
	r = EVFIO_EXIT_OK;
out:
	free(text);
	finish(&e, lock, &t);
	return r;
}

/* ---- remove ----------------------------------------------------------- */

/* The sections that select the devices arg names, when each takes nothing
 * else: their names, "\n"-separated, in *names. */
static int sections_of(struct edit *e, const char *arg, char *names, size_t size)
{
	struct evfio_ctx *c = e->c;
	struct evfio_target tg;
	struct unit u = { 0 };
	int r;

	e->n_units = 0;
	r = evfio_resolve(&c->fs, &c->log, &e->l, arg, &tg);
	if (!r)
		r = add_units(e, arg, &tg);
	if (r) {
		ev_err(&c->log, "%s; %s not changed", tg.what, e->o->config);
		evfio_target_free(&tg);
		return EVFIO_EXIT_FAILURE;
	}
	evfio_target_free(&tg);
	for (size_t k = 0; k < e->n_units; k++)
		for (size_t j = 0; j < e->units[k].n && u.n < 8; j++)
			u.idx[u.n++] = e->units[k].idx[j];
	names[0] = '\0';
	for (size_t k = 0; k < u.n; k++) {
		const struct evfio_section *s = e->l.devs[u.idx[k]].section;
		char others[200] = "";

		if (!s || e->l.devs[u.idx[k]].via_group || listed(names, s->name))
			continue;
		for (size_t i = 0; i < e->l.n; i++)
			if (e->l.devs[i].section == s && !e->l.devs[i].via_group &&
			    !unit_has(&u, i) && strlen(others) + 16 < sizeof(others))
				append(others, sizeof(others), others[0] ? ", %s" : "%s",
				       e->l.devs[i].bdf);
		if (others[0]) {
			ev_err(&c->log, "%s: [%s] also selects %s: remove the whole section "
			       "(early-vfio remove %s) or edit it; not changed", e->o->config,
			       s->name, others, s->name);
			return EVFIO_EXIT_FAILURE;
		}
		append(names, size, "%s\n", s->name);
	}
	if (!names[0]) {
		ev_err(&c->log, "%s: no section selects %s; not changed", e->o->config, arg);
		return EVFIO_EXIT_FAILURE;
	}
	return 0;
}

int evfio_cmd_remove(struct evfio_ctx *c, struct evfio_opts *o)
{
	char **args = o->args;
	int nargs = o->nargs;
	struct edit e = { .c = c, .o = o };
	struct evfio_conftext t = { 0 };
	char *text = NULL, names[1024], *removed;
	bool surveyed = false, missing;
	int lock = -1, r;

	if (!nargs) {
		ev_err(&c->log, "remove: name a section, or a device as for add");
		return EVFIO_EXIT_FAILURE;
	}
	lock = evfio_conf_lock(o->config, LOCK_WAIT_S);
	if (lock < 0) {
		ev_err(&c->log, "%s: cannot lock its directory: %s", o->config,
		       lock == -ETIMEDOUT ? "another early-vfio add or remove holds it" :
		       strerror(-lock));
		return EVFIO_EXIT_FAILURE;
	}
	r = evfio_conf_read(o->config, &t);
	if (r < 0 || !t.exists) {
		ev_err(&c->log, "%s: %s", o->config, r < 0 ? strerror(-r) : "not found");
		r = EVFIO_EXIT_FAILURE;
		goto out;
	}
	text = strdup(t.text);
	for (int a = 0; a < nargs && text; a++) {
		const char *arg = args[a];
		char *next;

		if (strcmp(arg, "options") && evfio_conf_has_section(text, arg)) {
			snprintf(names, sizeof(names), "%s\n", arg);
		} else {
			if (!surveyed) {
				r = evfio_cmd_survey(c, o, &e.l, &missing, false);
				if (r) {
					if (r == EVFIO_EXIT_CONFIG)
						ev_err(&c->log, "%s: invalid: name the section to "
						       "remove instead of the device", o->config);
					goto out;
				}
				surveyed = true;
			}
			r = sections_of(&e, arg, names, sizeof(names));
			if (r)
				goto out;
		}
		for (char *p = names; *p; p += strcspn(p, "\n") + 1) {
			char name[EVFIO_NAME_MAX];

			snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, "\n"), p);
			next = evfio_conf_remove(text, name, &removed);
			if (!next)
				continue;	/* removed for an earlier argument */
			printf("%s: removed [%s]%s%s:\n", o->config, name,
			       strcmp(arg, name) ? ", which selects " : "",
			       strcmp(arg, name) ? arg : "");
			if (removed)
				print_block(removed, '-');
			free(removed);
			free(text);
			text = next;
		}
	}
	if (!text) {
		ev_err(&c->log, "out of memory");
		r = EVFIO_EXIT_FAILURE;
		goto out;
	}
	r = write_config(c, o, &t, text);
	if (r)
		goto out;
	evfio_config_free(&c->cfg);
	r = evfio_config_load_string(&c->cfg, o->config, text, &c->log);
	if (r < 0) {
		ev_err(&c->log, "%s: still invalid: fix the lines above", o->config);
		r = EVFIO_EXIT_CONFIG;
		goto out;
	}
	printf("Next: early-vfio apply (rebuilds the initramfs of every installed "
	       "kernel), then reboot.\n");
	r = EVFIO_EXIT_OK;
out:
	free(text);
	finish(&e, lock, &t);
	return r;
}

// SPDX-License-Identifier: MIT
/* The record: what the machine looked like when the initramfs was built.
 *
 * "early-vfio record" prints it; the hook puts it in the image as
 * /etc/early-vfio.record (and keeps a copy in /var/lib/early-vfio/record
 * for check and status).  One device a line, tab-separated:
 *
 *   # early-vfio record ...
 *   built	host		(or "chroot": the devices are another machine's)
 *   system	known		(or "unknown<TAB>why": what / is on was not found)
 *   protected	0000:00:1f.2	8086:2922	8086:5044	010601	02	-	-	/ (root) (/dev/sda1)
 *   selected	0000:00:05.0	1b36:0010	1af4:1100	010802	02	-	EVFIO-B	[nvme-b]
 *
 * the fields being kind, address, vendor:device, subsystem, class, revision,
 * PCIe DSN and NVMe serial ("-" when absent; an address-only line, from a
 * chroot's /etc/fstab by-path name, has "-" for all), then a note.
 *
 * At boot, bind holds every selected device against it (safety.c): a
 * device selected by address, ids or class must be the one recorded at
 * that address; one with the identity of a protected device is refused
 * wherever it now sits; a recorded device that is gone is said. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "early-vfio.h"

static void fmt_ids(char *buf, size_t size, bool has, unsigned int a, unsigned int b)
{
	if (has)
		snprintf(buf, size, "%04x:%04x", a, b);
	else
		snprintf(buf, size, "-");
}

void evfio_identity_of(const struct evfio_dev *d, struct evfio_identity *id)
{
	memset(id, 0, sizeof(*id));
	snprintf(id->bdf, sizeof(id->bdf), "%s", d->bdf);
	id->has_ids = true;
	id->vendor = d->id.vendor;
	id->device = d->id.device;
	id->subvendor = d->id.subvendor;
	id->subdevice = d->id.subdevice;
	id->class = d->id.class;
	id->rev = d->rev;
	id->has_dsn = d->id.has_dsn;
	id->dsn = d->id.dsn;
	if (d->id.nvme_known)
		snprintf(id->serial, sizeof(id->serial), "%s", d->id.serial);
}

void evfio_identity_text(const struct evfio_identity *id, char *buf, size_t size)
{
	char dsn[24];
	size_t len;

	if (!id->has_ids) {
		snprintf(buf, size, "a device at %s", id->bdf);
		return;
	}
	len = (size_t)snprintf(buf, size, "[%04x:%04x] subsystem %04x:%04x class %06x "
			       "rev %02x", id->vendor, id->device, id->subvendor,
			       id->subdevice, id->class, id->rev);
	if (id->has_dsn && len < size) {
		evfio_dsn_format(id->dsn, dsn);
		len += (size_t)snprintf(buf + len, size - len, " DSN %s", dsn);
	}
	if (id->serial[0] && len < size)
		snprintf(buf + len, size - len, " serial %s", id->serial);
}

static void print_line(FILE *f, const char *kind, const struct evfio_identity *id,
		       const char *note)
{
	char ids[16], sub[16], dsn[24];

	fmt_ids(ids, sizeof(ids), id->has_ids, id->vendor, id->device);
	fmt_ids(sub, sizeof(sub), id->has_ids, id->subvendor, id->subdevice);
	if (id->has_dsn)
		evfio_dsn_format(id->dsn, dsn);
	else
		snprintf(dsn, sizeof(dsn), "-");
	if (id->has_ids)
		fprintf(f, "%s\t%s\t%s\t%s\t%06x\t%02x\t%s\t%s\t%s\n", kind, id->bdf, ids,
			sub, id->class, id->rev, dsn, id->serial[0] ? id->serial : "-", note);
	else
		fprintf(f, "%s\t%s\t-\t-\t-\t-\t-\t-\t%s\n", kind, id->bdf, note);
}

void evfio_record_print(FILE *f, const struct evfio_record *rec)
{
	fputs("# early-vfio record: the machine this image was built for "
	      "(early-vfio record; see early-vfio(8))\n"
	      "# kind\taddress\tids\tsubsystem\tclass\trev\tdsn\tserial\tnote\n", f);
	fprintf(f, "built\t%s\n", rec->chroot ? "chroot" : "host");
	if (rec->known)
		fputs("system\tknown\n", f);
	else
		fprintf(f, "system\tunknown\t%s\n", rec->unknown_why);
	for (size_t i = 0; i < rec->n; i++)
		print_line(f, rec->v[i].selected ? "selected" : "protected", &rec->v[i],
			   rec->v[i].note);
}

int evfio_record_add(struct evfio_record *rec, const struct evfio_identity *id)
{
	struct evfio_identity *v = realloc(rec->v, (rec->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	rec->v = v;
	v[rec->n++] = *id;
	return 0;
}

static bool hex_field(const char *s, unsigned int digits, uint32_t *out)
{
	char *end;

	if (strlen(s) != digits || strspn(s, "0123456789abcdefABCDEF") != digits)
		return false;
	*out = (uint32_t)strtoul(s, &end, 16);
	return true;
}

static bool ids_field(const char *s, uint16_t *a, uint16_t *b)
{
	uint32_t x, y;
	char l[5], r[5];

	if (strlen(s) != 9 || s[4] != ':')
		return false;
	memcpy(l, s, 4);
	l[4] = '\0';
	memcpy(r, s + 5, 4);
	r[4] = '\0';
	if (!hex_field(l, 4, &x) || !hex_field(r, 4, &y))
		return false;
	*a = (uint16_t)x;
	*b = (uint16_t)y;
	return true;
}

/* One device line; false when it is not one of ours (never guess). */
static bool parse_device(char **f, int n, struct evfio_identity *id)
{
	struct evfio_addr addr;
	uint32_t v;

	memset(id, 0, sizeof(*id));
	if (n < 9 || strlen(f[1]) != EVFIO_BDF_LEN - 1 || evfio_addr_parse(f[1], &addr))
		return false;
	snprintf(id->bdf, sizeof(id->bdf), "%s", f[1]);
	snprintf(id->note, sizeof(id->note), "%s", f[8]);
	if (!strcmp(f[2], "-"))
		return true;	/* an address only */
	id->has_ids = true;
	if (!ids_field(f[2], &id->vendor, &id->device) ||
	    !ids_field(f[3], &id->subvendor, &id->subdevice) ||
	    !hex_field(f[4], 6, &id->class) || !hex_field(f[5], 2, &v))
		return false;
	id->rev = (uint8_t)v;
	if (strcmp(f[6], "-")) {
		if (evfio_dsn_parse(f[6], &id->dsn))
			return false;
		id->has_dsn = true;
	}
	if (strcmp(f[7], "-") &&
	    evfio_serial_parse(f[7], id->serial, EVFIO_SERIAL_MAX))
		return false;
	return true;
}

static int parse(FILE *f, struct evfio_record *rec)
{
	char line[512];
	int r = 0;

	rec->present = true;
	rec->known = false;
	snprintf(rec->unknown_why, sizeof(rec->unknown_why), "the record says nothing "
		 "about it");
	while (fgets(line, sizeof(line), f)) {
		char *fld[10], *p = line, *save = NULL;
		struct evfio_identity id;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		for (char *t = strtok_r(p, "\t", &save); t && n < 10;
		     t = strtok_r(NULL, "\t", &save))
			fld[n++] = t;
		if (n >= 2 && !strcmp(fld[0], "built")) {
			rec->chroot = !strcmp(fld[1], "chroot");
		} else if (n >= 2 && !strcmp(fld[0], "system")) {
			rec->known = !strcmp(fld[1], "known");
			if (!rec->known)
				snprintf(rec->unknown_why, sizeof(rec->unknown_why), "%s",
					 n >= 3 ? fld[2] : "not recorded");
		} else if (n >= 1 && (!strcmp(fld[0], "protected") ||
				      !strcmp(fld[0], "selected"))) {
			if (!parse_device(fld, n, &id))
				continue;	/* not ours: ignore, never guess */
			id.selected = !strcmp(fld[0], "selected");
			r = evfio_record_add(rec, &id);
			if (r)
				break;
		}
	}
	return r;
}

int evfio_record_load(const struct evfio_sysfs *fs, const char *path,
		      struct evfio_record *rec)
{
	FILE *f = evfio_sysfs_fopen(fs, path);
	int r;

	if (!f)
		return -errno;
	r = parse(f, rec);
	fclose(f);
	return r;
}

int evfio_record_load_mem(const void *data, size_t size, struct evfio_record *rec)
{
	FILE *f = size ? fmemopen((void *)data, size, "r") : NULL;
	int r;

	if (!f)
		return size ? -errno : -ENODATA;
	r = parse(f, rec);
	fclose(f);
	return r;
}

void evfio_record_free(struct evfio_record *rec)
{
	free(rec->v);
	memset(rec, 0, sizeof(*rec));
}

/* The fields recorded for id differ from those of cur. */
static bool differs(const struct evfio_identity *rec, const struct evfio_identity *cur)
{
	if (!rec->has_ids)
		return false;	/* an address only: nothing to compare */
	return rec->vendor != cur->vendor || rec->device != cur->device ||
	       rec->subvendor != cur->subvendor || rec->subdevice != cur->subdevice ||
	       rec->class != cur->class || rec->rev != cur->rev ||
	       (rec->has_dsn && (!cur->has_dsn || rec->dsn != cur->dsn)) ||
	       (rec->serial[0] && strcmp(rec->serial, cur->serial));
}

/* A DSN or an NVMe serial tells one device from its identical twin. */
static bool same_unique(const struct evfio_identity *a, const struct evfio_identity *b)
{
	return a->has_ids && b->has_ids && a->vendor == b->vendor &&
	       a->device == b->device &&
	       ((a->has_dsn && b->has_dsn && a->dsn == b->dsn) ||
		(a->serial[0] && b->serial[0] && !strcmp(a->serial, b->serial)));
}

const struct evfio_identity *evfio_record_at(const struct evfio_record *rec,
					     const char *bdf, bool selected)
{
	for (size_t i = 0; i < rec->n; i++)
		if (rec->v[i].selected == selected && !strcmp(rec->v[i].bdf, bdf))
			return &rec->v[i];
	return NULL;
}

enum evfio_match evfio_record_match(const struct evfio_record *rec,
				    const struct evfio_dev *d, bool unique_selector,
				    const struct evfio_identity **which)
{
	struct evfio_identity cur;
	const struct evfio_identity *e;

	*which = NULL;
	if (!rec->present)
		return EVFIO_MATCH_UNRECORDED;
	evfio_identity_of(d, &cur);
	for (size_t i = 0; i < rec->n; i++) {
		if (!rec->v[i].selected && strcmp(rec->v[i].bdf, d->bdf) &&
		    same_unique(&rec->v[i], &cur)) {
			*which = &rec->v[i];
			return EVFIO_MATCH_PROTECTED;	/* moved, and needed */
		}
	}
	if (rec->chroot)
		return EVFIO_MATCH_UNRECORDED;	/* another machine's devices */
	e = evfio_record_at(rec, d->bdf, true);
	*which = e;
	if (e && e->serial[0] && !cur.serial[0] && evfio_is_nvme(&d->id))
		return EVFIO_MATCH_UNREAD;
	if (e)
		return differs(e, &cur) ? EVFIO_MATCH_CHANGED : EVFIO_MATCH_SAME;
	if (unique_selector)
		return EVFIO_MATCH_SAME;	/* its serial or DSN is its identity */
	for (size_t i = 0; i < rec->n; i++)
		if (rec->v[i].selected && same_unique(&rec->v[i], &cur)) {
			*which = &rec->v[i];
			return EVFIO_MATCH_SAME;	/* the same card, moved */
		}
	return EVFIO_MATCH_NEW;
}

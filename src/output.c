// SPDX-License-Identifier: MIT
/* What "status" prints: the lspci -knn layout users already read, plus
 * the lines early-vfio adds; and the same facts as JSON for programs. */
#include <string.h>

#include "early-vfio.h"

static bool listed(const struct evfio_ctx *c, const struct evfio_dev *d,
		   bool all)
{
	return all || d->section || !strcmp(d->driver, c->cfg.driver) ||
	       !strcmp(d->override, c->cfg.driver);
}

static void modules_of(struct evfio_ctx *c, const struct evfio_dev *d,
		       char *buf, size_t size)
{
	buf[0] = '\0';
	if (c->mods)
		evfio_modules_for_alias(c->mods, d->modalias, buf, size);
}

/* How d compares with the record of the image built last; NULL: as
 * recorded, or nothing to compare with. */
static const char *record_word(struct evfio_ctx *c, const struct evfio_dev *d,
			       const struct evfio_identity **e)
{
	bool unique = d->section->n_serials || d->section->n_dsns;

	switch (evfio_record_match(&c->rec, d, unique, e)) {
	case EVFIO_MATCH_CHANGED:
		return "changed";
	case EVFIO_MATCH_NEW:
		return "new";
	case EVFIO_MATCH_PROTECTED:
		return "protected";
	default:
		return NULL;
	}
}

static void print_record(FILE *f, struct evfio_ctx *c, const struct evfio_dev *d)
{
	const struct evfio_identity *e;
	const char *w = record_word(c, d, &e);
	char was[200];

	if (!w)
		return;
	if (e) {
		evfio_identity_text(e, was, sizeof(was));
		fprintf(f, "\tearly-vfio: not as the image built last recorded it (%s: %s "
			"at %s); rebuild the image before rebooting\n", w, was, e->bdf);
	} else {
		fprintf(f, "\tearly-vfio: not selected when the image was built last; "
			"rebuild the image before rebooting\n");
	}
}

/* lspci -nn's buffer: a longer name is cut, its last 3 characters dots */
#define LSPCI_NAME_MAX 128

static void lspci_cut(char *s)
{
	if (strlen(s) >= LSPCI_NAME_MAX) {
		s[LSPCI_NAME_MAX - 1] = '\0';
		memset(s + LSPCI_NAME_MAX - 4, '.', 3);
	}
}

/* libpci without numbers: "SATA controller", or for a class whose
 * subclass it does not know "Unassigned class [ffff]" (the number is
 * already there), or for an unknown one "Class 0106" */
static void lspci_class(const struct evfio_dev *d, char *buf, size_t size)
{
	unsigned int cls = d->id.class >> 8;
	char num[16], plain[16];
	size_t n = strlen(d->class_name);

	snprintf(num, sizeof(num), " [%04x]", cls);
	snprintf(plain, sizeof(plain), "Class %04x", cls);
	if (!n || !strcmp(d->class_name, plain))
		snprintf(buf, size, "Class [%04x]", cls);
	else if (n > strlen(num) && !strcmp(d->class_name + n - strlen(num), num))
		snprintf(buf, size, "%s", d->class_name);
	else
		snprintf(buf, size, "%s%s", d->class_name, num);
	lspci_cut(buf);
}

/* libpci without numbers: "Vendor Device", "Vendor Device 0d57" (device
 * unknown) or "Device 8086:0d57" (both unknown) */
static void lspci_name(const struct evfio_dev *d, char *buf, size_t size)
{
	char both[32], dev[16];
	size_t n = strlen(d->dev_name);

	snprintf(both, sizeof(both), "Device %04x:%04x", d->id.vendor, d->id.device);
	snprintf(dev, sizeof(dev), " Device %04x", d->id.device);
	if (!n || !strcmp(d->dev_name, both))
		snprintf(buf, size, "Device [%04x:%04x]", d->id.vendor, d->id.device);
	else if (n > strlen(dev) && !strcmp(d->dev_name + n - strlen(dev), dev))
		snprintf(buf, size, "%.*s Device [%04x:%04x]", (int)(n - strlen(dev)),
			 d->dev_name, d->id.vendor, d->id.device);
	else
		snprintf(buf, size, "%s [%04x:%04x]", d->dev_name, d->id.vendor,
			 d->id.device);
	lspci_cut(buf);
}

void evfio_dev_slot(const struct evfio_dev *d, bool domain, char *buf,
		    size_t size)
{
	snprintf(buf, size, "%s", d->bdf + (domain ? 0 : 5));
}

void evfio_dev_lspci(const struct evfio_dev *d, bool domain, char *buf,
		     size_t size)
{
	char slot[EVFIO_BDF_LEN], cls[LSPCI_NAME_MAX + 8], name[LSPCI_NAME_MAX + 64];

	evfio_dev_slot(d, domain, slot, sizeof(slot));
	lspci_class(d, cls, sizeof(cls));
	lspci_name(d, name, sizeof(name));
	if (d->rev)
		snprintf(buf, size, "%s %s: %s (rev %02x)", slot, cls, name, d->rev);
	else
		snprintf(buf, size, "%s %s: %s", slot, cls, name);
}

void evfio_print_status(FILE *f, struct evfio_ctx *c,
			const struct evfio_devlist *l, bool all)
{
	char mods[256], dsn[24], line[320], sriov[1200];
	size_t shown = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct evfio_dev *d = &l->devs[i];

		if (!listed(c, d, all))
			continue;
		if (shown++)
			fputc('\n', f);
		evfio_dev_lspci(d, true, line, sizeof(line));
		fprintf(f, "%s\n", line);
		if (d->id.subvendor || d->id.subdevice)
			fprintf(f, "\tSubsystem: [%04x:%04x]\n", d->id.subvendor,
				d->id.subdevice);
		if (d->driver[0])
			fprintf(f, "\tKernel driver in use: %s\n", d->driver);
		modules_of(c, d, mods, sizeof(mods));
		if (mods[0])
			fprintf(f, "\tKernel modules: %s\n", mods);
		if (d->iommu_group >= 0)
			fprintf(f, "\tIOMMU group: %d\n", d->iommu_group);
		else
			fprintf(f, "\tIOMMU group: (none)\n");
		fprintf(f, "\tdriver_override: %s\n",
			d->override[0] ? d->override : "(none)");
		if (d->id.has_dsn) {
			evfio_dsn_format(d->id.dsn, dsn);
			fprintf(f, "\tDevice Serial Number: %s\n", dsn);
		}
		if (evfio_sriov_text(c, d, sriov, sizeof(sriov)))
			fprintf(f, "\tSR-IOV: %s\n", sriov);
		if (d->id.nvme_known)
			fprintf(f, "\tNVMe serial: %s, model: %s (read %s)\n",
				d->id.serial, d->id.model, evfio_id_src_text(d->id_src));
		else if (evfio_is_nvme(&d->id) && d->id_error[0])
			fprintf(f, "\tNVMe serial: unknown (%s)\n", d->id_error);
		if (d->section)
			fprintf(f, "\tearly-vfio: selected by [%s]%s%s\n",
				d->section->name,
				d->via_group ? " (rest of its IOMMU group)" : "",
				!strcmp(d->driver, c->cfg.driver) ? "" :
				", not on the target driver");
		if (d->section && evfio_safety_refusal(d))
			fprintf(f, "\tearly-vfio: refused: %s\n",
				evfio_safety_refusal(d));
		if (d->section)
			print_record(f, c, d);
	}
	if (!shown && !all)
		fprintf(f, "No device is selected by %s or bound to %s "
			"(-a lists every device).\n", c->cfg.path, c->cfg.driver);
}

static void json_str(FILE *f, const char *s)
{
	if (!s || !*s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void evfio_json_str(FILE *f, const char *s)
{
	json_str(f, s);
}

void evfio_print_status_json(FILE *f, struct evfio_ctx *c,
			     const struct evfio_devlist *l, bool all)
{
	char mods[256], dsn[24];
	bool first = true;

	fputs("{\n  \"config\": ", f);
	json_str(f, c->cfg.path);
	fputs(",\n  \"driver\": ", f);
	json_str(f, c->cfg.driver);
	fprintf(f, ",\n  \"iommu\": %s,\n  \"devices\": [",
		evfio_iommu_present(&c->fs) ? "true" : "false");
	for (size_t i = 0; i < l->n; i++) {
		const struct evfio_dev *d = &l->devs[i];
		char *p, *tok;

		if (!listed(c, d, all))
			continue;
		fprintf(f, "%s\n    {\"address\": \"%s\", \"vendor\": \"%04x\", "
			"\"device\": \"%04x\", \"subsystem_vendor\": \"%04x\", "
			"\"subsystem_device\": \"%04x\", \"class\": \"%06x\", "
			"\"class_name\": ",
			first ? "" : ",", d->bdf, d->id.vendor, d->id.device,
			d->id.subvendor, d->id.subdevice, d->id.class);
		first = false;
		json_str(f, d->class_name);
		fputs(", \"name\": ", f);
		json_str(f, d->dev_name);
		fputs(", \"driver\": ", f);
		json_str(f, d->driver);
		fputs(", \"modules\": [", f);
		modules_of(c, d, mods, sizeof(mods));
		for (p = mods; (tok = strtok(p, ", ")); p = NULL) {
			if (p != mods)
				fputs(", ", f);
			json_str(f, tok);
		}
		fputs("], \"iommu_group\": ", f);
		if (d->iommu_group >= 0)
			fprintf(f, "%d", d->iommu_group);
		else
			fputs("null", f);
		fputs(", \"driver_override\": ", f);
		json_str(f, d->override);
		fputs(", \"dsn\": ", f);
		if (d->id.has_dsn)
			evfio_dsn_format(d->id.dsn, dsn);
		json_str(f, d->id.has_dsn ? dsn : NULL);
		fputs(", \"serial\": ", f);
		json_str(f, d->id.nvme_known ? d->id.serial : NULL);
		fputs(", \"model\": ", f);
		json_str(f, d->id.nvme_known ? d->id.model : NULL);
		fputs(", \"serial_read\": ", f);
		json_str(f, d->id.nvme_known ? evfio_id_src_text(d->id_src) : NULL);
		fputs(", \"section\": ", f);
		json_str(f, d->section ? d->section->name : NULL);
		fputs(", \"refused\": ", f);
		json_str(f, d->section ? evfio_safety_refusal(d) : NULL);
		fputs(", \"record\": ", f);
		{
			const struct evfio_identity *e;

			json_str(f, !d->section ? NULL : !c->rec.present ? NULL :
				 record_word(c, d, &e) ? record_word(c, d, &e) : "same");
		}
		{
			char pf[EVFIO_BDF_LEN];
			int idx;

			if (evfio_vf_of(&c->fs, d->bdf, pf, &idx) == 0 && idx >= 0)
				fprintf(f, ", \"sriov_pf\": \"%s\", \"sriov_vf_index\": %d",
					pf, idx);
			else
				fputs(", \"sriov_pf\": null, \"sriov_vf_index\": null", f);
		}
		fprintf(f, ", \"on_target\": %s}",
			!strcmp(d->driver, c->cfg.driver) ? "true" : "false");
	}
	fputs(first ? "]\n}\n" : "\n  ]\n}\n", f);
}

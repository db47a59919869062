// SPDX-License-Identifier: MIT
/* The PCI scan, through libpci with the linux-sysfs method forced and its
 * sysfs.path under our root: a wrong root fails instead of falling back to
 * the host's real devices. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <pci/pci.h>

#include "early-vfio.h"

/* libpci's error callback must not return; it jumps back to the scan. */
static jmp_buf *scan_env;
static struct evfio_log *scan_log;

static void __attribute__((noreturn, format(printf, 1, 2)))
pci_error_cb(char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev_err(scan_log, "pcilib: %s", msg);
	longjmp(*scan_env, 1);
}

static void __attribute__((format(printf, 1, 2))) pci_warning_cb(char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev_dbg(scan_log, "pcilib: %s", msg);
}

static void __attribute__((format(printf, 1, 2))) pci_debug_cb(char *fmt, ...)
{
	(void)fmt;
}

static int cmp_dev(const void *a, const void *b)
{
	const struct evfio_ident *x = &((const struct evfio_dev *)a)->id;
	const struct evfio_ident *y = &((const struct evfio_dev *)b)->id;
	uint64_t kx = ((uint64_t)x->domain << 16) | (x->bus << 8) |
		      (x->slot << 3) | x->func;
	uint64_t ky = ((uint64_t)y->domain << 16) | (y->bus << 8) |
		      (y->slot << 3) | y->func;

	return kx < ky ? -1 : kx > ky;
}

/* sysfs "vendor" must read "0x" and 4 hex digits; libpci would turn
 * anything else into 0 without a word. */
static bool id_attr_ok(const struct evfio_sysfs *fs, const char *bdf,
		       const char *attr)
{
	char path[128], buf[32];

	if (evfio_dev_path(path, sizeof(path), bdf, attr) ||
	    evfio_sysfs_read(fs, path, buf, sizeof(buf)) != 6)
		return false;
	if (buf[0] != '0' || buf[1] != 'x')
		return false;
	for (int i = 2; i < 6; i++)
		if (!strchr("0123456789abcdefABCDEF", buf[i]))
			return false;
	return true;
}

int evfio_dev_refresh(const struct evfio_sysfs *fs, struct evfio_dev *d)
{
	char path[128], buf[EVFIO_NAME_MAX];
	int r;

	r = evfio_dev_path(path, sizeof(path), d->bdf, "driver");
	if (r)
		return r;
	r = evfio_sysfs_link_name(fs, path, d->driver, sizeof(d->driver));
	if (r == -ENOENT)
		d->driver[0] = '\0';
	else if (r < 0)
		return r;

	evfio_dev_path(path, sizeof(path), d->bdf, "driver_override");
	r = evfio_sysfs_read(fs, path, buf, sizeof(buf));
	if (r == -ENOENT) {
		/* the device is gone, or a kernel before 3.16 */
		if (!evfio_dev_path(path, sizeof(path), d->bdf, "vendor") &&
		    !evfio_sysfs_exists(fs, path))
			return -ENODEV;
		d->override[0] = '\0';
		return 0;
	}
	if (r < 0)
		return r;
	if (!strcmp(buf, "(null)") || !buf[0])
		d->override[0] = '\0';
	else if (evfio_valid_name(buf))
		strcpy(d->override, buf);
	else
		return -EILSEQ;
	return 0;
}

static void fill_dev(const struct evfio_sysfs *fs, struct pci_access *pacc,
		     struct pci_dev *p, struct evfio_dev *d, bool names)
{
	char path[128], buf[32];
	const char *s;

	memset(d, 0, sizeof(*d));
	pci_fill_info(p, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT |
			 PCI_FILL_SUBSYS | PCI_FILL_IOMMU_GROUP |
			 PCI_FILL_MODULE_ALIAS);
	snprintf(d->bdf, sizeof(d->bdf), "%04x:%02x:%02x.%u",
		 (unsigned int)p->domain & 0xffff, p->bus, p->dev & 0x1fu,
		 p->func & 7u);
	d->id.domain = (unsigned int)p->domain & 0xffff;
	d->id.bus = p->bus;
	d->id.slot = p->dev;
	d->id.func = p->func;
	d->id.vendor = p->vendor_id;
	d->id.device = p->device_id;
	d->id.subvendor = p->subsys_vendor_id;
	d->id.subdevice = p->subsys_id;
	d->id.class = ((uint32_t)p->device_class << 8) | p->prog_if;
	d->rev = p->rev_id;
	d->garbled = !id_attr_ok(fs, d->bdf, "vendor") ||
		     !id_attr_ok(fs, d->bdf, "device");

	d->iommu_group = -1;
	s = pci_get_string_property(p, PCI_FILL_IOMMU_GROUP);
	if (s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 9)
		d->iommu_group = atoi(s);

	if (p->module_alias) {
		snprintf(d->modalias, sizeof(d->modalias), "%s", p->module_alias);
		d->modalias[strcspn(d->modalias, "\n")] = '\0';
	}

	d->sriov_numvfs = -1;
	if (!evfio_dev_path(path, sizeof(path), d->bdf, "sriov_numvfs") &&
	    evfio_sysfs_read(fs, path, buf, sizeof(buf)) > 0 &&
	    strspn(buf, "0123456789") == strlen(buf))
		d->sriov_numvfs = atoi(buf);

	if (evfio_dev_refresh(fs, d) < 0)
		d->garbled = true;

	if (!names)
		return;
	s = pci_lookup_name(pacc, d->class_name, sizeof(d->class_name),
			    PCI_LOOKUP_CLASS, p->device_class);
	if (s != d->class_name)
		snprintf(d->class_name, sizeof(d->class_name), "%s", s);
	s = pci_lookup_name(pacc, d->dev_name, sizeof(d->dev_name),
			    PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
			    p->vendor_id, p->device_id);
	if (s != d->dev_name)
		snprintf(d->dev_name, sizeof(d->dev_name), "%s", s);
}

int evfio_pci_scan(const struct evfio_sysfs *fs, struct evfio_log *log,
		   bool names, struct evfio_devlist *out)
{
	static char path[4200];
	struct pci_access *volatile pacc;
	struct evfio_dev *volatile devs = NULL;
	volatile size_t n = 0;
	jmp_buf env;
	struct pci_dev *p;
	volatile size_t cap = 0;

	out->devs = NULL;
	out->n = 0;
	snprintf(path, sizeof(path), "%s%ssys/bus/pci", fs->root,
		 fs->root[strlen(fs->root) - 1] == '/' ? "" : "/");

	pacc = pci_alloc();
	if (!pacc)
		return -ENOMEM;
	scan_log = log;
	scan_env = &env;
	if (setjmp(env)) {
		free(devs);
		pci_cleanup(pacc);
		scan_env = NULL;
		return -EIO;
	}
	pacc->error = pci_error_cb;
	pacc->warning = pci_warning_cb;
	pacc->debug = pci_debug_cb;
	pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	if (pci_set_param(pacc, "sysfs.path", path) < 0)
		pci_error_cb("cannot set sysfs.path");
	pci_init(pacc);
	pci_scan_bus(pacc);

	for (p = pacc->devices; p; p = p->next) {
		if (n == cap) {
			struct evfio_dev *nd;

			cap = cap ? 2 * cap : 64;
			nd = realloc(devs, cap * sizeof(*nd));
			if (!nd)
				pci_error_cb("out of memory");
			devs = nd;
		}
		fill_dev(fs, pacc, p, &devs[n], names);
		n++;
	}
	pci_cleanup(pacc);
	scan_env = NULL;
	qsort(devs, n, sizeof(*devs), cmp_dev);
	out->devs = devs;
	out->n = n;
	return 0;
}

void evfio_devlist_free(struct evfio_devlist *l)
{
	free(l->devs);
	l->devs = NULL;
	l->n = 0;
}

struct evfio_dev *evfio_devlist_find(struct evfio_devlist *l, const char *bdf)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->devs[i].bdf, bdf))
			return &l->devs[i];
	return NULL;
}

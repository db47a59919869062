// SPDX-License-Identifier: MIT
/* The PCI scan, through libpci with the linux-sysfs method forced and its
 * sysfs.path under our root: a wrong root fails instead of falling back to
 * the host's real devices.
 *
 * Boot time grows with the number of PCI functions (thousands on SR-IOV
 * hosts), so the scan is done in two passes of different cost: every
 * function gets only what matching needs (ids and class, one libpci device
 * at a time, freed at once); the few that a command keeps get the rest
 * (IOMMU group, driver, override, names).  Memory stays proportional to the
 * devices kept, not to the devices present.
 *
 * Pass 1 reads one file per function, its uevent, which carries the ids, the
 * class and the subsystem ids in one read (libpci would open vendor, device,
 * class and, for 4-part ids, subsystem_vendor and subsystem_device, each
 * after formatting its full path).  libpci stays the reader of everything
 * else, for the kept functions: attributes, config space (DSN, header type),
 * names; and of pass 1 too where uevent cannot serve (no uevent, a value it
 * lacks, or Device Serial Number selectors, which need config space). */
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

static void __attribute__((format(printf, 2, 0)))
pci_msg(int prio, char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	evfio_log(scan_log, prio, "pcilib: %s", msg);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
pci_error_cb(char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pci_msg(LOG_ERR, fmt, ap);
	va_end(ap);
	longjmp(*scan_env, 1);
}

static void __attribute__((format(printf, 1, 2))) pci_warning_cb(char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pci_msg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2))) pci_debug_cb(char *fmt, ...)
{
	(void)fmt;
}

static uint64_t dev_key(const struct evfio_ident *x)
{
	return ((uint64_t)x->domain << 16) | (x->bus << 8) | (x->slot << 3) | x->func;
}

static int cmp_dev(const void *a, const void *b)
{
	uint64_t kx = dev_key(&((const struct evfio_dev *)a)->id);
	uint64_t ky = dev_key(&((const struct evfio_dev *)b)->id);

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

void evfio_dev_label(const struct evfio_dev *d, char *buf, size_t size)
{
	snprintf(buf, size, "%s [%04x:%04x]", d->bdf, d->id.vendor,
		 d->id.device);
}

const char *evfio_id_src_text(enum evfio_id_src src)
{
	switch (src) {
	case EVFIO_ID_VFIO:
		return "through VFIO";
	case EVFIO_ID_DRIVER:
		return "from the nvme driver";
	case EVFIO_ID_RECORD:
		return "at boot, through VFIO";
	default:
		return "not read";
	}
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

/* The PCI Express Device Serial Number capability, as lspci -vv shows it:
 * the upper dword first. */
static void read_dsn(struct pci_dev *p, struct evfio_ident *id)
{
	struct pci_cap *cap = pci_find_cap(p, PCI_EXT_CAP_ID_DSN, PCI_CAP_EXTENDED);

	id->has_dsn = cap != NULL;
	if (cap)
		id->dsn = ((uint64_t)pci_read_long(p, (int)cap->addr + 8) << 32) |
			  pci_read_long(p, (int)cap->addr + 4);
}

/* Pass 1: what selectors look at. */
static void fill_ident(struct pci_dev *p, struct evfio_dev *d, unsigned int need)
{
	unsigned int flags = PCI_FILL_IDENT | PCI_FILL_CLASS;

	if (need & EVFIO_SCAN_SUBSYS)
		flags |= PCI_FILL_SUBSYS;
	if (need & EVFIO_SCAN_PROGIF)
		flags |= PCI_FILL_CLASS_EXT;
	pci_fill_info(p, flags);
	d->id.vendor = p->vendor_id;
	d->id.device = p->device_id;
	d->id.class = (uint32_t)p->device_class << 8;
	if (need & EVFIO_SCAN_PROGIF)
		d->id.class |= p->prog_if;
	if (need & EVFIO_SCAN_SUBSYS) {
		d->id.subvendor = p->subsys_vendor_id;
		d->id.subdevice = p->subsys_id;
	}
	if (need & EVFIO_SCAN_DSN)
		read_dsn(p, &d->id);
}

/* Pass 2: the rest, for the devices a command keeps. */
static void fill_details(const struct evfio_sysfs *fs, struct pci_access *pacc,
			 struct pci_dev *p, struct evfio_dev *d,
			 const struct evfio_scan *how)
{
	char path[128], buf[32];
	const char *s;

	pci_fill_info(p, PCI_FILL_CLASS_EXT | PCI_FILL_SUBSYS | PCI_FILL_MODULE_ALIAS);
	d->id.class = ((uint32_t)p->device_class << 8) | p->prog_if;
	d->id.subvendor = p->subsys_vendor_id;
	d->id.subdevice = p->subsys_id;
	d->rev = p->rev_id;
	if (!(how->need & EVFIO_SCAN_DSN))	/* else pass 1 read it */
		read_dsn(p, &d->id);
	d->garbled = !id_attr_ok(fs, d->bdf, "vendor") ||
		     !id_attr_ok(fs, d->bdf, "device");

	d->iommu_group = -1;
	if (!evfio_dev_path(path, sizeof(path), d->bdf, "iommu_group") &&
	    !evfio_sysfs_link_name(fs, path, buf, sizeof(buf)) &&
	    strspn(buf, "0123456789") == strlen(buf) && strlen(buf) < 9)
		d->iommu_group = atoi(buf);

	if (p->module_alias) {
		snprintf(d->modalias, sizeof(d->modalias), "%s", p->module_alias);
		d->modalias[strcspn(d->modalias, "\n")] = '\0';
	}

	/* a bridge header (1) or CardBus (2): what leaves an IOMMU group usable */
	d->hdr_type = pci_read_byte(p, PCI_HEADER_TYPE) & 0x7f;
	d->boot_vga = !evfio_dev_path(path, sizeof(path), d->bdf, "boot_vga") &&
		      evfio_sysfs_read(fs, path, buf, sizeof(buf)) == 1 && buf[0] == '1';

	d->sriov_numvfs = -1;
	if (!evfio_dev_path(path, sizeof(path), d->bdf, "sriov_numvfs") &&
	    evfio_sysfs_read(fs, path, buf, sizeof(buf)) > 0 &&
	    strspn(buf, "0123456789") == strlen(buf))
		d->sriov_numvfs = atoi(buf);

	if (evfio_dev_refresh(fs, d) < 0)
		d->garbled = true;
	d->detailed = true;

	if (!how->names)
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

/* A uevent value of at most max hex digits. */
static bool uevent_hex(const char *v, size_t len, unsigned int max, uint32_t *out)
{
	return len <= max && evfio_hex(v, len, out);
}

/* "VVVV:DDDD" into two 16-bit ids. */
static bool uevent_pair(const char *v, size_t len, uint16_t *a, uint16_t *b)
{
	const char *colon = memchr(v, ':', len);
	uint32_t x, y;

	if (!colon || !uevent_hex(v, (size_t)(colon - v), 4, &x) ||
	    !uevent_hex(colon + 1, len - (size_t)(colon - v) - 1, 4, &y))
		return false;
	*a = (uint16_t)x;
	*b = (uint16_t)y;
	return true;
}

/* Pass 1 from the function's uevent, as the kernel's pci_uevent() writes it:
 * PCI_CLASS=%04X (the 24-bit class), PCI_ID=%04X:%04X,
 * PCI_SUBSYS_ID=%04X:%04X, PCI_SLOT_NAME, MODALIAS, DRIVER= when bound.
 * One open.  False when the file is missing or lacks a value pass 1 needs:
 * the caller then asks libpci. */
static bool ident_from_uevent(const struct evfio_sysfs *fs, struct evfio_dev *d,
			      unsigned int need)
{
	static const char dir[] = "sys/bus/pci/devices/";
	char path[sizeof(dir) + EVFIO_BDF_LEN + 8], buf[512];
	bool cls = false, ids = false, sub = false;
	uint32_t class = 0;
	char *line, *save = NULL;

	/* evfio_dev_path's path, without a printf per function */
	memcpy(path, dir, sizeof(dir) - 1);
	memcpy(path + sizeof(dir) - 1, d->bdf, EVFIO_BDF_LEN - 1);
	memcpy(path + sizeof(dir) - 1 + EVFIO_BDF_LEN - 1, "/uevent", sizeof("/uevent"));
	if (evfio_sysfs_read(fs, path, buf, sizeof(buf)) <= 0)
		return false;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);

		if (!strncmp(line, "PCI_CLASS=", 10))
			cls = uevent_hex(line + 10, len - 10, 6, &class);
		else if (!strncmp(line, "PCI_ID=", 7))
			ids = uevent_pair(line + 7, len - 7, &d->id.vendor, &d->id.device);
		else if (!strncmp(line, "PCI_SUBSYS_ID=", 14))
			sub = uevent_pair(line + 14, len - 14, &d->id.subvendor,
					  &d->id.subdevice);
	}
	if (!cls || !ids || ((need & EVFIO_SCAN_SUBSYS) && !sub))
		return false;
	/* what libpci's pass 1 gives, no more: the matcher sees the same */
	d->id.class = need & EVFIO_SCAN_PROGIF ? class : class & ~0xffu;
	if (!(need & EVFIO_SCAN_SUBSYS))
		d->id.subvendor = d->id.subdevice = 0;
	return true;
}

/* A sysfs PCI name, "dddd:bb:ss.f", parsed by hand: the scan does this for
 * every function, and sscanf was a fifth of its instructions. */
static bool parse_bdf(const char *name, struct evfio_ident *id)
{
	uint32_t dom, bus, slot;

	if (strlen(name) != 12 || name[4] != ':' || name[7] != ':' || name[10] != '.' ||
	    name[11] < '0' || name[11] > '7' || !uevent_hex(name, 4, 4, &dom) ||
	    !uevent_hex(name + 5, 2, 2, &bus) || !uevent_hex(name + 8, 2, 2, &slot) ||
	    slot > 0x1f)
		return false;
	memset(id, 0, sizeof(*id));
	id->domain = dom;
	id->bus = bus;
	id->slot = slot;
	id->func = (unsigned int)(name[11] - '0');
	return true;
}

/* The canonical "dddd:bb:ss.f" (lower-case hex) of a parsed address. */
static void format_bdf(const struct evfio_ident *id, char bdf[EVFIO_BDF_LEN])
{
	static const char hex[] = "0123456789abcdef";

	bdf[0] = hex[(id->domain >> 12) & 15];
	bdf[1] = hex[(id->domain >> 8) & 15];
	bdf[2] = hex[(id->domain >> 4) & 15];
	bdf[3] = hex[id->domain & 15];
	bdf[4] = ':';
	bdf[5] = hex[(id->bus >> 4) & 15];
	bdf[6] = hex[id->bus & 15];
	bdf[7] = ':';
	bdf[8] = hex[(id->slot >> 4) & 1];
	bdf[9] = hex[id->slot & 15];
	bdf[10] = '.';
	bdf[11] = (char)('0' + (id->func & 7));
	bdf[12] = '\0';
}

struct scanner {
	const struct evfio_sysfs *fs;
	const struct evfio_scan *how;
	struct pci_access *pacc;
	struct evfio_devlist *out;
	size_t cap;
};

static int push(struct scanner *s, const struct evfio_dev *d)
{
	if (s->out->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct evfio_dev *v = realloc(s->out->devs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->out->devs = v;
		s->cap = cap;
	}
	s->out->devs[s->out->n++] = *d;
	return 0;
}

/* One function: read it, ask the command whether to keep it.  A device
 * libpci cannot read (a mandatory attribute missing) is skipped with a
 * message, so one broken function does not stop the others. */
static int scan_one(struct scanner *s, const char *name, bool forced)
{
	struct pci_dev *volatile p = NULL;
	jmp_buf *prev = scan_env;
	struct evfio_dev d;
	jmp_buf env;
	volatile int r = 0;
	volatile bool keep = false;

	memset(&d, 0, sizeof(d));
	if (!parse_bdf(name, &d.id))
		return 0;
	format_bdf(&d.id, d.bdf);
	/* pass 1 without libpci when uevent serves, and no libpci device at
	 * all for the functions the command does not keep */
	if (!(s->how->need & EVFIO_SCAN_DSN) && !forced && s->how->keep &&
	    ident_from_uevent(s->fs, &d, s->how->need)) {
		if (!s->how->keep(s->fs, &d, s->how->data))
			return 0;
		keep = true;	/* decided: libpci only for the details */
	}
	scan_env = &env;
	if (setjmp(env)) {
		ev_warn(scan_log, "%s: unreadable in sysfs, skipped", d.bdf);
		if (p)
			pci_free_dev(p);
		scan_env = prev;
		return 0;
	}
	p = pci_get_dev(s->pacc, (int)d.id.domain, (int)d.id.bus,
			(int)d.id.slot, (int)d.id.func);
	if (!p) {
		scan_env = prev;
		return -ENOMEM;
	}
	if (keep)
		/* fill_details takes the rest; the libpci reads also check
		 * that the attributes are there and readable */
		pci_fill_info(p, PCI_FILL_IDENT | PCI_FILL_CLASS);
	else
		fill_ident(p, &d, s->how->need);
	if (keep || forced || !s->how->keep || s->how->keep(s->fs, &d, s->how->data)) {
		fill_details(s->fs, s->pacc, p, &d, s->how);
		d.group_only = forced;
		r = push(s, &d);
	}
	pci_free_dev(p);
	scan_env = prev;
	return r;
}

static bool kept(const struct evfio_devlist *l, size_t n, const char *bdf)
{
	struct evfio_ident id;
	struct evfio_dev key;

	if (!parse_bdf(bdf, &id))
		return true;
	key.id = id;
	return n && bsearch(&key, l->devs, n, sizeof(key), cmp_dev) != NULL;
}

/* The other members of the kept devices' IOMMU groups, so that the safety
 * review can see a partial group without reading every device's group. */
static int add_group_members(struct scanner *s)
{
	size_t n = s->out->n;
	int r = 0;

	if (n > 1)
		qsort(s->out->devs, n, sizeof(*s->out->devs), cmp_dev);
	for (size_t i = 0; i < n && !r; i++) {
		int group = s->out->devs[i].iommu_group;
		char path[64];
		struct dirent *e;
		DIR *dir;
		bool seen = false;

		if (group < 0)
			continue;
		/* each group once */
		for (size_t k = 0; k < i && !seen; k++)
			seen = s->out->devs[k].iommu_group == group;
		if (seen)
			continue;
		snprintf(path, sizeof(path), "sys/kernel/iommu_groups/%d/devices", group);
		dir = evfio_sysfs_opendir(s->fs, path);
		if (!dir)
			continue;
		while (!r && (e = readdir(dir)))
			if (e->d_name[0] != '.' && !kept(s->out, n, e->d_name))
				r = scan_one(s, e->d_name, true);
		closedir(dir);
	}
	return r;
}

int evfio_pci_scan(const struct evfio_sysfs *fs, struct evfio_log *log,
		   const struct evfio_scan *how, struct evfio_devlist *out)
{
	static char path[4200];
	struct scanner s = { .fs = fs, .how = how, .out = out };
	struct dirent *e;
	jmp_buf env;
	DIR *dir;
	int r = 0;

	out->devs = NULL;
	out->n = 0;
	snprintf(path, sizeof(path), "%s%ssys/bus/pci", fs->root,
		 fs->root[strlen(fs->root) - 1] == '/' ? "" : "/");
	dir = evfio_sysfs_opendir(fs, "sys/bus/pci/devices");
	if (!dir) {
		r = -errno;
		ev_err(log, "cannot open %s/devices: %s", path, strerror(-r));
		return r;
	}

	s.pacc = pci_alloc();
	if (!s.pacc) {
		closedir(dir);
		return -ENOMEM;
	}
	scan_log = log;
	scan_env = &env;
	if (setjmp(env)) {
		r = -EIO;
		goto out;
	}
	s.pacc->error = pci_error_cb;
	s.pacc->warning = pci_warning_cb;
	s.pacc->debug = pci_debug_cb;
	s.pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	if (pci_set_param(s.pacc, "sysfs.path", path) < 0)
		pci_error_cb("cannot set sysfs.path");
	pci_init(s.pacc);

	while (!r && (e = readdir(dir)))
		if (e->d_name[0] != '.')
			r = scan_one(&s, e->d_name, false);
	if (!r && how->groups && how->keep)
		r = add_group_members(&s);
out:
	closedir(dir);
	pci_cleanup(s.pacc);
	scan_env = NULL;
	if (r) {
		evfio_devlist_free(out);
		return r;
	}
	if (out->n > 1)
		qsort(out->devs, out->n, sizeof(*out->devs), cmp_dev);
	return 0;
}

void evfio_devlist_free(struct evfio_devlist *l)
{
	free(l->devs);
	l->devs = NULL;
	l->n = 0;
}

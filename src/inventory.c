// SPDX-License-Identifier: MIT
/* What an admin needs to see behind each PCI device before giving it to a
 * VM: its disks (size, model, NVMe serial, what is mounted from them or
 * swapped on) and its network interfaces; and the other way round, which
 * PCI functions a DEVICE argument of add or remove names.  Everything is
 * read from sysfs and /proc under the root; nothing is written.  The walk
 * from a block device to its controllers is protect.c's (evfio_block_pci),
 * so list shows under a device exactly what protection finds there. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "early-vfio.h"

#define MAX_DEPTH 8

/* "0000:03:00.0" at s, n bytes long */
static bool bdf_at(const char *s, size_t n)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (n != 12)
		return false;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'x' ? !strchr("0123456789abcdef", s[i]) : s[i] != shape[i])
			return false;
	return s[11] <= '7';
}

static int cmp_bdf(const void *key, const void *elem)
{
	return strcmp(key, ((const struct evfio_dev *)elem)->bdf);
}

/* l is sorted by address, and fixed-width hex sorts like the numbers */
static long find_dev(const struct evfio_devlist *l, const char *bdf)
{
	const struct evfio_dev *d = l->n ? bsearch(bdf, l->devs, l->n, sizeof(*d), cmp_bdf) : NULL;

	return d ? d - l->devs : -1;
}

/* The endpoints of l among the PCI devices of a protlist, deepest last. */
static size_t endpoints(const struct evfio_devlist *l, const struct evfio_protlist *p,
			size_t *idx, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n && n < max; i++) {
		long k = find_dev(l, p->v[i].bdf);

		if (k >= 0 && !evfio_is_bridge(&l->devs[k]))
			idx[n++] = (size_t)k;
	}
	return n;
}

/* The deepest endpoint of l named in a link target ("../../devices/
 * pci0000:00/0000:00:1c.0/0000:03:00.0/net/enp3s0"), or -1. */
static long endpoint_in_path(const struct evfio_devlist *l, const char *target)
{
	long found = -1;

	for (const char *p = target; *p;) {
		size_t n = strcspn(p, "/");

		if (bdf_at(p, n)) {
			char bdf[EVFIO_BDF_LEN];
			long k;

			memcpy(bdf, p, n);
			bdf[n] = '\0';
			k = find_dev(l, bdf);
			if (k >= 0 && !evfio_is_bridge(&l->devs[k]))
				found = k;
		}
		p += n;
		p += *p == '/';
	}
	return found;
}

bool evfio_dev_on_card(const struct evfio_sysfs *fs, const struct evfio_dev *d)
{
	char path[64], target[1024], *last, *prev;

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s", d->bdf);
	if (evfio_sysfs_readlink(fs, path, target, sizeof(target)) < 0)
		return false;
	last = strrchr(target, '/');
	if (!last)
		return false;
	*last = '\0';
	prev = strrchr(target, '/');
	prev = prev ? prev + 1 : target;
	return bdf_at(prev, strlen(prev));
}

/* ---- disks ------------------------------------------------------------ */

static void trim(char *s)
{
	size_t n = strlen(s);
	char *p = s + strspn(s, " \t");

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	memmove(s, p, strlen(p) + 1);
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* An attribute, trimmed: an NVMe model is 40 characters padded with
 * blanks, a serial 20, plus the newline. */
static void read_attr(const struct evfio_sysfs *fs, const char *name,
		      const char *attr, char *buf, size_t size)
{
	char path[160], raw[256];

	snprintf(path, sizeof(path), "sys/block/%s/%s", name, attr);
	if (evfio_sysfs_read(fs, path, raw, sizeof(raw)) < 0)
		raw[0] = '\0';
	trim(raw);
	snprintf(buf, size, "%s", raw);
}

/* dm and md devices are stacked on disks: their slaves are listed, not
 * them */
static bool stacked(const struct evfio_sysfs *fs, const char *name)
{
	char path[160];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "sys/block/%s/slaves", name);
	d = evfio_sysfs_opendir(fs, path);
	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		found = e->d_name[0] != '.';
	closedir(d);
	return found;
}

static int add_disk(struct evfio_inventory *inv, const struct evfio_disk *disk)
{
	struct evfio_disk *v = realloc(inv->disks, (inv->n_disks + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	inv->disks = v;
	v[inv->n_disks++] = *disk;
	return 0;
}

static int scan_disks(const struct evfio_sysfs *fs, struct evfio_log *log,
		      const struct evfio_devlist *l, struct evfio_inventory *inv)
{
	DIR *dir = evfio_sysfs_opendir(fs, "sys/block");
	struct dirent *e;
	int r = 0;

	if (!dir)
		return 0;	/* no block devices */
	while (!r && (e = readdir(dir))) {
		struct evfio_protlist p = { 0 };
		struct evfio_disk disk;
		char buf[32];
		size_t idx[8], n;

		if (e->d_name[0] == '.' || !evfio_valid_name(e->d_name) ||
		    stacked(fs, e->d_name))
			continue;
		evfio_block_pci(fs, log, e->d_name, "", &p);
		n = endpoints(l, &p, idx, 8);
		evfio_protect_free(&p);
		if (!n)
			continue;	/* virtual: loop, zram, a network disk */
		memset(&disk, 0, sizeof(disk));
		snprintf(disk.name, sizeof(disk.name), "%.63s", e->d_name);
		read_attr(fs, e->d_name, "size", buf, sizeof(buf));
		disk.bytes = strtoull(buf, NULL, 10) * 512;
		read_attr(fs, e->d_name, "device/model", disk.model, sizeof(disk.model));
		read_attr(fs, e->d_name, "device/serial", disk.serial, sizeof(disk.serial));
		for (size_t k = 0; k < n && !r; k++) {
			snprintf(disk.bdf, sizeof(disk.bdf), "%s", l->devs[idx[k]].bdf);
			r = add_disk(inv, &disk);
		}
	}
	closedir(dir);
	return r;
}

/* ---- mounts and swap: which disks each one is on ---------------------- */

static void note_mount(struct evfio_inventory *inv, const char *disk,
		       const char *what)
{
	for (size_t i = 0; i < inv->n_disks; i++) {
		struct evfio_disk *d = &inv->disks[i];
		size_t len = strlen(d->mounts);

		if (strcmp(d->name, disk))
			continue;
		/* each mount once, even when it is on two partitions */
		for (const char *p = d->mounts; *p; p += strcspn(p, "\n"), p += *p == '\n')
			if (!strncmp(p, what, strlen(what)) &&
			    (p[strlen(what)] == '\n' || !p[strlen(what)]))
				return;
		if (len + strlen(what) + 2 < sizeof(d->mounts))
			snprintf(d->mounts + len, sizeof(d->mounts) - len, "%s%s",
				 len ? "\n" : "", what);
	}
}

/* Every whole disk under a block device: a partition's disk, a dm or md
 * device's slaves. */
static void disks_under(const struct evfio_sysfs *fs, struct evfio_inventory *inv,
			const char *name, const char *what, int depth)
{
	char path[160], target[1024];
	struct dirent *e;
	DIR *d;

	if (depth > MAX_DEPTH || !evfio_valid_name(name))
		return;
	snprintf(path, sizeof(path), "sys/class/block/%s/partition", name);
	if (evfio_sysfs_exists(fs, path)) {
		char *slash;

		snprintf(path, sizeof(path), "sys/class/block/%s", name);
		if (evfio_sysfs_readlink(fs, path, target, sizeof(target)) < 0)
			return;
		slash = strrchr(target, '/');
		if (!slash)
			return;
		*slash = '\0';
		slash = strrchr(target, '/');
		disks_under(fs, inv, slash ? slash + 1 : target, what, depth + 1);
		return;
	}
	snprintf(path, sizeof(path), "sys/class/block/%s/slaves", name);
	d = evfio_sysfs_opendir(fs, path);
	if (d) {
		bool any = false;

		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				any = true;
				disks_under(fs, inv, e->d_name, what, depth + 1);
			}
		closedir(d);
		if (any)
			return;
	}
	note_mount(inv, name, what);
}

/* One mountinfo line: "36 1 8:1 / /boot rw - ext4 /dev/sda1 rw": the
 * block device it is on, by MAJ:MIN or (btrfs and others report 0:N) by
 * its source. */
static void one_mount(const struct evfio_sysfs *fs, struct evfio_inventory *inv,
		      char *line)
{
	char name[EVFIO_NAME_MAX], path[64], what[300];
	struct evfio_mount m;

	if (!evfio_mountinfo_line(line, &m))
		return;
	name[0] = '\0';
	if (strncmp(m.devnum, "0:", 2) && strspn(m.devnum, "0123456789:") == strlen(m.devnum) &&
	    snprintf(path, sizeof(path), "sys/dev/block/%s", m.devnum) < (int)sizeof(path) &&
	    evfio_sysfs_link_name(fs, path, name, sizeof(name)) < 0)
		name[0] = '\0';
	if (!name[0] && !evfio_block_name(fs, m.source, name, sizeof(name)))
		return;
	snprintf(what, sizeof(what), "%.200s (%s)", m.point, name);
	disks_under(fs, inv, name, what, 0);
}

static void scan_mounts(const struct evfio_sysfs *fs, struct evfio_inventory *inv)
{
	char line[2048], name[EVFIO_NAME_MAX], what[120];
	FILE *f = evfio_sysfs_fopen(fs, "proc/self/mountinfo");

	if (f) {
		while (fgets(line, sizeof(line), f))
			one_mount(fs, inv, line);
		fclose(f);
	}
	f = evfio_sysfs_fopen(fs, "proc/swaps");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, " \t\n")] = '\0';
		evfio_unescape_octal(line);
		if (strncmp(line, "/dev/", 5) || !evfio_block_name(fs, line, name, sizeof(name)))
			continue;	/* the header, or a swap file */
		snprintf(what, sizeof(what), "[swap] (%s)", name);
		disks_under(fs, inv, name, what, 0);
	}
	fclose(f);
}

/* ---- network interfaces ----------------------------------------------- */

static int scan_nets(const struct evfio_sysfs *fs, const struct evfio_devlist *l,
		     struct evfio_inventory *inv)
{
	DIR *dir = evfio_sysfs_opendir(fs, "sys/class/net");
	struct dirent *e;
	char path[160], target[1024];

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		struct evfio_netif *v;
		long k;

		if (e->d_name[0] == '.' || !evfio_valid_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "sys/class/net/%.63s", e->d_name);
		if (evfio_sysfs_readlink(fs, path, target, sizeof(target)) < 0)
			continue;
		k = endpoint_in_path(l, target);
		if (k < 0)
			continue;	/* lo, bridges, tunnels, VLANs... */
		v = realloc(inv->nets, (inv->n_nets + 1) * sizeof(*v));
		if (!v) {
			closedir(dir);
			return -ENOMEM;
		}
		inv->nets = v;
		snprintf(v[inv->n_nets].name, sizeof(v->name), "%.63s", e->d_name);
		snprintf(v[inv->n_nets].bdf, sizeof(v->bdf), "%s", l->devs[k].bdf);
		inv->n_nets++;
	}
	closedir(dir);
	return 0;
}

static int cmp_disk(const void *a, const void *b)
{
	const struct evfio_disk *x = a, *y = b;
	int r = strcmp(x->bdf, y->bdf);

	return r ? r : strcmp(x->name, y->name);
}

static int cmp_net(const void *a, const void *b)
{
	const struct evfio_netif *x = a, *y = b;
	int r = strcmp(x->bdf, y->bdf);

	return r ? r : strcmp(x->name, y->name);
}

int evfio_inventory_scan(const struct evfio_sysfs *fs, struct evfio_log *log,
			 const struct evfio_devlist *l, struct evfio_inventory *inv)
{
	int r;

	memset(inv, 0, sizeof(*inv));
	r = scan_disks(fs, log, l, inv);
	if (!r)
		r = scan_nets(fs, l, inv);
	if (r) {
		evfio_inventory_free(inv);
		return r;
	}
	scan_mounts(fs, inv);
	if (inv->n_disks > 1)
		qsort(inv->disks, inv->n_disks, sizeof(*inv->disks), cmp_disk);
	if (inv->n_nets > 1)
		qsort(inv->nets, inv->n_nets, sizeof(*inv->nets), cmp_net);
	return 0;
}

void evfio_inventory_free(struct evfio_inventory *inv)
{
	free(inv->disks);
	free(inv->nets);
	memset(inv, 0, sizeof(*inv));
}

/* ---- DEVICE arguments ------------------------------------------------- */

static int push(struct evfio_target *t, size_t i)
{
	size_t *v;

	for (size_t k = 0; k < t->n; k++)
		if (t->idx[k] == i)
			return 0;
	v = realloc(t->idx, (t->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->idx = v;
	v[t->n++] = i;
	return 0;
}

static int resolve_block(const struct evfio_sysfs *fs, struct evfio_log *log,
			 const struct evfio_devlist *l, const char *arg,
			 struct evfio_target *t)
{
	struct evfio_protlist p = { 0 };
	char name[EVFIO_NAME_MAX], path[160], target[1024];
	size_t idx[16], n;
	int r = 0;

	t->kind = EVFIO_ARG_BLOCK;
	if (!strncmp(arg, "/dev/", 5) ? !evfio_block_name(fs, arg, name, sizeof(name)) :
					 snprintf(name, sizeof(name), "%s", arg) >= (int)sizeof(name)) {
		snprintf(t->what, sizeof(t->what), "%.100s: not a block device", arg);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "sys/class/block/%s", name);
	if (!evfio_valid_name(name) || !evfio_sysfs_exists(fs, path)) {
		snprintf(t->what, sizeof(t->what), "%.100s: no such block device", arg);
		return -EINVAL;
	}
	evfio_block_pci(fs, log, name, "", &p);
	n = endpoints(l, &p, idx, 16);
	evfio_protect_free(&p);
	snprintf(path, sizeof(path), "sys/class/block/%s/partition", name);
	snprintf(t->what, sizeof(t->what), "%s %s", evfio_sysfs_exists(fs, path) ?
		 "partition" : stacked(fs, name) ? "volume" : "disk", name);
	snprintf(path, sizeof(path), "sys/class/block/%s", name);
	if (!evfio_sysfs_readlink(fs, path, target, sizeof(target)) && strstr(target, "/usb"))
		snprintf(t->what, sizeof(t->what), "USB disk %s: the whole USB controller, "
			 "with every device on it", name);
	if (!n) {
		snprintf(t->what, sizeof(t->what), "%.60s: no PCI device is behind it "
			 "(a virtual disk: loop, zram, a network disk?)", arg);
		return -ENODEV;
	}
	for (size_t k = 0; k < n && !r; k++)
		r = push(t, idx[k]);
	return r;
}

static int resolve_net(const struct evfio_sysfs *fs, const struct evfio_devlist *l,
		       const char *arg, struct evfio_target *t)
{
	char path[160], target[1024];
	long k;

	t->kind = EVFIO_ARG_NETIF;
	snprintf(path, sizeof(path), "sys/class/net/%s", arg);
	if (evfio_sysfs_readlink(fs, path, target, sizeof(target)) < 0 ||
	    (k = endpoint_in_path(l, target)) < 0) {
		snprintf(t->what, sizeof(t->what), "%.60s: a network interface with no "
			 "PCI device behind it (virtual: a bridge, a bond, a tunnel?)", arg);
		return -ENODEV;
	}
	snprintf(t->what, sizeof(t->what), "interface %s", arg);
	return push(t, (size_t)k);
}

int evfio_resolve(const struct evfio_sysfs *fs, struct evfio_log *log,
		  const struct evfio_devlist *l, const char *arg,
		  struct evfio_target *t)
{
	struct evfio_addr a;
	char path[160];
	int r = 0;

	memset(t, 0, sizeof(*t));
	if (!strncmp(arg, "/dev/", 5))
		return resolve_block(fs, log, l, arg, t);
	if (evfio_valid_name(arg)) {
		snprintf(path, sizeof(path), "sys/class/net/%s", arg);
		if (evfio_sysfs_exists(fs, path))
			return resolve_net(fs, l, arg, t);
		snprintf(path, sizeof(path), "sys/class/block/%s", arg);
		if (evfio_sysfs_exists(fs, path))
			return resolve_block(fs, log, l, arg, t);
	}
	t->kind = EVFIO_ARG_ADDRESS;
	if (evfio_addr_parse(arg, &a)) {
		snprintf(t->what, sizeof(t->what), "'%.60s': not a PCI address (such as "
			 "03:00.0), a block device (/dev/...) or a network interface", arg);
		return -EINVAL;
	}
	for (size_t i = 0; i < l->n && !r; i++)
		if (evfio_addr_match(&a, &l->devs[i].id))
			r = push(t, i);
	if (r)
		return r;
	if (!t->n) {
		snprintf(t->what, sizeof(t->what), "no PCI device at %.60s (early-vfio "
			 "list -a shows them all)", arg);
		return -ENODEV;
	}
	snprintf(t->what, sizeof(t->what), "%.60s", arg);
	return 0;
}

void evfio_target_free(struct evfio_target *t)
{
	free(t->idx);
	t->idx = NULL;
	t->n = 0;
}

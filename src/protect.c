// SPDX-License-Identifier: MIT
/* The PCI devices the system needs: the controllers behind every mounted
 * block-backed file system (/, /boot, the ESP, /usr, /var, /home...),
 * active swap, and every /etc/fstab entry the next boot mounts (not noauto
 * or nofail), through any stack of partitions, md RAID, LVM, dm-crypt
 * (sysfs "slaves"), bcache (the cache set's devices), a multi-device btrfs
 * (/sys/fs/btrfs/FSID/devices) or a ZFS pool (zpool status -P); and for a
 * file system over the network (NFS, CIFS, iSCSI, NVMe over TCP/RDMA, NBD)
 * the network interfaces that carry it (the route to the server, the
 * interface named by ip= on the kernel command line), through bridges,
 * bonds and VLANs.  Found on the running system by "check" and the
 * initramfs hook; recorded in the image (record.c) for the boot-time
 * binder, which cannot see the mounts yet. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "early-vfio.h"

extern char **environ;

#define MAX_DEPTH 8

/* File systems whose data is somewhere on the network. */
static const char *const network_fs[] = {
	"nfs", "nfs4", "cifs", "smb3", "ceph", "glusterfs", "9p", "fuse.sshfs",
	"fuse.glusterfs", "afs", "ncpfs",
};

static bool is_network_fs(const char *type)
{
	for (size_t i = 0; i < sizeof(network_fs) / sizeof(*network_fs); i++)
		if (!strcmp(type, network_fs[i]))
			return true;
	return false;
}

static bool is_bdf(const char *s, size_t n)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (n != 12)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'x' ? !strchr("0123456789abcdef", s[i]) :
				      s[i] != shape[i])
			return false;
	}
	return s[11] <= '7';
}

int evfio_protect_add(struct evfio_protlist *l, const char *bdf, const char *why)
{
	struct evfio_protected *v;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].bdf, bdf))
			return 0;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	snprintf(v[l->n].bdf, sizeof(v[l->n].bdf), "%s", bdf);
	snprintf(v[l->n].why, sizeof(v[l->n].why), "%s", why);
	l->n++;
	return 0;
}

/* Every PCI address in a sysfs link target protects that device. */
static int add_from_link(struct evfio_protlist *l, const char *target,
			 const char *why)
{
	const char *p = target;
	int found = 0;

	while (*p) {
		size_t n = strcspn(p, "/");

		if (is_bdf(p, n)) {
			char bdf[EVFIO_BDF_LEN];

			memcpy(bdf, p, n);
			bdf[n] = '\0';
			if (evfio_protect_add(l, bdf, why) < 0)
				return -ENOMEM;
			found++;
		}
		p += n;
		p += *p == '/';
	}
	return found;
}

/* Native NVMe multipath: the disk hangs off a virtual nvme-subsystem whose
 * controllers (nvme0, nvme1 links) lead to the PCI devices. */
static int add_nvme_subsystem(const struct evfio_sysfs *fs,
			      struct evfio_protlist *l, const char *target,
			      const char *why)
{
	const char *at = strstr(target, "/nvme-subsystem/nvme-subsys");
	char dir[512], link[512], path[1100];
	struct dirent *e;
	DIR *d;
	int found = 0;

	if (!at)
		return 0;
	at += strlen("/nvme-subsystem/");
	at += strcspn(at, "/");
	/* "../../devices/virtual/nvme-subsystem/nvme-subsysN" from sys/block */
	if (strncmp(target, "../../", 6) || (size_t)(at - target - 6) >= sizeof(dir))
		return 0;
	snprintf(dir, sizeof(dir), "sys/%.*s", (int)(at - target - 6), target + 6);
	d = evfio_sysfs_opendir(fs, dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "nvme", 4) ||
		    strspn(e->d_name + 4, "0123456789") != strlen(e->d_name + 4) ||
		    !e->d_name[4])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (evfio_sysfs_readlink(fs, path, link, sizeof(link)) < 0)
			continue;
		if (add_from_link(l, link, why) > 0)
			found++;
	}
	closedir(d);
	return found;
}

static int add_netdev(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		      const char *ifname, const char *why, int depth);
static int add_network(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		       struct evfio_log *log, const char *server, const char *why);

/* bcache: the backing device is under slaves/, the cache device (often an
 * NVMe drive) is in the cache set: bcacheN/bcache/cache -> the set, whose
 * cache0, cache1... lead to the cache devices. */
static int add_bcache_set(const struct evfio_sysfs *fs, struct evfio_protlist *l,
			  const char *name, const char *why)
{
	char path[1400], set[1024], dir[1100], link[1024];
	struct dirent *e;
	DIR *d;
	int found = 0;

	snprintf(path, sizeof(path), "sys/class/block/%s/bcache/cache", name);
	if (evfio_sysfs_readlink(fs, path, set, sizeof(set)) < 0)
		return 0;
	/* "../../../../../fs/bcache/UUID", relative to sys/block/bcacheN/bcache */
	{
		const char *at = strstr(set, "fs/bcache/");

		if (!at)
			return 0;
		snprintf(dir, sizeof(dir), "sys/%s", at);
	}
	d = evfio_sysfs_opendir(fs, dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "cache", 5) || !e->d_name[5] ||
		    strspn(e->d_name + 5, "0123456789") != strlen(e->d_name + 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (evfio_sysfs_readlink(fs, path, link, sizeof(link)) == 0 &&
		    add_from_link(l, link, why) > 0)
			found++;
	}
	closedir(d);
	return found;
}

/* A block device (by name, e.g. "sda1" or "dm-0"): its own controller,
 * and recursively every device under it.  A block device that lives on
 * the network (iSCSI, NVMe over fabrics, NBD) has no PCI device of its
 * own: the network interfaces that reach it are protected instead. */
static int add_block(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		     struct evfio_log *log, const char *name, const char *why,
		     int depth)
{
	char path[256], target[1024], slaves[300];
	struct dirent *e;
	DIR *d;
	int found, r;

	if (depth > MAX_DEPTH || !evfio_valid_name(name))
		return 0;
	snprintf(path, sizeof(path), "sys/class/block/%s", name);
	r = evfio_sysfs_readlink(fs, path, target, sizeof(target));
	if (r < 0) {
		ev_dbg(log, "protect: %s: %s", path, strerror(-r));
		return 0;
	}
	found = add_from_link(l, target, why);
	if (found < 0)
		return found;
	if (!found)
		found = add_nvme_subsystem(fs, l, target, why);
	if (!found && (strstr(target, "/session") || strstr(target, "nvme-fabrics") ||
		       !strncmp(name, "nbd", 3)))
		found = add_network(fs, l, log, NULL, why);
	if (!strncmp(name, "bcache", 6))
		found += add_bcache_set(fs, l, name, why);

	snprintf(slaves, sizeof(slaves), "%s/slaves", path);
	d = evfio_sysfs_opendir(fs, slaves);
	if (!d)
		return found;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			found += add_block(fs, l, log, e->d_name, why, depth + 1);
	closedir(d);
	return found;
}

/* btrfs over several devices: the mount names one, the file system needs
 * all of /sys/fs/btrfs/FSID/devices/. */
static int add_btrfs_siblings(const struct evfio_sysfs *fs, struct evfio_protlist *l,
			      struct evfio_log *log, const char *name, const char *why)
{
	char path[512];
	struct dirent *e, *m;
	DIR *top, *d;
	int found = 0;

	top = evfio_sysfs_opendir(fs, "sys/fs/btrfs");
	if (!top)
		return 0;
	while ((e = readdir(top))) {
		bool ours;

		if (e->d_name[0] == '.' || !evfio_valid_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "sys/fs/btrfs/%s/devices/%s", e->d_name, name);
		ours = evfio_valid_name(name) && evfio_sysfs_exists(fs, path);
		if (!ours)
			continue;
		snprintf(path, sizeof(path), "sys/fs/btrfs/%s/devices", e->d_name);
		d = evfio_sysfs_opendir(fs, path);
		while (d && (m = readdir(d)))
			if (m->d_name[0] != '.')
				found += add_block(fs, l, log, m->d_name, why, 0);
		if (d)
			closedir(d);
	}
	closedir(top);
	return found;
}

/* ---- the network that carries a file system ------------------------- */

/* An interface: its PCI function, or for a bridge, bond, VLAN or macvlan
 * the interfaces under it. */
static int add_netdev(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		      const char *ifname, const char *why, int depth)
{
	char path[256], target[1024];
	struct dirent *e;
	DIR *d;
	int found = 0;

	if (depth > MAX_DEPTH || !evfio_valid_name(ifname))
		return 0;
	snprintf(path, sizeof(path), "sys/class/net/%s", ifname);
	if (evfio_sysfs_readlink(fs, path, target, sizeof(target)) == 0)
		found = add_from_link(l, target, why);
	if (found)
		return found;
	d = evfio_sysfs_opendir(fs, path);
	if (d) {
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, "lower_", 6))
				found += add_netdev(fs, l, e->d_name + 6, why, depth + 1);
		closedir(d);
	}
	snprintf(path, sizeof(path), "sys/class/net/%s/brif", ifname);
	d = evfio_sysfs_opendir(fs, path);
	if (d) {
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				found += add_netdev(fs, l, e->d_name, why, depth + 1);
		closedir(d);
	}
	return found;
}

/* 10.0.0.5 as /proc/net/route prints it: the address's four bytes read as
 * one host-order word (0500000A on little-endian hosts). */
static uint32_t htonl_le(unsigned int a, unsigned int b, unsigned int c,
			 unsigned int d)
{
	const uint8_t bytes[4] = { (uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d };
	uint32_t w;

	memcpy(&w, bytes, 4);
	return w;
}

static bool parse_ipv4(const char *s, uint32_t *addr)
{
	unsigned int a, b, c, d;
	char end;

	if (sscanf(s, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &end) != 4 ||
	    a > 255 || b > 255 || c > 255 || d > 255)
		return false;
	/* /proc/net/route prints addresses as the host's 32-bit words */
	*addr = htonl_le(a, b, c, d);
	return true;
}

/* The interfaces of the IPv4 routes to server (all default routes when it
 * is NULL or not an IPv4 address), the most specific first. */
static int route_ifaces(const struct evfio_sysfs *fs, const char *server,
			char ifs[][EVFIO_NAME_MAX], int max)
{
	char line[256], ifname[64];
	unsigned int dest, gw, flags, mask, best_mask = 0;
	uint32_t addr = 0;
	bool have = server && parse_ipv4(server, &addr);
	int n = 0;
	FILE *f = evfio_sysfs_fopen(fs, "proc/net/route");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", ifname, &dest, &gw,
			   &flags, &mask) != 5 || !(flags & 1) || !evfio_valid_name(ifname))
			continue;
		if (have ? (addr & mask) != dest : dest != 0)
			continue;
		if (have && n && mask < best_mask)
			continue;
		if (have && mask > best_mask)
			n = 0;	/* a more specific route wins */
		best_mask = mask;
		if (n < max)
			snprintf(ifs[n++], EVFIO_NAME_MAX, "%s", ifname);
	}
	fclose(f);
	return n;
}

/* The device of ip=CLIENT:SERVER:GW:MASK:HOST:DEVICE:... (nfsroot(5)). */
static bool cmdline_ip_device(const struct evfio_sysfs *fs, char *out, size_t size,
			      char *server, size_t ssize)
{
	char buf[4096], *tok, *p, *save = NULL;

	if (evfio_sysfs_read(fs, "proc/cmdline", buf, sizeof(buf)) < 0)
		return false;
	out[0] = '\0';
	for (p = buf; (tok = strtok_r(p, " \t", &save)); p = NULL) {
		if (!strncmp(tok, "nfsroot=", 8)) {
			snprintf(server, ssize, "%.*s", (int)strcspn(tok + 8, ":,"), tok + 8);
		} else if (!strncmp(tok, "ip=", 3)) {
			char *f = tok + 3;

			for (int i = 0; i < 5 && f; i++) {
				if (i == 1 && strcspn(f, ":"))
					snprintf(server, ssize, "%.*s", (int)strcspn(f, ":"), f);
				f = strchr(f, ':');
				f = f ? f + 1 : NULL;
			}
			if (f && strcspn(f, ":"))
				snprintf(out, size, "%.*s", (int)strcspn(f, ":"), f);
		}
	}
	return out[0] != '\0';
}

/* A file system on the network: protect the interfaces that reach server
 * (or the default route), and the one ip= names.  Returns how many PCI
 * devices were found; says loudly when none was. */
static int add_network(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		       struct evfio_log *log, const char *server, const char *why)
{
	char ifs[8][EVFIO_NAME_MAX], dev[EVFIO_NAME_MAX], srv[64] = "", what[200];
	int n, found = 0;

	cmdline_ip_device(fs, dev, sizeof(dev), srv, sizeof(srv));
	if (!server && srv[0])
		server = srv;
	n = route_ifaces(fs, server, ifs, 8);
	for (int i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "%.100s over the network, via %.32s", why, ifs[i]);
		found += add_netdev(fs, l, ifs[i], what, 0);
	}
	if (dev[0]) {
		snprintf(what, sizeof(what), "%.100s over the network, via %.32s (ip=)", why, dev);
		found += add_netdev(fs, l, dev, what, 0);
	}
	if (!found)
		ev_warn(log, "%s is on the network and no PCI network device that "
			"carries it was found (routes in /proc/net/route, ip= on the "
			"kernel command line): do not select the network card it uses",
			why);
	return found;
}

/* Block device name from "MAJ:MIN" through sys/dev/block. */
static bool name_of_devnum(const struct evfio_sysfs *fs, const char *majmin,
			   char *name, size_t size)
{
	char path[64];

	if (strspn(majmin, "0123456789:") != strlen(majmin) ||
	    snprintf(path, sizeof(path), "sys/dev/block/%s", majmin) >=
		    (int)sizeof(path))
		return false;
	return evfio_sysfs_link_name(fs, path, name, size) == 0;
}

/* "/dev/mapper/vg-root" or "/dev/sda1" -> "dm-0" / "sda1". */
static bool name_of_devpath(const struct evfio_sysfs *fs, const char *dev,
			    char *name, size_t size)
{
	char path[512], target[512];
	const char *base;

	if (strncmp(dev, "/dev/", 5) || strlen(dev) >= sizeof(path))
		return false;
	snprintf(path, sizeof(path), "%s", dev + 1);
	for (int i = 0; i < 8; i++) {
		char *slash;

		if (evfio_sysfs_readlink(fs, path, target, sizeof(target)) < 0)
			break;
		if (target[0] == '/') {
			snprintf(path, sizeof(path), "%s", target + 1);
		} else {
			slash = strrchr(path, '/');
			if (!slash ||
			    (size_t)(slash - path) + 1 + strlen(target) >= sizeof(path))
				return false;
			strcpy(slash + 1, target);
		}
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strlen(base) >= size || !evfio_valid_name(base))
		return false;
	/* a block device of this system, not just a name */
	snprintf(target, sizeof(target), "sys/class/block/%.63s", base);
	if (!evfio_sysfs_exists(fs, target))
		return false;
	strcpy(name, base);
	return true;
}

void evfio_unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + s[3] - '0');
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* zpool status -P POOL: every vdev path. */
static int add_zpool(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		     struct evfio_log *log, const char *pool, const char *why)
{
	const char *argv[] = { "zpool", "status", "-P", pool, NULL };
	posix_spawn_file_actions_t fa;
	char line[512], name[EVFIO_NAME_MAX];
	int pipefd[2], found = 0, status;
	pid_t pid;
	FILE *f;

	if (!evfio_valid_name(pool) || pipe2(pipefd, O_CLOEXEC) < 0)
		return 0;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	if (posix_spawnp(&pid, "zpool", &fa, NULL, (char *const *)argv, environ)) {
		ev_warn(log, "the system is on ZFS pool %s but zpool cannot be "
			"run: its disks are not protected", pool);
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		return 0;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *dev = line + strspn(line, " \t");

		dev[strcspn(dev, " \t\n")] = '\0';
		if (strncmp(dev, "/dev/", 5))
			continue;
		if (name_of_devpath(fs, dev, name, sizeof(name)))
			found += add_block(fs, l, log, name, why, 0);
	}
	if (f)
		fclose(f);
	else
		close(pipefd[0]);
	waitpid(pid, &status, 0);
	return found;
}

bool evfio_mountinfo_line(char *line, struct evfio_mount *m)
{
	char *f[10], *sep, *save = NULL;
	int n = 0;

	sep = strstr(line, " - ");
	if (!sep)
		return false;
	*sep = '\0';
	for (char *t = strtok_r(line, " ", &save); t && n < 5;
	     t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n < 5)
		return false;
	save = NULL;
	f[5] = strtok_r(sep + 3, " \n", &save);
	f[6] = f[5] ? strtok_r(NULL, " \n", &save) : NULL;
	if (!f[5] || !f[6])
		return false;
	evfio_unescape_octal(f[4]);
	evfio_unescape_octal(f[6]);
	snprintf(m->point, sizeof(m->point), "%s", f[4]);
	snprintf(m->devnum, sizeof(m->devnum), "%s", f[2]);
	snprintf(m->fstype, sizeof(m->fstype), "%s", f[5]);
	snprintf(m->source, sizeof(m->source), "%s", f[6]);
	return true;
}

/* The server of a network mount's source: "10.0.0.5:/export",
 * "//server/share", "[fe80::1]:/x" -> a host name or address. */
static void server_of(const char *source, char *out, size_t size)
{
	const char *p = source;
	size_t n;

	p += strspn(p, "/");
	if (*p == '[') {
		p++;
		n = strcspn(p, "]");
	} else {
		n = strcspn(p, ":/");
	}
	snprintf(out, size, "%.*s", (int)n, p);
}

/* What one file system needs.  Returns whether it was told apart (a
 * block device, a pool or a network mount), not how many PCI devices. */
static bool add_fs(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		   struct evfio_log *log, const char *devnum, const char *fstype,
		   const char *source, const char *why)
{
	char name[EVFIO_NAME_MAX], server[128];

	if (!strcmp(fstype, "zfs")) {
		char pool[EVFIO_NAME_MAX];

		snprintf(pool, sizeof(pool), "%.*s", (int)strcspn(source, "/"), source);
		add_zpool(fs, l, log, pool, why);
		return true;
	}
	if (is_network_fs(fstype)) {
		server_of(source, server, sizeof(server));
		add_network(fs, l, log, server[0] ? server : NULL, why);
		return true;
	}
	if (!((devnum && strncmp(devnum, "0:", 2) &&
	       name_of_devnum(fs, devnum, name, sizeof(name))) ||
	      name_of_devpath(fs, source, name, sizeof(name))))
		return false;
	add_block(fs, l, log, name, why, 0);
	if (!strcmp(fstype, "btrfs"))
		add_btrfs_siblings(fs, l, log, name, why);
	return true;
}

static void mount_why(char *why, size_t size, const char *point, const char *source)
{
	snprintf(why, size, "%.60s%s (%.80s)", point, !strcmp(point, "/") ? " (root)" : "",
		 source);
}

/* Every mount the system has now that a device backs. */
static int scan_mounts(const struct evfio_sysfs *fs, struct evfio_log *log,
		       struct evfio_protlist *l)
{
	char line[2048], why[sizeof(l->v->why)];
	struct evfio_mount m;
	FILE *f = evfio_sysfs_fopen(fs, "proc/self/mountinfo");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!evfio_mountinfo_line(line, &m))
			continue;
		/* major 0 without a pool or a server: proc, tmpfs, overlay... */
		if (!strncmp(m.devnum, "0:", 2) && strcmp(m.fstype, "btrfs") &&
		    strcmp(m.fstype, "zfs") && !is_network_fs(m.fstype))
			continue;
		mount_why(why, sizeof(why), m.point, m.source);
		if (add_fs(fs, l, log, m.devnum, m.fstype, m.source, why) &&
		    !strcmp(m.point, "/"))
			l->known = true;
	}
	fclose(f);
	return 0;
}

static void scan_swaps(const struct evfio_sysfs *fs, struct evfio_log *log,
		       struct evfio_protlist *l)
{
	char line[2048], name[EVFIO_NAME_MAX];
	FILE *f = evfio_sysfs_fopen(fs, "proc/swaps");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *dev = line, why[sizeof(l->v->why)];

		dev[strcspn(dev, " \t\n")] = '\0';
		evfio_unescape_octal(dev);
		if (strncmp(dev, "/dev/", 5))
			continue;	/* header, or a swap file: on a mount above */
		snprintf(why, sizeof(why), "swap (%.100s)", dev);
		if (name_of_devpath(fs, dev, name, sizeof(name)))
			add_block(fs, l, log, name, why, 0);
	}
	fclose(f);
}

/* An option in a comma-separated fstab option list. */
static bool has_option(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; *p; p += strcspn(p, ","), p += *p == ',')
		if (!strncmp(p, opt, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* "UUID=..." -> "/dev/disk/by-uuid/...", a device path as it is. */
static bool fstab_device(const char *spec, char *out, size_t size)
{
	static const struct { const char *tag, *dir; } tags[] = {
		{ "UUID=", "by-uuid" }, { "LABEL=", "by-label" },
		{ "PARTUUID=", "by-partuuid" }, { "PARTLABEL=", "by-partlabel" },
	};

	for (size_t i = 0; i < sizeof(tags) / sizeof(*tags); i++) {
		size_t n = strlen(tags[i].tag);

		if (!strncmp(spec, tags[i].tag, n))
			return snprintf(out, size, "/dev/disk/%s/%s", tags[i].dir,
					spec + n) < (int)size;
	}
	if (strncmp(spec, "/dev/", 5))
		return false;
	return snprintf(out, size, "%s", spec) < (int)size;
}

/* /dev/disk/by-path/pci-0000:00:1f.2-ata-1-part2 names its controller. */
static bool by_path_bdf(const char *dev, char bdf[EVFIO_BDF_LEN])
{
	const char *at = strstr(dev, "/by-path/");

	if (!at || !(at = strstr(at, "pci-")) || !is_bdf(at + 4, strnlen(at + 4, 12)) ||
	    (at[16] && at[16] != '-'))
		return false;
	memcpy(bdf, at + 4, 12);
	bdf[12] = '\0';
	return true;
}

/* /etc/fstab: what the next boot mounts, mounted now or not (noauto and
 * nofail entries are not needed to boot).  Returns the entries of block
 * devices that could not be told apart; *root: "/" was. */
static int scan_fstab(const struct evfio_sysfs *fs, struct evfio_log *log,
		      struct evfio_protlist *l, bool *root)
{
	char line[1024], dev[600], bdf[EVFIO_BDF_LEN], why[sizeof(l->v->why)];
	int unresolved = 0;
	FILE *f = evfio_sysfs_fopen(fs, "etc/fstab");

	*root = false;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *spec, *file, *type, *opts, *save = NULL;
		bool told;

		if (line[strspn(line, " \t")] == '#')
			continue;
		spec = strtok_r(line, " \t\n", &save);
		file = spec ? strtok_r(NULL, " \t\n", &save) : NULL;
		type = file ? strtok_r(NULL, " \t\n", &save) : NULL;
		opts = type ? strtok_r(NULL, " \t\n", &save) : NULL;
		if (!type)
			continue;
		if (!opts)
			opts = "defaults";
		if (has_option(opts, "noauto") || has_option(opts, "nofail") ||
		    has_option(opts, "bind"))
			continue;
		evfio_unescape_octal(spec);
		evfio_unescape_octal(file);
		if (!strcmp(type, "swap"))
			snprintf(why, sizeof(why), "swap in /etc/fstab (%.100s)", spec);
		else
			snprintf(why, sizeof(why), "%.50s%s in /etc/fstab (%.70s)", file,
				 !strcmp(file, "/") ? " (root)" : "", spec);
		if (is_network_fs(type) || !strcmp(type, "zfs")) {
			told = add_fs(fs, l, log, NULL, type, spec, why);
		} else if (!fstab_device(spec, dev, sizeof(dev))) {
			continue;	/* proc, tmpfs, a bind mount... */
		} else {
			told = by_path_bdf(dev, bdf) && evfio_protect_add(l, bdf, why) == 0;
			told |= add_fs(fs, l, log, NULL, type, dev, why);
		}
		if (told && !strcmp(file, "/"))
			*root = true;
		if (!told) {
			ev_dbg(log, "/etc/fstab: %s (%s): no such device here", spec, file);
			unresolved++;
		}
	}
	fclose(f);
	return unresolved;
}

int evfio_protect_scan(const struct evfio_sysfs *fs, struct evfio_log *log,
		       struct evfio_protlist *l)
{
	bool root;
	int r;

	/* adds to l: it may already hold the list recorded in the image */
	r = scan_mounts(fs, log, l);
	if (r < 0)
		return r;
	scan_swaps(fs, log, l);
	scan_fstab(fs, log, l, &root);
	if (!l->known)
		snprintf(l->unknown_why, sizeof(l->unknown_why), "no device holds / in "
			 "/proc/self/mountinfo (an initramfs, or a container?)");
	return 0;
}

int evfio_protect_scan_fstab(const struct evfio_sysfs *fs, struct evfio_log *log,
			     struct evfio_protlist *l)
{
	bool root;
	int unresolved = scan_fstab(fs, log, l, &root);

	l->known = root && !unresolved;
	if (!root)
		snprintf(l->unknown_why, sizeof(l->unknown_why), "/etc/fstab does not "
			 "name a device for / that can be found here");
	else if (unresolved)
		snprintf(l->unknown_why, sizeof(l->unknown_why), "%d /etc/fstab "
			 "entr%s name%s no device that can be found here", unresolved,
			 unresolved == 1 ? "y" : "ies", unresolved == 1 ? "s" : "");
	return 0;
}

/* The list recorded in the image: "BDF<TAB>why" lines. */
int evfio_protect_load(const struct evfio_sysfs *fs, const char *path,
		       struct evfio_protlist *l)
{
	char line[256];
	FILE *f = evfio_sysfs_fopen(fs, path);

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *why = line + 12;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		if (!is_bdf(line, strcspn(line, "\t ")))
			continue;	/* not ours: ignore, never guess */
		if (*why) {
			*why++ = '\0';
			why += strspn(why, " \t");
		}
		if (evfio_protect_add(l, line, *why ? why : "recorded when the image was built") < 0) {
			fclose(f);
			return -ENOMEM;
		}
	}
	fclose(f);
	return 0;
}

void evfio_protect_print(FILE *f, const struct evfio_protlist *l)
{
	fputs("# early-vfio: PCI devices that hold the running system\n", f);
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s\t%s\n", l->v[i].bdf, l->v[i].why);
}

const char *evfio_protect_why(const struct evfio_protlist *l, const char *bdf)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (!strcmp(l->v[i].bdf, bdf))
			return l->v[i].why;
	return NULL;
}

void evfio_protect_free(struct evfio_protlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- shared with inventory.c: the same walk, for list and add --------- */

bool evfio_block_name(const struct evfio_sysfs *fs, const char *dev, char *name,
		      size_t size)
{
	return name_of_devpath(fs, dev, name, size);
}

int evfio_block_pci(const struct evfio_sysfs *fs, struct evfio_log *log,
		    const char *name, const char *why, struct evfio_protlist *l)
{
	return add_block(fs, l, log, name, why, 0);
}

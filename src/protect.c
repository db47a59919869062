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
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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

/* Control characters (a mount point may hold a newline or a tab) as \ooo:
 * a reason is one field of one line in the record. */
static void escape_ctl(char *out, size_t size, const char *in)
{
	size_t n = 0;

	for (; *in && n + 5 < size; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(out + n, size - n, "\\%03o", ch);
		else
			out[n++] = (char)ch;
	}
	out[n] = '\0';
}

/* A source that could not be read or did not answer: whatever it would
 * have protected is not known, so the system is not known (fail closed). */
static void doubt(struct evfio_protlist *l, struct evfio_log *log,
		  const char *fmt, ...)
{
	char msg[sizeof(l->doubt_why)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev_warn(log, "%s: the devices it uses are not known, so no storage "
		"controller is taken", msg);
	if (!l->doubt)
		snprintf(l->doubt_why, sizeof(l->doubt_why), "%s", msg);
	l->doubt = true;
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
	escape_ctl(v[l->n].why, sizeof(v[l->n].why), why);
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
 * the interfaces under it (lower_*, brif/, bonding/slaves), each named in
 * the reason: "... via vmbr0, port eno1". */
static int add_netdev(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		      const char *ifname, const char *why, int depth)
{
	char path[256], target[1024], sub[sizeof(l->v->why)], slaves[512];
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
		while ((e = readdir(d))) {
			if (strncmp(e->d_name, "lower_", 6))
				continue;
			snprintf(sub, sizeof(sub), "%.180s, over %.40s", why, e->d_name + 6);
			found += add_netdev(fs, l, e->d_name + 6, sub, depth + 1);
		}
		closedir(d);
	}
	snprintf(path, sizeof(path), "sys/class/net/%s/brif", ifname);
	d = evfio_sysfs_opendir(fs, path);
	if (d) {
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%.180s, port %.40s", why, e->d_name);
			found += add_netdev(fs, l, e->d_name, sub, depth + 1);
		}
		closedir(d);
	}
	/* a bond's members, where lower_* links are missing (older kernels) */
	snprintf(path, sizeof(path), "sys/class/net/%s/bonding/slaves", ifname);
	if (!found && evfio_sysfs_read(fs, path, slaves, sizeof(slaves)) > 0) {
		char *save = NULL;

		for (char *t = strtok_r(slaves, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			snprintf(sub, sizeof(sub), "%.180s, bond member %.40s", why, t);
			found += add_netdev(fs, l, t, sub, depth + 1);
		}
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

	out[0] = '\0';
	if (evfio_sysfs_read(fs, "proc/cmdline", buf, sizeof(buf)) < 0)
		return false;
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

/* The interfaces of the IPv6 routes to server (the default routes when it
 * is NULL), the most specific first; lo and reject routes left out.
 * /proc/net/ipv6_route: dest plen src plen nexthop metric refcnt use flags
 * dev, addresses in 32 hex digits. */
static int route6_ifaces(const struct evfio_sysfs *fs, const struct in6_addr *server,
			 char ifs[][EVFIO_NAME_MAX], int max)
{
	char line[256], dest[33], ifname[64];
	unsigned int plen, flags, best = 0;
	int n = 0;
	FILE *f = evfio_sysfs_fopen(fs, "proc/net/ipv6_route");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		uint8_t d[16];
		bool match = true;

		if (sscanf(line, "%32s %x %*s %*x %*s %*x %*x %*x %x %63s", dest, &plen,
			   &flags, ifname) != 4 || strlen(dest) != 32 || plen > 128 ||
		    !(flags & 1) || (flags & 0x200) || !strcmp(ifname, "lo") ||
		    !evfio_valid_name(ifname))
			continue;
		for (int i = 0; i < 16; i++) {
			unsigned int byte;

			sscanf(dest + 2 * i, "%2x", &byte);
			d[i] = (uint8_t)byte;
		}
		if (!server) {
			if (plen)
				continue;
		} else {
			for (unsigned int bit = 0; bit < plen && match; bit++)
				match = ((d[bit / 8] ^ server->s6_addr[bit / 8]) &
					 (0x80 >> (bit % 8))) == 0;
			if (!match || (n && plen < best))
				continue;
			if (plen > best)
				n = 0;
			best = plen;
		}
		if (n < max)
			snprintf(ifs[n++], EVFIO_NAME_MAX, "%s", ifname);
	}
	fclose(f);
	return n;
}

/* Every interface with an IPv4 or IPv6 route (a configured interface). */
static int routed_ifaces(const struct evfio_sysfs *fs, char ifs[][EVFIO_NAME_MAX],
			 int max)
{
	static const char *const files[] = { "proc/net/route", "proc/net/ipv6_route" };
	char line[256], ifname[64];
	int n = 0;

	for (size_t k = 0; k < 2; k++) {
		FILE *f = evfio_sysfs_fopen(fs, files[k]);
		bool seen;

		while (f && fgets(line, sizeof(line), f)) {
			if (k ? sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %63s", ifname) != 1
			      : sscanf(line, "%63s", ifname) != 1)
				continue;
			if (!strcmp(ifname, "lo") || !strcmp(ifname, "Iface") ||
			    !evfio_valid_name(ifname))
				continue;
			seen = false;
			for (int i = 0; i < n && !seen; i++)
				seen = !strcmp(ifs[i], ifname);
			if (!seen && n < max)
				snprintf(ifs[n++], EVFIO_NAME_MAX, "%s", ifname);
		}
		if (f)
			fclose(f);
	}
	return n;
}

/* The interfaces toward server: an IPv4 or IPv6 address, or NULL (the
 * default routes).  A host name cannot be resolved here (in the image,
 * for another root): *exact is false and the caller fails closed. */
static int server_ifaces(const struct evfio_sysfs *fs, const char *server,
			 char ifs[][EVFIO_NAME_MAX], int max, bool *exact)
{
	struct in6_addr a6;
	uint32_t a4;

	*exact = true;
	if (server && parse_ipv4(server, &a4))
		return route_ifaces(fs, server, ifs, max);
	if (server && inet_pton(AF_INET6, server, &a6) == 1)
		return route6_ifaces(fs, &a6, ifs, max);
	*exact = !server;
	return 0;
}

/* A file system or storage on the network: protect the interfaces that
 * reach server (or the default routes), and the one ip= names.  When the
 * way to it cannot be told (a host name, no route), every configured
 * interface is protected instead: fail closed.  Returns how many PCI
 * devices were found; says loudly when none was. */
static int add_network(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		       struct evfio_log *log, const char *server, const char *why)
{
	char ifs[16][EVFIO_NAME_MAX], dev[EVFIO_NAME_MAX], srv[64] = "";
	char what[sizeof(l->v->why)];
	int n, found = 0;
	bool exact;

	cmdline_ip_device(fs, dev, sizeof(dev), srv, sizeof(srv));
	if (!server && srv[0])
		server = srv;
	n = server_ifaces(fs, server, ifs, 8, &exact);
	if (!server || !exact) {	/* a host name: likely the default route */
		n = route_ifaces(fs, NULL, ifs, 8);
		n += route6_ifaces(fs, NULL, ifs + n, 8);
	}
	for (int i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "%.120s over the network, via %.32s", why, ifs[i]);
		found += add_netdev(fs, l, ifs[i], what, 0);
	}
	if (dev[0]) {
		snprintf(what, sizeof(what), "%.120s over the network, via %.32s (ip=)", why, dev);
		found += add_netdev(fs, l, dev, what, 0);
	}
	if ((!found || !exact) && server) {
		/* the way to it is not known: every interface it may take */
		n = routed_ifaces(fs, ifs, 16);
		for (int i = 0; i < n; i++) {
			snprintf(what, sizeof(what), "%.90s over the network (the way to %.40s "
				 "is not known%s), maybe via %.32s", why, server,
				 exact ? "" : ": a host name", ifs[i]);
			found += add_netdev(fs, l, ifs[i], what, 0);
		}
	}
	if (!found)
		ev_warn(log, "%s is on the network and no PCI network device that "
			"carries it was found (routes in /proc/net/route and "
			"/proc/net/ipv6_route, ip= on the kernel command line): do not "
			"select the network card it uses", why);
	return found;
}

/* ---- the management network ------------------------------------------ */

/* An address on ifname: a route through it (IPv4: its subnet), or a
 * global IPv6 address in /proc/net/if_inet6. */
static bool has_address(const struct evfio_sysfs *fs, const char *ifname)
{
	char ifs[32][EVFIO_NAME_MAX], line[256], name[64];
	unsigned int scope;
	int n = routed_ifaces(fs, ifs, 32);
	bool yes = false;
	FILE *f;

	for (int i = 0; i < n && !yes; i++)
		yes = !strcmp(ifs[i], ifname);
	f = yes ? NULL : evfio_sysfs_fopen(fs, "proc/net/if_inet6");
	while (f && !yes && fgets(line, sizeof(line), f))
		yes = sscanf(line, "%*s %*x %*x %x %*x %63s", &scope, name) == 2 &&
		      scope == 0 && !strcmp(name, ifname);
	if (f)
		fclose(f);
	return yes;
}

/* ringN_addr lines of /etc/pve/corosync.conf (every node's: the route to
 * any of them is the cluster's link). */
static void scan_corosync(const struct evfio_sysfs *fs, struct evfio_log *log,
			  struct evfio_protlist *l)
{
	char line[512], why[sizeof(l->v->why)];
	FILE *f = evfio_sysfs_fopen(fs, "etc/pve/corosync.conf");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *k = line + strspn(line, " \t"), *v = strchr(k, ':');
		unsigned int ring;
		char addr[64], end;

		if (!v || sscanf(k, "ring%u_addr%c", &ring, &end) != 2 || end != ':')
			continue;
		v++;
		v += strspn(v, " \t");
		snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(v, " \t\n"), v);
		snprintf(why, sizeof(why), "the cluster network (corosync ring%u_addr %s)",
			 ring, addr);
		if (addr[0])
			add_network(fs, l, log, addr, why);
	}
	fclose(f);
}

/* What the admin reaches the host through: the default routes (IPv4 and
 * IPv6), every bridge with an address (vmbr0) and its ports, the bonds
 * and VLANs under them, the corosync links, the current SSH session. */
static void scan_management(const struct evfio_sysfs *fs, struct evfio_log *log,
			    struct evfio_protlist *l)
{
	char ifs[16][EVFIO_NAME_MAX], why[sizeof(l->v->why)], path[128];
	const char *ssh = getenv("SSH_CONNECTION");
	struct dirent *e;
	DIR *d;
	int n;

	n = route_ifaces(fs, NULL, ifs, 8);
	for (int i = 0; i < n; i++) {
		snprintf(why, sizeof(why), "the management network: the IPv4 default "
			 "route, via %.32s", ifs[i]);
		add_netdev(fs, l, ifs[i], why, 0);
	}
	n = route6_ifaces(fs, NULL, ifs, 8);
	for (int i = 0; i < n; i++) {
		snprintf(why, sizeof(why), "the management network: the IPv6 default "
			 "route, via %.32s", ifs[i]);
		add_netdev(fs, l, ifs[i], why, 0);
	}
	d = evfio_sysfs_opendir(fs, "sys/class/net");
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !evfio_valid_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "sys/class/net/%.63s/brif", e->d_name);
		if (!evfio_sysfs_exists(fs, path) || !has_address(fs, e->d_name))
			continue;
		snprintf(why, sizeof(why), "the host network: bridge %.63s has an address",
			 e->d_name);
		add_netdev(fs, l, e->d_name, why, 0);
	}
	if (d)
		closedir(d);
	scan_corosync(fs, log, l);
	/* "client port server port": the server address is this host's */
	if (ssh) {
		char local[64];

		bool exact;

		/* no route to it: not this root's session (--sysroot) */
		if (sscanf(ssh, "%*s %*s %63s", local) == 1 &&
		    server_ifaces(fs, local, ifs, 8, &exact) > 0) {
			snprintf(why, sizeof(why), "the SSH session (to %s)", local);
			add_network(fs, l, log, local, why);
		}
	}
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

/* ---- helpers: zpool --------------------------------------------------- */

#define HELPER_TIMEOUT_MS 10000

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Run argv[0] (from PATH) with stdin /dev/null, handing each line of its
 * output to fn.  0, or -ENOENT (no such program), -ETIMEDOUT (no answer in
 * HELPER_TIMEOUT_MS: killed), -EPROTO (exit status not 0), -EILSEQ (a NUL
 * byte), -EOVERFLOW (a line too long), fn's error, -errno. */
static int run_helper(const char *const argv[], int (*fn)(char *line, void *data),
		      void *data)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct timespec t0;
	char buf[4096];
	size_t len = 0;
	int pipefd[2], status = 0, r = 0, rc;
	bool eof = false;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&at);
	/* its own process group: a hung helper is killed with its children */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(&pid, argv[0], &fa, &at, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pipefd[1]);
	if (rc) {
		close(pipefd[0]);
		return -rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!eof && !r) {
		long left = HELPER_TIMEOUT_MS - ms_since(&t0);
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		size_t off = 0;
		ssize_t got;
		char *nl;

		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno != EINTR)
			r = -errno;
		if (rc <= 0)
			continue;
		got = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
		if (got < 0) {
			if (errno != EINTR)
				r = -errno;
			continue;
		}
		if (memchr(buf + len, '\0', (size_t)got))
			r = -EILSEQ;
		len += (size_t)got;
		eof = got == 0;
		if (eof && len && buf[len - 1] != '\n')
			buf[len++] = '\n';	/* the last line, unterminated */
		while (!r && (nl = memchr(buf + off, '\n', len - off))) {
			*nl = '\0';
			r = fn(buf + off, data);
			off = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + off, len - off);
		len -= off;
		if (!r && len >= sizeof(buf) - 2)
			r = -EOVERFLOW;
	}
	close(pipefd[0]);
	if (r)
		kill(-pid, SIGKILL);
	/* it closed its output: give it the rest of the time to exit */
	while ((rc = waitpid(pid, &status, WNOHANG)) == 0) {
		if (ms_since(&t0) >= HELPER_TIMEOUT_MS) {
			kill(-pid, SIGKILL);
			r = r ? r : -ETIMEDOUT;
			waitpid(pid, &status, 0);
			break;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	if (!r && (!WIFEXITED(status) || WEXITSTATUS(status)))
		r = -EPROTO;
	return r;
}

static const char *helper_error(int r)
{
	switch (r) {
	case -ENOENT:
		return "cannot be run (not installed?)";
	case -ETIMEDOUT:
		return "did not answer in 10 s (killed)";
	case -EPROTO:
		return "failed";
	case -EILSEQ:
		return "printed a NUL byte";
	case -EOVERFLOW:
		return "printed a line too long";
	case -EBADMSG:
		return "printed what is not a pool or a device";
	default:
		return strerror(-r);
	}
}

struct zpool_walk {
	const struct evfio_sysfs *fs;
	struct evfio_protlist *l;
	struct evfio_log *log;
	const char *pool, *why;
	int vdevs;
	char bad[128];		/* a device path that is not one here */
};

/* zpool status -P: each vdev is a /dev path (a file vdev is a path, too,
 * on a file system that is protected when it is mounted). */
static int zpool_status_line(char *line, void *data)
{
	struct zpool_walk *w = data;
	char *dev = line + strspn(line, " \t"), name[EVFIO_NAME_MAX];

	dev[strcspn(dev, " \t")] = '\0';
	if (strncmp(dev, "/dev/", 5))
		return 0;
	w->vdevs++;
	if (!name_of_devpath(w->fs, dev, name, sizeof(name))) {
		if (!w->bad[0])
			snprintf(w->bad, sizeof(w->bad), "%s", dev);
		return 0;
	}
	add_block(w->fs, w->l, w->log, name, w->why, 0);
	return 0;
}

/* The pools whose disks were protected in this scan (a pool has many
 * data sets, each a mount). */
static char pools_done[16][EVFIO_NAME_MAX];
static size_t n_pools_done;

/* zpool status -P POOL: every vdev path.  0, or -errno after saying why
 * (the pool's disks are then not known). */
static int add_zpool(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		     struct evfio_log *log, const char *pool, const char *why)
{
	const char *argv[] = { "zpool", "status", "-P", pool, NULL };
	struct zpool_walk w = { .fs = fs, .l = l, .log = log, .pool = pool, .why = why };
	int r;

	for (size_t i = 0; i < n_pools_done; i++)
		if (!strcmp(pools_done[i], pool))
			return 0;
	if (!evfio_valid_name(pool)) {
		doubt(l, log, "ZFS pool '%.60s' is not a name that can be asked about", pool);
		return -EBADMSG;
	}
	r = run_helper(argv, zpool_status_line, &w);
	if (r < 0) {
		doubt(l, log, "ZFS pool %s (%.60s): 'zpool status -P %s' %s", pool, why,
		      pool, helper_error(r));
		return r;
	}
	if (!w.vdevs || w.bad[0]) {
		doubt(l, log, "ZFS pool %s: %s%.100s", pool, w.bad[0] ?
		      "no such device here: " : "'zpool status -P' names no device",
		      w.bad);
		return -ENODEV;
	}
	if (n_pools_done < sizeof(pools_done) / sizeof(*pools_done))
		snprintf(pools_done[n_pools_done++], EVFIO_NAME_MAX, "%s", pool);
	return 0;
}

struct zpool_names {
	char v[64][EVFIO_NAME_MAX];
	size_t n;
	char bad[64];
};

static int zpool_list_line(char *line, void *data)
{
	struct zpool_names *p = data;

	/* ZFS allows ':' and ' ' in names; neither can be asked about safely */
	if (!evfio_valid_name(line)) {
		snprintf(p->bad, sizeof(p->bad), "%s", line);
		return -EBADMSG;
	}
	if (p->n >= sizeof(p->v) / sizeof(*p->v))
		return -EOVERFLOW;
	snprintf(p->v[p->n++], EVFIO_NAME_MAX, "%s", line);
	return 0;
}

/* Every imported pool holds something the host uses (VM disks on
 * local-zfs, backups), mounted or not.  With the zfs module loaded and
 * zpool not answering, nothing can be said about storage. */
static void scan_zpools(const struct evfio_sysfs *fs, struct evfio_log *log,
			struct evfio_protlist *l)
{
	const char *argv[] = { "zpool", "list", "-H", "-o", "name", NULL };
	struct zpool_names *p;
	char why[80];
	int r;

	if (!evfio_sysfs_exists(fs, "sys/module/zfs"))
		return;
	p = calloc(1, sizeof(*p));
	if (!p) {
		doubt(l, log, "ZFS pools: out of memory");
		return;
	}
	r = run_helper(argv, zpool_list_line, p);
	if (r == -EBADMSG)
		doubt(l, log, "ZFS: 'zpool list' printed the pool name '%.40s', which "
		      "cannot be asked about", p->bad);
	else if (r < 0)
		doubt(l, log, "ZFS is loaded and 'zpool list -H -o name' %s",
		      helper_error(r));
	for (size_t i = 0; !r && i < p->n; i++) {
		snprintf(why, sizeof(why), "ZFS pool %s (imported)", p->v[i]);
		add_zpool(fs, l, log, p->v[i], why);
	}
	free(p);
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
		return add_zpool(fs, l, log, pool, why) == 0;
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
	int root = 0;
	FILE *f = evfio_sysfs_fopen(fs, "proc/self/mountinfo");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!evfio_mountinfo_line(line, &m)) {
			doubt(l, log, "/proc/self/mountinfo: a line that cannot be read");
			continue;
		}
		/* the running system, not an initramfs (its / is rootfs) */
		if (!strcmp(m.point, "/") && strcmp(m.fstype, "rootfs"))
			root = 1;
		/* major 0 without a pool or a server: proc, tmpfs, overlay... */
		if (!strncmp(m.devnum, "0:", 2) && strcmp(m.fstype, "btrfs") &&
		    strcmp(m.fstype, "zfs") && !is_network_fs(m.fstype))
			continue;
		mount_why(why, sizeof(why), m.point, m.source);
		if (add_fs(fs, l, log, m.devnum, m.fstype, m.source, why) &&
		    !strcmp(m.point, "/")) {
			l->known = true;
		}
	}
	fclose(f);
	return root;
}

static void scan_swaps(const struct evfio_sysfs *fs, struct evfio_log *log,
		       struct evfio_protlist *l)
{
	char line[2048], name[EVFIO_NAME_MAX];
	FILE *f = evfio_sysfs_fopen(fs, "proc/swaps");

	if (!f) {
		doubt(l, log, "/proc/swaps: %s", strerror(errno));
		return;
	}
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
	if (!f) {
		if (errno != ENOENT)
			doubt(l, log, "/etc/fstab: %s", strerror(errno));
		return 0;
	}
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

/* ---- storage in use without a mount ------------------------------------ */

/* The top of the stack that holds name (nvme0n1p3 -> dm-0, a PV -> the
 * thin pool -> its thin LV), as "dm-5 (pve-vm--100--disk--0)". */
static bool top_holder(const struct evfio_sysfs *fs, const char *name, char *out,
		       size_t size, int depth)
{
	char path[128], dm[EVFIO_NAME_MAX];
	struct dirent *e;
	DIR *d;
	bool held = false;

	snprintf(path, sizeof(path), "sys/class/block/%s/holders", name);
	d = depth <= MAX_DEPTH ? evfio_sysfs_opendir(fs, path) : NULL;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !evfio_valid_name(e->d_name))
			continue;
		held = true;
		if (!top_holder(fs, e->d_name, out, size, depth + 1)) {
			snprintf(path, sizeof(path), "sys/class/block/%.63s/dm/name", e->d_name);
			if (evfio_sysfs_read(fs, path, dm, sizeof(dm)) >= 0)
				snprintf(out, size, "%.63s (%.63s)", e->d_name, dm);
			else
				snprintf(out, size, "%.63s", e->d_name);
		}
		break;
	}
	if (d)
		closedir(d);
	return held;
}

/* Every block device something holds: an LVM PV under an active LV (a
 * thin pool such as Proxmox's local-lvm, a Ceph OSD), an md member, a
 * dm-crypt or multipath device, a bcache backing or cache device.  Its
 * controller is in use whether or not anything is mounted. */
static void scan_holders(const struct evfio_sysfs *fs, struct evfio_log *log,
			 struct evfio_protlist *l)
{
	char top[160], why[sizeof(l->v->why)], path[128];
	struct dirent *e;
	DIR *d = evfio_sysfs_opendir(fs, "sys/class/block");

	if (!d) {
		doubt(l, log, "/sys/class/block: %s", strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !evfio_valid_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "sys/class/block/%.63s/bcache", e->d_name);
		if (top_holder(fs, e->d_name, top, sizeof(top), 0))
			snprintf(why, sizeof(why), "%.63s is in use by %.140s, mounted or not",
				 e->d_name, top);
		else if (evfio_sysfs_exists(fs, path))
			snprintf(why, sizeof(why), "%.63s is a bcache device, mounted or not",
				 e->d_name);
		else
			continue;
		add_block(fs, l, log, e->d_name, why, 0);
	}
	closedir(d);
}

/* LIO (targetcli) backstores export a block device to iSCSI, FC or
 * vhost initiators: configfs target/core/HBA/NAME/udev_path. */
static void scan_lio(const struct evfio_sysfs *fs, struct evfio_log *log,
		     struct evfio_protlist *l)
{
	char path[300], dev[256], name[EVFIO_NAME_MAX], why[sizeof(l->v->why)];
	struct dirent *h, *b;
	DIR *top = evfio_sysfs_opendir(fs, "sys/kernel/config/target/core"), *d;

	if (!top)
		return;
	while ((h = readdir(top))) {
		if (h->d_name[0] == '.' || !evfio_valid_name(h->d_name))
			continue;
		snprintf(path, sizeof(path), "sys/kernel/config/target/core/%s", h->d_name);
		d = evfio_sysfs_opendir(fs, path);
		while (d && (b = readdir(d))) {
			if (b->d_name[0] == '.' || !evfio_valid_name(b->d_name))
				continue;
			snprintf(path, sizeof(path), "sys/kernel/config/target/core/%.63s/%.63s/udev_path",
				 h->d_name, b->d_name);
			if (evfio_sysfs_read(fs, path, dev, sizeof(dev)) < 0 || !dev[0])
				continue;
			snprintf(why, sizeof(why), "LIO backstore %.63s/%.63s (%.90s)", h->d_name,
				 b->d_name, dev);
			if (name_of_devpath(fs, dev, name, sizeof(name)))
				add_block(fs, l, log, name, why, 0);
			else if (!strncmp(dev, "/dev/", 5))
				doubt(l, log, "%s: no such block device here", why);
		}
		if (d)
			closedir(d);
	}
	closedir(top);
}

/* "pve" and an LV's dm name "pve-data": LVM doubles each '-' of the VG. */
static bool dm_in_vg(const char *dm, const char *vg)
{
	for (; *vg; vg++, dm++) {
		if (*dm != *vg)
			return false;
		if (*vg == '-' && *++dm != '-')
			return false;
	}
	return *dm == '-' && dm[1] != '-';
}

/* The active LVs of a volume group: the disks under them. */
static int add_vg(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		  struct evfio_log *log, const char *vg, const char *why)
{
	char path[128], dm[128];
	struct dirent *e;
	DIR *d = evfio_sysfs_opendir(fs, "sys/class/block");
	int found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "dm-", 3) || !evfio_valid_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "sys/class/block/%.63s/dm/name", e->d_name);
		if (evfio_sysfs_read(fs, path, dm, sizeof(dm)) >= 0 && dm_in_vg(dm, vg)) {
			add_block(fs, l, log, e->d_name, why, 0);
			found++;
		}
	}
	closedir(d);
	return found;
}

struct pve_storage {
	char type[32], id[EVFIO_NAME_MAX];
	char vg[128], pool[128], server[128];
	bool disabled;
};

static void pve_storage_done(const struct evfio_sysfs *fs, struct evfio_log *log,
			     struct evfio_protlist *l, struct pve_storage *st)
{
	char why[sizeof(l->v->why)];

	if (!st->type[0] || st->disabled)
		return;
	snprintf(why, sizeof(why), "Proxmox storage '%s' (%s)", st->id, st->type);
	if (st->vg[0] && !add_vg(fs, l, log, st->vg, why))
		doubt(l, log, "%s: volume group %s has no active logical volume, so "
		      "its disks cannot be told (vgchange -ay %s)", why, st->vg, st->vg);
	if (st->pool[0]) {
		char pool[EVFIO_NAME_MAX];

		snprintf(pool, sizeof(pool), "%.*s", (int)strcspn(st->pool, "/"), st->pool);
		add_zpool(fs, l, log, pool, why);
	}
	if (st->server[0]) {
		char server[128];
		const char *colon = strchr(st->server, ':');

		/* "10.0.0.5:3260", "[2001:db8::5]:3260", "2001:db8::5" */
		if (st->server[0] == '[' || (colon && !strchr(colon + 1, ':')))
			server_of(st->server, server, sizeof(server));
		else
			snprintf(server, sizeof(server), "%s", st->server);
		add_network(fs, l, log, server, why);
	}
}

/* /etc/pve/storage.cfg: "TYPE: ID" then indented "key value" lines.  Only
 * what holds a device matters here: an LVM volume group, a ZFS pool, and
 * the server of a network storage (a directory storage is on a mount). */
static void scan_pve_storage(const struct evfio_sysfs *fs, struct evfio_log *log,
			     struct evfio_protlist *l)
{
	static const char *const server_keys[] = { "server", "portal", "monhost" };
	struct pve_storage st = { 0 };
	char line[512];
	FILE *f = evfio_sysfs_fopen(fs, "etc/pve/storage.cfg");

	if (!f) {
		if (errno != ENOENT)
			doubt(l, log, "/etc/pve/storage.cfg: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *k = line + strspn(line, " \t"), *v;

		line[strcspn(line, "\n")] = '\0';
		if (!*k || *k == '#')
			continue;
		if (k == line) {	/* "lvmthin: local-lvm" */
			pve_storage_done(fs, log, l, &st);
			memset(&st, 0, sizeof(st));
			v = strchr(line, ':');
			if (!v)
				continue;
			snprintf(st.type, sizeof(st.type), "%.*s", (int)(v - line), line);
			v += 1 + strspn(v + 1, " \t");
			snprintf(st.id, sizeof(st.id), "%.*s", (int)strcspn(v, " \t"), v);
			continue;
		}
		v = k + strcspn(k, " \t");
		if (*v)
			*v++ = '\0';
		v += strspn(v, " \t");
		if (!strcmp(k, "disable"))
			st.disabled = true;
		else if (!strcmp(k, "vgname"))
			snprintf(st.vg, sizeof(st.vg), "%s", v);
		else if (!strcmp(k, "pool") && !strcmp(st.type, "zfspool"))
			snprintf(st.pool, sizeof(st.pool), "%s", v);
		for (size_t i = 0; i < sizeof(server_keys) / sizeof(*server_keys); i++)
			if (!strcmp(k, server_keys[i]))
				/* "monhost 10.0.0.1 10.0.0.2", "portal 10.0.0.5:3260" */
				snprintf(st.server, sizeof(st.server), "%.*s",
					 (int)strcspn(v, " ,;"), v);
	}
	pve_storage_done(fs, log, l, &st);
	fclose(f);
}

/* ---- the console --------------------------------------------------- */

/* Where the kernel command line is set on this system, for a message. */
static const char *cmdline_where(const struct evfio_sysfs *fs)
{
	if (evfio_sysfs_exists(fs, "etc/kernel/cmdline"))
		return "add them to /etc/kernel/cmdline, then proxmox-boot-tool refresh";
	if (evfio_sysfs_exists(fs, "etc/default/grub"))
		return "add them to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, "
		       "then update-grub";
	return "add them to the kernel command line";
}

static void add_console(const struct evfio_sysfs *fs, struct evfio_protlist *l,
			const char *bdf, const char *what)
{
	char why[sizeof(l->v->why)];

	snprintf(why, sizeof(why), "the console (%s); to free it boot with "
		 "video=efifb:off initcall_blacklist=sysfb_init: %s", what,
		 cmdline_where(fs));
	evfio_protect_add(l, bdf, why);
}

/* The boot display (boot_vga=1), and a GPU whose memory the firmware's
 * framebuffer holds (efifb, simplefb, simpledrm, nested under its BAR in
 * /proc/iomem): the host's console.  Taking it leaves the host without
 * one, and vfio-pci cannot reserve the BAR ("BAR 0: can't reserve"). */
static void scan_console(const struct evfio_sysfs *fs, struct evfio_protlist *l)
{
	static const char *const fbs[] = { "efifb", "simplefb", "simpledrm", "BOOTFB",
					   "vesafb" };
	char path[128], v[8], line[256], stack[8][EVFIO_BDF_LEN];
	struct dirent *e;
	DIR *d = evfio_sysfs_opendir(fs, "sys/bus/pci/devices");
	FILE *f;

	while (d && (e = readdir(d))) {
		if (!is_bdf(e->d_name, strlen(e->d_name)))
			continue;
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%.63s/boot_vga", e->d_name);
		if (evfio_sysfs_read(fs, path, v, sizeof(v)) >= 0 && !strcmp(v, "1"))
			add_console(fs, l, e->d_name, "boot_vga=1: the display the firmware "
				    "set up");
	}
	if (d)
		closedir(d);
	f = evfio_sysfs_fopen(fs, "proc/iomem");
	memset(stack, 0, sizeof(stack));
	while (f && fgets(line, sizeof(line), f)) {
		size_t depth = strspn(line, " ") / 2;
		char *name = strstr(line, " : ");

		if (!name || depth >= 8)
			continue;
		name += 3;
		name[strcspn(name, "\n")] = '\0';
		stack[depth][0] = '\0';
		if (is_bdf(name, strlen(name)))
			snprintf(stack[depth], EVFIO_BDF_LEN, "%s", name);
		for (size_t i = 0; i < sizeof(fbs) / sizeof(*fbs); i++) {
			if (strcmp(name, fbs[i]))
				continue;
			for (size_t k = depth; k-- > 0;)
				if (stack[k][0]) {
					snprintf(path, sizeof(path), "%s holds its memory", fbs[i]);
					add_console(fs, l, stack[k], path);
					break;
				}
		}
		for (size_t k = depth + 1; k < 8; k++)
			stack[k][0] = '\0';
	}
	if (f)
		fclose(f);
}

int evfio_protect_scan(const struct evfio_sysfs *fs, struct evfio_log *log,
		       struct evfio_protlist *l)
{
	bool root;
	int r;

	/* adds to l: it may already hold the list recorded in the image */
	n_pools_done = 0;
	r = scan_mounts(fs, log, l);
	if (r < 0)
		return r;
	scan_swaps(fs, log, l);
	scan_fstab(fs, log, l, &root);
	scan_holders(fs, log, l);
	scan_lio(fs, log, l);
	scan_zpools(fs, log, l);
	scan_pve_storage(fs, log, l);
	scan_management(fs, log, l);
	scan_console(fs, l);
	/* on the running system (its / was told apart), what could not be
	 * read makes it unknown; in an initramfs the record speaks */
	if (l->doubt && r > 0) {
		l->known = false;
		snprintf(l->unknown_why, sizeof(l->unknown_why), "%s", l->doubt_why);
	} else if (!l->known)
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

// SPDX-License-Identifier: MIT
/* The PCI devices that hold the running system: the controllers behind
 * /, /boot, the EFI system partition, /usr and active swap, through any
 * stack of partitions, md RAID, LVM, dm-crypt (sysfs "slaves") or a ZFS
 * pool (zpool status -P).  Found on the running system by "check" and the
 * initramfs hook; recorded in the image as /etc/early-vfio.protected for
 * the boot-time binder, which cannot see the mounts yet. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "early-vfio.h"

extern char **environ;

#define MAX_DEPTH 8

static const char *const system_mounts[] = {
	"/", "/boot", "/boot/efi", "/efi", "/usr",
};

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

static int add(struct evfio_protlist *l, const char *bdf, const char *why)
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
			if (add(l, bdf, why) < 0)
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

/* A block device (by name, e.g. "sda1" or "dm-0"): its own controller,
 * and recursively every device under it. */
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
	strcpy(name, base);
	return true;
}

/* Undo mountinfo's octal escapes (\040 for a space). */
static void unescape(char *s)
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

struct mount {
	char point[256];
	char devnum[32];
	char fstype[32];
	char source[256];
};

static bool parse_mountinfo_line(char *line, struct mount *m)
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
	unescape(f[4]);
	unescape(f[6]);
	snprintf(m->point, sizeof(m->point), "%s", f[4]);
	snprintf(m->devnum, sizeof(m->devnum), "%s", f[2]);
	snprintf(m->fstype, sizeof(m->fstype), "%s", f[5]);
	snprintf(m->source, sizeof(m->source), "%s", f[6]);
	return true;
}

static void add_mount(const struct evfio_sysfs *fs, struct evfio_protlist *l,
		      struct evfio_log *log, const struct mount *m,
		      const char *what)
{
	char name[EVFIO_NAME_MAX], why[sizeof(l->v->why)];

	snprintf(why, sizeof(why), "%.60s (%.90s)", what, m->source);
	if (!strcmp(m->fstype, "zfs")) {
		char pool[EVFIO_NAME_MAX];

		snprintf(pool, sizeof(pool), "%.*s", (int)strcspn(m->source, "/"),
			 m->source);
		add_zpool(fs, l, log, pool, why);
		return;
	}
	if ((strncmp(m->devnum, "0:", 2) &&
	     name_of_devnum(fs, m->devnum, name, sizeof(name))) ||
	    name_of_devpath(fs, m->source, name, sizeof(name)))
		add_block(fs, l, log, name, why, 0);
}

int evfio_protect_scan(const struct evfio_sysfs *fs, struct evfio_log *log,
		       struct evfio_protlist *l)
{
	char line[2048], name[EVFIO_NAME_MAX];
	struct mount m;
	FILE *f;

	/* adds to l: it may already hold the list recorded in the image */
	f = evfio_sysfs_fopen(fs, "proc/self/mountinfo");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!parse_mountinfo_line(line, &m))
			continue;
		for (size_t i = 0; i < sizeof(system_mounts) / sizeof(*system_mounts); i++) {
			char what[300];

			if (strcmp(m.point, system_mounts[i]))
				continue;
			snprintf(what, sizeof(what), "%s%s", m.point,
				 !strcmp(m.point, "/") ? " (root)" : "");
			add_mount(fs, l, log, &m, what);
		}
	}
	fclose(f);

	f = evfio_sysfs_fopen(fs, "proc/swaps");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *dev = line, why[sizeof(l->v->why)];

		dev[strcspn(dev, " \t\n")] = '\0';
		unescape(dev);
		if (strncmp(dev, "/dev/", 5))
			continue;	/* header, or a swap file: on a mount above */
		snprintf(why, sizeof(why), "swap (%.100s)", dev);
		if (name_of_devpath(fs, dev, name, sizeof(name)))
			add_block(fs, l, log, name, why, 0);
	}
	fclose(f);
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
		if (add(l, line, *why ? why : "recorded when the image was built") < 0) {
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

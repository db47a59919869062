// SPDX-License-Identifier: MIT
/* Every file access under the system root, relative to one directory fd:
 * "/" on a real system, --sysroot in tests.  /sys, /proc, /dev and /run
 * alike: no other module opens a path under the root itself.  Paths are
 * built only from fixed strings, addresses printed from numbers, and names
 * checked by evfio_valid_name().  The lowest layer: it depends on nothing
 * else of early-vfio. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "early-vfio.h"

bool evfio_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= EVFIO_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		      ch == '.'))
			return false;
	}
	return strcmp(s, ".") && strcmp(s, "..");
}

int evfio_sysfs_open(struct evfio_sysfs *fs, const char *root)
{
	if (strlen(root) >= sizeof(fs->root))
		return -ENAMETOOLONG;
	fs->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->rootfd < 0)
		return -errno;
	snprintf(fs->root, sizeof(fs->root), "%s", root);
	return 0;
}

void evfio_sysfs_close(struct evfio_sysfs *fs)
{
	if (fs->rootfd >= 0)
		close(fs->rootfd);
	fs->rootfd = -1;
}

int evfio_sysfs_read(const struct evfio_sysfs *fs, const char *path,
		     char *buf, size_t size)
{
	ssize_t n;
	int fd, err = 0;

	if (size == 0)
		return -EINVAL;
	fd = openat(fs->rootfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size);
	if (n < 0)
		err = -errno;
	else if ((size_t)n == size)
		err = -EOVERFLOW;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (memchr(buf, '\0', (size_t)n))
		return -EILSEQ;
	return (int)n;
}

int evfio_sysfs_write(const struct evfio_sysfs *fs, const char *path,
		      const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd, err = 0;

	/* no O_CREAT: a missing attribute is ENOENT, on real sysfs and in
	 * a fake tree alike; one write(), as sysfs takes one store per
	 * write */
	fd = openat(fs->rootfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int evfio_sysfs_readlink(const struct evfio_sysfs *fs, const char *path,
			 char *buf, size_t size)
{
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	n = readlinkat(fs->rootfd, path, buf, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n == size - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int evfio_sysfs_link_name(const struct evfio_sysfs *fs, const char *path,
			  char *buf, size_t size)
{
	char target[PATH_MAX];
	const char *base;
	struct stat st;
	int r;

	r = evfio_sysfs_readlink(fs, path, target, sizeof(target));
	if (r < 0)
		return r;
	/* a dangling link means no driver, as libpci's realpath() does */
	if (fstatat(fs->rootfd, path, &st, 0) < 0)
		return -ENOENT;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!evfio_valid_name(base) || strlen(base) >= size)
		return -EILSEQ;
	strcpy(buf, base);
	return 0;
}

DIR *evfio_sysfs_opendir(const struct evfio_sysfs *fs, const char *path)
{
	DIR *d;
	int fd = openat(fs->rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

int evfio_sysfs_openat(const struct evfio_sysfs *fs, const char *path,
		       int flags, unsigned int mode)
{
	int fd = openat(fs->rootfd, path, flags | O_CLOEXEC | O_NOCTTY, (mode_t)mode);

	return fd < 0 ? -errno : fd;
}

FILE *evfio_sysfs_fopen(const struct evfio_sysfs *fs, const char *path)
{
	int fd = evfio_sysfs_openat(fs, path, O_RDONLY, 0);
	FILE *f;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

bool evfio_sysfs_first_line(const struct evfio_sysfs *fs, const char *path, char *buf,
			    size_t size)
{
	FILE *f = evfio_sysfs_fopen(fs, path);
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (!ok)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

int evfio_file_replace(const struct evfio_sysfs *fs, const char *dir,
		       const char *name, const char *text)
{
	char tmp[256], path[256];
	size_t len = strlen(text);
	ssize_t n;
	int fd, r = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.new", dir, name) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (mkdirat(fs->rootfd, dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(fs->rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(fs->rootfd, tmp, fs->rootfd, path) < 0)
		r = -errno;
	if (r)
		unlinkat(fs->rootfd, tmp, 0);
	return r;
}

bool evfio_sysfs_exists(const struct evfio_sysfs *fs, const char *path)
{
	return faccessat(fs->rootfd, path, F_OK, 0) == 0;
}

int evfio_dev_path(char *buf, size_t size, const char *bdf, const char *attr)
{
	int n = snprintf(buf, size, "sys/bus/pci/devices/%s/%s", bdf, attr);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

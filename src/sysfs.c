// SPDX-License-Identifier: MIT
/* Every sysfs (and /proc, /dev) access, relative to one root directory fd:
 * "/" on a real system, --sysroot in tests.  Paths are built only from
 * fixed strings, addresses printed from numbers, and names checked by
 * evfio_valid_name(). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "early-vfio.h"

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

int evfio_sysfs_link_name(const struct evfio_sysfs *fs, const char *path,
			  char *buf, size_t size)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;
	struct stat st;

	n = readlinkat(fs->rootfd, path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
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

bool evfio_sysfs_exists(const struct evfio_sysfs *fs, const char *path)
{
	return faccessat(fs->rootfd, path, F_OK, 0) == 0;
}

int evfio_dev_path(char *buf, size_t size, const char *bdf, const char *attr)
{
	int n = snprintf(buf, size, "sys/bus/pci/devices/%s/%s", bdf, attr);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

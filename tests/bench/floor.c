// SPDX-License-Identifier: MIT
/* floor ROOT VENDOR:DEVICE... - the floor of a PCI scan, for tests/bench/run.sh: what any tool
 * that selects by vendor:device must at least do.  Lists ROOT/sys/bus/pci/devices, opens each
 * function's vendor and device (openat from the directory, no path formatting beyond the name),
 * reads them, compares with the ids given, and nothing else: no class, no driver, no IOMMU
 * group, no safety checks, no writes.  Prints the matching addresses and "N matched of M". */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long attr(int dfd, const char *name, const char *file)
{
	char path[300], buf[16];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", name, file);
	fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 16);
}

int main(int argc, char **argv)
{
	char path[4200];
	unsigned long want[64];
	int nwant = 0, matched = 0, total = 0;
	struct dirent *e;
	DIR *dir;

	if (argc < 2) {
		fprintf(stderr, "usage: floor ROOT VENDOR:DEVICE...\n");
		return 2;
	}
	for (int i = 2; i < argc && nwant < 64; i++) {
		unsigned int v, d;

		if (sscanf(argv[i], "%4x:%4x", &v, &d) == 2)
			want[nwant++] = (unsigned long)v << 16 | d;
	}
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices", argv[1]);
	dir = opendir(path);
	if (!dir) {
		perror(path);
		return 1;
	}
	while ((e = readdir(dir))) {
		long v, d;

		if (e->d_name[0] == '.')
			continue;
		total++;
		v = attr(dirfd(dir), e->d_name, "vendor");
		d = attr(dirfd(dir), e->d_name, "device");
		if (v < 0 || d < 0)
			continue;
		for (int i = 0; i < nwant; i++)
			if (want[i] == ((unsigned long)v << 16 | (unsigned long)d)) {
				printf("%s\n", e->d_name);
				matched++;
				break;
			}
	}
	closedir(dir);
	printf("%d matched of %d\n", matched, total);
	return 0;
}

// SPDX-License-Identifier: MIT
/* "check --initramfs IMAGE": verify a built image without rebooting.  The
 * image is unpacked with initramfs-tools' own unmkinitramfs (it knows every
 * compression and the early microcode archive) into a private temporary
 * directory, then inspected. */
#define _XOPEN_SOURCE 700
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "early-vfio.h"

extern char **environ;

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static int run(const char *const argv[], struct evfio_log *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r, status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
					 O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		ev_err(log, "cannot run %s: %s", argv[0], strerror(r));
		return -r;
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		ev_err(log, "%s failed", argv[0]);
		return -EIO;
	}
	return 0;
}

static char *found_module;

static int find_vfio_pci(const char *path, const struct stat *st, int type,
			 struct FTW *ftw)
{
	const char *base = path + ftw->base;

	(void)st;
	if (type == FTW_F && (!strncmp(base, "vfio-pci.ko", 11) ||
			      !strncmp(base, "vfio_pci.ko", 11))) {
		found_module = strdup(path);
		return 1;
	}
	return 0;
}

/* 1-based line of the ORDER entry for script, 0 when absent. */
static int order_line(const char *order, const char *script)
{
	char line[512];
	size_t len = strlen(script);
	int n = 0, at = 0;
	FILE *f = fopen(order, "re");

	if (!f)
		return 0;
	while (!at && fgets(line, sizeof(line), f)) {
		n++;
		if (!strncmp(line, script, len) &&
		    (line[len] == ' ' || line[len] == '\n'))
			at = n;
	}
	fclose(f);
	return at;
}

static bool same_file_content(const char *a, const char *b)
{
	FILE *fa = fopen(a, "re"), *fb = fopen(b, "re");
	bool same = fa && fb;
	int ca, cb;

	while (same) {
		ca = getc(fa);
		cb = getc(fb);
		if (ca != cb)
			same = false;
		if (ca == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* "static", "dynamic", or NULL when path is not a 64-bit ELF file. */
static const char *elf_linkage(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	const char *kind = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph) || eh.e_phnum > 256)
		goto out;
	kind = "static";
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph)) {
			kind = NULL;
			break;
		}
		if (ph.p_type == PT_INTERP)
			kind = "dynamic";
	}
out:
	close(fd);
	return kind;
}

/* ok is evaluated once: it may be a call with side effects */
#define REPORT(ok, ...)                                                    \
	do {                                                               \
		bool ok_ = (ok);                                           \
		printf("  %-4s ", ok_ ? "ok" : "FAIL");                   \
		printf(__VA_ARGS__);                                       \
		putchar('\n');                                             \
		bad += !ok_;                                               \
	} while (0)

int evfio_initramfs_check(const char *image, const char *config,
			  struct evfio_log *log)
{
	char tmp[] = "/tmp/early-vfio.XXXXXX";
	char root[4200], path[4400], order[4400];
	const char *argv[] = { "unmkinitramfs", image, tmp, NULL };
	struct evfio_config cfg;
	struct stat st;
	int bad = 0, e, u, r;

	if (access(image, R_OK) < 0) {
		ev_err(log, "%s: %s", image, strerror(errno));
		return -errno;
	}
	if (!mkdtemp(tmp))
		return -errno;
	r = run(argv, log);
	if (r < 0)
		goto out;
	/* with an early microcode archive the main one is in main/ */
	snprintf(root, sizeof(root), "%s/main", tmp);
	if (stat(root, &st) < 0)
		snprintf(root, sizeof(root), "%s", tmp);

	printf("%s:\n", image);
	snprintf(path, sizeof(path), "%s/usr/sbin/early-vfio", root);
	REPORT(access(path, X_OK) == 0, "binary /usr/sbin/early-vfio (%s)",
	       elf_linkage(path) ? elf_linkage(path) : "not an ELF executable");

	snprintf(path, sizeof(path), "%s/etc/early-vfio.conf", root);
	r = stat(path, &st);
	REPORT(r == 0, "config /etc/early-vfio.conf");
	if (r == 0) {
		struct evfio_log quiet = *log;

		quiet.kmsg_fd = -1;
		REPORT(evfio_config_load(&cfg, path, &quiet) == 0,
		       "the config in the image is valid");
		evfio_config_free(&cfg);
		REPORT(same_file_content(path, config),
		       "the config in the image is the same as %s%s", config,
		       same_file_content(path, config) ? "" :
		       " (run: update-initramfs -u -k all)");
	}

	/* every archive: Debian 13's initramfs-tools puts compressed modules
	 * (.ko.xz) in an uncompressed early archive, not in main/ */
	found_module = NULL;
	nftw(tmp, find_vfio_pci, 32, FTW_PHYS);
	REPORT(found_module != NULL, "module vfio-pci%s%s",
	       found_module ? " " : " (not in the image)",
	       found_module ? found_module + strlen(tmp) : "");
	free(found_module);

	snprintf(path, sizeof(path), "%s/scripts/init-top/early-vfio", root);
	REPORT(access(path, R_OK) == 0, "boot script /scripts/init-top/early-vfio");

	snprintf(order, sizeof(order), "%s/scripts/init-top/ORDER", root);
	e = order_line(order, "/scripts/init-top/early-vfio");
	u = order_line(order, "/scripts/init-top/udev");
	REPORT(e > 0 && (u == 0 || e < u),
	       "scripts/init-top/ORDER runs early-vfio (line %d) before udev "
	       "(line %d)", e, u);
	r = bad ? -EINVAL : 0;
	printf("%s\n", bad ? "image is NOT ready" : "image is ready");
out:
	nftw(tmp, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
	return r;
}

// SPDX-License-Identifier: MIT
/* What the firmware loads on a host whose EFI system partitions are kept
 * by Proxmox VE's proxmox-boot-tool: the ESPs listed (by VFAT UUID) in
 * /etc/kernel/proxmox-boot-uuids, each in one of the tool's two layouts:
 *
 *   systemd-boot  loader/loader.conf, EFI/proxmox/<kver>/{vmlinuz,initrd.img}-<kver>,
 *                 loader/entries/proxmox-<kver>.conf ("options" from /etc/kernel/cmdline)
 *   GRUB          EFI/proxmox/grubx64.efi (init ESP grub) or grub/ (legacy BIOS),
 *                 {vmlinuz,initrd.img}-<kver> at the top, the command line from
 *                 /etc/default/grub
 *
 * Each ESP is mounted read-only on a temporary directory with mount(8) (the
 * tool's own way; found on PATH), looked at, and unmounted.  The drift
 * between /boot and the ESPs is what makes a correct image in /boot boot
 * the old one: an ESP initrd older than /boot's, or missing; a loader
 * entry with two initrd lines; /etc/kernel/cmdline not what this boot ran.
 * Writes nothing under the root. */
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "early-vfio.h"

extern char **environ;

#define UUIDS_FILE "etc/kernel/proxmox-boot-uuids"

static int spawn_quiet(const char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r, status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

/* A VFAT UUID as proxmox-boot-tool writes them: "ABCD-1234". */
static bool vfat_uuid(const char *s)
{
	return strlen(s) == 9 && evfio_hex(s, 4, NULL) && s[4] == '-' && evfio_hex(s + 5, 4, NULL);
}

static int mtime_of(const char *path, time_t *t)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*t = st.st_mtime;
	return 0;
}

/* The words of a command line, without the boot loader's own
 * (BOOT_IMAGE=, initrd=), sorted, into buf: "a b c". */
static void words_of(const char *line, char *buf, size_t size)
{
	char copy[4096], *w[256], *save, *tok;
	size_t n = 0, len = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok_r(copy, " \t\n", &save); tok && n < 256;
	     tok = strtok_r(NULL, " \t\n", &save))
		if (strncmp(tok, "BOOT_IMAGE=", 11) && strncmp(tok, "initrd=", 7))
			w[n++] = tok;
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(w[k - 1], w[k]) > 0; k--) {
			char *x = w[k];

			w[k] = w[k - 1];
			w[k - 1] = x;
		}
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "", w[i]);
}

int evfio_cmdline_drift(struct evfio_ctx *c)
{
	char kcmd[4096], cur[4096], a[4096], b[4096];

	if (!evfio_sysfs_first_line(&c->fs, "etc/kernel/cmdline", kcmd, sizeof(kcmd)) ||
	    !evfio_sysfs_first_line(&c->fs, "proc/cmdline", cur, sizeof(cur)))
		return 0;
	words_of(kcmd, a, sizeof(a));
	words_of(cur, b, sizeof(b));
	if (!strcmp(a, b))
		return 0;
	ev_warn(&c->log, "/etc/kernel/cmdline is not the command line this boot ran "
		"(/etc/kernel/cmdline: '%.300s'; /proc/cmdline: '%.300s'): the next boot "
		"uses the file's once proxmox-boot-tool refresh has copied it to the ESPs",
		kcmd, cur);
	return 1;
}

/* One loader entry: how many initrd lines it has. */
static int entry_initrds(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		if (!strncmp(s, "initrd", 6) && (s[6] == ' ' || s[6] == '\t'))
			n++;
	}
	fclose(f);
	return n;
}

struct esp_run {
	struct evfio_ctx *c;
	const char *config;	/* check each image with it; NULL: drift only */
	int problems;
	enum evfio_loader loader;
};

/* One kernel on one ESP. */
static void check_kernel(struct esp_run *e, const char *uuid, const char *dir, bool sdboot,
			 const char *kver)
{
	char esp_img[5120], boot_img[5120], entry[5120];
	time_t te = 0, tb = 0;

	if (sdboot)
		snprintf(esp_img, sizeof(esp_img), "%s/EFI/proxmox/%s/initrd.img-%s", dir, kver, kver);
	else
		snprintf(esp_img, sizeof(esp_img), "%s/initrd.img-%s", dir, kver);
	snprintf(boot_img, sizeof(boot_img), "%s%sboot/initrd.img-%s", e->c->fs.root,
		 e->c->fs.root[strlen(e->c->fs.root) - 1] == '/' ? "" : "/", kver);
	if (mtime_of(boot_img, &tb) < 0)
		return;	/* a kernel only the ESP has: not ours to judge */
	if (mtime_of(esp_img, &te) < 0) {
		ev_warn(&e->c->log, "ESP %s has no initrd.img-%s (it has vmlinuz-%s): the "
			"firmware cannot boot that kernel; run proxmox-boot-tool refresh", uuid,
			kver, kver);
		e->problems++;
		return;
	}
	if (te < tb) {
		ev_warn(&e->c->log, "ESP %s: initrd.img-%s is older than /boot's: the next "
			"boot of that kernel loads the old image; run proxmox-boot-tool refresh",
			uuid, kver);
		e->problems++;
	}
	if (sdboot) {
		int n;

		snprintf(entry, sizeof(entry), "%s/loader/entries/proxmox-%s.conf", dir, kver);
		n = entry_initrds(entry);
		if (n > 1) {
			ev_warn(&e->c->log, "ESP %s: loader/entries/proxmox-%s.conf loads %d "
				"initrds: the kernel unpacks them all, and a later one can "
				"override early-vfio's files; leave one initrd line", uuid,
				kver, n);
			e->problems++;
		}
	}
	if (e->config) {
		printf("  ESP %s: ", uuid);
		fflush(stdout);
		if (evfio_initramfs_check(esp_img, e->config, &e->c->log) < 0)
			e->problems++;
	}
}

/* The kernels the ESP holds: EFI/proxmox/<kver>/, or vmlinuz-<kver>. */
static void check_mounted(struct esp_run *e, const char *uuid, const char *dir)
{
	char path[5120];
	bool grub, sdboot;
	struct dirent *d;
	DIR *dd;

	snprintf(path, sizeof(path), "%s/EFI/proxmox/grubx64.efi", dir);
	grub = access(path, F_OK) == 0;
	snprintf(path, sizeof(path), "%s/loader/loader.conf", dir);
	sdboot = !grub && access(path, F_OK) == 0;
	if (!grub && !sdboot) {
		snprintf(path, sizeof(path), "%s/grub", dir);
		grub = access(path, F_OK) == 0;
	}
	if (!grub && !sdboot) {
		ev_warn(&e->c->log, "ESP %s has neither loader/loader.conf (systemd-boot) nor "
			"GRUB: proxmox-boot-tool skips it (proxmox-boot-tool init)", uuid);
		e->problems++;
		return;
	}
	if (e->loader == EVFIO_LOADER_UNKNOWN)
		e->loader = sdboot ? EVFIO_LOADER_PBT_SDBOOT : EVFIO_LOADER_PBT_GRUB;
	snprintf(path, sizeof(path), sdboot ? "%s/EFI/proxmox" : "%s", dir);
	dd = opendir(path);
	if (!dd)
		return;
	while ((d = readdir(dd))) {
		const char *kver = d->d_name;

		if (d->d_name[0] == '.')
			continue;
		if (!sdboot) {
			if (strncmp(d->d_name, "vmlinuz-", 8))
				continue;
			kver += 8;
		}
		if (!*kver || strlen(kver) > 200 || strchr(kver, '/'))
			continue;
		if (sdboot) {
			snprintf(path, sizeof(path), "%s/EFI/proxmox/%s/vmlinuz-%s", dir, kver, kver);
			if (access(path, F_OK))
				continue;
		}
		check_kernel(e, uuid, dir, sdboot, kver);
	}
	closedir(dd);
}

int evfio_esp_check(struct evfio_ctx *c, const char *config, enum evfio_loader *loader)
{
	struct esp_run e = { .c = c, .config = config };
	FILE *f = evfio_sysfs_fopen(&c->fs, UUIDS_FILE);
	const char *tmp = getenv("TMPDIR");
	char line[256];
	size_t n = 0;

	if (loader)
		*loader = EVFIO_LOADER_UNKNOWN;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char dev[4400], dir[4200];
		const char *mnt[] = { "mount", "-o", "ro", dev, dir, NULL };
		const char *umnt[] = { "umount", dir, NULL };
		int r;

		line[strcspn(line, " \t\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		n++;
		if (!vfat_uuid(line)) {
			ev_warn(&c->log, "/" UUIDS_FILE ": '%.40s' is not a VFAT UUID; "
				"proxmox-boot-tool skips it", line);
			e.problems++;
			continue;
		}
		snprintf(dev, sizeof(dev), "%s%sdev/disk/by-uuid/%s", c->fs.root,
			 c->fs.root[strlen(c->fs.root) - 1] == '/' ? "" : "/", line);
		if (access(dev, F_OK)) {
			ev_warn(&c->log, "ESP %s (/" UUIDS_FILE ") is not on this machine: "
				"proxmox-boot-tool skips it (proxmox-boot-tool clean)", line);
			e.problems++;
			continue;
		}
		snprintf(dir, sizeof(dir), "%s/early-vfio-esp.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			ev_warn(&c->log, "ESP %s: cannot make a directory to mount it: %s", line,
				strerror(errno));
			e.problems++;
			continue;
		}
		r = spawn_quiet(mnt);
		if (r) {
			ev_warn(&c->log, "ESP %s: mount -o ro %s failed (%s %d): its images are "
				"not checked", line, dev, r < 0 ? "error" : "exit status",
				r < 0 ? -r : r);
			e.problems++;
			rmdir(dir);
			continue;
		}
		check_mounted(&e, line, dir);
		if (spawn_quiet(umnt))
			ev_warn(&c->log, "ESP %s: umount %s failed; it stays mounted there", line,
				dir);
		else
			rmdir(dir);
	}
	fclose(f);
	if (loader)
		*loader = n ? e.loader : EVFIO_LOADER_UNKNOWN;
	return e.problems;
}

// SPDX-License-Identifier: MIT
/* "apply": everything that makes the config real at the next boot, in
 * order, stopping at the first failure with its reason:
 *   1. check the config against this machine (as check does);
 *   2. the boot loader: systemd-boot or GRUB with proxmox-boot-tool (the
 *      layout of its ESPs), or plain GRUB; the IOMMU words where that
 *      loader reads them (/etc/kernel/cmdline, or a file of its own in
 *      /etc/default/grub.d/), written only with --yes or when the admin
 *      says yes, the old file kept as a backup;
 *   3. rebuild the initramfs of every installed kernel with the generator
 *      that is installed: update-initramfs -u -k all, or dracut
 *      --regenerate-all -f;
 *   4. proxmox-boot-tool refresh where it manages the ESPs, unless its
 *      post-update hook did it after update-initramfs (once, not twice);
 *   5. check --initramfs on every rebuilt image, in /boot and on each ESP;
 *   6. the IOMMU: on now (groups exist), and on the next boot's command
 *      line (GRUB's /etc/default/grub, systemd-boot's /etc/kernel/cmdline),
 *      with the exact line to add when it is not;
 *   7. what the next boot binds, before and after.
 * --dry-run prints the plan and changes nothing.  Programs are found on
 * PATH; files (/etc/default/grub, /boot, /lib/modules) are read under the
 * root (--sysroot).  apply writes under the root only the command line of
 * step 2; the programs it runs write the rest. */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "early-vfio.h"

extern char **environ;

#define STEPS 7

static void step(int n, const char *what)
{
	printf("\n[%d/%d] %s\n", n, STEPS, what);
	fflush(stdout);
}

/* The first PROG on PATH, into path; false when there is none. */
static bool on_path(const char *prog, char *path, size_t size)
{
	const char *p = getenv("PATH");

	if (!p || !*p)
		p = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*p) {
		size_t n = strcspn(p, ":");

		if (n && snprintf(path, size, "%.*s/%s", (int)n, p, prog) < (int)size &&
		    access(path, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* Run argv (found on PATH), its output to ours; its exit status, or -errno. */
static int run(struct evfio_ctx *c, const char *const argv[])
{
	char cmd[256] = "";
	pid_t pid;
	int r, status;

	for (size_t i = 0; argv[i]; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s", i ? " " : "",
			 argv[i]);
	printf("  running: %s\n", cmd);
	fflush(stdout);
	fflush(stderr);
	r = posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ);
	if (r) {
		ev_err(&c->log, "cannot run %s: %s", argv[0], strerror(r));
		return -r;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status)) {
		ev_err(&c->log, "%s was killed (signal %d)", cmd, WTERMSIG(status));
		return -EINTR;
	}
	return WEXITSTATUS(status);
}

/* ---- 1. check --------------------------------------------------------- */

/* 0: go on; else an exit code.  *selects: the config has device sections. */
static int check_step(struct evfio_ctx *c, struct evfio_opts *o, bool *selects)
{
	int r;

	step(1, "check the configuration against this machine");
	*selects = false;
	if (access(o->config, F_OK) < 0 && errno == ENOENT) {
		printf("  %s: not found: early-vfio binds nothing; the images are rebuilt "
		       "without it\n", o->config);
		return 0;
	}
	r = evfio_cmd_check(c, o);
	/* step 6 reads them again */
	evfio_config_free(&c->cfg);
	evfio_protect_free(&c->prot);
	evfio_record_free(&c->rec);
	if (r == EVFIO_EXIT_EMPTY) {
		printf("  no device section: the images are rebuilt without early-vfio\n");
		return 0;
	}
	if (r) {
		ev_err(&c->log, "apply: stopped at the check: fix %s (the messages above), "
		       "then run apply again; nothing was rebuilt", o->config);
		return r;
	}
	*selects = true;
	return 0;
}

/* ---- 2, 3. rebuild ---------------------------------------------------- */

enum generator { GEN_NONE, GEN_INITRAMFS_TOOLS, GEN_DRACUT };

/* The installed one: Debian has either initramfs-tools or dracut (they
 * conflict); when both programs are found, the one whose kernel hook is
 * installed (/etc/kernel/postinst.d) builds the images. */
static enum generator which_generator(struct evfio_ctx *c)
{
	char path[4200];
	bool uit = on_path("update-initramfs", path, sizeof(path));
	bool dracut = on_path("dracut", path, sizeof(path));

	if (uit && dracut) {
		if (evfio_sysfs_exists(&c->fs, "etc/kernel/postinst.d/dracut") &&
		    !evfio_sysfs_exists(&c->fs, "etc/kernel/postinst.d/initramfs-tools"))
			return GEN_DRACUT;
		return GEN_INITRAMFS_TOOLS;
	}
	return uit ? GEN_INITRAMFS_TOOLS : dracut ? GEN_DRACUT : GEN_NONE;
}

/* The hooks copy $EVFIO_CONF (default /etc/early-vfio.conf) into each
 * image: hand them the file step 1 checked, so that -c FILE (and a config
 * under --sysroot) is the one checked, built and verified alike, not FILE
 * checked and /etc's built. */
static int config_for_hooks(struct evfio_ctx *c, const char *config, bool dry)
{
	char real[PATH_MAX];

	if (!realpath(config, real)) {
		ev_err(&c->log, "apply: %s: %s; nothing was rebuilt", config, strerror(errno));
		return EVFIO_EXIT_FAILURE;
	}
	if (strcmp(real, EVFIO_DEFAULT_CONFIG))
		printf("  the images get %s (EVFIO_CONF for the hooks), the file checked "
		       "in step 1\n", real);
	if (!dry && setenv("EVFIO_CONF", real, 1) < 0) {
		ev_err(&c->log, "apply: %s; nothing was rebuilt", strerror(errno));
		return EVFIO_EXIT_FAILURE;
	}
	return 0;
}

/* The hooks stage the host's copy of the record (EVFIO_RECORD_STAGED); it
 * becomes the host's record (what check and status compare with) only when
 * the generator succeeded: dracut has no hook after a build, and
 * initramfs-tools' post-update.d has done it already.  After a failure the
 * staged copy is dropped, the host's record stays the last good image's. */
static void promote_record(struct evfio_ctx *c, bool built)
{
	if (!evfio_sysfs_exists(&c->fs, EVFIO_RECORD_STAGED))
		return;
	if (!built) {
		if (unlinkat(c->fs.rootfd, EVFIO_RECORD_STAGED, 0) < 0)
			ev_dbg(&c->log, "/%s: %s", EVFIO_RECORD_STAGED, strerror(errno));
		return;
	}
	if (renameat(c->fs.rootfd, EVFIO_RECORD_STAGED, c->fs.rootfd, EVFIO_RECORD_HOST) < 0)
		ev_warn(&c->log, "apply: /%s: %s: check and status compare with an older "
			"image's record", EVFIO_RECORD_HOST, strerror(errno));
}

static int rebuild_step(struct evfio_ctx *c, const char *config, bool dry)
{
	static const char *const uit[] = { "update-initramfs", "-u", "-k", "all", NULL };
	static const char *const dracut[] = { "dracut", "--regenerate-all", "-f", NULL };
	const char *const *argv;
	int r;

	step(3, "rebuild the initramfs of every installed kernel");
	switch (which_generator(c)) {
	case GEN_INITRAMFS_TOOLS:
		argv = uit;
		break;
	case GEN_DRACUT:
		argv = dracut;
		break;
	default:
		ev_err(&c->log, "apply: neither update-initramfs (initramfs-tools) nor dracut "
		       "is installed: install initramfs-tools; nothing was rebuilt");
		return EVFIO_EXIT_FAILURE;
	}
	r = config_for_hooks(c, config, dry);
	if (r)
		return r;
	if (dry) {
		printf("  would run:");
		for (size_t i = 0; argv[i]; i++)
			printf(" %s", argv[i]);
		putchar('\n');
		return 0;
	}
	r = run(c, argv);
	promote_record(c, r == 0);
	if (r) {
		ev_err(&c->log, "apply: %s failed (%s %d): the messages above say why; the "
		       "images it did not rebuild are as they were", argv[0],
		       r < 0 ? "error" : "exit status", r < 0 ? -r : r);
		return EVFIO_EXIT_FAILURE;
	}
	return 0;
}

static int refresh_step(struct evfio_ctx *c, bool dry)
{
	enum generator gen = which_generator(c);
	static const char *const argv[] = { "proxmox-boot-tool", "refresh", NULL };
	char path[4200];
	int r;

	step(4, "copy the images to the boot partitions (proxmox-boot-tool)");
	if (!on_path("proxmox-boot-tool", path, sizeof(path))) {
		printf("  no proxmox-boot-tool: the images stay in /boot, where the boot "
		       "loader reads them\n");
		return 0;
	}
	if (!evfio_sysfs_exists(&c->fs, "etc/kernel/proxmox-boot-uuids")) {
		printf("  proxmox-boot-tool manages no ESP here (no "
		       "/etc/kernel/proxmox-boot-uuids): nothing to refresh\n");
		return 0;
	}
	if (gen == GEN_INITRAMFS_TOOLS &&
	    evfio_sysfs_exists(&c->fs, "etc/initramfs/post-update.d/proxmox-boot-sync")) {
		printf("  %s by update-initramfs's post-update hook "
		       "(/etc/initramfs/post-update.d/proxmox-boot-sync runs proxmox-boot-tool "
		       "refresh): not run again\n", dry ? "would be done" : "done");
		return 0;
	}
	if (dry) {
		printf("  would run: proxmox-boot-tool refresh\n");
		return 0;
	}
	r = run(c, argv);
	if (r) {
		ev_err(&c->log, "apply: proxmox-boot-tool refresh failed (%s %d): the ESPs "
		       "may hold the old images; run it again once the cause above is "
		       "fixed", r < 0 ? "error" : "exit status", r < 0 ? -r : r);
		return EVFIO_EXIT_FAILURE;
	}
	return 0;
}

/* ---- 4. the images ---------------------------------------------------- */

static int cmp_version(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* The kernels with an image: lib/modules/V with boot/vmlinuz-V. */
static size_t kernels(struct evfio_ctx *c, char ***out)
{
	DIR *dir = evfio_sysfs_opendir(&c->fs, "lib/modules");
	struct dirent *e;
	char **v = NULL, path[400];
	size_t n = 0;

	*out = NULL;
	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		char **w;

		if (e->d_name[0] == '.' || strlen(e->d_name) > 200)
			continue;
		snprintf(path, sizeof(path), "boot/vmlinuz-%s", e->d_name);
		if (!evfio_sysfs_exists(&c->fs, path))
			continue;
		w = realloc(v, (n + 1) * sizeof(*v));
		if (!w)
			break;
		v = w;
		v[n] = strdup(e->d_name);
		if (v[n])
			n++;
	}
	closedir(dir);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_version);
	*out = v;
	return n;
}

static int images_step(struct evfio_ctx *c, struct evfio_opts *o, bool dry, bool selects)
{
	char **kv, image[4400];
	size_t n = kernels(c, &kv);
	int bad = 0;

	step(5, "check every rebuilt image, in /boot and on the ESPs");
	if (!n)
		printf("  no kernel found in %s/boot with its modules in /lib/modules\n",
		       c->fs.root);
	for (size_t i = 0; i < n; i++) {
		snprintf(image, sizeof(image), "%s%sboot/initrd.img-%s", c->fs.root,
			 c->fs.root[strlen(c->fs.root) - 1] == '/' ? "" : "/", kv[i]);
		if (dry)
			printf("  would check: %s\n", image);
		else if (!selects)
			printf("  %s: not checked: no device section, early-vfio is left out "
			       "of it\n", image);
		else if (evfio_initramfs_check(image, o->config, &c->log) < 0)
			bad++;
		free(kv[i]);
	}
	free(kv);
	if (evfio_sysfs_exists(&c->fs, "etc/kernel/proxmox-boot-uuids")) {
		if (dry)
			printf("  would check: the images on each ESP of "
			       "/etc/kernel/proxmox-boot-uuids\n");
		else
			bad += evfio_esp_check(c, selects ? o->config : NULL, NULL);
	}
	fflush(stdout);
	if (bad) {
		ev_err(&c->log, "apply: %d image%s NOT ready (see above): the next boot "
		       "would not bind as configured", bad, bad == 1 ? " is" : "s are");
		return EVFIO_EXIT_FAILURE;
	}
	return 0;
}

/* ---- 5. the IOMMU ----------------------------------------------------- */

/* A kernel command line has the word w ("intel_iommu=on"). */
static bool has_word(const char *line, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = line; (p = strstr(p, w)); p += n)
		if ((p == line || strchr(" \t\"'", p[-1])) && strchr(" \t\"'\n", p[n]))
			return true;
	return false;
}

static const char *const off_words[] = {
	"intel_iommu=off", "amd_iommu=off", "iommu=off", "early-vfio=off", "early-vfio=no",
};

/* GRUB's settings: /etc/default/grub, then /etc/default/grub.d/ *.cfg
 * (both GRUB_CMDLINE_LINUX and _DEFAULT apply to the normal entries). */
struct grub {
	bool found;
	char line[1024];	/* the GRUB_CMDLINE_LINUX_DEFAULT line as it is */
	char value[900];	/* its value, unquoted */
	char all[2048];		/* every GRUB_CMDLINE_LINUX(_DEFAULT) value */
};

static void grub_file(struct evfio_ctx *c, const char *path, struct grub *g)
{
	FILE *f = evfio_sysfs_fopen(&c->fs, path);
	char line[1024];

	if (!f)
		return;
	g->found = true;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t"), *v;
		bool dflt;

		if (strncmp(s, "GRUB_CMDLINE_LINUX", 18))
			continue;
		dflt = !strncmp(s + 18, "_DEFAULT=", 9);
		if (!dflt && s[18] != '=')
			continue;
		v = strchr(s, '=') + 1;
		v[strcspn(v, "\n")] = '\0';
		snprintf(g->all + strlen(g->all), sizeof(g->all) - strlen(g->all), " %s", v);
		if (!dflt)
			continue;
		snprintf(g->line, sizeof(g->line), "%s", s);
		if (*v == '"' || *v == '\'') {
			char q = *v++;

			v[strcspn(v, (char[]){ q, '\0' })] = '\0';
		}
		snprintf(g->value, sizeof(g->value), "%s", v);
	}
	fclose(f);
}

static void grub_read(struct evfio_ctx *c, struct grub *g)
{
	DIR *d;
	struct dirent *e;
	char path[300];

	memset(g, 0, sizeof(*g));
	grub_file(c, "etc/default/grub", g);
	d = evfio_sysfs_opendir(&c->fs, "etc/default/grub.d");
	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n < 5 || strcmp(e->d_name + n - 4, ".cfg") || !evfio_valid_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "etc/default/grub.d/%s", e->d_name);
		grub_file(c, path, g);
	}
	closedir(d);
}

/* Words that turn the IOMMU (or early-vfio) off, on a line: one problem
 * each. */
static int off_on(struct evfio_ctx *c, const char *what, const char *line)
{
	int problems = 0;

	for (size_t i = 0; i < sizeof(off_words) / sizeof(*off_words); i++)
		if (has_word(line, off_words[i])) {
			ev_err(&c->log, "%s has %s: remove it, or the next boot binds nothing",
			       what, off_words[i]);
			problems++;
		}
	return problems;
}

static int iommu_step(struct evfio_ctx *c)
{
	bool now = evfio_iommu_present(&c->fs);
	bool vtd = evfio_sysfs_exists(&c->fs, "sys/firmware/acpi/tables/DMAR");
	bool amd = evfio_sysfs_exists(&c->fs, "sys/firmware/acpi/tables/IVRS");
	char cur[4096] = "", kcmd[4096];
	bool has_kcmd, cur_on, by_default;
	struct grub g;
	int problems = 0;

	step(6, "the IOMMU, now and at the next boot");
	evfio_sysfs_first_line(&c->fs, "proc/cmdline", cur, sizeof(cur));
	cur_on = has_word(cur, "intel_iommu=on");
	/* VT-d on without intel_iommu=on: the kernel turns it on by itself */
	by_default = now && !cur_on;
	printf("  now: %s\n", now ? "on (/sys/kernel/iommu_groups has groups)" :
	       "off (no IOMMU groups)");
	if (!vtd && !amd && !now) {
		ev_err(&c->log, "no IOMMU in the firmware's ACPI tables (no DMAR, no IVRS): "
		       "turn on VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup; "
		       "until then nothing can be passed through");
		return 1;
	}
	grub_read(c, &g);
	has_kcmd = evfio_sysfs_first_line(&c->fs, "etc/kernel/cmdline", kcmd, sizeof(kcmd));
	if (g.found)
		problems += off_on(c, "/etc/default/grub", g.all);
	if (has_kcmd)
		problems += off_on(c, "/etc/kernel/cmdline", kcmd);
	if (!vtd || by_default) {
		printf("  next boot: on (%s)\n", vtd ? "the kernel turns VT-d on by itself" :
		       "AMD-Vi is on by default");
		return problems;
	}
	/* Intel VT-d, on only with intel_iommu=on */
	if (!g.found && !has_kcmd) {
		printf("  next boot: no /etc/default/grub or /etc/kernel/cmdline here to "
		       "read its command line from%s\n", cur_on ? "; this boot has "
		       "intel_iommu=on: keep it on the next one" : "");
		if (!cur_on) {
			ev_err(&c->log, "the IOMMU is off: add intel_iommu=on to the kernel "
			       "command line of your boot loader");
			problems++;
		}
		return problems;
	}
	if (g.found && !has_word(g.all, "intel_iommu=on")) {
		ev_err(&c->log, "intel_iommu=on is not in /etc/default/grub: the next boot "
		       "has no IOMMU and binds nothing. Change its line to:");
		printf("    GRUB_CMDLINE_LINUX_DEFAULT=\"%s%sintel_iommu=on\"\n", g.value,
		       g.value[0] ? " " : "");
		if (g.line[0])
			printf("  (it is now: %s)\n", g.line);
		printf("  then run: update-grub\n");
		problems++;
	} else if (g.found) {
		printf("  next boot: on (/etc/default/grub has intel_iommu=on)\n");
	}
	if (has_kcmd && !has_word(kcmd, "intel_iommu=on")) {
		ev_err(&c->log, "intel_iommu=on is not in /etc/kernel/cmdline: the next boot "
		       "has no IOMMU and binds nothing. Make it:");
		printf("    %s%sintel_iommu=on\n", kcmd, kcmd[0] ? " " : "");
		printf("  then run: proxmox-boot-tool refresh\n");
		problems++;
	} else if (has_kcmd) {
		printf("  next boot: on (/etc/kernel/cmdline has intel_iommu=on)\n");
	}
	return problems;
}

/* ---- 2. the boot loader and its command line -------------------------- */

#define GRUB_SNIPPET_DIR "etc/default/grub.d"
#define GRUB_SNIPPET "early-vfio.cfg"

static const char *loader_name(enum evfio_loader l)
{
	switch (l) {
	case EVFIO_LOADER_PBT_SDBOOT:
		return "systemd-boot on the ESPs proxmox-boot-tool keeps (command line: "
		       "/etc/kernel/cmdline)";
	case EVFIO_LOADER_PBT_GRUB:
		return "GRUB on the ESPs proxmox-boot-tool keeps (command line: "
		       "/etc/default/grub)";
	case EVFIO_LOADER_GRUB:
		return "GRUB (command line: /etc/default/grub, update-grub)";
	default:
		return "not known";
	}
}

/* Yes from --yes, or from the admin at a terminal. */
static bool agreed(const struct evfio_opts *o, const char *question)
{
	char answer[16];

	if (o->yes)
		return true;
	if (!isatty(STDIN_FILENO)) {
		printf("  not written: %s? (no terminal to ask; apply --yes writes it)\n",
		       question);
		return false;
	}
	printf("  %s? [y/N] ", question);
	fflush(stdout);
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	return answer[0] == 'y' || answer[0] == 'Y';
}

/* Keep path's bytes in path.early-vfio-bak. */
static int backup(struct evfio_ctx *c, const char *dir, const char *name)
{
	char path[300], bak[300], *text;
	FILE *f;
	size_t n;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = evfio_sysfs_fopen(&c->fs, path);
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	text = calloc(1, 65536);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(text, 1, 65535, f);
	fclose(f);
	if (memchr(text, '\0', n)) {
		free(text);
		return -EILSEQ;
	}
	snprintf(bak, sizeof(bak), "%s.early-vfio-bak", name);
	r = evfio_file_replace(&c->fs, dir, bak, text);
	free(text);
	if (!r)
		printf("  the old /%s is kept as /%s/%s\n", path, dir, bak);
	return r;
}

/* Which loader, and the IOMMU words where it reads them. 0, or an exit
 * code. *grub_changed: update-grub is due (plain GRUB). */
static int loader_step(struct evfio_ctx *c, struct evfio_opts *o, bool *grub_changed)
{
	bool now = evfio_iommu_present(&c->fs);
	bool vtd = evfio_sysfs_exists(&c->fs, "sys/firmware/acpi/tables/DMAR");
	enum evfio_loader l = EVFIO_LOADER_UNKNOWN;
	char cur[4096] = "", kcmd[4096], q[300];
	struct grub g;
	int r;

	*grub_changed = false;
	step(2, "the boot loader and its command line");
	if (evfio_sysfs_exists(&c->fs, "etc/kernel/proxmox-boot-uuids") && !o->dry_run) {
		int level = c->log.level;

		c->log.level = LOG_ERR;	/* the layout only: check has said the rest */
		evfio_esp_check(c, NULL, &l);
		c->log.level = level;
	}
	grub_read(c, &g);
	if (l == EVFIO_LOADER_UNKNOWN && evfio_sysfs_exists(&c->fs, "etc/kernel/proxmox-boot-uuids"))
		l = evfio_sysfs_exists(&c->fs, "etc/kernel/cmdline") ? EVFIO_LOADER_PBT_SDBOOT :
		    EVFIO_LOADER_PBT_GRUB;	/* --dry-run: not mounted, as the files say */
	else if (l == EVFIO_LOADER_UNKNOWN && g.found)
		l = EVFIO_LOADER_GRUB;
	printf("  boot loader: %s\n", loader_name(l));
	evfio_sysfs_first_line(&c->fs, "proc/cmdline", cur, sizeof(cur));
	/* the IOMMU words: Intel VT-d needs intel_iommu=on unless the kernel
	 * turned it on by itself; AMD-Vi is on by default */
	if (!vtd || (now && !has_word(cur, "intel_iommu=on")))
		return 0;
	if (l == EVFIO_LOADER_PBT_SDBOOT) {
		char line[4200];

		if (!evfio_sysfs_first_line(&c->fs, "etc/kernel/cmdline", kcmd, sizeof(kcmd))) {
			printf("  no /etc/kernel/cmdline: proxmox-boot-tool uses this boot's "
			       "command line; create it (with root=) and add intel_iommu=on\n");
			return 0;
		}
		if (has_word(kcmd, "intel_iommu=on"))
			return 0;
		snprintf(line, sizeof(line), "%s%sintel_iommu=on\n", kcmd, kcmd[0] ? " " : "");
		if (o->dry_run) {
			printf("  would write /etc/kernel/cmdline: %s", line);
			return 0;
		}
		if (!agreed(o, "add intel_iommu=on to /etc/kernel/cmdline"))
			return 0;
		r = backup(c, "etc/kernel", "cmdline");
		if (!r)
			r = evfio_file_replace(&c->fs, "etc/kernel", "cmdline", line);
		if (r) {
			ev_err(&c->log, "apply: cannot write /etc/kernel/cmdline: %s; not "
			       "changed", strerror(-r));
			return EVFIO_EXIT_FAILURE;
		}
		printf("  /etc/kernel/cmdline is now: %s", line);
		return 0;
	}
	if (l != EVFIO_LOADER_GRUB && l != EVFIO_LOADER_PBT_GRUB)
		return 0;
	if (has_word(g.all, "intel_iommu=on"))
		return 0;
	snprintf(q, sizeof(q), "add intel_iommu=on to GRUB's command line (/%s/%s)",
		 GRUB_SNIPPET_DIR, GRUB_SNIPPET);
	if (o->dry_run) {
		printf("  would write /%s/%s: GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_"
		       "LINUX_DEFAULT intel_iommu=on\"\n", GRUB_SNIPPET_DIR, GRUB_SNIPPET);
		return 0;
	}
	if (!agreed(o, q))
		return 0;
	r = backup(c, GRUB_SNIPPET_DIR, GRUB_SNIPPET);
	if (!r)
		r = evfio_file_replace(&c->fs, GRUB_SNIPPET_DIR, GRUB_SNIPPET,
				       "# Written by early-vfio apply: the IOMMU that vfio-pci "
				       "needs (Intel VT-d).\n"
				       "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT "
				       "intel_iommu=on\"\n");
	if (r) {
		ev_err(&c->log, "apply: cannot write /%s/%s: %s; not changed",
		       GRUB_SNIPPET_DIR, GRUB_SNIPPET, strerror(-r));
		return EVFIO_EXIT_FAILURE;
	}
	printf("  wrote /%s/%s (GRUB_CMDLINE_LINUX_DEFAULT += intel_iommu=on)\n",
	       GRUB_SNIPPET_DIR, GRUB_SNIPPET);
	*grub_changed = l == EVFIO_LOADER_GRUB;	/* proxmox-boot-tool refresh runs update-grub */
	return 0;
}

/* ---- 7. what the next boot binds -------------------------------------- */

static void disks_of(const struct evfio_inventory *inv, const char *bdf, char *buf,
		     size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < inv->n_disks && len < size; i++)
		if (!strcmp(inv->disks[i].bdf, bdf))
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						len ? "," : "", inv->disks[i].name);
}

static void table_step(struct evfio_ctx *c, struct evfio_opts *o)
{
	struct evfio_inventory inv;
	struct evfio_devlist l;
	size_t rows = 0;
	bool missing;

	step(7, "what the next boot binds (* changes)");
	if (evfio_cmd_survey(c, o, &l, &missing, false))
		return;
	if (evfio_inventory_scan(&c->fs, &c->log, &l, &inv) < 0) {
		evfio_devlist_free(&l);
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct evfio_dev *d = &l.devs[i];
		char desc[64], now[140], next[160], disks[64], mods[128] = "", slot[EVFIO_BDF_LEN];
		bool on = !strcmp(d->driver, c->cfg.driver);
		const char *drv;

		if (!d->section && !on)
			continue;
		if (!rows++)
			printf("    %-12s %-42s %-22s %s\n", "ADDRESS", "DEVICE", "NOW", "NEXT BOOT");
		snprintf(desc, sizeof(desc), "%.30s [%04x:%04x]",
			 d->class_name[0] ? d->class_name : "Class", d->id.vendor, d->id.device);
		disks_of(&inv, d->bdf, disks, sizeof(disks));
		snprintf(now, sizeof(now), "%s%s%s%s", d->driver[0] ? d->driver : "(none)",
			 disks[0] ? " (" : "", disks, disks[0] ? ")" : "");
		if (c->mods)
			evfio_modules_for_alias(c->mods, d->modalias, mods, sizeof(mods));
		mods[strcspn(mods, ",")] = '\0';
		if (d->section && evfio_section_needs_nvme_id(d->section, &d->id)) {
			drv = c->cfg.driver;
			snprintf(next, sizeof(next), "%s if its serial matches [%s]", drv,
				 d->section->name);
		} else if (d->section && !evfio_safety_refusal(d)) {
			drv = c->cfg.driver;
			snprintf(next, sizeof(next), "%s [%s]", drv, d->section->name);
		} else if (d->section) {
			drv = d->driver[0] ? d->driver : "(none)";
			snprintf(next, sizeof(next), "%s: refused (%.80s)", drv,
				 evfio_safety_refusal(d));
		} else {
			drv = mods[0] ? mods : "its host driver";
			snprintf(next, sizeof(next), "%s (no section selects it)", drv);
		}
		evfio_dev_slot(d, true, slot, sizeof(slot));
		printf("  %c %-12s %-42s %-22s -> %s\n",
		       strcmp(d->driver[0] ? d->driver : "(none)", drv) ? '*' : ' ', slot,
		       desc, now, next);
	}
	if (!rows)
		printf("  nothing: no device is selected or on %s\n", c->cfg.driver);
	evfio_inventory_free(&inv);
	evfio_devlist_free(&l);
}

int evfio_cmd_apply(struct evfio_ctx *c, struct evfio_opts *o)
{
	bool dry = o->dry_run, selects, grub_changed = false;
	int r, problems;

	/* the programs' output, our lines and our messages, in the order they come */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("early-vfio apply%s: %s\n", dry ? " --dry-run (nothing is changed)" : "",
	       o->config);
	r = check_step(c, o, &selects);
	if (!r)
		r = loader_step(c, o, &grub_changed);
	if (!r)
		r = rebuild_step(c, o->config, dry);
	if (!r && grub_changed) {
		static const char *const argv[] = { "update-grub", NULL };

		if (run(c, argv)) {
			ev_err(&c->log, "apply: update-grub failed: the next boot has GRUB's old "
			       "command line; run update-grub once the cause above is fixed");
			r = EVFIO_EXIT_FAILURE;
		}
	}
	if (!r)
		r = refresh_step(c, dry);
	if (!r)
		r = images_step(c, o, dry, selects);
	if (r)
		return r;
	problems = iommu_step(c);
	fflush(stdout);
	table_step(c, o);
	if (problems) {
		printf("\nNot ready: fix the IOMMU as said above%s.\n", dry ? "" :
		       " (the images are rebuilt)");
		return EVFIO_EXIT_FAILURE;
	}
	printf("\n%s\n", dry ? "Run early-vfio apply (without --dry-run) to do it." :
	       "Ready: reboot, then check with early-vfio status (or lspci -knn).");
	return EVFIO_EXIT_OK;
}

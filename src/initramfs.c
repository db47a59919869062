// SPDX-License-Identifier: MIT
/* "check --initramfs IMAGE": verify a built image without rebooting, whichever
 * generator built it (initramfs-tools or dracut) and on a host that has only
 * one of them.
 *
 * An image is a series of newc cpio archives: uncompressed ones first (the
 * early microcode archive of both generators, the compressed-modules archive
 * of Debian 13's initramfs-tools), then one compressed stream holding the main
 * archive.  The uncompressed archives are read here; the compressed rest is
 * piped through the matching decompressor (gzip, zstd, xz, bzip2, lz4, lzop,
 * found by its magic number: the tool that compressed the image is installed)
 * and read the same way.  Nothing is written to disk: the names, modes and
 * symlink targets of every entry are kept, and the contents of the few files
 * the checks read. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "early-vfio.h"

extern char **environ;

#define KEEP_MAX (1u << 20)	/* bytes kept of a file the checks read */
#define NAME_MAX_LEN 4096
#define IMAGE_MAX ((off_t)4 << 30)	/* bytes: larger is not an initramfs */

struct entry {
	char *name;		/* "usr/sbin/early-vfio": no "./" or "/" */
	unsigned int mode;
	char *data;		/* kept contents (NUL-terminated), or NULL */
	size_t size;		/* bytes kept */
};

struct image {
	struct entry *v;
	size_t n, cap;
	unsigned int archives;	/* cpio archives read */
	const char *compression;	/* of the main archive, or "none" */
};

/* ---- reading: a buffered reader over the image file or a pipe ---------- */

struct reader {
	int fd;
	unsigned char buf[65536];
	size_t pos, len;
	uint64_t off;		/* bytes consumed */
	bool eof;
};

static int rd_fill(struct reader *r)
{
	ssize_t n;

	if (r->pos < r->len || r->eof)
		return 0;
	do
		n = read(r->fd, r->buf, sizeof(r->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	r->pos = 0;
	r->len = (size_t)n;
	r->eof = n == 0;
	return 0;
}

/* Read (dst) or skip (dst NULL) n bytes; returns the count done, or -errno. */
static ssize_t rd_read(struct reader *r, void *dst, size_t n)
{
	size_t done = 0, k;
	int e;

	while (done < n) {
		e = rd_fill(r);
		if (e < 0)
			return e;
		if (r->eof)
			break;
		k = r->len - r->pos;
		if (k > n - done)
			k = n - done;
		if (dst)
			memcpy((char *)dst + done, r->buf + r->pos, k);
		r->pos += k;
		r->off += k;
		done += k;
	}
	return (ssize_t)done;
}

/* The next byte without consuming it; -1 at the end. */
static int rd_peek(struct reader *r)
{
	if (rd_fill(r) < 0 || r->eof)
		return -1;
	return r->buf[r->pos];
}

/* Up to 6 bytes ahead (the reader refills at a boundary: copy what is left
 * first).  Returns the count available. */
static size_t rd_peek6(struct reader *r, unsigned char out[6])
{
	size_t have;

	if (rd_fill(r) < 0 || r->eof)
		return 0;
	have = r->len - r->pos;
	if (have < 6 && r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, have);
		r->len = have;
		r->pos = 0;
		while (r->len < 6) {
			ssize_t n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			r->len += (size_t)n;
		}
		have = r->len;
	}
	if (have > 6)
		have = 6;
	memcpy(out, r->buf + r->pos, have);
	return have;
}

/* ---- the entry table --------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && !strcmp(s + a - b, tail);
}

/* Files whose contents a check reads. */
static bool wanted(const char *name, unsigned int mode)
{
	if (S_ISLNK(mode))
		return true;
	if (!S_ISREG(mode))
		return false;
	return !strcmp(name, "init") || !strcmp(base_name(name), "early-vfio") ||
	       !strcmp(name, "etc/early-vfio.conf") || !strcmp(name, "etc/early-vfio.record") ||
	       !strcmp(name, "scripts/init-top/ORDER") ||
	       !strcmp(base_name(name), "dracut-lib.sh") ||
	       strstr(name, "hooks/pre-udev/") || ends_with(name, ".service");
}

static int image_add(struct image *im, const char *name, unsigned int mode,
		     char *data, size_t size)
{
	struct entry *e;

	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 1024;

		e = realloc(im->v, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		im->v = e;
		im->cap = cap;
	}
	e = &im->v[im->n];
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	e->mode = mode;
	e->data = data;
	e->size = size;
	im->n++;
	return 0;
}

static void image_free(struct image *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->v[i].name);
		free(im->v[i].data);
	}
	free(im->v);
	memset(im, 0, sizeof(*im));
}

/* The last entry of that name: a later archive overrides an earlier one, as
 * when the kernel unpacks them. */
static const struct entry *image_get(const struct image *im, const char *name)
{
	for (size_t i = im->n; i-- > 0;)
		if (!strcmp(im->v[i].name, name))
			return &im->v[i];
	return NULL;
}

/* Resolve path inside the image, following symlinks in every component
 * (absolute targets from the image's root, as after switch to it).  out gets
 * the resolved path; returns its entry, or NULL when it does not exist. */
static const struct entry *image_resolve(const struct image *im,
					 const char *path, char *out,
					 size_t size)
{
	char rest[2 * NAME_MAX_LEN], cur[NAME_MAX_LEN], cand[NAME_MAX_LEN];
	const struct entry *e = NULL;
	int hops = 0;

	cur[0] = '\0';
	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
		return NULL;
	for (char *p = rest; *p;) {
		char comp[NAME_MAX_LEN], tail[2 * NAME_MAX_LEN];
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len >= sizeof(comp))
			return NULL;
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *s = strrchr(cur, '/');

			if (s)
				*s = '\0';
			else
				cur[0] = '\0';
			continue;
		}
		if (snprintf(cand, sizeof(cand), "%s%s%s", cur, cur[0] ? "/" : "",
			     comp) >= (int)sizeof(cand))
			return NULL;
		e = image_get(im, cand);
		if (e && S_ISLNK(e->mode) && e->data) {
			if (++hops > 40)
				return NULL;
			/* continue with the target, then what was left */
			if (snprintf(tail, sizeof(tail), "%s/%s", e->data, p) >=
			    (int)sizeof(tail))
				return NULL;
			if (e->data[0] == '/')
				cur[0] = '\0';
			strcpy(rest, tail);
			p = rest;
			continue;
		}
		strcpy(cur, cand);
	}
	if (out)
		snprintf(out, size, "%s", cur);
	return cur[0] ? image_get(im, cur) : NULL;
}

/* ---- cpio (newc) ------------------------------------------------------- */

static bool hex8(const unsigned char *s, uint32_t *out)
{
	return evfio_hex((const char *)s, 8, out);
}

static bool is_cpio_magic(const unsigned char *m, size_t n)
{
	return n >= 6 && (!memcmp(m, "070701", 6) || !memcmp(m, "070702", 6));
}

static int skip_pad(struct reader *r, size_t n)
{
	size_t pad = (4 - n % 4) % 4;

	return rd_read(r, NULL, pad) == (ssize_t)pad ? 0 : -EINVAL;
}

/* One archive, up to and including its TRAILER!!! entry. */
static int cpio_archive(struct reader *r, struct image *im,
			const char *image, struct evfio_log *log)
{
	unsigned char hdr[110];
	char name[NAME_MAX_LEN];
	uint32_t mode, size, namesize;
	int e;

	for (;;) {
		uint64_t at = r->off;
		char *data = NULL, *n;
		size_t keep = 0;

		if (rd_read(r, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
		    !is_cpio_magic(hdr, sizeof(hdr)) ||
		    !hex8(hdr + 14, &mode) || !hex8(hdr + 54, &size) ||
		    !hex8(hdr + 94, &namesize) || namesize == 0 ||
		    namesize > sizeof(name)) {
			ev_err(log, "%s: not a cpio archive, or cut short, at byte %llu%s",
			       image, (unsigned long long)at,
			       im->archives ? " of the compressed archive" : "");
			return -EINVAL;
		}
		if (rd_read(r, name, namesize) != (ssize_t)namesize ||
		    name[namesize - 1] != '\0' || skip_pad(r, 110 + namesize) < 0) {
			ev_err(log, "%s: cpio entry name cut short", image);
			return -EINVAL;
		}
		if (!strcmp(name, "TRAILER!!!"))
			break;
		n = name;
		while (!strncmp(n, "./", 2) || *n == '/')
			n += *n == '/' ? 1 : 2;
		if (*n && strcmp(n, ".") && wanted(n, mode)) {
			keep = size < KEEP_MAX ? size : KEEP_MAX;
			data = malloc(keep + 1);
			if (!data)
				return -ENOMEM;
			if (rd_read(r, data, keep) != (ssize_t)keep) {
				free(data);
				ev_err(log, "%s: %s: cut short", image, n);
				return -EINVAL;
			}
			data[keep] = '\0';
		}
		if (rd_read(r, NULL, size - keep) != (ssize_t)(size - keep) ||
		    skip_pad(r, size) < 0) {
			free(data);
			ev_err(log, "%s: %s: cut short", image, n);
			return -EINVAL;
		}
		if (*n && strcmp(n, ".")) {
			e = image_add(im, n, mode, data, keep);
			if (e < 0) {
				free(data);
				return e;
			}
		} else {
			free(data);
		}
	}
	im->archives++;
	return 0;
}

/* Archives one after the other, with zero padding between them, until the
 * end of the stream or something that is not cpio (left to the caller). */
static int cpio_series(struct reader *r, struct image *im, const char *image,
		       struct evfio_log *log)
{
	unsigned char m[6];
	int e;

	for (;;) {
		while (rd_peek(r) == 0)
			rd_read(r, NULL, 1);
		if (!is_cpio_magic(m, rd_peek6(r, m)))
			return 0;
		e = cpio_archive(r, im, image, log);
		if (e < 0)
			return e;
	}
}

/* ---- the compressed main archive --------------------------------------- */

struct codec {
	const char *name;
	const unsigned char *magic;
	size_t len;
	const char *const argv[5];
};

static const struct codec codecs[] = {
	{ "gzip", (const unsigned char *)"\x1f\x8b", 2, { "gzip", "-dc", NULL } },
	{ "zstd", (const unsigned char *)"\x28\xb5\x2f\xfd", 4,
	  { "zstd", "-dcq", NULL } },
	{ "xz", (const unsigned char *)"\xfd" "7zXZ", 5, { "xz", "-dc", NULL } },
	{ "lzma", (const unsigned char *)"\x5d\x00\x00", 3,
	  { "xz", "--format=lzma", "-dc", NULL } },
	{ "bzip2", (const unsigned char *)"BZh", 3, { "bzip2", "-dc", NULL } },
	{ "lz4", (const unsigned char *)"\x02\x21\x4c\x18", 4,
	  { "lz4", "-dc", NULL } },
	{ "lzop", (const unsigned char *)"\x89LZO", 4, { "lzop", "-dc", NULL } },
};

/* Pipe the image from offset off through codec c and read the archives in
 * it.  The decompressor's own status is not needed: the archive ends with its
 * trailer or is reported cut short. */
static int read_compressed(int fd, uint64_t off, const struct codec *c,
			   struct image *im, const char *image,
			   struct evfio_log *log)
{
	posix_spawn_file_actions_t fa;
	struct reader *r;
	int p[2], e, status;
	unsigned int before = im->archives;
	pid_t pid;

	if (lseek(fd, (off_t)off, SEEK_SET) < 0)
		return -errno;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
					 O_WRONLY, 0);
	e = posix_spawnp(&pid, c->argv[0], &fa, NULL, (char *const *)c->argv,
			 environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (e) {
		close(p[0]);
		ev_err(log, "%s: the main archive is %s-compressed, and %s cannot "
		       "be run: %s", image, c->name, c->argv[0], strerror(e));
		return -e;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		e = -ENOMEM;
	} else {
		r->fd = p[0];
		e = cpio_series(r, im, image, log);
		if (!e && im->archives == before) {
			ev_err(log, "%s: no cpio archive in its %s-compressed part",
			       image, c->name);
			e = -EINVAL;
		}
		free(r);
	}
	close(p[0]);	/* a decompressor still writing gets SIGPIPE */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return e;
}

static int image_read(const char *image, struct image *im,
		      struct evfio_log *log)
{
	struct reader *r;
	unsigned char m[6];
	struct stat st = { 0 };
	size_t n;
	int fd, e = -EINVAL;

	fd = open(image, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = -errno;
		ev_err(log, "%s: %s", image, strerror(errno));
		return e;
	}
	/* an image is a file of a known size: /dev/zero, a pipe or a tty
	 * would be read for ever (zeros are the padding between archives) */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > IMAGE_MAX) {
		e = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		ev_err(log, "%s: %s", image, !S_ISREG(st.st_mode) ?
		       "not a regular file (an initramfs image such as "
		       "/boot/initrd.img-$(uname -r))" :
		       "larger than 4 GiB: not an initramfs image");
		close(fd);
		return e;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	r->fd = fd;
	im->compression = "none";
	e = cpio_series(r, im, image, log);
	if (e < 0)
		goto out;
	n = rd_peek6(r, m);
	if (n == 0) {
		if (!im->archives) {
			ev_err(log, "%s: empty", image);
			e = -EINVAL;
		}
		goto out;
	}
	e = -EINVAL;
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		if (n >= codecs[i].len && !memcmp(m, codecs[i].magic, codecs[i].len)) {
			im->compression = codecs[i].name;
			e = read_compressed(fd, r->off, &codecs[i], im, image, log);
			goto out;
		}
	}
	ev_err(log, "%s: at byte %llu neither a cpio archive nor a known "
	       "compression (gzip, zstd, xz, lzma, bzip2, lz4, lzop)", image,
	       (unsigned long long)r->off);
out:
	free(r);
	close(fd);
	return e;
}

/* ---- checks ------------------------------------------------------------ */

/* "static", "dynamic", or NULL when data is not a 64-bit ELF file. */
static const char *elf_linkage(const char *data, size_t size)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	const char *kind = "static";

	if (!data || size < sizeof(eh))
		return NULL;
	memcpy(&eh, data, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph) || eh.e_phnum > 256 ||
	    eh.e_phoff > size || (size - eh.e_phoff) / sizeof(ph) < eh.e_phnum)
		return NULL;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP)
			kind = "dynamic";
	}
	return kind;
}

static bool same_as_file(const struct entry *e, const char *path)
{
	FILE *f = fopen(path, "re");
	size_t i = 0;
	bool same = f != NULL;
	int c;

	while (same && (c = getc(f)) != EOF)
		same = i < e->size && (unsigned char)e->data[i++] == c;
	if (f)
		fclose(f);
	return same && i == e->size;
}

/* 1-based number of the first line of text holding every needle, skipping
 * shell comments; 0 when none does. */
static int line_with(const char *text, const char *a, const char *b)
{
	int n = 0;

	for (const char *l = text; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char line[1024];

		n++;
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, l, len);
		line[len] = '\0';
		if (line[strspn(line, " \t")] != '#' && strstr(line, a) &&
		    (!b || strstr(line, b)))
			return n;
		l = end ? end + 1 : NULL;
	}
	return 0;
}

/* 1-based line of the ORDER entry for script, 0 when absent. */
static int order_line(const struct entry *order, const char *script)
{
	size_t len = strlen(script);
	int n = 0;

	if (!order || !order->data)
		return 0;
	for (const char *l = order->data; *l;) {
		n++;
		if (!strncmp(l, script, len) && (l[len] == ' ' || l[len] == '\n' ||
						 !l[len]))
			return n;
		l = strchr(l, '\n');
		if (!l)
			break;
		l++;
	}
	return 0;
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

/* initramfs-tools: scripts/init-top/early-vfio, ordered before udev. */
static int check_initramfs_tools(const struct image *im)
{
	const struct entry *order = image_get(im, "scripts/init-top/ORDER");
	int bad = 0, e, u;

	REPORT(image_get(im, "scripts/init-top/early-vfio") != NULL,
	       "boot script /scripts/init-top/early-vfio");
	e = order_line(order, "/scripts/init-top/early-vfio");
	u = order_line(order, "/scripts/init-top/udev");
	REPORT(e > 0 && (u == 0 || e < u),
	       "scripts/init-top/ORDER runs early-vfio (line %d) before udev "
	       "(line %d)", e, u);
	return bad;
}

/* Is the service wanted by some target (a NAME.wants/SERVICE link)? */
static const char *wanted_by(const struct image *im, const char *service)
{
	static char target[256];
	char tail[300];

	snprintf(tail, sizeof(tail), ".wants/%s", service);
	for (size_t i = 0; i < im->n; i++) {
		const char *n = im->v[i].name, *t = strstr(n, tail);

		if (t && !t[strlen(tail)] && S_ISLNK(im->v[i].mode)) {
			const char *s = t;

			while (s > n && s[-1] != '/')
				s--;
			snprintf(target, sizeof(target), "%.*s", (int)(t - s), s);
			return target;
		}
	}
	return NULL;
}

/* dracut's systemd initrd: dracut-pre-udev.service sources the pre-udev hooks
 * and is ordered before systemd-udevd.service (and dracut-pre-trigger.service,
 * so before systemd-udev-trigger.service). */
static int check_dracut_systemd(const struct image *im, const char *hookdir)
{
	static const char *const units[] = {
		"etc/systemd/system/dracut-pre-udev.service",
		"usr/lib/systemd/system/dracut-pre-udev.service",
		"lib/systemd/system/dracut-pre-udev.service",
	};
	const struct entry *unit = NULL;
	const char *target = wanted_by(im, "dracut-pre-udev.service");
	char cond[NAME_MAX_LEN] = "", resolved[NAME_MAX_LEN] = "";
	bool before = false, cond_seen = false, cond_ok = false;
	int bad = 0;

	for (size_t i = 0; !unit && i < sizeof(units) / sizeof(units[0]); i++) {
		unit = image_resolve(im, units[i], NULL, 0);
		if (unit && !unit->data)
			unit = NULL;
	}
	if (unit) {
		for (const char *l = unit->data; l && *l;) {
			const char *end = strchr(l, '\n');
			size_t len = end ? (size_t)(end - l) : strlen(l);

			if (!strncmp(l, "Before=", 7) &&
			    memmem(l, len, "systemd-udevd.service", 21))
				before = true;
			/* it runs only when a hook folder is not empty: one of
			 * them must be where the hooks are */
			if (!strncmp(l, "ConditionDirectoryNotEmpty=", 27)) {
				const char *p = l + 27;

				p += *p == '|';
				snprintf(cond, sizeof(cond), "%.*s",
					 (int)(len - (size_t)(p - l)), p);
				resolved[0] = '\0';
				image_resolve(im, cond, resolved, sizeof(resolved));
				cond_seen = true;
				cond_ok |= !strcmp(resolved, hookdir);
			}
			l = end ? end + 1 : NULL;
		}
	}
	cond_ok |= !cond_seen;
	REPORT(unit && before && target && cond_ok,
	       "systemd initrd: dracut-pre-udev.service runs the hook before "
	       "systemd-udevd.service (%s%s%s%s%s)",
	       !unit ? "no such unit" : !before ? "not ordered Before= it" :
	       "wanted by ", unit && before && target ? target : "",
	       unit && before && !target ? "wanted by no target" : "",
	       cond_ok ? "" : "; its conditions look elsewhere, as in ",
	       cond_ok ? "" : cond);
	return bad;
}

/* dracut's shell initrd: /init sources the pre-udev hooks, then starts udevd. */
static int check_dracut_shell(const struct entry *init)
{
	int bad = 0, h = 0, u = 0;

	if (init && init->data) {
		h = line_with(init->data, "source_hook pre-udev", NULL);
		u = line_with(init->data, "udevd", "--daemon");
	}
	REPORT(h > 0 && u > 0 && h < u,
	       "shell initrd: /init sources the pre-udev hooks (line %d) before it "
	       "starts udevd (line %d)", h, u);
	return bad;
}

/* The hook folder dracut-lib.sh names ("hookdir=/lib/dracut/hooks"), without
 * its leading slash. */
static const char *hook_dir(const struct image *im)
{
	static char dir[256];
	const struct entry *lib = image_resolve(im, "usr/lib/dracut-lib.sh", NULL, 0);
	int n;

	if (!lib)
		lib = image_resolve(im, "lib/dracut-lib.sh", NULL, 0);
	n = lib && lib->data ? line_with(lib->data, "hookdir=/", NULL) : 0;
	snprintf(dir, sizeof(dir), "lib/dracut/hooks");
	for (const char *l = n ? lib->data : NULL; l; l = strchr(l, '\n') + 1) {
		if (--n == 0) {
			const char *v = strstr(l, "hookdir=/") + 9;

			snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(v, " \t\n;\"'"), v);
			break;
		}
	}
	return dir;
}

static int check_dracut(const struct image *im)
{
	char hookdir[NAME_MAX_LEN] = "", initpath[NAME_MAX_LEN] = "";
	char path[NAME_MAX_LEN + 16];
	const struct entry *dir, *init, *hook = NULL;
	size_t len;
	int bad = 0;

	/* where the image's dracut-lib.sh sources the hooks from: hookdir=
	 * /lib/dracut/hooks (dracut up to 106, which installs them in
	 * /var/lib/dracut/hooks and links the two) or /var/lib/dracut/hooks */
	snprintf(path, sizeof(path), "%s/pre-udev", hook_dir(im));
	dir = image_resolve(im, path, hookdir, sizeof(hookdir));
	len = strlen(hookdir);
	for (size_t i = 0; dir && S_ISDIR(dir->mode) && i < im->n; i++) {
		const char *n = im->v[i].name;

		if (!strncmp(n, hookdir, len) && n[len] == '/' &&
		    !strchr(n + len + 1, '/') && ends_with(n, "early-vfio.sh") &&
		    S_ISREG(im->v[i].mode))
			hook = &im->v[i];
	}
	REPORT(hook != NULL, "dracut pre-udev hook /%s%s",
	       hook ? hook->name : path,
	       hook ? "" : "/*early-vfio.sh (not in the image)");

	init = image_resolve(im, "init", initpath, sizeof(initpath));
	if (init && S_ISREG(init->mode) && !strcmp(base_name(initpath), "systemd"))
		bad += check_dracut_systemd(im, hookdir);
	else if (init && S_ISREG(init->mode))
		bad += check_dracut_shell(init);
	else
		REPORT(false, "/init (not in the image)");
	return bad;
}

/* The host's config is valid and has no device section. */
static bool host_selects_nothing(const char *config, struct evfio_log *log)
{
	struct evfio_log quiet = *log;
	struct evfio_config cfg;
	bool empty;

	quiet.kmsg_fd = -1;
	quiet.level = -1;	/* its errors are check's to print, without --initramfs */
	empty = evfio_config_load(&cfg, config, &quiet) == 0 && !cfg.n_sections;
	evfio_config_free(&cfg);
	return empty;
}

int evfio_initramfs_check(const char *image, const char *config,
			  struct evfio_log *log)
{
	struct image im = { 0 };
	const struct entry *bin, *conf, *mod = NULL, *rec_ent;
	struct evfio_record rec = { 0 };
	const char *gen, *rebuild;
	char binpath[NAME_MAX_LEN];
	bool dracut, itools;
	int bad = 0, r;

	r = image_read(image, &im, log);
	if (r < 0)
		goto out;
	conf = image_resolve(&im, "etc/early-vfio.conf", NULL, 0);
	if (!conf && host_selects_nothing(config, log)) {
		/* the shipped example (all comments): the hooks leave early-vfio
		 * out of the image, and there is nothing to check */
		printf("%s: valid, no device section: nothing is selected yet, so %s "
		       "holds no early-vfio and needs none\n", config, image);
		printf("Next: early-vfio list (what can go to a VM), early-vfio add "
		       "DEVICE (writes its section), early-vfio apply (rebuilds and checks "
		       "every image), then reboot.\n");
		r = 1;
		goto out;
	}
	itools = image_get(&im, "scripts/init-top") || image_get(&im, "conf/initramfs.conf");
	dracut = !itools && (image_resolve(&im, "usr/lib/dracut", NULL, 0) ||
			     image_resolve(&im, "lib/dracut-lib.sh", NULL, 0));
	gen = itools ? "initramfs-tools" : dracut ? "dracut" : "an unknown generator";
	rebuild = dracut ? "dracut -f --regenerate-all" : "update-initramfs -u -k all";
	printf("%s: built by %s, %u cpio archive%s, main archive %s%s\n", image,
	       gen, im.archives, im.archives == 1 ? "" : "s",
	       strcmp(im.compression, "none") ? im.compression : "uncompressed",
	       strcmp(im.compression, "none") ? "-compressed" : "");

	bin = image_resolve(&im, "usr/sbin/early-vfio", binpath, sizeof(binpath));
	REPORT(bin && S_ISREG(bin->mode) && (bin->mode & 0111),
	       "binary /usr/sbin/early-vfio (%s)",
	       !bin ? "not in the image" :
	       elf_linkage(bin->data, bin->size) ? elf_linkage(bin->data, bin->size) :
	       "not an ELF executable");

	conf = image_resolve(&im, "etc/early-vfio.conf", NULL, 0);
	REPORT(conf && conf->data, "config /etc/early-vfio.conf");
	if (conf && conf->data) {
		struct evfio_log quiet = *log;
		struct evfio_config cfg;

		quiet.kmsg_fd = -1;
		REPORT(evfio_config_load_mem(&cfg, "/etc/early-vfio.conf (image)",
					     conf->data, conf->size, &quiet) == 0,
		       "the config in the image is valid");
		evfio_config_free(&cfg);
		REPORT(same_as_file(conf, config),
		       "the config in the image is the same as %s%s%s%s", config,
		       same_as_file(conf, config) ? "" : " (run: ",
		       same_as_file(conf, config) ? "" : rebuild,
		       same_as_file(conf, config) ? "" : ")");
	}

	/* the record of the machine the image was built for (record.c) */
	rec_ent = image_resolve(&im, "etc/early-vfio.record", NULL, 0);
	if (rec_ent && rec_ent->data &&
	    evfio_record_load_mem(rec_ent->data, rec_ent->size, &rec) == 0) {
		size_t sel = 0;

		for (size_t i = 0; i < rec.n; i++)
			sel += rec.v[i].selected;
		REPORT(true, "record /etc/early-vfio.record: built %s, %s, %zu selected "
		       "device%s recorded", rec.chroot ? "in a chroot" : "on the host",
		       rec.known ? "what the system runs from known" :
		       "what the system runs from NOT known: storage controllers are "
		       "refused at boot unless allow-unrecorded = yes",
		       sel, sel == 1 ? "" : "s");
	} else {
		REPORT(false, "record /etc/early-vfio.record (not in the image: %s)", rebuild);
	}
	evfio_record_free(&rec);

	/* any archive: Debian 13's initramfs-tools puts the compressed modules
	 * (.ko.xz) in an uncompressed early archive */
	for (size_t i = 0; !mod && i < im.n; i++) {
		const char *b = base_name(im.v[i].name);

		if (S_ISREG(im.v[i].mode) && (!strncmp(b, "vfio-pci.ko", 11) ||
					      !strncmp(b, "vfio_pci.ko", 11)))
			mod = &im.v[i];
	}
	REPORT(mod != NULL, "module vfio-pci%s%s", mod ? " /" : " (not in the image)",
	       mod ? mod->name : "");

	if (itools)
		bad += check_initramfs_tools(&im);
	else if (dracut)
		bad += check_dracut(&im);
	else
		REPORT(false, "boot script: neither initramfs-tools' "
		       "scripts/init-top nor dracut's hooks are in the image");
	r = bad ? -EINVAL : 0;
	printf("%s\n", bad ? "image is NOT ready" : "image is ready");
out:
	image_free(&im);
	return r;
}

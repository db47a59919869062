// SPDX-License-Identifier: MIT
/* The config as text, for add and remove: they change one section and
 * leave every other byte as the admin wrote it (comments, blank lines,
 * order, the spacing around '=').  Sections are found the way config.c's
 * reader finds them (a line whose first non-blank is '[', the name up to
 * ']', blanks trimmed; not an indented one after a key, which continues
 * the key's value as inih reads it).
 *
 * The file is replaced the way an editor should: a temporary file next to
 * it with the old owner and mode, fsync, rename over it, fsync the
 * directory; a reader sees the old or the new file, never half of one.
 * Editors take turns through an flock(2) on the file's directory (the file
 * itself is replaced, so a lock on it would be lost with it). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "early-vfio.h"

/* dirname() of a copy */
static void dir_of(const char *path, char *buf, size_t size)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(buf, size, "%s", dirname(copy));
}

int evfio_conf_lock(const char *path, unsigned int timeout_s)
{
	char dir[PATH_MAX];
	unsigned int waited_ms = 0;
	int fd;

	dir_of(path, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		if (err != EWOULDBLOCK || waited_ms >= timeout_s * 1000) {
			close(fd);
			return err == EWOULDBLOCK ? -ETIMEDOUT : -err;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
		waited_ms += 20;
	}
	return fd;
}

void evfio_conf_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* releases the flock */
}

int evfio_conf_read(const char *path, struct evfio_conftext *t)
{
	struct stat st;
	size_t cap = 4096;
	ssize_t n;
	int fd;

	memset(t, 0, sizeof(*t));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno != ENOENT)
		return -errno;
	t->text = malloc(cap);
	if (!t->text) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	t->text[0] = '\0';
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = S_ISREG(st.st_mode) ? -errno : -EINVAL;

		close(fd);
		evfio_conf_free(t);
		return err;
	}
	t->exists = true;
	t->uid = st.st_uid;
	t->gid = st.st_gid;
	t->mode = st.st_mode & 07777;
	while ((n = read(fd, t->text + t->len, cap - t->len - 1)) > 0) {
		t->len += (size_t)n;
		if (cap - t->len - 1 == 0) {
			char *v = cap > (1u << 24) ? NULL : realloc(t->text, cap * 2);

			if (!v) {
				close(fd);
				evfio_conf_free(t);
				return -EFBIG;
			}
			t->text = v;
			cap *= 2;
		}
	}
	close(fd);
	if (n < 0) {
		int err = -errno;

		evfio_conf_free(t);
		return err;
	}
	t->text[t->len] = '\0';
	if (strlen(t->text) != t->len) {	/* a NUL byte: not a text we can edit */
		evfio_conf_free(t);
		return -EILSEQ;
	}
	return 0;
}

void evfio_conf_free(struct evfio_conftext *t)
{
	free(t->text);
	t->text = NULL;
	t->len = 0;
}

/* ---- lines ------------------------------------------------------------ */

/* The section a line opens, into name (trimmed), or false. */
static bool header(const char *line, size_t len, bool first, char *name, size_t size)
{
	const char *s = line, *end = line + len, *close;
	size_t n;

	if (first && len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end || *s != '[')
		return false;
	s++;
	close = memchr(s, ']', (size_t)(end - s));
	if (!close)
		return false;
	while (s < close && (*s == ' ' || *s == '\t'))
		s++;
	n = (size_t)(close - s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(name, s, n);
	name[n] = '\0';
	return true;
}

static bool blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", line[i]))
			return false;
	return true;
}

static bool comment(const char *line, size_t len)
{
	size_t i = strspn(line, " \t");

	return i < len && (line[i] == '#' || line[i] == ';');
}

struct line {
	const char *p;
	size_t len;		/* with its newline */
	bool hdr;		/* opens a section */
};

/* Split text into lines (the last may lack a newline), and mark the
 * headers by config.c's rule, which is inih's (INI_ALLOW_MULTILINE): an
 * indented line after a key of the same section continues that key's
 * value, even one that starts with '['. */
static struct line *split(const char *text, size_t *n)
{
	char name[EVFIO_LINE_MAX + 2];
	size_t cap = 16;
	struct line *v = malloc(cap * sizeof(*v));
	bool after_key = false;

	*n = 0;
	if (!v)
		return NULL;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);

		if (*n == cap) {
			struct line *w = realloc(v, 2 * cap * sizeof(*v));

			if (!w) {
				free(v);
				return NULL;
			}
			v = w;
			cap *= 2;
		}
		v[*n] = (struct line){ p, len, false };
		if (blank(p, len) || comment(p, len))
			;	/* inih keeps the key across these */
		else if ((*p == ' ' || *p == '\t') && after_key)
			;	/* a continuation */
		else if (header(p, len, *n == 0, name, sizeof(name)))
			v[*n].hdr = true, after_key = false;
		else
			after_key = true;
		(*n)++;
		p += len;
	}
	return v;
}

/* The index of the line that opens section name, or -1. */
static long find_header(const struct line *v, size_t n, const char *name)
{
	char got[EVFIO_LINE_MAX + 2];

	for (size_t i = 0; i < n; i++)
		if (v[i].hdr && header(v[i].p, v[i].len, i == 0, got, sizeof(got)) &&
		    !strcmp(got, name))
			return (long)i;
	return -1;
}

bool evfio_conf_has_section(const char *text, const char *name)
{
	size_t n;
	struct line *v = split(text, &n);
	bool found = v && find_header(v, n, name) >= 0;

	free(v);
	return found;
}

char *evfio_conf_append(const char *text, const char *block)
{
	size_t len = strlen(text), blen = strlen(block);
	char *out = malloc(len + blen + 3);
	char *w;

	if (!out)
		return NULL;
	memcpy(out, text, len);
	w = out + len;
	if (len && text[len - 1] != '\n')
		*w++ = '\n';
	/* one blank line between the last line and the new section */
	if (len && !(w - out >= 2 && w[-1] == '\n' && w[-2] == '\n'))
		*w++ = '\n';
	memcpy(w, block, blen);
	w[blen] = '\0';
	return out;
}

/* Which lines a section owns: the comment block right above its header
 * (no blank line between), the header, its keys with the comments among
 * and right after them; a comment block that leads straight into the next
 * header is that section's.  One run of blank lines around it goes too,
 * so that its neighbours keep one blank line between them. */
static void section_lines(const struct line *v, size_t n, size_t h, size_t *from,
			  size_t *to)
{
	size_t first = h, end = h + 1, next, j, before, after;

	while (first > 0 && comment(v[first - 1].p, v[first - 1].len))
		first--;
	for (next = h + 1; next < n; next++)
		if (v[next].hdr)
			break;
	for (j = h + 1; j < next; j++)
		if (!blank(v[j].p, v[j].len) && !comment(v[j].p, v[j].len))
			end = j + 1;
	for (j = end; j < next && comment(v[j].p, v[j].len); j++)
		;
	if (j < next || next == n)
		end = j;
	for (after = end; after < n && blank(v[after].p, v[after].len); after++)
		;
	for (before = first; before > 0 && blank(v[before - 1].p, v[before - 1].len); before--)
		;
	if (after == n)		/* the last thing in the file */
		*from = before, *to = n;
	else if (before < first || first == 0)
		*from = first, *to = after;
	else
		*from = first, *to = end;
}

char *evfio_conf_remove(const char *text, const char *name, char **removed)
{
	size_t n, from, to;
	struct line *v = split(text, &n);
	long h;
	char *out, *w;

	if (removed)
		*removed = NULL;
	if (!v)
		return NULL;
	h = find_header(v, n, name);
	if (h < 0) {
		free(v);
		errno = ENOENT;
		return NULL;
	}
	section_lines(v, n, (size_t)h, &from, &to);
	out = malloc(strlen(text) + 1);
	if (!out) {
		free(v);
		return NULL;
	}
	w = out;
	for (size_t i = 0; i < n; i++)
		if (i < from || i >= to) {
			memcpy(w, v[i].p, v[i].len);
			w += v[i].len;
		}
	*w = '\0';
	if (removed) {
		*removed = malloc((size_t)(v[to - 1].p + v[to - 1].len - v[from].p) + 1);
		if (*removed) {
			w = *removed;
			for (size_t i = from; i < to; i++) {
				if (blank(v[i].p, v[i].len))
					continue;	/* what was said, not the spacing */
				memcpy(w, v[i].p, v[i].len);
				w += v[i].len;
			}
			*w = '\0';
		}
	}
	free(v);
	return out;
}

int evfio_conf_write(const char *path, const struct evfio_conftext *old,
		     const char *text)
{
	char real[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 32], *base, copy[PATH_MAX];
	size_t len = strlen(text), done = 0;
	struct stat st;
	int fd, dfd, r = 0;

	/* a symlinked config: replace what it points to, keep the link */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		if (!realpath(path, real))
			return -errno;
	} else {
		snprintf(real, sizeof(real), "%s", path);
	}
	dir_of(real, dir, sizeof(dir));
	snprintf(copy, sizeof(copy), "%s", real);
	base = basename(copy);
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (done < len && !r) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (!r && old->exists && fchown(fd, old->uid, old->gid) < 0)
		r = -errno;
	if (!r && fchmod(fd, old->exists ? old->mode : 0644) < 0)
		r = -errno;
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, real) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

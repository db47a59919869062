// SPDX-License-Identifier: MIT
/* /etc/early-vfio.conf: parsed with inih, checked line by line.
 *
 * inih calls us only for "key = value" lines, so a reader wrapped around
 * the input sees each physical line first: it numbers lines the way inih
 * does, notices section headers (for empty and duplicate sections), lines
 * too long for inih's 200-byte buffer, bytes that are not UTF-8, and lines
 * that are neither a key, a section nor a comment.  Every problem is
 * reported as "file:line: message"; any problem makes the whole config
 * invalid, so nothing is bound from it. */
#define INI_HANDLER_LINENO 1
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <ini.h>

#include "early-vfio.h"

#define SECTION_NAME_MAX 48	/* inih keeps 49 characters of a name */

enum {
	KEY_IDS = 1 << 0,
	KEY_ADDRESS = 1 << 1,
	KEY_CLASS = 1 << 2,
	KEY_ALLOW_SYSTEM = 1 << 3,
	KEY_UNKNOWN = 1 << 4,	/* an error is already reported there */
	KEY_SERIAL = 1 << 5,
	KEY_MODEL = 1 << 6,
	KEY_DSN = 1 << 7,
	KEY_ALLOW_UNRECORDED = 1 << 8,
	KEY_SELECTORS = KEY_IDS | KEY_ADDRESS | KEY_CLASS | KEY_SERIAL |
			KEY_MODEL | KEY_DSN,
	KEY_DRIVER = 1 << 10,
	KEY_UNBIND = 1 << 11,
	KEY_GROUP = 1 << 12,
	KEY_SRIOV_VFS = 1 << 13,
	KEY_SRIOV_VFIO = 1 << 14,
};

static const struct keydef {
	const char *name;
	unsigned int bit;
	bool global;
} keys[] = {
	{ "ids", KEY_IDS, false },
	{ "address", KEY_ADDRESS, false },
	{ "class", KEY_CLASS, false },
	{ "serial", KEY_SERIAL, false },
	{ "model", KEY_MODEL, false },
	{ "dsn", KEY_DSN, false },
	{ "allow-system-device", KEY_ALLOW_SYSTEM, false },
	{ "allow-unrecorded", KEY_ALLOW_UNRECORDED, false },
	{ "sriov-vfs", KEY_SRIOV_VFS, false },
	{ "sriov-vfio", KEY_SRIOV_VFIO, false },
	{ "driver", KEY_DRIVER, true },
	{ "unbind", KEY_UNBIND, true },
	{ "iommu-group", KEY_GROUP, true },
};

#define OPTIONS_SECTION "options"

struct parser {
	struct evfio_config *cfg;
	const char *path;
	FILE *file;		/* a file, or memory through fmemopen() */
	int lineno;
	int error_line;		/* last line we reported an error on */
	bool indented;		/* current line starts with blanks */
	/* where keys go: -1 before any section, -2 in a section that is
	 * itself in error, -3 in [options], else an index in sections */
	long cur;
	unsigned int options_keys;
	int options_line;
	char last_key[EVFIO_NAME_MAX];
	/* the sections by name, for the duplicate check: open addressing,
	 * index + 1 in each slot, 0 empty; at most half full */
	size_t *names;
	size_t names_cap;
	size_t sections_cap;
};

#define CUR_NONE (-1)
#define CUR_BAD (-2)
#define CUR_OPTIONS (-3)

__attribute__((format(printf, 3, 4)))
static void cfg_error(struct parser *p, int line, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->cfg->n_errors++;
	p->error_line = line;
	if (p->cfg->log)
		ev_err(p->cfg->log, "%s:%d: %s", p->path, line, msg);
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[EVFIO_NAME_MAX + 1];

	if (la > EVFIO_NAME_MAX || lb > EVFIO_NAME_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (tolower((unsigned char)a[i - 1]) !=
					      tolower((unsigned char)b[j - 1]));

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const struct keydef *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static void unknown_key(struct parser *p, int line, const char *name,
			bool global)
{
	const struct keydef *k = find_key(name);
	const char *best = NULL;
	size_t best_d = 3;

	if (k) {
		cfg_error(p, line, "key '%s' belongs in %s", name,
			  k->global ? "[" OPTIONS_SECTION "]" :
				      "a device section, not [" OPTIONS_SECTION "]");
		return;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t d;

		if (keys[i].global != global)
			continue;
		d = levenshtein(name, keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = keys[i].name;
		}
	}
	if (best) {
		cfg_error(p, line, "unknown key '%s' (did you mean '%s'?)", name,
			  best);
		return;
	}
	/* the list of keys that belong here, from the table itself */
	char known[256];
	size_t len = 0;

	known[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].global == global && len < sizeof(known))
			len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s",
						len ? ", " : "", keys[i].name);
	cfg_error(p, line, "unknown key '%s' (known: %s)", name, known);
}

/* ---- the reader: sees every physical line before inih does ---------- */

static size_t name_hash(const char *s)
{
	size_t h = 14695981039346656037u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* The slot that holds name, or the empty one where it goes. */
static size_t *name_slot(struct parser *p, const char *name)
{
	size_t i = name_hash(name) & (p->names_cap - 1);

	while (p->names[i] && strcmp(p->cfg->sections[p->names[i] - 1].name, name))
		i = (i + 1) & (p->names_cap - 1);
	return &p->names[i];
}

/* Room for one more name; false when out of memory. */
static bool names_grow(struct parser *p)
{
	size_t *old = p->names, old_cap = p->names_cap;

	if (2 * (p->cfg->n_sections + 1) <= p->names_cap)
		return true;
	p->names_cap = old_cap ? 2 * old_cap : 64;
	p->names = calloc(p->names_cap, sizeof(*p->names));
	if (!p->names) {
		p->names = old;
		p->names_cap = old_cap;
		return false;
	}
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			*name_slot(p, p->cfg->sections[old[i] - 1].name) = old[i];
	free(old);
	return true;
}

static void begin_section(struct parser *p, const char *name, int line)
{
	struct evfio_config *cfg = p->cfg;
	struct evfio_section *s;
	size_t *slot;

	p->last_key[0] = '\0';
	if (strlen(name) > SECTION_NAME_MAX || !evfio_valid_name(name)) {
		cfg_error(p, line,
			  "invalid section name '%.60s': use up to %d letters, "
			  "digits, '-', '_' or '.'",
			  name, SECTION_NAME_MAX);
		p->cur = CUR_BAD;
		return;
	}
	if (!strcmp(name, OPTIONS_SECTION)) {
		if (p->options_line) {
			cfg_error(p, line,
				  "duplicate section [%s] (first at line %d)",
				  name, p->options_line);
			p->cur = CUR_BAD;
			return;
		}
		p->options_line = line;
		p->cur = CUR_OPTIONS;
		return;
	}
	/* a hash of the names, and the array grown by doubling: 100000
	 * sections are read in well under a second, not a minute */
	if (!names_grow(p)) {
		cfg_error(p, line, "out of memory");
		p->cur = CUR_BAD;
		return;
	}
	slot = name_slot(p, name);
	if (*slot) {
		cfg_error(p, line,
			  "duplicate section [%s] (first at line %d): "
			  "merge them or rename one",
			  name, cfg->sections[*slot - 1].line);
		p->cur = CUR_BAD;
		return;
	}
	if (cfg->n_sections == p->sections_cap) {
		size_t cap = p->sections_cap ? 2 * p->sections_cap : 8;

		s = realloc(cfg->sections, cap * sizeof(*s));
		if (!s) {
			cfg_error(p, line, "out of memory");
			p->cur = CUR_BAD;
			return;
		}
		cfg->sections = s;
		p->sections_cap = cap;
	}
	s = &cfg->sections[cfg->n_sections];
	memset(s, 0, sizeof(*s));
	strcpy(s->name, name);
	s->line = line;
	p->cur = (long)cfg->n_sections++;
	*slot = cfg->n_sections;
}

static void look_at_line(struct parser *p, char *line)
{
	char *s = line + strspn(line, " \t");
	char *end;
	size_t n;

	p->indented = s != line;
	n = strcspn(s, "\r\n");
	if (n == 0 || *s == ';' || *s == '#')
		return;
	/* inih's rule (INI_ALLOW_MULTILINE), and confedit.c's: an indented
	 * line after a key of this section continues that key's value, even
	 * one that starts with '[' */
	if (p->indented && p->last_key[0])
		return;
	if (*s == '[') {
		char name[EVFIO_LINE_MAX + 2];

		end = memchr(s, ']', n);
		if (!end) {
			cfg_error(p, p->lineno, "section header without ']'");
			p->cur = CUR_BAD;
			return;
		}
		memcpy(name, s + 1, (size_t)(end - s - 1));
		name[end - s - 1] = '\0';
		/* inih strips blanks inside the brackets too */
		n = strlen(name);
		while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
			name[--n] = '\0';
		begin_section(p, name + strspn(name, " \t"), p->lineno);
		return;
	}
	if (!memchr(s, '=', n) && !memchr(s, ':', n))
		cfg_error(p, p->lineno,
			  "expected 'key = value', '[section]' or a comment");
}

static char *read_line(char *buf, int size, void *stream)
{
	struct parser *p = stream;
	size_t len = 0;
	bool too_long = false, nul = false;
	int ch = EOF;

	/* byte by byte: fgets() would hide a NUL byte, and with it the end
	 * of the line, from strlen() */
	while (len + 1 < (size_t)size && (ch = getc(p->file)) != EOF) {
		nul |= ch == '\0';
		buf[len++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (len == 0 && ch == EOF)
		return NULL;
	if (ch != '\n' && ch != EOF && len + 1 >= (size_t)size) {
		too_long = true;
		while ((ch = getc(p->file)) != EOF && ch != '\n')
			nul |= ch == '\0';
	}
	buf[len] = '\0';
	p->lineno++;
	if (nul) {
		cfg_error(p, p->lineno, "line contains a NUL byte");
		strcpy(buf, "\n");
	} else if (too_long) {
		cfg_error(p, p->lineno,
			  "line too long (at most %d characters)", EVFIO_LINE_MAX);
		strcpy(buf, "\n");
	} else if (!valid_utf8((const unsigned char *)buf, len)) {
		cfg_error(p, p->lineno, "line is not valid UTF-8");
		strcpy(buf, "\n");
	} else {
		/* inih skips a UTF-8 byte order mark at the start */
		bool bom = p->lineno == 1 && !strncmp(buf, "\xef\xbb\xbf", 3);

		look_at_line(p, buf + (bom ? 3 : 0));
	}
	return buf;
}

/* ---- the handler: one call per key ---------------------------------- */

struct token_ctx {
	struct parser *p;
	int line;
	unsigned int bit;
	struct evfio_section *s;
	size_t n;		/* tokens seen */
};

/* Append one element of size bytes to the array *arr of *n elements. */
static int append(void *arr, size_t *n, const void *elem, size_t size)
{
	void **p = arr;
	char *a = realloc(*p, (*n + 1) * size);

	if (!a)
		return -ENOMEM;
	memcpy(a + *n * size, elem, size);
	*p = a;
	(*n)++;
	return 0;
}

static int add_token(const char *tok, void *data)
{
	struct token_ctx *t = data;
	struct evfio_section *s = t->s;
	union {
		struct evfio_id id;
		struct evfio_addr addr;
		struct evfio_class cls;
		char serial[EVFIO_SERIAL_MAX + 1];
		uint64_t dsn;
	} v;
	const char *msg, *what;

	t->n++;
	if (tok[0] == '#') {
		cfg_error(t->p, t->line,
			  "'#' starts a comment only at the start of a line; "
			  "after a value use ' ;'");
		return 1;	/* the rest of the line is the comment */
	}
	switch (t->bit) {
	case KEY_IDS:
		what = "id";
		msg = evfio_id_parse(tok, &v.id);
		if (!msg)
			return append(&s->ids, &s->n_ids, &v.id, sizeof(v.id));
		break;
	case KEY_ADDRESS:
		what = "address";
		msg = evfio_addr_parse(tok, &v.addr);
		if (!msg)
			return append(&s->addrs, &s->n_addrs, &v.addr, sizeof(v.addr));
		break;
	case KEY_SERIAL:
		what = "serial";
		msg = evfio_serial_parse(tok, v.serial, EVFIO_SERIAL_MAX);
		if (!msg)
			return append(&s->serials, &s->n_serials, v.serial,
				      sizeof(v.serial));
		break;
	case KEY_DSN:
		what = "dsn";
		msg = evfio_dsn_parse(tok, &v.dsn);
		if (!msg)
			return append(&s->dsns, &s->n_dsns, &v.dsn, sizeof(v.dsn));
		break;
	default:
		what = "class";
		msg = evfio_class_parse(tok, &v.cls);
		if (!msg)
			return append(&s->classes, &s->n_classes, &v.cls,
				      sizeof(v.cls));
		break;
	}
	cfg_error(t->p, t->line, "invalid %s '%.40s': %s", what, tok, msg);
	return 0;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

static void option_key(struct parser *p, const char *name, const char *value,
		       int line)
{
	const struct keydef *k = find_key(name);

	if (!k || !k->global) {
		unknown_key(p, line, name, true);
		return;
	}
	if (p->options_keys & k->bit) {
		cfg_error(p, line, "duplicate key '%s' in [" OPTIONS_SECTION "]",
			  name);
		return;
	}
	p->options_keys |= k->bit;
	if (k->bit == KEY_DRIVER) {
		if (!evfio_valid_name(value))
			cfg_error(p, line,
				  "invalid driver name '%.40s' (e.g. vfio-pci)",
				  value);
		else
			snprintf(p->cfg->driver, sizeof(p->cfg->driver), "%s",
				 value);
		return;
	}
	if (k->bit == KEY_GROUP) {
		static const char *const names[] = { "warn", "refuse", "whole" };

		for (int i = 0; i < 3; i++) {
			if (!strcasecmp(value, names[i])) {
				p->cfg->group = (enum evfio_group_policy)i;
				return;
			}
		}
		cfg_error(p, line, "invalid value '%.40s' for 'iommu-group': use "
			  "warn, refuse or whole", value);
		return;
	}
	if (!parse_bool(value, &p->cfg->unbind))
		cfg_error(p, line, "invalid value '%.40s' for 'unbind': use yes or no",
			  value);
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value, int line)
{
	struct parser *p = user;
	struct evfio_section *s;
	const struct keydef *k;
	struct token_ctx t;
	bool continuation;
	int r;

	(void)section;	/* we track sections ourselves, untruncated */
	if (line == p->error_line)
		return 1;	/* this line is already reported */
	continuation = p->indented && !strcmp(name, p->last_key);
	snprintf(p->last_key, sizeof(p->last_key), "%s", name);

	if (p->cur == CUR_BAD)
		return 1;
	if (p->cur == CUR_NONE) {
		k = find_key(name);
		if (k && k->global)
			cfg_error(p, line, "key '%s' before any section: put it "
				  "under [" OPTIONS_SECTION "]", name);
		else
			cfg_error(p, line, "key '%s' before any section: put it "
				  "under a device section such as [passthrough]",
				  name);
		return 1;
	}
	if (continuation && value[0] == '[') {
		cfg_error(p, line, "indented '%.40s' continues '%s' (a header must not be "
			  "indented after a key); if it starts a section, remove the "
			  "indentation", value, name);
		return 1;
	}
	if (!*value) {
		if (!continuation)
			cfg_error(p, line, "empty value for '%s'", name);
		return 1;
	}
	if (p->cur == CUR_OPTIONS) {
		if (continuation)
			cfg_error(p, line, "'%s' takes a single value", name);
		else
			option_key(p, name, value, line);
		return 1;
	}

	s = &p->cfg->sections[p->cur];
	k = find_key(name);
	if (!k || k->global) {
		unknown_key(p, line, name, false);
		s->keys |= KEY_UNKNOWN;
		return 1;
	}
	if (continuation && strchr(value, '=')) {
		/* inih reads an indented line as more of the previous value */
		cfg_error(p, line, "indented line continues '%s'; if it is a key of "
			  "its own, remove the indentation", name);
		return 1;
	}
	if ((s->keys & k->bit) && !continuation) {
		cfg_error(p, line,
			  "duplicate key '%s' in [%s]: list several values on "
			  "one line, separated by spaces or commas",
			  name, s->name);
		return 1;
	}
	s->keys |= k->bit;
	if (k->bit == KEY_ALLOW_SYSTEM || k->bit == KEY_ALLOW_UNRECORDED) {
		if (continuation || !parse_bool(value, k->bit == KEY_ALLOW_SYSTEM ?
						&s->allow_system : &s->allow_unrecorded))
			cfg_error(p, line, "invalid value '%.40s' for '%s': use yes "
				  "or no", value, k->name);
		return 1;
	}
	if (k->bit == KEY_SRIOV_VFS || k->bit == KEY_SRIOV_VFIO) {
		/* sriov.c knows what they mean */
		const char *msg = continuation && k->bit == KEY_SRIOV_VFS ?
			"'sriov-vfs' takes a single value" :
			evfio_sriov_parse_key(s, k->bit == KEY_SRIOV_VFS, value, line);

		if (msg)
			cfg_error(p, line, "invalid value '%.40s' for '%s': %s", value,
				  k->name, msg);
		return 1;
	}
	if (k->bit == KEY_MODEL) {
		/* model names have blanks: the whole value is one name */
		const char *msg = continuation ? "'model' takes a single value" :
			evfio_serial_parse(value, s->model, EVFIO_MODEL_MAX);

		if (msg)
			cfg_error(p, line, "invalid model '%.40s': %s", value, msg);
		return 1;
	}
	t = (struct token_ctx){ .p = p, .line = line, .bit = k->bit, .s = s };
	r = evfio_for_each_token(value, add_token, &t);
	if (!t.n && !continuation)
		/* "ids = ," would select as if the key were absent */
		cfg_error(p, line, "'%s' has no value, only separators", name);
	return r == -ENOMEM ? 0 : 1;
}

void evfio_config_init(struct evfio_config *cfg, const char *path,
		       struct evfio_log *log)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = path;
	cfg->log = log;
	snprintf(cfg->driver, sizeof(cfg->driver), "%s", EVFIO_DEFAULT_DRIVER);
	cfg->unbind = true;
}

static int cmp_int(int a, int b)
{
	return a < b ? -1 : a > b;
}

/* Lexicographic on (domain, bus, slot, func); -1 ("any") sorts first. */
static int cmp_addr(const void *x, const void *y)
{
	const struct evfio_addr *a = x, *b = y;
	int r = cmp_int(a->domain, b->domain);

	if (!r)
		r = cmp_int(a->bus, b->bus);
	if (!r)
		r = cmp_int(a->slot, b->slot);
	if (!r)
		r = cmp_int(a->func, b->func);
	return r;
}

static int parse(struct evfio_config *cfg, struct parser *p,
		 struct evfio_log *log)
{
	int r;

	evfio_config_init(cfg, p->path, log);
	p->cfg = cfg;
	p->cur = CUR_NONE;

	r = ini_parse_stream(read_line, p, on_key, p);
	free(p->names);
	p->names = NULL;
	if (r == -2) {
		cfg_error(p, p->lineno, "out of memory");
	} else if (r > 0 && cfg->n_errors == 0) {
		/* a line inih refused for a reason we did not foresee */
		cfg_error(p, r, "cannot parse this line");
	}
	for (size_t i = 0; i < cfg->n_sections; i++) {
		struct evfio_section *s = &cfg->sections[i];

		/* sorted, for a binary search among many addresses */
		if (s->n_addrs > 1)
			qsort(s->addrs, s->n_addrs, sizeof(*s->addrs), cmp_addr);
		for (size_t k = 0; k < s->n_ids; k++)
			if (s->ids[k].has_subsys)
				cfg->need |= EVFIO_SCAN_SUBSYS;
		for (size_t k = 0; k < s->n_classes; k++)
			if (s->classes[k].digits == 6)
				cfg->need |= EVFIO_SCAN_PROGIF;
		if (s->n_dsns)
			cfg->need |= EVFIO_SCAN_DSN;
		if (s->n_serials || s->model[0])	/* candidates: 010802 */
			cfg->need |= EVFIO_SCAN_NVME_ID | EVFIO_SCAN_PROGIF;
		if (!(s->keys & (KEY_SELECTORS | KEY_UNKNOWN)))
			cfg_error(p, s->line,
				  "section [%s] has no selectors: add ids, "
				  "address, class, serial, model or dsn, or "
				  "remove it", s->name);
		else if (s->keys & (KEY_SRIOV_VFS | KEY_SRIOV_VFIO)) {
			int line = s->line;
			const char *msg = evfio_sriov_check_section(s, &line);

			if (msg)
				cfg_error(p, line, "[%s]: %s", s->name, msg);
		}
	}
	return cfg->n_errors ? -EINVAL : 0;
}

/* A POSIX access ACL (the system.posix_acl_access xattr, parsed here so
 * that no libacl is needed: a little-endian u32 version 2, then entries of
 * u16 tag, u16 perm, u32 id) that lets a user or group other than root
 * write.  Returns a description of the first such entry, or NULL; an ACL
 * that cannot be read or parsed counts as writable (fail closed). */
static const char *acl_writer(int fd, char *buf, size_t size)
{
	enum { USER = 0x02, GROUP = 0x08, MASK = 0x10 };
	unsigned char x[2048];
	ssize_t n = fgetxattr(fd, "system.posix_acl_access", x, sizeof(x));
	unsigned int mask = 7;

	if (n < 0) {
		if (errno == ENODATA || errno == ENOTSUP)
			return NULL;
		snprintf(buf, size, "an ACL that cannot be read (%s)", strerror(errno));
		return buf;
	}
	if (n < 4 || (n - 4) % 8 || (x[0] | x[1] << 8 | x[2] << 16 | (unsigned int)x[3] << 24) != 2) {
		snprintf(buf, size, "an ACL that cannot be parsed");
		return buf;
	}
	for (ssize_t i = 4; i < n; i += 8)
		if ((x[i] | x[i + 1] << 8) == MASK)
			mask = x[i + 2] | x[i + 3] << 8;
	for (ssize_t i = 4; i < n; i += 8) {
		unsigned int tag = x[i] | x[i + 1] << 8, perm = x[i + 2] | x[i + 3] << 8;
		unsigned int id = x[i + 4] | x[i + 5] << 8 | x[i + 6] << 16 |
				  (unsigned int)x[i + 7] << 24;

		if ((tag == USER || tag == GROUP) && id != 0 && (perm & mask & 2)) {
			snprintf(buf, size, "its POSIX ACL (%s:%u:w)",
				 tag == USER ? "user" : "group", id);
			return buf;
		}
	}
	return NULL;
}

/* The config decides which devices lose their driver at boot: only root
 * may be able to change it. */
static int check_owner(struct evfio_config *cfg, int fd, const char *path,
		       struct evfio_log *log)
{
	char buf[96];
	const char *acl;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		ev_err(log, "%s: not a regular file", path);
		cfg->n_errors++;
		return -EINVAL;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		ev_err(log, "%s: owned by uid %u, must be owned by root "
		       "(chown root:root %s)", path, (unsigned int)st.st_uid, path);
		cfg->n_errors++;
		return -EPERM;
	}
	if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
		ev_err(log, "%s: writable by other users, which could make it "
		       "take any device (chmod 644 %s)", path, path);
		cfg->n_errors++;
		return -EPERM;
	}
	acl = acl_writer(fd, buf, sizeof(buf));
	if (acl) {
		ev_err(log, "%s: writable by other users through %s, which could "
		       "make it take any device (setfacl -b %s)", path, acl, path);
		cfg->n_errors++;
		return -EPERM;
	}
	return 0;
}

int evfio_config_load(struct evfio_config *cfg, const char *path,
		      struct evfio_log *log)
{
	struct parser p = { .path = path };
	int fd, r;

	evfio_config_init(cfg, path, log);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = check_owner(cfg, fd, path, log);
	if (r < 0) {
		close(fd);
		return r == -EPERM ? -EPERM : -EINVAL;
	}
	p.file = fdopen(fd, "r");
	if (!p.file) {
		r = -errno;
		close(fd);
		return r;
	}
	r = parse(cfg, &p, log);
	fclose(p.file);
	return r;
}

int evfio_config_load_mem(struct evfio_config *cfg, const char *name,
			  const void *data, size_t size, struct evfio_log *log)
{
	struct parser p = { .path = name };
	int r;

	evfio_config_init(cfg, name, log);
	/* the same reader as for a file: NUL bytes are seen, not cut off */
	p.file = fmemopen(size ? (void *)data : (void *)"", size ? size : 1, "r");
	if (!p.file)
		return -errno;
	if (!size)
		getc(p.file);	/* an empty buffer: at EOF at once */
	r = parse(cfg, &p, log);
	fclose(p.file);
	return r;
}

int evfio_config_load_string(struct evfio_config *cfg, const char *name,
			     const char *text, struct evfio_log *log)
{
	return evfio_config_load_mem(cfg, name, text, strlen(text), log);
}

void evfio_config_free(struct evfio_config *cfg)
{
	for (size_t i = 0; i < cfg->n_sections; i++) {
		free(cfg->sections[i].ids);
		free(cfg->sections[i].addrs);
		free(cfg->sections[i].classes);
		free(cfg->sections[i].serials);
		free(cfg->sections[i].dsns);
	}
	free(cfg->sections);
	cfg->sections = NULL;
	cfg->n_sections = 0;
}

static int skip_one(const char *name, void *data)
{
	struct evfio_config *cfg = data;

	for (size_t i = 0; i < cfg->n_sections; i++) {
		if (!strcmp(cfg->sections[i].name, name)) {
			cfg->sections[i].skipped = true;
			return 0;
		}
	}
	if (cfg->log)
		ev_warn(cfg->log, "skip: no section [%.48s] in %s", name,
			cfg->path);
	return 0;
}

int evfio_config_skip(struct evfio_config *cfg, const char *list)
{
	int n = 0;

	evfio_for_each_token(list, skip_one, cfg);
	for (size_t i = 0; i < cfg->n_sections; i++)
		n += cfg->sections[i].skipped;
	return n;
}

static bool any_id(const struct evfio_section *s, const struct evfio_ident *d)
{
	for (size_t i = 0; i < s->n_ids; i++)
		if (evfio_id_match(&s->ids[i], d))
			return true;
	return false;
}

static bool any_class(const struct evfio_section *s, const struct evfio_ident *d)
{
	for (size_t i = 0; i < s->n_classes; i++)
		if (evfio_class_match(&s->classes[i], d))
			return true;
	return false;
}

/* Addresses are sorted: a device can match an entry with its own domain or
 * any domain, and its own function or any function. */
static bool any_addr(const struct evfio_section *s, const struct evfio_ident *d)
{
	if (s->n_addrs <= 8) {
		for (size_t i = 0; i < s->n_addrs; i++)
			if (evfio_addr_match(&s->addrs[i], d))
				return true;
		return false;
	}
	for (int k = 0; k < 4; k++) {
		struct evfio_addr key = {
			.domain = k & 1 ? -1 : (int)d->domain,
			.bus = (int)d->bus,
			.slot = (int)d->slot,
			.func = k & 2 ? -1 : (int)d->func,
		};

		if (bsearch(&key, s->addrs, s->n_addrs, sizeof(key), cmp_addr))
			return true;
	}
	return false;
}

static bool any_dsn(const struct evfio_section *s, const struct evfio_ident *d)
{
	for (size_t i = 0; i < s->n_dsns && d->has_dsn; i++)
		if (s->dsns[i] == d->dsn)
			return true;
	return false;
}

static bool by_nvme_id(const struct evfio_section *s)
{
	return s->n_serials || s->model[0];
}

/* Exact, after the trimming evfio_trim_field did. */
static bool nvme_id_match(const struct evfio_section *s,
			  const struct evfio_ident *d)
{
	bool sn = !s->n_serials;

	for (size_t i = 0; i < s->n_serials && !sn; i++)
		sn = !strcmp(s->serials[i], d->serial);
	return sn && (!s->model[0] || !strcmp(s->model, d->model));
}

/* A device whose serial is not read yet matches a serial or model
 * selector when it is an NVMe controller: it is a candidate, to be
 * identified before it is bound (evfio_section_needs_nvme_id). */
bool evfio_section_match(const struct evfio_section *s,
			 const struct evfio_ident *d)
{
	/* an SR-IOV section selects a PF that keeps its driver: only its VFs
	 * move, in the vfs stage (sriov.c) */
	return !s->sriov_vfs && evfio_section_selects(s, d);
}

bool evfio_section_selects(const struct evfio_section *s,
			   const struct evfio_ident *d)
{
	if (s->skipped || (!s->n_ids && !s->n_addrs && !s->n_classes &&
			   !s->n_dsns && !by_nvme_id(s)))
		return false;
	/* cheapest first */
	return (!s->n_ids || any_id(s, d)) && (!s->n_classes || any_class(s, d)) &&
	       (!s->n_addrs || any_addr(s, d)) && (!s->n_dsns || any_dsn(s, d)) &&
	       (!by_nvme_id(s) || (evfio_is_nvme(d) &&
				   (!d->nvme_known || nvme_id_match(s, d))));
}

bool evfio_section_needs_nvme_id(const struct evfio_section *s,
				 const struct evfio_ident *d)
{
	return by_nvme_id(s) && !d->nvme_known && evfio_is_nvme(d);
}

const struct evfio_section *
evfio_config_match(const struct evfio_config *cfg, const struct evfio_ident *d)
{
	for (size_t i = 0; i < cfg->n_sections; i++)
		if (evfio_section_match(&cfg->sections[i], d))
			return &cfg->sections[i];
	return NULL;
}

// SPDX-License-Identifier: MIT
/* Proxmox VE's view of the PCI devices: which VM passes each one through,
 * and whether that VM starts on boot.  Read from the files as qm.conf(5)
 * and the admin guide's "Resource Mapping" describe them:
 *
 *   /etc/pve/qemu-server/<vmid>.conf   "onboot: 1", "hostpciN: [host=]ID[;ID...]
 *                                       [,mapping=NAME][,mdev=TYPE][,...]"; ID is
 *                                       [domain:]bus:slot[.func] (no function:
 *                                       every function of the slot); the lines
 *                                       after the first "[section]" are snapshots
 *                                       and pending changes, not the config
 *   /etc/pve/mapping/pci.cfg           "NAME" at the start of a line, then indented
 *                                       "map node=N,path=P[;P...],id=V:D,
 *                                       subsystem-id=V:D,iommugroup=G" entries
 *
 * The node is the kernel's host name up to the first dot, as PVE's nodename.
 * Only this node's map entries count.  Reads only; nothing here moves a
 * device.  check compares each mapping with the hardware (what PVE does at
 * VM start only) and warns about VMs that start on boot with a device that
 * early-vfio leaves to its host driver. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "early-vfio.h"

#define QM_DIR "etc/pve/qemu-server"
#define MAPPING_FILE "etc/pve/mapping/pci.cfg"
#define LINE_MAX_PVE 8192

static int grow(void **v, size_t n, size_t size)
{
	void *p = realloc(*v, (n + 1) * size);

	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
		     s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* "0000:0a:00.0", "0a:00.0", "0a:00" (every function) as PVE writes them. */
static bool parse_path(const char *s, struct evfio_addr *a, char *text, size_t size)
{
	char buf[20];
	size_t len = strlen(s);

	if (len < 5 || len > 12)
		return false;
	if (!strchr(s, '.'))
		snprintf(buf, sizeof(buf), "%s.*", s);
	else
		snprintf(buf, sizeof(buf), "%s", s);
	if (evfio_addr_parse(buf, a))
		return false;
	if (a->domain < 0)
		a->domain = 0;
	snprintf(text, size, "%s", s);
	return true;
}

/* "10de:1b80" */
static bool parse_pair(const char *s, uint16_t *a, uint16_t *b)
{
	uint32_t x, y;

	if (!strncmp(s, "0x", 2))
		s += 2;
	if (strlen(s) < 9 || s[4] != ':' || !evfio_hex(s, 4, &x))
		return false;
	s += 5;
	if (!strncmp(s, "0x", 2))
		s += 2;
	if (strlen(s) != 4 || !evfio_hex(s, 4, &y))
		return false;
	*a = (uint16_t)x;
	*b = (uint16_t)y;
	return true;
}

/* One line into buf; a longer one is cut there and the rest skipped, so
 * that its tail is never read as a line of its own.  false at the end. */
static bool next_line(FILE *f, char *buf, size_t size, bool *cut)
{
	size_t n;
	int ch;

	if (!fgets(buf, (int)size, f))
		return false;
	n = strlen(buf);
	*cut = n && buf[n - 1] != '\n' && !feof(f);
	if (*cut)
		while ((ch = getc(f)) != EOF && ch != '\n')
			;
	return true;
}

static bool parse_bool(const char *s)
{
	return !strcmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") ||
	       !strcasecmp(s, "true");
}

/* ---- pci.cfg --------------------------------------------------------- */

static int add_map(struct evfio_pve *p, const char *name, int line, char *props,
		   struct evfio_log *log)
{
	char *node = NULL, *path = NULL, *id = NULL, *subsys = NULL, *group = NULL;
	struct evfio_pve_map m = { .line = line, .iommugroup = -1 };
	bool first = true;
	char *save, *tok;

	for (tok = strtok_r(props, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = '\0';
		tok = trim(tok);
		if (!strcmp(tok, "node"))
			node = trim(eq + 1);
		else if (!strcmp(tok, "path"))
			path = trim(eq + 1);
		else if (!strcmp(tok, "id"))
			id = trim(eq + 1);
		else if (!strcmp(tok, "subsystem-id"))
			subsys = trim(eq + 1);
		else if (!strcmp(tok, "iommugroup"))
			group = trim(eq + 1);
	}
	if (!node || strcmp(node, p->node))
		return 0;	/* another node's entry */
	snprintf(m.name, sizeof(m.name), "%s", name);
	if (id && !(m.has_id = parse_pair(id, &m.vendor, &m.device)))
		ev_warn(log, "/" MAPPING_FILE ":%d: mapping '%s': id '%s' is not "
			"vendor:device", line, name, id);
	if (subsys && !(m.has_subsys = parse_pair(subsys, &m.subvendor, &m.subdevice)))
		ev_warn(log, "/" MAPPING_FILE ":%d: mapping '%s': subsystem-id '%s' is "
			"not vendor:device", line, name, subsys);
	if (group) {
		char *end;
		long g = strtol(group, &end, 10);

		if (*end || end == group || g < 0 || g > 1000000)
			ev_warn(log, "/" MAPPING_FILE ":%d: mapping '%s': iommugroup '%s' "
				"is not a number", line, name, group);
		else
			m.iommugroup = (int)g;
	}
	if (!path) {
		ev_warn(log, "/" MAPPING_FILE ":%d: mapping '%s': no path for node %s",
			line, name, p->node);
		return 0;
	}
	for (tok = strtok_r(path, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		tok = trim(tok);
		if (!parse_path(tok, &m.addr, m.path, sizeof(m.path))) {
			ev_warn(log, "/" MAPPING_FILE ":%d: mapping '%s': path '%s' is not a "
				"PCI address", line, name, tok);
			continue;
		}
		m.first = first;
		first = false;
		if (grow((void **)&p->maps, p->n_maps, sizeof(m)) < 0)
			return -ENOMEM;
		p->maps[p->n_maps++] = m;
	}
	return 0;
}

static int load_mappings(const struct evfio_sysfs *fs, struct evfio_log *log,
			 struct evfio_pve *p)
{
	FILE *f = evfio_sysfs_fopen(fs, MAPPING_FILE);
	char name[EVFIO_NAME_MAX] = "", *line;
	int n = 0, r = 0;
	bool cut;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	line = malloc(LINE_MAX_PVE);
	if (!line) {
		fclose(f);
		return -ENOMEM;
	}
	while (r == 0 && next_line(f, line, LINE_MAX_PVE, &cut)) {
		char *s = trim(line), *key;

		n++;
		if (cut)
			ev_warn(log, "/" MAPPING_FILE ":%d: longer than %d bytes: cut there",
				n, LINE_MAX_PVE - 1);
		if (!*s || *s == '#')
			continue;
		if (line[0] != ' ' && line[0] != '\t') {
			/* a section header: the mapping's name */
			if (strlen(s) >= sizeof(name) || strpbrk(s, " \t")) {
				ev_warn(log, "/" MAPPING_FILE ":%d: not a mapping name: '%.60s'",
					n, s);
				name[0] = '\0';
				continue;
			}
			snprintf(name, sizeof(name), "%s", s);
			continue;
		}
		key = s;
		s += strcspn(s, " \t");
		if (*s)
			*s++ = '\0';
		if (name[0] && !strcmp(key, "map"))
			r = add_map(p, name, n, trim(s), log);
	}
	free(line);
	fclose(f);
	return r;
}

/* ---- qemu-server/<vmid>.conf ------------------------------------------ */

/* The mapping's paths on this node, as uses of VM u. */
static int add_use(struct evfio_pve *p, const struct evfio_pve_use *u)
{
	if (grow((void **)&p->uses, p->n_uses, sizeof(*u)) < 0)
		return -ENOMEM;
	p->uses[p->n_uses++] = *u;
	return 0;
}

static int parse_hostpci(struct evfio_pve *p, struct evfio_pve_use *u, char *value,
			 const char *file, int line, struct evfio_log *log)
{
	char *host = NULL, *save, *tok;
	bool first = true;
	int r = 0;

	for (tok = strtok_r(value, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		tok = trim(tok);
		if (!eq) {
			if (first)
				host = tok;
		} else {
			*eq = '\0';
			if (!strcmp(trim(tok), "host"))
				host = trim(eq + 1);
			else if (!strcmp(trim(tok), "mapping"))
				snprintf(u->mapping, sizeof(u->mapping), "%s", trim(eq + 1));
			else if (!strcmp(trim(tok), "mdev"))
				u->mdev = true;
		}
		first = false;
	}
	if (u->mapping[0]) {
		bool found = false;

		for (size_t i = 0; i < p->n_maps && !r; i++) {
			if (strcmp(p->maps[i].name, u->mapping))
				continue;
			found = true;
			u->addr = p->maps[i].addr;
			snprintf(u->path, sizeof(u->path), "%s", p->maps[i].path);
			r = add_use(p, u);
		}
		if (!found) {
			u->unresolved = true;
			r = add_use(p, u);
		}
		return r;
	}
	if (!host) {
		ev_warn(log, "/%s:%d: hostpci%u names no device", file, line, u->slot);
		return 0;
	}
	for (tok = strtok_r(host, ";", &save); tok && !r; tok = strtok_r(NULL, ";", &save)) {
		tok = trim(tok);
		if (!parse_path(tok, &u->addr, u->path, sizeof(u->path))) {
			ev_warn(log, "/%s:%d: hostpci%u: '%s' is not a PCI address", file,
				line, u->slot, tok);
			continue;
		}
		r = add_use(p, u);
	}
	return r;
}

static int load_vm(const struct evfio_sysfs *fs, struct evfio_log *log,
		   struct evfio_pve *p, const char *name, unsigned int vmid)
{
	char file[320], *line;
	size_t from = p->n_uses;
	bool onboot = false, cut;
	int n = 0, r = 0;
	FILE *f;

	snprintf(file, sizeof(file), QM_DIR "/%s", name);
	f = evfio_sysfs_fopen(fs, file);
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	line = malloc(LINE_MAX_PVE);
	if (!line) {
		fclose(f);
		return -ENOMEM;
	}
	while (r == 0 && next_line(f, line, LINE_MAX_PVE, &cut)) {
		char *s = trim(line), *colon, *key, *value;
		struct evfio_pve_use u = { .vmid = vmid };
		char *end;

		n++;
		if (*s == '[')
			break;	/* snapshots, pending changes: not the config */
		if (!*s || *s == '#')
			continue;
		colon = strchr(s, ':');
		if (!colon)
			continue;
		*colon = '\0';
		key = trim(s);
		value = trim(colon + 1);
		if (!strcmp(key, "onboot")) {
			onboot = parse_bool(value);
			continue;
		}
		if (strncmp(key, "hostpci", 7) || !isdigit((unsigned char)key[7]))
			continue;
		u.slot = (unsigned int)strtoul(key + 7, &end, 10);
		if (*end || u.slot > 99)
			continue;
		r = parse_hostpci(p, &u, value, file, n, log);
	}
	free(line);
	fclose(f);
	for (size_t i = from; i < p->n_uses; i++)
		p->uses[i].onboot = onboot;	/* onboot may come after hostpciN */
	return r;
}

static int cmp_use(const void *a, const void *b)
{
	const struct evfio_pve_use *x = a, *y = b;

	if (x->vmid != y->vmid)
		return x->vmid < y->vmid ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

int evfio_pve_load(const struct evfio_sysfs *fs, struct evfio_log *log, struct evfio_pve *p)
{
	char host[256] = "";
	struct dirent *e;
	DIR *dir;
	int r;

	memset(p, 0, sizeof(*p));
	dir = evfio_sysfs_opendir(fs, QM_DIR);
	if (!dir)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	p->present = true;
	if (evfio_sysfs_read(fs, "proc/sys/kernel/hostname", host, sizeof(host)) < 0)
		gethostname(host, sizeof(host) - 1);
	host[strcspn(host, ".")] = '\0';
	snprintf(p->node, sizeof(p->node), "%.63s", host);
	r = load_mappings(fs, log, p);
	while (!r && (e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		char *end;
		unsigned long vmid = strtoul(e->d_name, &end, 10);

		if (len < 6 || strcmp(end, ".conf") || end == e->d_name || vmid > 999999999)
			continue;
		r = load_vm(fs, log, p, e->d_name, (unsigned int)vmid);
	}
	closedir(dir);
	if (r < 0) {
		evfio_pve_free(p);
		return r;
	}
	qsort(p->uses, p->n_uses, sizeof(*p->uses), cmp_use);
	return 0;
}

void evfio_pve_free(struct evfio_pve *p)
{
	free(p->uses);
	free(p->maps);
	memset(p, 0, sizeof(*p));
}

const struct evfio_pve_use *evfio_pve_next_use(const struct evfio_pve *p,
					       const struct evfio_dev *d, size_t *it)
{
	while (*it < p->n_uses) {
		const struct evfio_pve_use *u = &p->uses[(*it)++];

		if (!u->unresolved && evfio_addr_match(&u->addr, &d->id))
			return u;
	}
	return NULL;
}

void evfio_pve_use_text(const struct evfio_pve_use *u, char *buf, size_t size)
{
	snprintf(buf, size, "VM %u (hostpci%u%s%s%s), %s", u->vmid, u->slot,
		 u->mapping[0] ? ", mapping " : "", u->mapping,
		 u->mdev ? ", a mediated device" : "",
		 u->onboot ? "starts on boot (onboot: 1)" : "not started on boot");
}

/* ---- check ------------------------------------------------------------ */

static const struct evfio_dev *find_dev(const struct evfio_devlist *l,
					const struct evfio_addr *a)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct evfio_dev *d = &l->devs[i];

		/* a whole slot: PVE checks its function 0 */
		if (evfio_addr_match(a, &d->id) && (a->func >= 0 || d->id.func == 0))
			return d;
	}
	return NULL;
}

static int check_mappings(struct evfio_ctx *c, const struct evfio_pve *p,
			  const struct evfio_devlist *l)
{
	int warnings = 0;

	for (size_t i = 0; i < p->n_maps; i++) {
		const struct evfio_pve_map *m = &p->maps[i];
		const struct evfio_dev *d = find_dev(l, &m->addr);
		char what[256];

		snprintf(what, sizeof(what), "/" MAPPING_FILE ":%d: mapping '%s' (node %s, "
			 "path %s)", m->line, m->name, p->node, m->path);
		if (!d) {
			ev_warn(&c->log, "%s: no such device here: PVE cannot start a VM "
				"that uses it", what);
			warnings++;
			continue;
		}
		if (m->has_id && (m->vendor != d->id.vendor || m->device != d->id.device)) {
			ev_warn(&c->log, "%s: id %04x:%04x, but %s is [%04x:%04x] now: the "
				"hardware changed, and PVE refuses to start a VM that uses "
				"it; fix the mapping (Datacenter > Resource Mappings)", what,
				m->vendor, m->device, d->bdf, d->id.vendor, d->id.device);
			warnings++;
		}
		if (m->has_subsys && (m->subvendor != d->id.subvendor ||
				      m->subdevice != d->id.subdevice)) {
			ev_warn(&c->log, "%s: subsystem-id %04x:%04x, but %s has %04x:%04x "
				"now: PVE refuses to start a VM that uses it", what,
				m->subvendor, m->subdevice, d->bdf, d->id.subvendor,
				d->id.subdevice);
			warnings++;
		}
		if (m->first && m->iommugroup >= 0 && m->iommugroup != d->iommu_group) {
			ev_warn(&c->log, "%s: iommugroup %d, but %s is in %s%d now: PVE "
				"refuses to start a VM that uses it", what, m->iommugroup,
				d->bdf, d->iommu_group < 0 ? "no IOMMU group" : "IOMMU group ",
				d->iommu_group < 0 ? 0 : d->iommu_group);
			warnings++;
		}
	}
	return warnings;
}

static int check_onboot(struct evfio_ctx *c, const struct evfio_pve *p,
			const struct evfio_devlist *l)
{
	int warnings = 0;

	for (size_t i = 0; i < p->n_uses; i++) {
		const struct evfio_pve_use *u = &p->uses[i];
		bool found = false;

		if (u->unresolved) {
			ev_warn(&c->log, "VM %u hostpci%u: mapping '%s' has no entry for "
				"node %s in /" MAPPING_FILE, u->vmid, u->slot, u->mapping,
				p->node);
			warnings++;
			continue;
		}
		if (!u->onboot || u->mdev)
			continue;	/* a mediated device's parent stays on its driver */
		for (size_t k = 0; k < l->n; k++) {
			const struct evfio_dev *d = &l->devs[k];
			const char *why;

			if (!evfio_addr_match(&u->addr, &d->id) || evfio_is_bridge(d))
				continue;
			found = true;
			why = evfio_safety_refusal(d);
			if (d->section && !why)
				continue;
			ev_warn(&c->log, "VM %u starts on boot (onboot: 1) and passes %s "
				"(hostpci%u%s%s), but early-vfio %s: %s binds it first at "
				"boot; early-vfio add --vm %u", u->vmid, d->bdf, u->slot,
				u->mapping[0] ? ", mapping " : "", u->mapping,
				d->section ? "will not bind it" : "selects it in no section",
				d->driver[0] ? d->driver : "its host driver", u->vmid);
			if (why && d->section)
				ev_warn(&c->log, "%s: %s", d->bdf, why);
			warnings++;
		}
		if (!found) {
			ev_warn(&c->log, "VM %u starts on boot and passes %s (hostpci%u), "
				"which is not on this machine", u->vmid, u->path, u->slot);
			warnings++;
		}
	}
	return warnings;
}

int evfio_pve_check(struct evfio_ctx *c)
{
	struct evfio_scan how = { .need = c->cfg.need | EVFIO_SCAN_SUBSYS, .groups = true };
	struct evfio_devlist l;
	struct evfio_pve p;
	int r, warnings;

	r = evfio_pve_load(&c->fs, &c->log, &p);
	if (r < 0) {
		ev_warn(&c->log, "/etc/pve: %s: the VMs' devices are not checked",
			strerror(-r));
		return 1;
	}
	if (!p.present)
		return 0;
	r = evfio_pci_scan(&c->fs, &c->log, &how, &l);
	if (r < 0) {
		evfio_pve_free(&p);
		return 0;	/* check said it already */
	}
	for (size_t i = 0; i < l.n; i++)
		l.devs[i].section = evfio_config_match(&c->cfg, &l.devs[i].id);
	evfio_identify_known(c, &l, false, false);
	evfio_safety_review(c, &l, false);
	warnings = check_mappings(c, &p, &l) + check_onboot(c, &p, &l);
	evfio_devlist_free(&l);
	evfio_pve_free(&p);
	return warnings;
}

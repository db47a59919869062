// SPDX-License-Identifier: MIT
/* SR-IOV sections in the config: "sriov-vfs = N" and "sriov-vfio = 0 2-3"
 * (the parse layer; what they make happen is sriov.c's).  Apart from
 * sriov.c so that config.c, which calls these, links without the sysfs,
 * bind and module code behind the vfs stage (tests/unit/test_nvme links
 * config.c alone). */
#include <stdio.h>
#include <string.h>

#include "early-vfio.h"

/* ---- config: sriov-vfs = N, sriov-vfio = 0 2-3 ----------------------- */

static bool parse_index(const char *s, const char *end, unsigned int *out)
{
	unsigned int v = 0;

	if (s == end || end - s > 3)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	*out = v;
	return true;
}

struct vfio_tokens {
	struct evfio_section *s;
	const char *msg;
	size_t n;
};

static int vfio_token(const char *tok, void *data)
{
	struct vfio_tokens *t = data;
	const char *dash = strchr(tok, '-');
	unsigned int a, b;

	t->n++;
	if (!dash) {
		if (!parse_index(tok, tok + strlen(tok), &a))
			goto bad;
		b = a;
	} else if (!parse_index(tok, dash, &a) ||
		   !parse_index(dash + 1, dash + 1 + strlen(dash + 1), &b) || b < a) {
		goto bad;
	}
	if (b >= EVFIO_SRIOV_MAX) {
		t->msg = "a VF index is 0 to 255";
		return 1;
	}
	for (unsigned int i = a; i <= b; i++)
		t->s->sriov_vfio[i / 64] |= 1ull << (i % 64);
	return 0;
bad:
	t->msg = "VF indexes are numbers from 0 (the first VF, virtfn0) or "
		 "ranges such as 0-3, separated by spaces or commas";
	return 1;
}

const char *evfio_sriov_parse_key(struct evfio_section *s, bool vfs,
				  const char *value, int line)
{
	struct vfio_tokens t = { .s = s };
	unsigned int n;

	if (vfs) {
		s->sriov_vfs_line = line;
		if (!parse_index(value, value + strlen(value), &n) || n == 0 ||
		    n > EVFIO_SRIOV_MAX)
			return "the number of VFs to create, 1 to 256";
		s->sriov_vfs = n;
		return NULL;
	}
	s->sriov_vfio_line = line;
	evfio_for_each_token(value, vfio_token, &t);
	if (!t.msg && !t.n)
		return "no VF index given";
	return t.msg;
}

bool evfio_sriov_wants_vfio(const struct evfio_section *s, unsigned int idx)
{
	return idx < EVFIO_SRIOV_MAX && (s->sriov_vfio[idx / 64] >> (idx % 64) & 1);
}

const char *evfio_sriov_check_section(const struct evfio_section *s, int *line)
{
	static char msg[160];

	if (!s->sriov_vfs && s->sriov_vfs_line)
		return NULL;	/* an invalid sriov-vfs, reported already */
	if (!s->sriov_vfs) {
		*line = s->sriov_vfio_line;
		return "'sriov-vfio' needs 'sriov-vfs = N' (how many VFs to create)";
	}
	for (unsigned int i = s->sriov_vfs; s->sriov_vfs && i < EVFIO_SRIOV_MAX; i++) {
		if (evfio_sriov_wants_vfio(s, i)) {
			*line = s->sriov_vfio_line;
			snprintf(msg, sizeof(msg), "VF %u in 'sriov-vfio', but sriov-vfs = %u "
				 "creates VFs 0 to %u", i, s->sriov_vfs, s->sriov_vfs - 1);
			return msg;
		}
	}
	return NULL;
}

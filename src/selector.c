// SPDX-License-Identifier: MIT
/* Selectors: vendor:device ids, PCI addresses, class prefixes, NVMe serial
 * numbers and model names, PCIe Device Serial Numbers.
 *
 * The shape of each token is checked strictly first (libpci's parsers are
 * lenient: "1b36:00100" would parse as device 0x0100), then the fields are
 * read with libpci's own parsers, so addresses mean exactly what they mean
 * to "lspci -s" and ids what they mean to "lspci -d". */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pci/pci.h>

#include "early-vfio.h"

/* n (1 to 8) hex digits, no sign, no prefix, nothing skipped: the strict
 * reader every fixed-width hex field uses (ids here, sysfs names and uevent
 * values in pci.c, cpio headers in initramfs.c). */
bool evfio_hex(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;

	if (n == 0 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = v << 4 | (uint32_t)d;
	}
	if (out)
		*out = v;
	return true;
}

static bool is_hex(const char *s, size_t n)
{
	return evfio_hex(s, n, NULL);
}

static uint16_t hex16(const char *s)
{
	uint32_t v = 0;

	evfio_hex(s, 4, &v);
	return (uint16_t)v;
}

const char *evfio_id_parse(const char *s, struct evfio_id *out)
{
	struct pci_filter f;
	char buf[10];
	size_t len = strlen(s);
	struct evfio_id id = { 0 };

	if (!(len == 9 || len == 19) || !is_hex(s, 4) || s[4] != ':' ||
	    !is_hex(s + 5, 4))
		goto shape;
	if (len == 19 && (s[9] != ':' || !is_hex(s + 10, 4) || s[14] != ':' ||
			  !is_hex(s + 15, 4)))
		goto shape;

	memcpy(buf, s, 9);
	buf[9] = '\0';
	pci_filter_init(NULL, &f);
	if (pci_filter_parse_id(&f, buf))
		goto shape;
	id.vendor = (uint16_t)f.vendor;
	id.device = (uint16_t)f.device;
	if (len == 19) {
		id.has_subsys = true;
		id.subvendor = hex16(s + 10);
		id.subdevice = hex16(s + 15);
	}
	*out = id;
	return NULL;
shape:
	return "expected vendor:device or vendor:device:subvendor:subdevice, "
	       "4 hex digits each (e.g. 8086:2922)";
}

const char *evfio_addr_parse(const char *s, struct evfio_addr *out)
{
	struct pci_filter f;
	char buf[16];
	size_t len = strlen(s);
	const char *p = s;
	const char *msg;

	/* [dddd:]bb:ss.f with f one digit 0-7 or '*' */
	if (len > 12 && strcspn(s, ":") > 4 && is_hex(s, strcspn(s, ":")))
		return "a PCI domain above ffff is an Intel VMD controller's: the "
		       "devices behind it are never bound one by one (the VMD does "
		       "their DMA); select the VMD controller itself, or turn VMD "
		       "off in the firmware";
	if (len == 12) {
		if (!is_hex(p, 4) || p[4] != ':')
			goto shape;
		p += 5;
	} else if (len != 7) {
		goto shape;
	}
	if (!is_hex(p, 2) || p[2] != ':' || !is_hex(p + 3, 2) || p[5] != '.' ||
	    !(p[6] == '*' || (p[6] >= '0' && p[6] <= '7')))
		goto shape;

	memcpy(buf, s, len + 1);
	pci_filter_init(NULL, &f);
	msg = pci_filter_parse_slot(&f, buf);
	if (msg)
		return !strcmp(msg, "Invalid slot number") ?
			       "invalid slot number: slots are 00 to 1f" : msg;
	out->domain = len == 12 ? f.domain : -1;
	out->bus = f.bus;
	out->slot = f.slot;
	out->func = f.func;
	return NULL;
shape:
	return "expected [domain:]bus:slot.function, e.g. 0000:03:00.0, 03:00.0 "
	       "or 03:00.* for every function";
}

const char *evfio_class_parse(const char *s, struct evfio_class *out)
{
	size_t len = strlen(s);

	if (!(len == 2 || len == 4 || len == 6) || !is_hex(s, len))
		return "expected a class prefix of 2, 4 or 6 hex digits, "
		       "e.g. 01 (storage), 0106 (SATA), 0108 (NVMe), 010802";
	out->value = (uint32_t)strtoul(s, NULL, 16);
	out->digits = (unsigned int)len;
	return NULL;
}

const char *evfio_serial_parse(const char *s, char *out, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return max == EVFIO_SERIAL_MAX ?
			       "an NVMe serial number has 1 to 20 characters" :
			       "an NVMe model name has 1 to 40 characters";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return "only printable ASCII characters can appear in "
			       "an NVMe serial number or model name";
	memcpy(out, s, len + 1);
	return NULL;
}

const char *evfio_dsn_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (strlen(s) != 23)
		goto shape;
	for (int i = 0; i < 8; i++) {
		const char *b = s + 3 * i;

		if (!is_hex(b, 2) || (i < 7 && b[2] != '-'))
			goto shape;
		v = (v << 8) | (uint64_t)strtoul((char[3]){ b[0], b[1], 0 }, NULL, 16);
	}
	*out = v;
	return NULL;
shape:
	return "expected 8 hex bytes as 'lspci -vv' shows the Device Serial "
	       "Number, e.g. 00-11-22-33-44-55-66-77";
}

void evfio_dsn_format(uint64_t dsn, char buf[24])
{
	for (int i = 0; i < 8; i++)
		snprintf(buf + 3 * i, 4, i < 7 ? "%02x-" : "%02x",
			 (unsigned int)(dsn >> (56 - 8 * i)) & 0xff);
}

void evfio_trim_field(char *out, const void *field, size_t len)
{
	const unsigned char *f = field;
	size_t a = 0, b = len;

	while (a < b && (f[a] == ' ' || f[a] == '\0'))
		a++;
	while (b > a && (f[b - 1] == ' ' || f[b - 1] == '\0'))
		b--;
	for (size_t i = a; i < b; i++)
		*out++ = f[i] >= 0x20 && f[i] <= 0x7e ? (char)f[i] : '?';
	*out = '\0';
}

bool evfio_is_nvme(const struct evfio_ident *d)
{
	return d->class == EVFIO_CLASS_NVME;
}

bool evfio_id_match(const struct evfio_id *id, const struct evfio_ident *d)
{
	if (id->vendor != d->vendor || id->device != d->device)
		return false;
	if (id->has_subsys && (id->subvendor != d->subvendor ||
			       id->subdevice != d->subdevice))
		return false;
	return true;
}

bool evfio_addr_match(const struct evfio_addr *a, const struct evfio_ident *d)
{
	return (a->domain < 0 || (unsigned int)a->domain == d->domain) &&
	       (a->bus < 0 || (unsigned int)a->bus == d->bus) &&
	       (a->slot < 0 || (unsigned int)a->slot == d->slot) &&
	       (a->func < 0 || (unsigned int)a->func == d->func);
}

bool evfio_class_match(const struct evfio_class *c, const struct evfio_ident *d)
{
	unsigned int shift = 4 * (6 - c->digits);

	return (d->class >> shift) == c->value;
}

int evfio_for_each_token(const char *value,
			 int (*fn)(const char *tok, void *data), void *data)
{
	const char *p = value;
	char tok[EVFIO_LINE_MAX + 2];

	for (;;) {
		size_t n;
		int r;

		p += strspn(p, " \t,");
		if (!*p)
			return 0;
		n = strcspn(p, " \t,");
		if (n >= sizeof(tok))
			return -E2BIG;
		memcpy(tok, p, n);
		tok[n] = '\0';
		r = fn(tok, data);
		if (r)
			return r;
		p += n;
	}
}

// SPDX-License-Identifier: MIT
/* libFuzzer target: the config parser (through inih, with our line reader)
 * and every selector parser, on arbitrary bytes.  Run by "make fuzz". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "early-vfio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evfio_config cfg;
	struct evfio_log log;
	struct evfio_ident d = { 0 };
	union {
		struct evfio_id id;
		struct evfio_addr addr;
		struct evfio_class cls;
		char serial[EVFIO_MODEL_MAX + 1];
		uint64_t dsn;
	} u;
	char dsn[24];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	evfio_log_init(&log, LOG_DEBUG);
	log.out = NULL;		/* parse, but print nothing */
	/* the raw bytes, NULs included: they must be errors, never cut a line */
	if (evfio_config_load_mem(&cfg, "fuzz.conf", data, size, &log) == 0) {
		/* a valid config must be usable */
		for (size_t i = 0; i < cfg.n_sections; i++) {
			evfio_section_match(&cfg.sections[i], &d);
			evfio_section_needs_nvme_id(&cfg.sections[i], &d);
		}
		evfio_config_skip(&cfg, text);
	}
	evfio_config_free(&cfg);

	if (!evfio_id_parse(text, &u.id))
		evfio_id_match(&u.id, &d);
	if (!evfio_addr_parse(text, &u.addr))
		evfio_addr_match(&u.addr, &d);
	if (!evfio_class_parse(text, &u.cls))
		evfio_class_match(&u.cls, &d);
	evfio_serial_parse(text, u.serial, EVFIO_SERIAL_MAX);
	evfio_serial_parse(text, u.serial, EVFIO_MODEL_MAX);
	if (!evfio_dsn_parse(text, &u.dsn)) {
		/* what is printed reads back as the same number */
		evfio_dsn_format(u.dsn, dsn);
		if (evfio_dsn_parse(dsn, &d.dsn) || d.dsn != u.dsn)
			abort();
	}
	/* an identify field: any bytes, at most the model's 40 */
	evfio_trim_field(u.serial, data, size < EVFIO_MODEL_MAX ? size : EVFIO_MODEL_MAX);
	free(text);
	return 0;
}

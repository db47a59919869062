// SPDX-License-Identifier: MIT
/* The SR-IOV keys of a section (sriov-vfs, sriov-vfio): what they parse
 * to, every wrong value reported with its line, and that an SR-IOV
 * section never selects its PF for the bind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "early-vfio.h"

struct run {
	struct evfio_config cfg;
	struct evfio_log log;
	char *out;
	size_t len;
	int r;
};

static void parse(struct run *run, const char *text)
{
	FILE *f = open_memstream(&run->out, &run->len);

	assert_non_null(f);
	evfio_log_init(&run->log, LOG_DEBUG);
	run->log.out = f;
	run->r = evfio_config_load_string(&run->cfg, "test.conf", text, &run->log);
	fclose(f);
}

static void done(struct run *run)
{
	evfio_config_free(&run->cfg);
	free(run->out);
}

static void expect_error(const char *text, const char *message)
{
	struct run run;

	parse(&run, text);
	assert_int_equal(run.r, -EINVAL);
	if (!strstr(run.out, message))
		fail_msg("expected '%s' in:\n%s", message, run.out);
	if (strchr(run.out, '\n') + 1 != run.out + run.len)
		fail_msg("expected one message, got:\n%s", run.out);
	done(&run);
}

static void vfs_and_indexes_are_parsed(void **state)
{
	struct run run;
	const struct evfio_section *s;

	(void)state;
	parse(&run, "[nic-vfs]\naddress = 05:00.0\nsriov-vfs = 8\nsriov-vfio = 0, 2-4 7\n");
	assert_int_equal(run.r, 0);
	assert_int_equal(run.cfg.n_sections, 1);
	s = &run.cfg.sections[0];
	assert_int_equal(s->sriov_vfs, 8);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(evfio_sriov_wants_vfio(s, i),
				 i == 0 || (i >= 2 && i <= 4) || i == 7);
	assert_false(evfio_sriov_wants_vfio(s, 8));
	assert_false(evfio_sriov_wants_vfio(s, 300));
	done(&run);
}

static void vfs_without_vfio_leaves_every_vf_to_the_host(void **state)
{
	struct run run;

	(void)state;
	parse(&run, "[pf]\nids = 8086:1521\nsriov-vfs = 256\n");
	assert_int_equal(run.r, 0);
	assert_int_equal(run.cfg.sections[0].sriov_vfs, 256);
	for (unsigned int i = 0; i < 256; i++)
		assert_false(evfio_sriov_wants_vfio(&run.cfg.sections[0], i));
	done(&run);
}

static void bad_counts_are_errors_with_their_line(void **state)
{
	(void)state;
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = 0\n", "test.conf:3: invalid value '0' for 'sriov-vfs': the number of VFs to create, 1 to 256");
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = 257\n", "test.conf:3:");
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = 4x\n", "test.conf:3:");
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = -1\n", "test.conf:3:");
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = 2\nsriov-vfs = 3\n", "test.conf:4: duplicate key 'sriov-vfs'");
}

static void bad_indexes_are_errors_with_their_line(void **state)
{
	(void)state;
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = 4\nsriov-vfio = a\n",
		     "test.conf:4: invalid value 'a' for 'sriov-vfio': VF indexes are numbers");
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = 4\nsriov-vfio = 3-1\n", "test.conf:4:");
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = 4\nsriov-vfio = 1-\n", "test.conf:4:");
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = 4\nsriov-vfio = 256\n", "a VF index is 0 to 255");
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfs = 4\nsriov-vfio = 1 4\n",
		     "test.conf:4: [pf]: VF 4 in 'sriov-vfio', but sriov-vfs = 4 creates VFs 0 to 3");
	expect_error("[pf]\naddress = 05:00.0\nsriov-vfio = 1\n",
		     "test.conf:3: [pf]: 'sriov-vfio' needs 'sriov-vfs = N'");
	expect_error("[pf]\nsriov-vfs = 4\n", "section [pf] has no selectors");
}

static void sriov_section_selects_the_pf_but_never_binds_it(void **state)
{
	struct run run;
	struct evfio_ident pf = { .bus = 5, .vendor = 0x8086, .device = 0x1521,
				  .class = 0x020000 };

	(void)state;
	parse(&run, "[pf]\naddress = 05:00.0\nsriov-vfs = 2\nsriov-vfio = 1\n"
		    "[disk]\nids = 1b36:0010\n");
	assert_int_equal(run.r, 0);
	assert_true(evfio_section_selects(&run.cfg.sections[0], &pf));
	assert_false(evfio_section_match(&run.cfg.sections[0], &pf));
	assert_null(evfio_config_match(&run.cfg, &pf));
	done(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vfs_and_indexes_are_parsed),
		cmocka_unit_test(vfs_without_vfio_leaves_every_vf_to_the_host),
		cmocka_unit_test(bad_counts_are_errors_with_their_line),
		cmocka_unit_test(bad_indexes_are_errors_with_their_line),
		cmocka_unit_test(sriov_section_selects_the_pf_but_never_binds_it),
	};

	return cmocka_run_group_tests_name("sriov", tests, NULL, NULL);
}

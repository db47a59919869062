// SPDX-License-Identifier: MIT
/* Config parsing: what a valid file produces, and that every error is
 * reported once, with the right line, and makes the whole file invalid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "early-vfio.h"

struct run {
	struct evfio_config cfg;
	struct evfio_log log;
	char *out;
	size_t len;
	int r;
};

/* Parse text; keep the messages it printed in run->out. */
static void parse(struct run *run, const char *text)
{
	FILE *f;

	f = open_memstream(&run->out, &run->len);
	assert_non_null(f);
	evfio_log_init(&run->log, LOG_DEBUG);
	run->log.out = f;
	run->r = evfio_config_load_string(&run->cfg, "test.conf", text, &run->log);
	fclose(f);
}

/* The same from bytes that may hold NULs. */
static void parse_mem(struct run *run, const char *data, size_t size)
{
	FILE *f;

	f = open_memstream(&run->out, &run->len);
	assert_non_null(f);
	evfio_log_init(&run->log, LOG_DEBUG);
	run->log.out = f;
	run->r = evfio_config_load_mem(&run->cfg, "test.conf", data, size, &run->log);
	fclose(f);
}

static void done(struct run *run)
{
	evfio_config_free(&run->cfg);
	free(run->out);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The config is invalid and the one message is exactly this. */
static void expect_one_error(const char *text, const char *message)
{
	struct run run;

	parse(&run, text);
	assert_int_equal(run.r, -EINVAL);
	if (!strstr(run.out, message))
		fail_msg("expected '%s' in:\n%s", message, run.out);
	assert_int_equal(count_lines(run.out), 1);
	done(&run);
}

static void valid_config_yields_sections_and_options(void **state)
{
	struct run run;
	const struct evfio_section *s;

	(void)state;
	parse(&run,
	      "; comment\n"
	      "# another\n"
	      "[options]\n"
	      "driver = vfio-pci\n"
	      "unbind = no\n"
	      "\n"
	      "[sata-passthrough]\n"
	      "address = 0000:00:03.0, 04:00.*\n"
	      "ids = 8086:2922 ; the twin controller\n"
	      "[gpu]\n"
	      "class = 03\n");
	assert_int_equal(run.r, 0);
	assert_string_equal(run.out ? run.out : "", "");
	assert_string_equal(run.cfg.driver, "vfio-pci");
	assert_false(run.cfg.unbind);
	assert_int_equal(run.cfg.n_sections, 2);
	s = &run.cfg.sections[0];
	assert_string_equal(s->name, "sata-passthrough");
	assert_int_equal(s->line, 7);
	assert_int_equal(s->n_addrs, 2);
	assert_int_equal(s->n_ids, 1);
	assert_int_equal(s->n_classes, 0);
	assert_int_equal(run.cfg.sections[1].n_classes, 1);
	done(&run);
}

static void defaults_are_vfio_pci_and_unbind_yes(void **state)
{
	struct run run;

	(void)state;
	parse(&run, "[x]\nids = 1b36:0010\n");
	assert_int_equal(run.r, 0);
	assert_string_equal(run.cfg.driver, "vfio-pci");
	assert_true(run.cfg.unbind);
	done(&run);
}

static void misspelt_key_names_line_and_suggests_the_fix(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922\n\n\nadress = 03:00.0\n",
			 "test.conf:5: unknown key 'adress' (did you mean 'address'?)");
}

static void option_key_in_device_section_says_where_it_belongs(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922\ndriver = vfio-pci\n",
			 "test.conf:3: key 'driver' belongs in [options]");
}

static void malformed_id_is_an_error_with_its_line(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922, 8086:292\n",
			 "test.conf:2: invalid id '8086:292'");
}

static void malformed_address_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[a]\naddress = 03.0\n",
			 "test.conf:2: invalid address '03.0'");
}

static void malformed_class_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[a]\nclass = 010\n", "test.conf:2: invalid class '010'");
}

static void empty_section_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[a]\n[b]\nids = 8086:2922\n",
			 "test.conf:1: section [a] has no selectors");
}

static void duplicate_section_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922\n[a]\nclass = 01\n",
			 "test.conf:3: duplicate section [a] (first at line 1)");
}

/* 100000 sections and a duplicate of one in the middle: found, with the
 * first's line, in a few seconds (a name-by-name search took 42 s) */
static void duplicate_section_among_many_is_found_fast(void **state)
{
	enum { N = 100000 };
	size_t size = (size_t)N * 32 + 64, len = 0;
	char *text = malloc(size), want[80];
	struct timespec t0, t1;
	struct run run;
	double s;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, size - len, "[s%d]\nids = 8086:%04x\n",
					i, i & 0xffff);
	snprintf(text + len, size - len, "[s%d]\nids = 8086:2922\n", N / 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	parse(&run, text);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(run.r, -EINVAL);
	snprintf(want, sizeof(want), "test.conf:%d: duplicate section [s%d] (first at line %d)",
		 2 * N + 1, N / 2, N + 1);
	if (!strstr(run.out, want))
		fail_msg("expected '%s' in:\n%s", want, run.out);
	assert_int_equal(count_lines(run.out), 1);
	assert_int_equal(run.cfg.n_sections, N);
	if (s > 10)
		fail_msg("%d sections took %.1f s", N, s);
	done(&run);
	free(text);
}

static void duplicate_key_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922\nids = 1b36:0010\n",
			 "test.conf:3: duplicate key 'ids' in [a]");
}

static void indented_continuation_adds_values(void **state)
{
	struct run run;

	(void)state;
	parse(&run, "[a]\nids = 8086:2922\n  1b36:0010\n");
	assert_int_equal(run.r, 0);
	assert_int_equal(run.cfg.sections[0].n_ids, 2);
	done(&run);
}

/* inih (INI_ALLOW_MULTILINE) reads an indented line after a key as more of
 * that key's value, one that starts with '[' too: the config is in error,
 * and not read as a section [b] that inih never saw */
static void indented_header_after_a_key_continues_it(void **state)
{
	struct run run;

	(void)state;
	expect_one_error("[a]\nids = 8086:2922\n  [b]\naddress = 01:00.0\n",
			 "test.conf:3: indented '[b]' continues 'ids'");
	/* across a blank line and a comment too, as inih does */
	expect_one_error("[a]\nids = 8086:2922\n\n# x\n  [b]\nclass = 01\n",
			 "test.conf:5: indented '[b]' continues 'ids'");
	/* right after a header (no key yet) an indented header is a header */
	parse(&run, "[a]\nids = 8086:2922\n[b]\n  [c]\nclass = 01\n");
	assert_int_equal(run.r, -EINVAL);
	assert_non_null(strstr(run.out, "section [b] has no selectors"));
	done(&run);
	parse(&run, "  [a]\nids = 8086:2922\n");
	assert_int_equal(run.r, 0);
	assert_string_equal(run.cfg.sections[0].name, "a");
	done(&run);
}

static void hash_after_value_is_not_a_comment(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922 # sata\n",
			 "test.conf:2: '#' starts a comment only at the start");
}

static void key_before_any_section_is_an_error(void **state)
{
	(void)state;
	expect_one_error("ids = 8086:2922\n[a]\nclass = 01\n",
			 "test.conf:1: key 'ids' before any section");
}

static void line_without_equals_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922\nadress\n",
			 "test.conf:3: expected 'key = value'");
}

static void line_longer_than_198_is_an_error_and_numbering_stays_right(void **state)
{
	char text[1024];
	char pad[400];
	struct run run;

	(void)state;
	memset(pad, 'a', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(text, sizeof(text), "[a]\n; %s\nids = 8086:2922\nbogus = 1\n", pad);
	parse(&run, text);
	assert_int_equal(run.r, -EINVAL);
	assert_non_null(strstr(run.out, "test.conf:2: line too long"));
	/* the long line counts as one: the next error is still on line 4 */
	assert_non_null(strstr(run.out, "test.conf:4: unknown key 'bogus'"));
	assert_int_equal(count_lines(run.out), 2);
	done(&run);
}

/* Any NUL byte is an error on its own line: at the start of a line it
 * used to make the line vanish, in the middle it hid the newline and took
 * the next line with it. */
static void nul_byte_is_an_error_and_keeps_the_next_line(void **state)
{
	static const char start[] = "[a]\n\0ids = 8086:2922\naddress = 03:00.0\n";
	static const char mid[] = "[a]\nids = 8086\0:2922\nbogus = 1\n";
	struct run run;

	(void)state;
	parse_mem(&run, start, sizeof(start) - 1);
	assert_int_equal(run.r, -EINVAL);
	assert_non_null(strstr(run.out, "test.conf:2: line contains a NUL byte"));
	assert_int_equal(count_lines(run.out), 1);
	done(&run);

	parse_mem(&run, mid, sizeof(mid) - 1);
	assert_int_equal(run.r, -EINVAL);
	assert_non_null(strstr(run.out, "test.conf:2: line contains a NUL byte"));
	/* the line after it is read, and its error reported at its own line */
	assert_non_null(strstr(run.out, "test.conf:3: unknown key 'bogus'"));
	done(&run);
}

/* A selector key with only separators is an error, not an absent key:
 * "ids = ," next to "class = 0108" would take every NVMe controller. */
static void selector_with_only_separators_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = ,\nclass = 0108\n",
			 "test.conf:2: 'ids' has no value, only separators");
	expect_one_error("[a]\nclass = 0108\nserial = , ,\n",
			 "test.conf:3: 'serial' has no value, only separators");
}

/* The hint lists the keys the table has, not a copy that falls behind. */
static void unknown_key_lists_every_key_that_belongs_there(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922\nzzzzzzzz = 1\n",
			 "test.conf:3: unknown key 'zzzzzzzz' (known: ids, address, class, "
			 "serial, model, dsn, allow-system-device, allow-unrecorded, "
			 "sriov-vfs, sriov-vfio)");
	expect_one_error("[options]\nzzzzzzzz = 1\n[a]\nids = 8086:2922\n",
			 "test.conf:2: unknown key 'zzzzzzzz' (known: driver, unbind, "
			 "iommu-group)");
}

static void non_utf8_line_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922\n; caf\xe9\n",
			 "test.conf:3: line is not valid UTF-8");
}

static void invalid_section_name_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[a b/c]\nids = 8086:2922\n",
			 "test.conf:1: invalid section name 'a b/c'");
}

static void bad_unbind_value_is_an_error(void **state)
{
	(void)state;
	expect_one_error("[options]\nunbind = maybe\n[a]\nclass = 01\n",
			 "test.conf:2: invalid value 'maybe' for 'unbind'");
}

static void every_error_is_reported_not_just_the_first(void **state)
{
	struct run run;

	(void)state;
	parse(&run, "[a]\nadress = 1\nids = zz\n[b]\n");
	assert_int_equal(run.r, -EINVAL);
	assert_int_equal(run.cfg.n_errors, 3);
	assert_non_null(strstr(run.out, "test.conf:2:"));
	assert_non_null(strstr(run.out, "test.conf:3:"));
	assert_non_null(strstr(run.out, "test.conf:4:"));
	done(&run);
}

static void byte_order_mark_is_accepted(void **state)
{
	struct run run;

	(void)state;
	parse(&run, "\xef\xbb\xbf[a]\nids = 8086:2922\n");
	assert_int_equal(run.r, 0);
	assert_int_equal(run.cfg.n_sections, 1);
	done(&run);
}

static void indented_key_is_named_as_a_continuation(void **state)
{
	(void)state;
	expect_one_error("[a]\nids = 8086:2922\n  address = 03:00.0\n",
			 "test.conf:3: indented line continues 'ids'");
}

static void unknown_key_alone_does_not_also_call_the_section_empty(void **state)
{
	(void)state;
	expect_one_error("[a]\nadress = 03:00.0\n",
			 "test.conf:2: unknown key 'adress'");
}

static void out_of_range_slot_names_the_range(void **state)
{
	(void)state;
	expect_one_error("[a]\naddress = 03:20.0\n", "slots are 00 to 1f");
}

static void iommu_group_policy_is_parsed(void **state)
{
	struct run run;

	(void)state;
	parse(&run, "[options]\niommu-group = Whole\n[a]\nclass = 01\n");
	assert_int_equal(run.r, 0);
	assert_int_equal(run.cfg.group, EVFIO_GROUP_WHOLE);
	done(&run);
	expect_one_error("[options]\niommu-group = all\n[a]\nclass = 01\n",
			 "test.conf:2: invalid value 'all' for 'iommu-group'");
}

static void allow_system_device_is_per_section(void **state)
{
	struct run run;

	(void)state;
	parse(&run, "[a]\nclass = 01\nallow-system-device = yes\n[b]\nclass = 02\n");
	assert_int_equal(run.r, 0);
	assert_true(run.cfg.sections[0].allow_system);
	assert_false(run.cfg.sections[1].allow_system);
	done(&run);
	/* it is not a selector: alone it leaves the section empty */
	expect_one_error("[a]\nallow-system-device = yes\n",
			 "test.conf:1: section [a] has no selectors");
}

static void section_matches_only_when_every_key_matches(void **state)
{
	struct run run;
	struct evfio_ident twin1 = { .bus = 0, .slot = 0x1f, .func = 2,
				     .vendor = 0x8086, .device = 0x2922,
				     .class = 0x010601 };
	struct evfio_ident twin2 = twin1;
	struct evfio_ident nvme = { .bus = 0, .slot = 4, .vendor = 0x1b36,
				    .device = 0x0010, .class = 0x010802 };

	(void)state;
	twin2.slot = 3;
	twin2.func = 0;
	parse(&run, "[twin]\nids = 8086:2922\naddress = 00:03.0\n"
		    "[nv]\nclass = 0108\n");
	assert_int_equal(run.r, 0);
	assert_null(evfio_config_match(&run.cfg, &twin1));
	assert_ptr_equal(evfio_config_match(&run.cfg, &twin2),
			 &run.cfg.sections[0]);
	assert_ptr_equal(evfio_config_match(&run.cfg, &nvme),
			 &run.cfg.sections[1]);
	/* a skipped section selects nothing */
	assert_int_equal(evfio_config_skip(&run.cfg, "nv"), 1);
	assert_null(evfio_config_match(&run.cfg, &nvme));
	done(&run);
}

static void serial_model_and_dsn_keys_are_parsed(void **state)
{
	struct run run;
	const struct evfio_section *s;

	(void)state;
	parse(&run, "[drives]\nserial = SN-A, SN-B\nmodel = Fake NVMe 1TB\n"
		    "[nic]\ndsn = 00-11-22-33-44-55-66-77\n");
	assert_int_equal(run.r, 0);
	s = &run.cfg.sections[0];
	assert_int_equal(s->n_serials, 2);
	assert_string_equal(s->serials[1], "SN-B");
	assert_string_equal(s->model, "Fake NVMe 1TB");
	assert_int_equal(run.cfg.sections[1].n_dsns, 1);
	assert_true(run.cfg.need & EVFIO_SCAN_NVME_ID);
	assert_true(run.cfg.need & EVFIO_SCAN_DSN);
	done(&run);
	expect_one_error("[a]\nserial = 123456789012345678901\n",
			 "test.conf:2: invalid serial '123456789012345678901': an NVMe "
			 "serial number has 1 to 20 characters");
	expect_one_error("[a]\ndsn = 00:11:22:33:44:55:66:77\n",
			 "test.conf:2: invalid dsn '00:11:22:33:44:55:66:77'");
	expect_one_error("[a]\nmodel = A\n  B\n",
			 "test.conf:3: invalid model 'B': 'model' takes a single value");
	expect_one_error("[a]\nserail = X\n",
			 "test.conf:2: unknown key 'serail' (did you mean 'serial'?)");
}

static void serial_section_matches_nvme_candidates_until_identified(void **state)
{
	struct run run;
	struct evfio_ident a = { .slot = 4, .vendor = 0x1b36, .device = 0x0010,
				 .class = 0x010802 };
	struct evfio_ident b = a, sata = { .slot = 3, .vendor = 0x8086,
					   .device = 0x2922, .class = 0x010601 };
	const struct evfio_section *s;

	(void)state;
	b.slot = 5;
	parse(&run, "[b]\nserial = SN-B\n");
	assert_int_equal(run.r, 0);
	s = &run.cfg.sections[0];
	/* serial unknown: every NVMe controller is a candidate, nothing else */
	assert_ptr_equal(evfio_config_match(&run.cfg, &a), s);
	assert_true(evfio_section_needs_nvme_id(s, &a));
	assert_null(evfio_config_match(&run.cfg, &sata));
	assert_false(evfio_section_needs_nvme_id(s, &sata));
	/* once read, only the exact serial */
	a.nvme_known = b.nvme_known = true;
	strcpy(a.serial, "SN-A");
	strcpy(b.serial, "SN-B");
	assert_null(evfio_config_match(&run.cfg, &a));
	assert_ptr_equal(evfio_config_match(&run.cfg, &b), s);
	assert_false(evfio_section_needs_nvme_id(s, &b));
	strcpy(b.serial, "SN-BB");
	assert_null(evfio_config_match(&run.cfg, &b));
	done(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_config_yields_sections_and_options),
		cmocka_unit_test(defaults_are_vfio_pci_and_unbind_yes),
		cmocka_unit_test(misspelt_key_names_line_and_suggests_the_fix),
		cmocka_unit_test(unknown_key_lists_every_key_that_belongs_there),
		cmocka_unit_test(nul_byte_is_an_error_and_keeps_the_next_line),
		cmocka_unit_test(selector_with_only_separators_is_an_error),
		cmocka_unit_test(option_key_in_device_section_says_where_it_belongs),
		cmocka_unit_test(malformed_id_is_an_error_with_its_line),
		cmocka_unit_test(malformed_address_is_an_error),
		cmocka_unit_test(malformed_class_is_an_error),
		cmocka_unit_test(empty_section_is_an_error),
		cmocka_unit_test(duplicate_section_is_an_error),
		cmocka_unit_test(duplicate_section_among_many_is_found_fast),
		cmocka_unit_test(duplicate_key_is_an_error),
		cmocka_unit_test(indented_continuation_adds_values),
		cmocka_unit_test(indented_header_after_a_key_continues_it),
		cmocka_unit_test(hash_after_value_is_not_a_comment),
		cmocka_unit_test(key_before_any_section_is_an_error),
		cmocka_unit_test(line_without_equals_is_an_error),
		cmocka_unit_test(line_longer_than_198_is_an_error_and_numbering_stays_right),
		cmocka_unit_test(non_utf8_line_is_an_error),
		cmocka_unit_test(invalid_section_name_is_an_error),
		cmocka_unit_test(bad_unbind_value_is_an_error),
		cmocka_unit_test(every_error_is_reported_not_just_the_first),
		cmocka_unit_test(byte_order_mark_is_accepted),
		cmocka_unit_test(indented_key_is_named_as_a_continuation),
		cmocka_unit_test(unknown_key_alone_does_not_also_call_the_section_empty),
		cmocka_unit_test(out_of_range_slot_names_the_range),
		cmocka_unit_test(iommu_group_policy_is_parsed),
		cmocka_unit_test(allow_system_device_is_per_section),
		cmocka_unit_test(section_matches_only_when_every_key_matches),
		cmocka_unit_test(serial_model_and_dsn_keys_are_parsed),
		cmocka_unit_test(serial_section_matches_nvme_candidates_until_identified),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

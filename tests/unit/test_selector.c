// SPDX-License-Identifier: MIT
/* Selector parsing and matching: the syntax the config accepts, what it
 * rejects, and which devices each selector takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "early-vfio.h"

static struct evfio_ident dev(unsigned int bus, unsigned int slot,
			      unsigned int func, uint16_t v, uint16_t d,
			      uint32_t cls)
{
	struct evfio_ident i = { .domain = 0, .bus = bus, .slot = slot,
				 .func = func, .vendor = v, .device = d,
				 .subvendor = 0x1af4, .subdevice = 0x1100,
				 .class = cls };
	return i;
}

static void id_vendor_device_parses_and_matches_only_that_pair(void **state)
{
	struct evfio_id id;
	struct evfio_ident a = dev(3, 0, 0, 0x8086, 0x2922, 0x010601);
	struct evfio_ident b = dev(3, 0, 0, 0x8086, 0x2923, 0x010601);

	(void)state;
	assert_null(evfio_id_parse("8086:2922", &id));
	assert_int_equal(id.vendor, 0x8086);
	assert_int_equal(id.device, 0x2922);
	assert_false(id.has_subsys);
	assert_true(evfio_id_match(&id, &a));
	assert_false(evfio_id_match(&id, &b));
}

static void id_with_subsystem_ids_tells_vendor_variants_apart(void **state)
{
	struct evfio_id id;
	struct evfio_ident a = dev(4, 0, 0, 0x1b36, 0x0010, 0x010802);
	struct evfio_ident b = a;

	(void)state;
	b.subdevice = 0x1101;
	assert_null(evfio_id_parse("1b36:0010:1af4:1100", &id));
	assert_true(id.has_subsys);
	assert_true(evfio_id_match(&id, &a));
	assert_false(evfio_id_match(&id, &b));
}

static void id_rejects_every_malformed_shape(void **state)
{
	static const char *bad[] = {
		"", "8086", "8086:", ":2922", "8086:292", "8086:29222",
		"1b36:00100", "8086:2922:1af4", "8086:2922:1af4:110",
		"8086:2922:0106", "g086:2922", "8086-2922", "8086:2922:1af4:1100:0",
		" 8086:2922", "0x8086:2922",
	};
	struct evfio_id id = { .vendor = 0x1234 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *msg = evfio_id_parse(bad[i], &id);

		if (!msg)
			fail_msg("accepted bad id '%s'", bad[i]);
		assert_non_null(strstr(msg, "vendor:device"));
	}
	assert_int_equal(id.vendor, 0x1234);	/* untouched on error */
}

static void address_with_and_without_domain_selects_one_function(void **state)
{
	struct evfio_addr a, b;
	struct evfio_ident twin1 = dev(0, 0x1f, 2, 0x8086, 0x2922, 0x010601);
	struct evfio_ident twin2 = dev(0, 0x03, 0, 0x8086, 0x2922, 0x010601);

	(void)state;
	assert_null(evfio_addr_parse("0000:00:03.0", &a));
	assert_null(evfio_addr_parse("00:03.0", &b));
	assert_int_equal(b.domain, -1);
	assert_true(evfio_addr_match(&a, &twin2));
	assert_false(evfio_addr_match(&a, &twin1));
	assert_true(evfio_addr_match(&b, &twin2));
	assert_false(evfio_addr_match(&b, &twin1));
	twin2.domain = 1;
	assert_false(evfio_addr_match(&a, &twin2));
	assert_true(evfio_addr_match(&b, &twin2));
}

static void address_function_wildcard_takes_every_function_of_the_slot(void **state)
{
	struct evfio_addr a;
	struct evfio_ident gpu = dev(0x0a, 0, 0, 0x10de, 0x1b80, 0x030000);
	struct evfio_ident audio = dev(0x0a, 0, 1, 0x10de, 0x10f0, 0x040300);
	struct evfio_ident other = dev(0x0a, 1, 0, 0x10de, 0x1b80, 0x030000);

	(void)state;
	assert_null(evfio_addr_parse("0a:00.*", &a));
	assert_true(evfio_addr_match(&a, &gpu));
	assert_true(evfio_addr_match(&a, &audio));
	assert_false(evfio_addr_match(&a, &other));
}

static void address_rejects_lenient_and_out_of_range_forms(void **state)
{
	static const char *bad[] = {
		"", "3.0", "03.0", "03:00", "3:0.0", "03:00.8", "03:20.0",
		"0000:03:00", "00000:03:00.0", "03:00.0 ", "03:00.**",
		"03:00.-1", "zz:00.0", "0000:03:00.0.0", "*:00.0",
	};
	struct evfio_addr a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!evfio_addr_parse(bad[i], &a))
			fail_msg("accepted bad address '%s'", bad[i]);
}

static void class_prefix_of_two_four_or_six_digits(void **state)
{
	struct evfio_class c;
	struct evfio_ident sata = dev(3, 0, 0, 0x8086, 0x2922, 0x010601);
	struct evfio_ident nvme = dev(4, 0, 0, 0x1b36, 0x0010, 0x010802);

	(void)state;
	assert_null(evfio_class_parse("01", &c));
	assert_true(evfio_class_match(&c, &sata));
	assert_true(evfio_class_match(&c, &nvme));
	assert_null(evfio_class_parse("0108", &c));
	assert_false(evfio_class_match(&c, &sata));
	assert_true(evfio_class_match(&c, &nvme));
	assert_null(evfio_class_parse("010601", &c));
	assert_true(evfio_class_match(&c, &sata));
	assert_null(evfio_class_parse("010600", &c));
	assert_false(evfio_class_match(&c, &sata));
	assert_non_null(evfio_class_parse("1", &c));
	assert_non_null(evfio_class_parse("010", &c));
	assert_non_null(evfio_class_parse("01060100", &c));
	assert_non_null(evfio_class_parse("0x01", &c));
}

struct collected {
	char toks[8][32];
	int n;
};

static int collect(const char *tok, void *data)
{
	struct collected *c = data;

	snprintf(c->toks[c->n++], sizeof(c->toks[0]), "%s", tok);
	return c->n == 8;
}

static void tokens_split_on_spaces_and_commas(void **state)
{
	struct collected c = { .n = 0 };

	(void)state;
	assert_int_equal(evfio_for_each_token(" a, b,,c\td ,", collect, &c), 0);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.toks[0], "a");
	assert_string_equal(c.toks[1], "b");
	assert_string_equal(c.toks[2], "c");
	assert_string_equal(c.toks[3], "d");
}

static void serial_accepts_printable_ascii_up_to_its_field_size(void **state)
{
	char out[EVFIO_MODEL_MAX + 1];

	(void)state;
	assert_null(evfio_serial_parse("S4EWNX0R123456", out, EVFIO_SERIAL_MAX));
	assert_string_equal(out, "S4EWNX0R123456");
	assert_null(evfio_serial_parse("12345678901234567890", out, EVFIO_SERIAL_MAX));
	assert_non_null(evfio_serial_parse("123456789012345678901", out, EVFIO_SERIAL_MAX));
	assert_non_null(evfio_serial_parse("", out, EVFIO_SERIAL_MAX));
	assert_non_null(evfio_serial_parse("caf\xc3\xa9", out, EVFIO_SERIAL_MAX));
	assert_non_null(evfio_serial_parse("a\tb", out, EVFIO_SERIAL_MAX));
	/* a model has blanks and 40 characters */
	assert_null(evfio_serial_parse("Samsung SSD 980 PRO 1TB", out, EVFIO_MODEL_MAX));
	assert_non_null(evfio_serial_parse("12345678901234567890123456789012345678901",
					   out, EVFIO_MODEL_MAX));
}

static void dsn_reads_as_lspci_prints_it(void **state)
{
	uint64_t v = 0;
	char buf[24];

	(void)state;
	assert_null(evfio_dsn_parse("00-11-22-33-44-55-66-77", &v));
	assert_true(v == 0x0011223344556677ull);
	evfio_dsn_format(v, buf);
	assert_string_equal(buf, "00-11-22-33-44-55-66-77");
	assert_null(evfio_dsn_parse("AA-bb-CC-dd-EE-ff-00-01", &v));
	assert_true(v == 0xaabbccddeeff0001ull);
	assert_non_null(evfio_dsn_parse("00:11:22:33:44:55:66:77", &v));
	assert_non_null(evfio_dsn_parse("0011223344556677", &v));
	assert_non_null(evfio_dsn_parse("00-11-22-33-44-55-66", &v));
	assert_non_null(evfio_dsn_parse("00-11-22-33-44-55-66-7g", &v));
	assert_non_null(evfio_dsn_parse("00-11-22-33-44-55-66-77-", &v));
}

static void identify_fields_lose_padding_and_unprintable_bytes(void **state)
{
	char out[EVFIO_SERIAL_MAX + 1];

	(void)state;
	evfio_trim_field(out, "  S4EWNX0R123456    ", 20);
	assert_string_equal(out, "S4EWNX0R123456");
	evfio_trim_field(out, "AB CD\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	assert_string_equal(out, "AB CD");
	evfio_trim_field(out, "X\x01\xffY                ", 20);
	assert_string_equal(out, "X??Y");
	evfio_trim_field(out, "                    ", 20);
	assert_string_equal(out, "");
}

static void hex_reads_exactly_its_width_and_nothing_lenient(void **state)
{
	uint32_t v = 7;

	(void)state;
	assert_true(evfio_hex("1b36", 4, &v));
	assert_int_equal(v, 0x1b36);
	assert_true(evfio_hex("FFFFFFFF", 8, &v));
	assert_int_equal(v, 0xffffffffu);
	assert_true(evfio_hex("0a9z", 2, &v));	/* only n digits are read */
	assert_int_equal(v, 0x0a);
	v = 7;
	assert_false(evfio_hex("", 0, &v));
	assert_false(evfio_hex("123456789", 9, &v));	/* wider than 32 bits */
	assert_false(evfio_hex("0x12", 4, &v));
	assert_false(evfio_hex(" 12", 3, &v));
	assert_false(evfio_hex("-1", 2, &v));
	assert_false(evfio_hex("12\0" "4", 4, &v));	/* a NUL ends nothing early */
	assert_int_equal(v, 7);			/* left alone on failure */
	assert_true(evfio_hex("abc", 3, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hex_reads_exactly_its_width_and_nothing_lenient),
		cmocka_unit_test(id_vendor_device_parses_and_matches_only_that_pair),
		cmocka_unit_test(id_with_subsystem_ids_tells_vendor_variants_apart),
		cmocka_unit_test(id_rejects_every_malformed_shape),
		cmocka_unit_test(address_with_and_without_domain_selects_one_function),
		cmocka_unit_test(address_function_wildcard_takes_every_function_of_the_slot),
		cmocka_unit_test(address_rejects_lenient_and_out_of_range_forms),
		cmocka_unit_test(class_prefix_of_two_four_or_six_digits),
		cmocka_unit_test(tokens_split_on_spaces_and_commas),
		cmocka_unit_test(serial_accepts_printable_ascii_up_to_its_field_size),
		cmocka_unit_test(dsn_reads_as_lspci_prints_it),
		cmocka_unit_test(identify_fields_lose_padding_and_unprintable_bytes),
	};

	return cmocka_run_group_tests_name("selector", tests, NULL, NULL);
}

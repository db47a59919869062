// SPDX-License-Identifier: MIT
/* Config editing (confedit.c): a section appended or removed, every other
 * byte kept; the file replaced with its owner and mode; the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "early-vfio.h"

#define BLOCK "# early-vfio add 00:03.0:\n[sata]\naddress = 0000:00:03.0\nids = 8086:2922\n"

/* The config an admin wrote, as the shipped example shows them. */
static const char admin[] =
	"# my devices\n"
	"\n"
	"[options]\n"
	"iommu-group = warn   ; the default\n"
	"\n"
	"; the twin, by hand\n"
	"[twin]\n"
	"address   =  01:00.0\n"
	"  03:00.0\n"
	"\n"
	"# an example for later\n"
	"#[gpu]\n"
	"#address = 0a:00.*\n";

static void append_keeps_text_and_adds_one_blank_line(void **state)
{
	char *t;

	(void)state;
	t = evfio_conf_append(admin, BLOCK);
	assert_non_null(t);
	assert_memory_equal(t, admin, strlen(admin));
	assert_string_equal(t + strlen(admin), "\n" BLOCK);
	free(t);
	/* no final newline: one is added, then the blank line */
	t = evfio_conf_append("[a]\nids = 1:2", BLOCK);
	assert_string_equal(t, "[a]\nids = 1:2\n\n" BLOCK);
	free(t);
	/* ends in a blank line already: no second one */
	t = evfio_conf_append("[a]\nids = 1:2\n\n", BLOCK);
	assert_string_equal(t, "[a]\nids = 1:2\n\n" BLOCK);
	free(t);
	/* an empty or missing file: the block alone */
	t = evfio_conf_append("", BLOCK);
	assert_string_equal(t, BLOCK);
	free(t);
}

static void append_then_remove_gives_the_bytes_back(void **state)
{
	char *t, *back, *removed;

	(void)state;
	t = evfio_conf_append(admin, BLOCK);
	assert_true(evfio_conf_has_section(t, "sata"));
	back = evfio_conf_remove(t, "sata", &removed);
	assert_non_null(back);
	assert_string_equal(back, admin);
	assert_string_equal(removed, BLOCK);
	free(t);
	free(back);
	free(removed);
}

static void remove_takes_the_section_and_its_comment_only(void **state)
{
	static const char text[] =
		"# head\n"
		"\n"
		"# about a\n"
		"[a]\n"
		"ids = 1:2\n"
		"# old = key\n"
		"\n"
		"# about b\n"
		"[b]\n"
		"ids = 3:4\n";
	char *t;

	(void)state;
	t = evfio_conf_remove(text, "a", NULL);
	assert_string_equal(t, "# head\n\n# about b\n[b]\nids = 3:4\n");
	free(t);
	/* the last section: the blank line before it goes too */
	t = evfio_conf_remove(text, "b", NULL);
	assert_string_equal(t, "# head\n\n# about a\n[a]\nids = 1:2\n# old = key\n");
	free(t);
	/* a comment that leads straight into the next header is that section's */
	t = evfio_conf_remove("[a]\nids = 1:2\n# about b\n[b]\nids = 3:4\n", "a", NULL);
	assert_string_equal(t, "# about b\n[b]\nids = 3:4\n");
	free(t);
	/* commented-out examples after the last section stay */
	t = evfio_conf_remove(admin, "twin", NULL);
	assert_string_equal(t, "# my devices\n\n[options]\niommu-group = warn   ; the default\n"
			    "\n# an example for later\n#[gpu]\n#address = 0a:00.*\n");
	free(t);
	/* headers as the parser reads them: blanks, an inline comment */
	t = evfio_conf_remove("[ x ]   ; why\nids = 1:2\n\n[y]\nids = 3:4\n", "x", NULL);
	assert_string_equal(t, "[y]\nids = 3:4\n");
	free(t);
	/* an indented [b] after a key continues it (inih's rule, config.c's):
	 * not a section to find, and not the end of [a] */
	assert_false(evfio_conf_has_section("[a]\nids = 1:2\n  [b]\n", "b"));
	t = evfio_conf_remove("[a]\nids = 1:2\n  [b]\n\n[c]\nids = 3:4\n", "a", NULL);
	assert_string_equal(t, "[c]\nids = 3:4\n");
	free(t);
	/* after a header, or first in the file, an indented one is a header */
	assert_true(evfio_conf_has_section("[a]\n  [b]\nids = 1:2\n", "b"));
	assert_true(evfio_conf_has_section("  [b]\nids = 1:2\n", "b"));
	/* absent: NULL, ENOENT; [options] only by its exact name */
	errno = 0;
	assert_null(evfio_conf_remove(admin, "gpu", NULL));
	assert_int_equal(errno, ENOENT);
	assert_false(evfio_conf_has_section(admin, "gpu"));
	assert_true(evfio_conf_has_section(admin, "options"));
}

static void write_keeps_owner_and_mode(void **state)
{
	char dir[] = "/tmp/early-vfio-confedit.XXXXXX", path[64];
	struct evfio_conftext t;
	struct stat st;
	FILE *f;
	int lock, other;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/e.conf", dir);
	/* absent: empty text, and a new file is 0644 */
	assert_int_equal(evfio_conf_read(path, &t), 0);
	assert_false(t.exists);
	assert_string_equal(t.text, "");
	assert_int_equal(evfio_conf_write(path, &t, "[a]\nids = 1:2\n"), 0);
	evfio_conf_free(&t);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	chmod(path, 0600);
	assert_int_equal(evfio_conf_read(path, &t), 0);
	assert_true(t.exists);
	assert_string_equal(t.text, "[a]\nids = 1:2\n");
	assert_int_equal(evfio_conf_write(path, &t, "[b]\nids = 3:4\n"), 0);
	evfio_conf_free(&t);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fgetc(f), '[');
	assert_int_equal(fgetc(f), 'b');
	fclose(f);
	/* the lock: a second taker waits, then gives up */
	lock = evfio_conf_lock(path, 1);
	assert_true(lock >= 0);
	other = evfio_conf_lock(path, 0);
	assert_int_equal(other, -ETIMEDOUT);
	evfio_conf_unlock(lock);
	other = evfio_conf_lock(path, 0);
	assert_true(other >= 0);
	evfio_conf_unlock(other);
	/* a NUL byte: not a text to edit */
	f = fopen(path, "w");
	fwrite("[a]\0x\n", 1, 6, f);
	fclose(f);
	assert_int_equal(evfio_conf_read(path, &t), -EILSEQ);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_keeps_text_and_adds_one_blank_line),
		cmocka_unit_test(append_then_remove_gives_the_bytes_back),
		cmocka_unit_test(remove_takes_the_section_and_its_comment_only),
		cmocka_unit_test(write_keeps_owner_and_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/* Run by make before early-vfio is built: does this libinih pass each
 * key's line number to the handler (INI_HANDLER_LINENO)?  config.c names
 * every error "file:line" from it; a libinih built without it calls a
 * four-argument handler, and the fifth argument would be whatever is in
 * the register.  Exit 0 when the lines are right, else 1 with why. */
#define INI_HANDLER_LINENO 1
#include <ini.h>
#include <stdio.h>
#include <string.h>

static const int want[] = { 3, 7, 8 };

static int on_key(void *user, const char *section, const char *name, const char *value,
		  int lineno)
{
	int *n = user;

	(void)section, (void)name, (void)value;
	if (*n < 3 && lineno != want[*n]) {
		fprintf(stderr, "key %d reported on line %d, it is on line %d\n", *n + 1,
			lineno, want[*n]);
		*n = 100;
	} else if (*n < 3) {
		(*n)++;
	}
	return 1;
}

int main(void)
{
	int n = 0;

	if (ini_parse_string("[a]\n\nk = 1\n# c\n\n[b]\nk = 2\n  3\n", on_key, &n) != 0 || n != 3)
		return 1;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * jsoncheck: exits 0 if stdin is one valid JSON value, else prints where
 * it stops being JSON and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "jsoncheck.h"

int main(void)
{
	size_t len = 0, cap = 1 << 16, at;
	char *buf = malloc(cap);
	size_t n;

	while (buf && (n = fread(buf + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf) {
		fprintf(stderr, "jsoncheck: out of memory\n");
		return 2;
	}
	if (json_valid(buf, len, &at))
		return 0;
	fprintf(stderr, "jsoncheck: not JSON at byte %zu of %zu: \"%.40s\"\n",
		at, len, buf + (at < len ? at : len));
	return 1;
}

// SPDX-License-Identifier: GPL-2.0
/* Parser for zdtm/tests.list (format in testlist.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlist.h"

static const struct {
	const char *name;
	unsigned int flag;
} flag_names[] = {
	{ "threads", TF_THREADS },
	{ "tree", TF_TREE },
	{ "notyet", TF_NOTYET },
	{ "fault", TF_FAULT },
	{ "busy", TF_BUSY },
	{ "tcp", TF_TCP },
};

#define NR_FLAGS (sizeof(flag_names) / sizeof(flag_names[0]))

static int parse_flags(char *s, unsigned int *flags, const char *where)
{
	char *tok, *save = NULL;
	unsigned int i;

	*flags = 0;
	if (!strcmp(s, "-"))
		return 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NR_FLAGS; i++)
			if (!strcmp(tok, flag_names[i].name))
				break;
		if (i == NR_FLAGS) {
			fprintf(stderr, "zdtm: %s: unknown flag \"%s\"\n", where, tok);
			return -1;
		}
		*flags |= flag_names[i].flag;
	}
	return 0;
}

int testlist_load(const char *path, struct zdtm_test **tests)
{
	struct zdtm_test *arr = NULL, *t;
	char line[512], where[600], name[64], dir[32], flags[128];
	int nr = 0, lineno = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');

		lineno++;
		if (hash)
			*hash = '\0';
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		switch (sscanf(line, "%63s %31s %127s", name, dir, flags)) {
		case EOF:
		case 0:
			continue;
		case 3:
			break;
		default:
			fprintf(stderr, "zdtm: %s: want \"name dir flags\"\n", where);
			goto err;
		}
		t = realloc(arr, (nr + 1) * sizeof(*arr));
		if (!t)
			goto err;
		arr = t;
		t = &arr[nr];
		snprintf(t->name, sizeof(t->name), "%s", name);
		snprintf(t->dir, sizeof(t->dir), "%s", dir);
		if (parse_flags(flags, &t->flags, where))
			goto err;
		nr++;
	}
	fclose(f);
	*tests = arr;
	return nr;
err:
	fclose(f);
	free(arr);
	return -1;
}

const char *testlist_flags_str(unsigned int flags, char *buf, int len)
{
	unsigned int i;
	int n = 0;

	buf[0] = '\0';
	for (i = 0; i < NR_FLAGS; i++)
		if (flags & flag_names[i].flag)
			n += snprintf(buf + n, len - n, "%s%s", n ? "," : "",
				      flag_names[i].name);
	if (!n)
		snprintf(buf, len, "-");
	return buf;
}

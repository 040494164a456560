/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CRIU_LITE_UTIL_H
#define CRIU_LITE_UTIL_H

#include <stdlib.h>

/*
 * Room for one more element in a growing array: *v holds n elements of
 * size elem in room for *cap; the room doubles (first: the first room).
 * 0 on success, -1 (array untouched) when memory runs out.
 */
static inline int array_grow(void *v, size_t *cap, size_t n, size_t elem,
			     size_t first)
{
	void **pv = v;
	size_t nc;
	void *nv;

	if (n < *cap)
		return 0;
	nc = *cap ? 2 * *cap : first;
	nv = realloc(*pv, nc * elem);
	if (!nv)
		return -1;
	*pv = nv;
	*cap = nc;
	return 0;
}

#endif

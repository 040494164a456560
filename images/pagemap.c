// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "pagemap.h"

bool page_is_zero(const void *p)
{
	const uint64_t *w = p;

	/* OR 8 words a step: the compiler vectorises it, ~20 GB/s here */
	for (size_t i = 0; i < PAGE_SZ / 8; i += 8) {
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] |
		    w[i + 5] | w[i + 6] | w[i + 7])
			return false;
	}
	return true;
}

/*
 * Four independent multiply-xor lanes so that the multiplies pipeline;
 * not cryptographic, it guards against pages restored wrong or not at all.
 */
uint64_t pages_checksum(uint64_t seed, const void *p, size_t len)
{
	const uint64_t *w = p;
	const uint64_t k = 0xff51afd7ed558ccdULL;
	uint64_t a = seed, b = seed ^ 1, c = seed ^ 2, d = seed ^ 3;
	size_t n = len / 8, i = 0;

	for (; i + 4 <= n; i += 4) {
		a = (a ^ w[i]) * k;
		b = (b ^ w[i + 1]) * k;
		c = (c ^ w[i + 2]) * k;
		d = (d ^ w[i + 3]) * k;
	}
	for (; i < n; i++)
		a = (a ^ w[i]) * k;
	a ^= (b << 1 | b >> 63) ^ (c << 2 | c >> 62) ^ (d << 3 | d >> 61);
	a ^= a >> 33;
	return a;
}

void run_builder_init(struct run_builder *rb,
		      int (*emit)(void *, const struct page_run *),
		      int (*data)(void *, const void *, size_t), void *arg)
{
	memset(rb, 0, sizeof(*rb));
	rb->emit = emit;
	rb->data = data;
	rb->arg = arg;
	rb->max_run_pages = 1 << 18;
}

static int flush_run(struct run_builder *rb)
{
	int ret = 0;

	if (rb->have_cur)
		ret = rb->emit(rb->arg, &rb->cur);
	rb->have_cur = false;
	return ret;
}

uint64_t page_csum(const void *page)
{
	return pages_checksum(CSUM_SEED, page, PAGE_SZ);
}

uint64_t run_csum_fold(uint64_t h, uint64_t page_sum)
{
	h = (h ^ page_sum) * 0xc2b2ae3d27d4eb4fULL;
	return h ^ (h >> 31);
}

/*
 * Extends the current run by nr pages of kind flags at vaddr, starting a
 * new run where the kind or address changes, where stored data would not
 * follow on in the pages file, or where the run is full (max_run_pages).
 * Page checksums come from buf (computed) or csums (given); a run's
 * checksum folds them in order, so it does not depend on how the run was
 * split into calls, nor on when each page was copied.
 */
static int extend_run(struct run_builder *rb, uint64_t vaddr, size_t nr,
		      uint32_t flags, const void *buf, const uint64_t *csums,
		      bool fresh, uint64_t offset)
{
	struct page_run *r = &rb->cur;
	uint32_t max = rb->max_run_pages ? rb->max_run_pages : 1U << 18;
	bool present = flags & PE_PRESENT;

	while (nr) {
		size_t take;

		if (fresh)
			offset = rb->next_offset;
		if (!rb->have_cur || r->flags != flags ||
		    r->vaddr + (uint64_t)r->nr_pages * PAGE_SZ != vaddr ||
		    (present && r->offset + (uint64_t)r->nr_pages * PAGE_SZ != offset) ||
		    r->nr_pages >= max) {
			if (flush_run(rb))
				return -1;
			r->vaddr = vaddr;
			r->nr_pages = 0;
			r->flags = flags;
			r->checksum = present ? CSUM_SEED : 0;
			r->offset = present ? offset : 0;
			rb->have_cur = true;
		}
		take = max - r->nr_pages;
		if (take > nr)
			take = nr;
		for (size_t i = 0; present && i < take; i++)
			r->checksum = run_csum_fold(r->checksum, csums ? csums[i] :
					page_csum((const char *)buf + i * PAGE_SZ));
		r->nr_pages += take;
		if (present && fresh)
			rb->next_offset += take * PAGE_SZ;
		offset += take * PAGE_SZ;
		vaddr += take * PAGE_SZ;
		if (buf)
			buf = (const char *)buf + take * PAGE_SZ;
		if (csums)
			csums += take;
		nr -= take;
	}
	return 0;
}

int run_builder_add(struct run_builder *rb, uint64_t vaddr, const void *buf,
		    size_t nr_pages)
{
	const char *p = buf;
	size_t i = 0;

	while (i < nr_pages) {
		bool zero = page_is_zero(p + i * PAGE_SZ);
		size_t j = i + 1;

		while (j < nr_pages && page_is_zero(p + j * PAGE_SZ) == zero)
			j++;
		if (extend_run(rb, vaddr + i * PAGE_SZ, j - i,
			       zero ? PE_ZERO : PE_PRESENT,
			       zero ? NULL : p + i * PAGE_SZ, NULL, true, 0))
			return -1;
		if (!zero) {
			if (rb->data(rb->arg, p + i * PAGE_SZ,
				     (j - i) * PAGE_SZ))
				return -1;
		}
		i = j;
	}
	return 0;
}

int run_builder_add_flagged(struct run_builder *rb, uint64_t vaddr,
			    size_t nr_pages, uint32_t flags)
{
	return extend_run(rb, vaddr, nr_pages, flags, NULL, NULL, false, 0);
}

int run_builder_add_stored(struct run_builder *rb, uint64_t vaddr,
			   size_t nr_pages, uint64_t offset,
			   const uint64_t *csums)
{
	return extend_run(rb, vaddr, nr_pages, PE_PRESENT, NULL, csums, false,
			  offset);
}

int run_builder_finish(struct run_builder *rb)
{
	return flush_run(rb);
}

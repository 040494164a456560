// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "lazy.h"
#include "log.h"
#include "page-source.h"
#include "pagemap.h"
#include "progress.h"
#include "restore-check.h"

/* Whether id is a thread (threads) or a live process of the tree. */
static bool tree_has(PstreeEntry *const *pes, size_t n, unsigned id,
		     bool threads)
{
	for (size_t i = 0; i < n; i++) {
		if (!threads)
			if (pes[i]->pid == id && !pes[i]->zombie)
				return true;
		for (size_t t = 0; threads && !pes[i]->zombie &&
		     t < pes[i]->n_threads; t++)
			if (pes[i]->threads[t] == id)
				return true;
	}
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* No TID (a PID is its leader's TID) listed twice, in one process or two. */
static int check_no_twice(PstreeEntry *const *pes, size_t n)
{
	size_t nr = 0, k = 0;
	uint32_t *all;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		nr += pes[i]->n_threads;
	all = malloc((nr + 1) * sizeof(*all));
	if (!all)
		return -1;
	for (size_t i = 0; i < n; i++)
		for (size_t t = 0; t < pes[i]->n_threads; t++)
			all[k++] = pes[i]->threads[t];
	qsort(all, nr, sizeof(*all), cmp_u32);
	for (size_t i = 1; i < nr && !ret; i++) {
		if (all[i] != all[i - 1])
			continue;
		pr_err("pstree.img: thread %u is listed twice: corrupt", all[i]);
		ret = -1;
	}
	free(all);
	return ret;
}

static int check_stray(int dirfd, PstreeEntry *const *pes, size_t n)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int ret = 0;

	if (!d) {
		pr_perror("read the images directory");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while (!ret && (de = readdir(d))) {
		int type = img_type_of_name(de->d_name);
		const char *num = strpbrk(de->d_name, "0123456789");
		unsigned id;

		if (type < 0 || type == IMG_PAGES || type == IMG_PAGES_INDEX ||
		    type == IMG_GHOST ||
		    !num || type == IMG_INVENTORY || type == IMG_PSTREE)
			continue;
		id = strtoul(num, NULL, 10);
		if (tree_has(pes, n, id, type == IMG_CORE))
			continue;
		pr_err("%s: %s %u is not in pstree.img (pstree.img lost it, "
		       "or a stray file)", de->d_name,
		       type == IMG_CORE ? "thread" : "process", id);
		ret = -1;
	}
	closedir(d);
	return ret;
}

int check_tree_images(int dirfd, PstreeEntry *const *pes, size_t n)
{
	if (check_no_twice(pes, n))
		return -1;
	return check_stray(dirfd, pes, n);
}

static bool run_is_lazy(const MmEntry *mm, const PagemapEntry *e)
{
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (e->vaddr >= mm->vmas[i]->start && e->vaddr < mm->vmas[i]->end)
			return vma_is_lazy(mm->vmas[i]);
	return false;
}

uint64_t pages_to_restore(const MmEntry *mm, PagemapEntry *const *pme,
			  size_t nr, bool lazy)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < nr; i++)
		if ((pme[i]->flags & PE_PRESENT) &&
		    !(lazy && run_is_lazy(mm, pme[i])))
			pages += pme[i]->nr_pages;
	return pages;
}

int check_page_data(struct page_source *s, const MmEntry *mm,
		    PagemapEntry *const *pme, size_t nr, bool lazy, int pid,
		    struct progress *progress)
{
	const uint32_t step = PS_MAX_REQ / PAGE_SZ;

	for (size_t i = 0; i < nr; i++) {
		const PagemapEntry *e = pme[i];

		if (!(e->flags & PE_PRESENT) || (lazy && run_is_lazy(mm, e)))
			continue;
		for (uint32_t p = 0; p < e->nr_pages; p += step) {
			uint32_t n = e->nr_pages - p < step ? e->nr_pages - p : step;

			if (!page_source_get_checked(s, e, p, n, pid))
				return -1;
		}
		progress_add(progress, e->nr_pages,
			     (uint64_t)e->nr_pages * PAGE_SZ);
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-page trackers: uffd-wp (async write-protect + PAGEMAP_SCAN) and
 * soft-dirty (clear_refs + pagemap bit 55). See dirty.h for the contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "dirty.h"
#include "kernel-compat.h"
#include "log.h"

#define PAGE_SZ		4096ULL
/* Regions per PAGEMAP_SCAN call (24 bytes each: 384 KiB). */
#define SCAN_VEC_LEN	16384
/* Pagemap entries per pread in the soft-dirty fallback (512 KiB). */
#define PME_BATCH	65536
#define PME_SOFT_DIRTY	(1ULL << 55)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_range(const void *a, const void *b)
{
	const struct dirty_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Copy the caller's ranges sorted, with touching/overlapping ones merged:
 * one UFFDIO_REGISTER and one scan walk per contiguous run.
 */
static int copy_ranges(struct dirty_tracker *t, const struct dirty_track_args *a)
{
	size_t i, n = 0;

	if (!a->nr_ranges) {
		pr_err("dirty tracker for pid %d: no ranges to track", a->pid);
		return -EINVAL;
	}
	t->ranges = malloc(a->nr_ranges * sizeof(*t->ranges));
	if (!t->ranges)
		return -ENOMEM;
	memcpy(t->ranges, a->ranges, a->nr_ranges * sizeof(*t->ranges));
	qsort(t->ranges, a->nr_ranges, sizeof(*t->ranges), cmp_range);

	for (i = 0; i < a->nr_ranges; i++) {
		struct dirty_range *r = &t->ranges[i];

		if (r->start >= r->end || (r->start | r->end) % PAGE_SZ) {
			pr_err("dirty tracker for pid %d: bad range %#llx-%#llx",
			       a->pid, (unsigned long long)r->start,
			       (unsigned long long)r->end);
			return -EINVAL;
		}
		if (n && t->ranges[n - 1].end >= r->start) {
			if (r->end > t->ranges[n - 1].end)
				t->ranges[n - 1].end = r->end;
			continue;
		}
		t->ranges[n++] = *r;
	}
	t->nr_ranges = n;
	t->stats.tracked_pages = 0;
	for (i = 0; i < n; i++)
		t->stats.tracked_pages +=
			(t->ranges[i].end - t->ranges[i].start) / PAGE_SZ;
	return 0;
}

static void tracker_reset(struct dirty_tracker *t, const struct dirty_tracker_ops *ops,
			  const struct dirty_track_args *a)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->pid = a->pid;
	t->uffd = -1;
	t->pagemap_fd = -1;
	t->clear_refs_fd = -1;
}

static void tracker_release(struct dirty_tracker *t)
{
	if (t->pagemap_fd >= 0)
		close(t->pagemap_fd);
	if (t->clear_refs_fd >= 0)
		close(t->clear_refs_fd);
	/* Closing the last reference to the uffd unregisters every VMA. */
	if (t->uffd >= 0)
		close(t->uffd);
	t->pagemap_fd = t->clear_refs_fd = t->uffd = -1;
	free(t->ranges);
	free(t->vec);
	free(t->pme);
	free(t->out);
	t->ranges = NULL;
	t->vec = NULL;
	t->pme = NULL;
	t->out = NULL;
	t->nr_ranges = t->nr_out = t->out_cap = 0;
}

static int open_proc(pid_t pid, const char *name, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("open(%s)", path);
		return -errno;
	}
	return fd;
}

static int out_grow(struct dirty_tracker *t)
{
	size_t cap = t->out_cap ? t->out_cap * 2 : 1024;
	struct page_region *p = realloc(t->out, cap * sizeof(*p));

	if (!p)
		return -ENOMEM;
	t->out = p;
	t->out_cap = cap;
	return 0;
}

/*
 * Append [start, end) to the result. Scans walk upwards, so regions come
 * sorted and merge with the last one; a region below it (the uffd-wp
 * second scan) marks the result for a sort in collect_end.
 */
static int out_push(struct dirty_tracker *t, uint64_t start, uint64_t end)
{
	struct page_region *last = t->nr_out ? &t->out[t->nr_out - 1] : NULL;

	if (last && start >= last->start && start <= last->end) {
		if (end > last->end)
			last->end = end;
		return 0;
	}
	if (last && start < last->start)
		t->out_unsorted = true;
	if (t->nr_out == t->out_cap && out_grow(t))
		return -ENOMEM;
	t->out[t->nr_out++] = (struct page_region){
		.start = start, .end = end, .categories = PAGE_IS_WRITTEN,
	};
	return 0;
}

static int cmp_region(const void *a, const void *b)
{
	const struct page_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void out_sort_merge(struct dirty_tracker *t)
{
	size_t i, n = 0;

	qsort(t->out, t->nr_out, sizeof(*t->out), cmp_region);
	for (i = 0; i < t->nr_out; i++) {
		if (n && t->out[n - 1].end >= t->out[i].start) {
			if (t->out[i].end > t->out[n - 1].end)
				t->out[n - 1].end = t->out[i].end;
			continue;
		}
		t->out[n++] = t->out[i];
	}
	t->nr_out = n;
	t->out_unsorted = false;
}

static void collect_begin(struct dirty_tracker *t)
{
	t->nr_out = 0;
	t->out_unsorted = false;
	t->stats.ioctls = 0;
	t->stats.new_vma_pages = 0;
	t->stats.collect_ns = now_ns();
}

static void collect_end(struct dirty_tracker *t, struct page_region **out,
			size_t *n)
{
	size_t i;

	if (t->out_unsorted)
		out_sort_merge(t);
	t->stats.collect_ns = now_ns() - t->stats.collect_ns;
	t->stats.regions = t->nr_out;
	t->stats.pages = 0;
	for (i = 0; i < t->nr_out; i++)
		t->stats.pages += (t->out[i].end - t->out[i].start) / PAGE_SZ;
	*out = t->out;
	*n = t->nr_out;
}

struct scan_req {
	uint64_t flags;		/* PM_SCAN_* */
	uint64_t inverted;	/* category_inverted */
	uint64_t mask;		/* category_mask, also the return_mask */
	/* called for each region found, in address order */
	int (*emit)(struct dirty_tracker *t, uint64_t start, uint64_t end);
};

/*
 * Walk [start, end) of the target with PAGEMAP_SCAN, handing each region
 * found to req->emit.
 *
 * Kernel behaviour relied on: the ioctl returns how many regions it
 * filled; fewer than vec_len means the walk reached `end`. Only a full
 * vector means "more to come, resume at walk_end" - after a complete walk
 * that returned many regions walk_end can hold a stale (lower) address,
 * and resuming there would report pages twice (measured, 6.18).
 */
static int scan_range(struct dirty_tracker *t, uint64_t start, uint64_t end,
		      const struct scan_req *req)
{
	while (start < end) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.flags = req->flags,
			.start = start,
			.end = end,
			.vec = (uintptr_t)t->vec,
			.vec_len = t->vec_len,
			.category_inverted = req->inverted,
			.category_mask = req->mask,
			.return_mask = req->mask,
		};
		uint64_t next;
		long i, ret;

		ret = ioctl(t->pagemap_fd, PAGEMAP_SCAN, &arg);
		t->stats.ioctls++;
		if (ret < 0) {
			pr_perror("PAGEMAP_SCAN pid %d %#llx-%#llx", t->pid,
				  (unsigned long long)start,
				  (unsigned long long)end);
			return -errno;
		}
		for (i = 0; i < ret; i++) {
			int err = req->emit(t, t->vec[i].start, t->vec[i].end);

			if (err)
				return err;
		}
		if ((uint64_t)ret < t->vec_len)
			return 0;	/* walk finished; walk_end is not trusted */

		next = arg.walk_end;
		if (next < t->vec[ret - 1].end)
			next = t->vec[ret - 1].end;
		if (next <= start) {
			pr_err("PAGEMAP_SCAN pid %d: no progress at %#llx",
			       t->pid, (unsigned long long)start);
			return -EIO;
		}
		start = next;
	}
	return 0;
}

static int alloc_vec(struct dirty_tracker *t)
{
	t->vec_len = SCAN_VEC_LEN;
	t->vec = malloc(t->vec_len * sizeof(*t->vec));
	return t->vec ? 0 : -ENOMEM;
}

/* ---- uffd-wp ---------------------------------------------------------- */

/*
 * Handshake on the target's uffd. WP_ASYNC: a write to a protected page is
 * resolved by the kernel itself (the pte just becomes writable, no fault
 * message, nobody needs to read the uffd). WP_UNPOPULATED: protecting a
 * range also covers never-touched anonymous pages with pte markers, so a
 * read there maps a protected zero page instead of counting as a write
 * (on 6.18 no difference was seen without it; the uapi documents it as
 * needed). No EVENT_* feature is requested: with none, the target's
 * fork/mremap/munmap never block waiting on this uffd.
 */
static int uffd_wp_api(struct dirty_tracker *t)
{
	const uint64_t want = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	struct uffdio_api api = { .api = UFFD_API, .features = want };

	if (ioctl(t->uffd, UFFDIO_API, &api)) {
		pr_perror("UFFDIO_API(WP_ASYNC|WP_UNPOPULATED) on uffd %d of pid %d%s",
			  t->uffd, t->pid,
			  errno == EINVAL ? " (handshake already done?)" : "");
		return -errno;
	}
	if ((api.features & want) != want) {
		pr_err("uffd of pid %d: kernel lacks WP_ASYNC/WP_UNPOPULATED (features %#llx)",
		       t->pid, (unsigned long long)api.features);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int uffd_wp_register(struct dirty_tracker *t, uint64_t start, uint64_t end)
{
	struct uffdio_register reg = {
		.range = { .start = start, .len = end - start },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	if (ioctl(t->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	return 0;
}

/*
 * Registration alone protects nothing. One PAGEMAP_SCAN with
 * PM_SCAN_WP_MATCHING, no output vector and no category filter
 * write-protects every page of the range, never-touched ones included
 * (pte markers, WP_UNPOPULATED). Measured: 7 ms per populated GiB, half
 * of UFFDIO_WRITEPROTECT's 15 ms; a THP-backed GiB is not split by this.
 */
static int uffd_wp_arm(struct dirty_tracker *t, uint64_t start, uint64_t end)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_WP_MATCHING,
		.start = start,
		.end = end,
	};

	t->stats.ioctls++;
	if (ioctl(t->pagemap_fd, PAGEMAP_SCAN, &arg) < 0)
		return -errno;
	return 0;
}

static int uffd_wp_start(struct dirty_tracker *t, const struct dirty_track_args *a)
{
	struct dirty_range *r;
	size_t i;
	int ret;

	tracker_reset(t, &uffd_wp_tracker_ops, a);
	t->uffd = a->uffd;
	if (t->uffd < 0) {
		pr_err("uffd-wp tracker for pid %d: no userfaultfd given", a->pid);
		return -EBADF;
	}
	ret = copy_ranges(t, a);
	if (ret)
		goto err;
	ret = uffd_wp_api(t);
	if (ret)
		goto err;
	ret = t->pagemap_fd = open_proc(a->pid, "pagemap", O_RDONLY);
	if (ret < 0)
		goto err;
	for (i = 0; i < t->nr_ranges; i++) {
		r = &t->ranges[i];
		ret = uffd_wp_register(t, r->start, r->end);
		if (ret) {
			errno = -ret;
			pr_perror("UFFDIO_REGISTER(WP) pid %d %#llx-%#llx", t->pid,
				  (unsigned long long)r->start,
				  (unsigned long long)r->end);
			goto err;
		}
		ret = uffd_wp_arm(t, r->start, r->end);
		if (ret) {
			errno = -ret;
			pr_perror("PAGEMAP_SCAN(WP_MATCHING) pid %d %#llx-%#llx",
				  t->pid, (unsigned long long)r->start,
				  (unsigned long long)r->end);
			goto err;
		}
	}
	ret = alloc_vec(t);
	if (ret)
		goto err;
	pr_debug("uffd-wp: tracking %llu pages of pid %d in %zu ranges",
		 (unsigned long long)t->stats.tracked_pages, a->pid,
		 t->nr_ranges);
	return 0;
err:
	tracker_release(t);
	return ret;
}

static int uffd_wp_resume(struct dirty_tracker *t, const struct dirty_track_args *a)
{
	int ret;

	tracker_reset(t, &uffd_wp_tracker_ops, a);
	t->uffd = a->uffd;
	if (t->uffd < 0) {
		pr_err("uffd-wp tracker for pid %d: no userfaultfd given", a->pid);
		return -EBADF;
	}
	ret = copy_ranges(t, a);
	if (!ret) {
		ret = t->pagemap_fd = open_proc(a->pid, "pagemap", O_RDONLY);
		if (ret >= 0)
			ret = alloc_vec(t);
	}
	if (ret < 0) {
		tracker_release(t);
		return ret;
	}
	pr_debug("uffd-wp: resumed tracking %llu pages of pid %d in %zu ranges",
		 (unsigned long long)t->stats.tracked_pages, a->pid,
		 t->nr_ranges);
	return 0;
}

/*
 * A VMA without async uffd-wp inside a tracked range: the target mapped
 * (or mremap'ed) it there after start. Report all of it as written and
 * adopt it - register and arm it - so from the next collect on only its
 * writes are reported. A VMA the kernel will not register (VM_PFNMAP...)
 * is simply reported whole every time: over-reporting is safe.
 */
static int uffd_wp_adopt(struct dirty_tracker *t, uint64_t start, uint64_t end)
{
	int ret = out_push(t, start, end);

	if (ret)
		return ret;
	t->stats.new_vma_pages += (end - start) / PAGE_SZ;
	if (uffd_wp_register(t, start, end) || uffd_wp_arm(t, start, end))
		pr_debug("uffd-wp: pid %d %#llx-%#llx not trackable (%s), reported whole",
			 t->pid, (unsigned long long)start,
			 (unsigned long long)end, strerror(errno));
	else
		pr_debug("uffd-wp: pid %d %#llx-%#llx: new VMA adopted", t->pid,
			 (unsigned long long)start, (unsigned long long)end);
	return 0;
}

/*
 * Per range, two scans:
 *
 * 1. PAGE_IS_WRITTEN ("pte not write-protected"; an empty pte counts, so
 *    pages the target dropped with MADV_DONTNEED are reported too) with
 *    PM_SCAN_WP_MATCHING: the kernel re-protects each page under the
 *    page-table lock as it reports it, so read and re-arm are one atomic
 *    step per page and a racing write lands in this round or the next.
 *    VMAs without async uffd-wp are skipped silently.
 *
 * 2. No WP flags, category_inverted PAGE_IS_WPALLOWED: the pages of such
 *    VMAs, i.e. mapped since start (see uffd_wp_adopt). Cheap: whole VMAs
 *    are skipped by category (8 us for a tracked GiB).
 *
 * Why not PM_SCAN_CHECK_WPASYNC, which fails with EPERM on such a VMA:
 * the kernel has by then re-protected and copied out the pages of the
 * VMAs before it, but an error return gives no count, so those writes
 * would be lost (measured, 6.18).
 */
static int uffd_wp_collect(struct dirty_tracker *t, struct page_region **out,
			   size_t *n)
{
	static const struct scan_req written = {
		.flags = PM_SCAN_WP_MATCHING,
		.mask = PAGE_IS_WRITTEN,
		.emit = out_push,
	};
	static const struct scan_req untracked = {
		.inverted = PAGE_IS_WPALLOWED,
		.mask = PAGE_IS_WPALLOWED,
		.emit = uffd_wp_adopt,
	};
	size_t i;
	int ret;

	collect_begin(t);
	for (i = 0; i < t->nr_ranges; i++) {
		const struct dirty_range *r = &t->ranges[i];

		ret = scan_range(t, r->start, r->end, &written);
		if (!ret)
			ret = scan_range(t, r->start, r->end, &untracked);
		if (ret)
			return ret;
	}
	collect_end(t, out, n);
	return 0;
}

static void tracker_stop(struct dirty_tracker *t)
{
	tracker_release(t);
}

const struct dirty_tracker_ops uffd_wp_tracker_ops = {
	.name = "uffd-wp",
	.start = uffd_wp_start,
	.resume = uffd_wp_resume,
	.collect = uffd_wp_collect,
	.stop = tracker_stop,
};

/* ---- soft-dirty --------------------------------------------------------
 * Untested on kernels without CONFIG_MEM_SOFT_DIRTY (this project's machine
 * kind): there the code runs and reports nothing, as the bit never sets.
 */

static int soft_dirty_clear(struct dirty_tracker *t)
{
	if (pwrite(t->clear_refs_fd, "4", 1, 0) != 1) {
		pr_perror("write /proc/%d/clear_refs", t->pid);
		return -errno;
	}
	return 0;
}

/* PAGEMAP_SCAN is Linux 6.7; older kernels answer ENOTTY. */
static bool pagemap_scan_works(struct dirty_tracker *t)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = t->ranges[0].start,
		.end = t->ranges[0].start + PAGE_SZ,
		.vec = (uintptr_t)t->vec,
		.vec_len = 1,
		.category_anyof_mask = PAGE_IS_SOFT_DIRTY,
		.return_mask = PAGE_IS_SOFT_DIRTY,
	};

	return ioctl(t->pagemap_fd, PAGEMAP_SCAN, &arg) >= 0;
}

/* The bits set since the last clear are the writes: only open the files. */
static int soft_dirty_resume(struct dirty_tracker *t, const struct dirty_track_args *a)
{
	int ret;

	tracker_reset(t, &soft_dirty_tracker_ops, a);
	ret = copy_ranges(t, a);
	if (ret)
		goto err;
	ret = t->pagemap_fd = open_proc(a->pid, "pagemap", O_RDONLY);
	if (ret < 0)
		goto err;
	ret = t->clear_refs_fd = open_proc(a->pid, "clear_refs", O_WRONLY);
	if (ret < 0)
		goto err;
	ret = alloc_vec(t);
	if (ret)
		goto err;
	t->scan_ioctl = pagemap_scan_works(t);
	return 0;
err:
	tracker_release(t);
	return ret;
}

/* resume's files, and the bits cleared: writes from now on */
static int soft_dirty_start(struct dirty_tracker *t, const struct dirty_track_args *a)
{
	int ret = soft_dirty_resume(t, a);

	if (ret)
		return ret;
	ret = soft_dirty_clear(t);
	if (ret)
		tracker_release(t);
	return ret;
}

/* Fallback for pre-6.7 kernels: 8 bytes of pagemap per page, bit 55. */
static int soft_dirty_read_range(struct dirty_tracker *t, uint64_t start,
				 uint64_t end)
{
	uint64_t addr = start;

	if (!t->pme) {
		t->pme = malloc(PME_BATCH * sizeof(*t->pme));
		if (!t->pme)
			return -ENOMEM;
	}
	while (addr < end) {
		uint64_t npages = (end - addr) / PAGE_SZ, i;
		ssize_t got;

		if (npages > PME_BATCH)
			npages = PME_BATCH;
		got = pread(t->pagemap_fd, t->pme, npages * sizeof(*t->pme),
			    addr / PAGE_SZ * sizeof(*t->pme));
		if (got <= 0) {
			pr_perror("read /proc/%d/pagemap at %#llx", t->pid,
				  (unsigned long long)addr);
			return got ? -errno : -EIO;
		}
		npages = got / sizeof(*t->pme);
		for (i = 0; i < npages; i++) {
			uint64_t va = addr + i * PAGE_SZ;
			int err;

			if (!(t->pme[i] & PME_SOFT_DIRTY))
				continue;
			err = out_push(t, va, va + PAGE_SZ);
			if (err)
				return err;
		}
		addr += npages * PAGE_SZ;
	}
	return 0;
}

/*
 * Read the soft-dirty pages, then clear: two steps, so the caller keeps
 * the target frozen across collect (see dirty.h). PAGEMAP_SCAN with
 * PAGE_IS_SOFT_DIRTY (no WP flags: it only reads) when the kernel has it,
 * else the pagemap file.
 */
static const struct scan_req soft_dirty_req = {
	.mask = PAGE_IS_SOFT_DIRTY,
	.emit = out_push,
};

static int soft_dirty_collect(struct dirty_tracker *t, struct page_region **out,
			      size_t *n)
{
	size_t i;
	int ret = 0;

	collect_begin(t);
	for (i = 0; i < t->nr_ranges && !ret; i++) {
		const struct dirty_range *r = &t->ranges[i];

		if (t->scan_ioctl)
			ret = scan_range(t, r->start, r->end, &soft_dirty_req);
		else
			ret = soft_dirty_read_range(t, r->start, r->end);
	}
	if (ret)
		return ret;
	ret = soft_dirty_clear(t);
	if (ret)
		return ret;
	collect_end(t, out, n);
	return 0;
}

const struct dirty_tracker_ops soft_dirty_tracker_ops = {
	.name = "soft-dirty",
	.start = soft_dirty_start,
	.resume = soft_dirty_resume,
	.collect = soft_dirty_collect,
	.stop = tracker_stop,
};

/* ---- choice and wrappers ---------------------------------------------- */

const struct dirty_tracker_ops *dirty_tracker_pick(const struct kernel_features *kf)
{
	/* uffd-wp first: exact, atomic re-arm, no freeze needed. */
	if (kf->uffd_wp_async && kf->pagemap_scan)
		return &uffd_wp_tracker_ops;
	if (kf->soft_dirty)
		return &soft_dirty_tracker_ops;
	return NULL;
}

int dirty_tracker_start(struct dirty_tracker *t, const struct dirty_tracker_ops *ops,
			const struct dirty_track_args *a)
{
	return ops->start(t, a);
}

int dirty_tracker_resume(struct dirty_tracker *t, const struct dirty_tracker_ops *ops,
			 const struct dirty_track_args *a)
{
	return ops->resume(t, a);
}

const struct dirty_range *dirty_tracker_ranges(const struct dirty_tracker *t,
					       size_t *n)
{
	*n = t->nr_ranges;
	return t->ranges;
}

const struct dirty_tracker_ops *dirty_tracker_by_name(const char *name)
{
	if (!strcmp(name, uffd_wp_tracker_ops.name))
		return &uffd_wp_tracker_ops;
	if (!strcmp(name, soft_dirty_tracker_ops.name))
		return &soft_dirty_tracker_ops;
	return NULL;
}

int dirty_tracker_collect(struct dirty_tracker *t, struct page_region **out,
			  size_t *n)
{
	return t->ops->collect(t, out, n);
}

void dirty_tracker_stop(struct dirty_tracker *t)
{
	if (t->ops)
		t->ops->stop(t);
}

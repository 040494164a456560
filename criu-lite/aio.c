// SPDX-License-Identifier: GPL-2.0
/*
 * AIO rings (aio.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "aio.h"
#include "inject.h"
#include "log.h"

#define AIO_RING_MAGIC	0xa10a10a1
#define IO_EVENT_SIZE	32	/* struct io_event */

/* The ring's header, as the kernel lays it out (fs/aio.c). */
struct aio_ring_head {
	uint32_t id, nr, head, tail;
	uint32_t magic, compat_features, incompat_features, header_length;
};

static int read_ring(pid_t pid, uint64_t addr, struct aio_ring_head *h)
{
	return remote_read(pid, addr, h, sizeof(*h));
}

const char *aio_ring_refusal(pid_t pid, const struct vma_info *v)
{
	struct aio_ring_head h;

	if (read_ring(pid, v->start, &h))
		return "AIO ring that can't be read";
	if (h.magic != AIO_RING_MAGIC)
		return "AIO ring without its magic (not an io_setup ring?)";
	if (h.head != h.tail)
		return "AIO ring with completed events not read yet "
		       "(io_getevents them first; not supported)";
	if (h.header_length != sizeof(h) ||
	    (uint64_t)sizeof(h) + (uint64_t)h.nr * IO_EVENT_SIZE >
	    v->end - v->start)
		return "AIO ring of an unknown layout";
	return NULL;
}

int mm_fill_aio(MmEntry *mm, pid_t pid)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		VmaEntry *e = mm->vmas[i];
		struct aio_ring_head h;

		if (e->kind != VMA_KIND__VMA_AIO)
			continue;
		if (read_ring(pid, e->start, &h) || h.magic != AIO_RING_MAGIC ||
		    h.head != h.tail) {
			pr_err("pid %d: AIO ring at %#lx: unreadable, or events "
			       "pending", pid, (long)e->start);
			return -1;
		}
		e->has_aio_nr = true;
		e->aio_nr = h.nr;
	}
	return 0;
}

/*
 * io_setup doubles the number asked (and adds 2) before sizing the ring;
 * asking (nr - 2) / 2 gives a ring of nr events again - unless this
 * machine has so many CPUs that io_setup asks for more (4 per CPU), which
 * the size check below catches.
 */
int restore_aio_ring(struct mm_restore *m, const VmaEntry *v)
{
	uint64_t len = v->end - v->start, ctx = 0;
	struct aio_ring_head h;
	long ret;

	if (!v->has_aio_nr || v->aio_nr < 2) {
		pr_err("mm-%d.img: AIO ring at %#lx without its size", m->pid,
		       (long)v->start);
		return -1;
	}
	if (remote_write(m->pid, m->scratch, &ctx, sizeof(ctx)))
		return -1;
	ret = rcall(m->r, __NR_io_setup, (v->aio_nr - 2) / 2, m->scratch,
		    0, 0, 0, 0);
	if (ret || remote_read(m->pid, m->scratch, &ctx, sizeof(ctx)) ||
	    read_ring(m->pid, ctx, &h)) {
		pr_err("restore %d: io_setup(%u) for the AIO ring at %#lx: %s",
		       m->pid, (v->aio_nr - 2) / 2, (long)v->start,
		       ret ? strerror(-ret) : "ring not readable");
		return -1;
	}
	if (h.nr != v->aio_nr) {
		pr_err("restore %d: io_setup made a ring of %u events, not %u "
		       "(more CPUs here?)", m->pid, h.nr, v->aio_nr);
		return -1;
	}
	ret = rcall(m->r, __NR_mremap, ctx, len, len,
		    MREMAP_MAYMOVE | MREMAP_FIXED, v->start, 0);
	if (ret != (long)v->start) {
		pr_err("restore %d: move the AIO ring %#lx to %#lx: %s", m->pid,
		       (long)ctx, (long)v->start,
		       ret < 0 ? strerror(-ret) : "moved elsewhere");
		return -1;
	}
	return 0;
}

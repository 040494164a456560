// SPDX-License-Identifier: GPL-2.0
/* The frozen VMAs of a pre-copied process without waiting for smaps
 * (vma-guess.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "seize.h"
#include "vma-guess.h"

/* The same mapping: paths are interned (proc_intern_path), one pointer
 * per path. */
static bool same_file(const struct vma_info *a, const struct vma_info *b)
{
	return a->path == b->path && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && a->ino == b->ino &&
	       a->deleted == b->deleted && a->prot == b->prot &&
	       a->shared == b->shared;
}

static bool same_vma(const struct vma_info *a, const struct vma_info *b)
{
	return a->start == b->start && a->end == b->end &&
	       a->pgoff == b->pgoff && same_file(a, b);
}

size_t vma_guess_flags(struct vma_info *now, size_t n,
		       const struct vma_info *before, size_t nb)
{
	size_t same = 0, j = 0;

	for (size_t i = 0; i < n; i++) {
		struct vma_info *v = &now[i];

		v->vmflags = 0;
		/* the first of before that ends after v starts */
		while (j < nb && before[j].end <= v->start)
			j++;
		for (size_t k = j; k < nb && before[k].start < v->end; k++) {
			if (same_vma(v, &before[k])) {
				v->vmflags = before[k].vmflags;
				same++;
				break;
			}
			if (same_file(v, &before[k]) && !v->vmflags)
				v->vmflags = before[k].vmflags;
		}
	}
	return same;
}

bool vma_same_layout(const struct vma_info *used, size_t n,
		     const struct vma_info *read, size_t nr, char *why,
		     size_t len)
{
	for (size_t i = 0; i < n || i < nr; i++) {
		const struct vma_info *u = i < n ? &used[i] : NULL;
		const struct vma_info *r = i < nr ? &read[i] : NULL;

		if (!u || !r || !same_vma(u, r)) {
			const struct vma_info *e = u ? u : r;

			snprintf(why, len, "VMA [%#lx, %#lx) %s: %s",
				 (long)e->start, (long)e->end, e->path,
				 !r ? "gone from smaps" :
				 !u ? "not in maps" :
				 "another VMA in smaps than in maps");
			return false;
		}
		if ((u->vmflags ^ r->vmflags) & VMF_LAYOUT) {
			snprintf(why, len, "VMA [%#lx, %#lx) %s: VmFlags %#x, "
				 "the dump went by %#x", (long)u->start,
				 (long)u->end, u->path, r->vmflags & VMF_LAYOUT,
				 u->vmflags & VMF_LAYOUT);
			return false;
		}
	}
	return true;
}

/* ---- the reading thread ---- */

struct vma_read {
	pid_t pid;
	int state;		/* 0 not yet, 1 read, -1 failed */
	bool taken;
	struct vma_info *v;
	size_t n;
	uint64_t ns;
};

struct vma_reader {
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vma_read *r;
	size_t nr;
};

static void *reader_run(void *arg)
{
	struct vma_reader *vr = arg;

	for (size_t i = 0; i < vr->nr; i++) {
		struct vma_info *v = NULL;
		size_t n = 0;
		uint64_t t = now_ns();
		int ret = proc_read_vmas(vr->r[i].pid, &v, &n);

		pthread_mutex_lock(&vr->lock);
		vr->r[i].v = v;
		vr->r[i].n = n;
		vr->r[i].ns = now_ns() - t;
		vr->r[i].state = ret ? -1 : 1;
		pthread_cond_broadcast(&vr->cond);
		pthread_mutex_unlock(&vr->lock);
	}
	return NULL;
}

struct vma_reader *vma_reader_start(const pid_t *pids, size_t n)
{
	struct vma_reader *vr = calloc(1, sizeof(*vr));

	if (!vr || !n)
		goto fail;
	vr->r = calloc(n, sizeof(*vr->r));
	if (!vr->r)
		goto fail;
	vr->nr = n;
	for (size_t i = 0; i < n; i++)
		vr->r[i].pid = pids[i];
	pthread_mutex_init(&vr->lock, NULL);
	pthread_cond_init(&vr->cond, NULL);
	if (!pthread_create(&vr->th, NULL, reader_run, vr))
		return vr;
	pthread_mutex_destroy(&vr->lock);
	pthread_cond_destroy(&vr->cond);
fail:
	if (vr)
		free(vr->r);
	free(vr);
	return NULL;
}

int vma_reader_take(struct vma_reader *vr, pid_t pid, struct vma_info **v,
		    size_t *n, uint64_t *ns, uint64_t *waited)
{
	uint64_t t = now_ns();
	struct vma_read *r = NULL;
	int ret = -1;

	for (size_t i = 0; vr && i < vr->nr; i++)
		if (vr->r[i].pid == pid && !vr->r[i].taken)
			r = &vr->r[i];
	if (!r)
		return -1;
	pthread_mutex_lock(&vr->lock);
	while (!r->state)
		pthread_cond_wait(&vr->cond, &vr->lock);
	r->taken = true;
	if (r->state > 0) {
		*v = r->v;
		*n = r->n;
		r->v = NULL;
		ret = 0;
	}
	*ns = r->ns;
	pthread_mutex_unlock(&vr->lock);
	*waited = now_ns() - t;
	return ret;
}

void vma_reader_stop(struct vma_reader *vr)
{
	if (!vr)
		return;
	pthread_join(vr->th, NULL);
	for (size_t i = 0; i < vr->nr; i++)
		free(vr->r[i].v);
	pthread_mutex_destroy(&vr->lock);
	pthread_cond_destroy(&vr->cond);
	free(vr->r);
	free(vr);
}

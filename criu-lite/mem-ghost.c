// SPDX-License-Identifier: GPL-2.0
/*
 * Mappings of files that exist only while open: a file unlinked after it
 * was mapped (MAP_PRIVATE or MAP_SHARED) and a memfd mapped privately.
 * (A memfd mapped shared is shared memory: mem.c stores its pages.)
 *
 * Dump: when the process holds an fd on the same file, the VMA names it
 * (map_fd) and is mapped through it again: the restored fd and mapping
 * stay one file. Otherwise the file is stored once per tree in the mm
 * image of the first process that maps it (mm_entry.unlinked_files, the
 * ghost format of fd-ghost.c: inline up to FD_INLINE_MAX, else
 * ghost-<id>.img), read through /proc/PID/map_files/ (the very file
 * mapped; opening it needs CAP_SYS_ADMIN, as the dump has).
 *
 * Restore: criu-lite makes each stored file once (a memfd of the same
 * name; a deleted file created at its path and unlinked at once, or an
 * O_TMPFILE where the name is taken), fills it and keeps it open for the
 * whole restore; a puppet maps it through /proc/<criu-lite>/fd/N, with
 * the same offset and protection, and its copied-on-write pages are then
 * written on top as for any private file mapping. Every process of the
 * tree that maps the file maps that one file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-ops.h"
#include "log.h"
#include "mem-ghost.h"

/* st_dev of a VMA's file, from its maps "major:minor" */
static uint64_t vma_st_dev(const VmaEntry *v)
{
	return makedev(v->dev >> 32, v->dev & 0xffffffffULL);
}

static bool entry_is_file_of(const FdEntry *e, const VmaEntry *v)
{
	return e->id == v->ino && e->dev == vma_st_dev(v);
}

/* ---- dump ---- */

/* The lowest fd of pid open on the file (dev, ino), or -1. */
static int fd_on_file(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64];
	struct dirent *de;
	int found = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char fdp[96];
		struct stat st;
		int n;

		if (de->d_name[0] == '.')
			continue;
		n = atoi(de->d_name);
		snprintf(fdp, sizeof(fdp), "%s/%d", path, n);
		if (!stat(fdp, &st) && st.st_dev == dev && st.st_ino == ino &&
		    (found < 0 || n < found))
			found = n;
	}
	closedir(d);
	return found;
}

static int open_mapped(pid_t pid, const VmaEntry *v)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid,
		 (unsigned long)v->start, (unsigned long)v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		pr_perror("pid %d vma [%#lx, %#lx) %s (deleted): open %s", pid,
			  (long)v->start, (long)v->end, v->path, path);
	return fd;
}

static int store_file(struct fd_dump_ctx *fc, pid_t pid, MmEntry *mm,
		      const VmaEntry *v, int fd)
{
	FdEntry *e = malloc(sizeof(*e)), **nv;

	nv = realloc(mm->unlinked_files, (mm->n_unlinked_files + 1) *
		     sizeof(*nv));
	if (!e || !nv) {
		free(e);
		return -1;
	}
	mm->unlinked_files = nv;
	fd_entry__init(e);
	if (fd_dump_unlinked_file(fc, fd, v->path, e)) {
		pr_perror("pid %d vma [%#lx, %#lx): can't store the contents "
			  "of %s (deleted)", pid, (long)v->start, (long)v->end,
			  v->path);
		fd_entry__free_unpacked(e, NULL);
		return -1;
	}
	mm->unlinked_files[mm->n_unlinked_files++] = e;
	pr_debug("pid %d: mapped %s (deleted), %lu bytes, stored%s", pid,
		 v->path, (unsigned long)e->size, e->has_ghost_id ?
		 " as a ghost image" : "");
	return 0;
}

static int dump_one(struct fd_dump_ctx *fc, pid_t pid, MmEntry *mm,
		    VmaEntry *v)
{
	struct stat st;
	int fd = open_mapped(pid, v), ret = 0, own;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		close(fd);
		return -1;
	}
	own = fd_on_file(pid, st.st_dev, st.st_ino);
	if (own >= 0) {
		v->has_map_fd = true;
		v->map_fd = own;
	} else if (!fd_mapping_seen(fc, st.st_dev, st.st_ino)) {
		ret = store_file(fc, pid, mm, v, fd);
	}
	close(fd);
	return ret;
}

int mm_dump_unlinked(struct fd_dump_ctx *fc, pid_t pid, MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->unlinked && dump_one(fc, pid, mm, mm->vmas[i]))
			return -1;
	return 0;
}

void mm_free_unlinked(MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_unlinked_files; i++)
		fd_entry__free_unpacked(mm->unlinked_files[i], NULL);
	free(mm->unlinked_files);
	mm->unlinked_files = NULL;
	mm->n_unlinked_files = 0;
}

/* ---- restore ---- */

int ghost_maps_add(struct ghost_maps *t, const MmEntry *mm, unsigned pid)
{
	for (size_t i = 0; i < mm->n_unlinked_files; i++) {
		const FdEntry *e = mm->unlinked_files[i];
		struct ghost_map *nv;

		if ((e->type != FD_TYPE__FD_MEMFD &&
		     e->type != FD_TYPE__FD_DELETED) || !e->has_id ||
		    !e->has_dev || !e->path) {
			pr_err("mm-%u.img: mapped file %zu is not a deleted "
			       "file or memfd with its inode", pid, i);
			return -1;
		}
		if (fd_check_ghost(t->dirfd, e))
			return -1;
		nv = realloc(t->v, (t->nr + 1) * sizeof(*nv));
		if (!nv)
			return -1;
		t->v = nv;
		t->v[t->nr++] = (struct ghost_map){ e, -1 };
	}
	/* every unlinked VMA has its file: through an fd or stored */
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		bool found = v->has_map_fd;

		for (size_t k = 0; !found && v->unlinked && k < t->nr; k++)
			found = entry_is_file_of(t->v[k].e, v);
		if (v->unlinked && !found) {
			pr_err("mm-%u.img: the deleted file %s mapped at %#lx "
			       "was not stored (no entry for inode %lu)", pid,
			       v->path, (long)v->start, (unsigned long)v->ino);
			return -1;
		}
	}
	return 0;
}

void ghost_maps_close(struct ghost_maps *t)
{
	for (size_t i = 0; i < t->nr; i++)
		if (t->v[i].fd >= 0)
			close(t->v[i].fd);
	free(t->v);
	t->v = NULL;
	t->nr = 0;
}

/* criu-lite's fd on the made file of v, made on first use. */
static int made_file_of(struct ghost_maps *t, const VmaEntry *v)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct ghost_map *g = &t->v[i];

		if (!entry_is_file_of(g->e, v))
			continue;
		if (g->fd < 0) {
			g->fd = fd_make_unlinked(t->dirfd, g->e);
			if (g->fd >= 0)
				pr_debug("made %s (deleted) for its mappings "
					 "(%s)", g->e->path,
					 g->e->type == FD_TYPE__FD_MEMFD ?
					 "memfd" : "file");
		}
		return g->fd;
	}
	pr_err("no stored file for the deleted %s mapped at %#lx", v->path,
	       (long)v->start);
	return -1;
}

int ghost_map_path(struct ghost_maps *t, const VmaEntry *v, char *path,
		   size_t len)
{
	int fd;

	if (v->has_map_fd) {
		snprintf(path, len, "/proc/self/fd/%u", v->map_fd);
		return 0;
	}
	fd = made_file_of(t, v);
	if (fd < 0)
		return -1;
	snprintf(path, len, "/proc/%d/fd/%d", getpid(), fd);
	return 0;
}

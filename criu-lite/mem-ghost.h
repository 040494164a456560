/* SPDX-License-Identifier: GPL-2.0 */
/* Mappings of deleted files and of privately mapped memfds (mem-ghost.c). */
#ifndef CRIU_LITE_MEM_GHOST_H
#define CRIU_LITE_MEM_GHOST_H

#include <stddef.h>
#include <sys/types.h>

#include "mm.pb-c.h"

struct fd_dump_ctx;

/* Dump: for every VMA marked unlinked, the process' fd on its file
 * (map_fd), or its file stored into mm->unlinked_files (once per tree).
 * 0 or -1 (logged). */
int mm_dump_unlinked(struct fd_dump_ctx *fc, pid_t pid, MmEntry *mm);
void mm_free_unlinked(MmEntry *mm);

/* Restore: the stored files of the tree, each made once by criu-lite on
 * first use and kept open until the restore ends. */
struct ghost_map {
	const FdEntry *e;	/* in an mm image the restore keeps loaded */
	int fd;			/* criu-lite's, -1 until made */
};

struct ghost_maps {
	int dirfd;		/* images (ghost-<id>.img) */
	struct ghost_map *v;
	size_t nr;
};

/* At load: adds mm's stored files (their ghost images checked) and
 * checks that every unlinked VMA has its file. 0 or -1 (logged). */
int ghost_maps_add(struct ghost_maps *t, const MmEntry *mm, unsigned pid);
void ghost_maps_close(struct ghost_maps *t);
/* The path a puppet opens to map the file of the unlinked VMA v (making
 * it first if needed). 0 or -1 (logged). */
int ghost_map_path(struct ghost_maps *t, const VmaEntry *v, char *path,
		   size_t len);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * Test tool: rewrites one field of an images directory's images, as a
 * well-formed image (valid checksum) that says something wrong, to reach
 * restore's checks behind the file checksums:
 *   imgedit DIR kernel RELEASE      inventory: "from another kernel"
 *   imgedit DIR xsave-add BITMASK   inventory: "from another CPU"
 *   imgedit DIR format N            inventory (0: no format field, as
 *                                   format 1 wrote)
 *   imgedit DIR pstree-dup          pstree: the root's leader listed twice
 *   imgedit DIR pstree-drop         pstree: the root loses its last thread
 *   imgedit DIR core-tid TID NEW    core-TID.img says it holds thread NEW
 *   imgedit DIR fd-drop-path PID FD fdinfo: a file entry without its path
 *   imgedit DIR codec N             inventory: pages compressed with codec N
 *   imgedit DIR frame-grow I        pages-index-1.img: frame I says it holds
 *                                   one page more (the frames after it move
 *                                   along, so the index stays contiguous)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdinfo.pb-c.h"
#include "image.h"
#include "page-frames.h"
#include "pagemap.h"
#include "core.pb-c.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"

static int edit_inventory(int dirfd, const char *what, const char *arg)
{
	InventoryEntry *inv;

	inv = (InventoryEntry *)img_read_one(dirfd, IMG_INVENTORY, 0);
	if (!inv)
		return 1;
	if (!strcmp(what, "kernel")) {
		inv->kernel_release = (char *)arg;
	} else if (!strcmp(what, "xsave-add")) {
		inv->xsave_features |= strtoull(arg, NULL, 0);
	} else if (!strcmp(what, "format")) {
		inv->format = strtoul(arg, NULL, 0);
		inv->has_format = inv->format != 0;
	} else if (!strcmp(what, "codec")) {
		inv->pages_codec = strtoul(arg, NULL, 0);
		inv->has_pages_codec = true;
	} else {
		return 2;
	}
	return img_write_one(dirfd, IMG_INVENTORY, 0, &inv->base) ? 1 : 0;
}

/* Rewrites pstree.img with its first entry's thread list changed. */
static int edit_pstree(int dirfd, bool dup)
{
	struct cr_img *in = img_open_read(dirfd, IMG_PSTREE, 0, false);
	PstreeEntry *pes[4096];
	uint32_t threads[4096];
	ProtobufCMessage *m;
	struct cr_img *out;
	size_t n = 0;
	int ret = 0;

	if (!in)
		return 1;
	while (n < 4096 && img_read_msg(in, &m) == 1)
		pes[n++] = (PstreeEntry *)m;
	img_close(in);
	if (!n || pes[0]->n_threads >= 4096 || (!dup && pes[0]->n_threads < 2))
		return 1;
	memcpy(threads, pes[0]->threads, pes[0]->n_threads * sizeof(*threads));
	if (dup)
		threads[pes[0]->n_threads++] = threads[0];
	else
		pes[0]->n_threads--;
	pes[0]->threads = threads;
	out = img_open_write(dirfd, IMG_PSTREE, 0);
	for (size_t i = 0; out && i < n; i++)
		ret |= img_write_msg(out, &pes[i]->base);
	return !out || ret || img_close(out) ? 1 : 0;
}

static int edit_core(int dirfd, unsigned tid, unsigned new_tid)
{
	CoreEntry *ce = (CoreEntry *)img_read_one(dirfd, IMG_CORE, tid);

	if (!ce)
		return 1;
	ce->tid = new_tid;
	return img_write_one(dirfd, IMG_CORE, tid, &ce->base) ? 1 : 0;
}

/* Rewrites fdinfo-PID.img with fd's path left out. */
static int fd_drop_path(int dirfd, unsigned pid, unsigned fd)
{
	struct cr_img *in = img_open_read(dirfd, IMG_FDINFO, pid, false), *out;
	ProtobufCMessage *msgs[1024];
	int n = 0, ret = 0, found = 0;

	if (!in)
		return 1;
	while (n < 1024 && img_read_msg(in, &msgs[n]) == 1) {
		FdEntry *e = (FdEntry *)msgs[n++];

		if (e->fd == fd) {
			e->path = NULL;
			found = 1;
		}
	}
	img_close(in);
	out = img_open_write(dirfd, IMG_FDINFO, pid);
	for (int i = 0; out && i < n; i++)
		ret |= img_write_msg(out, msgs[i]);
	if (!out || img_close(out) || ret || !found) {
		fprintf(stderr, "imgedit: fd %u of %u not rewritten\n", fd, pid);
		return 1;
	}
	return 0;
}

static int frame_grow(int dirfd, size_t i)
{
	struct page_frame *f;
	size_t n;
	int ret;

	if (frames_read(dirfd, 1, &f, &n))
		return 1;
	if (i >= n) {
		fprintf(stderr, "imgedit: no frame %zu (%zu frames)\n", i, n);
		free(f);
		return 1;
	}
	f[i].len += PAGE_SZ;
	for (size_t k = i + 1; k < n; k++)
		f[k].off += PAGE_SZ;
	ret = frames_write(dirfd, 1, f, n) ? 1 : 0;
	free(f);
	return ret;
}

int main(int argc, char **argv)
{
	int dirfd;

	if (argc < 3) {
		fprintf(stderr, "usage: imgedit DIR kernel RELEASE | xsave-add MASK | "
			"format N | pstree-dup | pstree-drop | core-tid TID NEW | "
			"fd-drop-path PID FD | codec N | frame-grow I\n");
		return 2;
	}
	dirfd = open(argv[1], O_DIRECTORY | O_RDONLY);
	if (dirfd < 0) {
		perror(argv[1]);
		return 1;
	}
	if (argc == 5 && !strcmp(argv[2], "fd-drop-path"))
		return fd_drop_path(dirfd, strtoul(argv[3], NULL, 10),
				    strtoul(argv[4], NULL, 10));
	if (!strcmp(argv[2], "pstree-dup") || !strcmp(argv[2], "pstree-drop"))
		return edit_pstree(dirfd, !strcmp(argv[2], "pstree-dup"));
	if (!strcmp(argv[2], "frame-grow") && argc == 4)
		return frame_grow(dirfd, strtoul(argv[3], NULL, 0));
	if (!strcmp(argv[2], "core-tid") && argc == 5)
		return edit_core(dirfd, strtoul(argv[3], NULL, 0),
				 strtoul(argv[4], NULL, 0));
	if (argc != 4)
		return 2;
	return edit_inventory(dirfd, argv[2], argv[3]);
}

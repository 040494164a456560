// SPDX-License-Identifier: GPL-2.0
/*
 * Test tool: rewrites one field of an images directory's inventory.img,
 * to make images "from another kernel" or "from another CPU", or drops the
 * path of one fd entry (a file entry that can't be reopened).
 *   imgedit DIR kernel RELEASE
 *   imgedit DIR xsave-add BITMASK
 *   imgedit DIR fd-drop-path PID FD
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdinfo.pb-c.h"
#include "image.h"
#include "inventory.pb-c.h"

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

int main(int argc, char **argv)
{
	InventoryEntry *inv;
	int dirfd, ret;

	if (argc == 5 && !strcmp(argv[2], "fd-drop-path")) {
		dirfd = open(argv[1], O_DIRECTORY | O_RDONLY);
		if (dirfd < 0) {
			perror(argv[1]);
			return 1;
		}
		return fd_drop_path(dirfd, strtoul(argv[3], NULL, 10),
				    strtoul(argv[4], NULL, 10));
	}
	if (argc != 4) {
		fprintf(stderr, "usage: imgedit DIR kernel RELEASE | xsave-add MASK"
			" | fd-drop-path PID FD\n");
		return 2;
	}
	dirfd = open(argv[1], O_DIRECTORY | O_RDONLY);
	if (dirfd < 0) {
		perror(argv[1]);
		return 1;
	}
	inv = (InventoryEntry *)img_read_one(dirfd, IMG_INVENTORY, 0);
	if (!inv)
		return 1;
	if (!strcmp(argv[2], "kernel"))
		inv->kernel_release = argv[3];
	else if (!strcmp(argv[2], "xsave-add"))
		inv->xsave_features |= strtoull(argv[3], NULL, 0);
	else
		return 2;
	ret = img_write_one(dirfd, IMG_INVENTORY, 0, &inv->base);
	return ret ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Test tool: rewrites one field of an images directory's inventory.img,
 * to make images "from another kernel" or "from another CPU".
 *   imgedit DIR kernel RELEASE
 *   imgedit DIR xsave-add BITMASK
 *   imgedit DIR format N      (0: no format field, as format 1 wrote)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "inventory.pb-c.h"

int main(int argc, char **argv)
{
	InventoryEntry *inv;
	int dirfd, ret;

	if (argc != 4) {
		fprintf(stderr, "usage: imgedit DIR kernel RELEASE | xsave-add MASK | format N\n");
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
	else if (!strcmp(argv[2], "format")) {
		inv->format = strtoul(argv[3], NULL, 0);
		inv->has_format = inv->format != 0;
	}
	else
		return 2;
	ret = img_write_one(dirfd, IMG_INVENTORY, 0, &inv->base);
	return ret ? 1 : 0;
}

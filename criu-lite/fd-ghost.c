// SPDX-License-Identifier: GPL-2.0
/*
 * Ghost files: the contents of a file that exists only while open (a
 * deleted file, a memfd), as CRIU keeps them. Small ones (up to
 * FD_INLINE_MAX) travel inside their fdinfo entry; larger ones go into
 * ghost-<id>.img, one entry per data extent piece of up to GHOST_CHUNK
 * bytes (holes found with SEEK_DATA/SEEK_HOLE are not stored, so a large
 * sparse file costs what it holds). The image carries the library's
 * crc32c and id like every other: restore checks each ghost image before
 * anything is created, and refuses a bad one naming it.
 *
 * Why not link the file back instead (linkat of /proc/PID/fd/N into the
 * images directory): the kernel refuses to give a name back to an inode
 * whose link count reached 0 (ENOENT) unless it was made O_TMPFILE, and a
 * memfd lives on another file system (EXDEV). Storing works for both.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fd-ops.h"
#include "log.h"

#define GHOST_CHUNK	(4UL << 20)

static int put_piece(struct cr_img *img, int fd, uint8_t *buf, uint64_t off,
		     size_t len)
{
	FileChunk c = FILE_CHUNK__INIT;
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + got);

		if (n <= 0) {
			pr_perror("read %zu bytes at %lu", len - got,
				  (unsigned long)(off + got));
			return -1;
		}
		got += n;
	}
	c.off = off;
	c.data.data = buf;
	c.data.len = len;
	return img_write_msg(img, &c.base);
}

/* The data extents of fd below size into img, in pieces. */
static int put_extents(struct cr_img *img, int fd, uint64_t size)
{
	uint8_t *buf = malloc(GHOST_CHUNK);
	uint64_t off = 0;
	int ret = 0;

	if (!buf)
		return -1;
	while (!ret && off < size) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0) {		/* no SEEK_DATA here: all of it */
			data = off;
			hole = size;
		} else {
			hole = lseek(fd, data, SEEK_HOLE);
			if (hole < 0 || (uint64_t)hole > size)
				hole = size;
		}
		for (off = data; !ret && off < (uint64_t)hole; off += GHOST_CHUNK)
			ret = put_piece(img, fd, buf, off,
					hole - off < GHOST_CHUNK ? hole - off :
								  GHOST_CHUNK);
		off = hole;
	}
	free(buf);
	return ret;
}

int fd_store_contents(struct fd_dump *d, int fd, uint64_t size, FdEntry *e)
{
	if (fd_store_file(d->fc, fd, size, e))
		return -1;
	if (e->has_ghost_id)
		pr_debug("pid %d fd %d: %lu bytes stored as ghost-%u.img",
			 d->pid, d->fd, (unsigned long)size, e->ghost_id);
	return 0;
}

int fd_store_file(struct fd_dump_ctx *fc, int fd, uint64_t size, FdEntry *e)
{
	struct cr_img *img;
	unsigned id;

	if (size <= FD_INLINE_MAX)
		return fd_dump_contents(fd, size, e);
	id = fd_dump_ghost_id(fc);
	img = img_open_write(fd_dump_dirfd(fc), IMG_GHOST, id);
	if (!img)
		return -1;
	if (put_extents(img, fd, size)) {
		img_discard(img);
		return -1;
	}
	if (img_close(img))
		return -1;
	e->has_size = e->has_ghost_id = true;
	e->size = size;
	e->ghost_id = id;
	return 0;
}

int fd_check_ghost(int dirfd, const FdEntry *e)
{
	struct cr_img *img;

	if (!e->has_ghost_id)
		return 0;
	img = img_open_read(dirfd, IMG_GHOST, e->ghost_id, false);
	if (!img)
		return -1;
	img_discard(img);
	return 0;
}

/* One piece back; hugetlbfs has no write(): through a mapping. */
static int put_back(int fd, const FdEntry *e, const FileChunk *c, uint8_t *map)
{
	if (c->off > e->size || c->data.len > e->size - c->off) {
		pr_err("ghost-%u.img: piece at %lu of %zu bytes is past the "
		       "file's size %lu", e->ghost_id, (unsigned long)c->off,
		       c->data.len, (unsigned long)e->size);
		return -1;
	}
	if (map) {
		memcpy(map + c->off, c->data.data, c->data.len);
		return 0;
	}
	if (pwrite_all(fd, c->data.data, c->data.len, c->off)) {
		pr_perror("write %zu bytes at %lu", c->data.len,
			  (unsigned long)c->off);
		return -1;
	}
	return 0;
}

static int fill_from_ghost(int dirfd, int fd, const FdEntry *e)
{
	struct cr_img *img = img_open_read(dirfd, IMG_GHOST, e->ghost_id, false);
	ProtobufCMessage *m;
	uint8_t *map = NULL;
	int ret = -1, r;

	if (!img)
		return -1;
	if (e->hugetlb && e->size) {
		map = mmap(NULL, e->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		if (map == MAP_FAILED) {
			pr_perror("map %lu bytes to fill", (unsigned long)e->size);
			goto out;
		}
	}
	while ((r = img_read_msg(img, &m)) == 1) {
		r = put_back(fd, e, (FileChunk *)m, map);
		img_free_msg(img, m);
		if (r)
			goto out;
	}
	ret = r;
out:
	if (map && map != MAP_FAILED)
		munmap(map, e->size);
	img_discard(img);
	return ret;
}

int fd_fill_contents(int dirfd, int fd, const FdEntry *e)
{
	if (!e->has_ghost_id)
		return fd_restore_contents(fd, e);
	if (ftruncate(fd, e->size)) {
		pr_perror("ftruncate to %lu", (unsigned long)e->size);
		return -1;
	}
	return fill_from_ghost(dirfd, fd, e);
}

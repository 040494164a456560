/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The image library: a directory of files, each one (format 2)
 *     u32 common magic | u32 type magic | u32 id |
 *     { u32 len | protobuf bytes }* |
 *     u32 tail magic | u32 crc32c of every byte before it
 * except pages-<id>.img, which holds raw 4 KiB pages and no header (its
 * pages are checked against the checksums of the pagemap runs), or, after
 * dump --compress, compressed frames of them (images/page-frames.h).
 * id is the number in the file's name (core-<tid>, mm-<pid>, ...; 0 for
 * inventory, pstree and the stats files): a file renamed or swapped with
 * another of its kind is refused. The checksum is checked when the file
 * is opened, before any entry is decoded. Files are created 0600. Readers
 * name the file and the offset of any problem they find, so a user can
 * tell which image is bad.
 */
#ifndef CRIU_LITE_IMAGE_H
#define CRIU_LITE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <protobuf-c/protobuf-c.h>

#define IMG_COMMON_MAGIC	0x324c5243u	/* "CRL2" little endian */
#define IMG_OLD_MAGIC		0x4c435243u	/* "CRCL": format 1, refused */
#define IMG_TAIL_MAGIC		0x21444e45u	/* "END!" */
#define IMG_HDR_SIZE		12
#define IMG_TAIL_SIZE		8
/* The image format as a whole (inventory.img's format field): 2 added the
 * file header id and checksum trailer, and per-page crc32c checksums in
 * the pagemap. */
#define IMG_FORMAT		2
#define IMG_MAX_ENTRY		(256u << 20)
/* inventory.img's layer_id / parent_id: random, one per dump or pre-dump */
#define IMG_LAYER_ID_LEN	16

enum img_type {
	IMG_INVENTORY,
	IMG_PSTREE,
	IMG_CORE,	/* per tid */
	IMG_MM,		/* per pid */
	IMG_PAGEMAP,	/* per pid */
	IMG_FDINFO,	/* per pid */
	IMG_TASK,	/* per pid */
	IMG_STATS_DUMP,		/* stats-dump: figures of the dump */
	IMG_STATS_RESTORE,	/* stats-restore: of the last restore */
	IMG_PAGES,	/* per id, raw */
	IMG_PAGES_INDEX,	/* per id: frames of compressed pages */
	IMG_GHOST,	/* per id: data extents of a deleted file or memfd */
	IMG_NR_TYPES,
};

struct img_desc {
	const char *name_fmt;	/* "core-%u.img" */
	uint32_t magic;
	const ProtobufCMessageDescriptor *msg;
};

const struct img_desc *img_desc(enum img_type type);
/* Which type a file name is (by its name pattern), or -1. */
int img_type_of_name(const char *name);
int img_type_of_magic(uint32_t magic);

struct cr_img {
	int fd;
	enum img_type type;
	unsigned id;		/* from the header */
	bool writing;
	bool cut;		/* writer: over older bytes, cut at close */
	char path[PATH_MAX];
	/* writer: buffered; reader: the whole file in memory */
	uint8_t *buf;
	size_t len, cap, off;
	size_t end;		/* reader: where the entries end (the trailer) */
	uint32_t crc;		/* writer: crc32c of what was flushed so far */
};

/* Open type (with its id where the name has one) under dirfd.
 * Reading checks both magics, the id and the checksum; a missing file gives
 * NULL with errno ENOENT and no message when quiet_enoent is set. */
struct cr_img *img_open_write(int dirfd, enum img_type type, unsigned id);
/* Writing into fd (taken, closed on error too) from its start; cut: the
 * file may hold more (written ahead to have its page cache), cut to what
 * was written at img_close. */
struct cr_img *img_write_fd(int fd, enum img_type type, unsigned id, bool cut);
struct cr_img *img_open_read(int dirfd, enum img_type type, unsigned id,
			     bool quiet_enoent);
/* Same, for a file named by path (show FILE): type and id are taken from
 * the header. */
struct cr_img *img_open_path(const char *path);
/* Same, for bytes already in memory (copied); path names it in messages. */
struct cr_img *img_open_mem(const void *buf, size_t len, const char *path);

int img_write_msg(struct cr_img *img, const ProtobufCMessage *msg);
/* 1 and *msg set: an entry; 0: end of file; -1: error (logged) */
int img_read_msg(struct cr_img *img, ProtobufCMessage **msg);
void img_free_msg(struct cr_img *img, ProtobufCMessage *msg);
/* Flush and close; returns -1 if anything written was lost (logged). */
int img_close(struct cr_img *img);
/* Close without finishing (after a failure: the file is thrown away). */
void img_discard(struct cr_img *img);

/* Convenience: the only entry of a one-entry image; NULL on error. */
ProtobufCMessage *img_read_one(int dirfd, enum img_type type, unsigned id);
int img_write_one(int dirfd, enum img_type type, unsigned id,
		  const ProtobufCMessage *msg);
/* Every entry of an image into a malloc'ed array (free each with
 * img_free_msg, then the array). -1 on error (logged; a missing file
 * quietly with errno ENOENT when quiet_enoent). */
int img_read_all(int dirfd, enum img_type type, unsigned id,
		 bool quiet_enoent, ProtobufCMessage ***out, size_t *nr);

#endif

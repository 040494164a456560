/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The image library: a directory of files, each one
 *     u32 common magic | u32 type magic | { u32 len | protobuf bytes }*
 * except pages-<id>.img, which holds raw 4 KiB pages and no header.
 * Files are created 0600. Readers name the file and the offset of any
 * problem they find, so a user can tell which image is bad.
 */
#ifndef CRIU_LITE_IMAGE_H
#define CRIU_LITE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <protobuf-c/protobuf-c.h>

#define IMG_COMMON_MAGIC	0x4c435243u	/* "CRCL" little endian */
#define IMG_MAX_ENTRY		(256u << 20)

enum img_type {
	IMG_INVENTORY,
	IMG_PSTREE,
	IMG_CORE,	/* per tid */
	IMG_MM,		/* per pid */
	IMG_PAGEMAP,	/* per pid */
	IMG_FDINFO,	/* per pid */
	IMG_TASK,	/* per pid */
	IMG_PAGES,	/* per id, raw */
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
	bool writing;
	char path[PATH_MAX];
	/* writer: buffered; reader: the whole file in memory */
	uint8_t *buf;
	size_t len, cap, off;
};

/* Open type (with its id where the name has one) under dirfd.
 * Reading checks both magics; a missing file gives NULL with errno ENOENT
 * and no message when quiet_enoent is set. */
struct cr_img *img_open_write(int dirfd, enum img_type type, unsigned id);
struct cr_img *img_open_read(int dirfd, enum img_type type, unsigned id,
			     bool quiet_enoent);
/* Same, for a file named by path (show FILE). */
struct cr_img *img_open_path(const char *path);

int img_write_msg(struct cr_img *img, const ProtobufCMessage *msg);
/* 1 and *msg set: an entry; 0: end of file; -1: error (logged) */
int img_read_msg(struct cr_img *img, ProtobufCMessage **msg);
void img_free_msg(struct cr_img *img, ProtobufCMessage *msg);
/* Flush and close; returns -1 if anything written was lost (logged). */
int img_close(struct cr_img *img);

/* Convenience: the only entry of a one-entry image; NULL on error. */
ProtobufCMessage *img_read_one(int dirfd, enum img_type type, unsigned id);
int img_write_one(int dirfd, enum img_type type, unsigned id,
		  const ProtobufCMessage *msg);

#endif

// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csum.h"
#include "image.h"
#include "log.h"

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "stats.pb-c.h"
#include "task.pb-c.h"

static const struct img_desc descs[IMG_NR_TYPES] = {
	[IMG_INVENTORY] = { "inventory.img", 0x01564e49, &inventory_entry__descriptor },
	[IMG_PSTREE]    = { "pstree.img",    0x02545350, &pstree_entry__descriptor },
	[IMG_CORE]      = { "core-%u.img",   0x03524f43, &core_entry__descriptor },
	[IMG_MM]        = { "mm-%u.img",     0x04004d4d, &mm_entry__descriptor },
	[IMG_PAGEMAP]   = { "pagemap-%u.img", 0x0550414d, &pagemap_entry__descriptor },
	[IMG_FDINFO]    = { "fdinfo-%u.img", 0x06444446, &fd_entry__descriptor },
	[IMG_TASK]      = { "task-%u.img",   0x074b5354, &task_entry__descriptor },
	[IMG_STATS_DUMP]    = { "stats-dump",    0x08554453, &dump_stats_entry__descriptor },
	[IMG_STATS_RESTORE] = { "stats-restore", 0x09455253, &restore_stats_entry__descriptor },
	[IMG_PAGES]     = { "pages-%u.img",  0, NULL },
	[IMG_PAGES_INDEX] = { "pages-index-%u.img", 0x0a584449, &pages_frame__descriptor },
	[IMG_GHOST]     = { "ghost-%u.img",  0x0b54484f, &file_chunk__descriptor },
};

const struct img_desc *img_desc(enum img_type type)
{
	return &descs[type];
}

/* "<prefix><decimal id>.img", the id plain digits that fit in 32 bits */
static bool name_has_id(const char *name, const char *fmt, const char *pct)
{
	size_t plen = pct - fmt;
	const char *p = name + plen;
	uint64_t id = 0;
	size_t digits = 0;

	if (strncmp(name, fmt, plen))
		return false;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		id = id * 10 + (*p - '0');
		if (id > UINT32_MAX)
			return false;
	}
	return digits && !strcmp(p, ".img");
}

int img_type_of_name(const char *name)
{
	for (int t = 0; t < IMG_NR_TYPES; t++) {
		const char *fmt = descs[t].name_fmt;
		const char *pct = strchr(fmt, '%');

		if (pct ? name_has_id(name, fmt, pct) : !strcmp(name, fmt))
			return t;
	}
	return -1;
}

int img_type_of_magic(uint32_t magic)
{
	for (int t = 0; t < IMG_NR_TYPES; t++)
		if (descs[t].magic && descs[t].magic == magic)
			return t;
	return -1;
}

static void img_name(char *buf, size_t sz, enum img_type type, unsigned id)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(buf, sz, descs[type].name_fmt, id);
#pragma GCC diagnostic pop
}

static struct cr_img *img_alloc(enum img_type type, const char *path)
{
	struct cr_img *img = calloc(1, sizeof(*img));

	if (!img)
		return NULL;
	img->type = type;
	img->fd = -1;
	snprintf(img->path, sizeof(img->path), "%s", path);
	return img;
}

struct cr_img *img_open_write(int dirfd, enum img_type type, unsigned id)
{
	char name[64];
	int fd;

	img_name(name, sizeof(name), type, id);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		pr_perror("can't create image %s", name);
		return NULL;
	}
	return img_write_fd(fd, type, id, false);
}

struct cr_img *img_write_fd(int fd, enum img_type type, unsigned id, bool cut)
{
	char name[64];
	struct cr_img *img;
	uint32_t hdr[3] = { IMG_COMMON_MAGIC, descs[type].magic, id };

	img_name(name, sizeof(name), type, id);
	img = img_alloc(type, name);
	if (!img) {
		close(fd);
		return NULL;
	}
	img->writing = true;
	img->cut = cut;
	img->id = id;
	img->fd = fd;
	img->cap = 1 << 16;
	img->buf = malloc(img->cap);
	if (!img->buf) {
		close(img->fd);
		free(img);
		return NULL;
	}
	memcpy(img->buf, hdr, sizeof(hdr));
	img->len = sizeof(hdr);
	return img;
}

static int read_whole(int fd, const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;

	if (fstat(fd, &st) < 0) {
		pr_perror("stat %s", path);
		return -1;
	}
	buf = malloc(st.st_size + 1);
	if (!buf)
		return -1;
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, st.st_size - off);

		if (n < 0) {
			pr_perror("read %s", path);
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		off += n;
	}
	*out = buf;
	*len = off;
	return 0;
}

/* The trailer: its magic, and the crc32c of everything before it. */
static int check_trailer(struct cr_img *img)
{
	uint32_t tail[2], crc;

	if (img->len < IMG_HDR_SIZE + IMG_TAIL_SIZE) {
		pr_err("image %s: truncated (%zu bytes, no checksum trailer)",
		       img->path, img->len);
		return -1;
	}
	img->end = img->len - IMG_TAIL_SIZE;
	memcpy(tail, img->buf + img->end, sizeof(tail));
	if (tail[0] != IMG_TAIL_MAGIC) {
		pr_err("image %s: no checksum trailer at its end (offset %zu): "
		       "truncated or corrupt", img->path, img->end);
		return -1;
	}
	crc = crc32c(img->buf, img->end);
	if (crc != tail[1]) {
		pr_err("image %s: checksum mismatch (crc32c %08x, the file "
		       "says %08x): corrupt", img->path, crc, tail[1]);
		return -1;
	}
	return 0;
}

/* The header's magics against type (or, for type == IMG_NR_TYPES, the
 * type found from the magic); the id is kept for the caller to check. */
static int check_header(struct cr_img *img, int type)
{
	uint32_t hdr[3];

	if (img->len < sizeof(hdr)) {
		pr_err("image %s: truncated header (%zu bytes)", img->path,
		       img->len);
		return -1;
	}
	memcpy(hdr, img->buf, sizeof(hdr));
	if (hdr[0] == IMG_OLD_MAGIC) {
		pr_err("image %s: image format 1 (an older criu-lite); this "
		       "one reads format %d only: dump again", img->path,
		       IMG_FORMAT);
		return -1;
	}
	if (hdr[0] != IMG_COMMON_MAGIC) {
		pr_err("image %s: bad magic %#x, not a criu-lite image",
		       img->path, hdr[0]);
		return -1;
	}
	if (type == IMG_NR_TYPES) {
		type = img_type_of_magic(hdr[1]);
		if (type < 0) {
			pr_err("image %s: unknown type magic %#x", img->path,
			       hdr[1]);
			return -1;
		}
		img->type = type;
	} else if (hdr[1] != descs[type].magic) {
		pr_err("image %s: type magic %#x, expected %#x", img->path,
		       hdr[1], descs[type].magic);
		return -1;
	}
	img->id = hdr[2];
	img->off = sizeof(hdr);
	return 0;
}

/* Takes buf (the whole file, malloc'ed) and checks header and trailer. */
static struct cr_img *img_check(uint8_t *buf, size_t len, const char *path,
				int type)
{
	struct cr_img *img = img_alloc(type, path);

	if (!img) {
		free(buf);
		return NULL;
	}
	img->buf = buf;
	img->len = len;
	if (check_header(img, type) || check_trailer(img)) {
		free(img->buf);
		free(img);
		return NULL;
	}
	return img;
}

static struct cr_img *img_load(int fd, const char *path, int type)
{
	struct cr_img *img;
	uint8_t *buf;
	size_t len;

	if (read_whole(fd, path, &buf, &len) < 0)
		return NULL;
	img = img_check(buf, len, path, type);
	if (img)
		img->fd = fd;
	return img;
}

struct cr_img *img_open_mem(const void *data, size_t len, const char *path)
{
	uint8_t *buf = malloc(len + 1);

	if (!buf)
		return NULL;
	memcpy(buf, data, len);
	return img_check(buf, len, path, IMG_NR_TYPES);
}

struct cr_img *img_open_read(int dirfd, enum img_type type, unsigned id,
			     bool quiet_enoent)
{
	char name[64];
	struct cr_img *img;
	int fd;

	img_name(name, sizeof(name), type, id);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (!(errno == ENOENT && quiet_enoent))
			pr_perror("can't open image %s", name);
		return NULL;
	}
	img = img_load(fd, name, type);
	if (!img) {
		close(fd);
		return NULL;
	}
	if (img->id != id) {
		pr_err("image %s: holds the image of %u, not of %u (a renamed "
		       "or swapped file)", name, img->id, id);
		img_close(img);
		errno = EINVAL;
		return NULL;
	}
	return img;
}

struct cr_img *img_open_path(const char *path)
{
	struct cr_img *img;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pr_perror("can't open image %s", path);
		return NULL;
	}
	img = img_load(fd, path, IMG_NR_TYPES);
	if (!img)
		close(fd);
	return img;
}

static int img_flush(struct cr_img *img)
{
	size_t off = 0;

	img->crc = crc32c_update(img->crc, img->buf, img->len);
	while (off < img->len) {
		ssize_t n = write(img->fd, img->buf + off, img->len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("write image %s", img->path);
			return -1;
		}
		off += n;
	}
	img->len = 0;
	return 0;
}

int img_write_msg(struct cr_img *img, const ProtobufCMessage *msg)
{
	size_t sz = protobuf_c_message_get_packed_size(msg);
	uint32_t len = sz;

	if (sz > IMG_MAX_ENTRY) {
		pr_err("image %s: entry of %zu bytes is too large", img->path, sz);
		return -1;
	}
	if (img->len + sz + 4 > img->cap) {
		if (img_flush(img) < 0)
			return -1;
		if (sz + 4 > img->cap) {
			uint8_t *nb = realloc(img->buf, sz + 4);

			if (!nb)
				return -1;
			img->buf = nb;
			img->cap = sz + 4;
		}
	}
	memcpy(img->buf + img->len, &len, 4);
	protobuf_c_message_pack(msg, img->buf + img->len + 4);
	img->len += sz + 4;
	return 0;
}

int img_read_msg(struct cr_img *img, ProtobufCMessage **msg)
{
	uint32_t len;

	if (img->off >= img->end)
		return 0;
	if (img->end - img->off < 4) {
		pr_err("image %s: truncated entry header at offset %zu",
		       img->path, img->off);
		return -1;
	}
	memcpy(&len, img->buf + img->off, 4);
	if (len > IMG_MAX_ENTRY || len > img->end - img->off - 4) {
		pr_err("image %s: truncated or corrupt entry at offset %zu "
		       "(length %u, %zu bytes left)", img->path, img->off, len,
		       img->end - img->off - 4);
		return -1;
	}
	*msg = protobuf_c_message_unpack(descs[img->type].msg, NULL, len,
					 img->buf + img->off + 4);
	if (!*msg) {
		pr_err("image %s: corrupt %s entry at offset %zu", img->path,
		       descs[img->type].msg->short_name, img->off);
		return -1;
	}
	img->off += 4 + len;
	return 1;
}

void img_free_msg(struct cr_img *img, ProtobufCMessage *msg)
{
	(void)img;
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

/* The trailer goes into the buffer after the last entry: the crc of what
 * was flushed, continued over what is still buffered. */
static int img_add_trailer(struct cr_img *img)
{
	uint32_t tail[2] = { IMG_TAIL_MAGIC, 0 };

	if (img->len + sizeof(tail) > img->cap && img_flush(img) < 0)
		return -1;
	tail[1] = crc32c_update(img->crc, img->buf, img->len);
	memcpy(img->buf + img->len, tail, sizeof(tail));
	img->len += sizeof(tail);
	return 0;
}

int img_close(struct cr_img *img)
{
	int ret = 0;

	if (!img)
		return 0;
	if (img->writing) {
		ret = img_add_trailer(img);
		if (!ret)
			ret = img_flush(img);
		if (!ret && img->cut) {
			off_t end = lseek(img->fd, 0, SEEK_CUR);

			if (end < 0 || ftruncate(img->fd, end)) {
				pr_perror("cut image %s", img->path);
				ret = -1;
			}
		}
		if (close(img->fd) < 0 && !ret) {
			pr_perror("close image %s", img->path);
			ret = -1;
		}
	} else {
		close(img->fd);
	}
	free(img->buf);
	free(img);
	return ret;
}

void img_discard(struct cr_img *img)
{
	if (!img)
		return;
	close(img->fd);
	free(img->buf);
	free(img);
}

ProtobufCMessage *img_read_one(int dirfd, enum img_type type, unsigned id)
{
	struct cr_img *img = img_open_read(dirfd, type, id, false);
	ProtobufCMessage *msg = NULL;
	int ret;

	if (!img)
		return NULL;
	ret = img_read_msg(img, &msg);
	if (ret == 0)
		pr_err("image %s: no entry", img->path);
	img_close(img);
	return ret == 1 ? msg : NULL;
}

int img_read_all(int dirfd, enum img_type type, unsigned id,
		 bool quiet_enoent, ProtobufCMessage ***out, size_t *nr)
{
	struct cr_img *img = img_open_read(dirfd, type, id, quiet_enoent);
	ProtobufCMessage *m, **v = NULL;
	size_t n = 0;
	int ret;

	*out = NULL;
	*nr = 0;
	if (!img)
		return -1;
	while ((ret = img_read_msg(img, &m)) == 1) {
		ProtobufCMessage **nv = realloc(v, (n + 1) * sizeof(*v));

		if (!nv) {
			img_free_msg(img, m);
			ret = -1;
			break;
		}
		v = nv;
		v[n++] = m;
	}
	img_close(img);
	*out = v;
	*nr = n;
	return ret;
}

int img_write_one(int dirfd, enum img_type type, unsigned id,
		  const ProtobufCMessage *msg)
{
	struct cr_img *img = img_open_write(dirfd, type, id);
	int ret;

	if (!img)
		return -1;
	ret = img_write_msg(img, msg);
	if (img_close(img) < 0)
		ret = -1;
	return ret;
}

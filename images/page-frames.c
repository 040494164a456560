// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "csum.h"
#include "image.h"
#include "log.h"
#include "page-frames.h"
#include "pagemap.h"

#include "pagemap.pb-c.h"

static const char *const codec_names[PAGES_CODEC_NR] = {
	[PAGES_CODEC_NONE] = "none",
	[PAGES_CODEC_LZ4] = "lz4",
	[PAGES_CODEC_ZSTD] = "zstd",
};

const char *pages_codec_name(unsigned codec)
{
	return codec < PAGES_CODEC_NR ? codec_names[codec] : NULL;
}

int pages_codec_of_name(const char *name)
{
	for (int c = 0; c < PAGES_CODEC_NR; c++)
		if (!strcmp(name, codec_names[c]))
			return c;
	return -1;
}

struct frame_codec {
	unsigned codec;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	void *lz4_state;
};

struct frame_codec *frame_codec_new(unsigned codec)
{
	struct frame_codec *fc = calloc(1, sizeof(*fc));

	if (!fc)
		return NULL;
	fc->codec = codec;
	fc->zc = ZSTD_createCCtx();
	fc->zd = ZSTD_createDCtx();
	fc->lz4_state = malloc(LZ4_sizeofState());
	if (!fc->zc || !fc->zd || !fc->lz4_state) {
		pr_err("out of memory for the %s codec", pages_codec_name(codec));
		frame_codec_free(fc);
		return NULL;
	}
	return fc;
}

void frame_codec_free(struct frame_codec *fc)
{
	if (!fc)
		return;
	ZSTD_freeCCtx(fc->zc);
	ZSTD_freeDCtx(fc->zd);
	free(fc->lz4_state);
	free(fc);
}

size_t frame_stored_max(void)
{
	size_t z = ZSTD_compressBound(FRAME_MAX_LEN);
	size_t l = LZ4_COMPRESSBOUND(FRAME_MAX_LEN);

	return z > l ? z : l;
}

/* Stored bytes a frame of len bytes may have with codec: its bound. */
static size_t stored_bound(unsigned codec, uint32_t len)
{
	switch (codec) {
	case PAGES_CODEC_LZ4:
		return LZ4_COMPRESSBOUND(len);
	case PAGES_CODEC_ZSTD:
		return ZSTD_compressBound(len);
	default:
		return len;
	}
}

/* dst has room for the codec's bound: both compress fastest so */
static size_t compress_into(struct frame_codec *fc, const void *src,
			    uint32_t len, void *dst)
{
	size_t cap = stored_bound(fc->codec, len), n;

	switch (fc->codec) {
	case PAGES_CODEC_LZ4:
		return LZ4_compress_fast_extState(fc->lz4_state, src, dst, len,
						  cap, 1);
	case PAGES_CODEC_ZSTD:
		n = ZSTD_compressCCtx(fc->zc, dst, cap, src, len,
				      FRAME_ZSTD_LEVEL);
		return ZSTD_isError(n) ? 0 : n;
	default:
		return 0;
	}
}

const void *frame_compress(struct frame_codec *fc, const void *src,
			   uint32_t len, void *dst, struct page_frame *f)
{
	size_t n = compress_into(fc, src, len, dst);
	const void *stored = dst;

	f->len = len;
	f->codec = fc->codec;
	if (!n || n > len - len / 16) {
		stored = src;
		n = len;
		f->codec = PAGES_CODEC_NONE;
	}
	f->file_len = n;
	f->crc = crc32c(stored, n);
	return stored;
}

bool frame_crc_ok(const struct page_frame *f, const void *stored)
{
	return crc32c(stored, f->file_len) == f->crc;
}

int frame_decompress(struct frame_codec *fc, const struct page_frame *f,
		     size_t nr, const void *stored, void *dst,
		     const char *file)
{
	size_t got = 0;
	int n;

	switch (f->codec) {
	case PAGES_CODEC_NONE:
		memcpy(dst, stored, f->len);
		return 0;
	case PAGES_CODEC_LZ4:
		n = LZ4_decompress_safe(stored, dst, f->file_len, f->len);
		got = n < 0 ? 0 : (size_t)n;
		break;
	case PAGES_CODEC_ZSTD:
		got = ZSTD_decompressDCtx(fc->zd, dst, f->len, stored,
					  f->file_len);
		if (ZSTD_isError(got))
			got = 0;
		break;
	}
	if (got == f->len)
		return 0;
	pr_err("%s: frame %zu (%s, %u bytes at %#lx) does not decompress to "
	       "its %u bytes: corrupt image", file, nr,
	       pages_codec_name(f->codec), f->file_len, (long)f->file_off,
	       f->len);
	return -1;
}

static int frame_check(const struct page_frame *f, size_t i, unsigned codec,
		       uint64_t off, uint64_t file_off, unsigned id)
{
	if (f->off != off || f->file_off != file_off) {
		pr_err("pages-index-%u.img: frame %zu at %#lx (file %#lx) does "
		       "not follow the one before it (expected %#lx, file "
		       "%#lx)", id, i, (long)f->off, (long)f->file_off,
		       (long)off, (long)file_off);
		return -1;
	}
	if (!f->len || f->len % PAGE_SZ || f->len > FRAME_MAX_LEN ||
	    (f->codec != codec && f->codec != PAGES_CODEC_NONE) ||
	    !f->file_len || f->file_len > stored_bound(f->codec, f->len) ||
	    (f->codec == PAGES_CODEC_NONE && f->file_len != f->len)) {
		pr_err("pages-index-%u.img: frame %zu at %#lx is malformed (%u "
		       "bytes stored as %u, codec %u; the dump's is %s)", id, i,
		       (long)f->off, f->len, f->file_len, f->codec,
		       pages_codec_name(codec));
		return -1;
	}
	return 0;
}

int frames_check(const struct page_frame *f, size_t n, unsigned codec,
		 uint64_t file_size, unsigned id, uint64_t *stream_len)
{
	uint64_t off = 0, file_off = 0;

	for (size_t i = 0; i < n; i++) {
		if (frame_check(&f[i], i, codec, off, file_off, id))
			return -1;
		off += f[i].len;
		file_off += f[i].file_len;
	}
	if (file_off != file_size) {
		pr_err("pages-%u.img: %lu bytes, its frames in "
		       "pages-index-%u.img %lu: %s image", id,
		       (unsigned long)file_size, id, (unsigned long)file_off,
		       file_off > file_size ? "truncated" : "a longer");
		return -1;
	}
	*stream_len = off;
	return 0;
}

size_t frame_at(const struct page_frame *f, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (off < f[mid].off)
			hi = mid;
		else
			lo = mid;
	}
	return lo;
}

int frames_write(int dirfd, unsigned id, const struct page_frame *f,
		 size_t n)
{
	struct cr_img *img = img_open_write(dirfd, IMG_PAGES_INDEX, id);

	if (!img)
		return -1;
	for (size_t i = 0; i < n; i++) {
		PagesFrame e = PAGES_FRAME__INIT;

		e.offset = f[i].off;
		e.len = f[i].len;
		e.file_off = f[i].file_off;
		e.file_len = f[i].file_len;
		e.codec = f[i].codec;
		e.crc = f[i].crc;
		if (img_write_msg(img, &e.base)) {
			img_discard(img);
			return -1;
		}
	}
	return img_close(img);
}

int frames_read(int dirfd, unsigned id, struct page_frame **out, size_t *nr)
{
	struct cr_img *img = img_open_read(dirfd, IMG_PAGES_INDEX, id, false);
	struct page_frame *f = NULL;
	size_t n = 0, cap = 0;
	ProtobufCMessage *m;
	int ret;

	if (!img)
		return -1;
	while ((ret = img_read_msg(img, &m)) == 1) {
		const PagesFrame *e = (const PagesFrame *)m;

		if (n == cap) {
			struct page_frame *nf;

			cap = cap ? cap * 2 : 1024;
			nf = realloc(f, cap * sizeof(*f));
			if (!nf) {
				img_free_msg(img, m);
				ret = -1;
				break;
			}
			f = nf;
		}
		f[n++] = (struct page_frame){ e->offset, e->file_off, e->len,
					      e->file_len, e->crc, e->codec };
		img_free_msg(img, m);
	}
	img_close(img);
	if (ret) {
		free(f);
		return -1;
	}
	*out = f;
	*nr = n;
	return 0;
}

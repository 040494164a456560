/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compressed pages images (dump --compress lz4|zstd). The page stream, the
 * bytes a dump stores one after the other and that pagemap runs point into
 * by offset, is cut into frames of at most FRAME_MAX_LEN bytes (whole
 * pages); each frame is compressed on its own (an LZ4 block or a zstd
 * frame, or kept as it is when that saves too little) and the frames lie
 * back to back in pages-<id>.img. pages-index-<id>.img has one entry per
 * frame, in order: where it starts in the page stream and in the file, its
 * two lengths, its codec and the crc32c of its stored bytes.
 *
 * Pagemap offsets stay offsets in the page stream, so nothing above the
 * page transfer (dump) and the page source (restore) knows about
 * compression; a page is found by a binary search of the index and costs
 * at most one frame to decompress, so lazy restore and the page server
 * still fetch page by page, and every page is still checked against its
 * own checksum once decompressed.
 */
#ifndef CRIU_LITE_PAGE_FRAMES_H
#define CRIU_LITE_PAGE_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* inventory.img's pages_codec and a frame's codec */
enum pages_codec {
	PAGES_CODEC_NONE = 0,	/* the pages file is the page stream itself */
	PAGES_CODEC_LZ4 = 1,
	PAGES_CODEC_ZSTD = 2,
	PAGES_CODEC_NR,
};

#define FRAME_MAX_LEN	(256u << 10)
/* zstd's level: 1 compresses about as well as 3 on process memory here,
 * twice as fast */
#define FRAME_ZSTD_LEVEL	1

/* "none", "lz4", "zstd"; NULL for a codec this build does not know */
const char *pages_codec_name(unsigned codec);
/* The codec named name, or -1 */
int pages_codec_of_name(const char *name);

struct page_frame {
	uint64_t off;		/* in the page stream */
	uint64_t file_off;	/* in pages-<id>.img */
	uint32_t len;		/* bytes of the page stream */
	uint32_t file_len;	/* stored bytes */
	uint32_t crc;		/* crc32c of the stored bytes */
	uint32_t codec;		/* the dump's, or PAGES_CODEC_NONE */
};

/* Compression and decompression state, for one thread. */
struct frame_codec;
struct frame_codec *frame_codec_new(unsigned codec);
void frame_codec_free(struct frame_codec *fc);
/* Room a frame's stored bytes may need, whatever the codec. */
size_t frame_stored_max(void);

/*
 * Compresses the len bytes at src (len <= FRAME_MAX_LEN) into dst (room
 * for frame_stored_max() bytes) and fills f's len, file_len, codec and crc
 * (not its offsets). Returns what is to be stored: dst, or src itself when
 * compression saved less than 1/16 (the frame is then kept as it is and
 * costs a restore no decompression).
 */
const void *frame_compress(struct frame_codec *fc, const void *src,
			   uint32_t len, void *dst, struct page_frame *f);

/* The stored bytes of f match its checksum. */
bool frame_crc_ok(const struct page_frame *f, const void *stored);

/*
 * Decompresses frame f, whose stored bytes are at stored, into dst
 * (f->len bytes); the checksum is the caller's (frame_crc_ok). -1 if the
 * bytes do not decompress to exactly f->len bytes, logged naming file and
 * the frame (index nr).
 */
int frame_decompress(struct frame_codec *fc, const struct page_frame *f,
		     size_t nr, const void *stored, void *dst,
		     const char *file);

/*
 * The frames of an index, checked against each other and the pages file:
 * contiguous from 0 both in the page stream and in the file, whole pages,
 * at most FRAME_MAX_LEN, stored lengths possible for their codec, codec
 * the dump's (codec) or none, and the file ending with the last frame.
 * Logged naming the index or the pages file. 0 and the page stream's
 * length in *stream_len, or -1.
 */
int frames_check(const struct page_frame *f, size_t n, unsigned codec,
		 uint64_t file_size, unsigned id, uint64_t *stream_len);

/* The frame holding page stream offset off (below the stream's end). */
size_t frame_at(const struct page_frame *f, size_t n, uint64_t off);

/* pages-index-<id>.img under dirfd, written or read whole; -1 logged. */
int frames_write(int dirfd, unsigned id, const struct page_frame *f,
		 size_t n);
int frames_read(int dirfd, unsigned id, struct page_frame **f, size_t *n);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * Compressed pages (images/page-frames.h): each codec gives back exactly
 * what it was given; data that does not compress is kept as it is; a
 * damaged frame fails its checksum and, decompressed anyway, fails with a
 * message naming the file and the frame; an index whose frames do not
 * follow each other or do not fit the pages file is refused naming it;
 * the binary search finds the frame of every offset; the index image
 * keeps every field.
 */
#include "testlib.h"

#include "csum.h"
#include "page-frames.h"
#include "pagemap.h"

/* len bytes that compress well (text) or not at all (a mixing function) */
static uint8_t *data(size_t len, bool compressible)
{
	uint8_t *p = malloc(len);
	uint64_t x = 0x243f6a8885a308d3ULL;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		if (compressible) {
			p[i] = "page of text, somewhat repetitive\n"[i % 34];
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = x >> 32;
		}
	}
	return p;
}

static void test_codec_names(void **state)
{
	(void)state;
	for (unsigned c = 0; c < PAGES_CODEC_NR; c++)
		assert_int_equal(pages_codec_of_name(pages_codec_name(c)), c);
	assert_int_equal(pages_codec_of_name("gzip"), -1);
	assert_null(pages_codec_name(PAGES_CODEC_NR));
}

static void roundtrip(unsigned codec, bool compressible, uint32_t len)
{
	struct frame_codec *fc = frame_codec_new(codec);
	uint8_t *src = data(len, compressible), *dst = malloc(frame_stored_max());
	uint8_t *back = malloc(len);
	struct page_frame f = { 0 };
	const void *stored;

	assert_non_null(fc);
	stored = frame_compress(fc, src, len, dst, &f);
	assert_int_equal(f.len, len);
	if (compressible) {
		assert_ptr_equal(stored, dst);
		assert_int_equal(f.codec, codec);
		assert_true(f.file_len < len / 4);
	} else {
		/* kept as it is: a restore copies it, nothing to undo */
		assert_ptr_equal(stored, src);
		assert_int_equal(f.codec, PAGES_CODEC_NONE);
		assert_int_equal(f.file_len, len);
	}
	assert_true(frame_crc_ok(&f, stored));
	assert_int_equal(f.crc, crc32c(stored, f.file_len));
	memset(back, 0xa5, len);
	assert_int_equal(frame_decompress(fc, &f, 0, stored, back, "p.img"), 0);
	assert_memory_equal(back, src, len);
	frame_codec_free(fc);
	free(src);
	free(dst);
	free(back);
}

static void test_roundtrip(void **state)
{
	(void)state;
	for (unsigned c = PAGES_CODEC_LZ4; c < PAGES_CODEC_NR; c++) {
		roundtrip(c, true, FRAME_MAX_LEN);
		roundtrip(c, true, PAGE_SZ);
		roundtrip(c, false, FRAME_MAX_LEN);
		roundtrip(c, false, 3 * PAGE_SZ);
	}
}

/* A damaged compressed frame: its checksum says so; decompressed anyway
 * (restore --no-verify does not skip the frame checksums, but a codec
 * must not trust its input), it fails or gives other bytes, never more. */
static void test_damaged_frame(void **state)
{
	(void)state;
	for (unsigned c = PAGES_CODEC_LZ4; c < PAGES_CODEC_NR; c++) {
		struct frame_codec *fc = frame_codec_new(c);
		uint8_t *src = data(FRAME_MAX_LEN, true);
		uint8_t *dst = malloc(frame_stored_max());
		uint8_t *back = malloc(FRAME_MAX_LEN);
		struct page_frame f = { 0 };
		struct tl_capture cap;
		char *err;
		int ret;

		frame_compress(fc, src, FRAME_MAX_LEN, dst, &f);
		assert_int_equal(f.codec, c);
		f.file_len /= 2;	/* cut: can't decompress to f.len */
		assert_false(frame_crc_ok(&f, dst));
		tl_capture_start(&cap, STDERR_FILENO);
		ret = frame_decompress(fc, &f, 7, dst, back, "pages-1.img");
		err = tl_capture_end(&cap);
		assert_int_equal(ret, -1);
		assert_contains(err, "pages-1.img: frame 7");
		assert_contains(err, "does not decompress");
		free(err);
		frame_codec_free(fc);
		free(src);
		free(dst);
		free(back);
	}
}

/* n frames of (64, 32, 16, ...) pages, stored as half their size */
static struct page_frame *frames(size_t n, uint64_t *file_size)
{
	struct page_frame *f = calloc(n, sizeof(*f));
	uint64_t off = 0, file_off = 0;

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		f[i].off = off;
		f[i].file_off = file_off;
		f[i].len = (64 >> (i % 6)) * PAGE_SZ;
		f[i].file_len = f[i].len / 2;
		f[i].codec = PAGES_CODEC_ZSTD;
		off += f[i].len;
		file_off += f[i].file_len;
	}
	*file_size = file_off;
	return f;
}

static void expect_refused(struct page_frame *f, size_t n, uint64_t size,
			   const char *msg)
{
	struct tl_capture cap;
	uint64_t len = 0;
	char *err;
	int ret;

	tl_capture_start(&cap, STDERR_FILENO);
	ret = frames_check(f, n, PAGES_CODEC_ZSTD, size, 1, &len);
	err = tl_capture_end(&cap);
	assert_int_equal(ret, -1);
	assert_contains(err, msg);
	free(err);
}

static void test_frames_check(void **state)
{
	uint64_t size, len = 0, want = 0;
	struct page_frame *f = frames(20, &size);

	(void)state;
	for (size_t i = 0; i < 20; i++)
		want += f[i].len;
	assert_int_equal(frames_check(f, 20, PAGES_CODEC_ZSTD, size, 1, &len), 0);
	assert_int_equal(len, want);
	/* a frame kept as is, among compressed ones */
	f[3].codec = PAGES_CODEC_NONE;
	expect_refused(f, 20, size, "pages-index-1.img: frame 3");
	f[3].codec = PAGES_CODEC_LZ4;	/* not the dump's codec */
	expect_refused(f, 20, size, "pages-index-1.img: frame 3 at");
	f[3].codec = PAGES_CODEC_ZSTD;
	f[5].off += PAGE_SZ;		/* a gap in the page stream */
	expect_refused(f, 20, size, "frame 5 at 0x");
	f[5].off -= PAGE_SZ;
	f[6].file_off -= 1;		/* overlapping stored bytes */
	expect_refused(f, 20, size, "does not follow");
	f[6].file_off += 1;
	f[0].len += 1;			/* not whole pages */
	expect_refused(f, 20, size, "frame 0 at 0 is malformed");
	f[0].len -= 1;
	expect_refused(f, 20, size - 1, "pages-1.img:");	/* truncated */
	expect_refused(f, 20, size + 1, "a longer image");
	expect_refused(f, 20, size + 1, "pages-1.img:");
	assert_int_equal(frames_check(f, 0, PAGES_CODEC_ZSTD, 0, 1, &len), 0);
	assert_int_equal(len, 0);
	free(f);
}

static void test_frame_too_long(void **state)
{
	struct page_frame f = { 0, 0, FRAME_MAX_LEN + PAGE_SZ, 100, 0,
				PAGES_CODEC_LZ4 };
	struct tl_capture cap;
	uint64_t len;
	char *err;

	(void)state;
	tl_capture_start(&cap, STDERR_FILENO);
	assert_int_equal(frames_check(&f, 1, PAGES_CODEC_LZ4, 100, 2, &len), -1);
	err = tl_capture_end(&cap);
	assert_contains(err, "pages-index-2.img: frame 0");
	free(err);
}

static void test_frame_at(void **state)
{
	uint64_t size;
	struct page_frame *f = frames(50, &size);

	(void)state;
	for (size_t i = 0; i < 50; i++) {
		assert_int_equal(frame_at(f, 50, f[i].off), i);
		assert_int_equal(frame_at(f, 50, f[i].off + f[i].len - 1), i);
		assert_int_equal(frame_at(f, 50, f[i].off + PAGE_SZ / 2), i);
	}
	assert_int_equal(frame_at(f, 1, 123), 0);
	free(f);
}

static void test_index_image(void **state)
{
	char *dir = tl_mkdtemp();
	int dirfd = open(dir, O_DIRECTORY | O_RDONLY);
	uint64_t size;
	struct page_frame *f = frames(3000, &size), *back = NULL;
	struct tl_capture cap;
	size_t n = 0;
	char *err;

	(void)state;
	f[7].codec = PAGES_CODEC_NONE;
	f[7].crc = 0xdeadbeef;
	assert_int_equal(frames_write(dirfd, 4, f, 3000), 0);
	assert_int_equal(frames_read(dirfd, 4, &back, &n), 0);
	assert_int_equal(n, 3000);
	assert_memory_equal(back, f, 3000 * sizeof(*f));
	free(back);
	/* another id is another file: refused, not taken */
	tl_capture_start(&cap, STDERR_FILENO);
	assert_int_equal(frames_read(dirfd, 5, &back, &n), -1);
	err = tl_capture_end(&cap);
	assert_contains(err, "pages-index-5.img");
	free(err);
	close(dirfd);
	tl_rmdir(dir);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_names),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_damaged_frame),
		cmocka_unit_test(test_frames_check),
		cmocka_unit_test(test_frame_too_long),
		cmocka_unit_test(test_frame_at),
		cmocka_unit_test(test_index_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

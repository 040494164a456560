// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: arbitrary bytes as an image file, through what restore
 * and show use: img_open_path (header, id, checksum trailer), img_read_msg
 * (entry framing, protobuf-c decoding) and show's text and JSON printers.
 * The JSON output must be valid JSON whatever the input (checked here).
 *
 * Input: byte 0 chooses the mode. With bit 7 set the rest is the whole
 * file, as is: header and trailer parsing get fuzzed. Otherwise the rest is
 * the body (the entries) of an image of the protobuf type number (byte 0 %
 * the number of protobuf types: 0-6 inventory to task, 7-8 the stats, 9
 * pages-index), given a valid header and checksum trailer here, so that
 * the decoder behind the checksum is reached (a random body would almost
 * never pass the checksum).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csum.h"
#include "image.h"
#include "log.h"
#include "show.h"

#include "../tools/jsoncheck.h"

static int file_fd = -1;

/* The image as a file (a memfd, named by its /proc path). */
static void put_file(const uint8_t *body, size_t len, int type, bool raw)
{
	uint32_t hdr[3] = { IMG_COMMON_MAGIC, img_desc(type)->magic, 7 };
	uint32_t tail[2] = { IMG_TAIL_MAGIC, 0 };

	if (ftruncate(file_fd, 0) || lseek(file_fd, 0, SEEK_SET))
		abort();
	if (!raw) {
		tail[1] = crc32c_update(crc32c(hdr, sizeof(hdr)), body, len);
		if (write(file_fd, hdr, sizeof(hdr)) != sizeof(hdr))
			abort();
	}
	if (len && write(file_fd, body, len) != (ssize_t)len)
		abort();
	if (!raw && write(file_fd, tail, sizeof(tail)) != sizeof(tail))
		abort();
}

static void check_json(const char *path)
{
	char *buf = NULL;
	size_t len = 0, at;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		abort();
	show_path(path, true, out);
	fclose(out);
	if (!json_valid(buf, len, &at)) {
		fprintf(stderr, "show --json: not JSON at byte %zu: %.*s\n", at,
			(int)len, buf);
		abort();
	}
	free(buf);
}

/* What restore does with an image: every entry decoded, then freed. */
static void decode_all(const char *path)
{
	struct cr_img *img = img_open_path(path);
	ProtobufCMessage *m;

	if (!img)
		return;
	while (img_read_msg(img, &m) == 1)
		img_free_msg(img, m);
	img_close(img);
}

/* The n-th image type that holds protobuf entries (all but raw pages). */
static int protobuf_type(unsigned n)
{
	int types[IMG_NR_TYPES], nr = 0;

	for (int t = 0; t < IMG_NR_TYPES; t++)
		if (img_desc(t)->msg)
			types[nr++] = t;
	return types[n % nr];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	FILE *devnull;

	if (!size)
		return 0;
	if (file_fd < 0) {
		log_set_level(-1);	/* refusals are expected: quiet */
		file_fd = memfd_create("fuzz-image", 0);
		if (file_fd < 0)
			abort();
	}
	put_file(data + 1, size - 1, protobuf_type(data[0] & 0x7f),
		 data[0] & 0x80);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", file_fd);
	decode_all(path);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	show_path(path, false, devnull);
	fclose(devnull);
	check_json(path);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checksums of the image format: CRC-32C (Castagnoli), with the SSE4.2
 * crc32 instruction where the CPU has it and a table (slicing by 8) where it
 * does not. Both give the same values, so images move between machines.
 *
 *   crc32c()     the standard CRC-32C of a buffer (image file trailers)
 *   page_crc()   a 4 KiB page: four CRC-32C lanes over interleaved 8-byte
 *                words (lane k takes words k, k+4, ...), merged by CRC-ing
 *                the lane values; four independent lanes keep the crc32
 *                unit busy (latency 3, one per cycle), ~4x one lane's speed
 */
#ifndef CRIU_LITE_CSUM_H
#define CRIU_LITE_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Continue a CRC-32C: crc32c_update(0, ...) starts one, the value carries
 * from call to call (the usual pre/post inversion is inside). */
uint32_t crc32c_update(uint32_t crc, const void *p, size_t len);
static inline uint32_t crc32c(const void *p, size_t len)
{
	return crc32c_update(0, p, len);
}

/* The checksum of one 4 KiB page (8-byte aligned). */
uint32_t page_crc(const void *page);

/* Whether the hardware path is in use; the table path, for tests and the
 * benchmark. */
bool csum_has_hw(void);
uint32_t page_crc_sw(const void *page);
uint32_t crc32c_update_sw(uint32_t crc, const void *p, size_t len);

#endif

// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "csum.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CSUM_X86	1
#endif

#define CRC32C_POLY	0x82f63b78u	/* reflected Castagnoli polynomial */
#define PAGE_WORDS	(4096 / 8)
#define LANES		4

static uint32_t tab[8][256];
static bool hw;

/* Tables for slicing by 8: tab[k][b] is byte b's CRC followed by k zero
 * bytes. Filled once, before main, by the constructor below. */
static void init_tables(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = b;

		for (int i = 0; i < 8; i++)
			c = c >> 1 ^ (c & 1 ? CRC32C_POLY : 0);
		tab[0][b] = c;
	}
	for (int k = 1; k < 8; k++)
		for (uint32_t b = 0; b < 256; b++)
			tab[k][b] = tab[k - 1][b] >> 8 ^ tab[0][tab[k - 1][b] & 0xff];
}

__attribute__((constructor)) static void csum_init(void)
{
	init_tables();
#ifdef CSUM_X86
	__builtin_cpu_init();
	hw = __builtin_cpu_supports("sse4.2");
#endif
}

bool csum_has_hw(void)
{
	return hw;
}

/* ---- table path ---- */

static inline uint32_t sw_u8(uint32_t c, uint8_t v)
{
	return c >> 8 ^ tab[0][(c ^ v) & 0xff];
}

static inline uint32_t sw_u64(uint32_t c, uint64_t v)
{
	v ^= c;
	return tab[7][v & 0xff] ^ tab[6][v >> 8 & 0xff] ^
	       tab[5][v >> 16 & 0xff] ^ tab[4][v >> 24 & 0xff] ^
	       tab[3][v >> 32 & 0xff] ^ tab[2][v >> 40 & 0xff] ^
	       tab[1][v >> 48 & 0xff] ^ tab[0][v >> 56];
}

static inline uint32_t sw_u32(uint32_t c, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		c = sw_u8(c, v & 0xff);
	return c;
}

uint32_t crc32c_update_sw(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t c = ~crc;
	uint64_t w;

	for (; len >= 8; len -= 8, b += 8) {
		memcpy(&w, b, 8);
		c = sw_u64(c, w);
	}
	for (; len; len--)
		c = sw_u8(c, *b++);
	return ~c;
}

/* The lanes are merged the same way on both paths: the CRC of the four
 * lane values as 32-bit words. Each lane is fed in as data, never as the
 * starting value: crc(start = a, data = b) is linear in a ^ b, so a
 * change in one lane could cancel the same change in the next. */
uint32_t page_crc_sw(const void *page)
{
	const uint64_t *w = page;
	uint32_t l[LANES] = { ~0u, ~1u, ~2u, ~3u };

	for (size_t i = 0; i < PAGE_WORDS; i += LANES)
		for (int k = 0; k < LANES; k++)
			l[k] = sw_u64(l[k], w[i + k]);
	return ~sw_u32(sw_u32(sw_u32(sw_u32(~0u, l[0]), l[1]), l[2]), l[3]);
}

/* ---- SSE4.2 path ---- */

#ifdef CSUM_X86
__attribute__((target("sse4.2")))
static uint32_t crc32c_update_hw(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t c = ~crc, w;

	for (; len >= 8; len -= 8, b += 8) {
		memcpy(&w, b, 8);
		c = _mm_crc32_u64(c, w);
	}
	for (; len; len--)
		c = _mm_crc32_u8(c, *b++);
	return ~(uint32_t)c;
}

__attribute__((target("sse4.2")))
static uint32_t page_crc_hw(const void *page)
{
	const uint64_t *w = page;
	uint64_t a = ~0u, b = ~1u, c = ~2u, d = ~3u;

	for (size_t i = 0; i < PAGE_WORDS; i += LANES) {
		a = _mm_crc32_u64(a, w[i]);
		b = _mm_crc32_u64(b, w[i + 1]);
		c = _mm_crc32_u64(c, w[i + 2]);
		d = _mm_crc32_u64(d, w[i + 3]);
	}
	uint32_t r = _mm_crc32_u32(~0u, a);

	r = _mm_crc32_u32(r, b);
	r = _mm_crc32_u32(r, c);
	return ~_mm_crc32_u32(r, d);
}
#endif

uint32_t crc32c_update(uint32_t crc, const void *p, size_t len)
{
#ifdef CSUM_X86
	if (hw)
		return crc32c_update_hw(crc, p, len);
#endif
	return crc32c_update_sw(crc, p, len);
}

uint32_t page_crc(const void *page)
{
#ifdef CSUM_X86
	if (hw)
		return page_crc_hw(page);
#endif
	return page_crc_sw(page);
}

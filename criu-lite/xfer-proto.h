/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The page server's wire protocol (little endian, TCP, or TLS over it:
 * net.h). The client speaks first:
 *   hello   u32 magic "CLPX" | u16 version | u16 mode
 * mode PULL (restore --lazy-pages --page-server): the server answers with
 * the page-source greeting and serves "len bytes at offset" requests (see
 * page-source.h).
 * mode PUSH (dump --page-server, pre-copy rounds): the server answers
 *   reply   u32 status (0 ok) | u32 text length | text
 * then the client sends messages, each a header followed by len bytes:
 *   X_PAGES     id pages: their bytes, then one u32 page_crc() each;
 *               off: where they go in pages-1.img (its end; in MIGRATE
 *               mode anywhere below XP_MAX_PLACED: a migration's tracked
 *               memory has fixed places, a page copied again replaces
 *               its copy). The server checks each page on arrival and
 *               keeps its sum
 *   X_PM_BEGIN  id: the pagemap of process id starts
 *   X_PM_ENTRY  a packed PagemapEntry of the current pagemap, its stored
 *               run without page_csums (the server fills in those the
 *               pages had on arrival, which must fold into the entry's
 *               checksum); with them, they must be those
 *   X_PM_END    off 1: the pagemap is complete; 0: drop it
 *   X_FILE      id: length of the name, then name and contents of another
 *               image file (migrate sends the whole directory)
 *   X_PARENT    len bytes: the relative path the layer's DIR/parent
 *               links to (a pre-dump chain); that layer must be there
 *   X_FLUSH     off 1: fsync; answered with a reply whose text is the
 *               decimal size of pages-1.img
 *   X_DONE      everything arrived: the server moves what it received
 *               into DIR (until then it is kept apart; off 1: synced
 *               first) and replies
 * Any error: the server replies with a non-zero status and the reason,
 * and closes; what it received is dropped.
 */
#ifndef CRIU_LITE_XFER_PROTO_H
#define CRIU_LITE_XFER_PROTO_H

#include <stdint.h>

#define XP_MAGIC	0x58504c43u	/* "CLPX" */
#define XP_VERSION	3	/* 2: X_HOLD, XP_MIGRATE_POSTCOPY; 3: X_PM_ENTRY
				 * without page_csums */

/* MIGRATE: a PUSH whose receiver (migrate --incoming) then restores the
 * tree and sends one more reply: 0 once it runs, or why not.
 * MIGRATE_POSTCOPY: the same, the tree then resumed before its memory is
 * all there (the receiver keeps what arrives in its pages file, whence
 * the lazy restore takes it, rather than in its own memory). */
enum { XP_PULL = 1, XP_PUSH = 2, XP_MIGRATE = 3, XP_MIGRATE_POSTCOPY = 4 };

struct xp_hello {
	uint32_t magic;
	uint16_t version, mode;
} __attribute__((packed));

enum {
	X_PAGES = 1,
	X_PM_BEGIN,
	X_PM_ENTRY,
	X_PM_END,
	X_FILE,
	X_FLUSH,
	X_DONE,
	X_PARENT,
	X_HOLD,		/* MIGRATE: [off, len) pairs (uint64) of the pages file
			 * the receiver may keep in memory only; the header's
			 * off: where the pages not placed will be appended */
};

struct xp_hdr {
	uint32_t type, id;
	uint64_t off, len;
} __attribute__((packed));

struct xp_reply {
	uint32_t status, text_len;
} __attribute__((packed));

#define XP_MAX_MSG	(64u << 20)	/* of one message's payload */
#define XP_MAX_TEXT	4096
#define XP_MAX_PLACED	(1ULL << 40)	/* MIGRATE: pages-1.img at most */

#endif

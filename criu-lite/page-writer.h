/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing page data to pages-<id>.img while the next batch is being read.
 * Two batch buffers: the dumper fills one (process_vm_readv straight into
 * it) and marks the parts to store; a writer thread writes the other with
 * writev and starts its write-back at once (sync_file_range), so the final
 * fsync finds little left to do. No page is copied in between.
 */
#ifndef CRIU_LITE_PAGE_WRITER_H
#define CRIU_LITE_PAGE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "cr.h"

struct page_writer;

/* Writes to fd from byte offset off on; durable: start write-back of
 * each batch at once. */
struct page_writer *page_writer_start(int fd, uint64_t off, size_t batch_len,
				      bool durable, struct dump_stats *st);
/* The buffer to read the next batch into. */
uint8_t *page_writer_buffer(struct page_writer *w);
/* Stores len bytes at p, which must lie in the current buffer. */
int page_writer_add(struct page_writer *w, const void *p, size_t len);
/* Hands the current buffer to the writer; returns once the other one is
 * free to be filled (or -1 if a write failed). */
int page_writer_submit(struct page_writer *w);
/* Writes what is left, stops the thread; -1 if any write failed. */
int page_writer_finish(struct page_writer *w);

#endif

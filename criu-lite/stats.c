// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "stats.h"

#include "stats.pb-c.h"

static uint64_t us(uint64_t ns)
{
	return ns / 1000;
}

static void fill_dump(DumpStatsEntry *e, const struct dump_stats *st)
{
	e->freezing_time = us(st->freeze_ns);
	e->frozen_time = us(st->frozen_ns);
	e->memdump_time = us(st->read_ns);
	e->memwrite_time = us(st->write_ns);
	e->pages_scanned = st->pages_scanned;
	e->pages_skipped_parent = st->pages_parent;
	e->pages_written = st->pages_stored;
	e->pages_zero = st->pages_zero;
	e->pages_lazy = st->pages_lazy;
	e->has_fsync_time = true;
	e->fsync_time = us(st->sync_ns);
	e->has_bytes_written = true;
	e->bytes_written = st->bytes_written;
	e->has_total_time = true;
	e->total_time = us(st->total_ns);
	if (!st->precopy_rounds)
		return;
	e->has_precopy_rounds = e->has_precopy_pages = true;
	e->has_precopy_time = e->has_pages_reused = true;
	e->has_last_round_pages = true;
	e->precopy_rounds = st->precopy_rounds;
	e->precopy_pages = st->precopy_pages;
	e->precopy_time = us(st->precopy_ns);
	e->pages_reused = st->pages_reused;
	e->last_round_pages = st->last_round_pages;
}

static void fill_restore(RestoreStatsEntry *e, const struct restore_stats *st)
{
	e->forking_time = us(st->fork_ns);
	e->restore_time = us(st->total_ns);
	e->pages_restored = st->pages_written;
	e->has_pages_lazy = e->has_load_time = e->has_verify_time = true;
	e->has_pid_wait_time = e->has_memory_time = true;
	e->pages_lazy = st->pages_lazy;
	e->load_time = us(st->load_ns);
	e->verify_time = us(st->verify_ns);
	e->pid_wait_time = us(st->pid_wait_ns);
	e->memory_time = us(st->mm_ns);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !strcmp(s + n - t, tail);
}

/* One line per figure the entry holds, in the order of the .proto: the
 * name as in the file (and in show --json), the value, its unit. */
static void print_entry(const ProtobufCMessage *m, const char *title, FILE *out)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	fprintf(out, "Displaying %s stats:\n", title);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *p = (const char *)m + f->offset;
		uint64_t v;

		if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		    !*(const protobuf_c_boolean *)((const char *)m +
						   f->quantifier_offset))
			continue;
		v = f->type == PROTOBUF_C_TYPE_UINT32 ? *(const uint32_t *)p :
							*(const uint64_t *)p;
		fprintf(out, "  %-22s %14" PRIu64, f->name, v);
		if (ends_with(f->name, "_time"))
			fprintf(out, " us (%.1f ms)", v / 1e3);
		else if (!strncmp(f->name, "pages", 5) || ends_with(f->name, "_pages"))
			fprintf(out, " pages (%.1f MiB)", v * PAGE_SZ / 1048576.0);
		else if (!strncmp(f->name, "bytes", 5))
			fprintf(out, " bytes (%.1f MiB)", v / 1048576.0);
		fputc('\n', out);
	}
	fflush(out);
}

static int write_stats(int dirfd, const char *dir, enum img_type type,
		       const ProtobufCMessage *m)
{
	if (!img_write_one(dirfd, type, 0, m))
		return 0;
	pr_warn("%s: %s not written (the %s itself stands)", dir,
		img_desc(type)->name_fmt,
		type == IMG_STATS_DUMP ? "dump" : "restore");
	return -1;
}

int stats_record_dump(const char *dir, const struct dump_stats *st,
		      bool display, FILE *out)
{
	DumpStatsEntry e = DUMP_STATS_ENTRY__INIT;
	int dirfd, ret = -1;

	fill_dump(&e, st);
	if (display)
		print_entry(&e.base, "dump", out);
	dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dirfd < 0) {
		pr_warn("%s: stats-dump not written: %m", dir);
		return -1;
	}
	ret = write_stats(dirfd, dir, IMG_STATS_DUMP, &e.base);
	close(dirfd);
	return ret;
}

/* Restore may read images it can't write to (a read-only mount, another
 * user's directory): its stats then go nowhere, said once. */
static bool dir_writable(int dirfd, const char *dir)
{
	if (!faccessat(dirfd, ".", W_OK, AT_EACCESS))
		return true;
	pr_warn("%s is not writable (%m): stats-restore not written", dir);
	return false;
}

int stats_record_restore(int dirfd, const char *dir,
			 const struct restore_stats *st, bool display,
			 FILE *out)
{
	RestoreStatsEntry e = RESTORE_STATS_ENTRY__INIT;

	fill_restore(&e, st);
	if (display)
		print_entry(&e.base, "restore", out);
	if (!dir_writable(dirfd, dir))
		return -1;
	return write_stats(dirfd, dir, IMG_STATS_RESTORE, &e.base);
}

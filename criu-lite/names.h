/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Names for the numbers images hold: flag words as "PROT_READ|PROT_WRITE",
 * registers by name, one-line descriptions of a VMA and of an fd. Used by
 * show and by the debug log, so both say the same thing.
 */
#ifndef CRIU_LITE_NAMES_H
#define CRIU_LITE_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "fdinfo.pb-c.h"
#include "mm.pb-c.h"

struct flag_name {
	uint64_t bit;		/* a single bit, or a value under mask */
	const char *name;
};

/* The flag words images hold (a .zero name is used for 0) */
enum flag_set {
	FLAGS_PROT,		/* vma_entry.prot */
	FLAGS_MAP,		/* vma_entry.flags */
	FLAGS_PE,		/* pagemap_entry.flags */
	FLAGS_OPEN,		/* fd_entry.flags (O_ACCMODE named too) */
	FLAGS_SA,		/* sigaction_entry.flags */
	FLAGS_CODEC,		/* a PAGES_CODEC_* value: its name */
	FLAGS_NR,
};

/* "A|B|0x40" (bits without a name in hex); the set's zero name for 0.
 * Returns buf. */
const char *flags_str(enum flag_set set, uint64_t v, char *buf, size_t len);

/* Which set a field of a message holds, by message and field name, or -1. */
int flag_set_of(const char *msg_name, const char *field_name);

/* struct user_regs_struct, by name in its order; nr_regs entries. */
extern const char *const reg_names[];
extern const size_t nr_regs;

/* The name of an enum value of an image ("FD_REG"), or "?" */
const char *enum_name(const ProtobufCEnumDescriptor *d, int v);

/* One line each: "7f12...-7f13... rw-p VMA_ANON_PRIVATE 1.0 MiB [heap]". */
const char *describe_vma_entry(const VmaEntry *v, char *buf, size_t len);
/* "fd 3: FD_REG O_RDWR|O_APPEND pos 12 /var/log/x" */
const char *describe_fd_entry(const FdEntry *e, char *buf, size_t len);

#endif

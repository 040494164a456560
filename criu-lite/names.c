// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "names.h"
#include "page-frames.h"
#include "pagemap.h"

#define END	{ 0, NULL }

static const struct flag_name prot_names[] = {
	{ PROT_READ, "PROT_READ" }, { PROT_WRITE, "PROT_WRITE" },
	{ PROT_EXEC, "PROT_EXEC" }, END,
};

static const struct flag_name map_names[] = {
	{ MAP_SHARED, "MAP_SHARED" }, { MAP_PRIVATE, "MAP_PRIVATE" },
	{ MAP_ANONYMOUS, "MAP_ANONYMOUS" }, { MAP_GROWSDOWN, "MAP_GROWSDOWN" },
	{ MAP_NORESERVE, "MAP_NORESERVE" }, { MAP_LOCKED, "MAP_LOCKED" },
	{ MAP_HUGETLB, "MAP_HUGETLB" }, END,
};

static const struct flag_name pe_names[] = {
	{ PE_PRESENT, "PE_PRESENT" }, { PE_ZERO, "PE_ZERO" },
	{ PE_PARENT, "PE_PARENT" }, { PE_LAZY, "PE_LAZY" }, END,
};

/* The kernel's bits as fdinfo shows them on x86_64 (O_LARGEFILE too);
 * O_SYNC is __O_SYNC|O_DSYNC and shows as both. */
static const struct flag_name open_names[] = {
	{ O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" }, { O_NOCTTY, "O_NOCTTY" },
	{ O_TRUNC, "O_TRUNC" }, { O_APPEND, "O_APPEND" },
	{ O_NONBLOCK, "O_NONBLOCK" }, { O_DSYNC, "O_DSYNC" },
	{ O_ASYNC, "O_ASYNC" }, { O_DIRECT, "O_DIRECT" },
	{ 0100000, "O_LARGEFILE" }, { O_DIRECTORY, "O_DIRECTORY" },
	{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" },
	{ O_CLOEXEC, "O_CLOEXEC" }, { 04000000, "O_SYNC" },
	{ O_PATH, "O_PATH" }, { 020000000, "O_TMPFILE" }, END,
};

static const struct flag_name sa_names[] = {
	{ SA_NOCLDSTOP, "SA_NOCLDSTOP" }, { SA_NOCLDWAIT, "SA_NOCLDWAIT" },
	{ SA_SIGINFO, "SA_SIGINFO" }, { 0x04000000, "SA_RESTORER" },
	{ SA_ONSTACK, "SA_ONSTACK" }, { SA_RESTART, "SA_RESTART" },
	{ SA_NODEFER, "SA_NODEFER" }, { SA_RESETHAND, "SA_RESETHAND" }, END,
};

static const struct {
	const struct flag_name *names;
	const char *zero;
} sets[FLAGS_NR] = {
	[FLAGS_PROT] = { prot_names, "PROT_NONE" },
	[FLAGS_MAP]  = { map_names, "0" },
	[FLAGS_PE]   = { pe_names, "0" },
	[FLAGS_OPEN] = { open_names, "O_RDONLY" },
	[FLAGS_SA]   = { sa_names, "0" },
	[FLAGS_CODEC] = { NULL, "none" },
};

static const char *const accmode[] = { "O_RDONLY", "O_WRONLY", "O_RDWR",
				       "O_ACCMODE" };

static size_t add(char *buf, size_t len, size_t n, const char *s)
{
	if (n < len)
		n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "", s);
	return n;
}

const char *flags_str(enum flag_set set, uint64_t v, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	if (set == FLAGS_CODEC) {	/* a value, not bits */
		const char *name = pages_codec_name(v);

		if (name)
			snprintf(buf, len, "%s", name);
		else
			snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	if (set == FLAGS_OPEN) {	/* the access mode is a value, not bits */
		n = add(buf, len, n, accmode[v & O_ACCMODE]);
		v &= ~(uint64_t)O_ACCMODE;
	} else if (!v) {
		snprintf(buf, len, "%s", sets[set].zero);
		return buf;
	}
	for (const struct flag_name *f = sets[set].names; f->name; f++) {
		if (v & f->bit) {
			n = add(buf, len, n, f->name);
			v &= ~f->bit;
		}
	}
	if (v && n < len)
		snprintf(buf + n, len - n, "%s%#llx", n ? "|" : "",
			 (unsigned long long)v);
	return buf;
}

int flag_set_of(const char *msg, const char *field)
{
	static const struct { const char *msg, *field; enum flag_set set; } t[] = {
		{ "VmaEntry", "prot", FLAGS_PROT },
		{ "VmaEntry", "flags", FLAGS_MAP },
		{ "PagemapEntry", "flags", FLAGS_PE },
		{ "FdEntry", "flags", FLAGS_OPEN },
		{ "SigactionEntry", "flags", FLAGS_SA },
		{ "PagesFrame", "codec", FLAGS_CODEC },
		{ "InventoryEntry", "pages_codec", FLAGS_CODEC },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(msg, t[i].msg) && !strcmp(field, t[i].field))
			return t[i].set;
	return -1;
}

/* struct user_regs_struct of x86_64, in its order */
const char *const reg_names[] = {
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
	"rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
	"rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
};
const size_t nr_regs = sizeof(reg_names) / sizeof(reg_names[0]);

const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);

	return ev ? ev->name : "?";
}

const char *describe_vma_entry(const VmaEntry *v, char *buf, size_t len)
{
	uint64_t size = v->end - v->start;

	snprintf(buf, len, "%012llx-%012llx %c%c%c%c %-16s %8.1f %s pgoff %#llx %s",
		 (unsigned long long)v->start, (unsigned long long)v->end,
		 v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
		 v->prot & PROT_EXEC ? 'x' : '-',
		 v->flags & MAP_SHARED ? 's' : 'p',
		 enum_name(&vma_kind__descriptor, v->kind),
		 size >= (1 << 20) ? size / 1048576.0 : size / 1024.0,
		 size >= (1 << 20) ? "MiB" : "KiB",
		 (unsigned long long)(v->has_pgoff ? v->pgoff : 0),
		 v->path ? v->path : "");
	return buf;
}

/* "127.0.0.1:80" or "[::1]:80" from a stored sockaddr, "*" if none */
static const char *inet_addr_str(const ProtobufCBinaryData *b, char *buf,
				 size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;

	if (b->len == sizeof(a4)) {
		memcpy(&a4, b->data, sizeof(a4));
		inet_ntop(AF_INET, &a4.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(a4.sin_port));
	} else if (b->len == sizeof(a6)) {
		memcpy(&a6, b->data, sizeof(a6));
		inet_ntop(AF_INET6, &a6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(a6.sin6_port));
	} else {
		snprintf(buf, len, "*");
	}
	return buf;
}

/* " tcp 127.0.0.1:80 state 10", " udp 127.0.0.1:53 -> 10.0.0.1:53" */
static void describe_inet(const InetSk *k, char *buf, size_t len)
{
	char l[64], p[64];

	char pend[64] = "";

	if (k->has_listener_ino)
		snprintf(pend, sizeof(pend), " (not accepted yet by %llu)",
			 (unsigned long long)k->listener_ino);
	snprintf(buf, len, " %s%s %s%s%s state %u ino %llu%s%s",
		 k->type == SOCK_STREAM ? "tcp" :
		 k->protocol == IPPROTO_UDPLITE ? "udplite" :
		 k->protocol == IPPROTO_ICMP ? "icmp" :
		 k->protocol == IPPROTO_ICMPV6 ? "icmp" : "udp",
		 k->family == AF_INET6 ? "6" : "",
		 inet_addr_str(&k->local, l, sizeof(l)),
		 k->has_peer ? " -> " : "",
		 k->has_peer ? inet_addr_str(&k->peer, p, sizeof(p)) : "",
		 k->state, (unsigned long long)k->ino,
		 k->tcp ? " (repair state)" : "", pend);
}

const char *describe_fd_entry(const FdEntry *e, char *buf, size_t len)
{
	char fl[256];
	int n;

	n = snprintf(buf, len, "fd %u: %s %s%s", e->fd,
		     enum_name(&fd_type__descriptor, e->type),
		     flags_str(FLAGS_OPEN, e->flags, fl, sizeof(fl)),
		     e->cloexec ? " cloexec" : "");
	if (n < (int)len && e->has_pos)
		n += snprintf(buf + n, len - n, " pos %llu",
			      (unsigned long long)e->pos);
	if (n < (int)len && e->path)
		n += snprintf(buf + n, len - n, " %s", e->path);
	if (n < (int)len && e->usk)
		snprintf(buf + n, len - n, " unix ino %llu%s",
			 (unsigned long long)e->usk->ino,
			 e->usk->has_peer_ino ? " (connected)" : "");
	if (n < (int)len && e->isk)
		describe_inet(e->isk, buf + n, len - n);
	return buf;
}

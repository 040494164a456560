// SPDX-License-Identifier: GPL-2.0
/*
 * The image library (images/image.h): every image type survives a write
 * and a read bit for bit, and a reader refuses, with a message naming the
 * file, anything that is not exactly what a writer produced: wrong magics,
 * truncated headers and entries, corrupt lengths and payloads.
 */
#include "testlib.h"

#include <sys/mman.h>

#include "csum.h"
#include "image.h"
#include "log.h"
#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "task.pb-c.h"

struct img_fixture {
	char *dir;
	int dirfd;
};

static int setup_dir(void **state)
{
	struct img_fixture *f = calloc(1, sizeof(*f));

	f->dir = tl_mkdtemp();
	f->dirfd = open(f->dir, O_DIRECTORY | O_RDONLY);
	assert_true(f->dirfd >= 0);
	*state = f;
	return 0;
}

static int teardown_dir(void **state)
{
	struct img_fixture *f = *state;

	close(f->dirfd);
	tl_rmdir(f->dir);
	free(f);
	return 0;
}

static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

static void assert_msg_equal(const ProtobufCMessage *a,
			     const ProtobufCMessage *b)
{
	size_t la, lb;
	uint8_t *pa = packed(a, &la), *pb = packed(b, &lb);

	assert_ptr_equal(a->descriptor, b->descriptor);
	assert_int_equal(la, lb);
	assert_memory_equal(pa, pb, la);
	free(pa);
	free(pb);
}

/* Writes msgs as image (type, id), reads them back one by one and expects
 * each to pack to the same bytes, then end of file. */
static void roundtrip(struct img_fixture *f, enum img_type type, unsigned id,
		      const ProtobufCMessage **msgs, size_t n)
{
	struct cr_img *img = img_open_write(f->dirfd, type, id);
	ProtobufCMessage *m = NULL;

	assert_non_null(img);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(img_write_msg(img, msgs[i]), 0);
	assert_int_equal(img_close(img), 0);

	img = img_open_read(f->dirfd, type, id, false);
	assert_non_null(img);
	assert_int_equal(img->type, type);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(img_read_msg(img, &m), 1);
		assert_msg_equal(msgs[i], m);
		img_free_msg(img, m);
	}
	assert_int_equal(img_read_msg(img, &m), 0);
	assert_int_equal(img_read_msg(img, &m), 0);	/* EOF stays EOF */
	assert_int_equal(img_close(img), 0);
}

static void test_inventory(void **state)
{
	InventoryEntry e = INVENTORY_ENTRY__INIT;
	const ProtobufCMessage *msgs[] = { &e.base };
	InventoryEntry *r;

	e.tool_version = "0.1";
	e.kernel_release = "6.18.44-test";
	e.xsave_features = 0x2e7;
	e.page_size = 4096;
	e.root_pid = 4242;
	e.parent = "../pre1";
	e.has_pages_id = true;
	e.pages_id = 3;
	e.has_dump_time_ns = true;
	e.dump_time_ns = 123456789012ULL;
	roundtrip(*state, IMG_INVENTORY, 0, msgs, 1);

	/* img_read_one gives the decoded fields back */
	r = (InventoryEntry *)img_read_one(((struct img_fixture *)*state)->dirfd,
					   IMG_INVENTORY, 0);
	assert_non_null(r);
	assert_string_equal(r->kernel_release, "6.18.44-test");
	assert_int_equal(r->root_pid, 4242);
	assert_true(r->has_pages_id);
	assert_int_equal(r->pages_id, 3);
	assert_false(r->has_qmp_stopped);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_pstree(void **state)
{
	uint32_t t1[] = { 100, 101, 102 }, t2[] = { 200 };
	PstreeEntry a = PSTREE_ENTRY__INIT, b = PSTREE_ENTRY__INIT;
	const ProtobufCMessage *msgs[] = { &a.base, &b.base };

	a.pid = 100; a.ppid = 1; a.pgid = 100; a.sid = 100;
	a.n_threads = 3; a.threads = t1;
	b.pid = 200; b.ppid = 100; b.pgid = 100; b.sid = 100;
	b.n_threads = 1; b.threads = t2;
	roundtrip(*state, IMG_PSTREE, 0, msgs, 2);
}

static void test_core(void **state)
{
	uint8_t regs[216], xstate[2696], si[2][128];
	SigaltstackEntry sas = SIGALTSTACK_ENTRY__INIT;
	SiginfoEntry p0 = SIGINFO_ENTRY__INIT, p1 = SIGINFO_ENTRY__INIT;
	SiginfoEntry *pend[] = { &p0, &p1 };
	CoreEntry e = CORE_ENTRY__INIT;
	const ProtobufCMessage *msgs[] = { &e.base };
	struct img_fixture *f = *state;
	CoreEntry *r;

	for (size_t i = 0; i < sizeof(regs); i++)
		regs[i] = i * 7;
	for (size_t i = 0; i < sizeof(xstate); i++)
		xstate[i] = i ^ 0x5a;
	memset(si, 0xa5, sizeof(si));
	e.tid = 77;
	e.regs.len = sizeof(regs); e.regs.data = regs;
	e.xstate.len = sizeof(xstate); e.xstate.data = xstate;
	e.sigmask = 1ULL << 9 | 1ULL << 63;
	e.comm = "worker (x)";
	e.has_rseq_addr = true; e.rseq_addr = 0x7f0000001000ULL;
	e.has_rseq_len = true; e.rseq_len = 32;
	e.has_rseq_sig = true; e.rseq_sig = 0x53053053;
	e.has_clear_tid = true; e.clear_tid = 0x7f0000002000ULL;
	sas.sp = 0x7f0000100000ULL; sas.flags = 0; sas.size = 8192;
	e.sas = &sas;
	p0.siginfo.len = 128; p0.siginfo.data = si[0]; p0.shared = false;
	p1.siginfo.len = 128; p1.siginfo.data = si[1]; p1.shared = true;
	e.n_pending = 2; e.pending = pend;
	roundtrip(f, IMG_CORE, 77, msgs, 1);

	r = (CoreEntry *)img_read_one(f->dirfd, IMG_CORE, 77);
	assert_non_null(r);
	assert_int_equal(r->regs.len, sizeof(regs));
	assert_memory_equal(r->regs.data, regs, sizeof(regs));
	assert_memory_equal(r->xstate.data, xstate, sizeof(xstate));
	assert_non_null(r->sas);
	assert_int_equal(r->sas->size, 8192);
	assert_int_equal(r->n_pending, 2);
	assert_true(r->pending[1]->shared);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* another tid is another file */
	assert_null(img_open_read(f->dirfd, IMG_CORE, 78, true));
	assert_int_equal(errno, ENOENT);
}

static void test_mm(void **state)
{
	VmaEntry v[3] = { VMA_ENTRY__INIT, VMA_ENTRY__INIT, VMA_ENTRY__INIT };
	VmaEntry *vp[] = { &v[0], &v[1], &v[2] };
	uint8_t auxv[368];
	MmEntry e = MM_ENTRY__INIT;
	const ProtobufCMessage *msgs[] = { &e.base };

	memset(auxv, 0x11, sizeof(auxv));
	v[0].start = 0x400000; v[0].end = 0x401000; v[0].prot = 5;
	v[0].flags = 2; v[0].kind = VMA_KIND__VMA_FILE_PRIVATE;
	v[0].path = "/usr/bin/a b (deleted)"; v[0].has_pgoff = true;
	v[0].pgoff = 0x1000; v[0].has_dev = true; v[0].dev = 0xfe00;
	v[0].has_ino = true; v[0].ino = 123456;
	v[1].start = 0x7f0000000000ULL; v[1].end = 0x7f0040000000ULL;
	v[1].prot = 3; v[1].flags = 0x22; v[1].kind = VMA_KIND__VMA_ANON_PRIVATE;
	v[1].has_madv = true; v[1].madv = 1ULL << 14 | 1ULL << 16;
	v[2].start = 0x7fff0000; v[2].end = 0x7fff2000; v[2].prot = 5;
	v[2].flags = 2; v[2].kind = VMA_KIND__VMA_VDSO; v[2].path = "[vdso]";
	e.n_vmas = 3; e.vmas = vp;
	e.start_code = 1; e.end_code = 2; e.start_data = 3; e.end_data = 4;
	e.start_brk = 5; e.brk = 6; e.start_stack = 7; e.arg_start = 8;
	e.arg_end = 9; e.env_start = 10; e.env_end = 11;
	e.has_auxv = true; e.auxv.len = sizeof(auxv); e.auxv.data = auxv;
	e.exe = "/usr/bin/memhog";
	roundtrip(*state, IMG_MM, 1234, msgs, 1);
}

/* Many entries: the writer's 64 KiB buffer is flushed several times. */
static void test_pagemap_many(void **state)
{
	enum { N = 20000 };
	PagemapEntry *e = calloc(N, sizeof(*e));
	const ProtobufCMessage **msgs = calloc(N, sizeof(*msgs));

	for (size_t i = 0; i < N; i++) {
		PagemapEntry init = PAGEMAP_ENTRY__INIT;

		e[i] = init;
		e[i].vaddr = 0x7f0000000000ULL + i * 0x10000;
		e[i].nr_pages = 1 + i % 300;
		e[i].flags = i % 3 ? 1 : 2;
		e[i].checksum = 0x9e3779b97f4a7c15ULL * (i + 1);
		e[i].has_offset = e[i].flags == 1;
		e[i].offset = i * 4096ULL;
		msgs[i] = &e[i].base;
	}
	roundtrip(*state, IMG_PAGEMAP, 5, msgs, N);
	free(msgs);
	free(e);
}

/* One entry larger than the writer's buffer (a pipe's contents). */
static void test_fdinfo(void **state)
{
	size_t big = 3 << 20;
	uint8_t *data = malloc(big);
	EpollTfd t0 = EPOLL_TFD__INIT, t1 = EPOLL_TFD__INIT;
	EpollTfd *tfds[] = { &t0, &t1 };
	UnixSk usk = UNIX_SK__INIT;
	FdEntry ev = FD_ENTRY__INIT, ep = FD_ENTRY__INIT, pi = FD_ENTRY__INIT;
	FdEntry un = FD_ENTRY__INIT, tf = FD_ENTRY__INIT;
	const ProtobufCMessage *msgs[] = {
		&ev.base, &ep.base, &pi.base, &un.base, &tf.base,
	};

	for (size_t i = 0; i < big; i++)
		data[i] = i * 31 + (i >> 12);
	ev.fd = 3; ev.type = FD_TYPE__FD_EVENTFD; ev.flags = 04002;
	ev.cloexec = true; ev.has_count = true; ev.count = 5;
	t0.tfd = 3; t0.events = 0x19; t0.data = 0x1234abcd;
	t1.tfd = 5; t1.events = 0x80000019; t1.data = 0xdeadbeefcafef00dULL;
	ep.fd = 7; ep.type = FD_TYPE__FD_EPOLL; ep.flags = 2;
	ep.n_tfds = 2; ep.tfds = tfds;
	pi.fd = 10; pi.type = FD_TYPE__FD_PIPE; pi.flags = 0;
	pi.has_id = true; pi.id = 99999;
	pi.has_data = true; pi.data.len = big; pi.data.data = data;
	pi.has_pipe_sz = true; pi.pipe_sz = 4 << 20;
	usk.type = 1; usk.state = 10; usk.ino = 555;
	usk.has_name = true; usk.name.len = 6; usk.name.data = (uint8_t *)"\0abstr";
	un.fd = 11; un.type = FD_TYPE__FD_UNIX; un.flags = 2; un.usk = &usk;
	tf.fd = 12; tf.type = FD_TYPE__FD_TIMERFD; tf.flags = 2;
	tf.has_clockid = true; tf.clockid = 1;
	tf.has_it_value_ns = true; tf.it_value_ns = 99979016403ULL;
	tf.has_it_interval_ns = true; tf.it_interval_ns = 2500000000ULL;
	roundtrip(*state, IMG_FDINFO, 1, msgs, 5);
	free(data);
}

static void test_task(void **state)
{
	SigactionEntry sa = SIGACTION_ENTRY__INIT;
	SigactionEntry *sas[] = { &sa };
	RlimitEntry rl[2] = { RLIMIT_ENTRY__INIT, RLIMIT_ENTRY__INIT };
	RlimitEntry *rls[] = { &rl[0], &rl[1] };
	TaskEntry e = TASK_ENTRY__INIT;
	const ProtobufCMessage *msgs[] = { &e.base };

	sa.sig = 2; sa.handler = 0x401000; sa.flags = 0x14000000;
	sa.restorer = 0x7f0000003000ULL; sa.mask = 0;
	rl[0].resource = 7; rl[0].cur = 1024; rl[0].max = 4096;
	rl[1].resource = 3; rl[1].cur = 8 << 20; rl[1].max = UINT64_MAX;
	e.pid = 4242; e.cwd = "/tmp/dir with spaces"; e.umask = 027;
	e.n_sigactions = 1; e.sigactions = sas;
	e.n_rlimits = 2; e.rlimits = rls;
	e.has_no_new_privs = true; e.no_new_privs = true;
	e.comm = "rec) (x y";
	roundtrip(*state, IMG_TASK, 4242, msgs, 1);
}

static void test_created_0600(void **state)
{
	struct img_fixture *f = *state;
	PstreeEntry e = PSTREE_ENTRY__INIT;
	struct stat st;

	assert_int_equal(img_write_one(f->dirfd, IMG_PSTREE, 0, &e.base), 0);
	assert_int_equal(fstatat(f->dirfd, "pstree.img", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_type_of_name(void **state)
{
	static const struct { const char *name; int type; } cases[] = {
		{ "inventory.img", IMG_INVENTORY },
		{ "pstree.img", IMG_PSTREE },
		{ "core-1.img", IMG_CORE },
		{ "core-4294967295.img", IMG_CORE },
		{ "mm-77.img", IMG_MM },
		{ "pagemap-77.img", IMG_PAGEMAP },
		{ "fdinfo-77.img", IMG_FDINFO },
		{ "task-77.img", IMG_TASK },
		{ "pages-1.img", IMG_PAGES },
		{ "core-.img", -1 },
		{ "core-1.img.bak", -1 },
		{ "core-1x.img", -1 },
		{ "core-1.im", -1 },
		{ "core-1", -1 },
		{ "core.img", -1 },
		{ "inventory.img~", -1 },
		{ "xinventory.img", -1 },
		{ "pagemap.img", -1 },
		{ "pages-x.img", -1 },
		{ "", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int t = img_type_of_name(cases[i].name);

		if (t != cases[i].type)
			fail_msg("img_type_of_name(\"%s\") = %d, want %d",
				 cases[i].name, t, cases[i].type);
	}
	/* the name each type is written under maps back to the type */
	for (int t = 0; t < IMG_NR_TYPES; t++) {
		char name[64];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(name, sizeof(name), img_desc(t)->name_fmt, 12u);
#pragma GCC diagnostic pop
		assert_int_equal(img_type_of_name(name), t);
	}
}

/* Names that only look like an image: a sign, a space or an overflowing
 * id. sscanf("%u") accepts all of them. */
static void test_type_of_name_strict(void **state)
{
	static const char *bad[] = {
		"core--1.img", "core-+1.img", "core- 1.img", "core-1 .img",
		"core-99999999999.img",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (img_type_of_name(bad[i]) != -1)
			fail_msg("img_type_of_name(\"%s\") accepted it", bad[i]);
}

static void test_type_of_magic(void **state)
{
	(void)state;
	for (int t = 0; t < IMG_NR_TYPES; t++) {
		if (!img_desc(t)->magic)
			continue;
		assert_int_equal(img_type_of_magic(img_desc(t)->magic), t);
		for (int u = 0; u < t; u++)
			assert_int_not_equal(img_desc(t)->magic,
					     img_desc(u)->magic);
	}
	assert_int_equal(img_type_of_magic(0), -1);
	assert_int_equal(img_type_of_magic(IMG_COMMON_MAGIC), -1);
	assert_int_equal(img_type_of_magic(0xdeadbeef), -1);
}

/* ---- refusals ---- */

/* A two-entry core-1.img; returns its bytes without the checksum trailer
 * (len: their count) and the offset of entry 2. */
static uint8_t *good_core(struct img_fixture *f, size_t *len, size_t *second)
{
	uint8_t regs[64] = { 1, 2, 3 };
	CoreEntry a = CORE_ENTRY__INIT, b = CORE_ENTRY__INIT;
	struct cr_img *img = img_open_write(f->dirfd, IMG_CORE, 1);
	struct stat st;
	uint8_t *buf;
	int fd;

	a.tid = 1; a.regs.len = sizeof(regs); a.regs.data = regs;
	a.xstate.len = 0; a.sigmask = 0;
	b = a;
	b.tid = 2;
	b.comm = "second";
	assert_non_null(img);
	assert_int_equal(img_write_msg(img, &a.base), 0);
	assert_int_equal(img_write_msg(img, &b.base), 0);
	assert_int_equal(img_close(img), 0);
	*second = IMG_HDR_SIZE + 4 + protobuf_c_message_get_packed_size(&a.base);

	fd = openat(f->dirfd, "core-1.img", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = st.st_size;
	buf = malloc(*len);
	assert_int_equal(read(fd, buf, *len), *len);
	close(fd);
	*len -= IMG_TAIL_SIZE;
	assert_int_equal(*len, *second + 4 +
			 protobuf_c_message_get_packed_size(&b.base));
	return buf;
}

static void put_file(struct img_fixture *f, const char *name,
		     const void *buf, size_t len)
{
	int fd = openat(f->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), len);
	close(fd);
}

/* buf with a valid checksum trailer: to reach the decoder with bytes the
 * checksum would otherwise refuse. */
static void put_sealed(struct img_fixture *f, const char *name,
		       const void *buf, size_t len)
{
	uint8_t *b = malloc(len + IMG_TAIL_SIZE);
	uint32_t tail[2] = { IMG_TAIL_MAGIC, crc32c(buf, len) };

	assert_non_null(b);
	memcpy(b, buf, len);
	memcpy(b + len, tail, sizeof(tail));
	put_file(f, name, b, len + sizeof(tail));
	free(b);
}

/* Opening core-1.img must fail, and the message must name the file and
 * contain what. */
static void expect_open_refused(struct img_fixture *f, const char *what)
{
	struct tl_capture cap;
	struct cr_img *img;
	char *err;

	tl_capture_start(&cap, STDERR_FILENO);
	img = img_open_read(f->dirfd, IMG_CORE, 1, false);
	err = tl_capture_end(&cap);
	if (img)
		fail_msg("core-1.img opened; wanted refusal: %s", what);
	assert_contains(err, "core-1.img");
	assert_contains(err, what);
	free(err);
}

/* Entry 1 reads, entry 2 is refused with a message naming the file, the
 * offset of entry 2 and what. */
static void expect_second_refused(struct img_fixture *f, size_t second,
				  const char *what)
{
	struct cr_img *img = img_open_read(f->dirfd, IMG_CORE, 1, false);
	ProtobufCMessage *m = NULL;
	struct tl_capture cap;
	char *err, off[32];
	int ret;

	assert_non_null(img);
	assert_int_equal(img_read_msg(img, &m), 1);
	assert_int_equal(((CoreEntry *)m)->tid, 1);
	img_free_msg(img, m);
	tl_capture_start(&cap, STDERR_FILENO);
	ret = img_read_msg(img, &m);
	err = tl_capture_end(&cap);
	assert_int_equal(ret, -1);
	assert_contains(err, "core-1.img");
	snprintf(off, sizeof(off), "offset %zu", second);
	assert_contains(err, off);
	assert_contains(err, what);
	free(err);
	img_close(img);
}

static void test_good_core_reads(void **state)
{
	struct img_fixture *f = *state;
	size_t len, second;
	uint8_t *buf = good_core(f, &len, &second);
	struct cr_img *img = img_open_read(f->dirfd, IMG_CORE, 1, false);
	ProtobufCMessage *m;

	assert_non_null(img);
	assert_int_equal(img_read_msg(img, &m), 1);
	img_free_msg(img, m);
	assert_int_equal(img_read_msg(img, &m), 1);
	assert_string_equal(((CoreEntry *)m)->comm, "second");
	img_free_msg(img, m);
	assert_int_equal(img_read_msg(img, &m), 0);
	img_close(img);
	free(buf);
}

static void test_wrong_common_magic(void **state)
{
	struct img_fixture *f = *state;
	size_t len, second;
	uint8_t *buf = good_core(f, &len, &second);

	buf[0] ^= 0x20;			/* "cRL2" */
	put_sealed(f, "core-1.img", buf, len);
	expect_open_refused(f, "bad magic");
	/* format 1's magic gets its own message */
	memcpy(buf, &(uint32_t){ IMG_OLD_MAGIC }, 4);
	put_sealed(f, "core-1.img", buf, len);
	expect_open_refused(f, "image format 1");
	free(buf);
}

static void test_wrong_type_magic(void **state)
{
	struct img_fixture *f = *state;
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	struct cr_img *img;

	/* a valid pstree image under a core image's name */
	assert_int_equal(img_write_one(f->dirfd, IMG_PSTREE, 0, &pe.base), 0);
	assert_int_equal(renameat(f->dirfd, "pstree.img", f->dirfd,
				  "core-1.img"), 0);
	expect_open_refused(f, "type magic");

	/* by path, the type comes from the magic: it is a pstree image */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/core-1.img", f->dir);
		img = img_open_path(path);
		assert_non_null(img);
		assert_int_equal(img->type, IMG_PSTREE);
		img_close(img);
	}
}

static void test_unknown_type_magic_by_path(void **state)
{
	struct img_fixture *f = *state;
	uint32_t hdr[3] = { IMG_COMMON_MAGIC, 0x0badf00d, 0 };
	struct tl_capture cap;
	struct cr_img *img;
	char path[4096], *err;

	put_sealed(f, "mystery.img", hdr, sizeof(hdr));
	snprintf(path, sizeof(path), "%s/mystery.img", f->dir);
	tl_capture_start(&cap, STDERR_FILENO);
	img = img_open_path(path);
	err = tl_capture_end(&cap);
	assert_null(img);
	assert_contains(err, "mystery.img");
	assert_contains(err, "unknown type magic");
	free(err);
}

static void test_truncated_header(void **state)
{
	struct img_fixture *f = *state;
	size_t len, second;
	uint8_t *buf = good_core(f, &len, &second);

	for (size_t cut = 0; cut < IMG_HDR_SIZE; cut++) {
		put_file(f, "core-1.img", buf, cut);
		expect_open_refused(f, "truncated");
	}
	free(buf);
}

static void test_header_only_is_empty(void **state)
{
	struct img_fixture *f = *state;
	size_t len, second;
	uint8_t *buf = good_core(f, &len, &second);
	struct cr_img *img;
	ProtobufCMessage *m;
	struct tl_capture cap;
	char *err;

	put_sealed(f, "core-1.img", buf, IMG_HDR_SIZE);
	img = img_open_read(f->dirfd, IMG_CORE, 1, false);
	assert_non_null(img);
	assert_int_equal(img_read_msg(img, &m), 0);
	img_close(img);
	/* but a one-entry image must have its entry */
	tl_capture_start(&cap, STDERR_FILENO);
	m = img_read_one(f->dirfd, IMG_CORE, 1);
	err = tl_capture_end(&cap);
	assert_null(m);
	assert_contains(err, "core-1.img");
	assert_contains(err, "no entry");
	free(err);
	free(buf);
}

static void test_truncated_entry(void **state)
{
	struct img_fixture *f = *state;
	size_t len, second;
	uint8_t *buf = good_core(f, &len, &second);

	/* cut inside the second entry's length word */
	for (size_t cut = second + 1; cut < second + 4; cut++) {
		put_sealed(f, "core-1.img", buf, cut);
		expect_second_refused(f, second, "truncated entry header");
	}
	/* cut inside its payload: every length from 0 to all but one byte */
	for (size_t cut = second + 4; cut < len; cut++) {
		put_sealed(f, "core-1.img", buf, cut);
		expect_second_refused(f, second, "truncated");
	}
	free(buf);
}

static void test_corrupt_entry_length(void **state)
{
	struct img_fixture *f = *state;
	static const uint32_t lens[] = {
		0xffffffffu, IMG_MAX_ENTRY + 1, 1u << 20,
	};
	size_t len, second;
	uint8_t *buf = good_core(f, &len, &second);
	uint32_t l;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(buf + second, &lens[i], 4);
		put_sealed(f, "core-1.img", buf, len);
		expect_second_refused(f, second, "corrupt entry");
	}
	/* one byte longer than what is left */
	l = len - second - 4 + 1;
	memcpy(buf + second, &l, 4);
	put_sealed(f, "core-1.img", buf, len);
	expect_second_refused(f, second, "truncated or corrupt");
	free(buf);
}

static void test_corrupt_payload(void **state)
{
	struct img_fixture *f = *state;
	size_t len, second;
	uint8_t *buf = good_core(f, &len, &second);

	/* an unterminated varint and invalid wire types */
	memset(buf + second + 4, 0xff, len - second - 4);
	put_sealed(f, "core-1.img", buf, len);
	expect_second_refused(f, second, "corrupt CoreEntry entry");
	free(buf);
}

/* A payload that decodes but lacks a required field is refused too. */
static void test_missing_required_field(void **state)
{
	struct img_fixture *f = *state;
	/* only field 1 (tid = 5): regs, xstate and sigmask are missing */
	uint8_t bad[] = { 0, 0, 0, 0, 0, 0, 0, 0,	/* magics, below */
			  1, 0, 0, 0,			/* id */
			  2, 0, 0, 0, 0x08, 0x05 };
	struct cr_img *img;
	ProtobufCMessage *m = NULL;
	struct tl_capture cap;
	char *err;
	int ret;

	memcpy(bad, &(uint32_t){ IMG_COMMON_MAGIC }, 4);
	memcpy(bad + 4, &(uint32_t){ img_desc(IMG_CORE)->magic }, 4);
	put_sealed(f, "core-1.img", bad, sizeof(bad));
	img = img_open_read(f->dirfd, IMG_CORE, 1, false);
	assert_non_null(img);
	tl_capture_start(&cap, STDERR_FILENO);
	ret = img_read_msg(img, &m);
	err = tl_capture_end(&cap);
	assert_int_equal(ret, -1);
	assert_contains(err, "offset 12");
	free(err);
	img_close(img);
}

/* Without resealing, any one flipped bit anywhere in the file, and any
 * cut, is refused when the file is opened: nothing of it is decoded. */
static void test_checksum_refuses_flips_and_cuts(void **state)
{
	struct img_fixture *f = *state;
	size_t len, second;
	uint8_t *buf = good_core(f, &len, &second);
	size_t flen = len + IMG_TAIL_SIZE;

	/* good_core's file is still there: its real trailer follows buf */
	free(buf);
	buf = malloc(flen);
	{
		int fd = openat(f->dirfd, "core-1.img", O_RDONLY);

		assert_int_equal(read(fd, buf, flen), flen);
		close(fd);
	}
	for (size_t bit = IMG_HDR_SIZE * 8; bit < flen * 8; bit++) {
		buf[bit / 8] ^= 1 << (bit % 8);
		put_file(f, "core-1.img", buf, flen);
		expect_open_refused(f, bit / 8 < len ? "checksum mismatch" :
				    "");
		buf[bit / 8] ^= 1 << (bit % 8);
	}
	for (size_t cut = IMG_HDR_SIZE; cut < flen; cut++) {
		put_file(f, "core-1.img", buf, cut);
		expect_open_refused(f, "");
	}
	free(buf);
}

/* A file renamed (or swapped with another of its kind) is refused: its
 * header holds the id of its name. */
static void test_id_mismatch(void **state)
{
	struct img_fixture *f = *state;
	size_t len, second;
	uint8_t *buf = good_core(f, &len, &second);
	struct tl_capture cap;
	struct cr_img *img;
	char *err;

	assert_int_equal(renameat(f->dirfd, "core-1.img", f->dirfd,
				  "core-2.img"), 0);
	tl_capture_start(&cap, STDERR_FILENO);
	img = img_open_read(f->dirfd, IMG_CORE, 2, false);
	err = tl_capture_end(&cap);
	assert_null(img);
	assert_contains(err, "core-2.img: holds the image of 1");
	free(err);
	free(buf);
}

static void test_missing_file(void **state)
{
	struct img_fixture *f = *state;
	struct tl_capture cap;
	struct cr_img *img;
	char *err;

	tl_capture_start(&cap, STDERR_FILENO);
	img = img_open_read(f->dirfd, IMG_MM, 9, true);
	err = tl_capture_end(&cap);
	assert_null(img);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "");		/* quiet_enoent */
	free(err);

	tl_capture_start(&cap, STDERR_FILENO);
	img = img_open_read(f->dirfd, IMG_MM, 9, false);
	err = tl_capture_end(&cap);
	assert_null(img);
	assert_contains(err, "mm-9.img");
	free(err);
}

static void test_entry_too_large(void **state)
{
	struct img_fixture *f = *state;
	size_t big = IMG_MAX_ENTRY + 4096;
	/* never touched: get_packed_size only needs the length */
	void *data = mmap(NULL, big, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	FdEntry e = FD_ENTRY__INIT;
	struct cr_img *img = img_open_write(f->dirfd, IMG_FDINFO, 1);
	struct tl_capture cap;
	char *err;
	int ret;

	assert_true(data != MAP_FAILED);
	assert_non_null(img);
	e.has_data = true;
	e.data.len = big;
	e.data.data = data;
	tl_capture_start(&cap, STDERR_FILENO);
	ret = img_write_msg(img, &e.base);
	err = tl_capture_end(&cap);
	assert_int_equal(ret, -1);
	assert_contains(err, "fdinfo-1.img");
	assert_contains(err, "too large");
	free(err);
	img_close(img);
	munmap(data, big);
}

/* A write that the filesystem loses is reported by img_close. */
static void test_close_reports_lost_write(void **state)
{
	struct img_fixture *f = *state;
	PstreeEntry e = PSTREE_ENTRY__INIT;
	struct tl_capture cap;
	struct cr_img *img;
	char *err;
	int ret;

	if (access("/dev/full", W_OK))
		skip();
	assert_int_equal(symlinkat("/dev/full", f->dirfd, "pstree.img"), 0);
	img = img_open_write(f->dirfd, IMG_PSTREE, 0);
	assert_non_null(img);
	assert_int_equal(img_write_msg(img, &e.base), 0);	/* buffered */
	tl_capture_start(&cap, STDERR_FILENO);
	ret = img_close(img);
	err = tl_capture_end(&cap);
	assert_int_equal(ret, -1);
	assert_contains(err, "pstree.img");
	free(err);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_inventory),
		T(test_pstree),
		T(test_core),
		T(test_mm),
		T(test_pagemap_many),
		T(test_fdinfo),
		T(test_task),
		T(test_created_0600),
		cmocka_unit_test(test_type_of_name),
		cmocka_unit_test(test_type_of_name_strict),
		cmocka_unit_test(test_type_of_magic),
		T(test_good_core_reads),
		T(test_wrong_common_magic),
		T(test_wrong_type_magic),
		T(test_unknown_type_magic_by_path),
		T(test_truncated_header),
		T(test_header_only_is_empty),
		T(test_truncated_entry),
		T(test_corrupt_entry_length),
		T(test_corrupt_payload),
		T(test_missing_required_field),
		T(test_checksum_refuses_flips_and_cuts),
		T(test_id_mismatch),
		T(test_missing_file),
		T(test_entry_too_large),
		T(test_close_reports_lost_write),
	};

	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}

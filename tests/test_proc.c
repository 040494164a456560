// SPDX-License-Identifier: GPL-2.0
/*
 * The /proc parsers (criu-lite/proc.h) fed with text recorded on a real
 * kernel (tests/data/, made by tests/data/record-proc.c: see there for
 * what the recording process had set up) and with hand-made edge cases.
 * The expected values below are the ones in the recorded text.
 */
#include "testlib.h"

#include <signal.h>
#include <sys/mman.h>
#include <time.h>

#include "proc.h"
#include "vma-guess.h"

/* ---- maps lines ---- */

static void test_maps_line_file(void **state)
{
	struct vma_info v;

	(void)state;
	assert_int_equal(proc_parse_maps_line(
		"7fe5f0888000-7fe5f09de000 r-xp 00026000 fe:00 332835"
		"                     /usr/lib/x86_64-linux-gnu/libc.so.6\n",
		&v), 0);
	assert_int_equal(v.start, 0x7fe5f0888000ULL);
	assert_int_equal(v.end, 0x7fe5f09de000ULL);
	assert_int_equal(v.prot, PROT_READ | PROT_EXEC);
	assert_false(v.shared);
	assert_int_equal(v.pgoff, 0x26000);
	assert_int_equal(v.dev_major, 0xfe);
	assert_int_equal(v.dev_minor, 0);
	assert_int_equal(v.ino, 332835);
	assert_string_equal(v.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_false(v.deleted);
	assert_int_equal(v.vmflags, 0);
}

static void test_maps_line_anon(void **state)
{
	struct vma_info v;

	(void)state;
	/* the kernel leaves a trailing space after the inode of anon VMAs */
	assert_int_equal(proc_parse_maps_line(
		"7fe5f0850000-7fe5f0851000 ---p 00000000 00:00 0 \n", &v), 0);
	assert_int_equal(v.prot, 0);
	assert_string_equal(v.path, "");
	assert_int_equal(v.ino, 0);
	/* no newline at all */
	assert_int_equal(proc_parse_maps_line(
		"1000-2000 rwxs 00000000 00:05 7", &v), 0);
	assert_int_equal(v.prot, PROT_READ | PROT_WRITE | PROT_EXEC);
	assert_true(v.shared);
	assert_int_equal(v.dev_minor, 5);
	assert_int_equal(v.ino, 7);
	assert_string_equal(v.path, "");
}

static void test_maps_line_deleted(void **state)
{
	struct vma_info v;

	(void)state;
	assert_int_equal(proc_parse_maps_line(
		"7fe5f0a50000-7fe5f0a52000 rw-s 00001000 fe:00 10952855"
		"                   /tmp/crl rec (x) file (deleted)\n", &v), 0);
	assert_true(v.deleted);
	assert_string_equal(v.path, "/tmp/crl rec (x) file");
	assert_true(v.shared);
	assert_int_equal(v.pgoff, 0x1000);
	/* "(deleted)" inside the name is part of the name */
	assert_int_equal(proc_parse_maps_line(
		"1000-2000 r--p 00000000 fe:00 5 /tmp/a (deleted) b\n", &v), 0);
	assert_false(v.deleted);
	assert_string_equal(v.path, "/tmp/a (deleted) b");
	/* /dev/zero shared anon memory is reported as deleted */
	assert_int_equal(proc_parse_maps_line(
		"1000-2000 rw-s 00000000 00:01 1032 /dev/zero (deleted)\n",
		&v), 0);
	assert_true(v.deleted);
	assert_string_equal(v.path, "/dev/zero");
}

static void test_maps_line_special(void **state)
{
	struct vma_info v;

	(void)state;
	assert_int_equal(proc_parse_maps_line(
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
		"                  [vsyscall]\n", &v), 0);
	assert_int_equal(v.start, 0xffffffffff600000ULL);
	assert_int_equal(v.prot, PROT_EXEC);
	assert_string_equal(v.path, "[vsyscall]");
	assert_int_equal(proc_parse_maps_line(
		"7f0000000000-7f0000001000 rw-p 00000000 00:00 0"
		"                          [anon:my buffer]\n", &v), 0);
	assert_string_equal(v.path, "[anon:my buffer]");
}

/* A path is kept once however many VMAs map it (20k VMAs of one file
 * held 20k PATH_MAX copies: 106 MB of dump RSS): the same pointer for the
 * same path, deleted or not, and a small vma_info. */
static void test_maps_path_interned(void **state)
{
	static const char text[] =
		"1000-2000 r--p 00000000 fe:00 5 /usr/lib/libx.so\n"
		"2000-3000 rw-p 00001000 fe:00 5 /usr/lib/libx.so\n"
		"3000-4000 rw-s 00000000 00:01 9 /dev/zero (deleted)\n"
		"4000-5000 rw-s 00000000 00:01 9 /dev/zero\n"
		"5000-6000 rw-p 00000000 00:00 0 \n"
		"6000-7000 r--p 00000000 fe:00 6 /usr/lib/liby.so\n";
	struct vma_info *v;
	size_t n;

	(void)state;
	assert_int_equal(proc_parse_smaps(text, &v, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(v[0].path, "/usr/lib/libx.so");
	assert_ptr_equal(v[0].path, v[1].path);
	assert_true(v[2].deleted);
	assert_false(v[3].deleted);
	assert_ptr_equal(v[2].path, v[3].path);
	assert_string_equal(v[4].path, "");
	assert_string_equal(v[5].path, "/usr/lib/liby.so");
	assert_ptr_not_equal(v[0].path, v[5].path);
	assert_ptr_equal(proc_intern_path("/usr/lib/libx.so.1", 16), v[0].path);
	assert_true(sizeof(struct vma_info) <= 128);
	free(v);
}

static void test_maps_line_bad(void **state)
{
	static const char *bad[] = {
		"",
		"\n",
		"garbage\n",
		"1000-2000\n",
		"1000-2000 rw-p\n",
		"1000-2000 rw-p 00000000\n",
		"1000-2000 rw-p 00000000 fe:00\n",
		"1000 rw-p 00000000 fe:00 5 /x\n",
		"Size:                  4 kB\n",
		"VmFlags: rd wr mr mw me ac \n",
	};
	struct vma_info v;
	char *longpath;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (proc_parse_maps_line(bad[i], &v) != -1)
			fail_msg("accepted maps line \"%s\"", bad[i]);
	/* a path that does not fit in PATH_MAX */
	longpath = malloc(PATH_MAX + 64);
	strcpy(longpath, "1000-2000 r--p 00000000 fe:00 5 /");
	memset(longpath + strlen(longpath), 'a', PATH_MAX);
	longpath[strlen("1000-2000 r--p 00000000 fe:00 5 /") + PATH_MAX] = 0;
	assert_int_equal(proc_parse_maps_line(longpath, &v), -1);
	free(longpath);
}

/* ---- VmFlags ---- */

static void test_vmflags(void **state)
{
	(void)state;
	assert_int_equal(proc_parse_vmflags(""), 0);
	assert_int_equal(proc_parse_vmflags(" rd wr mr mw me ac \n"), VMF_MAYWRITE);
	assert_int_equal(proc_parse_vmflags(" rd wr mr mw me gd ac \n"),
			 VMF_GROWSDOWN | VMF_MAYWRITE);
	assert_int_equal(proc_parse_vmflags(" rd mr pf io de dd \n"),
			 VMF_PFNMAP | VMF_IO | VMF_DONTDUMP);
	assert_int_equal(proc_parse_vmflags(" dc hg nh wf dd mg io pf um uw"
					    " lo sr rr gd"),
			 VMF_DONTFORK | VMF_HUGEPAGE | VMF_NOHUGEPAGE |
			 VMF_WIPEONFORK | VMF_DONTDUMP | VMF_MERGEABLE |
			 VMF_IO | VMF_PFNMAP | VMF_UFFD_MISSING |
			 VMF_UFFD_WP | VMF_LOCKED | VMF_SEQREAD |
			 VMF_RANDREAD | VMF_GROWSDOWN);
	/* MAP_DROPPABLE (6.11), as a 6.18 kernel shows it; mlock2 ONFAULT */
	assert_int_equal(proc_parse_vmflags(" rd wr mr mw me nr wf dd dp \n"),
			 VMF_MAYWRITE | VMF_WIPEONFORK | VMF_DONTDUMP |
			 VMF_DROPPABLE);
	assert_int_equal(proc_parse_vmflags(" rd wr mr mw me lo lf ac\n"),
			 VMF_MAYWRITE | VMF_LOCKED | VMF_LOCKONFAULT);
	/* last token without a trailing space, before a newline or NUL */
	assert_int_equal(proc_parse_vmflags(" rd gd"), VMF_GROWSDOWN);
	assert_int_equal(proc_parse_vmflags(" rd lo\nSize: 4 kB"), VMF_LOCKED);
	/* only whole two-letter tokens count */
	assert_int_equal(proc_parse_vmflags(" gdx lox xgd d g"), 0);
	/* what follows the line is not part of it */
	assert_int_equal(proc_parse_vmflags(" rd\n gd lo"), 0);
}

/* ---- smaps ---- */

struct smaps_fixture {
	struct vma_info *v;
	size_t nr;
};

static int load_smaps(void **state)
{
	struct smaps_fixture *f = calloc(1, sizeof(*f));
	char *text = tl_read_data("smaps.txt");

	assert_int_equal(proc_parse_smaps(text, &f->v, &f->nr), 0);
	free(text);
	*state = f;
	return 0;
}

static int free_smaps(void **state)
{
	struct smaps_fixture *f = *state;

	free(f->v);
	free(f);
	return 0;
}

static const struct vma_info *by_path(struct smaps_fixture *f,
				      const char *path)
{
	for (size_t i = 0; i < f->nr; i++)
		if (!strcmp(f->v[i].path, path))
			return &f->v[i];
	fail_msg("no VMA %s in recorded smaps", path);
	return NULL;
}

static void test_smaps_all_vmas(void **state)
{
	struct smaps_fixture *f = *state;

	assert_int_equal(f->nr, 34);
	for (size_t i = 0; i < f->nr; i++) {
		assert_true(f->v[i].start < f->v[i].end);
		if (i)
			assert_true(f->v[i - 1].end <= f->v[i].start);
	}
	assert_int_equal(f->v[0].start, 0x56438311e000ULL);
	assert_int_equal(f->v[33].start, 0xffffffffff600000ULL);
}

static void test_smaps_special(void **state)
{
	struct smaps_fixture *f = *state;
	const struct vma_info *v;

	v = by_path(f, "[heap]");
	assert_int_equal(v->start, 0x564392765000ULL);
	assert_int_equal(v->prot, PROT_READ | PROT_WRITE);
	assert_int_equal(v->vmflags, VMF_MAYWRITE);

	v = by_path(f, "[stack]");
	assert_int_equal(v->start, 0x7fff87c33000ULL);
	assert_int_equal(v->end, 0x7fff87c54000ULL);
	assert_int_equal(v->vmflags, VMF_GROWSDOWN | VMF_MAYWRITE);

	v = by_path(f, "[vvar]");
	assert_int_equal(v->end - v->start, 4 * 4096);
	assert_int_equal(v->prot, PROT_READ);
	assert_int_equal(v->vmflags, VMF_PFNMAP | VMF_IO | VMF_DONTDUMP);

	v = by_path(f, "[vvar_vclock]");
	assert_int_equal(v->start, 0x7fe5f0a58000ULL);
	assert_int_equal(v->end - v->start, 2 * 4096);
	assert_int_equal(v->vmflags, VMF_PFNMAP | VMF_IO | VMF_DONTDUMP);

	v = by_path(f, "[vdso]");
	assert_int_equal(v->start, 0x7fe5f0a5a000ULL);
	assert_int_equal(v->prot, PROT_READ | PROT_EXEC);
	assert_int_equal(v->vmflags, VMF_MAYWRITE);	/* mw: for ptrace */

	v = by_path(f, "[vsyscall]");
	assert_int_equal(v->prot, PROT_EXEC);
}

static void test_smaps_deleted_file(void **state)
{
	struct smaps_fixture *f = *state;
	const struct vma_info *v = by_path(f, "/tmp/crl rec (x) file");

	assert_true(v->deleted);
	assert_true(v->shared);
	assert_int_equal(v->start, 0x7fe5f0a50000ULL);
	assert_int_equal(v->end, 0x7fe5f0a52000ULL);
	assert_int_equal(v->pgoff, 0x1000);
	assert_int_equal(v->ino, 10952855);
	assert_int_equal(v->dev_major, 0xfe);
	assert_int_equal(v->vmflags & ~VMF_MAYWRITE, 0);
	for (size_t i = 0; i < f->nr; i++)
		if (f->v[i].deleted && &f->v[i] != v)
			fail_msg("VMA %zu (%s) seen as deleted", i,
				 f->v[i].path);
}

/* Each VmFlags line belongs to the VMA above it: seven adjacent 2-page
 * VMAs, each madvise()d differently, in address order. */
static void test_smaps_vmflags_per_vma(void **state)
{
	static const uint32_t want[] = {
		VMF_DONTFORK, VMF_DONTDUMP, VMF_WIPEONFORK, VMF_NOHUGEPAGE,
		VMF_LOCKED, VMF_SEQREAD, VMF_RANDREAD,
	};
	struct smaps_fixture *f = *state;
	const struct vma_info *none = &f->v[6];

	/* the PROT_NONE page just below them */
	assert_int_equal(none->start, 0x7fe5f0850000ULL);
	assert_int_equal(none->prot, 0);
	assert_int_equal(none->vmflags & ~VMF_MAYWRITE, 0);
	for (size_t i = 0; i < 7; i++) {
		const struct vma_info *v = &f->v[7 + i];

		assert_int_equal(v->start, 0x7fe5f0851000ULL + i * 2 * 4096);
		assert_int_equal(v->end - v->start, 2 * 4096);
		if ((v->vmflags & ~VMF_MAYWRITE) != want[i])
			fail_msg("VMA %#llx: vmflags %#x, want %#x",
				 (unsigned long long)v->start, v->vmflags,
				 want[i]);
	}
	/* the MAP_GROWSDOWN mapping */
	assert_int_equal(f->v[21].start, 0x7fe5f0a4c000ULL);
	assert_int_equal(f->v[21].vmflags, VMF_GROWSDOWN | VMF_MAYWRITE);
}

/* maps (no VmFlags lines) gives the same VMAs, without flags. */
static void test_maps_file_matches_smaps(void **state)
{
	struct smaps_fixture *f = *state;
	char *text = tl_read_data("maps.txt");
	struct vma_info *v;
	size_t nr;

	assert_int_equal(proc_parse_smaps(text, &v, &nr), 0);
	assert_int_equal(nr, f->nr);
	for (size_t i = 0; i < nr; i++) {
		struct vma_info s = f->v[i];

		s.vmflags = 0;
		assert_memory_equal(&v[i], &s, sizeof(s));
	}
	free(v);
	free(text);
}

static void test_smaps_edge(void **state)
{
	struct vma_info *v;
	size_t nr;

	(void)state;
	assert_int_equal(proc_parse_smaps("", &v, &nr), 0);
	assert_int_equal(nr, 0);
	free(v);
	/* VmFlags before any VMA is ignored; no final newline */
	assert_int_equal(proc_parse_smaps(
		"VmFlags: gd\n"
		"1000-2000 rw-p 00000000 00:00 0 \n"
		"Size:                  4 kB\n"
		"VmFlags: rd wr lo", &v, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(v[0].vmflags, VMF_LOCKED);
	free(v);
	/* more VMAs than the first allocation holds */
	{
		size_t n = 1000, len = 0;
		char *text = malloc(n * 80);

		for (size_t i = 0; i < n; i++)
			len += sprintf(text + len, "%zx-%zx rw-p 00000000 00:00 0 \n"
				       "VmFlags: rd %s\n", (i + 1) * 0x2000,
				       (i + 1) * 0x2000 + 0x1000,
				       i % 2 ? "dd" : "lo");
		assert_int_equal(proc_parse_smaps(text, &v, &nr), 0);
		assert_int_equal(nr, n);
		assert_int_equal(v[999].start, 1000 * 0x2000);
		assert_int_equal(v[999].vmflags, VMF_DONTDUMP);
		assert_int_equal(v[998].vmflags, VMF_LOCKED);
		free(v);
		free(text);
	}
}

/* ---- stat ---- */

static void test_stat_recorded(void **state)
{
	char *text = tl_read_data("stat.txt");
	struct proc_stat st;

	(void)state;
	assert_int_equal(proc_parse_stat(text, &st), 0);
	assert_int_equal(st.pid, 13813);
	assert_string_equal(st.comm, "rec) (x y");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 13804);
	assert_int_equal(st.pgrp, 13804);
	assert_int_equal(st.session, 10116);
	assert_int_equal(st.start_code, 0x56438311f000ULL);
	assert_int_equal(st.end_code, 94847961791177ULL);
	assert_int_equal(st.start_stack, 140735471230928ULL);
	assert_int_equal(st.exit_signal, 17);
	assert_int_equal(st.start_data, 94847961800144ULL);
	assert_int_equal(st.end_data, 94847961800992ULL);
	assert_int_equal(st.start_brk, 0x564392765000ULL);	/* [heap] */
	assert_int_equal(st.arg_start, 140735471237771ULL);
	assert_int_equal(st.arg_end, 140735471237791ULL);
	assert_int_equal(st.env_start, 140735471237791ULL);
	assert_int_equal(st.env_end, 140735471239151ULL);
	assert_int_equal(st.start_time, 446004);	/* field 22 */
	free(text);
}

/* A stat line with the 52 fields of proc(5); comm and fields 4..5 set. */
static char *stat_line(const char *comm, char state, int ppid, int nfields)
{
	char *s = malloc(1024);
	int n = sprintf(s, "42 (%s) %c %d 42", comm, state, ppid);

	for (int i = 6; i <= nfields; i++)
		n += sprintf(s + n, " %d", i == 8 ? -1 : i * 100);
	sprintf(s + n, "\n");
	return s;
}

static void test_stat_synthetic(void **state)
{
	static const char *comms[] = {
		"a b", ")", "(", "()", ") R 1 2 3", "", "x) (y) (z",
	};
	struct proc_stat st;
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		s = stat_line(comms[i], 'S', 7, 52);
		assert_int_equal(proc_parse_stat(s, &st), 0);
		assert_string_equal(st.comm, comms[i]);
		assert_int_equal(st.state, 'S');
		assert_int_equal(st.ppid, 7);
		assert_int_equal(st.session, 600);
		assert_int_equal(st.start_code, 2600);
		assert_int_equal(st.exit_signal, 3800);
		assert_int_equal(st.env_end, 5100);
		assert_int_equal(st.start_time, 2200);	/* field 22 */
		free(s);
	}
	/* a zombie */
	s = stat_line("z", 'Z', 1, 52);
	assert_int_equal(proc_parse_stat(s, &st), 0);
	assert_int_equal(st.state, 'Z');
	free(s);
	/* older kernels: fewer fields than env_end is refused */
	s = stat_line("old", 'S', 1, 50);
	assert_int_equal(proc_parse_stat(s, &st), -1);
	free(s);
	/* no comm */
	assert_int_equal(proc_parse_stat("42 x S 1 2 3\n", &st), -1);
	assert_int_equal(proc_parse_stat("", &st), -1);
	assert_int_equal(proc_parse_stat("42 (x S 1 2 3\n", &st), -1);
	assert_int_equal(proc_parse_stat("42 x) S 1 2 3\n", &st), -1);
}

/* ---- status ---- */

static void test_status_recorded(void **state)
{
	char *text = tl_read_data("status.txt");
	struct proc_status st;

	(void)state;
	assert_int_equal(proc_parse_status(text, &st), 0);
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.tracer, 0);
	assert_int_equal(st.umask, 027);
	assert_int_equal(st.sig_pending, 0);
	assert_int_equal(st.shd_pending, 0);
	/* SIGUSR1, SIGUSR2, SIGTERM: bits 9, 11, 14 */
	assert_int_equal(st.sig_blocked, 0x4a00);
	assert_int_equal(st.sig_ignored, 1 << (SIGPIPE - 1));
	assert_int_equal(st.sig_caught, 1 << (SIGINT - 1));
	assert_int_equal(st.cap_inh, 0);
	assert_int_equal(st.cap_prm, 0x1fffeffffffULL);
	assert_int_equal(st.cap_eff, 0x1fffeffffffULL);
	assert_int_equal(st.cap_bnd, 0x1fffeffffffULL);
	assert_int_equal(st.cap_amb, 0);
	assert_int_equal(st.no_new_privs, 0);
	assert_int_equal(st.seccomp, 0);
	assert_int_equal(st.threads, 1);
	free(text);
}

static void test_status_ids(void **state)
{
	char *text = tl_read_data("status-child.txt");
	struct proc_status st;

	(void)state;
	assert_int_equal(proc_parse_status(text, &st), 0);
	assert_int_equal(st.uid[0], 2001);
	assert_int_equal(st.uid[1], 2002);
	assert_int_equal(st.uid[2], 2003);
	assert_int_equal(st.uid[3], 2002);
	assert_int_equal(st.gid[0], 1001);
	assert_int_equal(st.gid[1], 1002);
	assert_int_equal(st.gid[2], 1003);
	assert_int_equal(st.gid[3], 1002);
	assert_int_equal(st.no_new_privs, 1);
	assert_int_equal(st.cap_eff, 0);
	assert_int_equal(st.cap_bnd, 0x1fffeffffffULL);
	free(text);
}

static void test_status_synthetic(void **state)
{
	struct proc_status st;

	(void)state;
	assert_int_equal(proc_parse_status(
		"Name:\tx\nState:\tt (tracing stop)\nTracerPid:\t4321\n"
		"Seccomp:\t2\nSeccomp_filters:\t1\nThreads:\t17\n"
		"SigPnd:\tffffffffffffffff\nShdPnd:\t8000000000000001\n", &st), 0);
	assert_int_equal(st.state, 't');
	assert_int_equal(st.tracer, 4321);
	assert_int_equal(st.seccomp, 2);
	assert_int_equal(st.threads, 17);
	assert_int_equal(st.sig_pending, UINT64_MAX);
	assert_int_equal(st.shd_pending, 0x8000000000000001ULL);
	/* a field name is matched whole, at the start of a line */
	assert_int_equal(proc_parse_status(
		"State:\tS (sleeping)\nXThreads:\t5\nSeccomp_filters:\t3\n"
		"Seccomp:\t1\n", &st), 0);
	assert_int_equal(st.threads, 0);
	assert_int_equal(st.seccomp, 1);
	/* no State: not a status file */
	assert_int_equal(proc_parse_status("Name:\tx\n", &st), -1);
	assert_int_equal(proc_parse_status("", &st), -1);
}

/* ---- fdinfo ---- */

static void parse_fdinfo_file(const char *name, struct proc_fdinfo *fi)
{
	char *text = tl_read_data(name);

	assert_int_equal(proc_parse_fdinfo(text, fi), 0);
	free(text);
}

static void test_fdinfo_eventfd(void **state)
{
	struct proc_fdinfo fi;

	(void)state;
	parse_fdinfo_file("fdinfo-eventfd.txt", &fi);
	assert_int_equal(fi.pos, 0);
	assert_int_equal(fi.flags, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	assert_int_equal(fi.ino, 1038);
	assert_true(fi.has_eventfd);
	assert_int_equal(fi.eventfd_count, 5);
	assert_true(fi.eventfd_semaphore);
	assert_false(fi.has_sigmask);
	assert_false(fi.has_timerfd);
	assert_int_equal(fi.nr_tfds, 0);
	/* the counter is printed in hex */
	assert_int_equal(proc_parse_fdinfo(
		"pos:\t0\nflags:\t02\nino:\t1\n"
		"eventfd-count:               1f\neventfd-id: 3\n", &fi), 0);
	assert_int_equal(fi.eventfd_count, 0x1f);
	assert_false(fi.eventfd_semaphore);
}

static void test_fdinfo_signalfd(void **state)
{
	struct proc_fdinfo fi;

	(void)state;
	parse_fdinfo_file("fdinfo-signalfd.txt", &fi);
	assert_int_equal(fi.flags, O_RDWR | O_NONBLOCK);
	assert_true(fi.has_sigmask);
	assert_int_equal(fi.sigmask, 1 << (SIGUSR1 - 1) | 1 << (SIGUSR2 - 1) |
			 1 << (SIGTERM - 1));
	assert_false(fi.has_eventfd);
	assert_false(fi.has_timerfd);
}

static void test_fdinfo_timerfd(void **state)
{
	struct proc_fdinfo fi;

	(void)state;
	parse_fdinfo_file("fdinfo-timerfd.txt", &fi);
	assert_int_equal(fi.flags, O_RDWR | O_CLOEXEC);
	assert_true(fi.has_timerfd);
	assert_int_equal(fi.clockid, CLOCK_MONOTONIC);
	assert_int_equal(fi.ticks, 0);
	assert_int_equal(fi.it_value_ns, 99979193526ULL);
	assert_int_equal(fi.it_interval_ns, 2500000000ULL);
	assert_false(fi.has_eventfd);
	assert_false(fi.has_sigmask);

	/* CLOCK_REALTIME is clockid 0: still a timerfd */
	parse_fdinfo_file("fdinfo-timerfd-ticked.txt", &fi);
	assert_true(fi.has_timerfd);
	assert_int_equal(fi.clockid, CLOCK_REALTIME);
	assert_int_equal(fi.ticks, 1);
	assert_int_equal(fi.it_value_ns, 0);
	assert_int_equal(fi.it_interval_ns, 1000000);
	/* "settime flags" is not "flags" */
	assert_int_equal(fi.flags, O_RDWR);
}

static void test_fdinfo_epoll(void **state)
{
	struct proc_fdinfo fi;

	(void)state;
	parse_fdinfo_file("fdinfo-epoll.txt", &fi);
	assert_int_equal(fi.pos, 0);
	assert_int_equal(fi.nr_tfds, 3);
	assert_int_equal(fi.tfds[0].tfd, 5);
	assert_int_equal(fi.tfds[0].events, 0x80000019);	/* EPOLLET */
	assert_int_equal(fi.tfds[0].data, 0xdeadbeefcafef00dULL);
	assert_int_equal(fi.tfds[1].tfd, 3);
	assert_int_equal(fi.tfds[1].events, 0x19);
	assert_int_equal(fi.tfds[1].data, 0x1234abcd);
	assert_int_equal(fi.tfds[2].tfd, 4);
	assert_int_equal(fi.tfds[2].events, 0x4000001d);	/* ONESHOT */
	assert_int_equal(fi.tfds[2].data, 7);
	/* "pos:0" and "ino:40e" at the end of tfd lines are not the epoll
	 * file's own fields */
	assert_int_equal(fi.ino, 1038);
	assert_false(fi.has_eventfd || fi.has_sigmask || fi.has_timerfd);
}

static void test_fdinfo_epoll_many(void **state)
{
	struct proc_fdinfo fi;
	char *text = malloc(100 * 100);
	size_t len = sprintf(text, "pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1\n");

	(void)state;
	for (int i = 0; i < 64; i++)
		len += sprintf(text + len, "tfd: %8d events: %8x data: %16llx"
			       "  pos:0 ino:40e sdev:10\n", 100 + i, 1,
			       (unsigned long long)i << 32);
	assert_int_equal(proc_parse_fdinfo(text, &fi), 0);
	assert_int_equal(fi.nr_tfds, 64);
	assert_int_equal(fi.tfds[63].tfd, 163);
	assert_int_equal(fi.tfds[63].data, 63ULL << 32);
	proc_fdinfo_free(&fi);
	/* no fixed limit: a 65th watch is parsed too */
	sprintf(text + len, "tfd: %8d events: %8x data: %16x\n", 999, 1, 0);
	assert_int_equal(proc_parse_fdinfo(text, &fi), 0);
	assert_int_equal(fi.nr_tfds, 65);
	assert_int_equal(fi.tfds[64].tfd, 999);
	proc_fdinfo_free(&fi);
	free(text);
}

static void test_fdinfo_reg(void **state)
{
	struct proc_fdinfo fi;

	(void)state;
	parse_fdinfo_file("fdinfo-reg.txt", &fi);
	assert_int_equal(fi.pos, 1234);
	assert_int_equal(fi.flags, 0100000);	/* O_LARGEFILE | O_RDONLY */
	assert_int_equal(fi.ino, 10954481);
	assert_false(fi.has_eventfd || fi.has_sigmask || fi.has_timerfd);
	/* no pos: not an fdinfo */
	assert_int_equal(proc_parse_fdinfo("flags:\t02\n", &fi), -1);
	assert_int_equal(proc_parse_fdinfo("", &fi), -1);
}

/* ---- VMAs at the freeze guessed from the pre-copy's start (vma-guess.h) ---- */

static struct vma_info vma_of(const char *line, uint32_t flags)
{
	struct vma_info v;

	assert_int_equal(proc_parse_maps_line(line, &v), 0);
	v.vmflags = flags;
	return v;
}

static void test_guess_flags(void **state)
{
	const struct vma_info before[] = {
		vma_of("55d0a000-55d0b000 r-xp 00001000 fe:00 77 /usr/bin/q\n",
		       VMF_MAYWRITE),
		vma_of("7f0000000000-7f0000200000 rw-p 00000000 00:00 0\n",
		       VMF_HUGEPAGE | VMF_DONTFORK),
		vma_of("7f0000400000-7f0000600000 rw-p 00000000 00:00 0\n",
		       VMF_LOCKED),
		vma_of("7ffd0000a000-7ffd0002c000 rw-p 00000000 00:00 0 [stack]\n",
		       VMF_GROWSDOWN),
	};
	struct vma_info now[] = {
		/* as it was */
		vma_of("55d0a000-55d0b000 r-xp 00001000 fe:00 77 /usr/bin/q\n", 0),
		/* as it was */
		vma_of("7f0000000000-7f0000200000 rw-p 00000000 00:00 0\n", 0),
		/* new, between: nothing overlaps */
		vma_of("7f0000200000-7f0000300000 rw-p 00000000 00:00 0\n", 0),
		/* the third one's first half, now read-only: another prot */
		vma_of("7f0000400000-7f0000500000 r--p 00000000 00:00 0\n", 0),
		/* its second half: overlaps, same prot */
		vma_of("7f0000500000-7f0000600000 rw-p 00000000 00:00 0\n", 0),
		/* the stack grew */
		vma_of("7ffd00008000-7ffd0002c000 rw-p 00000000 00:00 0 [stack]\n", 0),
	};

	(void)state;
	assert_int_equal(vma_guess_flags(now, 6, before, 4), 2);
	assert_int_equal(now[0].vmflags, VMF_MAYWRITE);
	assert_int_equal(now[1].vmflags, VMF_HUGEPAGE | VMF_DONTFORK);
	assert_int_equal(now[2].vmflags, 0);
	assert_int_equal(now[3].vmflags, 0);
	assert_int_equal(now[4].vmflags, VMF_LOCKED);
	assert_int_equal(now[5].vmflags, VMF_GROWSDOWN);
	/* nothing before: no flags */
	assert_int_equal(vma_guess_flags(now, 6, NULL, 0), 0);
	assert_int_equal(now[1].vmflags, 0);
}

static void test_same_layout(void **state)
{
	struct vma_info used[] = {
		vma_of("7f0000000000-7f0000200000 rw-p 00000000 00:00 0\n",
		       VMF_HUGEPAGE),
		vma_of("7ffd00008000-7ffd0002c000 rw-p 00000000 00:00 0 [stack]\n",
		       VMF_GROWSDOWN),
	};
	struct vma_info read[2];
	char why[256];

	(void)state;
	memcpy(read, used, sizeof(read));
	/* advice, lock: not what the pages went by */
	read[0].vmflags = VMF_DONTFORK | VMF_LOCKED | VMF_NOHUGEPAGE;
	assert_true(vma_same_layout(used, 2, read, 2, why, sizeof(why)));
	/* what decides a VMA's kind or refusal */
	static const uint32_t layout[] = { VMF_IO, VMF_PFNMAP, VMF_UFFD_MISSING,
					   VMF_UFFD_WP, VMF_DROPPABLE };
	for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
		memcpy(read, used, sizeof(read));
		read[0].vmflags |= layout[i];
		assert_false(vma_same_layout(used, 2, read, 2, why, sizeof(why)));
		assert_non_null(strstr(why, "VmFlags"));
	}
	memcpy(read, used, sizeof(read));
	read[1].vmflags = 0;
	assert_false(vma_same_layout(used, 2, read, 2, why, sizeof(why)));
	/* another boundary, another list length */
	memcpy(read, used, sizeof(read));
	read[1].start -= 4096;
	assert_false(vma_same_layout(used, 2, read, 2, why, sizeof(why)));
	assert_non_null(strstr(why, "another VMA"));
	memcpy(read, used, sizeof(read));
	assert_false(vma_same_layout(used, 2, read, 1, why, sizeof(why)));
	assert_non_null(strstr(why, "gone from smaps"));
	assert_false(vma_same_layout(used, 1, read, 2, why, sizeof(why)));
	assert_non_null(strstr(why, "not in maps"));
}

/* The reading thread: its list, its failure, a pid not asked for. */
static void test_vma_reader(void **state)
{
	pid_t pids[2] = { getpid(), 0x3fffffff };
	struct vma_reader *vr = vma_reader_start(pids, 2);
	struct vma_info *v = NULL;
	size_t n = 0;
	uint64_t ns, waited;

	(void)state;
	assert_non_null(vr);
	assert_int_equal(vma_reader_take(vr, getpid(), &v, &n, &ns, &waited), 0);
	assert_true(n > 3);
	free(v);
	/* taken once */
	assert_int_equal(vma_reader_take(vr, getpid(), &v, &n, &ns, &waited), -1);
	assert_int_equal(vma_reader_take(vr, 0x3fffffff, &v, &n, &ns, &waited), -1);
	assert_int_equal(vma_reader_take(vr, 1234567, &v, &n, &ns, &waited), -1);
	vma_reader_stop(vr);
	vma_reader_stop(NULL);
}

/* This process' own VMAs from maps (what the restore reads: no page
 * walk) and from smaps: the same ranges, flags only from smaps. */
static void test_read_maps_self(void **state)
{
	struct vma_info *m, *sm;
	size_t nm, ns;
	bool found = false;
	uint8_t *p;

	(void)state;
	p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(madvise(p, 4 << 20, MADV_HUGEPAGE), 0);
	memset(p, 1, 4 << 20);
	assert_int_equal(proc_read_maps(getpid(), &m, &nm), 0);
	assert_int_equal(proc_read_vmas(getpid(), &sm, &ns), 0);
	for (size_t i = 0; i < nm; i++) {
		if (m[i].start > (uint64_t)p || m[i].end <= (uint64_t)p)
			continue;
		found = true;
		assert_int_equal(m[i].vmflags, 0);
		for (size_t k = 0; k < ns; k++)
			if (sm[k].start == m[i].start) {
				assert_int_equal(sm[k].end, m[i].end);
				assert_true(sm[k].vmflags & VMF_HUGEPAGE);
			}
	}
	assert_true(found);
	free(m);
	free(sm);
	munmap(p, 4 << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_line_file),
		cmocka_unit_test(test_maps_line_anon),
		cmocka_unit_test(test_maps_line_deleted),
		cmocka_unit_test(test_maps_line_special),
		cmocka_unit_test(test_maps_line_bad),
		cmocka_unit_test(test_maps_path_interned),
		cmocka_unit_test(test_vmflags),
		cmocka_unit_test_setup_teardown(test_smaps_all_vmas,
						load_smaps, free_smaps),
		cmocka_unit_test_setup_teardown(test_smaps_special,
						load_smaps, free_smaps),
		cmocka_unit_test_setup_teardown(test_smaps_deleted_file,
						load_smaps, free_smaps),
		cmocka_unit_test_setup_teardown(test_smaps_vmflags_per_vma,
						load_smaps, free_smaps),
		cmocka_unit_test_setup_teardown(test_maps_file_matches_smaps,
						load_smaps, free_smaps),
		cmocka_unit_test(test_smaps_edge),
		cmocka_unit_test(test_stat_recorded),
		cmocka_unit_test(test_stat_synthetic),
		cmocka_unit_test(test_status_recorded),
		cmocka_unit_test(test_status_ids),
		cmocka_unit_test(test_status_synthetic),
		cmocka_unit_test(test_fdinfo_eventfd),
		cmocka_unit_test(test_fdinfo_signalfd),
		cmocka_unit_test(test_fdinfo_timerfd),
		cmocka_unit_test(test_fdinfo_epoll),
		cmocka_unit_test(test_fdinfo_epoll_many),
		cmocka_unit_test(test_fdinfo_reg),
		cmocka_unit_test(test_guess_flags),
		cmocka_unit_test(test_same_layout),
		cmocka_unit_test(test_vma_reader),
		cmocka_unit_test(test_read_maps_self),
	};

	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}

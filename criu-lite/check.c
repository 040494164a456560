// SPDX-License-Identifier: GPL-2.0
/*
 * `criu-lite check` and kernel_features_probe(): every kernel interface the
 * engine relies on, tried for real on this kernel. One probe per feature in
 * a table; a probe returns true when the feature works and otherwise says
 * why in a short text. Probes that need another process use one helper
 * child (blocked in read(), killed at the end) or fork their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "check.h"
#include "dirty.h"
#include "kernel-compat.h"
#include "log.h"

#define PAGE_SZ		4096UL
#define PME_PRESENT	(1ULL << 63)
#define PME_SOFT_DIRTY	(1ULL << 55)
#define CHILD_WAIT_MS	2000
/* A pid to ask for with set_tid inside a fresh pid namespace. */
#define PROBE_TID	4242
#define PROBE_TIMENS_SEC	1000

enum feature_need {
	NEED_REQUIRED,	/* dump or restore cannot work without it */
	NEED_OPTIONAL,	/* a mode or a fallback uses it */
	NEED_INFO,	/* not a kernel feature: reported, never fatal */
};

enum helper_state { HELPER_NOT_STARTED, HELPER_RUNNING, HELPER_FAILED };

struct probe_env {
	enum helper_state helper;
	pid_t child;		/* the helper target, when running */
	int ctl;		/* write end of its pipe; EOF makes it exit */
	int child_fd;		/* an fd number open in the child */
	struct stat child_fd_st;
	int pidfd;
	bool stopped;		/* seized and in a ptrace event stop */
	bool wp_async_ok;
	struct kernel_features *kf;
};

struct feature_probe {
	const char *name;
	enum feature_need need;
	const char *used_by;	/* shown when an optional feature is missing */
	bool (*fn)(struct probe_env *e, const struct feature_probe *p,
		   char *why, size_t len);
	size_t kf_off;		/* the bool in struct kernel_features */
	uint64_t arg;
};

struct probe_result {
	bool ok;
	char why[160];
};

/* The helper child writes nothing; process_vm_* read and write this. */
static volatile uint64_t probe_word = 0x5eed5eed5eed5eedULL;

/* Say why a probe failed; returns false so a probe can `return WHY(...)`. */
static bool __attribute__((format(printf, 3, 4)))
why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return false;
}

#define WHY(...)	why_set(why, len, __VA_ARGS__)
#define WHY_ERRNO(what)	WHY("%s: %s", what, strerror(errno))

/* ---- children ----------------------------------------------------------- */

/*
 * Reap pid within CHILD_WAIT_MS (a probe must never hang check), killing
 * it if late. Returns the wait status, or -1.
 */
static int wait_child(pid_t pid)
{
	int status, i;

	for (i = 0; i < CHILD_WAIT_MS; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG | __WALL);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, __WALL);
	return -1;
}

/* A probe child's verdict: exit code 0 is success, else an errno. */
static bool child_verdict(pid_t pid, const char *what, char *why, size_t len)
{
	int st;

	if (pid < 0)
		return WHY_ERRNO("fork");
	st = wait_child(pid);
	if (st < 0)
		return WHY("%s: child hung", what);
	if (WIFSIGNALED(st))
		return WHY("%s: child killed by signal %d", what, WTERMSIG(st));
	if (WEXITSTATUS(st))
		return WHY("%s: %s", what, strerror(WEXITSTATUS(st)));
	return true;
}

static pid_t sys_clone3(struct clone_args *ca)
{
	return syscall(__NR_clone3, ca, sizeof(*ca));
}

static void helper_child_main(int rfd)
{
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		ssize_t n = read(rfd, &c, 1);

		if (n == 0 || (n < 0 && errno != EINTR))
			_exit(0);
	}
}

/* The helper target, started on first use. */
static pid_t env_child(struct probe_env *e)
{
	int p[2];
	pid_t pid;

	if (e->helper == HELPER_RUNNING)
		return e->child;
	if (e->helper == HELPER_FAILED)
		return -1;
	e->helper = HELPER_FAILED;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	fstat(p[0], &e->child_fd_st);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[1]);
		helper_child_main(p[0]);
	}
	close(p[0]);
	e->child_fd = p[0];	/* still open under this number in the child */
	e->ctl = p[1];
	e->child = pid;
	e->helper = HELPER_RUNNING;
	return pid;
}

static void env_cleanup(struct probe_env *e)
{
	if (e->pidfd >= 0)
		close(e->pidfd);
	if (e->helper == HELPER_RUNNING) {
		kill(e->child, SIGKILL);
		wait_child(e->child);
		close(e->ctl);
	}
	e->pidfd = -1;
}

/* ---- ptrace, pidfd, process_vm ------------------------------------------ */

/* Seize the helper and stop it with PTRACE_INTERRUPT: a group-stop-free
 * "event stop" (status >> 16 == PTRACE_EVENT_STOP), what dump freezes with. */
static bool probe_ptrace_seize(struct probe_env *e, const struct feature_probe *p,
			       char *why, size_t len)
{
	pid_t pid = env_child(e);
	int st;

	(void)p;
	if (e->stopped)
		return true;
	if (pid < 0)
		return WHY_ERRNO("fork");
	if (ptrace(PTRACE_SEIZE, pid, 0, 0))
		return WHY_ERRNO("PTRACE_SEIZE");
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0))
		return WHY_ERRNO("PTRACE_INTERRUPT");
	for (int i = 0; i < CHILD_WAIT_MS; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG | __WALL);

		if (r == pid)
			break;
		if (r < 0)
			return WHY_ERRNO("waitpid");
		usleep(1000);
		if (i == CHILD_WAIT_MS - 1)
			return WHY("PTRACE_INTERRUPT: tracee did not stop");
	}
	if (!WIFSTOPPED(st) || (st >> 16) != PTRACE_EVENT_STOP)
		return WHY("PTRACE_INTERRUPT: unexpected stop status %#x", st);
	e->stopped = true;
	return true;
}

static bool probe_rseq_conf(struct probe_env *e, const struct feature_probe *p,
			    char *why, size_t len)
{
	struct cl_rseq_config conf = { 0 };
	long r;

	if (!probe_ptrace_seize(e, p, why, len))
		return WHY("needs ptrace-seize");
	r = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, e->child, sizeof(conf), &conf);
	if (r <= 0)
		return WHY_ERRNO("PTRACE_GET_RSEQ_CONFIGURATION");
	if (conf.rseq_abi_pointer)
		snprintf(why, len, "tracee rseq registered, %u bytes",
			 conf.rseq_abi_size);
	return true;
}

static bool probe_pidfd_open(struct probe_env *e, const struct feature_probe *p,
			     char *why, size_t len)
{
	pid_t pid = env_child(e);

	(void)p;
	if (pid < 0)
		return WHY_ERRNO("fork");
	e->pidfd = syscall(__NR_pidfd_open, pid, 0);
	if (e->pidfd < 0)
		return WHY_ERRNO("pidfd_open");
	return true;
}

/* Take the child's pipe end and check it is the very same file. */
static bool probe_pidfd_getfd(struct probe_env *e, const struct feature_probe *p,
			      char *why, size_t len)
{
	struct stat st;
	int fd;

	(void)p;
	if (e->pidfd < 0)
		return WHY("needs pidfd_open");
	fd = syscall(__NR_pidfd_getfd, e->pidfd, e->child_fd, 0);
	if (fd < 0)
		return WHY_ERRNO("pidfd_getfd");
	fstat(fd, &st);
	close(fd);
	if (st.st_ino != e->child_fd_st.st_ino || st.st_dev != e->child_fd_st.st_dev)
		return WHY("pidfd_getfd returned another file");
	return true;
}

static bool pvm_read_word(pid_t pid, uint64_t *val)
{
	struct iovec local = { val, sizeof(*val) };
	struct iovec remote = { (void *)&probe_word, sizeof(*val) };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == sizeof(*val);
}

static bool probe_pvm_readv(struct probe_env *e, const struct feature_probe *p,
			    char *why, size_t len)
{
	pid_t pid = env_child(e);
	uint64_t v = 0;

	(void)p;
	if (pid < 0)
		return WHY_ERRNO("fork");
	if (!pvm_read_word(pid, &v))
		return WHY_ERRNO("process_vm_readv");
	if (v != probe_word)
		return WHY("process_vm_readv read wrong data");
	return true;
}

static bool probe_pvm_writev(struct probe_env *e, const struct feature_probe *p,
			     char *why, size_t len)
{
	uint64_t val = 0xfeedfacecafebeefULL, back = 0;
	struct iovec local = { &val, sizeof(val) };
	struct iovec remote = { (void *)&probe_word, sizeof(val) };
	pid_t pid = env_child(e);

	(void)p;
	if (pid < 0)
		return WHY_ERRNO("fork");
	if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != sizeof(val))
		return WHY_ERRNO("process_vm_writev");
	if (!pvm_read_word(pid, &back) || back != val)
		return WHY("write not seen by process_vm_readv");
	return true;
}

/* ---- userfaultfd -------------------------------------------------------- */

static int uffd_from_syscall(int flags)
{
	int fd = syscall(__NR_userfaultfd, flags);

	/* vm.unprivileged_userfaultfd=0 still allows user-mode-only fds */
	if (fd < 0 && errno == EPERM)
		fd = syscall(__NR_userfaultfd, flags | UFFD_USER_MODE_ONLY);
	return fd;
}

static int uffd_from_dev(int flags)
{
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC), fd;

	if (dev < 0)
		return -1;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
	close(dev);
	return fd;
}

/* A fresh uffd of this process, API handshake done with `features`. */
static int uffd_open(uint64_t features, uint64_t *got)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = uffd_from_syscall(O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		fd = uffd_from_dev(O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	if (got)
		*got = api.features;
	return fd;
}

static bool probe_uffd_syscall(struct probe_env *e, const struct feature_probe *p,
			       char *why, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	(void)p;
	if (fd < 0 && errno == EPERM) {
		fd = uffd_from_syscall(O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0)
			snprintf(why, len, "user-mode-only (vm.unprivileged_userfaultfd=0)");
	}
	if (fd < 0)
		return WHY_ERRNO("userfaultfd");
	/* features = 0: the kernel answers with everything it supports */
	if (!ioctl(fd, UFFDIO_API, &api))
		e->kf->uffd_features = api.features;
	close(fd);
	return true;
}

static bool probe_uffd_dev(struct probe_env *e, const struct feature_probe *p,
			   char *why, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = uffd_from_dev(O_CLOEXEC | O_NONBLOCK);

	(void)p;
	if (fd < 0)
		return WHY_ERRNO("/dev/userfaultfd");
	if (!ioctl(fd, UFFDIO_API, &api) && !e->kf->uffd_features)
		e->kf->uffd_features = api.features;
	close(fd);
	return true;
}

/* Lazy restore's core: register MODE_MISSING, fill a page by UFFDIO_COPY. */
static bool probe_uffd_missing(struct probe_env *e, const struct feature_probe *p,
			       char *why, size_t len)
{
	static char src[PAGE_SZ] __attribute__((aligned(4096)));
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_copy copy = { .src = (uintptr_t)src, .len = PAGE_SZ };
	bool ok = false;
	char *area;
	int fd;

	(void)e; (void)p;
	fd = uffd_open(0, NULL);
	if (fd < 0)
		return WHY_ERRNO("userfaultfd");
	area = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		close(fd);
		return WHY_ERRNO("mmap");
	}
	reg.range.start = copy.dst = (uintptr_t)area;
	reg.range.len = PAGE_SZ;
	memset(src, 0x5a, sizeof(src));
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		WHY_ERRNO("UFFDIO_REGISTER(MISSING)");
	else if (ioctl(fd, UFFDIO_COPY, &copy) || copy.copy != PAGE_SZ)
		WHY_ERRNO("UFFDIO_COPY");
	else if (area[PAGE_SZ - 1] != 0x5a)
		WHY("UFFDIO_COPY: page content wrong");
	else
		ok = true;
	munmap(area, PAGE_SZ);
	close(fd);
	return ok;
}

static long scan_self(int pagemap, void *start, size_t size, uint64_t flags,
		      uint64_t category, struct page_region *vec, size_t n)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = (uintptr_t)start,
		.end = (uintptr_t)start + size,
		.vec = (uintptr_t)vec,
		.vec_len = n,
		.category_mask = category,
		.return_mask = category,
	};

	return ioctl(pagemap, PAGEMAP_SCAN, &arg);
}

/*
 * The dirty tracker's mechanism end to end on this process' own memory:
 * page 0 populated before arming, pages 2 and 3 never touched. After
 * arming, write 0 and 2, read 3. A scan with WP_MATCHING must report
 * exactly pages 0 and 2 (a read of a never-touched page must not count:
 * it maps a pte marker or a protected zero page), and a second scan nothing.
 */
static int wp_async_roundtrip(char *area, int uffd, int pagemap, char *why,
			      size_t len)
{
	struct uffdio_register reg = {
		.range = { (uintptr_t)area, 4 * PAGE_SZ },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = reg.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	const uint64_t flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	struct page_region vec[4];
	volatile char sink;
	long n;

	area[0] = 1;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return WHY_ERRNO("UFFDIO_REGISTER(WP)");
	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		return WHY_ERRNO("UFFDIO_WRITEPROTECT");
	area[0] = 2;
	area[2 * PAGE_SZ] = 2;
	sink = area[3 * PAGE_SZ];
	(void)sink;
	n = scan_self(pagemap, area, 4 * PAGE_SZ, flags, PAGE_IS_WRITTEN, vec, 4);
	if (n < 0)
		return WHY_ERRNO("PAGEMAP_SCAN(WP_MATCHING)");
	if (n == 3 && vec[2].start == (uintptr_t)area + 3 * PAGE_SZ)
		return WHY("read of an unpopulated page reported as written");
	if (n != 2 || vec[0].start != (uintptr_t)area ||
	    vec[0].end != (uintptr_t)area + PAGE_SZ ||
	    vec[1].start != (uintptr_t)area + 2 * PAGE_SZ ||
	    vec[1].end != (uintptr_t)area + 3 * PAGE_SZ)
		return WHY("PAGEMAP_SCAN reported %ld wrong regions", n);
	n = scan_self(pagemap, area, 4 * PAGE_SZ, flags, PAGE_IS_WRITTEN, vec, 4);
	if (n != 0)
		return WHY("pages not re-protected by PM_SCAN_WP_MATCHING");
	return true;
}

static bool probe_uffd_wp_async(struct probe_env *e, const struct feature_probe *p,
				char *why, size_t len)
{
	const uint64_t want = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	uint64_t got = 0;
	bool ok = false;
	int uffd, pagemap;
	char *area;

	(void)p;
	uffd = uffd_open(want, &got);
	if (uffd < 0)
		return WHY_ERRNO("UFFDIO_API(WP_ASYNC|WP_UNPOPULATED)");
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	area = mmap(NULL, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pagemap < 0 || area == MAP_FAILED)
		WHY_ERRNO("pagemap/mmap");
	else
		ok = wp_async_roundtrip(area, uffd, pagemap, why, len);
	e->wp_async_ok = ok;
	if (area != MAP_FAILED)
		munmap(area, 4 * PAGE_SZ);
	if (pagemap >= 0)
		close(pagemap);
	close(uffd);
	return ok;
}

/*
 * WP_UNPOPULATED has no effect visible apart from WP_ASYNC on 6.18 (async
 * mode installs pte markers on never-touched anonymous pages by itself):
 * accepted in the handshake and the round trip above is what can be seen.
 */
static bool probe_uffd_wp_unpop(struct probe_env *e, const struct feature_probe *p,
				char *why, size_t len)
{
	(void)p;
	if (!(e->kf->uffd_features & UFFD_FEATURE_WP_UNPOPULATED))
		return WHY("not in UFFDIO_API features");
	if (!e->wp_async_ok)
		return WHY("advertised, but the uffd-wp-async round trip failed");
	return true;
}

/* A feature bit is real when a handshake asking for it is accepted (for
 * EVENT_FORK that also needs CAP_SYS_PTRACE). */
static bool probe_uffd_bit(struct probe_env *e, const struct feature_probe *p,
			   char *why, size_t len)
{
	int fd;

	if (!e->kf->uffd_syscall && !e->kf->uffd_dev)
		return WHY("no userfaultfd");
	if (!(e->kf->uffd_features & p->arg))
		return WHY("not in UFFDIO_API features %#" PRIx64,
			   e->kf->uffd_features);
	fd = uffd_open(p->arg, NULL);
	if (fd < 0)
		return WHY_ERRNO("UFFDIO_API");
	close(fd);
	return true;
}

/* Lazy restore of shared memory: register MODE_MINOR over a memfd. */
static bool probe_uffd_minor_shmem(struct probe_env *e, const struct feature_probe *p,
				   char *why, size_t len)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MINOR };
	bool ok = false;
	int uffd, mfd;
	void *area;

	if (!probe_uffd_bit(e, p, why, len))
		return false;
	uffd = uffd_open(UFFD_FEATURE_MINOR_SHMEM, NULL);
	if (uffd < 0)
		return WHY_ERRNO("UFFDIO_API(MINOR_SHMEM)");
	mfd = memfd_create("criu-lite-check", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, PAGE_SZ)) {
		close(uffd);
		if (mfd >= 0)
			close(mfd);
		return WHY_ERRNO("memfd");
	}
	area = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (area == MAP_FAILED) {
		WHY_ERRNO("mmap memfd");
	} else {
		reg.range.start = (uintptr_t)area;
		reg.range.len = PAGE_SZ;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			WHY_ERRNO("UFFDIO_REGISTER(MINOR)");
		else
			ok = true;
		munmap(area, PAGE_SZ);
	}
	close(mfd);
	close(uffd);
	return ok;
}

/* ---- pagemap, soft-dirty ------------------------------------------------ */

static bool read_pme(int fd, void *addr, uint64_t *pme)
{
	off_t off = (uintptr_t)addr / PAGE_SZ * sizeof(*pme);

	return pread(fd, pme, sizeof(*pme), off) == sizeof(*pme);
}

static bool probe_pagemap(struct probe_env *e, const struct feature_probe *p,
			  char *why, size_t len)
{
	static volatile char page[PAGE_SZ] __attribute__((aligned(4096)));
	uint64_t pme = 0;
	bool ok;
	int fd;

	(void)e; (void)p;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return WHY_ERRNO("open /proc/self/pagemap");
	page[0] = 1;
	ok = read_pme(fd, (void *)page, &pme);
	close(fd);
	if (!ok)
		return WHY_ERRNO("read /proc/self/pagemap");
	if (!(pme & PME_PRESENT))
		return WHY("present bit not set on a touched page");
	return true;
}

static bool probe_pagemap_scan(struct probe_env *e, const struct feature_probe *p,
			       char *why, size_t len)
{
	struct page_region vec[2];
	char *area;
	long n;
	int fd;

	(void)e; (void)p;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return WHY_ERRNO("open /proc/self/pagemap");
	area = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		close(fd);
		return WHY_ERRNO("mmap");
	}
	area[PAGE_SZ] = 1;
	n = scan_self(fd, area, 2 * PAGE_SZ, 0, PAGE_IS_PRESENT, vec, 2);
	if (n < 0)
		WHY_ERRNO("ioctl PAGEMAP_SCAN");
	else if (n != 1 || vec[0].start != (uintptr_t)area + PAGE_SZ)
		WHY("PAGEMAP_SCAN: wrong regions (%ld)", n);
	munmap(area, 2 * PAGE_SZ);
	close(fd);
	return n == 1 && vec[0].start == (uintptr_t)area + PAGE_SZ;
}

static bool clear_soft_dirty_self(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, "4", 1) == 1;
	close(fd);
	return ok;
}

/*
 * Soft-dirty by behaviour: after clear_refs "4" a present page must read
 * bit 55 clear, and set again once written. Kernels without
 * CONFIG_MEM_SOFT_DIRTY accept the write and never set the bit.
 */
static bool probe_soft_dirty(struct probe_env *e, const struct feature_probe *p,
			     char *why, size_t len)
{
	uint64_t before = 0, after = 0;
	volatile char *area;
	bool ok;
	int fd;

	(void)e; (void)p;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return WHY_ERRNO("open /proc/self/pagemap");
	area = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		close(fd);
		return WHY_ERRNO("mmap");
	}
	area[0] = 1;
	if (!clear_soft_dirty_self()) {
		ok = WHY_ERRNO("write /proc/self/clear_refs");
	} else {
		ok = read_pme(fd, (void *)area, &before);
		area[0] = 2;
		ok = ok && read_pme(fd, (void *)area, &after);
		if (!ok)
			WHY_ERRNO("read /proc/self/pagemap");
		else if (before & PME_SOFT_DIRTY)
			ok = WHY("clear_refs 4 does not clear pagemap bit 55");
		else if (!(after & PME_SOFT_DIRTY))
			ok = WHY("CONFIG_MEM_SOFT_DIRTY off: pagemap bit 55 never set");
	}
	munmap((void *)area, PAGE_SZ);
	close(fd);
	return ok;
}

/* ---- namespaces, clone3 ------------------------------------------------- */

static bool probe_pid_ns(struct probe_env *e, const struct feature_probe *p,
			 char *why, size_t len)
{
	struct clone_args ca = { .flags = CLONE_NEWPID, .exit_signal = SIGCHLD };
	pid_t pid;

	(void)e; (void)p;
	pid = sys_clone3(&ca);
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : EPROTO);
	if (pid < 0)
		return WHY("clone3(CLONE_NEWPID): %s%s", strerror(errno),
			   errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
	return child_verdict(pid, "init of new pid ns", why, len);
}

/* Runs as pid 1 of a fresh namespace: ask for PROBE_TID, then for a live one. */
static int set_tid_init(void)
{
	pid_t tid = PROBE_TID, live = 1;
	struct clone_args ca = {
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&tid,
		.set_tid_size = 1,
	};
	pid_t pid;
	int st;

	pid = sys_clone3(&ca);
	if (pid == 0)
		_exit(getpid() == PROBE_TID ? 0 : EPROTO);
	if (pid < 0)
		return errno;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return ECHILD;
	if (WEXITSTATUS(st))
		return WEXITSTATUS(st);
	/* a pid in use must be refused, not silently replaced */
	ca.set_tid = (uintptr_t)&live;
	pid = sys_clone3(&ca);
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		waitpid(pid, &st, 0);
		return EPROTO;
	}
	return errno == EEXIST ? 0 : errno;
}

/*
 * The exact-pid restore path: clone3 with set_tid = {1} into a new pid
 * namespace, and from there clone3 with set_tid = {PROBE_TID}. A live tid
 * must give EEXIST.
 */
static bool probe_clone3_set_tid(struct probe_env *e, const struct feature_probe *p,
				 char *why, size_t len)
{
	pid_t one = 1;
	struct clone_args ca = {
		.flags = CLONE_NEWPID,
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&one,
		.set_tid_size = 1,
	};
	pid_t pid;

	(void)e; (void)p;
	pid = sys_clone3(&ca);
	if (pid == 0)
		_exit(getpid() == 1 ? set_tid_init() : EPROTO);
	if (pid < 0)
		return WHY("clone3(CLONE_NEWPID, set_tid={1}): %s%s", strerror(errno),
			   errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
	if (!child_verdict(pid, "clone3 set_tid in new pid ns", why, len))
		return false;
	snprintf(why, len, "pid %d in a new pid ns; live tid gives EEXIST",
		 PROBE_TID);
	return true;
}

static uint64_t mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* In a child: new time ns for its children, monotonic shifted, check. */
static int timens_child(void)
{
	char buf[64];
	uint64_t t0 = mono_sec();
	pid_t pid;
	int fd, n, st;

	if (unshare(CLONE_NEWTIME))
		return errno;
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = snprintf(buf, sizeof(buf), "monotonic %d 0\n", PROBE_TIMENS_SEC);
	if (write(fd, buf, n) != n)
		return errno;
	close(fd);
	pid = fork();
	if (pid == 0) {
		uint64_t d = mono_sec() - t0;

		_exit(d >= PROBE_TIMENS_SEC && d < PROBE_TIMENS_SEC + 60 ? 0 : EPROTO);
	}
	if (pid < 0)
		return errno;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return ECHILD;
	return WEXITSTATUS(st);
}

static bool probe_time_ns(struct probe_env *e, const struct feature_probe *p,
			  char *why, size_t len)
{
	pid_t pid;

	(void)e; (void)p;
	pid = fork();
	if (pid == 0)
		_exit(timens_child());
	if (!child_verdict(pid, "unshare(CLONE_NEWTIME)+timens_offsets", why, len))
		return false;
	snprintf(why, len, "CLOCK_MONOTONIC shifted by %ds in the new ns",
		 PROBE_TIMENS_SEC);
	return true;
}

/* ---- /proc/PID/maps query, mm map, capabilities ------------------------- */

static bool probe_procmap_query(struct probe_env *e, const struct feature_probe *p,
				char *why, size_t len)
{
	struct procmap_query q = {
		.size = sizeof(q),
		.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
		.query_addr = (uintptr_t)probe_procmap_query,
	};
	int fd, r;

	(void)e; (void)p;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return WHY_ERRNO("open /proc/self/maps");
	r = ioctl(fd, PROCMAP_QUERY, &q);
	close(fd);
	if (r)
		return WHY_ERRNO("ioctl PROCMAP_QUERY");
	if (q.vma_start > q.query_addr || q.vma_end <= q.query_addr ||
	    !(q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE))
		return WHY("PROCMAP_QUERY returned the wrong VMA");
	return true;
}

/* Fields of /proc/self/stat (1-based) that PR_SET_MM_MAP takes. */
static int read_stat_fields(uint64_t *f, int max)
{
	char buf[2048], *s;
	int fd, n, i;

	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	s = strrchr(buf, ')');	/* comm may hold spaces and parens */
	if (!s)
		return -1;
	s += 2;			/* now at field 3, the state letter */
	for (i = 3; i <= max && *s; i++) {
		f[i] = strtoull(s, NULL, 10);
		s = strchr(s, ' ');
		if (!s)
			break;
		s++;
	}
	return i > max ? 0 : -1;
}

/* In a child: hand the kernel back its own mm fields with PR_SET_MM_MAP. */
static int mm_map_child(void)
{
	struct prctl_mm_map map = { .exe_fd = (uint32_t)-1 };
	unsigned int size = 0;
	uint64_t f[52] = { 0 };

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0))
		return errno;
	if (size != sizeof(map))
		return EPROTO;
	if (read_stat_fields(f, 51))
		return EIO;
	map.start_code = f[26];
	map.end_code = f[27];
	map.start_stack = f[28];
	map.start_data = f[45];
	map.end_data = f[46];
	map.start_brk = f[47];
	map.arg_start = f[48];
	map.arg_end = f[49];
	map.env_start = f[50];
	map.env_end = f[51];
	map.brk = syscall(__NR_brk, 0);
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof(map), 0))
		return errno;
	return 0;
}

static bool probe_prctl_mm_map(struct probe_env *e, const struct feature_probe *p,
			       char *why, size_t len)
{
	pid_t pid;

	(void)e; (void)p;
	pid = fork();
	if (pid == 0)
		_exit(mm_map_child());
	return child_verdict(pid, "prctl(PR_SET_MM_MAP)", why, len);
}

static bool probe_cap_sys_resource(struct probe_env *e, const struct feature_probe *p,
				   char *why, size_t len)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	char max[32] = "?";
	int fd, n;

	(void)e; (void)p;
	if (syscall(__NR_capget, &hdr, data))
		return WHY_ERRNO("capget");
	if (data[CAP_SYS_RESOURCE / 32].effective & (1U << (CAP_SYS_RESOURCE % 32)))
		return true;
	fd = open("/proc/sys/fs/pipe-max-size", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, max, sizeof(max) - 1);
		max[n > 0 ? n : 0] = 0;
		max[strcspn(max, "\n")] = 0;
		close(fd);
	}
	return WHY("pipes capped at pipe-max-size %s; legacy PR_SET_MM_* EPERM", max);
}

/* ---- the table ------------------------------------------------------------ */

/* name, need, what is lost when an optional one is missing, probe, field */
#define PROBE(n, nd, lost, f, field, ...)				\
	{ .name = n, .need = nd, .used_by = lost, .fn = f,		\
	  .kf_off = offsetof(struct kernel_features, field), __VA_ARGS__ }
#define REQ	NEED_REQUIRED
#define OPT	NEED_OPTIONAL

static const struct feature_probe probes[] = {
	PROBE("ptrace-seize", REQ, NULL, probe_ptrace_seize, ptrace_seize),
	PROBE("pidfd_open", REQ, NULL, probe_pidfd_open, pidfd_open),
	PROBE("pidfd_getfd", REQ, NULL, probe_pidfd_getfd, pidfd_getfd),
	PROBE("process_vm_readv", REQ, NULL, probe_pvm_readv, process_vm_readv),
	PROBE("process_vm_writev", OPT, "restore fills pages by injected preadv",
	      probe_pvm_writev, process_vm_writev),
	PROBE("ptrace-rseq-config", OPT, "rseq not re-registered on restore",
	      probe_rseq_conf, ptrace_rseq_conf),
	PROBE("pagemap", OPT, "required unless pagemap-scan", probe_pagemap,
	      pagemap),
	PROBE("pagemap-scan", OPT, "required unless pagemap; uffd-wp tracker",
	      probe_pagemap_scan, pagemap_scan),
	PROBE("clone3-set-tid", REQ, NULL, probe_clone3_set_tid, clone3_set_tid),
	PROBE("pid-ns", OPT, "restore --pidns", probe_pid_ns, pid_ns),
	PROBE("time-ns", OPT, "restored timers see clock jumps", probe_time_ns,
	      time_ns),
	PROBE("procmap-query", OPT, "VMAs parsed from /proc/PID/maps text",
	      probe_procmap_query, procmap_query),
	PROBE("prctl-mm-map", OPT, "restore cannot set mm fields or exe",
	      probe_prctl_mm_map, prctl_mm_map),
	PROBE("userfaultfd", OPT, "uffd-wp tracker, lazy-pages",
	      probe_uffd_syscall, uffd_syscall),
	PROBE("/dev/userfaultfd", OPT, "fallback for the syscall", probe_uffd_dev,
	      uffd_dev),
	PROBE("uffd-missing", OPT, "lazy-pages", probe_uffd_missing, uffd_missing),
	PROBE("uffd-wp-async", OPT, "uffd-wp tracker", probe_uffd_wp_async,
	      uffd_wp_async),
	PROBE("uffd-wp-unpopulated", OPT, "uffd-wp tracker", probe_uffd_wp_unpop,
	      uffd_wp_unpopulated),
	PROBE("uffd-event-fork", OPT, "lazy-pages of forking targets",
	      probe_uffd_bit, uffd_event_fork, .arg = UFFD_FEATURE_EVENT_FORK),
	PROBE("uffd-event-remap", OPT, "lazy-pages", probe_uffd_bit,
	      uffd_event_remap, .arg = UFFD_FEATURE_EVENT_REMAP),
	PROBE("uffd-event-remove", OPT, "lazy-pages", probe_uffd_bit,
	      uffd_event_remove, .arg = UFFD_FEATURE_EVENT_REMOVE),
	PROBE("uffd-event-unmap", OPT, "lazy-pages", probe_uffd_bit,
	      uffd_event_unmap, .arg = UFFD_FEATURE_EVENT_UNMAP),
	PROBE("uffd-minor-shmem", OPT, "lazy-pages of shared memory",
	      probe_uffd_minor_shmem, uffd_minor_shmem,
	      .arg = UFFD_FEATURE_MINOR_SHMEM),
	PROBE("soft-dirty", OPT, "soft-dirty tracker", probe_soft_dirty,
	      soft_dirty),
	PROBE("cap-sys-resource", NEED_INFO, NULL, probe_cap_sys_resource,
	      cap_sys_resource),
};

#define NR_PROBES	(sizeof(probes) / sizeof(probes[0]))

static int run_probes(struct kernel_features *kf, struct probe_result *res)
{
	struct probe_env env = { .pidfd = -1, .kf = kf };
	size_t i;

	memset(kf, 0, sizeof(*kf));
	for (i = 0; i < NR_PROBES; i++) {
		const struct feature_probe *p = &probes[i];
		char why[sizeof(res->why)] = "";
		bool ok;

		ok = p->fn(&env, p, why, sizeof(why));
		*(bool *)((char *)kf + p->kf_off) = ok;
		if (res) {
			res[i].ok = ok;
			memcpy(res[i].why, why, sizeof(why));
		}
	}
	env_cleanup(&env);
	return env.helper == HELPER_FAILED ? -1 : 0;
}

int kernel_features_probe(struct kernel_features *kf)
{
	return run_probes(kf, NULL);
}

int kernel_features_missing(const struct kernel_features *kf, char *buf, size_t len)
{
	const struct { bool ok; const char *name; } req[] = {
		{ kf->ptrace_seize, "ptrace-seize" },
		{ kf->pidfd_open, "pidfd_open" },
		{ kf->pidfd_getfd, "pidfd_getfd" },
		{ kf->process_vm_readv, "process_vm_readv" },
		{ kf->pagemap || kf->pagemap_scan, "pagemap" },
		{ kf->clone3_set_tid, "clone3-set-tid" },
	};
	size_t i, off = 0;
	int missing = 0;

	if (len)
		buf[0] = 0;
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		if (req[i].ok)
			continue;
		if (off < len)
			off += snprintf(buf + off, len - off, "%s%s",
					missing ? ", " : "", req[i].name);
		missing++;
	}
	return missing;
}

bool kernel_features_lazy_pages(const struct kernel_features *kf)
{
	return (kf->uffd_syscall || kf->uffd_dev) && kf->uffd_missing &&
	       kf->uffd_event_fork && kf->uffd_event_remap &&
	       kf->uffd_event_remove && kf->uffd_event_unmap;
}

/* ---- output -------------------------------------------------------------- */

static const char *status_word(const struct feature_probe *p, bool ok)
{
	if (p->need == NEED_INFO)
		return "info";
	return ok ? "ok" : "MISS";
}

static void print_text(const struct kernel_features *kf,
		       const struct probe_result *res)
{
	const struct dirty_tracker_ops *t = dirty_tracker_pick(kf);
	char missing[256];
	size_t i;

	for (i = 0; i < NR_PROBES; i++) {
		const struct feature_probe *p = &probes[i];
		const char *why = res[i].why;

		printf("%-4s ", status_word(p, res[i].ok));
		if (p->need == NEED_INFO)
			printf("%-20s %s%s%s\n", p->name, res[i].ok ? "yes" : "no",
			       *why ? ": " : "", why);
		else if (!res[i].ok && p->need == NEED_OPTIONAL)
			printf("%-20s (%s; optional: %s)\n", p->name, why,
			       p->used_by);
		else if (*why)
			printf("%-20s (%s)\n", p->name, why);
		else
			printf("%s\n", p->name);
	}
	printf("%-4s %-20s %s\n", "use", "dirty-tracker",
	       t == &uffd_wp_tracker_ops ?
	       "uffd-wp (exact; splits THP of tracked VMAs)" :
	       t ? t->name : "none (pre-dump, --track-mem: every dump is full)");
	printf("%-4s %-20s %s\n", "use", "lazy-pages",
	       kernel_features_lazy_pages(kf) ? "yes" : "no");
	if (kernel_features_missing(kf, missing, sizeof(missing)))
		printf("%-4s %-20s missing required: %s\n", "FAIL", "verdict",
		       missing);
	else
		printf("%-4s %-20s all required features present\n", "ok",
		       "verdict");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const struct kernel_features *kf,
		       const struct probe_result *res)
{
	const struct dirty_tracker_ops *t = dirty_tracker_pick(kf);
	static const char *const need[] = { "required", "optional", "info" };
	char missing[256];
	size_t i;
	int nr_missing = kernel_features_missing(kf, missing, sizeof(missing));

	printf("{\"features\": {");
	for (i = 0; i < NR_PROBES; i++) {
		printf("%s\n  ", i ? "," : "");
		json_str(probes[i].name);
		printf(": {\"ok\": %s, \"need\": \"%s\", \"detail\": ",
		       res[i].ok ? "true" : "false", need[probes[i].need]);
		json_str(res[i].why);
		printf("}");
	}
	printf("},\n \"uffd_features\": %" PRIu64 ",\n \"dirty_tracker\": ",
	       kf->uffd_features);
	if (t)
		json_str(t->name);
	else
		printf("null");
	printf(",\n \"lazy_pages\": %s,\n \"missing\": ",
	       kernel_features_lazy_pages(kf) ? "true" : "false");
	json_str(missing);
	printf(",\n \"verdict\": \"%s\"}\n", nr_missing ? "fail" : "ok");
}

static void check_usage(void)
{
	printf("usage: criu-lite check [--json]\n"
	       "\n"
	       "Probe, by using them, the kernel features criu-lite needs and\n"
	       "print one line each: 'ok', 'MISS' (with the reason, and what is\n"
	       "lost when optional) or 'info'. Then the dirty tracker pre-dump\n"
	       "would use (uffd-wp, soft-dirty or none), whether lazy-pages can\n"
	       "work, and a verdict. Exit status 0 when every required feature\n"
	       "works (ptrace-seize, pidfd_open, pidfd_getfd, process_vm_readv,\n"
	       "pagemap or pagemap-scan, clone3-set-tid), 1 otherwise.\n"
	       "\n"
	       "Note: the uffd-wp tracker splits transparent huge pages of the\n"
	       "tracked VMAs on first write.\n"
	       "\n"
	       "  --json   one JSON object instead of lines\n");
}

int cmd_check(int argc, char **argv)
{
	struct probe_result res[NR_PROBES];
	struct kernel_features kf;
	bool json = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			check_usage();
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		/* 2: a usage error, apart from 1 (features missing) */
		pr_err("check: unknown option or argument \"%s\" (see criu-lite "
		       "check --help)", argv[i]);
		return 2;
	}
	fflush(stdout);	/* forked probe children must not inherit output */
	if (run_probes(&kf, res))
		pr_warn("check: could not start the helper child");
	if (json)
		print_json(&kf, res);
	else
		print_text(&kf, res);
	fflush(stdout);
	return kernel_features_missing(&kf, NULL, 0) ? 1 : 0;
}

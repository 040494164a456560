// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <elf.h>
#include <unistd.h>

#include "files.h"
#include "inject.h"
#include "kernel-compat.h"
#include "log.h"
#include "cow.h"
#include "creds.h"
#include "layers.h"
#include "lazy-daemon.h"
#include "lazy.h"
#include "lazy-guard.h"
#include "mem.h"
#include "mem-ghost.h"
#include "mem-marks.h"
#include "namespaces.h"
#include "names.h"
#include "page-frames.h"
#include "page-source.h"
#include "progress.h"
#include "qmp.h"
#include "sigframe.h"
#include "restore.h"
#include "restore-check.h"
#include "rlimits.h"
#include "seize.h"
#include "sigact.h"
#include "stats.h"
#include "task-state.h"
#include "threads.h"
#include "timers.h"

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "prefill.h"
#include "pstree.pb-c.h"
#include "task.pb-c.h"

/* The gadget: page 0 its code (`syscall` at +0, the batch runner at
 * RUNNER_AT), pages 1-3 scratch, then the table of batched calls. All of
 * it has to fit below vdso_tmp (choose_gadget). */
#define RUNNER_AT	16
#define SCRATCH_LEN	(3 * PAGE_SZ)
#define BATCH_TABLE_AT	(PAGE_SZ + SCRATCH_LEN)
#define BATCH_TABLE_LEN	(128UL << 10)
#define GADGET_LEN	(BATCH_TABLE_AT + BATCH_TABLE_LEN)
_Static_assert((64 << 10) + GADGET_LEN <= (512 << 10),
	       "the gadget ends before the place the vDSO is parked at");
#define TASK_TOP	0x7ffffffff000UL

struct proc_restore {
	PstreeEntry *pe;
	TaskEntry *task;
	MmEntry *mm;
	CoreEntry **cores;	/* pe->n_threads, leader first */
	PagemapEntry **pme;
	size_t nr_pme;
	FdEntry **fds;
	size_t nr_fds;
	int parent;		/* index in procs, -1 for the root */
	uint64_t gadget;	/* where the puppet maps its gadget */
	uint64_t vdso_tmp;	/* free space to park the vDSO in */
	pid_t hpid;		/* its PID as we see it (differs with --pidns) */
	pid_t *htids;		/* its threads' TIDs as we see them */
	struct remote r;	/* leader, at the gadget */
	pid_t *seized;		/* threads attached so far */
	size_t nr_seized;
};

struct restore_ctx {
	const struct restore_opts *o;
	struct restore_stats *st;
	int dirfd;
	InventoryEntry *inv;
	struct proc_restore *procs;
	size_t nr;
	struct page_source src;	/* page data: local image or page server */
	struct layer_chain chain;	/* DIR and the parents it uses */
	int ready[2];		/* puppets report here */
	int keep_at;		/* puppets keep ready[1] at this fd */
	pid_t self;		/* criu-lite's pid, for the puppets */
	int self_pidfd;		/* --pidns: its pidfd, for the init */
	struct shm_table shm;	/* shared memory already rebuilt */
	struct ghost_maps ghosts;	/* deleted files mapped, made once */
	struct lazy_proc *lazy;	/* --lazy-pages: one per process */
	int lazy_session;	/* with a criu-lite lazy-pages daemon, or -1 */
	struct cow_tree cow;	/* VMAs made before the fork, to share */
	pid_t root;		/* our child, once forked (the ns init with --pidns) */
	struct progress progress;
	sigset_t stop_sigs;	/* SIGINT/SIGTERM/SIGHUP: blocked, checked */
	sigset_t old_mask;	/* the mask to give back (and to the daemon) */
	int stop_sig;		/* the one that interrupted the restore */
	/* the root's VMAs held in place before its clone (prefill.h) */
	struct addr_range *held;
	size_t nr_held;
};

/*
 * SIGINT, SIGTERM and SIGHUP are blocked while the tree is built: one
 * arriving stops the restore at the next stage (between processes at the
 * latest), where everything made so far is killed and reaped, and said
 * so. Once the tree is let go, one is reported and ignored: the tree runs.
 */
static void block_stop_sigs(struct restore_ctx *c)
{
	sigemptyset(&c->stop_sigs);
	sigaddset(&c->stop_sigs, SIGINT);
	sigaddset(&c->stop_sigs, SIGTERM);
	sigaddset(&c->stop_sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &c->stop_sigs, &c->old_mask);
}

static bool interrupted(struct restore_ctx *c)
{
	const struct timespec now = { 0, 0 };
	int sig;

	if (c->stop_sig)
		return true;
	sig = sigtimedwait(&c->stop_sigs, NULL, &now);
	if (sig <= 0)
		return false;
	c->stop_sig = sig;
	pr_err("restore interrupted by SIG%s: undoing it", sigabbrev_np(sig));
	return true;
}

/* The tree runs: a signal from now on is too late to stop anything. */
static void settle_stop_sigs(struct restore_ctx *c)
{
	const struct timespec now = { 0, 0 };
	int sig;

	while ((sig = sigtimedwait(&c->stop_sigs, NULL, &now)) > 0)
		pr_warn("SIG%s came after the tree was let go: ignored, the "
			"restored tree runs", sigabbrev_np(sig));
	sigprocmask(SIG_SETMASK, &c->old_mask, NULL);
}

/* ---- loading and checking every image before creating anything ---- */

static void free_msgs(void **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		img_free_msg(NULL, v[i]);
	free(v);
}

static int check_inventory(struct restore_ctx *c)
{
	InventoryEntry *inv = c->inv;
	struct utsname u;
	uint64_t have = cpu_xfeatures();

	uname(&u);
	if (!inv->has_format || inv->format != IMG_FORMAT) {
		pr_err("inventory.img: image format %u, this criu-lite reads "
		       "format %d only: dump again", inv->has_format ?
		       inv->format : 1, IMG_FORMAT);
		return -1;
	}
	if (strcmp(inv->tool_version, CRIU_LITE_VERSION)) {
		pr_err("inventory.img: made by criu-lite %s, this is %s",
		       inv->tool_version, CRIU_LITE_VERSION);
		return -1;
	}
	if (strcmp(inv->kernel_release, u.release)) {
		pr_err("inventory.img: dumped on kernel %s, this is %s (the "
		       "vDSO and kernel ABI details may differ)",
		       inv->kernel_release, u.release);
		return -1;
	}
	if (inv->xsave_features & ~have) {
		pr_err("inventory.img: dumped on a CPU with xsave features "
		       "%#lx, this one has %#lx (missing %#lx)",
		       (long)inv->xsave_features, (long)have,
		       (long)(inv->xsave_features & ~have));
		return -1;
	}
	if (inv->page_size != PAGE_SZ) {
		pr_err("inventory.img: page size %u, this machine %lu",
		       inv->page_size, PAGE_SZ);
		return -1;
	}
	if (inv->has_pre_dump && inv->pre_dump) {
		pr_err("%s is a pre-dump (memory only): restore the dump made "
		       "on top of it (dump --prev-images-dir)", c->o->dir);
		return -1;
	}
	return 0;
}

/* Reads every entry of an image into a growing array. */
static int read_all(int dirfd, enum img_type t, unsigned id, void ***out,
		    size_t *nr)
{
	return img_read_all(dirfd, t, id, false, (ProtobufCMessage ***)out, nr);
}

/*
 * The VMA holding addr. Pagemap entries come in address order and VMAs
 * are sorted in a well-formed image, so *hint walks forward once over the
 * VMAs for a whole pagemap (linear in VMAs + entries); an image whose
 * VMAs are out of order is still answered right, by a full scan.
 */
static const VmaEntry *vma_at(const MmEntry *mm, uint64_t addr, size_t *hint)
{
	size_t k = *hint;

	while (k < mm->n_vmas && mm->vmas[k]->end <= addr)
		k++;
	if (k < mm->n_vmas && addr >= mm->vmas[k]->start) {
		*hint = k;
		return mm->vmas[k];
	}
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (addr >= mm->vmas[i]->start && addr < mm->vmas[i]->end)
			return mm->vmas[i];
	return NULL;
}

/* A run must lie inside one VMA that holds pages of its own: never in a
 * shared file mapping (it would be written into the file) nor across VMAs. */
static bool run_in_one_vma(const VmaEntry *v, const PagemapEntry *e)
{
	uint64_t end = e->vaddr + (uint64_t)e->nr_pages * PAGE_SZ;

	return v && end <= v->end &&
	       (v->kind == VMA_KIND__VMA_ANON_PRIVATE ||
		v->kind == VMA_KIND__VMA_ANON_SHARED ||
		v->kind == VMA_KIND__VMA_FILE_PRIVATE);
}

static int check_pending(const CoreEntry *ce)
{
	for (size_t i = 0; i < ce->n_pending; i++) {
		const SiginfoEntry *se = ce->pending[i];
		int sig;

		if (se->siginfo.len != 128) {
			pr_err("core-%u.img: pending signal %zu: siginfo of %zu "
			       "bytes, expected 128", ce->tid, i, se->siginfo.len);
			return -1;
		}
		memcpy(&sig, se->siginfo.data, sizeof(sig));
		if (sig < 1 || sig > 64) {
			pr_err("core-%u.img: pending signal %zu: bad number %d",
			       ce->tid, i, sig);
			return -1;
		}
	}
	return 0;
}

/* The size of DIR's own pages image (plain), or of the page stream a
 * compressed image or a page server offers. */
static uint64_t own_pages_size(const struct restore_ctx *c)
{
	return c->chain.nr ? c->chain.l[0].size : c->src.size;
}

/* A run a dump --lazy-pages left in its frozen tree: only a lazy restore
 * from that source can have it. */
static int check_lazy_run(const struct restore_ctx *c,
			  const struct proc_restore *p, const PagemapEntry *e,
			  const VmaEntry *v)
{
	if (!c->o->lazy) {
		pr_err("pagemap-%u.img: the pages at %#lx are still in the "
		       "source's memory (dump --lazy-pages): restore with "
		       "--lazy-pages, from the lazy-pages daemon on DIR or "
		       "--page-server HOST:PORT of that dump", p->pe->pid,
		       (long)e->vaddr);
		return -1;
	}
	if (!c->o->page_server && c->lazy_session < 0) {
		pr_err("restore --lazy-pages: no lazy-pages daemon on "
		       "%s/lazy-pages.sock, and no --page-server: the pages at "
		       "%#lx of %u are still in the source's memory (dump "
		       "--lazy-pages). Start the lazy-pages daemon first "
		       "(criu-lite lazy-pages --page-server --address HOST "
		       "--port PORT -D %s, HOST:PORT where that dump serves "
		       "them), or restore with --page-server HOST:PORT",
		       c->o->dir, (long)e->vaddr, p->pe->pid, c->o->dir);
		return -1;
	}
	if (!e->has_offset || e->offset < PS_LAZY_BASE ||
	    !v || !vma_is_lazy(v)) {
		pr_err("pagemap-%u.img: lazy run at %#lx is malformed",
		       p->pe->pid, (long)e->vaddr);
		return -1;
	}
	return 0;
}

static int check_pagemap(struct restore_ctx *c, struct proc_restore *p)
{
	uint64_t prev_end = 0, size = own_pages_size(c);
	size_t hint = 0;

	for (size_t i = 0; i < p->nr_pme; i++) {
		const PagemapEntry *e = p->pme[i];
		uint64_t len = (uint64_t)e->nr_pages * PAGE_SZ;
		const VmaEntry *v = vma_at(p->mm, e->vaddr, &hint);

		if (e->vaddr < prev_end || e->vaddr % PAGE_SZ || !e->nr_pages ||
		    e->vaddr + len < e->vaddr || !run_in_one_vma(v, e)) {
			pr_err("pagemap-%u.img: entry %zu at %#lx is out of "
			       "order or malformed", p->pe->pid, i, (long)e->vaddr);
			return -1;
		}
		prev_end = e->vaddr + len;
		if ((e->flags & PE_LAZY) && check_lazy_run(c, p, e, v))
			return -1;
		if (pagemap_run_csums_ok(e, p->pe->pid))
			return -1;
		if ((e->flags & PE_PRESENT) &&
		    (!e->has_offset || e->offset > size ||
		     len > size - e->offset || e->offset % PAGE_SZ)) {
			pr_err("pages-%u.img: too short (%zu bytes) for the run "
			       "at %#lx that pagemap-%u.img places at offset "
			       "%#lx: truncated image", c->inv->pages_id,
			       (size_t)size, (long)e->vaddr, p->pe->pid,
			       (long)e->offset);
			return -1;
		}
	}
	return 0;
}

static int load_proc(struct restore_ctx *c, struct proc_restore *p)
{
	unsigned pid = p->pe->pid;
	size_t n;

	if (!p->pe->n_threads || p->pe->threads[0] != pid) {
		pr_err("pstree.img: process %u has no thread list", pid);
		return -1;
	}
	if (p->pe->zombie) {
		if (p->parent < 0) {
			pr_err("pstree.img: the root %u is a zombie", pid);
			return -1;
		}
		return 0;	/* nothing but its exit status */
	}
	p->task = (TaskEntry *)img_read_one(c->dirfd, IMG_TASK, pid);
	p->mm = (MmEntry *)img_read_one(c->dirfd, IMG_MM, pid);
	if (!p->task || !p->mm)
		return -1;
	if (p->task->pid != pid) {
		pr_err("task-%u.img: holds process %u", pid, p->task->pid);
		return -1;
	}
	if (read_all(c->dirfd, IMG_PAGEMAP, pid, (void ***)&p->pme, &p->nr_pme) ||
	    read_all(c->dirfd, IMG_FDINFO, pid, (void ***)&p->fds, &p->nr_fds))
		return -1;
	p->cores = calloc(p->pe->n_threads, sizeof(*p->cores));
	if (!p->cores)
		return -1;
	for (n = 0; n < p->pe->n_threads; n++) {
		CoreEntry *ce;

		ce = (CoreEntry *)img_read_one(c->dirfd, IMG_CORE,
					       p->pe->threads[n]);
		if (!ce)
			return -1;
		if (ce->tid != p->pe->threads[n]) {
			pr_err("core-%u.img: holds thread %u", p->pe->threads[n],
			       ce->tid);
			return -1;
		}
		if (ce->regs.len != sizeof(struct user_regs_struct)) {
			pr_err("core-%u.img: registers are %zu bytes, expected "
			       "%zu", p->pe->threads[n], ce->regs.len,
			       sizeof(struct user_regs_struct));
			return -1;
		}
		p->cores[n] = ce;
		if (check_pending(ce))
			return -1;
	}
	if (check_sigactions(p->task) || check_ns_entry(p->task))
		return -1;
	if (p->mm->exe && strlen(p->mm->exe) >= PATH_MAX) {
		pr_err("mm-%u.img: exe path too long", pid);
		return -1;
	}
	if (check_pagemap(c, p) || check_mapped_files(p->mm, pid) ||
	    ghost_maps_add(&c->ghosts, p->mm, pid) ||
	    check_guards(p->mm, pid) || check_cow_shared(p->mm, pid))
		return -1;
	if (!pagemap_has_parent_runs(p->pme, p->nr_pme))
		return 0;
	if (c->o->page_server) {
		pr_err("pagemap-%u.img has pages in parent layers: restoring "
		       "a pre-dump chain from a page server is not supported "
		       "yet", pid);
		return -1;
	}
	if (!c->chain.nr) {
		pr_err("%s/inventory.img: compressed pages (%s), but "
		       "pagemap-%u.img has pages in parent layers: a layer "
		       "chain with compressed layers is not supported yet",
		       c->o->dir, pages_codec_name(c->inv->pages_codec) ?:
		       "unknown codec", pid);
		return -1;
	}
	return layer_resolve(&c->chain, pid, &p->pme, &p->nr_pme);
}

/* Stored pages of the whole tree: those restore writes itself, or with
 * all, those of lazy VMAs too. */
static uint64_t tree_pages(struct restore_ctx *c, bool all)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < c->nr; i++)
		if (!c->procs[i].pe->zombie)
			pages += pages_to_restore(c->procs[i].mm, c->procs[i].pme,
						  c->procs[i].nr_pme,
						  c->o->lazy && !all);
	return pages;
}

/* Every stored page against its checksum, before anything is created;
 * pages from a page server are checked as they arrive instead. */
static int check_pages(struct restore_ctx *c)
{
	uint64_t t0 = now_ns();
	int ret = 0;

	if (c->o->no_verify || !page_source_check_first(&c->src))
		return 0;
	progress_phase(&c->progress, "check-pages", tree_pages(c, false));
	for (size_t i = 0; i < c->nr && !ret; i++) {
		struct proc_restore *p = &c->procs[i];

		if (!p->pe->zombie)
			ret = check_page_data(&c->src, p->mm, p->pme, p->nr_pme,
					      c->o->lazy, p->pe->pid,
					      &c->progress);
	}
	if (!ret)
		progress_end(&c->progress);
	c->st->verify_ns += now_ns() - t0;
	return ret;
}

/* A page server (or a dump --lazy-pages); the pages DIR holds itself
 * (migrate --postcopy: those sent before the switchover) are read here. */
static int open_remote_source(struct restore_ctx *c)
{
	struct page_source *near;

	if (page_source_open_remote(&c->src, c->o->page_server, &c->o->tls))
		return -1;
	c->src.retry_s = c->o->lazy_timeout_s;
	if (faccessat(c->dirfd, "pages-1.img", F_OK, 0) || c->inv->has_parent_id)
		return 0;
	near = calloc(1, sizeof(*near));
	if (!near || page_source_open_local(near, c->dirfd, c->inv->pages_id,
					    c->inv->pages_codec, false)) {
		free(near);
		return -1;
	}
	c->src.near = near;
	return 0;
}

/* A page server is asked at once, so that an unreachable one stops us
 * before anything is created; a compressed local image is opened now (it is
 * one image: a layer chain's are plain); plain local pages images are
 * looked at now and mapped once the runs say which layers they need. */
static int open_page_source(struct restore_ctx *c)
{
	if (c->o->page_server)
		return open_remote_source(c);
	if (c->o->lazy) {
		/* DIR/lazy-pages.sock: a criu-lite lazy-pages daemon fills
		 * the lazy memory; the rest is read here */
		c->lazy_session = lazy_daemon_connect(c->o->dir);
		if (c->lazy_session < 0 && errno != ENOENT)
			return -1;
	}
	if (c->inv->pages_codec && c->inv->has_parent_id) {
		pr_err("%s/inventory.img: compressed pages (%s) in a layer chain "
		       "(it names a parent layer): not supported yet", c->o->dir,
		       pages_codec_name(c->inv->pages_codec) ?: "unknown codec");
		return -1;
	}
	if (c->inv->pages_codec)
		return page_source_open_local(&c->src, c->dirfd,
					      c->inv->pages_id,
					      c->inv->pages_codec, !c->o->lazy);
	return layer_chain_init(&c->chain, c->dirfd, c->o->dir, c->inv);
}

/* The local pages images of the layers used (pre-faulted, except for
 * lazy restore, which reads them in the order the process asks). */
static int map_page_source(struct restore_ctx *c)
{
	struct page_part *parts;
	int ret;

	if (c->o->page_server || !c->chain.nr)
		return 0;	/* opened already: remote, or compressed */
	parts = calloc(c->chain.nr, sizeof(*parts));
	if (!parts)
		return -1;
	for (size_t k = 0; k < c->chain.nr; k++) {
		const struct layer *l = &c->chain.l[k];

		parts[k] = (struct page_part){ .dirfd = l->dirfd,
					       .file = l->pages,
					       .base = l->base, .size = l->size };
		if (k)
			snprintf(parts[k].name, sizeof(parts[k].name),
				 "%.4000s/%.31s", l->path, l->pages);
		else
			snprintf(parts[k].name, sizeof(parts[k].name), "%.31s",
				 l->pages);
	}
	/* migrate --incoming: the pages just arrived (39 ms of read-ahead
	 * zero-filling the holes of the busy 2 GiB guest's 3.5 GiB file in
	 * the downtime) */
	ret = page_source_open_parts(&c->src, parts, c->chain.nr, !c->o->lazy,
				     !c->o->prefill);
	free(parts);
	if (!ret && c->chain.nr > 1)
		pr_info("pages come from %zu layers (%s and its parents)",
			c->chain.nr, c->o->dir);
	return ret;
}

/* A process restored into its parent's fd table (CLONE_FILES) makes no
 * fds of its own: it must have a live parent and no children (the
 * parent makes the table; children would need the objects it skips). */
static int check_shared_fd_tables(struct restore_ctx *c)
{
	for (size_t i = 0; i < c->nr; i++) {
		const struct proc_restore *p = &c->procs[i];
		bool kids = false;

		if (!p->pe->files_of_parent)
			continue;
		for (size_t j = i + 1; j < c->nr; j++)
			kids |= c->procs[j].parent == (int)i;
		if (p->parent < 0 || p->pe->zombie ||
		    c->procs[p->parent].pe->zombie || kids) {
			pr_err("pstree.img: %u shares its parent's fd table but "
			       "is the root, a zombie, a zombie's child or has "
			       "children: corrupt", p->pe->pid);
			return -1;
		}
	}
	return 0;
}

static int check_fds_of(struct restore_ctx *c)
{
	struct fd_proc *fdp = calloc(c->nr, sizeof(*fdp));
	unsigned *pids = calloc(c->nr, sizeof(*pids));
	struct fd_tree ft = { fdp, c->nr, -1, c->dirfd };
	int ret = -1;

	if (fdp && pids) {
		for (size_t i = 0; i < c->nr; i++) {
			fdp[i] = (struct fd_proc){ c->procs[i].fds,
						   c->procs[i].nr_fds,
						   c->procs[i].parent };
			pids[i] = c->procs[i].pe->pid;
		}
		if (c->o->tcp_close)
			close_tcp_connections(&ft);
		ret = check_fd_images(&ft, pids, c->o->tcp_established ||
				      c->o->tcp_close);
	}
	free(fdp);
	free(pids);
	return ret;
}

/* Pages shared copy-on-write are shared again (plan_cow), which reads the
 * stored pages by address: a compressed image is decompressed whole for
 * it. */
static bool plans_cow(const struct restore_ctx *c)
{
	if (c->o->lazy || c->nr < 2)
		return false;
	for (size_t i = 0; i < c->nr; i++)
		if (!c->procs[i].pe->zombie && c->procs[i].mm->n_cow_shared)
			return true;
	return false;
}

static int load_images(struct restore_ctx *c)
{
	PstreeEntry **pes;
	size_t n = 0;

	c->dirfd = open(c->o->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (c->dirfd < 0) {
		pr_perror("open images directory %s", c->o->dir);
		return -1;
	}
	c->ghosts.dirfd = c->dirfd;
	c->inv = (InventoryEntry *)img_read_one(c->dirfd, IMG_INVENTORY, 0);
	if (!c->inv) {
		if (errno == ENOENT)
			pr_err("%s: no inventory.img: not an images directory, "
			       "or the dump did not complete", c->o->dir);
		return -1;
	}
	if (check_inventory(c) || open_page_source(c))
		return -1;
	if (read_all(c->dirfd, IMG_PSTREE, 0, (void ***)&pes, &n))
		return -1;
	if (!n || pes[0]->pid != c->inv->root_pid) {
		pr_err("pstree.img: root is not process %u of inventory.img",
		       c->inv->root_pid);
		free_msgs((void **)pes, n);
		return -1;
	}
	if (check_tree_images(c->dirfd, pes, n) ||
	    !(c->procs = calloc(n, sizeof(*c->procs)))) {
		free_msgs((void **)pes, n);
		return -1;
	}
	c->nr = n;
	for (size_t i = 0; i < n; i++)
		c->procs[i].pe = pes[i];	/* freed with c->procs */
	free(pes);
	for (size_t i = 0; i < n; i++) {
		const PstreeEntry *pe = c->procs[i].pe;

		c->procs[i].parent = -1;
		for (size_t j = 0; j < i; j++)
			if (c->procs[j].pe->pid == pe->ppid)
				c->procs[i].parent = j;
		if (i && c->procs[i].parent < 0) {
			pr_err("pstree.img: parent %u of %u is not in the tree",
			       pe->ppid, pe->pid);
			return -1;
		}
		if (load_proc(c, &c->procs[i]))
			return -1;
	}
	if (check_shared_fd_tables(c))
		return -1;
	if (check_fds_of(c) || map_page_source(c) ||
	    (plans_cow(c) && page_source_inflate(&c->src)) || check_pages(c))
		return -1;
	pr_debug("images of %zu processes read and checked", c->nr);
	return 0;
}

/*
 * Which VMAs the puppets make before they fork, so that pages shared
 * copy-on-write with a parent at dump are shared again (cow.h). Only when
 * every page is in the mapped local image before anything runs: not for
 * lazy restores nor a page server.
 */
static int plan_cow(struct restore_ctx *c)
{
	struct cow_tree *t = &c->cow;

	if (c->o->lazy || !c->src.map || c->nr < 2)
		return 0;
	t->procs = calloc(c->nr, sizeof(*t->procs));
	if (!t->procs)
		return -1;
	t->nr = c->nr;
	t->data = c->src.map;
	t->size = c->src.size;
	for (size_t i = 0; i < c->nr; i++) {
		struct proc_restore *p = &c->procs[i];

		t->procs[i] = (struct cow_proc){
			.mm = p->mm, .pme = p->pme, .nr_pme = p->nr_pme,
			.parent = p->parent, .skip = p->pe->zombie,
		};
	}
	return cow_plan(t);
}

/* ---- PIDs ---- */

/*
 * A PID still held by a zombie frees when its parent reaps it; on these
 * machines PID 1 reaps orphans only every ~2 s. Wait that long, then name
 * the holder.
 */
static int wait_pid_free(struct restore_ctx *c, pid_t pid, unsigned wait_ms)
{
	uint64_t deadline = now_ns() + wait_ms * 1000000ULL;

	for (;;) {
		struct proc_stat st;
		char *text = proc_read_file("/proc/%d/stat", pid);

		if (!text)
			return 0;
		if (proc_parse_stat(text, &st))
			st.state = '?';
		free(text);
		if (st.state != 'Z' || now_ns() > deadline) {
			pr_err("PID %d is taken by \"%s\" (state %c%s); restore "
			       "it where the PID is free, or with --pidns", pid,
			       st.comm, st.state, st.state == 'Z' ?
			       ", a zombie its parent has not reaped" : "");
			return -1;
		}
		if (interrupted(c))
			return -1;
		usleep(20000);
	}
}

static int check_pids_free(struct restore_ctx *c)
{
	if (c->o->pidns)
		return 0;
	for (size_t i = 0; i < c->nr; i++)
		for (size_t t = 0; t < c->procs[i].pe->n_threads; t++)
			if (wait_pid_free(c, c->procs[i].pe->threads[t],
					  c->o->zombie_wait_ms))
				return -1;
	return 0;
}

/* ---- choosing the gadget's place ---- */

struct range {
	uint64_t start, end;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The gadget must be free both in our own address space (the puppet is a
 * fork of us and maps it first thing) and in the target's (it has to stay
 * until every VMA is in place). Take a gap of neither, 1 MiB at least:
 * the gadget at +64 KiB, room to park the vDSO at +512 KiB.
 */
static int choose_gadget(struct proc_restore *p)
{
	struct vma_info *own;
	struct range *all;
	size_t nown, n = 0;
	uint64_t cur = 1UL << 32;

	if (proc_read_maps(getpid(), &own, &nown))
		return -1;
	all = calloc(nown + p->mm->n_vmas + 1, sizeof(*all));
	if (!all) {
		free(own);
		return -1;
	}
	for (size_t i = 0; i < nown; i++)
		all[n++] = (struct range){ own[i].start, own[i].end };
	for (size_t i = 0; i < p->mm->n_vmas; i++)
		all[n++] = (struct range){ p->mm->vmas[i]->start,
					   p->mm->vmas[i]->end };
	qsort(all, n, sizeof(*all), cmp_range);
	free(own);
	for (size_t i = 0; i <= n; i++) {
		uint64_t next = i < n ? all[i].start : TASK_TOP;

		if (next > cur && next - cur >= (1UL << 20)) {
			p->gadget = cur + (64UL << 10);
			p->vdso_tmp = cur + (512UL << 10);
			free(all);
			return 0;
		}
		if (i < n && all[i].end > cur)
			cur = all[i].end;
	}
	free(all);
	pr_err("no room for the restore gadget in %u's address space",
	       p->pe->pid);
	return -1;
}

/* ---- the puppet: a forked child that becomes the target ---- */

static pid_t clone_with_pid_once(pid_t pid, uint64_t flags);

/*
 * clone3 with the PID it had. A PID whose /proc entry is gone can still be
 * held for a moment while the kernel releases the dead task (seen once as
 * EEXIST right after a dump): retry for a short while before giving up.
 */
static pid_t clone_with_pid(pid_t pid, uint64_t flags)
{
	for (int i = 0;; i++) {
		pid_t ret = clone_with_pid_once(pid, flags);

		if (ret >= 0 || errno != EEXIST || i == 200)
			return ret;
		usleep(10000);
	}
}

static pid_t clone_with_pid_once(pid_t pid, uint64_t flags)
{
	pid_t set_tid[1] = { pid };
	struct clone_args_abi ca = {
		.flags = flags,
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)set_tid,
		.set_tid_size = 1,
	};

	return syscall(__NR_clone3, &ca, sizeof(ca));
}

static void puppet_fail(struct restore_ctx *c, const char *what)
{
	int32_t msg = -(int32_t)getpid();

	pr_err("puppet %d: %s failed", getpid(), what);
	if (write(c->keep_at, &msg, sizeof(msg)) < 0)
		_exit(2);
	_exit(1);
}

static void puppet_main(struct restore_ctx *c, size_t idx, pid_t parent);

/*
 * A puppet dies with its parent (criu-lite, or the puppet of its parent
 * process): PR_SET_PDEATHSIG covers only a parent that dies after the
 * call, so one already gone (criu-lite got SIGKILL between the clone and
 * here) is seen by getppid() no longer being the one that forked us. Such
 * a puppet used to set itself up, say ready into a pipe it holds the read
 * end of itself and pause for good under the restored PID, untraced:
 * fault-kill found it running where the restored test should be.
 * CRIU_LITE_FAULT=restore-kill-after-fork: criu-lite is killed right after
 * the root's clone, and the root waits for that before it checks.
 */
static void die_with_parent(pid_t parent)
{
	for (int i = 0; fault_set("restore-kill-after-fork") &&
			getppid() == parent && i < 5000; i++)
		usleep(1000);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

/*
 * Process groups are set by the parent as soon as the child exists (and
 * again by the child itself), so that a younger sibling can join an older
 * one's group: the group exists before the next child is forked.
 */
static void set_child_pgid(struct restore_ctx *c, size_t i, pid_t pid)
{
	const PstreeEntry *pe = c->procs[i].pe;

	if (pe->sid == pe->pid)
		return;		/* the child makes its own session */
	if (setpgid(pid, pe->pgid) && errno != EACCES)
		pr_warn("setpgid(%d, %u): %m", pid, pe->pgid);
}

/* A zombie comes back as a child that dies at once the way it died. */
static void become_zombie(const PstreeEntry *pe)
{
	int st = pe->exit_code;

	if (pe->pgid != pe->pid)
		setpgid(0, pe->pgid);	/* failing: it stays in the parent's */
	if (pe->comm)
		prctl(PR_SET_NAME, pe->comm);
	if (WIFSIGNALED(st)) {
		signal(WTERMSIG(st), SIG_DFL);
		prctl(PR_SET_DUMPABLE, 0);	/* no core for a replayed death */
		kill(getpid(), WTERMSIG(st));
	}
	_exit(WEXITSTATUS(st));
}

static int fork_children(struct restore_ctx *c, size_t idx)
{
	pid_t self = getpid();

	for (size_t i = 0; i < c->nr; i++) {
		pid_t pid;

		if (c->procs[i].parent != (int)idx)
			continue;
		pid = clone_with_pid(c->procs[i].pe->pid,
				     c->procs[i].pe->files_of_parent ?
				     CLONE_FILES : 0);
		if (pid < 0) {
			pr_perror("clone3 with pid %u", c->procs[i].pe->pid);
			return -1;
		}
		if (pid == 0 && c->procs[i].pe->zombie)
			become_zombie(c->procs[i].pe);	/* does not return */
		if (pid == 0)
			puppet_main(c, i, self);	/* does not return */
		set_child_pgid(c, i, pid);
	}
	return 0;
}

/*
 * Runs in the forked child, on a copy of criu-lite's memory. Sets up what
 * ordinary calls can (session, children, fds, cwd, umask, handlers), maps
 * the gadget, reports ready and waits to be taken over by ptrace. All
 * signals are blocked from here on: the final mask comes by
 * PTRACE_SETSIGMASK.
 */
static void puppet_main(struct restore_ctx *c, size_t idx, pid_t parent)
{
	struct proc_restore *p = &c->procs[idx];
	const PstreeEntry *pe = p->pe;
	sigset_t all;
	void *g;
	int32_t msg = pe->pid;
	struct fd_proc *fdp;
	struct fd_tree ft;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	die_with_parent(parent);
	/* first, while our address space is the one the plan knew */
	cow_prepare(&c->cow, idx);
	fdp = calloc(c->nr, sizeof(*fdp));
	ft = (struct fd_tree){ fdp, c->nr, c->keep_at, c->dirfd, c->self };
	log_forget_file();	/* its fd number is about to be reused */
	if (!fdp)
		puppet_fail(c, "allocate the fd tree");
	for (size_t i = 0; i < c->nr; i++)
		fdp[i] = (struct fd_proc){ c->procs[i].fds, c->procs[i].nr_fds,
					   c->procs[i].parent };
	/* its children are born in them */
	if (restore_ns(p->task))
		puppet_fail(c, "restore namespaces");
	if (pe->sid == pe->pid) {
		if (setsid() < 0)
			puppet_fail(c, "setsid");
	} else if (pe->pgid == pe->pid) {
		if (setpgid(0, 0))
			puppet_fail(c, "setpgid");
	} else if (p->parent >= 0 && setpgid(0, pe->pgid)) {
		pr_warn("puppet %d: setpgid(%u): %m", getpid(), pe->pgid);
	}
	/* a subreaper before its children: orphans come back under it */
	if (restore_task_state_early(p->task))
		puppet_fail(c, "restore subreaper and membarrier state");
	/* objects its children inherit exist before they are forked */
	if (!pe->files_of_parent && restore_fds_prefork(&ft, idx))
		puppet_fail(c, "restore shared fds");
	if (fork_children(c, idx))
		puppet_fail(c, "fork children");
	g = mmap((void *)p->gadget, GADGET_LEN, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (g != (void *)p->gadget)
		puppet_fail(c, "mmap gadget");
	((uint8_t *)g)[0] = 0x0f;	/* syscall */
	((uint8_t *)g)[1] = 0x05;
	((uint8_t *)g)[2] = 0xcc;	/* int3: never reached */
	batch_runner_copy((uint8_t *)g + RUNNER_AT);
	/* a table shared with the parent (CLONE_FILES) is the parent's to
	 * fill: its entries are the parent's, the same OFDs */
	if (!pe->files_of_parent && restore_fds(&ft, idx))
		puppet_fail(c, "restore fds");
	if (restore_cwd(p->task->cwd, p->fds, p->nr_fds))
		puppet_fail(c, "chdir");
	umask(p->task->umask);
	if (restore_sigactions(p->task))
		puppet_fail(c, "restore sigactions");
	if (write(c->keep_at, &msg, sizeof(msg)) != sizeof(msg))
		_exit(3);
	for (;;)
		syscall(__NR_pause);
}

static int max_fd_of(struct restore_ctx *c)
{
	int max = 2;

	for (size_t i = 0; i < c->nr; i++)
		for (size_t f = 0; f < c->procs[i].nr_fds; f++)
			if ((int)c->procs[i].fds[f]->fd > max)
				max = c->procs[i].fds[f]->fd;
	return max;
}

/*
 * --pidns: the tree gets a PID namespace of its own, under a minimal init
 * that reaps whatever is orphaned in it and exits with the status of the
 * tree's root (taking the namespace down with it).
 */
static void ns_init_main(struct restore_ctx *c)
{
	pid_t root = c->procs[0].pe->pid, pid;
	int status, root_status = 0;
	sigset_t all;

	prctl(PR_SET_NAME, "criu-lite-init");
	/* as die_with_parent, but getppid() says 0 here whoever the parent
	 * is (it is outside the namespace): criu-lite's pidfd says whether
	 * it is already gone */
	for (int i = 0; fault_set("restore-kill-after-fork") && i < 5000 &&
			poll(&(struct pollfd){ c->self_pidfd, POLLIN, 0 }, 1, 0) == 0;
	     i++)
		usleep(1000);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (poll(&(struct pollfd){ c->self_pidfd, POLLIN, 0 }, 1, 0) != 0)
		_exit(1);
	close(c->self_pidfd);
	log_forget_file();	/* it closes every fd below */
	pid = clone_with_pid(root, 0);
	if (pid < 0) {
		pr_perror("clone3 with pid %d in the new namespace", root);
		puppet_fail(c, "clone3 of the root");
	}
	if (pid == 0)
		puppet_main(c, 0, 1);	/* its parent: this init, pid 1 */
	prctl(PR_SET_PDEATHSIG, 0);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	syscall(__NR_close_range, 0, ~0U, 0);
	for (;;) {
		pid = wait(&status);
		if (pid < 0)
			_exit(WIFEXITED(root_status) ? WEXITSTATUS(root_status) :
			      128 + WTERMSIG(root_status));
		if (pid == root)
			root_status = status;
	}
}

static struct proc_restore *proc_by_pid(struct restore_ctx *c, pid_t pid)
{
	for (size_t i = 0; i < c->nr; i++)
		if ((pid_t)c->procs[i].pe->pid == pid)
			return &c->procs[i];
	return NULL;
}

/* Finds each puppet's PID as we see it by walking init's descendants. */
static int map_host_pids(struct restore_ctx *c, pid_t top)
{
	pid_t *kids;
	size_t n;

	if (proc_list_children(top, &kids, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct proc_restore *p = proc_by_pid(c, proc_ns_tid(kids[i], kids[i]));

		if (p)
			p->hpid = kids[i];
		if (map_host_pids(c, kids[i])) {
			free(kids);
			return -1;
		}
	}
	free(kids);
	return 0;
}

static size_t total_fds(struct restore_ctx *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nr; i++)
		n += c->procs[i].nr_fds;
	return n;
}

static int wait_puppets(struct restore_ctx *c);

static int fork_puppets(struct restore_ctx *c)
{
	struct rlimit rl;

	if (pipe2(c->ready, O_CLOEXEC)) {
		pr_perror("pipe");
		return -1;
	}
	/* above every restored fd and our own, so dup2 there closes nothing */
	c->keep_at = max_fd_of(c) + 1;
	if (c->keep_at <= c->ready[1])
		c->keep_at = c->ready[1] + 1;
	/* and above the fds we keep writing to: progress, log */
	if (c->keep_at <= c->o->progress_fd)
		c->keep_at = c->o->progress_fd + 1;
	if (c->keep_at <= log_file_fd())
		c->keep_at = log_file_fd() + 1;
	/* and on no other fd of ours: the pages file a refused clone spills
	 * the held memory into once became the ready pipe there ("Illegal
	 * seek", where no high fd was inherited). Not above all of them: an
	 * fd inherited near RLIMIT_NOFILE would leave no room. */
	while (fcntl(c->keep_at, F_GETFD) >= 0)
		c->keep_at++;
	pr_debug("forking the puppets (%zu processes)", c->nr);
	c->self = getpid();
	/* the puppets park objects at keep_at+1..: make room for all */
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)c->keep_at + total_fds(c) + 64) {
		rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_cur < (rlim_t)c->keep_at + total_fds(c) + 64) {
			pr_err("RLIMIT_NOFILE hard limit %lu is too low to restore "
			       "fds up to %d", (unsigned long)rl.rlim_max,
			       c->keep_at + (int)total_fds(c));
			return -1;
		}
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (dup2(c->ready[1], c->keep_at) < 0) {
		pr_perror("dup2 ready pipe to %d", c->keep_at);
		return -1;
	}
again:
	if (c->nr_held && fault_set("restore-clone-enomem")) {
		/* tests: the clone refused as strict overcommit refuses it */
		c->root = -1;
		errno = ENOMEM;
	} else if (c->o->pidns) {
		struct clone_args_abi ca = { .flags = CLONE_NEWPID,
					     .exit_signal = SIGCHLD };

		c->self_pidfd = syscall(__NR_pidfd_open, c->self, 0);
		if (c->self_pidfd < 0) {
			pr_perror("pidfd_open of criu-lite itself");
			return -1;
		}
		c->root = syscall(__NR_clone3, &ca, sizeof(ca));
		if (c->root == 0)
			ns_init_main(c);
		close(c->self_pidfd);
		if (c->root > 0 && fault_at("restore-kill-after-fork"))
			raise(SIGKILL);
	} else {
		c->root = clone_with_pid(c->procs[0].pe->pid, 0);
		if (c->root == 0)
			puppet_main(c, 0, c->self);
		if (c->root > 0 && fault_at("restore-kill-after-fork"))
			raise(SIGKILL);
	}
	if (c->root < 0 && errno == ENOMEM && c->nr_held) {
		/* strict overcommit: the held memory counted twice */
		pr_warn("clone3 of the tree's root with its memory held: %s; "
			"again without (lazy memory)", strerror(errno));
		if (prefill_spill(c->o->prefill))
			return -1;
		prefill_release(c->o->prefill);
		c->nr_held = 0;
		goto again;
	}
	if (c->root < 0) {
		pr_perror("clone3 of the tree's root (pid %u%s)",
			  c->procs[0].pe->pid, c->o->pidns ? ", new pid ns" : "");
		return -1;
	}
	/* the root has its copy: ours stays out of the lazy-pages daemons
	 * forked from here on, and goes before the tree resumes, by a thread
	 * (restore_tree: its teardown was ~40 ms of the downtime) */
	if (c->o->prefill)
		prefill_keep_out_of_forks(c->o->prefill);
	close(c->keep_at);
	close(c->ready[1]);
	c->ready[1] = -1;
	return wait_puppets(c);
}

/* Every puppet says ready (its pid) or failed (-pid) on the ready pipe.
 * Their PIDs as we see them differ from theirs with --pidns. */
static int wait_puppets(struct restore_ctx *c)
{
	size_t ready = 0;

	size_t live = 0;

	for (size_t i = 0; i < c->nr; i++)
		live += !c->procs[i].pe->zombie;
	while (ready < live) {
		struct pollfd pfd = { c->ready[0], POLLIN, 0 };
		int32_t msg;

		if (poll(&pfd, 1, 30000) != 1) {
			pr_err("puppets did not get ready in 30 s");
			return -1;
		}
		if (read(c->ready[0], &msg, sizeof(msg)) != sizeof(msg)) {
			pr_err("a puppet died before it was ready");
			return -1;
		}
		if (msg < 0) {
			pr_err("puppet %d failed to set up", -msg);
			return -1;
		}
		ready++;
	}
	if (!c->o->pidns) {
		for (size_t i = 0; i < c->nr; i++)
			c->procs[i].hpid = c->procs[i].pe->pid;
		return 0;
	}
	if (map_host_pids(c, c->root))
		return -1;
	for (size_t i = 0; i < c->nr; i++) {
		if (c->procs[i].hpid <= 0) {
			pr_err("puppet for %u not found in the new namespace",
			       c->procs[i].pe->pid);
			return -1;
		}
	}
	return 0;
}

/* ---- rebuilding each puppet by injected syscalls ---- */

static int seize_puppet(struct proc_restore *p, pid_t tid)
{
	int status;

	/* EXITKILL: if criu-lite dies, no half-built puppet runs on */
	if (ptrace(PTRACE_SEIZE, tid, NULL,
		   (void *)(PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL))) {
		pr_perror("PTRACE_SEIZE puppet %d", tid);
		return -1;
	}
	p->seized[p->nr_seized++] = tid;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) ||
	    wait_stop(tid, &status))
		return -1;
	if (!WIFSTOPPED(status)) {
		pr_err("puppet %d died (status %#x)", tid, status);
		return -1;
	}
	return 0;
}

static bool is_kept(const struct vma_info *v, const struct proc_restore *p)
{
	return vma_is_vdso(v) || !strcmp(v->path, "[vsyscall]") ||
	       (v->start >= p->gadget && v->end <= p->gadget + GADGET_LEN);
}

/* munmap [start, end) but the ready ranges (sorted) in it. */
static int unmap_around(struct proc_restore *p, uint64_t start, uint64_t end,
			const struct addr_range *ready, size_t nready)
{
	for (size_t k = 0; k <= nready && start < end; k++) {
		uint64_t stop = k < nready && ready[k].start < end ?
				ready[k].start : end;

		if (k < nready && ready[k].end <= start)
			continue;
		if (stop > start && rcall(&p->r, __NR_munmap, start, stop - start,
					  0, 0, 0, 0)) {
			pr_err("puppet %d: munmap [%#lx, %#lx) failed", p->hpid,
			       (long)start, (long)stop);
			return -1;
		}
		if (k < nready && ready[k].start < end)
			start = ready[k].end;
		else
			break;
	}
	return 0;
}

/* The puppet's own memory (a copy of ours) goes; the gadget, the vDSO and
 * the VMAs it made ready (which the kernel may have merged with one of
 * ours) stay. glibc's rseq registration must go first: the kernel writes
 * to that area on every preemption. */
static int unmap_puppet(struct proc_restore *p, const struct addr_range *ready,
			size_t nready)
{
	pid_t pid = p->hpid;
	struct cl_rseq_config rc;
	struct vma_info *v;
	size_t n;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(rc), &rc) > 0 &&
	    rc.rseq_abi_pointer)
		RSYS_OK(rcall(&p->r, __NR_rseq, rc.rseq_abi_pointer,
			     rc.rseq_abi_size, RSEQ_FLAG_UNREGISTER,
			     rc.signature, 0, 0),
			"puppet %d: rseq unregister", pid);
	if (proc_read_maps(pid, &v, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		if (is_kept(&v[i], p))
			continue;
		while (j + 1 < n && !is_kept(&v[j + 1], p))
			j++;
		if (unmap_around(p, v[i].start, v[j].end, ready, nready)) {
			free(v);
			return -1;
		}
		i = j;
	}
	free(v);
	return 0;
}

static size_t vdso_vmas(const struct vma_info *v, size_t n,
			struct vma_info *out[3])
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < 3; i++)
		if (vma_is_vdso(&v[i]))
			out[k++] = (struct vma_info *)&v[i];
	return k;
}

static int move_block(struct proc_restore *p, struct vma_info **cur, size_t n,
		      uint64_t to)
{
	uint64_t from = cur[0]->start;

	for (size_t i = 0; i < n; i++) {
		uint64_t len = cur[i]->end - cur[i]->start;
		uint64_t dst = to + (cur[i]->start - from);
		long ret = rcall(&p->r, __NR_mremap, cur[i]->start, len, len,
				MREMAP_MAYMOVE | MREMAP_FIXED, dst, 0);

		if (ret != (long)dst) {
			pr_err("puppet %u: mremap %s to %#lx failed (%ld)",
			       p->pe->pid, cur[i]->path, (long)dst, ret);
			return -1;
		}
		cur[i]->end = dst + len;
		cur[i]->start = dst;
	}
	return 0;
}

/* Of the puppet's vDSO mappings, those the target had no more (it
 * unmapped them) go; cur keeps the others, in order. */
static int drop_unwanted_vdso(struct proc_restore *p, struct vma_info **cur,
			      size_t *ncur, const struct vma_info *want,
			      size_t nwant)
{
	size_t k = 0;

	for (size_t i = 0; i < *ncur; i++) {
		bool wanted = false;

		for (size_t j = 0; j < nwant; j++)
			wanted |= !strcmp(cur[i]->path, want[j].path);
		if (wanted) {
			cur[k++] = cur[i];
			continue;
		}
		if (rcall(&p->r, __NR_munmap, cur[i]->start,
			  cur[i]->end - cur[i]->start, 0, 0, 0, 0)) {
			pr_err("puppet %u: munmap %s failed", p->pe->pid,
			       cur[i]->path);
			return -1;
		}
		pr_info("restore %u: %s unmapped, as the process had it",
			p->pe->pid, cur[i]->path);
	}
	*ncur = k;
	return 0;
}

/*
 * [vvar], [vvar_vclock] and [vdso] move together, by one offset: the vDSO
 * code finds its data at a fixed distance. The layout must be the one the
 * target had (same kernel, checked in the inventory), but for what it
 * unmapped: that goes.
 */
static int move_vdso(struct proc_restore *p)
{
	struct vma_info *cur_v, *cur[3] = { 0 }, want[3];
	size_t ncur, nwant = 0, n;
	uint64_t lo, hi;

	if (proc_read_maps(p->hpid, &cur_v, &n))
		return -1;
	ncur = vdso_vmas(cur_v, n, cur);
	for (size_t i = 0; i < p->mm->n_vmas && nwant < 3; i++) {
		const VmaEntry *e = p->mm->vmas[i];

		if (e->kind != VMA_KIND__VMA_VDSO)
			continue;
		want[nwant].start = e->start;
		want[nwant].end = e->end;
		want[nwant].path = e->path ? e->path : "";
		nwant++;
	}
	if (drop_unwanted_vdso(p, cur, &ncur, want, nwant)) {
		free(cur_v);
		return -1;
	}
	for (size_t i = 0; i < nwant; i++) {
		if (ncur != nwant || strcmp(cur[i]->path, want[i].path) ||
		    cur[i]->end - cur[i]->start != want[i].end - want[i].start ||
		    cur[i]->start - cur[0]->start != want[i].start - want[0].start) {
			pr_err("restore %u: vDSO layout differs from the dumped "
			       "one", p->pe->pid);
			free(cur_v);
			return -1;
		}
	}
	if (!nwant || cur[0]->start == want[0].start) {
		free(cur_v);
		return 0;
	}
	lo = cur[0]->start;
	hi = cur[ncur - 1]->end;
	/* overlapping source and destination: park it first */
	if (want[0].start < hi && want[nwant - 1].end > lo &&
	    move_block(p, cur, ncur, p->vdso_tmp)) {
		free(cur_v);
		return -1;
	}
	n = move_block(p, cur, ncur, want[0].start);
	free(cur_v);
	return n ? -1 : 0;
}

/* A userfaultfd of the puppet's mm (made inside it, copied out, closed
 * there), with the large anonymous VMAs registered for missing pages. */
static int register_lazy(struct restore_ctx *c, struct proc_restore *p)
{
	size_t idx = p - c->procs;
	int pidfd, fd = -1;
	long tfd;

	tfd = rcall(&p->r, __NR_userfaultfd, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0, 0);
	if (tfd < 0) {
		pr_err("restore %d: userfaultfd() for lazy pages: %s", p->hpid,
		       strerror(-tfd));
		return -1;
	}
	pidfd = syscall(__NR_pidfd_open, p->hpid, 0);
	if (pidfd >= 0) {
		fd = syscall(__NR_pidfd_getfd, pidfd, tfd, 0);
		close(pidfd);
	}
	rcall(&p->r, __NR_close, tfd, 0, 0, 0, 0, 0);
	if (fd < 0) {
		pr_perror("restore %d: take the lazy-pages userfaultfd", p->hpid);
		return -1;
	}
	if (lazy_uffd_api(fd)) {
		close(fd);
		return -1;
	}
	if (lazy_register(&c->lazy[idx], p->hpid, fd, p->mm, p->pme, p->nr_pme,
			  idx ? NULL : c->held, idx ? 0 : c->nr_held))
		return -1;
	c->lazy[idx].check_pages = !c->o->no_verify;
	c->lazy[idx].vpid = p->pe->pid;
	return 0;
}

/* restore --lazy-pages with a criu-lite lazy-pages daemon on DIR: it
 * takes the userfaultfd and gives back a server as ours would be. */
static int hand_to_daemon(struct restore_ctx *c, struct proc_restore *p)
{
	struct lazy_proc *lp = &c->lazy[p - c->procs];
	int ret;

	ret = lazy_daemon_hand(c->lazy_session, p->pe->pid, p->hpid, lp->uffd,
			       c->o->lazy_timeout_s, &lp->daemon, &lp->ctl);
	close(lp->uffd);
	if (!ret)
		pr_info("the lazy-pages daemon's server %d fills the memory "
			"of %d", lp->daemon, p->hpid);
	return ret;
}

/*
 * The lazy-pages daemon of one process: a child of ours that holds its
 * userfaultfd and fills its memory from the pages image.
 */
static int start_lazy_daemon(struct restore_ctx *c, struct proc_restore *p)
{
	struct lazy_proc *lp = &c->lazy[p - c->procs];
	bool last = (size_t)(p - c->procs) == c->nr - 1;
	int sv[2];
	pid_t pid;

	if (c->lazy_session >= 0)
		return hand_to_daemon(c, p);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("socketpair for the lazy-pages daemon");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("fork the lazy-pages daemon");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		struct lazy_guard g = { .ctl = sv[1] };
		int ret;

		prctl(PR_SET_NAME, "criu-lite-lazy");
		setsid();
		sigprocmask(SIG_SETMASK, &c->old_mask, NULL);
		close(sv[0]);
		for (size_t i = 0; i < c->nr; i++)
			if (c->lazy[i].ctl > 0)
				close(c->lazy[i].ctl);
		if (c->ready[0] >= 0)
			close(c->ready[0]);
		/* plain lines: it may outlive criu-lite on the terminal */
		c->progress.tty = false;
		/* the last process' daemon takes restore's connection (a
		 * one-client page-server serves just that), the others open
		 * their own */
		if (c->src.remote && !last && page_source_reconnect(&c->src))
			_exit(1);
		ret = lazy_serve(lp, 1, &c->src, &g, &c->progress);
		_exit(ret ? 1 : 0);
	}
	close(sv[1]);
	lp->ctl = sv[0];
	lp->daemon = pid;
	if (c->st->nr_daemons < MAX_DAEMONS_RECORDED)
		c->st->daemons[c->st->nr_daemons++] = pid;
	close(lp->uffd);
	if (c->src.remote && last)
		c->src.ops->close(&c->src);
	pr_info("lazy-pages daemon %d serves the memory of %d", pid, p->hpid);
	return 0;
}

static int rebuild_vmas_pages(struct restore_ctx *c, struct proc_restore *p,
			      struct mm_restore *m);

/* The root's held VMAs (in place since its clone) are ready too. */
static int add_held(struct restore_ctx *c, struct addr_range **ready,
		    size_t *nready)
{
	struct addr_range *r;

	if (!c->nr_held)
		return 0;
	r = realloc(*ready, (*nready + c->nr_held) * sizeof(*r));
	if (!r)
		return -1;
	memcpy(r + *nready, c->held, c->nr_held * sizeof(*r));
	*nready += c->nr_held;
	qsort(r, *nready, sizeof(*r), cmp_range);
	*ready = r;
	return 0;
}

static int rebuild_memory(struct restore_ctx *c, struct proc_restore *p)
{
	struct remote_batch batch;
	struct mm_restore m = {
		.pid = p->hpid, .r = &p->r,
		.scratch = p->gadget + PAGE_SZ, .scratch_len = SCRATCH_LEN,
		.batch = &batch,
		.mm = p->mm, .pme = p->pme, .nr_pme = p->nr_pme,
		.src = &c->src,
		.check_pages = !c->o->no_verify,
		.verify = c->o->verify,
		.fds = p->fds, .nr_fds = p->nr_fds,
		.shm = &c->shm,
		.ghosts = &c->ghosts,
		.lazy = c->o->lazy,
		.progress = &c->progress,
	};
	struct addr_range *ready;
	size_t nready;
	int ret;

	if (batch_init(&batch, &p->r, p->gadget + RUNNER_AT,
		       p->gadget + BATCH_TABLE_AT, BATCH_TABLE_LEN))
		return -1;
	if (cow_ready(&c->cow, p - c->procs, &ready, &nready) ||
	    (p == c->procs && add_held(c, &ready, &nready))) {
		batch_free(&batch);
		return -1;
	}
	m.ready = ready;
	m.nr_ready = nready;
	ret = unmap_puppet(p, ready, nready) || move_vdso(p) ||
	      rebuild_vmas_pages(c, p, &m);
	free(ready);
	batch_free(&batch);
	return ret ? -1 : 0;
}

/* Pages of a root's lazy VMAs not held read in at restore at most:
 * LAZY_EAGER_MAX, or CRIU_LITE_EAGER_MAX (tests: 0 takes the daemon's
 * way). */
static uint64_t eager_max(void)
{
	const char *s = getenv("CRIU_LITE_EAGER_MAX");

	return s ? strtoull(s, NULL, 10) : LAZY_EAGER_MAX;
}

/* The VMAs and pages of a puppet whose own memory is gone. */
static int rebuild_vmas_pages(struct restore_ctx *c, struct proc_restore *p,
			      struct mm_restore *m)
{
	/* migrate --incoming with the memory held: the rest (a few VMAs new
	 * or changed since pre-copy began) read in now from the pages file,
	 * not by a daemon, whose start would first write every held page
	 * into DIR (below; docs/results.md, session 11: seconds in the
	 * downtime) */
	bool lazy = c->o->lazy &&
		    (p != c->procs || !c->nr_held || c->lazy_session >= 0 ||
		     lazy_needed(p->mm, p->pme, p->nr_pme, c->held,
				 c->nr_held, eager_max()));

	/* a daemon for the root's rest: its held pages into DIR's pages
	 * file too (from criu-lite's copy, still mapped), so that DIR can
	 * restore the tree if the daemon fails after the source is gone */
	if (lazy && p == c->procs && c->nr_held && c->o->prefill) {
		uint64_t w0 = c->o->prefill->bytes_spilled;

		if (prefill_spill(c->o->prefill))
			return -1;
		pr_info("restore %d: its held memory written into DIR first "
			"(%.1f MiB): a lazy-pages daemon serves the rest", p->hpid,
			(c->o->prefill->bytes_spilled - w0) / 1048576.0);
	}
	m->lazy = lazy;		/* false: every run read in now */
	if (c->o->lazy && !lazy)
		pr_info("restore %d: all its lazy memory held in place, zero "
			"or read in now: no lazy-pages daemon", p->hpid);
	if (restore_vmas(m))
		return -1;
	if (lazy && register_lazy(c, p))
		return -1;
	if (restore_pages(m) || restore_guards(m))	/* all but the lazy runs */
		return -1;
	/* the daemon starts now: injected calls from here on (rseq, robust
	 * lists) may touch lazy memory, and would wait for it for ever */
	if (lazy && start_lazy_daemon(c, p))
		return -1;
	if (c->o->verify) {
		uint64_t t0 = now_ns();
		int ret = verify_pages(m);

		c->st->verify_ns += now_ns() - t0;
		if (ret)
			return -1;
	}
	if (restore_protections(m) || restore_locks(m) ||
	    restore_mm_fields(m))
		return -1;
	for (size_t i = 0; i < p->nr_pme; i++)
		if (p->pme[i]->flags & PE_PRESENT)
			c->st->pages_written += p->pme[i]->nr_pages;
	/* lazy runs come later, from the daemon */
	for (size_t i = 0; c->lazy && i < c->lazy[p - c->procs].nr_runs; i++) {
		if (c->lazy[p - c->procs].runs[i]->flags & PE_PRESENT)
			c->st->pages_written -=
				c->lazy[p - c->procs].runs[i]->nr_pages;
		c->st->pages_lazy += c->lazy[p - c->procs].runs[i]->nr_pages;
	}
	return 0;
}

/* New threads: clone3 injected in the leader with the TID they had. They
 * start traced (PTRACE_O_TRACECLONE) and stopped, at the gadget. */
static int restore_task_state(struct restore_ctx *c, struct proc_restore *p)
{
	pid_t pid = p->hpid;
	const TaskEntry *te = p->task;

	restore_rlimits(pid, te);
	if (te->has_personality)
		rcall(&p->r, __NR_personality, te->personality, 0, 0, 0, 0, 0);
	rcall(&p->r, __NR_prctl, PR_SET_PDEATHSIG,
	     te->has_pdeathsig ? te->pdeathsig : 0, 0, 0, 0, 0);
	if (te->has_no_new_privs && te->no_new_privs)
		RSYS_OK(rcall(&p->r, __NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0),
			"restore %d: no_new_privs", pid);
	/* the ready pipe was the puppet's last fd of ours */
	rcall(&p->r, __NR_close, c->keep_at, 0, 0, 0, 0, 0);
	return 0;
}

/* Whether find_syscall_site may look in v: the vDSO or code of a file. */
static bool may_hold_syscall_site(const VmaEntry *v)
{
	return v->kind == VMA_KIND__VMA_VDSO ||
	       (v->kind == VMA_KIND__VMA_FILE_PRIVATE && (v->prot & PROT_EXEC) &&
		!(v->prot & PROT_WRITE) && !v->unlinked && v->path);
}

/*
 * The code mappings of a rebuilt process, as find_syscall_site takes
 * them: from its image, which they now match (the vDSO moved to its
 * dumped place, every other VMA mapped as dumped). Not from
 * /proc/PID/smaps: for tens of thousands of VMAs that read alone costs
 * more than making them.
 */
static int code_vmas_of(const MmEntry *mm, struct vma_info **out, size_t *nr)
{
	struct vma_info *v;
	size_t n = 0;

	for (size_t i = 0; i < mm->n_vmas; i++)
		n += may_hold_syscall_site(mm->vmas[i]);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -1;
	n = 0;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *e = mm->vmas[i];

		if (!may_hold_syscall_site(e))
			continue;
		v[n] = (struct vma_info){ .start = e->start, .end = e->end,
					  .prot = e->prot, .pgoff = e->pgoff };
		/* the images' strings go with them: v may outlive them */
		v[n].path = e->path ? proc_intern_path(e->path,
						       strlen(e->path)) : "";
		if (!v[n++].path) {
			free(v);
			return -1;
		}
	}
	*out = v;
	*nr = n;
	return 0;
}

/* Removes the gadget with a `syscall` inside the (moved) vDSO, or, for a
 * process without one, of its libc (find_syscall_site): after it, nothing
 * of criu-lite is left in the process. */
static int drop_gadget(struct proc_restore *p)
{
	struct vma_info *v;
	struct remote vr;
	const char *where;
	uint64_t ip = 0;
	bool failed;
	size_t n;
	long ret;

	if (code_vmas_of(p->mm, &v, &n))
		return -1;
	ret = find_syscall_site(p->hpid, v, n, &ip, &where);
	free(v);
	if (ret)
		return -1;
	vr = p->r;
	vr.syscall_ip = ip;
	ret = remote_syscall(&vr, &failed, __NR_munmap, p->gadget, GADGET_LEN,
			     0, 0, 0, 0);
	if (failed || ret) {
		pr_err("restore %u: munmap of the gadget failed (%ld)",
		       p->pe->pid, ret);
		return -1;
	}
	return 0;
}

/* -v3: what is going to be rebuilt in p (its fds are in place already) */
static void debug_proc(const struct proc_restore *p)
{
	char line[PATH_MAX + 128];

	if (log_get_level() < LOG_DEBUG)
		return;
	pr_debug("restore %d: %zu threads, %zu VMAs, %zu fds, %zu page runs",
		 p->hpid, (size_t)p->pe->n_threads, p->mm->n_vmas, p->nr_fds,
		 p->nr_pme);
	for (size_t i = 0; i < p->nr_fds; i++)
		pr_debug("restore %d: %s", p->hpid,
			 describe_fd_entry(p->fds[i], line, sizeof(line)));
	for (size_t i = 0; i < p->mm->n_vmas; i++)
		pr_debug("restore %d: vma %s", p->hpid,
			 describe_vma_entry(p->mm->vmas[i], line, sizeof(line)));
}

static int rebuild_proc(struct restore_ctx *c, struct proc_restore *p)
{
	pid_t pid = p->hpid;

	p->seized = calloc(p->pe->n_threads, sizeof(pid_t));
	p->htids = calloc(p->pe->n_threads, sizeof(pid_t));
	if (!p->seized || !p->htids)
		return -1;
	p->htids[0] = pid;
	debug_proc(p);
	if (seize_puppet(p, pid) ||
	    remote_init(&p->r, pid, p->gadget))
		return -1;
	if (rebuild_memory(c, p) ||
	    create_threads(&p->r, p->pe, p->gadget + PAGE_SZ, p->htids,
			   p->seized, &p->nr_seized))
		return -1;
	for (size_t t = 0; t < p->pe->n_threads; t++) {
		struct remote tr;

		if (remote_init(&tr, p->htids[t], p->gadget) ||
		    restore_thread_state(&tr, p->pe->pid, p->gadget + PAGE_SZ,
					 p->cores[t]))
			return -1;
	}
	if (restore_timers(&p->r, p->gadget + PAGE_SZ, p->task) ||
	    restore_task_state(c, p))
		return -1;
	/* credentials last: the puppet needs its privileges until here */
	for (size_t t = 0; t < p->pe->n_threads; t++) {
		struct remote tr;

		if (remote_init(&tr, p->htids[t], p->gadget) ||
		    restore_creds(&tr, p->gadget + PAGE_SZ, p->task->creds))
			return -1;
	}
	if (drop_gadget(p))
		return -1;
	for (size_t t = 0; t < p->pe->n_threads; t++)
		if (restore_thread_regs(p->htids[t], p->cores[t]))
			return -1;
	return 0;
}

/*
 * A process that was stopped (SIGSTOP, ^Z) goes back into group-stop: a
 * SIGSTOP queued while it is still traced is the first thing it takes
 * once detached, before it runs an instruction. SIGSTOP whatever stopped
 * it: a SIGTSTP could be caught or blocked, or dropped in an orphaned
 * process group.
 */
static void stop_stopped(struct restore_ctx *c)
{
	for (size_t i = 0; i < c->nr; i++) {
		struct proc_restore *p = &c->procs[i];

		if (p->pe->zombie || !p->task->has_stop_sig || !p->task->stop_sig)
			continue;
		if (kill(p->hpid, SIGSTOP))
			pr_perror("restore %u: stop it again (it was stopped by "
				  "signal %u)", p->pe->pid, p->task->stop_sig);
		else
			pr_info("restore %u: stopped, as it was at dump (signal "
				"%u)", p->pe->pid, p->task->stop_sig);
	}
}

static void detach_all(struct restore_ctx *c)
{
	for (size_t i = 0; i < c->nr; i++)
		for (size_t t = 0; t < c->procs[i].nr_seized; t++)
			if (ptrace(PTRACE_DETACH, c->procs[i].seized[t], NULL, NULL))
				pr_perror("PTRACE_DETACH(%d)", c->procs[i].seized[t]);
}

/*
 * After a failed restore nothing of it may stay: every puppet and lazy
 * daemon is killed, and every child and tracee of ours reaped. Threads we
 * trace are reaped by us, not by their parent, and a killed process whose
 * threads are not reaped stays a zombie holding its PID: wait for all of
 * them (bounded: a task stuck in the kernel is named, not waited for).
 */
static void kill_puppets(struct restore_ctx *c)
{
	uint64_t deadline = now_ns() + 10000000000ULL;
	unsigned killed = 0, daemons = 0;
	char pids[256] = "";
	size_t n = 0;
	pid_t w;

	if (c->root <= 0)
		return;
	for (size_t i = c->nr; i-- > 0;) {
		if (c->procs[i].hpid > 0 && !kill(c->procs[i].hpid, SIGKILL)) {
			killed++;
			if (n < sizeof(pids) - 16)
				n += snprintf(pids + n, sizeof(pids) - n, "%s%d",
					      n ? " " : "", c->procs[i].hpid);
		}
		if (c->lazy && c->lazy[i].daemon > 0 &&
		    !kill(c->lazy[i].daemon, SIGKILL))
			daemons++;
	}
	kill(c->root, SIGKILL);	/* with --pidns, init: takes the ns down */
	while (now_ns() < deadline) {
		w = waitpid(-1, NULL, __WALL | WNOHANG);
		if (w < 0 && errno == ECHILD)
			break;
		if (w <= 0)
			usleep(1000);
	}
	if (now_ns() >= deadline)
		pr_err("restore cleanup: some of the killed processes are still "
		       "not gone after 10 s");
	else
		pr_warn("restore cleanup: %u process(es) killed and reaped "
			"(%s)%s%s, nothing of this restore is left", killed,
			killed ? pids : "none had its PID yet",
			daemons ? ", and the lazy-pages daemon" : "",
			daemons > 1 ? "s" : "");
}

static void free_proc(struct proc_restore *p, struct lazy_proc *lp)
{
	for (size_t t = 0; p->cores && t < p->pe->n_threads; t++)
		if (p->cores[t])
			img_free_msg(NULL, &p->cores[t]->base);
	free(p->cores);
	free_msgs((void **)p->pme, p->nr_pme);
	free_msgs((void **)p->fds, p->nr_fds);
	if (p->task)
		img_free_msg(NULL, &p->task->base);
	if (p->mm)
		img_free_msg(NULL, &p->mm->base);
	img_free_msg(NULL, &p->pe->base);
	free(p->seized);
	free(p->htids);
	for (size_t r = 0; lp && r < lp->nr_runs; r++)
		free(lp->done[r]);
	if (lp) {
		free(lp->done);
		free(lp->runs);	/* the runs themselves are p->pme's */
	}
}

/* Everything load_images and the rebuild allocated. */
static void free_restore(struct restore_ctx *c)
{
	for (size_t i = 0; i < c->nr; i++)
		if (c->procs[i].pe)
			free_proc(&c->procs[i], c->lazy ? &c->lazy[i] : NULL);
	free(c->procs);
	free(c->lazy);
	if (c->lazy_session >= 0)	/* the daemon's session ends */
		close(c->lazy_session);
	shm_table_free(&c->shm);
	ghost_maps_close(&c->ghosts);
	cow_free(&c->cow);
	if (c->inv)
		img_free_msg(NULL, &c->inv->base);
}

/*
 * A zombie of the image is forked by its parent's puppet and dies at once,
 * but on a busy machine it may not have run yet when the rest is built
 * (it was seen still named "criu-lite" after restore returned). The tree
 * is let go once each one is a zombie again; bounded, its parent cannot
 * reap it before (it is still traced and stopped).
 */
static void wait_zombies(struct restore_ctx *c)
{
	uint64_t deadline = now_ns() + 5000000000ULL;

	for (size_t i = 0; i < c->nr; i++) {
		struct proc_stat st;

		if (!c->procs[i].pe->zombie || c->procs[i].hpid <= 0)
			continue;
		while (!proc_read_stat(c->procs[i].hpid, c->procs[i].hpid, &st) &&
		       st.state != 'Z' && now_ns() < deadline)
			usleep(1000);
	}
}

/* The images say dump --qmp stopped the VM. */
static bool stopped_by_dump(const InventoryEntry *inv)
{
	return inv->has_qmp_stopped && inv->qmp_stopped && inv->qmp_socket;
}

/* The page faults of process pid so far (all its threads), or 0. */
static uint64_t faults_of(pid_t pid)
{
	char *text = proc_read_file("/proc/%d/stat", pid);
	struct proc_stat st;
	uint64_t n = 0;

	if (text && !proc_parse_stat(text, &st))
		n = st.minflt + st.majflt;
	free(text);
	return n;
}

/* "cont" for the VM the dump stopped: queued (q, qmp_queue) or now.
 * faults0: the root's page faults when it was let go (-v4: how many its
 * first pass took, the pass that answers). */
static void cont_vm(const InventoryEntry *inv, struct qmp_conn *q,
		    pid_t root, uint64_t faults0)
{
	int ret = q ? qmp_queued_result(q, NULL, 0) :
		      qmp_command(inv->qmp_socket, "cont", NULL, 0, 10000);

	if (ret)
		pr_err("restored, but QMP cont on %s failed: the VM stays "
		       "stopped", inv->qmp_socket);
	else
		pr_debug("QMP cont on %s answered (%lu page faults since the "
			 "tree was let go)", inv->qmp_socket,
			 (unsigned long)(faults_of(root) - faults0));
}

/* The tree is built: its late fds, its stop state, then it is let go;
 * a lazily restored process is handed to its daemon's guard; a VM stopped
 * by dump --qmp is continued. */
static int resume_tree(struct restore_ctx *c)
{
	const InventoryEntry *inv = c->inv;
	bool cont = stopped_by_dump(inv) && !c->o->no_cont;
	bool daemons = false;
	struct qmp_conn *q = NULL;
	uint64_t faults0 = 0;

	/* timerfds: the time restore took does not count against them */
	for (size_t i = 0; i < c->nr; i++)
		restore_fds_late(c->procs[i].hpid, c->procs[i].fds,
				 c->procs[i].nr_fds);
	stop_stopped(c);
	wait_zombies(c);
	for (size_t i = 0; c->lazy && i < c->nr; i++)
		daemons |= c->lazy[i].daemon > 0;
	/* "cont" queued while QEMU is still stopped, answered in its first
	 * pass; not where a lazy-pages daemon is to take the process over
	 * first (the guest runs only once it guards it): there nothing is
	 * queued, and no error exit lies between the queue and its answer */
	if (cont && !daemons)
		q = qmp_queue(inv->qmp_socket, "cont", 10000);
	if (cont && log_get_level() >= LOG_DEBUG)
		faults0 = faults_of(c->procs[0].hpid);
	pr_debug("letting the tree go");
	detach_all(c);
	for (size_t i = 0; daemons && i < c->nr; i++)
		if (c->lazy[i].daemon > 0 &&
		    guard_hand_over(c->lazy[i].ctl, c->lazy[i].daemon,
				    c->procs[i].hpid))
			return -1;
	if (stopped_by_dump(inv) && c->o->no_cont)
		pr_info("VM left stopped (--no-cont): QMP %s", inv->qmp_socket);
	if (cont)
		cont_vm(inv, q, c->procs[0].hpid, faults0);
	return 0;
}

/* Without -d: the root's exit status, as 0x100 | status. */
static int wait_root(struct restore_ctx *c)
{
	int status;

	if (waitpid(c->root, &status, 0) != c->root) {
		pr_perror("waitpid(%d)", c->root);
		return -1;
	}
	return 0x100 | (WIFEXITED(status) ? WEXITSTATUS(status) :
			128 + WTERMSIG(status));
}

/* migrate --incoming: the root's large anonymous VMAs that the
 * destination holds already go in place here, to be inherited by its
 * clone (prefill.h); any that can't take the normal way. */
static int hold_root(struct restore_ctx *c)
{
	struct proc_restore *p = &c->procs[0];
	struct prefill *pf = c->o->prefill;

	if (!pf)
		return 0;
	if (!c->o->lazy || c->lazy_session >= 0 || c->o->pidns ||
	    p->pe->zombie || !p->mm || c->src.remote) {
		/* not held: its pages come from the pages file, all of them */
		return prefill_spill(pf);
	}
	if (prefill_take(pf, p->mm, p->pme, p->nr_pme, &c->src))
		return pf->spill_failed ? -1 : 0;	/* the lazy way */
	if (!pf->nr_moved)
		return 0;
	c->held = malloc(pf->nr_moved * sizeof(*c->held));
	if (!c->held)
		return -1;
	memcpy(c->held, pf->moved, pf->nr_moved * sizeof(*c->held));
	c->nr_held = pf->nr_moved;
	return 0;
}

int restore_tree(const struct restore_opts *o, struct restore_stats *st)
{
	struct restore_ctx c = { .o = o, .st = st, .dirfd = -1,
				 .ready = { -1, -1 }, .lazy_session = -1 };
	uint64_t t0 = now_ns(), t1;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (progress_init(&c.progress, o->progress_fd))
		return -1;
	block_stop_sigs(&c);
	if (load_images(&c))
		goto out;
	pause_at("restore-loaded");
	if (o->lazy && !(c.lazy = calloc(c.nr, sizeof(*c.lazy))))
		goto out;
	if (o->page_server && (c.nr > 1 || o->verify)) {
		pr_err("--page-server: only a single process, without --verify, "
		       "is supported yet (this tree has %zu)", c.nr);
		goto out;
	}
	/* before the gadgets are placed: its table is a mapping of ours */
	if (plan_cow(&c))
		goto out;
	st->load_ns = now_ns() - t0;
	t1 = now_ns();
	if (interrupted(&c) || check_pids_free(&c))
		goto out;
	st->pid_wait_ns = now_ns() - t1;
	t1 = now_ns();
	if (hold_root(&c))
		goto out;
	st->hold_ns = now_ns() - t1;
	for (size_t i = 0; i < c.nr; i++)
		if (!c.procs[i].pe->zombie && choose_gadget(&c.procs[i]))
			goto out;
	t1 = now_ns();
	if (fork_puppets(&c))
		goto fail;
	st->fork_ns = now_ns() - t1;
	t1 = now_ns();
	progress_phase(&c.progress, "restore-pages", tree_pages(&c, false));
	for (size_t i = 0; i < c.nr; i++)
		if (interrupted(&c) ||
		    (!c.procs[i].pe->zombie && rebuild_proc(&c, &c.procs[i])))
			goto fail;
	progress_end(&c.progress);
	st->mm_ns = now_ns() - t1;
	if (o->prefill)		/* the root's copy is its own */
		prefill_drop_behind(o->prefill);
	if (fault_at("restore-before-resume") || interrupted(&c) ||
	    resume_tree(&c))
		goto fail;
	st->root_pid = c.procs[0].hpid;
	st->total_ns = now_ns() - t0;
	if (c.lazy_session >= 0)	/* every process handed over */
		lazy_daemon_done(c.lazy_session);
	pause_at("restore-after-resume");
	settle_stop_sigs(&c);
	stats_record_restore(c.dirfd, o->dir, st, o->display_stats, stdout);
	ret = o->detach ? 0 : wait_root(&c);
	goto out;
fail:
	if (!c.stop_sig)
		pr_err("restore failed: killing the partly restored tree");
	kill_puppets(&c);
out:
	if (c.stop_sig && c.root <= 0)
		pr_warn("restore cleanup: no process had been created yet, "
			"nothing to undo");
	sigprocmask(SIG_SETMASK, &c.old_mask, NULL);
	if (c.src.ops)
		c.src.ops->close(&c.src);
	if (c.ready[0] >= 0)
		close(c.ready[0]);
	layer_chain_close(&c.chain);
	if (c.dirfd >= 0)
		close(c.dirfd);
	free_restore(&c);
	free(c.held);
	return ret;
}

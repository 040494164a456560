// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cr.h"
#include "image.h"
#include "imgdir.h"
#include "layers.h"
#include "log.h"
#include "mem-tracker.h"
#include "seize.h"

#define STAGE_TRIES	100

static bool is_dot_name(const char *s)
{
	return !strcmp(s, ".") || !strcmp(s, "..");
}

/* DIR's parent into parent, its last component into d->base; trailing
 * slashes do not count. "/" gets an empty base. */
static void split_dir(struct images_dir *d, char *parent, size_t len)
{
	char buf[PATH_MAX];
	size_t n;
	char *slash;

	snprintf(buf, sizeof(buf), "%s", d->dir);
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
	slash = strrchr(buf, '/');
	if (!slash) {
		snprintf(parent, len, ".");
		snprintf(d->base, sizeof(d->base), "%.255s", buf);
	} else if (slash == buf) {
		snprintf(parent, len, "/");
		snprintf(d->base, sizeof(d->base), "%.255s", buf + 1);
	} else {
		*slash = 0;
		snprintf(parent, len, "%s", buf);
		snprintf(d->base, sizeof(d->base), "%.255s", slash + 1);
	}
}

/* A mount point can't be renamed (EBUSY), nor can its files be moved to
 * a staging directory in its parent (EXDEV). */
static bool is_mount_root(const char *path)
{
	struct statx sx, px;
	char up[PATH_MAX];

	if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx))
		return false;
	if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
	snprintf(up, sizeof(up), "%s/..", path);
	if (statx(AT_FDCWD, up, 0, STATX_BASIC_STATS, &px))
		return false;
	return sx.stx_dev_major != px.stx_dev_major ||
	       sx.stx_dev_minor != px.stx_dev_minor;
}

static bool is_cwd(const struct stat *st)
{
	struct stat cwd;

	return !stat(".", &cwd) && cwd.st_dev == st->st_dev &&
	       cwd.st_ino == st->st_ino;
}


const char *imgdir_ns_tag(void)
{
	static char tag[32];
	struct stat st;

	if (!tag[0])
		snprintf(tag, sizeof(tag), "n%lx",
			 stat("/proc/self/ns/pid", &st) ? 0UL :
			 (unsigned long)st.st_ino);
	return tag;
}

/* The pid of a name "<pid>-<our tag>[-...]" whose criu-lite is dead, or 0
 * (alive, ours, another namespace's, or not such a name). */
static long dead_owner(const char *s)
{
	const char *tag = imgdir_ns_tag();
	size_t tlen = strlen(tag);
	char *end;
	long pid = strtol(s, &end, 10);

	if (pid <= 0 || end == s || *end != '-' || strncmp(end + 1, tag, tlen) ||
	    (end[1 + tlen] && end[1 + tlen] != '-') || pid == getpid() ||
	    !(kill(pid, 0) && errno == ESRCH))
		return 0;
	return pid;
}

/*
 * Staging directories are named PREFIX.tmp-PID-TAG-RANDOM (imgdir.h). One whose criu-lite
 * is gone (SIGKILLed before it could clean up) is removed by the next dump
 * into the same place, so such leftovers do not pile up; one of a running
 * criu-lite (a dump in progress) is left alone.
 */
void imgdir_sweep_dead(int dirfd, const char *prefix)
{
	size_t plen = strlen(prefix);
	struct dirent *de;
	int fd = dup(dirfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;

	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		long pid;

		if (strncmp(de->d_name, prefix, plen) ||
		    !(pid = dead_owner(de->d_name + plen)))
			continue;
		pr_info("removing %s, left by a criu-lite (pid %ld) that died",
			de->d_name, pid);
		imgdir_remove_tree(dirfd, de->d_name);
	}
	closedir(dir);
}

static void sweep_stale_stages(int parentfd, const char *prefix)
{
	char stage[NAME_MAX + 1];

	snprintf(stage, sizeof(stage), "%s.tmp-", prefix);
	imgdir_sweep_dead(parentfd, stage);
}

/* mkdtemp relative to a directory fd: prefix + our pid and PID namespace
 * tag + 6 random hex. */
static int make_stage(struct images_dir *d, const char *prefix)
{
	struct timespec ts;

	sweep_stale_stages(d->parentfd, prefix);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	srandom(ts.tv_nsec ^ getpid());
	for (int i = 0; i < STAGE_TRIES; i++) {
		snprintf(d->stage, sizeof(d->stage), "%.200s.tmp-%d-%s-%06lx",
			 prefix, getpid(), imgdir_ns_tag(),
			 random() & 0xffffff);
		if (!mkdirat(d->parentfd, d->stage, 0700))
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

static int open_parent(struct images_dir *d, const char *path)
{
	d->parentfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (d->parentfd < 0)
		pr_perror("open images directory %s", path);
	return d->parentfd < 0 ? -1 : 0;
}

/* Staging inside DIR, when DIR itself can't be swapped. */
static int open_in_place(struct images_dir *d)
{
	d->in_place = true;
	if (open_parent(d, d->dir))
		return -1;
	if (make_stage(d, ".criu-lite-new")) {
		pr_perror("create a staging directory in %s", d->dir);
		return -1;
	}
	return 0;
}

static int open_beside(struct images_dir *d, const char *parent)
{
	if (open_parent(d, parent))
		return -1;
	if (!make_stage(d, d->base))
		return 0;
	if (d->exists && (errno == EACCES || errno == EPERM || errno == EROFS)) {
		pr_info("can't write next to %s (%m): staging inside it", d->dir);
		close(d->parentfd);
		return open_in_place(d);
	}
	pr_perror("create a staging directory for %s in %s", d->dir, parent);
	return -1;
}

int imgdir_open(struct images_dir *d, const char *dir)
{
	char parent[PATH_MAX];
	struct stat st;
	int ret;

	memset(d, 0, sizeof(*d));
	d->dir = dir;
	d->parentfd = d->fd = -1;
	d->mode = 0700;
	split_dir(d, parent, sizeof(parent));
	if (!stat(dir, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			pr_err("images directory %s exists and is not a directory",
			       dir);
			return -1;
		}
		d->exists = true;
		d->mode = st.st_mode & 07777;
	} else if (errno != ENOENT) {
		pr_perror("images directory %s", dir);
		return -1;
	}
	if (d->exists && (!d->base[0] || is_dot_name(d->base) ||
			  is_mount_root(dir) || is_cwd(&st)))
		ret = open_in_place(d);
	else
		ret = open_beside(d, parent);
	if (!ret)
		d->fd = openat(d->parentfd, d->stage, O_DIRECTORY | O_RDONLY |
			       O_CLOEXEC);
	if (!ret && d->fd < 0) {
		pr_perror("open staging directory %s for %s", d->stage, dir);
		ret = -1;
	}
	if (ret)
		imgdir_abort(d);
	return ret;
}

/* Calls fn for every entry of the directory at fd but . and .. */
static int for_each_entry(int fd, int (*fn)(int fd, struct dirent *de, void *arg),
			  void *arg)
{
	int dfd = dup(fd), ret = 0;
	struct dirent *de;
	DIR *dp;

	if (dfd < 0 || !(dp = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	rewinddir(dp);
	while (!ret && (de = readdir(dp)))
		if (!is_dot_name(de->d_name))
			ret = fn(fd, de, arg);
	closedir(dp);
	return ret;
}

static int remove_entry(int fd, struct dirent *de, void *arg)
{
	(void)arg;
	if (de->d_type == DT_DIR)
		return imgdir_remove_tree(fd, de->d_name);
	if (unlinkat(fd, de->d_name, 0) && errno != ENOENT) {
		pr_perror("remove %s", de->d_name);
		return -1;
	}
	return 0;
}

int imgdir_remove_tree(int parentfd, const char *name)
{
	int fd = openat(parentfd, name, O_DIRECTORY | O_RDONLY | O_CLOEXEC |
			O_NOFOLLOW);
	int ret;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	ret = for_each_entry(fd, remove_entry, NULL);
	close(fd);
	if (unlinkat(parentfd, name, AT_REMOVEDIR) && errno != ENOENT) {
		pr_perror("remove directory %s", name);
		ret = -1;
	}
	return ret;
}

static int sync_entry(int fd, struct dirent *de, void *arg)
{
	const char *dir = arg;
	struct stat st;
	int f, ret;

	/* files only: the parent link and a socket have no data to sync */
	if (de->d_type == DT_LNK || de->d_type == DT_SOCK ||
	    (de->d_type == DT_UNKNOWN &&
	     !fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
	     !S_ISREG(st.st_mode)))
		return 0;
	f = openat(fd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (f < 0) {
		pr_perror("open %s/%s to sync it", dir, de->d_name);
		return -1;
	}
	ret = fsync(f);
	if (ret)
		pr_perror("fsync %s/%s", dir, de->d_name);
	close(f);
	return ret;
}

static int sync_dir(int fd, const char *name)
{
	if (fsync(fd) && errno != EINVAL) {
		pr_perror("fsync directory %s", name);
		return -1;
	}
	return 0;
}

/* Every staged file, then the staging directory itself. */
static int sync_stage(struct images_dir *d)
{
	if (for_each_entry(d->fd, sync_entry, (void *)d->stage))
		return -1;
	return sync_dir(d->fd, d->stage);
}

/* What a dump writes into DIR: images, the link to the parent layer,
 * a pre-dump's tracker socket. A new dump replaces all of them. */
static bool dump_owns(const char *name)
{
	return img_type_of_name(name) >= 0 || !strcmp(name, LAYER_LINK) ||
	       !strcmp(name, TRACKER_SOCK);
}

/* The old DIR's own files (logs, notes) move into the new one. */
static int carry_entry(int fd, struct dirent *de, void *arg)
{
	struct images_dir *d = arg;

	if (dump_owns(de->d_name))
		return 0;
	if (renameat2(fd, de->d_name, d->fd, de->d_name, RENAME_NOREPLACE))
		pr_warn("%s: %s of the old directory not kept: %m", d->dir,
			de->d_name);
	return 0;
}

/* DIR is swapped with the staging directory in one step when the
 * filesystem can, else moved aside first (DIR is briefly missing, but
 * never half-written). Returns the old DIR's name, now beside it. */
static int swap_dirs(struct images_dir *d, char *old, size_t len)
{
	char aside[NAME_MAX + 1];

	if (!d->exists) {
		if (!renameat2(d->parentfd, d->stage, d->parentfd, d->base,
			       RENAME_NOREPLACE)) {
			old[0] = 0;
			return 0;
		}
		if (errno != EEXIST)
			goto err;
	}
	if (!renameat2(d->parentfd, d->stage, d->parentfd, d->base,
		       RENAME_EXCHANGE)) {
		snprintf(old, len, "%s", d->stage);
		return 0;
	}
	if (errno != EINVAL)
		goto err;
	snprintf(aside, sizeof(aside), "%.200s.old-%d", d->base, getpid());
	if (renameat(d->parentfd, d->base, d->parentfd, aside))
		goto err;
	if (renameat(d->parentfd, d->stage, d->parentfd, d->base)) {
		pr_perror("rename %s to %s", d->stage, d->dir);
		renameat(d->parentfd, aside, d->parentfd, d->base);
		return -1;
	}
	snprintf(old, len, "%s", aside);
	return 0;
err:
	pr_perror("replace %s by the new images (%s)", d->dir, d->stage);
	return -1;
}

static int commit_beside(struct images_dir *d, bool durable)
{
	char old[NAME_MAX + 1];
	int oldfd;

	if (fchmod(d->fd, d->mode))
		pr_warn("chmod %s: %m", d->stage);
	if (swap_dirs(d, old, sizeof(old)))
		return -1;
	d->stage[0] = 0;	/* nothing to remove on failure now */
	if (!old[0])
		return durable ? sync_dir(d->parentfd, d->dir) : 0;
	oldfd = openat(d->parentfd, old, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldfd >= 0) {
		for_each_entry(oldfd, carry_entry, d);
		close(oldfd);
	}
	if (durable && sync_dir(d->parentfd, d->dir))
		return -1;
	if (imgdir_remove_tree(d->parentfd, old))
		pr_warn("the old images of %s are left in %s", d->dir, old);
	return 0;
}

static int drop_old_image(int fd, struct dirent *de, void *arg)
{
	(void)arg;
	if (!dump_owns(de->d_name))
		return 0;
	return remove_entry(fd, de, NULL);
}

static int move_entry(int fd, struct dirent *de, void *arg)
{
	struct images_dir *d = arg;

	if (!strcmp(de->d_name, "inventory.img"))
		return 0;	/* last */
	if (renameat(fd, de->d_name, d->parentfd, de->d_name)) {
		pr_perror("move %s into %s", de->d_name, d->dir);
		return -1;
	}
	return 0;
}

/*
 * DIR stays, its files are replaced: the old inventory goes first (from
 * then on DIR is no checkpoint), the old images next, the new ones move
 * in, the new inventory last.
 */
static int commit_in_place(struct images_dir *d, bool durable)
{
	if (unlinkat(d->parentfd, "inventory.img", 0) && errno != ENOENT) {
		pr_perror("remove old %s/inventory.img", d->dir);
		return -1;
	}
	if (durable && sync_dir(d->parentfd, d->dir))
		return -1;
	if (for_each_entry(d->parentfd, drop_old_image, NULL) ||
	    for_each_entry(d->fd, move_entry, d))
		return -1;
	if (renameat(d->fd, "inventory.img", d->parentfd, "inventory.img")) {
		pr_perror("move inventory.img into %s", d->dir);
		return -1;
	}
	if (durable && sync_dir(d->parentfd, d->dir))
		return -1;
	if (unlinkat(d->parentfd, d->stage, AT_REMOVEDIR))
		pr_warn("remove %s/%s: %m", d->dir, d->stage);
	d->stage[0] = 0;
	return 0;
}

int imgdir_commit(struct images_dir *d, bool durable, uint64_t *sync_ns)
{
	uint64_t t0 = now_ns();
	int ret;

	if (durable && sync_stage(d))
		return -1;
	*sync_ns += now_ns() - t0;
	if (fault_at("before-commit"))
		return -1;
	ret = d->in_place ? commit_in_place(d, durable) :
			    commit_beside(d, durable);
	if (!ret)
		imgdir_abort(d);	/* only closes: the stage is gone */
	return ret;
}

void imgdir_abort(struct images_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->parentfd >= 0 && d->stage[0] &&
	    imgdir_remove_tree(d->parentfd, d->stage))
		pr_warn("staging directory %s of %s is left behind", d->stage,
			d->dir);
	if (d->parentfd >= 0)
		close(d->parentfd);
	d->fd = d->parentfd = -1;
	d->stage[0] = 0;
}

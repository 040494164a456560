/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The images directory of a dump, replaced only once the new dump is
 * complete: images are written into a staging directory next to DIR
 * (DIR.tmp-XXXXXX, same parent, so relative paths resolve alike), and
 * commit swaps it with DIR (renameat2 RENAME_EXCHANGE) once every file
 * is durable. A failed dump removes the staging directory: DIR is never
 * touched. When DIR can't be renamed (a mount point, our own cwd) the
 * staging directory is inside DIR and commit moves the files over,
 * inventory.img last (see docs/design.md).
 */
#ifndef CRIU_LITE_IMGDIR_H
#define CRIU_LITE_IMGDIR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct images_dir {
	const char *dir;	/* as the user named it */
	char base[NAME_MAX + 1];	/* DIR's last component */
	char stage[NAME_MAX + 1];	/* staging dir's name under parentfd */
	int parentfd;		/* holds the staging dir: DIR's parent, or DIR */
	int fd;			/* the staging dir: images are written here */
	bool in_place;		/* staging inside DIR: files moved at commit */
	bool exists;		/* DIR existed when the dump began */
	unsigned mode;		/* DIR's permissions, kept */
};

/* Creates the staging directory; nothing of DIR is changed. */
int imgdir_open(struct images_dir *d, const char *dir);
/* Makes every staged file and the staging dir durable (unless !durable),
 * then puts it in DIR's place; DIR's files that are not images stay. */
int imgdir_commit(struct images_dir *d, bool durable, uint64_t *sync_ns);
/* Removes the staging directory (failed dump) and closes everything. */
void imgdir_abort(struct images_dir *d);

/* Removes directory name under parentfd and everything in it (symlinks
 * are not followed); 0 or -1. */
int imgdir_remove_tree(int parentfd, const char *name);
/*
 * Scratch names carry their criu-lite's PID and PID namespace:
 * PREFIX<pid>-<tag>[-...], tag = imgdir_ns_tag(). A PID says whether its
 * criu-lite still lives only in the namespace it was taken in: one
 * running in another PID namespace (a container, unshare -p) must not
 * see a live run's directory as dead.
 */
const char *imgdir_ns_tag(void);
/* Removes the entries of dirfd named PREFIX<pid>-<our tag>... whose
 * criu-lite (that pid) is dead: what a SIGKILLed one left behind.
 * Entries of other PID namespaces (another tag, or none) are left. */
void imgdir_sweep_dead(int dirfd, const char *prefix);

#endif

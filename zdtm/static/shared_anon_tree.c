// SPDX-License-Identifier: GPL-2.0
/*
 * shared_anon_tree: shared memory inherited by two children.
 * The root maps 16 pages MAP_SHARED|MAP_ANONYMOUS and 16 pages of a memfd
 * (MAP_SHARED, the fd closed afterwards), then forks two children.  Before
 * the checkpoint each process writes its own word in the first 12 pages of
 * both areas, and every process checks the others' words; the last 4 pages
 * stay untouched.
 * After restore every process checks the words written before; then in
 * turn each process (root, child 1, child 2) writes a new value into every
 * page (also the untouched ones) of both areas, and the two others must see
 * it.  The root drives the children through pipes.
 *
 * Corrupt points: anon, memfd, data.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_PAGES	16
#define TOUCHED		12
#define NR_PROCS	3	/* root, child 1, child 2 */

enum { AREA_ANON, AREA_MEMFD, NR_AREAS };
static const char *const area_names[NR_AREAS] = { "anonymous", "memfd" };

struct cmd {
	char op;		/* 'W' write, 'C' check, 'Q' quit */
	int writer;		/* whose word */
	int pages;		/* how many pages, from the first */
	uint64_t value;
};

static uint8_t *areas[NR_AREAS];
static size_t page_size;
static int cmd_pipes[NR_PROCS][2];	/* [0] unused */
static int reply_pipe[2];

static uint64_t *word(int area, int page, int proc)
{
	return (uint64_t *)(areas[area] + page * page_size) + 8 * proc + 1;
}

static uint64_t old_value(int proc, int page)
{
	return test_mix64(0xa000 + proc * 100 + page);
}

static void write_words(int proc, int pages, uint64_t value, bool per_page)
{
	int a, p;

	for (a = 0; a < NR_AREAS; a++)
		for (p = 0; p < pages; p++)
			*word(a, p, proc) = per_page ? old_value(proc, p) : value;
}

/* true when all words of @writer hold what they should */
static bool check_words(const char *who, int writer, int pages, uint64_t value,
			bool per_page)
{
	int a, p;

	for (a = 0; a < NR_AREAS; a++)
		for (p = 0; p < pages; p++) {
			uint64_t want = per_page ? old_value(writer, p) : value;

			if (*word(a, p, writer) != want) {
				test_fail("%s: %s page %d: word of process %d is %#lx, expected %#lx",
					  who, area_names[a], p, writer,
					  (unsigned long)*word(a, p, writer),
					  (unsigned long)want);
				return false;
			}
		}
	return true;
}

static void send_cmd(int proc, char op, int writer, int pages, uint64_t value)
{
	struct cmd c = { op, writer, pages, value };

	if (write(cmd_pipes[proc][1], &c, sizeof(c)) != sizeof(c))
		test_fail("write command to child %d: %m", proc);
}

static char get_reply(int proc)
{
	char r = '?';

	if (read(reply_pipe[0], &r, 1) != 1)
		test_fail("no reply from child %d", proc);
	return r;
}

static void __attribute__((noreturn)) child(int self)
{
	char name[16];
	struct cmd c;
	char r;

	snprintf(name, sizeof(name), "child %d", self);
	write_words(self, TOUCHED, 0, true);
	if (write(reply_pipe[1], "r", 1) != 1)
		test_abort("%s: write: %m", name);
	while (read(cmd_pipes[self][0], &c, sizeof(c)) == sizeof(c) && c.op != 'Q') {
		if (c.op == 'W') {
			if (self == 1 && test_corrupt("anon"))
				mmap(areas[AREA_ANON], NR_PAGES * page_size,
				     PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (self == 2 && test_corrupt("memfd"))
				mmap(areas[AREA_MEMFD], NR_PAGES * page_size,
				     PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			write_words(self, c.pages, c.value, false);
			r = 'k';
		} else {
			r = check_words(name, c.writer, c.pages, c.value,
					c.op == 'O') ? 'k' : 'n';
		}
		if (write(reply_pipe[1], &r, 1) != 1)
			test_fail("%s: write reply: %m", name);
	}
	_exit(test_failures() ? 1 : 0);
}

/* Everybody checks everybody's words of before the checkpoint. */
static void check_old(void)
{
	int proc, writer;

	for (writer = 0; writer < NR_PROCS; writer++) {
		check_words("root", writer, TOUCHED, 0, true);
		for (proc = 1; proc < NR_PROCS; proc++) {
			if (proc == writer)
				continue;
			send_cmd(proc, 'O', writer, TOUCHED, 0);
			if (get_reply(proc) != 'k')
				test_fail("child %d: words of process %d differ", proc, writer);
		}
	}
}

/* @writer writes a new value into every page; the others check it. */
static void round_of(int writer, uint64_t value)
{
	int proc;

	if (writer == 0) {
		write_words(0, NR_PAGES, value, false);
	} else {
		send_cmd(writer, 'W', writer, NR_PAGES, value);
		get_reply(writer);
	}
	if (writer != 0 && !check_words("root", writer, NR_PAGES, value, false))
		test_fail("root does not see the write of child %d", writer);
	for (proc = 1; proc < NR_PROCS; proc++) {
		if (proc == writer)
			continue;
		send_cmd(proc, 'C', writer, NR_PAGES, value);
		if (get_reply(proc) != 'k')
			test_fail("child %d does not see the write of process %d", proc,
				  writer);
	}
}

int main(int argc, char **argv)
{
	pid_t pids[NR_PROCS] = { 0 };
	int i, mfd, status;

	test_init(argc, argv);
	page_size = sysconf(_SC_PAGESIZE);
	areas[AREA_ANON] = mmap(NULL, NR_PAGES * page_size, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	mfd = memfd_create("zdtm-shared", 0);
	if (mfd < 0 || ftruncate(mfd, NR_PAGES * page_size))
		test_abort("memfd: %m");
	areas[AREA_MEMFD] = mmap(NULL, NR_PAGES * page_size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, mfd, 0);
	if (areas[AREA_ANON] == MAP_FAILED || areas[AREA_MEMFD] == MAP_FAILED)
		test_abort("mmap: %m");
	close(mfd);
	if (pipe(reply_pipe))
		test_abort("pipe: %m");

	write_words(0, TOUCHED, 0, true);
	for (i = 1; i < NR_PROCS; i++) {
		if (pipe(cmd_pipes[i]))
			test_abort("pipe: %m");
		pids[i] = fork();
		if (pids[i] < 0)
			test_abort("fork: %m");
		if (pids[i] == 0) {
			close(cmd_pipes[i][1]);
			close(reply_pipe[0]);
			if (i == 2)
				close(cmd_pipes[1][1]);
			child(i);
		}
		close(cmd_pipes[i][0]);
	}
	for (i = 1; i < NR_PROCS; i++)
		if (get_reply(i) != 'r')
			test_abort("children did not start");
	check_old();
	if (test_failures())
		test_abort("the areas are not shared before the checkpoint");

	test_ready();
	test_wait_term();
	if (test_corrupt("data"))
		*word(AREA_MEMFD, 3, 2) ^= 1;

	check_old();
	for (i = 0; i < NR_PROCS; i++)
		round_of(i, test_mix64(0xb000 + i));
	for (i = 1; i < NR_PROCS; i++) {
		send_cmd(i, 'Q', 0, 0, 0);
		if (waitpid(pids[i], &status, 0) != pids[i])
			test_fail("waitpid child %d: %m", i);
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			test_fail("child %d exited with status %#x", i, status);
	}
	test_done();
}

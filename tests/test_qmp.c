// SPDX-License-Identifier: GPL-2.0
/*
 * The queued QMP command (criu-lite/qmp.h: qmp_queue), as restore uses it
 * to continue a VM: "qmp_capabilities" and the command are in the socket
 * before the other end has accepted or greeted, the answers are taken in
 * order (events skipped), an error answer fails it, and a listener that
 * can take no connection now is no wait.
 */
#include "testlib.h"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "qmp.h"

#define QUEUED "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"cont\"}\n"

struct fake {
	char dir[64], path[128];
	int l;
	const char *answers;	/* written after the greeting */
	char got[256];		/* what the client had sent by then */
};

static void fake_listen(struct fake *f, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *d = tl_mkdtemp();

	snprintf(f->dir, sizeof(f->dir), "%s", d);
	free(d);
	snprintf(f->path, sizeof(f->path), "%s/qmp.sock", f->dir);
	strcpy(sa.sun_path, f->path);
	f->l = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->l >= 0);
	assert_int_equal(bind(f->l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->l, backlog), 0);
}

static void fake_close(struct fake *f)
{
	close(f->l);
	unlink(f->path);
	rmdir(f->dir);
}

/* A QEMU that was stopped while the client queued: it accepts only now,
 * reads what is there, then greets and answers. */
static void *fake_qemu(void *arg)
{
	struct fake *f = arg;
	static const char greet[] = "{\"QMP\": {\"version\": {}}}\n";
	size_t n = 0;
	int c = accept(f->l, NULL, NULL);

	if (c < 0)
		return NULL;
	while (n < strlen(QUEUED) && n < sizeof(f->got) - 1) {
		struct pollfd p = { c, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 2000) != 1)
			break;
		r = read(c, f->got + n, sizeof(f->got) - 1 - n);
		if (r <= 0)
			break;
		n += r;
	}
	f->got[n] = 0;
	if (write(c, greet, strlen(greet)) < 0 ||
	    write(c, f->answers, strlen(f->answers)) < 0)
		f->got[0] = 0;
	close(c);
	return NULL;
}

static int run_queued(struct fake *f)
{
	struct qmp_conn *q;
	pthread_t t;
	int ret;

	fake_listen(f, 4);
	q = qmp_queue(f->path, "cont", 2000);
	assert_non_null(q);
	/* accepted only after both commands are in the socket */
	assert_int_equal(pthread_create(&t, NULL, fake_qemu, f), 0);
	ret = qmp_queued_result(q, NULL, 0);
	pthread_join(t, NULL);
	fake_close(f);
	return ret;
}

static void test_queued_before_accept(void **state)
{
	struct fake f = { .answers = "{\"return\": {}}\n"
			  "{\"event\": \"RESUME\"}\n{\"return\": {}}\n" };

	(void)state;
	assert_int_equal(run_queued(&f), 0);
	assert_string_equal(f.got, QUEUED);
}

/* answers that fail the command: -1, and the log says why */
static void queued_fails(const char *answers, const char *why)
{
	struct fake f = { .answers = answers };
	struct tl_capture cap;
	char *err;
	int ret;

	tl_capture_start(&cap, 2);
	ret = run_queued(&f);
	err = tl_capture_end(&cap);
	assert_int_equal(ret, -1);
	assert_non_null(strstr(err, why));
	free(err);
}

static void test_queued_error(void **state)
{
	(void)state;
	queued_fails("{\"return\": {}}\n{\"error\": {\"class\": "
		     "\"GenericError\", \"desc\": \"no\"}}\n", "cont failed");
}

/* the answers cut before cont's: an error, not a wait */
static void test_queued_cut(void **state)
{
	(void)state;
	queued_fails("{\"return\": {}}\n", "connection closed");
}

static void test_no_listener(void **state)
{
	(void)state;
	assert_null(qmp_queue("/nonexistent/criu-lite-test/qmp.sock", "cont",
			      1000));
}

/* a backlog full (the stopped QEMU accepts nothing): NULL at once; and
 * qmp_command (the way without queueing) gives up after its timeout, as
 * for every other step, rather than wait in connect for ever */
static void test_backlog_full(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec t0, t1;
	struct tl_capture cap;
	struct qmp_conn *q;
	struct fake f;
	int c[16], n = 0, ret;

	(void)state;
	fake_listen(&f, 0);
	strcpy(sa.sun_path, f.path);
	while (n < 16) {
		c[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(c[n], (struct sockaddr *)&sa, sizeof(sa))) {
			close(c[n]);
			break;
		}
		n++;
	}
	assert_true(n < 16);	/* the backlog is full now */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	q = qmp_queue(f.path, "cont", 5000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_null(q);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	tl_capture_start(&cap, 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = qmp_command(f.path, "cont", NULL, 0, 300);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(tl_capture_end(&cap));
	assert_int_equal(ret, -1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	while (n--)
		close(c[n]);
	fake_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queued_before_accept),
		cmocka_unit_test(test_queued_error),
		cmocka_unit_test(test_queued_cut),
		cmocka_unit_test(test_no_listener),
		cmocka_unit_test(test_backlog_full),
	};

	alarm(60);	/* a connect or read that waits for ever fails it */
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The self-restoring injection frame (criu-lite/sigframe.h): where it goes
 * on the stack, the restart the kernel would do, and the bytes rt_sigreturn
 * reads. The frame's real test is zdtm's kill-inject fault points (criu-lite
 * SIGKILLed mid-injection, the target must go on unharmed); these pin the
 * layout so a change that breaks it fails here first.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "kernel-compat.h"
#include "sigframe.h"

#define XLEN	2432
#define SP	0x7ffc12345678ULL

static void test_layout(void **state)
{
	struct sigframe_layout l;

	(void)state;
	sigframe_place(SP, XLEN, &l);
	/* below the red zone, nothing above it touched */
	assert_true(l.base + l.len == SP - SIGFRAME_RED_ZONE);
	assert_true(l.frame % 64 == 0);
	assert_true(l.scratch + SIGFRAME_SCRATCH == l.frame);
	assert_true(l.base == l.scratch);
	/* pretcode + ucontext + siginfo + 64-aligned xstate + magic2 fit */
	assert_true(l.len >= SIGFRAME_SCRATCH + 8 + 304 + 128 + XLEN + 4);
	assert_true(l.len < SIGFRAME_SCRATCH + 8 + 304 + 128 + XLEN + 4 + 192);
}

static void test_resume_regs(void **state)
{
	struct user_regs_struct s = { 0 }, r;

	(void)state;
	s.rip = 0x1000;
	s.orig_rax = __NR_futex;
	s.rax = -ERESTARTSYS;
	sigframe_resume_regs(&s, &r);
	assert_int_equal(r.rax, __NR_futex);
	assert_int_equal(r.rip, 0xffe);
	assert_int_equal((long)r.orig_rax, -1);

	/* the call itself again: rt_sigreturn would make restart_syscall
	 * return EINTR */
	s.orig_rax = __NR_nanosleep;
	s.rax = -ERESTART_RESTARTBLOCK;
	sigframe_resume_regs(&s, &r);
	assert_int_equal(r.rax, __NR_nanosleep);
	assert_int_equal(r.rip, 0xffe);

	/* a finished syscall, or none: left as it is */
	s.rax = -EINTR;
	sigframe_resume_regs(&s, &r);
	assert_int_equal(r.rax, (uint64_t)-EINTR);
	assert_int_equal(r.rip, 0x1000);
	s.orig_rax = -1;
	s.rax = -ERESTARTSYS;	/* rax of user code, not a restart */
	sigframe_resume_regs(&s, &r);
	assert_int_equal(r.rip, 0x1000);
}

static uint64_t word(const uint8_t *buf, const struct sigframe_layout *l,
		    uint64_t addr)
{
	uint64_t v;

	memcpy(&v, buf + (addr - l->base), 8);
	return v;
}

static void test_build(void **state)
{
	struct user_regs_struct regs = { 0 };
	struct sigframe_layout l;
	uint8_t xs[XLEN], *buf;
	uint64_t uc, fp, xcr0 = 0xe7;
	uint32_t m;

	(void)state;
	memset(xs, 0x5a, sizeof(xs));
	memcpy(xs + 464, &xcr0, 8);	/* ptrace puts XCR0 there */
	regs.rip = 0x401000;
	regs.rsp = SP;
	regs.rax = 7;
	regs.cs = 0x33;
	regs.ss = 0x2b;
	sigframe_place(SP, XLEN, &l);
	buf = malloc(l.len);
	assert_non_null(buf);
	assert_int_equal(sigframe_build(buf, &l, &regs, 0x1234, xs, XLEN,
					0x7f0000001000ULL), 0);
	assert_int_equal(word(buf, &l, l.frame), 0x7f0000001000ULL);
	uc = l.frame + 8;
	assert_int_equal(word(buf, &l, uc), 0x7);	/* FP_XSTATE|SS|STRICT */
	assert_int_equal((int32_t)word(buf, &l, uc + 24), 3);	/* ss_flags */
	assert_int_equal(word(buf, &l, uc + 40 + 16 * 8), 0x401000);	/* ip */
	assert_int_equal(word(buf, &l, uc + 40 + 15 * 8), SP);	/* sp */
	assert_int_equal(word(buf, &l, uc + 40 + 13 * 8), 7);	/* ax */
	assert_int_equal(word(buf, &l, uc + 296), 0x1234);	/* sigmask */
	fp = word(buf, &l, uc + 40 + 184);
	assert_true(fp % 64 == 0 && fp > uc && fp + XLEN + 4 <= l.base + l.len);
	memcpy(&m, buf + (fp - l.base) + 464, 4);
	assert_int_equal(m, 0x46505853);	/* FP_XSTATE_MAGIC1 */
	memcpy(&m, buf + (fp - l.base) + 468, 4);
	assert_int_equal(m, XLEN + 4);		/* extended_size */
	assert_int_equal(word(buf, &l, fp + 472), xcr0);
	memcpy(&m, buf + (fp - l.base) + XLEN, 4);
	assert_int_equal(m, 0x46505845);	/* FP_XSTATE_MAGIC2 */
	/* an xstate without XCR0 is refused, not guessed */
	memset(xs + 464, 0, 8);
	assert_int_equal(sigframe_build(buf, &l, &regs, 0, xs, XLEN, 1), -1);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_resume_regs),
		cmocka_unit_test(test_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

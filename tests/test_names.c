// SPDX-License-Identifier: GPL-2.0
/*
 * Names for image numbers (criu-lite/names.h), as show and the debug log
 * print them: flag words by name with unknown bits in hex, the access mode
 * of open flags, the zero names, registers in struct user_regs_struct's
 * order, one-line VMA and fd descriptions.
 */
#include "testlib.h"

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/user.h>

#include "names.h"
#include "pagemap.h"

static void test_flags(void **state)
{
	static const struct {
		enum flag_set set;
		uint64_t v;
		const char *want;
	} cases[] = {
		{ FLAGS_PROT, 0, "PROT_NONE" },
		{ FLAGS_PROT, PROT_READ | PROT_WRITE, "PROT_READ|PROT_WRITE" },
		{ FLAGS_PROT, PROT_READ | 0x100, "PROT_READ|0x100" },
		{ FLAGS_MAP, MAP_PRIVATE | MAP_GROWSDOWN,
		  "MAP_PRIVATE|MAP_GROWSDOWN" },
		{ FLAGS_MAP, 0, "0" },
		{ FLAGS_PE, PE_PRESENT, "PE_PRESENT" },
		{ FLAGS_PE, PE_ZERO | PE_LAZY, "PE_ZERO|PE_LAZY" },
		{ FLAGS_PE, 0x30, "0x30" },
		{ FLAGS_OPEN, O_RDONLY, "O_RDONLY" },
		{ FLAGS_OPEN, O_RDWR | O_APPEND | O_NONBLOCK,
		  "O_RDWR|O_APPEND|O_NONBLOCK" },
		{ FLAGS_OPEN, O_WRONLY | 0100000, "O_WRONLY|O_LARGEFILE" },
		{ FLAGS_OPEN, O_WRONLY | O_SYNC, "O_WRONLY|O_DSYNC|O_SYNC" },
		{ FLAGS_SA, SA_RESTART | 0x04000000, "SA_RESTORER|SA_RESTART" },
		{ FLAGS_SA, 0, "0" },
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		flags_str(cases[i].set, cases[i].v, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want))
			fail_msg("case %zu: %s, want %s", i, buf, cases[i].want);
	}
	/* a buffer too small cuts, never overflows */
	flags_str(FLAGS_OPEN, O_RDWR | O_APPEND | O_NONBLOCK, buf, 8);
	assert_int_equal(strlen(buf), 7);
}

static void test_flag_set_of(void **state)
{
	(void)state;
	assert_int_equal(flag_set_of("VmaEntry", "prot"), FLAGS_PROT);
	assert_int_equal(flag_set_of("VmaEntry", "flags"), FLAGS_MAP);
	assert_int_equal(flag_set_of("PagemapEntry", "flags"), FLAGS_PE);
	assert_int_equal(flag_set_of("FdEntry", "flags"), FLAGS_OPEN);
	assert_int_equal(flag_set_of("SigactionEntry", "flags"), FLAGS_SA);
	assert_int_equal(flag_set_of("FdEntry", "fd"), -1);
	assert_int_equal(flag_set_of("CoreEntry", "flags"), -1);
}

static void test_regs(void **state)
{
	(void)state;
	assert_int_equal(nr_regs * 8, sizeof(struct user_regs_struct));
	assert_string_equal(reg_names[offsetof(struct user_regs_struct, rip) / 8],
			    "rip");
	assert_string_equal(reg_names[offsetof(struct user_regs_struct, rsp) / 8],
			    "rsp");
	assert_string_equal(reg_names[offsetof(struct user_regs_struct,
					       orig_rax) / 8], "orig_rax");
	assert_string_equal(reg_names[offsetof(struct user_regs_struct,
					       fs_base) / 8], "fs_base");
	assert_string_equal(reg_names[nr_regs - 1], "gs");
}

static void test_describe(void **state)
{
	VmaEntry v = VMA_ENTRY__INIT;
	FdEntry e = FD_ENTRY__INIT;
	char buf[512];

	(void)state;
	v.start = 0x7f0000000000;
	v.end = 0x7f0000200000;
	v.prot = PROT_READ | PROT_WRITE;
	v.flags = MAP_PRIVATE;
	v.kind = VMA_KIND__VMA_ANON_PRIVATE;
	v.path = "[heap]";
	describe_vma_entry(&v, buf, sizeof(buf));
	assert_contains(buf, "7f0000000000-7f0000200000 rw-p VMA_ANON_PRIVATE");
	assert_contains(buf, "2.0 MiB");
	assert_contains(buf, "[heap]");
	e.fd = 7;
	e.type = FD_TYPE__FD_REG;
	e.flags = O_RDWR | O_APPEND;
	e.has_pos = true;
	e.pos = 12;
	e.path = "/var/log/x";
	describe_fd_entry(&e, buf, sizeof(buf));
	assert_string_equal(buf, "fd 7: FD_REG O_RDWR|O_APPEND pos 12 /var/log/x");
	e.cloexec = true;
	e.path = NULL;
	e.has_pos = false;
	describe_fd_entry(&e, buf, sizeof(buf));
	assert_string_equal(buf, "fd 7: FD_REG O_RDWR|O_APPEND cloexec");
	assert_string_equal(enum_name(&fd_type__descriptor, 9999), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_flag_set_of),
		cmocka_unit_test(test_regs),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

# zdtm: checkpoint/restore test programs and their runner (zdtm/README.md).
#   make zdtm          build the tests (build/zdtm/{static,transition}/) and
#                      the runner (build/zdtm/zdtm-run)
#   make zdtm-check    run the default suite, 2 dump/restore rounds per test
#   make zdtm-leave-running  the suite dumped with --leave-running: each test
#                      still passes in the source afterwards (cow_tree: a
#                      dump keeps what the tree shares copy-on-write)

ZDTM_B      := $(B)/zdtm
ZDTM_CFLAGS  = $(BASE_CFLAGS) $(CFLAGS) -Izdtm/lib -pthread
ZDTM_LIB_O  := $(ZDTM_B)/lib/zdtmtst.o
ZDTM_LIB_H  := zdtm/lib/zdtmtst.h
ZDTM_DEPS   := $(ZDTM_LIB_O) $(ZDTM_LIB_H)

# pipe_big is pipe.c built with -DPIPE_BIG.
ZDTM_TESTS  := $(patsubst zdtm/%.c,$(ZDTM_B)/%,\
		$(wildcard zdtm/static/*.c zdtm/transition/*.c)) \
	       $(ZDTM_B)/static/pipe_big
ZDTM_RUN_SRC := $(wildcard zdtm/runner/*.c)
ZDTM_RUN    := $(ZDTM_B)/zdtm-run

zdtm: $(ZDTM_TESTS) $(ZDTM_RUN)

$(ZDTM_B)/lib/%.o: zdtm/lib/%.c $(ZDTM_LIB_H)
	@mkdir -p $(@D)
	$(CC) $(ZDTM_CFLAGS) -c -o $@ $<

$(ZDTM_B)/static/%: zdtm/static/%.c $(ZDTM_DEPS)
	@mkdir -p $(@D)
	$(CC) $(ZDTM_CFLAGS) -o $@ $< $(ZDTM_LIB_O)

$(ZDTM_B)/transition/%: zdtm/transition/%.c $(ZDTM_DEPS)
	@mkdir -p $(@D)
	$(CC) $(ZDTM_CFLAGS) -o $@ $< $(ZDTM_LIB_O)

$(ZDTM_B)/static/pipe_big: zdtm/static/pipe.c $(ZDTM_DEPS)
	@mkdir -p $(@D)
	$(CC) $(ZDTM_CFLAGS) -DPIPE_BIG -o $@ $< $(ZDTM_LIB_O)

$(ZDTM_RUN): $(ZDTM_RUN_SRC) $(wildcard zdtm/runner/*.h)
	@mkdir -p $(@D)
	$(CC) $(ZDTM_CFLAGS) -o $@ $(ZDTM_RUN_SRC)

zdtm-check: $(B)/criu-lite zdtm
	$(ZDTM_RUN) --iters 2

CHECK_TARGETS += zdtm-check

# the splice page path too: a dump takes it by itself only where its pipe
# can grow to 8 MiB (not without CAP_SYS_RESOURCE), so the default suite
# may test only the copy path; these dumps force splice
zdtm-leave-running: $(B)/criu-lite zdtm
	CRIU_LITE_PAGE_PATH=splice $(ZDTM_RUN) --leave-running

CHECK_TARGETS += zdtm-leave-running

.PHONY: zdtm zdtm-check zdtm-leave-running

# The tests themselves, without criu-lite: each passes, and fails when
# ZDTM_CORRUPT damages its state (zdtm/selftest).
zdtm-selftest: zdtm
	zdtm/selftest

.PHONY: zdtm-selftest

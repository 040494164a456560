# tests: cmocka unit tests and the memory benchmark.
#   make unit-check    build and run every tests/test_*.c (cmocka), each
#                      printing its summary; fails if any test fails
#   make bench-mem     1 GiB dump/restore against this machine's ceilings,
#                      and with --compress lz4 / zstd of memory that does
#                      and does not compress (image size, dump and restore
#                      time), median of 3 runs (tests/bench/bench-mem.sh: BENCH_DIR
#                      picks the images filesystem; BENCH_RUNS, BENCH_MIB);
#                      part of `make bench`
#   make bench-threads 16 threads, 2 GiB: freeze, dump and restore times,
#                      each restore checked, median of 3 runs
#                      (tests/bench/bench-threads.sh: BENCH_DIR, BENCH_RUNS,
#                      BENCH_MIB); part of `make bench`
#   make bench-csum    the page checksum alone, ms per GiB and GB/s, against
#                      format 1's checksum, one crc32c lane, the table
#                      fallback and a plain read; part of `make bench`
#   make tests-record  re-record tests/data/ from this machine's /proc
# CRIU_LITE_KNOWN_BUGS=1 make unit-check also runs the tests of reported,
# unfixed engine bugs (otherwise listed as SKIPPED).

TESTS_B     := $(B)/tests
UNIT_SRC    := $(wildcard tests/test_*.c)
UNIT_BINS   := $(patsubst tests/%.c,$(TESTS_B)/%,$(UNIT_SRC))
UNIT_CFLAGS  = $(CR_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) -DTEST_DATA_DIR='"$(CURDIR)/tests/data"'

$(TESTS_B)/test_%: tests/test_%.c tests/testlib.h $(B)/libcriulite.a
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libcriulite.a -lcmocka $(PKG_LIBS)

unit-tests: $(UNIT_BINS)

unit-check: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; $$t || fail=1; \
	done; exit $$fail

BENCH_B     := $(TESTS_B)/bench

$(BENCH_B)/%: tests/bench/%.c tests/bench/benchlib.h
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

bench-mem: $(B)/criu-lite $(BENCH_B)/memhog $(BENCH_B)/bench-mem
	tests/bench/bench-mem.sh $(B)

$(BENCH_B)/threadhog: CFLAGS += -pthread

$(BENCH_B)/bench-csum: tests/bench/bench-csum.c $(B)/libcriulite.a
	@mkdir -p $(@D)
	$(CC) $(CR_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libcriulite.a

bench-csum: $(BENCH_B)/bench-csum
	$(BENCH_B)/bench-csum

bench-threads: $(B)/criu-lite $(BENCH_B)/threadhog $(BENCH_B)/bench-threads
	tests/bench/bench-threads.sh $(B)

# dump/restore cost per VMA at 1k, 10k and 50k VMAs (linear: ratio ~1)
bench-vmas: $(B)/criu-lite $(BENCH_B)/vmahog $(B)/tests/subreaper
	$(B)/tests/subreaper tests/bench/bench-vmas.sh $(B)

$(TESTS_B)/record-proc: tests/data/record-proc.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

tests-record: $(TESTS_B)/record-proc
	$(TESTS_B)/record-proc tests/data

CHECK_TARGETS += unit-check
BENCH_TARGETS += bench-mem
BENCH_TARGETS += bench-threads
BENCH_TARGETS += bench-csum
BENCH_TARGETS += bench-vmas

.PHONY: unit-tests unit-check tests-record bench-mem bench-threads bench-csum \
	bench-vmas

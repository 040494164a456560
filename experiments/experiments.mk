# experiments: a whole TCG QEMU guest to dump and restore, and QEMU's own
# migration measured as the baseline.
#   make guest          kernel (Debian package, cached) + initramfs + tools
#   make check-guest    boot, heartbeats, VERIFY/DISK/NET ok, QEMU save/restore
#   make bench-qemu     QEMU-native save/restore table -> build/bench/qemu-native.tsv
#                       (not in `make bench`: bench-compare has those rows)
#   make bench-compare [CRIU=/path/to/criu]
#                       criu-lite (durable and --no-sync) against QEMU
#                       migrate (stop and live) and, given CRIU, CRIU's
#                       dump/restore; 512 MiB and 2 GiB, idle and dirtying,
#                       with this machine's ceilings and a pre-copy table,
#                       medians of BENCH_REPS=2 runs ->
#                       build/bench/compare.tsv, compare-*.svg (~14 min;
#                       26 min with other TCG guests running beside it)
#   make bench-migrate  issue 9's table: criu-lite migrate (precopy,
#                       postcopy) against QEMU 10's precopy (default and
#                       unlimited bandwidth) and postcopy across two hosts,
#                       512 MiB / 2 GiB, idle / dirtying, medians of
#                       BM_REPS=3 interleaved runs -> build/bench-migrate/
#   make qemu10         QEMU 10.0 from bookworm-backports, unpacked into
#                       build/qemu10 beside the system's 7.2
#   make experiments-quick  every migration mode of QEMU 7.2 and 10.0 and
#                       criu-lite's moves, once, 512 MiB, busy guest, the
#                       two versions side by side (3 min here at load ~7,
#                       7 at 8-19; EXP_PARALLEL=0: one after the other)
#                       -> build/experiments/results.jsonl, then
#                       experiments-doc (its page and plots in
#                       build/experiments/doc/: docs/ keeps the full run's)
#   make experiments    the full matrix (about an hour here): the axes'
#                       modes at 512 MiB (precopy default and unlimited,
#                       multifd-4, postcopy, exec-save, criu-lite migrate
#                       precopy/postcopy and dump) and at 2 GiB (the same
#                       but precopy-default and exec-save), idle, 5000 and
#                       20000 pages/s, 3 interleaved runs; every other mode
#                       once per QEMU version at 512 MiB busy
#                       (run-experiments.sh; EXP_PLAN_ONLY=1
#                       experiments/matrix/run-experiments.sh prints the
#                       plan: 298 rows, ~54 min at load ~7)
#   make experiments-doc  plots (docs/experiments/*.png, *.svg) and
#                       docs/experiments.md from build/experiments/ (its
#                       rows checked first: check-results.sh); a quick
#                       run's into build/experiments/doc/ (EXP_DOC_DIR=DIR:
#                       into DIR)
#   make experiments-selfcheck  the harness without a guest (in make check)

GUEST_DIR    := $(B)/guest
GUEST_CFLAGS := -O2 -g -Wall -Wextra -Werror
GUEST_TOOLS  := $(GUEST_DIR)/qmp-client $(GUEST_DIR)/serial-watch \
		$(GUEST_DIR)/tcp-echo $(GUEST_DIR)/qemu-ceilings \
		$(GUEST_DIR)/link-ceiling $(GUEST_DIR)/warm-mem

$(GUEST_DIR)/.deps-ok: scripts/install-deps.sh
	@scripts/install-deps.sh --qemu
	@mkdir -p $(GUEST_DIR) && touch $@

$(GUEST_DIR)/workload: experiments/guest/workload.c $(GUEST_DIR)/.deps-ok
	$(CC) -static $(GUEST_CFLAGS) -pthread -o $@ $<

$(GUEST_DIR)/qmp-client $(GUEST_DIR)/qemu-ceilings $(GUEST_DIR)/link-ceiling \
		$(GUEST_DIR)/warm-mem: \
		$(GUEST_DIR)/%: experiments/%.c $(GUEST_DIR)/.deps-ok
	$(CC) $(GUEST_CFLAGS) -pthread -o $@ $<

$(GUEST_DIR)/serial-watch $(GUEST_DIR)/tcp-echo: $(GUEST_DIR)/%: \
		experiments/guest/%.c $(GUEST_DIR)/.deps-ok
	$(CC) $(GUEST_CFLAGS) -o $@ $<

# One stamp for kernel + initramfs: build-guest.sh makes both.
$(GUEST_DIR)/.guest-ok: experiments/guest/build-guest.sh experiments/guest/init \
		$(GUEST_DIR)/workload $(GUEST_DIR)/.deps-ok
	experiments/guest/build-guest.sh $(GUEST_DIR) $(GUEST_DIR)/workload
	@touch $@

guest: $(GUEST_DIR)/.guest-ok $(GUEST_TOOLS)

check-guest: guest
	experiments/guest/check-guest.sh

bench-qemu: guest
	experiments/qemu-native-bench.sh

# Runs itself under build/tests/subreaper (killed QEMUs reaped at once).
# CRIU (make variable or environment): the CRIU binary to compare with.
bench-compare: all guest $(B)/tests/subreaper
	CRIU="$(CRIU)" experiments/compare-bench.sh

QEMU10_DIR := $(B)/qemu10
EXP_DIR    := $(B)/experiments

$(QEMU10_DIR)/env: experiments/qemu10/fetch-qemu10.sh $(GUEST_DIR)/.deps-ok
	experiments/qemu10/fetch-qemu10.sh $(QEMU10_DIR)

qemu10: $(QEMU10_DIR)/env

# gnuplot: only the experiments targets install it (jq is a base dependency).
$(EXP_DIR)/.deps-ok: scripts/install-deps.sh
	@scripts/install-deps.sh --experiments
	@mkdir -p $(@D) && touch $@

EXP_PREREQS := all guest $(QEMU10_DIR)/env $(B)/tests/subreaper $(EXP_DIR)/.deps-ok

experiments-quick: $(EXP_PREREQS)
	experiments/matrix/run-experiments.sh --quick
	$(MAKE) --no-print-directory experiments-doc

experiments: $(EXP_PREREQS)
	experiments/matrix/run-experiments.sh
	$(MAKE) --no-print-directory experiments-doc

# A full run's page is docs/experiments.md (kept in the repository); a quick
# run's goes to build/experiments/doc/ so that it never replaces it
# (EXP_DOC_DIR=DIR: there, whatever the run).
experiments-doc: $(EXP_DIR)/.deps-ok
	experiments/matrix/check-results.sh $(EXP_DIR)/results.jsonl
	@d='$(EXP_DOC_DIR)'; \
	if [ -z "$$d" ]; then \
		if jq -e '.command == "make experiments-quick"' $(EXP_DIR)/meta.json >/dev/null 2>&1; then \
			d=$(EXP_DIR)/doc; \
			echo "experiments-doc: a quick run: its page is $$d/experiments.md (docs/experiments.md stays the full run's)"; \
		else d=docs; fi; \
	fi; \
	mkdir -p "$$d/experiments" && \
	experiments/matrix/plot-experiments.sh $(EXP_DIR)/results.jsonl "$$d/experiments" && \
	experiments/matrix/make-doc.sh $(EXP_DIR) "$$d/experiments.md" experiments

# the harness's plumbing without a guest (emit_row, the rows' schema, the
# doc generator, the full and quick plans and their order): seconds
experiments-selfcheck:
	experiments/matrix/check-experiments.sh

CHECK_TARGETS += check-guest experiments-selfcheck
# bench-compare runs qemu-native-bench.sh itself for the same configurations:
# bench-qemu stays out of `make bench` to keep it within ~16 minutes.
BENCH_TARGETS += bench-compare

.PHONY: guest check-guest bench-qemu bench-compare qemu10 experiments \
	experiments-quick experiments-doc experiments-selfcheck

# make bench-migrate (part of make bench): issue 9's migration table. The
# same guest across the two hosts (experiments/guest/two-hosts.sh) at 512
# MiB and 2 GiB, idle and dirtying: criu-lite migrate (precopy, postcopy;
# also capped at QEMU's default 128 MiB/s) against QEMU 10's precopy
# (default bandwidth, unlimited) and postcopy, every mode at every size
# (the experiments' matrix leaves precopy-default out above 512 MiB),
# BM_REPS interleaved runs of the whole set (medians), by the experiments'
# own matrix (run-experiments.sh, its rows and guest checks) ->
# build/bench-migrate/results.jsonl and table.txt. ~15 min with 3 runs on
# a quiet machine; BM_MEMS / BM_RATES / BM_REPS narrow it.
BM_OUT   := $(B)/bench-migrate
BM_MEMS  ?= 512 2048
BM_RATES ?= 0 20000
BM_REPS  ?= 3
BM_MODES := precopy-default|precopy|postcopy|cl-migrate|cl-migrate-128M|cl-migrate-postcopy

bench-migrate: all guest $(QEMU10_DIR)/env $(B)/tests/subreaper
	EXP_OUT=$(BM_OUT) EXP_VERSIONS=10.0 EXP_MEMS="$(BM_MEMS)" \
		EXP_RATES="$(BM_RATES)" EXP_REPS=$(BM_REPS) \
		EXP_AXIS_MODES='$(BM_MODES)' EXP_AXIS_MODES_BIG='$(BM_MODES)' \
		EXP_MODES='$(BM_MODES)' experiments/matrix/run-experiments.sh
	experiments/matrix/migrate-table.sh $(BM_OUT)/results.jsonl 10.0 | \
		tee $(BM_OUT)/table.txt

BENCH_TARGETS += bench-migrate

.PHONY: bench-migrate

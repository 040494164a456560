# experiments: a whole TCG QEMU guest to dump and restore, and QEMU's own
# migration measured as the baseline.
#   make guest          kernel (Debian package, cached) + initramfs + tools
#   make check-guest    boot, heartbeats, VERIFY/DISK/NET ok, QEMU save/restore
#   make bench-qemu     QEMU-native save/restore table -> build/bench/qemu-native.tsv
#                       (not in `make bench`: bench-compare has those rows)
#   make bench-compare  criu-lite against QEMU migrate (stop and live), 512 MiB
#                       and 2 GiB, idle and dirtying, with this machine's
#                       ceilings, medians of BENCH_REPS=2 runs ->
#                       build/bench/compare.tsv, compare-*.svg (~6 min 40 s)

GUEST_DIR    := $(B)/guest
GUEST_CFLAGS := -O2 -g -Wall -Wextra -Werror
GUEST_TOOLS  := $(GUEST_DIR)/qmp-client $(GUEST_DIR)/serial-watch \
		$(GUEST_DIR)/tcp-echo $(GUEST_DIR)/qemu-ceilings

$(GUEST_DIR)/.deps-ok: scripts/install-deps.sh
	@scripts/install-deps.sh --qemu
	@mkdir -p $(GUEST_DIR) && touch $@

$(GUEST_DIR)/workload: experiments/guest/workload.c $(GUEST_DIR)/.deps-ok
	$(CC) -static $(GUEST_CFLAGS) -pthread -o $@ $<

$(GUEST_DIR)/qmp-client $(GUEST_DIR)/qemu-ceilings: $(GUEST_DIR)/%: \
		experiments/%.c $(GUEST_DIR)/.deps-ok
	$(CC) $(GUEST_CFLAGS) -o $@ $<

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
bench-compare: all guest $(B)/tests/subreaper
	experiments/compare-bench.sh

CHECK_TARGETS += check-guest
# bench-compare runs qemu-native-bench.sh itself for the same configurations:
# bench-qemu stays out of `make bench` to keep it within ~10 minutes.
BENCH_TARGETS += bench-compare

.PHONY: guest check-guest bench-qemu bench-compare

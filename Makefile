# criu-lite: build, check, demo, bench.
#   make            build build/criu-lite
#   make check      install missing deps, build, run unit tests and zdtm
#   make demo       the main job (see README.md)
#   make bench      benchmarks; CRIU=/path/to/criu adds CRIU to the QEMU
#                   comparison (README.md, Benchmarks)

CC      ?= gcc
B       := build
DEPS    := scripts/install-deps.sh
PKGS    := libprotobuf-c libnl-3.0 libcap libzstd liblz4 gnutls
WARN    := -Wall -Wextra -Werror -Wno-missing-field-initializers
# CFLAGS/LDFLAGS are the user's (make CFLAGS=... adds to, never replaces,
# the project's own flags below)
CFLAGS  ?= -O2 -g
BASE_CFLAGS := $(WARN) -D_GNU_SOURCE
CR_CFLAGS    = $(BASE_CFLAGS) -Iinclude -Icriu-lite -Iimages -I$(B)/proto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

PROTOS     := $(wildcard proto/*.proto)
PROTO_C    := $(patsubst proto/%.proto,$(B)/proto/%.pb-c.c,$(PROTOS))
PROTO_H    := $(PROTO_C:.c=.h)
PROTO_O    := $(PROTO_C:.c=.o)
IMAGES_O   := $(patsubst images/%.c,$(B)/images/%.o,$(wildcard images/*.c))
ENGINE_SRC := $(filter-out criu-lite/main.c,$(wildcard criu-lite/*.c))
ENGINE_O   := $(patsubst criu-lite/%.c,$(B)/engine/%.o,$(ENGINE_SRC))
LIB_O      := $(ENGINE_O) $(IMAGES_O) $(PROTO_O)

all: $(B)/criu-lite

# A plain make never installs anything: it says what is missing.
# make deps (as root) installs it; make check and make demo call it.
$(B)/.deps-ok: $(DEPS)
	@$(DEPS) --check
	@mkdir -p $(B) && touch $@

deps:
	@$(DEPS)

$(B)/proto/%.pb-c.c $(B)/proto/%.pb-c.h: proto/%.proto $(B)/.deps-ok
	@mkdir -p $(B)/proto
	protoc-c --proto_path=proto --c_out=$(B)/proto $<

$(B)/proto/%.o: $(B)/proto/%.pb-c.c $(PROTO_H)
	$(CC) $(CR_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(B)/images/%.o: images/%.c $(PROTO_H) $(wildcard images/*.h criu-lite/*.h)
	@mkdir -p $(B)/images
	$(CC) $(CR_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/engine/%.o: criu-lite/%.c $(PROTO_H) $(wildcard images/*.h criu-lite/*.h include/*.h)
	@mkdir -p $(B)/engine
	$(CC) $(CR_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/libcriulite.a: $(LIB_O)
	rm -f $@ && ar rcs $@ $^

$(B)/criu-lite: criu-lite/main.c $(B)/libcriulite.a
	$(CC) $(CR_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< \
		$(B)/libcriulite.a $(PKG_LIBS)

# Each area adds its own targets and appends to CHECK_TARGETS / BENCH_TARGETS.
CHECK_TARGETS :=
BENCH_TARGETS :=

# test tools of the engine's own tests
$(B)/tests/imgedit: tests/tools/imgedit.c $(B)/libcriulite.a
	@mkdir -p $(B)/tests
	$(CC) $(CR_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< \
		$(B)/libcriulite.a $(PKG_LIBS)

$(B)/tests/subreaper: tests/tools/subreaper.c
	@mkdir -p $(B)/tests
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(B)/tests/holder: tests/tools/holder.c
	@mkdir -p $(B)/tests
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

bad-images: all $(B)/tests/imgedit
	tests/bad-images.sh $(B)

bad-dumps: all $(B)/tests/holder zdtm
	tests/bad-dumps.sh $(B)

$(B)/tests/corrupt-target: tests/tools/corrupt-target.c
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) -pthread -o $@ $<

$(B)/tests/flipbits: tests/tools/flipbits.c
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) -o $@ $<

# every image file of a good dump flipped, cut, deleted, swapped: refused
# before anything is created, or restored right (tests/corrupt-images.sh);
# then the same of a dump with its pages compressed
corrupt-images: all $(B)/tests/corrupt-target $(B)/tests/flipbits \
		$(B)/tests/subreaper $(B)/tests/imgedit
	$(B)/tests/subreaper tests/corrupt-images.sh $(B)
	CORRUPT_DUMP_OPTS="--compress zstd" \
		$(B)/tests/subreaper tests/corrupt-images.sh $(B)

# the same, with criu-lite built with ASan and UBSan in build-asan/ (the
# target stays a plain build: its memory is what gets restored)
corrupt-images-asan: $(B)/tests/corrupt-target
	CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		$(MAKE) B=build-asan build-asan/criu-lite build-asan/tests/flipbits \
		build-asan/tests/subreaper build-asan/tests/imgedit
	cp $(B)/tests/corrupt-target build-asan/tests/corrupt-target
	ASAN_OPTIONS=detect_leaks=0 build-asan/tests/subreaper \
		tests/corrupt-images.sh build-asan
	CORRUPT_DUMP_OPTS="--compress lz4" ASAN_OPTIONS=detect_leaks=0 \
		build-asan/tests/subreaper tests/corrupt-images.sh build-asan

CHECK_TARGETS += bad-images bad-dumps corrupt-images

# the main job: dump and restore a QEMU guest (see scripts/demo.sh)
demo: deps
	@$(MAKE) --no-print-directory all guest $(B)/tests/subreaper
	$(B)/tests/subreaper scripts/demo.sh

# CRIU's own zdtm static tests through criu-lite, one dump/restore cycle
# each (a measurement, not part of check: CRIU's source is not here):
#   make criu-zdtm CRIU_SRC=<CRIU source tree> [CRIU=<criu binary>]
# CRIU= lets 'criu check --feature' skip tests this kernel cannot run;
# CRIU_ZDTM_OPTS passes more (-t NAME, --timeout S, --engine criu).
# Results: build/criu-zdtm/results.txt and causes.txt (docs/criu-zdtm.md)
criu-zdtm: all $(B)/tests/subreaper
	@test -n "$(CRIU_SRC)" || { echo "make criu-zdtm needs CRIU_SRC=<a CRIU source tree>" >&2; exit 2; }
	scripts/criu-zdtm.sh $(CRIU_SRC) -b $(B) $(if $(CRIU),--criu $(CRIU)) $(CRIU_ZDTM_OPTS)

QEMU_CASES ?= $(QEMU_ALL)
check-qemu: all guest $(B)/tests/subreaper
	$(B)/tests/subreaper tests/qemu/qemu-cr.sh $(QEMU_CASES)
-include tests/tests.mk
-include tests/fuzz/fuzz.mk
-include zdtm/zdtm.mk
-include experiments/experiments.mk

# every zdtm test again, dumped with pre-copy rounds (memory copied while
# the test runs, the final freeze copies only what changed since)
zdtm-precopy: $(B)/criu-lite zdtm
	$(B)/zdtm/zdtm-run --iters 2 --precopy 3

CHECK_TARGETS += zdtm-precopy

# every zdtm test again, each dump on top of a chain of two pre-dumps
# taken while the test runs (--prev-images-dir --track-mem), restored
# through the chain
zdtm-predump: $(B)/criu-lite zdtm
	$(B)/zdtm/zdtm-run --iters 2 --predump 2

CHECK_TARGETS += zdtm-predump

# pre-dump chains of a target that keeps writing: restore through the
# layers, refusals naming the file, the tracker killed, dump -R leaving
# no write protection, the tracker's life (tests/predump.sh)
predump-check: $(B)/criu-lite zdtm $(B)/tests/subreaper $(B)/tests/jsoncheck \
		$(B)/tests/flipbits
	$(B)/tests/subreaper tests/predump.sh $(B)

CHECK_TARGETS += predump-check

# a page the kernel writes without a write fault (an io_uring fixed
# buffer) between pre-copy rounds: not taken from a round's stale copy
# (tests/pinned.sh)
$(B)/tests/pinned-writer: tests/tools/pinned-writer.c
	@mkdir -p $(B)/tests
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -Icriu-lite $(LDFLAGS) -o $@ $<

pinned-check: $(B)/criu-lite zdtm $(B)/tests/subreaper $(B)/tests/pinned-writer
	$(B)/tests/subreaper tests/pinned.sh $(B)

CHECK_TARGETS += pinned-check

# the one-copy page path, both ways (the process' pwritev into the
# pages file, its vmsplice into criu-lite's pipe), against the copy path:
# the same pagemaps, zero pages, COW sharing kept, a restore verified; an
# RLIMIT_FSIZE sends the write way to splice (tests/splice.sh)
$(B)/tests/splicehog: tests/tools/splicehog.c
	@mkdir -p $(B)/tests
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

splice-check: $(B)/criu-lite $(B)/tests/subreaper $(B)/tests/splicehog
	$(B)/tests/subreaper tests/splice.sh $(B)

CHECK_TARGETS += splice-check

# every zdtm test dumped with its pages image compressed: zstd, then lz4
# with pre-copy rounds (frames written while the test runs, the final
# dump's pagemaps pointing into them); ~40 s
zdtm-compress: $(B)/criu-lite zdtm
	$(B)/zdtm/zdtm-run --iters 1 --compress zstd
	$(B)/zdtm/zdtm-run --iters 1 --compress lz4 --precopy 2

CHECK_TARGETS += zdtm-compress

# lazy restore from local images and from a page server
lazy-check: $(B)/criu-lite zdtm $(B)/tests/subreaper
	$(B)/tests/subreaper tests/lazy-remote.sh $(B)

CHECK_TARGETS += lazy-check

# pages over the network: dump --page-server to a page server on another
# host (a network namespace over a veth pair), corruption on the way and
# either side killed (~15 s)
page-server-check: $(B)/criu-lite zdtm $(B)/tests/subreaper
	$(B)/tests/subreaper tests/page-server.sh $(B)

CHECK_TARGETS += page-server-check

# criu-lite migrate to another host (network + PID + mount namespace over
# a veth pair): the tree moves, or, the destination killed or the data
# corrupted on the way, the source runs on (~25 s)
$(B)/tests/vma-grow: tests/tools/vma-grow.c
	@mkdir -p $(B)/tests
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

migrate-check: $(B)/criu-lite zdtm $(B)/tests/subreaper $(B)/tests/vma-grow
	$(B)/tests/subreaper tests/migrate.sh $(B)

CHECK_TARGETS += migrate-check

# migrate --postcopy across two hosts: a writing zdtm test after pre-copy
# rounds, the link cut after the switchover and back, cut for good (~30 s)
postcopy-check: $(B)/criu-lite zdtm $(B)/tests/subreaper
	$(B)/tests/subreaper tests/postcopy.sh $(B)

CHECK_TARGETS += postcopy-check

# criu-lite killed (SIGKILL, SIGINT, SIGTERM) at random moments of dumps
# and restores: the target never harmed, nothing half-restored left
FAULT_TRIES ?= 100
fault-kill: $(B)/criu-lite zdtm $(B)/tests/subreaper
	$(B)/tests/subreaper tests/fault-kill.sh $(B) $(FAULT_TRIES)

CHECK_TARGETS += fault-kill

# a failed or interrupted dump leaves the checkpoint already in DIR intact
dumpdir-check: $(B)/criu-lite zdtm $(B)/tests/subreaper
	$(B)/tests/subreaper tests/dumpdir.sh $(B)

CHECK_TARGETS += dumpdir-check

# state from the image, not from the restoring criu-lite: sigactions under
# nohup, a stopped process stays stopped
restore-state-check: $(B)/criu-lite zdtm $(B)/tests/subreaper
	$(B)/tests/subreaper tests/restore-state.sh $(B)

CHECK_TARGETS += restore-state-check

# established TCP connections of real programs (python3 -m http.server,
# busybox httpd, a client in the tree) through dump/restore with
# --tcp-established; refused without it; criu-lite killed while they are
# in repair mode (tests/tcp-apps.sh; busybox from make deps)
tcp-apps-check: $(B)/criu-lite $(B)/tests/subreaper
	$(B)/tests/subreaper tests/tcp-apps.sh $(B)

CHECK_TARGETS += tcp-apps-check

# stats-dump / stats-restore: CRIU's fields, consistent with the images
# (tests/stats-check.sh; needs jq)
stats-check: $(B)/criu-lite zdtm $(B)/tests/subreaper
	$(B)/tests/subreaper tests/stats-check.sh $(B)

CHECK_TARGETS += stats-check

# progress on stderr and on --progress-fd: a 1 GiB dump, restore and lazy
# fill (tests/progress-check.sh; PROGRESS_MB)
progress-check: $(B)/criu-lite zdtm $(B)/tests/subreaper
	$(B)/tests/subreaper tests/progress-check.sh $(B)

CHECK_TARGETS += progress-check

# -o/--log-file, -v0..-v4: levels, stamps, errors on stderr too
# (tests/log-check.sh)
log-check: $(B)/criu-lite $(B)/tests/subreaper
	$(B)/tests/subreaper tests/log-check.sh $(B)

CHECK_TARGETS += log-check

# show: names (registers, flags), exact 64-bit JSON, one line per VMA and
# fd, --ps/--fds/--mems, parsed back with jq (tests/show-check.sh)
show-check: $(B)/criu-lite $(B)/tests/corrupt-target $(B)/tests/subreaper
	$(B)/tests/subreaper tests/show-check.sh $(B)

CHECK_TARGETS += show-check

# each command's --help, criu-lite: on every message, options documented
# in criu-lite(8) and the completion, signals during restore
# (tests/cli-check.sh)
cli-check: $(B)/criu-lite $(B)/tests/subreaper
	$(B)/tests/subreaper tests/cli-check.sh $(B)

CHECK_TARGETS += cli-check

# The QEMU end-to-end cases (issue 4); check-quick leaves out the 2 GiB one
QEMU_ALL   := minimal smp2 disk net qmp-client cycles3 leave-running plain \
	      precopy lazy killed migrate migrate-lazy migrate-postcopy hostfwd mem2g
QEMU_QUICK := $(filter-out mem2g,$(QEMU_ALL))

# criu-lite built with ASan+UBSan into its own build dir, then the zdtm
# suite with it: any sanitizer report (a leak at exit too) aborts criu-lite,
# which fails the test. The targets themselves are not instrumented;
# mem_1g has 256 MiB (an instrumented restore of 1 GiB takes a minute).
ASAN_B      := build-asan
ASAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=all
SAN_ENV     := ZDTM_MEM_MB=256 ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	       UBSAN_OPTIONS=abort_on_error=1:halt_on_error=1:print_stacktrace=1

ifneq ($(B),$(ASAN_B))
$(ASAN_B)/criu-lite: FORCE
	@$(MAKE) --no-print-directory B=$(ASAN_B) CFLAGS="$(ASAN_CFLAGS)" \
		$(ASAN_B)/criu-lite
endif

check-asan: $(ASAN_B)/criu-lite zdtm
	$(SAN_ENV) $(ZDTM_RUN) --iters 2 --keep-going \
		--criu $(CURDIR)/$(ASAN_B)/criu-lite

# ~1 min here (plus the build): part of make check
CHECK_TARGETS += check-asan

check: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) MAKE="$(MAKE)" scripts/check.sh $(CHECK_TARGETS) check-qemu

check-quick: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) MAKE="$(MAKE)" QEMU_CASES="$(QEMU_QUICK)" \
		scripts/check.sh $(CHECK_TARGETS) check-qemu

bench: all $(BENCH_TARGETS)

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, criu-lite(8),
# bash completion, and libcriu-lite (static library, one public header,
# a pkg-config file) for programs that dump and restore themselves.
PREFIX  ?= /usr/local
BINDIR  := $(PREFIX)/sbin
LIBDIR  := $(PREFIX)/lib
INCDIR  := $(PREFIX)/include
MANDIR  := $(PREFIX)/share/man
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions

VERSION := $(shell sed -n 's/^\#define CRIU_LITE_VERSION[^"]*"\(.*\)"/\1/p' criu-lite/cr.h)

# made at each install: it holds PREFIX
$(B)/criu-lite.pc: scripts/criu-lite.pc.in FORCE
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@LIBS@|$(PKG_LIBS) -lpthread|' $< >$@

install: all $(B)/criu-lite.pc
	install -D -m 0755 $(B)/criu-lite $(DESTDIR)$(BINDIR)/criu-lite
	install -D -m 0644 docs/criu-lite.8 $(DESTDIR)$(MANDIR)/man8/criu-lite.8
	install -D -m 0644 scripts/criu-lite.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/criu-lite
	install -D -m 0644 $(B)/libcriulite.a $(DESTDIR)$(LIBDIR)/libcriu-lite.a
	install -D -m 0644 include/criu-lite.h $(DESTDIR)$(INCDIR)/criu-lite.h
	install -D -m 0644 $(B)/criu-lite.pc \
		$(DESTDIR)$(LIBDIR)/pkgconfig/criu-lite.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/criu-lite \
		$(DESTDIR)$(MANDIR)/man8/criu-lite.8 \
		$(DESTDIR)$(BASHCOMPDIR)/criu-lite \
		$(DESTDIR)$(LIBDIR)/libcriu-lite.a \
		$(DESTDIR)$(INCDIR)/criu-lite.h \
		$(DESTDIR)$(LIBDIR)/pkgconfig/criu-lite.pc

# the install tree, the man page, and a program built against the library
install-check: all
	tests/install-check.sh $(B)

CHECK_TARGETS += install-check

clean:
	rm -rf $(B) $(ASAN_B)

FORCE:

.PHONY: all check bench clean demo check-quick check-asan FORCE bad-images \
	bad-dumps check-qemu zdtm-precopy zdtm-predump zdtm-compress lazy-check \
	dumpdir-check restore-state-check tcp-apps-check stats-check progress-check log-check \
	show-check cli-check fault-kill page-server-check migrate-check postcopy-check \
	predump-check splice-check deps install uninstall install-check \
	corrupt-images corrupt-images-asan criu-zdtm
.DELETE_ON_ERROR:
.SECONDARY: $(PROTO_C) $(PROTO_H)

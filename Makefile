# criu-lite: build, check, demo, bench.
#   make            build build/criu-lite
#   make check      install missing deps, build, run unit tests and zdtm
#   make demo       the main job (see README.md)
#   make bench      benchmarks

CC      ?= gcc
B       := build
DEPS    := scripts/install-deps.sh
PKGS    := libprotobuf-c libnl-3.0 libcap
WARN    := -Wall -Wextra -Werror -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
CFLAGS  += $(WARN) -D_GNU_SOURCE -Icriu-lite -Iimages -I$(B)/proto
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

$(B)/.deps-ok: $(DEPS)
	@$(DEPS)
	@mkdir -p $(B) && touch $@

$(B)/proto/%.pb-c.c $(B)/proto/%.pb-c.h: proto/%.proto $(B)/.deps-ok
	@mkdir -p $(B)/proto
	protoc-c --proto_path=proto --c_out=$(B)/proto $<

$(B)/proto/%.o: $(B)/proto/%.pb-c.c $(PROTO_H)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(B)/images/%.o: images/%.c $(PROTO_H) $(wildcard images/*.h criu-lite/*.h)
	@mkdir -p $(B)/images
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/engine/%.o: criu-lite/%.c $(PROTO_H) $(wildcard images/*.h criu-lite/*.h)
	@mkdir -p $(B)/engine
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/libcriulite.a: $(LIB_O)
	rm -f $@ && ar rcs $@ $^

$(B)/criu-lite: criu-lite/main.c $(B)/libcriulite.a
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(B)/libcriulite.a $(PKG_LIBS)

# Each area adds its own targets and appends to CHECK_TARGETS / BENCH_TARGETS.
CHECK_TARGETS :=
BENCH_TARGETS :=

# test tools of the engine's own tests
$(B)/tests/imgedit: tests/tools/imgedit.c $(B)/libcriulite.a
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(B)/libcriulite.a $(PKG_LIBS)

$(B)/tests/subreaper: tests/tools/subreaper.c
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) -o $@ $<

$(B)/tests/holder: tests/tools/holder.c
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) -o $@ $<

bad-images: all $(B)/tests/imgedit
	tests/bad-images.sh $(B)

bad-dumps: all $(B)/tests/holder
	tests/bad-dumps.sh $(B)

$(B)/tests/corrupt-target: tests/tools/corrupt-target.c
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) -pthread -o $@ $<

$(B)/tests/flipbits: tests/tools/flipbits.c
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) -o $@ $<

# every image file of a good dump flipped, cut, deleted, swapped: refused
# before anything is created, or restored right (tests/corrupt-images.sh)
corrupt-images: all $(B)/tests/corrupt-target $(B)/tests/flipbits \
		$(B)/tests/subreaper $(B)/tests/imgedit
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

CHECK_TARGETS += bad-images bad-dumps corrupt-images

# the main job: dump and restore a QEMU guest (see scripts/demo.sh)
demo: all guest $(B)/tests/subreaper
	$(B)/tests/subreaper scripts/demo.sh

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

# lazy restore from local images and from a page server
lazy-check: $(B)/criu-lite zdtm $(B)/tests/subreaper
	$(B)/tests/subreaper tests/lazy-remote.sh $(B)

CHECK_TARGETS += lazy-check

# The QEMU end-to-end cases (issue 4); check-quick leaves out the 2 GiB one
QEMU_ALL   := minimal smp2 disk net qmp-client cycles3 leave-running plain \
	      precopy lazy mem2g
QEMU_QUICK := $(filter-out mem2g,$(QEMU_ALL))

check: all
	@B=$(B) MAKE="$(MAKE)" scripts/check.sh $(CHECK_TARGETS) check-qemu

check-quick: all
	@B=$(B) MAKE="$(MAKE)" QEMU_CASES="$(QEMU_QUICK)" \
		scripts/check.sh $(CHECK_TARGETS) check-qemu

bench: all $(BENCH_TARGETS)

clean:
	rm -rf $(B)

.PHONY: all check bench clean demo check-quick bad-images bad-dumps check-qemu \
	corrupt-images corrupt-images-asan \
	zdtm-precopy lazy-check
.DELETE_ON_ERROR:
.SECONDARY: $(PROTO_C) $(PROTO_H)

# The image decoder fuzzer (libFuzzer, clang; tests/fuzz/fuzz_image.c).
#   make fuzz          fuzz for FUZZ_TIME seconds (default 300), starting
#                      from the committed seeds (tests/fuzz/corpus/); new
#                      inputs go to build/fuzz/corpus, crashes to build/fuzz/
#   make fuzz-smoke    the seeds, then FUZZ_SMOKE_TIME seconds (default 10):
#                      part of make check
#   make fuzz-seeds    remake tests/fuzz/corpus/ from a fresh dump of
#                      tests/tools/corrupt-target
# Also builds tests/tools/jsoncheck and checks `show --json` of corrupt and
# odd images with it (tests/fuzz/show-json.sh, in fuzz-smoke).

FUZZ_CC      ?= clang
FUZZ_TIME    ?= 300
FUZZ_SMOKE_TIME ?= 10
FUZZ_B       := $(B)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -D_GNU_SOURCE \
		-Icriu-lite -Iimages -I$(B)/proto $(WARN) -Wno-unused-parameter
FUZZ_SRC     := $(wildcard images/*.c) criu-lite/show.c criu-lite/log.c \
		criu-lite/names.c
FUZZ_O       := $(patsubst %.c,$(FUZZ_B)/%.o,$(FUZZ_SRC)) \
		$(patsubst $(B)/proto/%.c,$(FUZZ_B)/proto/%.o,$(PROTO_C))

$(FUZZ_B)/%.o: %.c $(PROTO_H) $(wildcard images/*.h criu-lite/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/proto/%.o: $(B)/proto/%.c $(PROTO_H)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/fuzz_image: tests/fuzz/fuzz_image.c tests/tools/jsoncheck.h $(FUZZ_O)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_O) \
		$(shell pkg-config --libs libprotobuf-c libzstd liblz4)

$(B)/tests/jsoncheck: tests/tools/jsoncheck.c tests/tools/jsoncheck.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

fuzz: $(FUZZ_B)/fuzz_image
	tests/fuzz/run-fuzz.sh $(FUZZ_B) $(FUZZ_TIME)

fuzz-smoke: $(FUZZ_B)/fuzz_image all $(B)/tests/jsoncheck \
		$(B)/tests/corrupt-target $(B)/tests/subreaper
	$(B)/tests/subreaper tests/fuzz/show-json.sh $(B)
	tests/fuzz/run-fuzz.sh $(FUZZ_B) $(FUZZ_SMOKE_TIME)

fuzz-seeds: all $(B)/tests/corrupt-target $(B)/tests/subreaper
	$(B)/tests/subreaper tests/fuzz/make-seeds.sh $(B) tests/fuzz/corpus

CHECK_TARGETS += fuzz-smoke

.PHONY: fuzz fuzz-smoke fuzz-seeds

#!/bin/sh
# The 1 GiB memory benchmark (tests/bench/bench-mem.c does the timing):
# criu-lite dump and restore of a process with 1 GiB of non-zero anonymous
# memory, next to the process_vm_readv/writev and file write ceilings of
# this machine, and with the pages image compressed (lz4, zstd), median of
# BENCH_RUNS runs. The table also goes to
# BUILD_DIR/bench/mem.txt.
# Usage: tests/bench/bench-mem.sh [BUILD_DIR]
#   BENCH_DIR   where images and the write-ceiling file go (default
#               BUILD_DIR/bench/mem); its filesystem is the one measured
#   BENCH_RUNS  runs per measurement (default 3)
#   BENCH_MIB   target memory in MiB, a multiple of 64 (default 1024)
set -eu
B=${1:-build}
DIR=${BENCH_DIR:-$B/bench/mem}
RUNS=${BENCH_RUNS:-3}
MIB=${BENCH_MIB:-1024}

if [ "$(id -u)" != 0 ]; then
	echo "bench-mem: needs root (dump seizes, restore picks PIDs)" >&2
	exit 1
fi
# the target, the restored target and a writev sink can be alive together
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
if [ "$avail" -lt $((3 * MIB + 512)) ]; then
	echo "bench-mem: needs $((3 * MIB + 512)) MiB of available memory," \
	     "have $avail MiB" >&2
	exit 1
fi
mkdir -p "$DIR"
# images plus the write-ceiling file; three images of the compression
# table (none, lz4 and zstd of memory that does not compress)
space=$(df -Pk "$DIR" | awk 'NR == 2 { print int($4 / 1024) }')
if [ "$space" -lt $((3 * MIB + 256)) ]; then
	echo "bench-mem: needs $((3 * MIB + 256)) MiB free in $DIR," \
	     "have $space MiB" >&2
	exit 1
fi

out=$B/bench/mem.txt
mkdir -p "$B/bench"
{
	echo "machine: $(uname -r), $(nproc) CPUs," \
	     "$(awk '/^MemTotal:/ { print int($2 / 1048576) }' /proc/meminfo) GiB;" \
	     "images on $(df -PT "$DIR" | awk 'NR == 2 { print $2 " (" $1 ")" }')"
	"$B/tests/bench/bench-mem" "$B/criu-lite" "$B/tests/bench/memhog" \
		"$DIR" "$RUNS" "$MIB" 2>&1
	echo
	echo "criu-lite's own account of the last run:"
	cat "$DIR/dump-$RUNS.log" "$DIR/restore-$RUNS.log"
	echo "and of its dumps of mixed memory with lz4 and zstd:"
	grep -h "compressed" "$DIR/dump-mixed-lz4-$RUNS.log" \
		"$DIR/dump-mixed-zstd-$RUNS.log"
} | tee "$out.tmp"
# tee hides bench-mem's status: its table's last line says it finished
if ! grep -q "^all $RUNS restores verified" "$out.tmp"; then
	echo "bench-mem: failed" >&2
	exit 1
fi
mv "$out.tmp" "$out"

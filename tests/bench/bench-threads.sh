#!/bin/sh
# The 16-thread benchmark (tests/bench/bench-threads.c does the timing):
# criu-lite freeze, dump and restore of a process of 16 threads sharing
# 2 GiB of non-zero anonymous memory (tests/bench/threadhog.c), each
# restore checked (the same threads go on running, memory intact), median
# of BENCH_RUNS runs. The table also goes to BUILD_DIR/bench/threads.txt.
# Usage: tests/bench/bench-threads.sh [BUILD_DIR]
#   BENCH_DIR   where images go (default BUILD_DIR/bench/threads)
#   BENCH_RUNS  runs (default 3)
#   BENCH_MIB   target memory in MiB, a multiple of 16 (default 2048)
set -eu
B=${1:-build}
DIR=${BENCH_DIR:-$B/bench/threads}
RUNS=${BENCH_RUNS:-3}
MIB=${BENCH_MIB:-2048}

if [ "$(id -u)" != 0 ]; then
	echo "bench-threads: needs root (dump seizes, restore picks PIDs)" >&2
	exit 1
fi
# the target and the page cache of its images; the dumped target is dead
# before the restored one maps its memory
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
if [ "$avail" -lt $((2 * MIB + 512)) ]; then
	echo "bench-threads: needs $((2 * MIB + 512)) MiB of available" \
	     "memory, have $avail MiB" >&2
	exit 1
fi
mkdir -p "$DIR"
space=$(df -Pk "$DIR" | awk 'NR == 2 { print int($4 / 1024) }')
if [ "$space" -lt $((MIB + 256)) ]; then
	echo "bench-threads: needs $((MIB + 256)) MiB free in $DIR," \
	     "have $space MiB" >&2
	exit 1
fi

out=$B/bench/threads.txt
mkdir -p "$B/bench"
{
	gib=$(awk '/^MemTotal:/ { print int($2 / 1048576) }' /proc/meminfo)
	fs=$(df -PT "$DIR" | awk 'NR == 2 { print $2 " (" $1 ")" }')
	echo "machine: $(uname -r), $(nproc) CPUs, $gib GiB; images on $fs"
	"$B/tests/bench/bench-threads" "$B/criu-lite" \
		"$B/tests/bench/threadhog" "$DIR" "$RUNS" "$MIB" 2>&1
	echo
	echo "criu-lite's own account of the last run:"
	cat "$DIR/dump-$RUNS.log" "$DIR/restore-$RUNS.log"
} | tee "$out.tmp"
# tee hides bench-threads' status: its table's last line says it finished
if ! grep -q "^all $RUNS restores verified" "$out.tmp"; then
	echo "bench-threads: failed" >&2
	exit 1
fi
mv "$out.tmp" "$out"

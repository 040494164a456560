#!/bin/bash
# Dump and restore cost against the number of VMAs: 1000, 10000 and 50000
# private file mappings (the kernel's default max_map_count is 65530),
# each restore checked by the process itself. Prints ms and us per VMA,
# and the ratio of the largest to the smallest per-VMA cost (1.0 = linear).
# Usage: tests/bench/bench-vmas.sh BUILD_DIR   (run under a subreaper)
set -u
B=${1:-build}
CL=$B/criu-lite
HOG=$B/tests/bench/vmahog
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-vmas.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
now() { date +%s%N; }

printf '%-8s %10s %10s %12s %12s %s\n' vmas dump_ms restore_ms dump_us/vma restore_us/vma check
first= last=
for n in ${BENCH_VMAS:-1000 10000 50000}; do
	: >"$work/out"
	"$HOG" "$n" "$work/file" >"$work/out" 2>&1 &
	pid=$!
	for _ in $(seq 300); do grep -q READY "$work/out" && break; sleep 0.05; done
	t0=$(now)
	"$CL" dump -t "$pid" -D "$work/img" >"$work/dump.log" 2>&1 ||
		{ cat "$work/dump.log"; exit 1; }
	t1=$(now)
	wait "$pid" 2>/dev/null
	t2=$(now)
	"$CL" restore -D "$work/img" -d >"$work/restore.log" 2>&1 ||
		{ cat "$work/restore.log"; exit 1; }
	t3=$(now)
	kill -USR1 "$pid"
	for _ in $(seq 100); do grep -q "OK\|BAD" "$work/out" && break; sleep 0.05; done
	verdict=$(grep -o "OK\|BAD.*" "$work/out" | head -1)
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	for _ in $(seq 300); do [ -e /proc/$pid ] || break; sleep 0.01; done
	pid=
	d=$(( (t1 - t0) / 1000000 )) r=$(( (t3 - t2) / 1000000 ))
	du=$(( (t1 - t0) / 1000 / n )) ru=$(( (t3 - t2) / 1000 / n ))
	printf '%-8s %10s %10s %12s %12s %s\n' "$n" "$d" "$r" "$du" "$ru" "${verdict:-none}"
	[ -z "$first" ] && first="$du $ru"
	last="$du $ru"
	rm -rf "$work/img"
done
set -- $first $last
echo "per-VMA cost, largest/smallest tree: dump $(echo "scale=2; $3 / $1" | bc 2>/dev/null || echo "$3/$1"), restore $(echo "scale=2; $4 / $2" | bc 2>/dev/null || echo "$4/$2")"

#!/bin/bash
# Dump and restore cost against the number of VMAs: private file mappings
# or shared anonymous ones (vmahog; the kernel's default max_map_count is
# 65530), each restore checked by the process itself. Sizes interleaved,
# RUNS rounds; prints
# the medians in ms and us per VMA, the time 4x the VMAs take against the
# time of the quarter (the goal: at most 5x), and the per-VMA cost of the
# largest tree against the smallest (1.0 = linear; below 1 mostly says
# that a run's fixed cost is spread over more VMAs).
# Usage: tests/bench/bench-vmas.sh BUILD_DIR   (run under a subreaper)
#   BENCH_VMAS="1000 10000 12500 50000"  sizes (the 4x pair: the largest
#                                        and a quarter of it, if listed)
#   BENCH_VMAS_RUNS=3                    rounds (medians)
#   BENCH_VMAS_KIND=private              private: private file mappings;
#                                        shared: shared anonymous ones
#                                        (one shared memory object each)
set -u
case ${1:-} in -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
B=${1:-build}
CL=$B/criu-lite
HOG=$B/tests/bench/vmahog
SIZES=${BENCH_VMAS:-1000 10000 12500 50000}
RUNS=${BENCH_VMAS_RUNS:-3}
KIND=${BENCH_VMAS_KIND:-private}
case $KIND in
private) HOG_KIND= ;;
shared) HOG_KIND=shared ;;
*) echo "BENCH_VMAS_KIND: private or shared, not \"$KIND\"" >&2; exit 2 ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-vmas.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
now() { date +%s%N; }

# one dump and restore of an n-VMA vmahog: "dump_us restore_us verdict"
one_run() {
	local n=$1 t0 t1 t2 t3 verdict

	: >"$work/out"
	"$HOG" "$n" "$work/file" $HOG_KIND >"$work/out" 2>&1 &
	pid=$!
	for _ in $(seq 300); do grep -q READY "$work/out" && break; sleep 0.05; done
	t0=$(now)
	if ! "$CL" dump -t "$pid" -D "$work/img" >"$work/dump.log" 2>&1; then
		{ echo "dump of $n VMAs failed:"; cat "$work/dump.log"; } >&2
		return 1
	fi
	t1=$(now)
	wait "$pid" 2>/dev/null
	t2=$(now)
	if ! "$CL" restore -D "$work/img" -d >"$work/restore.log" 2>&1; then
		{ echo "restore of $n VMAs failed:"; cat "$work/restore.log"; } >&2
		return 1
	fi
	t3=$(now)
	kill -USR1 "$pid"
	for _ in $(seq 100); do grep -q "OK\|BAD" "$work/out" && break; sleep 0.05; done
	verdict=$(grep -o "OK\|BAD.*" "$work/out" | head -1)
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	for _ in $(seq 300); do [ -e /proc/$pid ] || break; sleep 0.01; done
	pid=
	rm -rf "$work/img"
	echo "$(( (t1 - t0) / 1000 )) $(( (t3 - t2) / 1000 )) ${verdict:-none}"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for r in $(seq "$RUNS"); do
	for n in $SIZES; do
		# stderr aside: bash reports each vmahog killed ("Killed")
		one_run "$n" >>"$work/runs-$n" 2>"$work/err" ||
			{ grep -v Killed "$work/err" >&2; exit 1; }
	done
done

echo "$KIND VMAs (BENCH_VMAS_KIND=$KIND), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %10s %10s %12s %14s  %s\n' vmas dump_ms restore_ms dump_us/vma \
	restore_us/vma "checks (medians of $RUNS runs)"
for n in $SIZES; do
	d=$(awk '{ print $1 }' "$work/runs-$n" | median)
	r=$(awk '{ print $2 }' "$work/runs-$n" | median)
	ok=$(grep -c " OK$" "$work/runs-$n")
	echo "$n $d $r" >>"$work/medians"
	awk -v n="$n" -v d="$d" -v r="$r" -v ok="$ok" -v runs="$RUNS" 'BEGIN {
		printf "%-8s %10.0f %10.0f %12.1f %14.1f  %d/%d OK\n",
		       n, d / 1000, r / 1000, d / n, r / n, ok, runs }'
	[ "$ok" = "$RUNS" ] || bad=1
done

# the largest size and the one a quarter of it, when both were run
awk -v sizes="$SIZES" '
	{ d[$1] = $2; r[$1] = $3; if (!min || $1 < min) min = $1; if ($1 > max) max = $1 }
	END {
		q = max / 4
		if (q in d) {
			dr = d[max] / d[q]; rr = r[max] / r[q]
			printf "4x the VMAs (%d -> %d): dump %.2fx the time, restore %.2fx\n",
			       q, max, dr, rr
			verdict = dr <= 5 && rr <= 5 ? "holds" : "FAILS"
			printf "goal (4x the VMAs cost at most 5x the time): %s in this run\n",
			       verdict
		} else {
			printf "no size a quarter of %d: 4x ratio not measured\n", max
		}
		printf "per-VMA cost, %d against %d VMAs: dump %.2f, restore %.2f (1.0 = linear)\n",
		       max, min, (d[max] / max) / (d[min] / min),
		       (r[max] / max) / (r[min] / min)
	}' "$work/medians"
[ -z "${bad:-}" ] || { echo "a restored vmahog failed its check" >&2; exit 1; }

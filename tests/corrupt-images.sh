#!/bin/sh
# The corruption suite: a good dump of a two-process, six-thread target
# (tests/tools/corrupt-target.c, which checks its own memory and threads
# after restore), then for every image file of it: random bit flips
# (CORRUPT_FLIPS cases, default 8, of 1-4 bits each), truncations (empty, half, one byte short),
# the file deleted; and files of one kind swapped (two cores of a process,
# cores of two processes, the two mm, pagemap, task and fdinfo images).
# Each case must be refused before anything is created, with the file named
# in the message, or restore a target whose own check passes.
# Outcomes: refused, restored-correct, restored-WRONG, crashed (criu-lite
# killed by a signal or a sanitizer report), hung (timeout). The suite
# passes with 0 wrong, 0 crashed, 0 hung.
# Seeds: CORRUPT_SEED (default: the time, printed) reproduces a run.
# CORRUPT_DUMP_OPTS: options of the good dump (--compress zstd: its pages
# image is compressed frames, with their index image beside it).
# Run under build/tests/subreaper. Usage: tests/corrupt-images.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
TARGET=$B/tests/corrupt-target
FLIP=$B/tests/flipbits
# needs $B/tests/imgedit too
FLIPS=${CORRUPT_FLIPS:-8}
TMO=${CORRUPT_TIMEOUT:-30}
seed=${CORRUPT_SEED:-$(date +%s)}
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-corrupt.XXXXXX")
refused=0 correct=0 wrong=0 crashed=0 hung=0 cases=0
ppid_=
trap 'cleanup; rm -rf "$work"' EXIT

echo "corrupt-images: seed $seed (CORRUPT_SEED=$seed reproduces this run)," \
	"dump options: ${CORRUPT_DUMP_OPTS:-none}"

# kills what a restore made (the target's PIDs), waits until they are gone
cleanup() {
	[ -n "$ppid_" ] || return 0
	kill -9 "$ppid_" "$cpid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$ppid_" 2>/dev/null || kill -0 "$cpid" 2>/dev/null || return 0
		sleep 0.02
	done
}

alive() {
	kill -0 "$ppid_" 2>/dev/null || kill -0 "$cpid" 2>/dev/null
}

# good dump
: >"$work/target.out"
"$TARGET" </dev/null >>"$work/target.out" 2>&1 &
tpid=$!
for _ in $(seq 1 200); do grep -q READY "$work/target.out" && break; sleep 0.05; done
read -r _ ppid_ cpid <"$work/target.out" || { echo "corrupt-images: no target"; exit 1; }
ptids=$(ls /proc/"$ppid_"/task) ctids=$(ls /proc/"$cpid"/task)
# shellcheck disable=SC2086
if ! "$CL" dump -t "$ppid_" -D "$work/good" ${CORRUPT_DUMP_OPTS:-} >"$work/dump.log" 2>&1; then
	cat "$work/dump.log"; echo "corrupt-images: can't make a good dump"; exit 1
fi
wait $tpid 2>/dev/null
cleanup

# restored_ok: the restored target checks itself (both processes)
restored_ok() {
	: >"$work/target.out"
	kill -TERM "$cpid" "$ppid_" 2>/dev/null
	for _ in $(seq 1 200); do
		grep -q "^PASS parent\|^FAIL" "$work/target.out" && break
		sleep 0.05
	done
	grep -q "^PASS parent" "$work/target.out" && ! grep -q "^FAIL" "$work/target.out"
}

# run NAME FILES...: restores $d; FILES: any of them may be the one named
run() {
	name=$1; shift
	cases=$((cases + 1))
	log=$work/case.log
	timeout -k 5 "$TMO" "$CL" restore -D "$d" -d --zombie-wait 2000 \
		>"$log" 2>&1 </dev/null
	rc=$?
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		echo "HUNG $name (no end after ${TMO}s):"; tail -5 "$log"
		hung=$((hung + 1)); cleanup; return
	fi
	if [ $rc -gt 128 ] || grep -q "Sanitizer\|runtime error" "$log"; then
		echo "CRASHED $name (status $rc):"; tail -5 "$log"
		crashed=$((crashed + 1)); cleanup; return
	fi
	if [ $rc = 0 ]; then
		if restored_ok; then
			correct=$((correct + 1)); echo "restored-correct $name"
		else
			wrong=$((wrong + 1)); echo "restored-WRONG $name:"
			cat "$work/target.out"
		fi
		cleanup; return
	fi
	if alive; then
		wrong=$((wrong + 1)); echo "restored-WRONG $name: refused, but a process exists"
		cleanup; return
	fi
	for f in "$@"; do
		if grep -q -- "$f" "$log"; then
			refused=$((refused + 1))
			echo "refused $name: $(grep -m1 Error "$log")"
			return
		fi
	done
	wrong=$((wrong + 1))
	echo "restored-WRONG $name: refused without naming $*:"; cat "$log"
}

# fresh NAME: $d, a copy of the good dump (hard links: files to change are
# copied first with own)
fresh() {
	d=$work/case
	rm -rf "$d"
	cp -al "$work/good" "$d"
}

own() {
	cp "$work/good/$1" "$d/$1.tmp" && mv "$d/$1.tmp" "$d/$1"
}

fresh
run baseline none-expected
if [ $correct != 1 ]; then
	echo "corrupt-images: the unmodified dump does not restore correctly"
	exit 1
fi

n=0
for path in "$work/good"/*.img; do
	f=${path##*/}
	size=$(stat -c %s "$path")
	for k in $(seq 1 "$FLIPS"); do
		n=$((n + 1))
		s=$((seed + n))
		bits=$(( (s % 4) + 1 ))
		fresh; own "$f"
		where=$("$FLIP" "$d/$f" "$s" $bits)
		run "flip $f seed $s ($bits bits at byte.bit $where)" "$f"
	done
	for cut in 0 $((size / 2)) $((size - 1)); do
		fresh; own "$f"
		truncate -s "$cut" "$d/$f"
		run "truncate $f to $cut" "$f"
	done
	fresh; rm "$d/$f"
	run "delete $f" "$f"
done

# swap A B: the two files exchange names
swap() {
	fresh
	mv "$d/$1" "$d/swap.tmp" && mv "$d/$2" "$d/$1" && mv "$d/swap.tmp" "$d/$2"
	run "swap $1 $2" "$1" "$2"
}
# threads other than the leader, of each process
pw=$(echo "$ptids" | grep -vx "$ppid_" | head -1)
cw=$(echo "$ctids" | grep -vx "$cpid" | head -1)
swap "core-$ppid_.img" "core-$pw.img"
swap "core-$ppid_.img" "core-$cpid.img"
swap "core-$pw.img" "core-$cw.img"
for kind in mm pagemap task fdinfo; do
	swap "$kind-$ppid_.img" "$kind-$cpid.img"
done

# pstree.img rewritten well-formed (valid checksum) without a thread of
# the root: that thread's core image names it
fresh; own pstree.img
"$B/tests/imgedit" "$d" pstree-drop
lost=$(echo "$ptids" | sort -n | tail -1)
run "pstree.img rewritten without thread $lost" "core-$lost.img" pstree.img

echo "corrupt-images: $cases cases: $refused refused, $correct restored-correct," \
	"$wrong restored-WRONG, $crashed crashed, $hung hung (seed $seed)"
bad=$((wrong + crashed + hung))
echo "corrupt-images: $((cases - bad)) passed, $bad failed"
[ $bad = 0 ]

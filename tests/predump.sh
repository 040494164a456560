#!/bin/bash
# Iterative pre-dump: pre-dump layers of a tree that keeps writing its
# memory, the final dump on top, restore through the chain.
#
# The target is zdtm's dirty_pages (64 MiB, 2000 random page writes a
# second, a VMA mapped over a tracked one and MADV_DONTNEED every 20 ms);
# after SIGTERM it checks every page against its own generation counter.
#
#   chain       3 pre-dumps while it writes, dump --prev-images-dir
#               --track-mem: later layers and the dump hold PE_PARENT runs,
#               the dump's pages are a fraction of a full copy, no tracker
#               is left; restore --verify, and the target's own check
#   show        show DIR follows the chain (text and valid JSON)
#   refusals    parent missing, parent replaced by another layer, a
#               corrupt page in the oldest layer: restore refused naming
#               the file, nothing left running; then the chain restores,
#               also with --lazy-pages; from a page server it is refused
#   tracker     the tracker killed between pre-dumps: the next pre-dump
#               says so and copies everything; killed before the final
#               dump: the dump says so and copies everything; restore ok
#   leave       dump -R on top of a chain: the target runs on with no
#               uffd-wp left (no "uw" VMA, no userfaultfd, tracker gone),
#               passes its check, and the dump restores later
#   lifetime    a tracker exits after --track-timeout, when DIR is
#               removed, and when its tree exits; its write protection
#               goes with it
#   fault       a pre-dump failing before its inventory: no layer, no
#               tracker, no write protection left, the next one works
#   tracked     pre-dump of a tree whose tracker still runs, without
#               --prev-images-dir: refused (target unharmed); a missing
#               --prev-images-dir, or DIR itself, refused by name
#
# Usage: tests/predump.sh BUILD_DIR    (under build/tests/subreaper)
set -u
B=${1:-build}
CL=$(realpath "$B/criu-lite")
Z=$(realpath "$B/zdtm")
JC=$(realpath "$B/tests/jsoncheck")
FLIP=$(realpath "$B/tests/flipbits")
. "$(dirname "$0")/proc-lib.sh"
proc_test_init predump
export ZDTM_DIRTY_MB=64 ZDTM_DIRTY_RATE=2000

say() { echo "predump: $*"; }

# start NAME: runs dirty_pages in $work/NAME, waits for READY; sets tpid
start() {
	local i
	mkdir -p "$work/$1"
	(cd "$work/$1" && exec "$Z/transition/dirty_pages" </dev/null \
		>>"$work/$1.out" 2>&1) &
	tpid=$!
	pids+=("$tpid")
	for i in $(seq 300); do
		grep -q READY "$work/$1.out" 2>/dev/null && return 0
		sleep 0.1
	done
	say "$1: the target did not get ready"; cat "$work/$1.out"; exit 1
}

# cl LOG ARGS...: criu-lite with its output in LOG
cl() {
	local log=$1
	shift
	"$CL" "$@" >"$log" 2>&1
}

# tracker_of LOG: the tracker pid a pre-dump reported
tracker_of() {
	sed -n 's/.*memory tracker \([0-9]*\) keeps.*/\1/p' "$1"
}

# predump DIR LOG [PREV]: a pre-dump of $tpid (options $PD_OPTS);
# remembers its tracker in $trk
PD_OPTS=
predump() {
	local prev=()
	[ -n "${3:-}" ] && prev=(--prev-images-dir "$3")
	# shellcheck disable=SC2086
	cl "$2" pre-dump -t "$tpid" -D "$1" "${prev[@]}" $PD_OPTS || return 1
	trk=$(tracker_of "$2")
	[ -n "$trk" ] && pids+=("$trk")
	return 0
}

parent_runs() { "$CL" show "$1/pagemap-$2.img" | grep -c 'flags: "PE_PARENT"'; }
pages_bytes() { stat -c %s "$1/pages-1.img"; }
uw_vmas() { grep '^VmFlags:' "/proc/$1/smaps" | grep -c ' uw'; }

# verdict NAME PID: SIGTERM to the (restored) target, its own check
verdict() {
	kill -TERM "$2" 2>/dev/null
	if ! wait_gone "$2" 100; then
		bad "$1" "the target does not exit after SIGTERM"
		kill -9 "$2"
		return 1
	fi
	wait "$2" 2>/dev/null
	if tail -n 3 "$work/$1.out" | grep -q '^PASS'; then
		return 0
	fi
	bad "$1" "the target's own check failed: $(grep FAIL "$work/$1.out" | head -3)"
	return 1
}

# final_dump LOG ARGS...: the final dump; the target must be gone
final_dump() {
	local log=$1
	shift
	cl "$log" dump -t "$tpid" "$@" || return 1
	wait "$tpid" 2>/dev/null
	wait_gone "$tpid"
}

# restore_ok NAME DIR LOG: restore -d --verify must work
restore_ok() {
	cl "$3" restore -D "$2" -d --verify
}

# ---- chain, show, refusals ----
# (--no-sync: what the dump stores is what was written since the last
# pre-dump began, which on a busy disk would include seconds of fsync)
start chain
L=$work/chain
PD_OPTS=--no-sync
predump "$L/l1" "$L/l1.log" && t1=$trk &&
	sleep 0.4 && predump "$L/l2" "$L/l2.log" ../l1 && t2=$trk &&
	sleep 0.4 && predump "$L/l3" "$L/l3.log" ../l2 && t3=$trk
PD_OPTS=
if [ -z "${t3:-}" ]; then
	bad chain "a pre-dump failed: $(cat "$L"/l*.log | grep Error | head -3)"
else
	sleep 0.2
	if ! final_dump "$L/f.log" -D "$L/f" --prev-images-dir ../l3 --track-mem; then
		bad chain "the final dump failed: $(grep Error "$L/f.log" | head -3)"
	else
		full=$(pages_bytes "$L/l1") last=$(pages_bytes "$L/f")
		why=
		for l in l2 l3 f; do
			[ "$(parent_runs "$L/$l" "$tpid")" -gt 0 ] ||
				why="$why; $l has no PE_PARENT run"
		done
		[ "$last" -lt $((full / 4)) ] ||
			why="$why; the dump stored $last bytes of pages, a full copy $full"
		for t in $t1 $t2 $t3; do
			alive "$t" && why="$why; tracker $t still runs"
		done
		if ! restore_ok chain "$L/f" "$L/f.restore.log"; then
			why="$why; restore failed: $(grep Error "$L/f.restore.log" | head -3)"
		elif ! grep -q "pages come from 4 layers" "$L/f.restore.log"; then
			why="$why; restore did not use the 4 layers"
		fi
		if [ -z "$why" ] && verdict chain "$tpid"; then
			ok "chain (dump stored $((last / 1024)) KiB, a full copy $((full / 1024)) KiB; $(sed -n 's/.*stored, \([0-9]*\) in the parent.*/\1/p' "$L/f.log") pages from the parents)"
		elif [ -n "$why" ]; then
			bad chain "${why#; }"
			kill -9 "$tpid" 2>/dev/null
		fi
	fi
fi

# show: the chain in text, and as valid JSON
if [ -d "$L/f" ]; then
	"$CL" show "$L/f" >"$work/show.txt" 2>&1
	"$CL" show --json "$L/f" >"$work/show.json" 2>/dev/null
	if ! grep -q "f/parent -> ../l3" "$work/show.txt" ||
	   ! grep -q "f/parent/parent/parent -> ../l1" "$work/show.txt"; then
		bad show "show does not follow the chain: $(grep parent "$work/show.txt" | head -3)"
	elif ! "$JC" <"$work/show.json" 2>"$work/jc.err"; then
		bad show "show --json: $(cat "$work/jc.err")"
	elif ! grep -q '"target":"../l1"' "$work/show.json"; then
		bad show "show --json lacks the oldest layer"
	else
		ok show
	fi
fi

# refusals: each must fail naming the file, and create nothing
refused() {
	local name=$1 want=$2
	if cl "$work/r.log" restore -D "$L/f" -d; then
		bad "$name" "restore worked"
		kill -9 "$tpid" 2>/dev/null; wait_gone "$tpid"
	elif ! grep -q -- "$want" "$work/r.log"; then
		bad "$name" "no \"$want\" in: $(grep Error "$work/r.log" | head -2)"
	elif alive "$tpid"; then
		bad "$name" "pid $tpid runs after a refused restore"
	else
		ok "$name"
	fi
}
if [ -d "$L/f" ] && ! alive "$tpid"; then
	mv "$L/l3" "$L/l3.away"
	refused refused-parent-missing "f/parent (-> ../l3), the parent layer"
	mv "$L/l2" "$L/l3"
	refused refused-parent-replaced "f/parent/inventory.img: layer .* replaced by another dump"
	mv "$L/l3" "$L/l2"
	mv "$L/l3.away" "$L/l3"
	cp "$L/l1/pages-1.img" "$work/l1.pages"
	"$FLIP" "$L/l1/pages-1.img" 7 300 >/dev/null
	refused refused-corrupt-parent-page "f/parent/parent/parent/pages-1.img: page .* does not match its checksum"
	cp "$work/l1.pages" "$L/l1/pages-1.img"
	: >"$work/chain.out"
	if restore_ok chain "$L/f" "$work/r.log" && verdict chain "$tpid"; then
		ok refused-then-restored
	else
		bad refused-then-restored "$(grep Error "$work/r.log" | head -2)"
	fi
	# lazily: the daemon takes pages from every layer too
	: >"$work/chain.out"
	if ! cl "$work/r.log" restore -D "$L/f" -d --lazy-pages; then
		bad lazy "$(grep Error "$work/r.log" | head -2)"
	elif verdict chain "$tpid"; then
		ok lazy
	fi
	# a restore from a page server has the top layer's pages only
	port=$((20000 + RANDOM % 20000))
	"$CL" page-server -D "$L/f" --port $port --address 127.0.0.1 \
		>"$work/ps.log" 2>&1 &
	ps=$!
	pids+=("$ps")
	for i in $(seq 50); do
		grep -q serving "$work/ps.log" && break
		sleep 0.1
	done
	if cl "$work/r.log" restore -D "$L/f" -d --lazy-pages \
		--page-server 127.0.0.1:$port; then
		bad page-server "restored"
	elif ! grep -q "pre-dump chain from a page server is not supported" "$work/r.log"; then
		bad page-server "$(grep Error "$work/r.log" | head -2)"
	else
		ok page-server-refused
	fi
	kill "$ps" 2>/dev/null
	wait "$ps" 2>/dev/null
fi

# ---- tracker killed between pre-dumps, and before the final dump ----
start tracker
L=$work/tracker
why=
predump "$L/l1" "$L/l1.log" || why="pre-dump 1 failed"
[ -z "$why" ] && { kill -9 "$trk"; wait_gone "$trk"; sleep 0.3; }
[ -z "$why" ] && { predump "$L/l2" "$L/l2.log" ../l1 || why="pre-dump 2 failed: $(grep Error "$L/l2.log")"; }
if [ -z "$why" ]; then
	grep -q "no memory tracking to go on from: the tracker of .* is gone" "$L/l2.log" ||
		why="pre-dump 2 did not say that the tracker is gone"
	[ "$(parent_runs "$L/l2" "$tpid")" = 0 ] ||
		why="$why; pre-dump 2 has PE_PARENT runs without a tracker"
	[ "$(pages_bytes "$L/l2")" -ge $(( $(pages_bytes "$L/l1") * 9 / 10 )) ] ||
		why="$why; pre-dump 2 did not copy everything"
	sleep 0.3
	predump "$L/l3" "$L/l3.log" ../l2 || why="$why; pre-dump 3 failed"
	[ "$(parent_runs "$L/l3" "$tpid")" -gt 0 ] ||
		why="$why; pre-dump 3 (tracker alive again) has no PE_PARENT run"
	kill -9 "$trk"; wait_gone "$trk"
	final_dump "$L/f.log" -D "$L/f" --prev-images-dir ../l3 --track-mem ||
		why="$why; the final dump failed"
	grep -q "no memory tracking to go on from" "$L/f.log" ||
		why="$why; the final dump did not say the tracker is gone"
	[ "$(parent_runs "$L/f" "$tpid")" = 0 ] ||
		why="$why; the final dump has PE_PARENT runs without a tracker"
	restore_ok tracker "$L/f" "$L/r.log" ||
		why="$why; restore failed: $(grep Error "$L/r.log" | head -2)"
fi
if [ -n "$why" ]; then
	bad tracker "${why#; }"
	kill -9 "$tpid" 2>/dev/null
elif verdict tracker "$tpid"; then
	ok tracker
fi

# ---- dump -R: nothing of the tracking is left ----
start leave
L=$work/leave
why=
predump "$L/l1" "$L/l1.log" && sleep 0.3 && predump "$L/l2" "$L/l2.log" ../l1 ||
	why="a pre-dump failed"
if [ -z "$why" ]; then
	t2=$trk
	[ "$(uw_vmas "$tpid")" -gt 0 ] || why="no uw VMA while tracked (the check can't fail)"
	cl "$L/f.log" dump -t "$tpid" -D "$L/f" --prev-images-dir ../l2 \
		--track-mem -R || why="$why; dump -R failed: $(grep Error "$L/f.log")"
	wait_gone "$t2" 30 || why="$why; tracker $t2 still runs after the dump"
	[ "$(uw_vmas "$tpid")" = 0 ] ||
		why="$why; $(uw_vmas "$tpid") VMAs still write-protected (uw) after dump -R"
	ls -l "/proc/$tpid/fd" | grep -q userfaultfd &&
		why="$why; the target holds a userfaultfd"
	grep -q "flags:.*userfaultfd\|^ufd" /proc/"$tpid"/fdinfo/* 2>/dev/null &&
		why="$why; a userfaultfd in the target's fdinfo"
	[ "$(parent_runs "$L/f" "$tpid")" -gt 0 ] || why="$why; dump -R has no PE_PARENT run"
	alive "$tpid" || why="$why; the target died"
fi
if [ -n "$why" ]; then
	bad leave "${why#; }"
	kill -9 "$tpid" 2>/dev/null
else
	# it runs on as before, then the dump restores
	sleep 0.3
	if ! verdict leave "$tpid"; then
		:
	else
		: >"$work/leave.out"
		if ! restore_ok leave "$L/f" "$L/r.log"; then
			bad leave "restore of the -R dump: $(grep Error "$L/r.log" | head -2)"
		elif verdict leave "$tpid"; then
			ok "leave (no uw VMA, no userfaultfd, tracker gone; the dump restores)"
		fi
	fi
fi

# ---- a tracker's life ----
start life
L=$work/life
why=
cl "$L/t.log" pre-dump -t "$tpid" -D "$L/t" --track-timeout 2 || why="pre-dump failed"
trk=$(tracker_of "$L/t.log"); pids+=("$trk")
alive "$trk" || why="$why; no tracker after the pre-dump"
wait_gone "$trk" 60 || why="$why; tracker still there 6 s after a 2 s timeout"
sleep 0.2
[ "$(uw_vmas "$tpid")" = 0 ] || why="$why; uw VMAs left after the timeout"
[ -e "$L/t/tracker.sock" ] && why="$why; tracker.sock left after the timeout"
predump "$L/d" "$L/d.log" || why="$why; pre-dump (2) failed"
rm -rf "$L/d"
wait_gone "$trk" 40 || why="$why; tracker still there 4 s after its DIR was removed"
sleep 0.2
[ "$(uw_vmas "$tpid")" = 0 ] || why="$why; uw VMAs left after DIR was removed"
predump "$L/e" "$L/e.log" || why="$why; pre-dump (3) failed"
verdict life "$tpid" || why="$why; the target failed"
wait_gone "$trk" 40 || why="$why; tracker still there 4 s after its tree exited"
[ -z "$why" ] && ok "lifetime (timeout, DIR removed, tree exited)" || bad lifetime "${why#; }"

# ---- a pre-dump failing before its layer is complete ----
start fault
L=$work/fault
why=
if CRIU_LITE_FAULT=predump-before-inventory cl "$L/a.log" pre-dump -t "$tpid" -D "$L/a"; then
	why="the pre-dump did not fail"
fi
[ -e "$L/a" ] && why="$why; it left $L/a"
grep -q "memory tracker" "$L/a.log" && why="$why; it left a tracker"
sleep 0.2
[ "$(uw_vmas "$tpid")" = 0 ] || why="$why; uw VMAs left behind"
alive "$tpid" || why="$why; the target died"
predump "$L/b" "$L/b.log" || why="$why; the next pre-dump failed"
verdict fault "$tpid" || why="$why; the target failed"
[ -z "$why" ] && ok fault-before-inventory || bad fault-before-inventory "${why#; }"

# ---- a tree still tracked, pre-dumped again without its parent ----
start tracked
L=$work/tracked
predump "$L/l1" "$L/l1.log"
before=$(cat "/proc/$tpid/maps")
if cl "$L/l2.log" pre-dump -t "$tpid" -D "$L/l2"; then
	bad tracked "a second tracking of a tracked tree was started"
elif ! grep -q "userfaultfd.*pre-dump" "$L/l2.log"; then
	bad tracked "the refusal does not name the tracker: $(grep Error "$L/l2.log" | head -2)"
elif [ "$before" != "$(cat "/proc/$tpid/maps")" ] || ! alive "$tpid"; then
	bad tracked "the target changed"
else
	ok tracked
fi
# a parent that is not there, or the layer itself, is refused by name
if cl "$L/l3.log" pre-dump -t "$tpid" -D "$L/l3" --prev-images-dir ../nowhere; then
	bad prev-missing "pre-dump on top of a missing layer worked"
elif ! grep -q "parent images .*/nowhere (--prev-images-dir ../nowhere): No such file" "$L/l3.log"; then
	bad prev-missing "$(grep Error "$L/l3.log" | head -2)"
elif cl "$L/l3.log" dump -t "$tpid" -D "$L/l1" --prev-images-dir . --track-mem; then
	bad prev-missing "a dump on top of itself worked"
elif ! grep -q "is .*/l1 itself" "$L/l3.log" || ! alive "$tpid"; then
	bad prev-missing "$(grep Error "$L/l3.log" | head -2)"
else
	ok prev-missing-or-self
fi
verdict tracked "$tpid" >/dev/null

echo "predump: $pass passed, $fail failed"
[ $fail = 0 ]

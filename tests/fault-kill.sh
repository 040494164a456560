#!/bin/bash
# criu-lite killed at random moments must never harm its target.
#
# Dump: zdtm test programs (threads: registers, vector registers, masks,
# futex/cond/nanosleep; threads_mem: four threads writing memory;
# mem_1g at 256 MiB: a long page phase) are dumped with --leave-running
# again and again, and criu-lite gets SIGKILL, SIGINT or SIGTERM after a
# random delay spread over a whole dump (plain and pre-copy dumps). After
# every try the target must run on: not stopped, not traced, the same
# threads, the same signal masks, the same VMAs and fds (threads, which
# sleeps) as before the first try. At the end each test gets SIGTERM and
# must pass its own checks (memory, registers, masks).
#
# Pre-dump: threads_mem gets a chain of pre-dumps (each on top of the
# last one that completed) while criu-lite gets a signal at random
# moments of each: killed while taking the tracker over, copying, after
# its commit, while forking the next tracker. The target must run on
# unchanged after every try; the dump -R on top of the chain at the end
# must leave no write protection (uw VMA) in it.
#
# Restore: a dump of `threads` is restored again and again while
# criu-lite gets a signal at a random moment: afterwards either nothing of
# it runs (a half-built tree must be gone) or the restore had finished and
# the restored test passes its own checks. The last restore runs
# undisturbed and must pass.
#
# Usage: tests/fault-kill.sh BUILD_DIR [TRIES]   (under a subreaper)
set -u
B=${1:-build}
TRIES=${2:-${FAULT_TRIES:-100}}
CL=$(realpath "$B/criu-lite")
Z=$(realpath "$B/zdtm")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-fault.XXXXXX")
lost=0 harmed=0 tries=0 restore_bad=0 restore_tries=0
pids=()
# Only this shell cleans up. With an EXIT trap set, bash handles SIGINT
# and SIGTERM itself, and a child it forked for `cmd &` keeps that handler
# and the trap until it execs cmd: a signal meant for criu-lite that lands
# in that window ran this trap in the child, which killed the targets and
# removed $work under the running script ("wait_for: No record of
# process", every file of $work gone).
main_pid=$BASHPID
cleanup() {
	local p
	[ "$BASHPID" = "$main_pid" ] || return 0
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

say() { echo "fault-kill: $*"; }

# cl_bg LOG ARGS...: criu-lite ARGS in the background, output to LOG;
# sets $cl and returns once that process is criu-lite (or already gone),
# so that the signal of a try lands in criu-lite, never in bash's fork of
# it before the exec, and the random delay counts from criu-lite's start
cl_bg() {
	local log=$1 i
	shift
	"$CL" "$@" >"$log" 2>&1 &
	cl=$!
	for ((i = 0; i < 1000000; i++)); do
		[ /proc/$cl/exe -ef "$CL" ] || [ ! -e /proc/$cl/exe ] && return
	done
	say "criu-lite ($cl) did not start"
}

# $work is this run's: a try must never take it away
work_intact() {
	[ -d "$work" ] && return 0
	say "LOST its work directory $work after SIG$1 at $2 ms"
	exit 1
}

# start_test NAME DIR: runs a zdtm test, waits for READY; sets $tpid
start_test() {
	local name=$1 dir=$2 i
	mkdir -p "$work/$name"
	(cd "$work/$name" && exec "$Z/$dir/$name" </dev/null \
		>>"$work/$name.out" 2>&1) &
	tpid=$!
	pids+=("$tpid")
	for i in $(seq 300); do
		grep -q READY "$work/$name.out" 2>/dev/null && return 0
		sleep 0.1
	done
	say "$name did not get ready"; cat "$work/$name.out"; exit 1
}

# what must not change: threads, per-thread masks, VMAs and fds
snapshot() {
	local pid=$1 static=$2 t
	for t in /proc/$pid/task/*; do
		echo "${t##*/} $(grep -E '^(SigBlk|SigIgn|SigCgt)' "$t/status" | tr '\n' ' ')"
	done
	if [ "$static" = 1 ]; then
		cat /proc/$pid/maps
		ls -l /proc/$pid/fd | awk '{ print $9, $10, $11 }'
	fi
}

# same_as BEFORE PID STATIC: the target's snapshot is BEFORE again; sets
# $after. A thread criu-lite died injecting into is runnable with the
# all-blocked mask (and injected registers) until it gets a CPU and
# rt_sigreturns: its own code never runs that way, but /proc shows it
# for the microseconds of that return, which a loaded machine can make
# milliseconds. A target that is not back to BEFORE within 5 s is
# harmed.
same_as() {
	local before=$1 pid=$2 static=$3 i
	for i in $(seq 500); do
		after=$(snapshot "$pid" "$static")
		[ "$before" = "$after" ] && return 0
		sleep 0.01
	done
	return 1
}

# the target must run on its own: alive, not stopped, not traced
check_running() {
	local pid=$1 i st tracer
	for i in $(seq 200); do
		st=$(awk '{ print $3 }' /proc/$pid/stat 2>/dev/null) || return 1
		tracer=$(awk '/^TracerPid/ { print $2 }' /proc/$pid/status)
		[ "$st" != T ] && [ "$st" != t ] && [ "$st" != Z ] &&
			[ "$tracer" = 0 ] && return 0
		sleep 0.01
	done
	say "pid $pid: state $st, tracer $tracer"
	return 1
}

# median duration (ms) of 3 undisturbed dumps
dump_ms() {
	local pid=$1 extra=$2 t0 t1 all=()
	for i in 1 2 3; do
		t0=$(date +%s%N)
		# shellcheck disable=SC2086
		"$CL" dump -t "$pid" -D "$work/img" --leave-running $extra \
			>/dev/null 2>&1 || { say "a plain dump of $pid failed" >&2; return 1; }
		t1=$(date +%s%N)
		all+=($(( (t1 - t0) / 1000000 )))
	done
	printf '%s\n' "${all[@]}" | sort -n | sed -n 2p
}

# dump_tries NAME PID STATIC EXTRA [N]: N (default TRIES) tries per signal
dump_tries() {
	local name=$1 pid=$2 static=$3 extra=$4 ntries=${5:-$TRIES}
	local ms before after sig n d cl
	if ! ms=$(dump_ms "$pid" "$extra"); then
		lost=$((lost + 1))	# the target is gone or broken
		return
	fi
	before=$(snapshot "$pid" "$static")
	say "$name${extra:+ ($extra)}: undisturbed dump ${ms} ms; $ntries tries per signal"
	for sig in KILL INT TERM; do
		for n in $(seq "$ntries"); do
			d=$(( RANDOM * (ms * 12 / 10 + 1) / 32768 ))
			# shellcheck disable=SC2086
			cl_bg "$work/try.log" dump -t "$pid" -D "$work/img" \
				--leave-running $extra
			sleep "$(printf '0.%03d' $((d % 1000)))" 2>/dev/null
			[ $d -ge 1000 ] && sleep $((d / 1000))
			kill -"$sig" $cl 2>/dev/null
			wait $cl 2>/dev/null
			tries=$((tries + 1))
			work_intact "$sig" "$d"
			if ! check_running "$pid"; then
				say "LOST $name: SIG$sig after ${d} ms"
				cat "$work/try.log"; lost=$((lost + 1)); return
			fi
			if ! same_as "$before" "$pid" "$static"; then
				say "HARMED $name: SIG$sig after ${d} ms changed it:"
				diff <(echo "$before") <(echo "$after") | head -20
				cat "$work/try.log"; harmed=$((harmed + 1)); return
			fi
		done
	done
}

# median duration (ms) of 3 undisturbed pre-dumps, each on top of the
# last; sets $last (the last layer's number)
predump_ms() {
	local pid=$1 t0 t1 all=() n
	for n in 1 2 3; do
		t0=$(date +%s%N)
		"$CL" pre-dump -t "$pid" -D "$work/pd$n" ${last:+--prev-images-dir ../pd$last} \
			>/dev/null 2>&1 || { say "a plain pre-dump of $pid failed" >&2; return 1; }
		t1=$(date +%s%N)
		last=$n
		all+=($(( (t1 - t0) / 1000000 )))
	done
	printf '%s\n' "${all[@]}" | sort -n | sed -n 2p
}

# predump_tries NAME PID N: N tries per signal on a pre-dump chain, then
# dump -R on top of it: no uffd-wp may be left
predump_tries() {
	local name=$1 pid=$2 ntries=$3 ms before sig n d cl i=3 uw
	last=
	if ! ms=$(predump_ms "$pid") || ! last=3; then
		lost=$((lost + 1))
		return
	fi
	before=$(snapshot "$pid" 0)
	say "$name: undisturbed pre-dump ${ms} ms; $ntries tries per signal"
	for sig in KILL INT TERM; do
		for n in $(seq "$ntries"); do
			i=$((i + 1))
			d=$(( RANDOM * (ms * 12 / 10 + 1) / 32768 ))
			cl_bg "$work/try.log" pre-dump -t "$pid" -D "$work/pd$i" \
				--prev-images-dir "../pd$last"
			sleep "$(printf '0.%03d' $((d % 1000)))" 2>/dev/null
			[ $d -ge 1000 ] && sleep $((d / 1000))
			kill -"$sig" $cl 2>/dev/null
			wait $cl 2>/dev/null
			tries=$((tries + 1))
			work_intact "$sig" "$d"
			[ -e "$work/pd$i/inventory.img" ] && last=$i
			if ! check_running "$pid"; then
				say "LOST $name: pre-dump SIG$sig after ${d} ms"
				cat "$work/try.log"; lost=$((lost + 1)); return
			fi
			if ! same_as "$before" "$pid" 0; then
				say "HARMED $name: pre-dump SIG$sig after ${d} ms changed it:"
				diff <(echo "$before") <(echo "$after") | head -20
				cat "$work/try.log"; harmed=$((harmed + 1)); return
			fi
		done
	done
	tries=$((tries + 1))
	if ! "$CL" dump -t "$pid" -D "$work/pdf" --prev-images-dir "../pd$last" \
		--track-mem -R >"$work/try.log" 2>&1; then
		say "HARMED $name: the dump on top of the chain failed:"
		cat "$work/try.log"; harmed=$((harmed + 1)); return
	fi
	sleep 0.2
	uw=$(grep '^VmFlags:' "/proc/$pid/smaps" | grep -c ' uw')
	if [ "$uw" != 0 ]; then
		say "HARMED $name: $uw VMAs still write-protected after the dump"
		harmed=$((harmed + 1))
	fi
	rm -rf "$work"/pd*
}

# finish_test NAME PID: SIGTERM, then its own verdict
finish_test() {
	local name=$1 pid=$2 i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	if tail -n 3 "$work/$name.out" | grep -q '^PASS'; then
		return 0
	fi
	say "$name failed its own checks after the tries:"
	tail -n 10 "$work/$name.out"
	harmed=$((harmed + 1))
}

start_test threads static
# the script's own guard: a child of bash signalled before its exec (what
# a try's signal hit when criu-lite started late) must not clean up: the
# target lives on, $work stays (bash's complaints from there are muted)
exec 3>&2 2>/dev/null
for n in $(seq 20); do
	/bin/true &
	kill -TERM $! 2>/dev/null
	wait $! 2>/dev/null
	[ -d "$work" ] && kill -0 "$tpid" 2>/dev/null && continue
	exec 2>&3
	say "HARMED threads: a child of this script killed before its exec" \
		"ran its cleanup (try $n)"
	exit 1
done
exec 2>&3 3>&-
# killed while pre-copy's userfaultfd is open in the target: the target
# closes it itself (its fds must be as before)
before=$(snapshot "$tpid" 1)
CRIU_LITE_FAULT=kill-uffd-open "$CL" dump -t "$tpid" -D "$work/img" \
	--leave-running --precopy-rounds 1 >"$work/try.log" 2>&1
tries=$((tries + 1))
if ! check_running "$tpid" || ! same_as "$before" "$tpid" 1; then
	say "HARMED threads: killed with its userfaultfd open:"
	diff <(echo "$before") <(echo "$after") | head; harmed=$((harmed + 1))
fi
# the plain injection (dump's fallback where no self-restoring frame
# fits) killed between two injected calls: the thread had been parked
# back in its interrupt stop, its own registers, mask and stack
before=$(snapshot "$tpid" 1)
CRIU_LITE_FAULT=kill-inject-plain-between "$CL" dump -t "$tpid" \
	-D "$work/img" --leave-running >"$work/try.log" 2>&1
tries=$((tries + 1))
if ! check_running "$tpid" || ! same_as "$before" "$tpid" 1; then
	say "HARMED threads: killed between two plain injected calls:"
	diff <(echo "$before") <(echo "$after") | head; harmed=$((harmed + 1))
fi
dump_tries threads "$tpid" 1 ""
dump_tries threads "$tpid" 1 "--precopy-rounds 2" $((TRIES / 3 + 1))
finish_test threads "$tpid"

start_test threads_mem transition
dump_tries threads_mem "$tpid" 0 ""
predump_tries threads_mem "$tpid" $((TRIES / 3 + 1))
finish_test threads_mem "$tpid"

ZDTM_MEM_MB=256 start_test mem_1g static
dump_tries mem_1g "$tpid" 0 "" $((TRIES / 3 + 1))
finish_test mem_1g "$tpid"

# ---- restore ----
: >"$work/threads.out"
start_test threads static
"$CL" dump -t "$tpid" -D "$work/rimg" >"$work/rdump.log" 2>&1 ||
	{ say "dump for the restore tries failed"; cat "$work/rdump.log"; exit 1; }
wait "$tpid" 2>/dev/null
rpid=$tpid
# the process at $rpid is this run's (the restored test or a puppet of
# criu-lite), not another one that got the PID since (pid_max may be small)
ours_at_rpid() {
	[ /proc/$rpid/exe -ef "$Z/static/threads" ] || [ /proc/$rpid/exe -ef "$CL" ]
}
wait_gone() {
	local i
	for i in $(seq 500); do
		[ -e /proc/$rpid ] || return 0
		sleep 0.01
	done
	return 1
}
t0=$(date +%s%N)
"$CL" restore -D "$work/rimg" -d >"$work/r.log" 2>&1 ||
	{ say "undisturbed restore failed"; cat "$work/r.log"; exit 1; }
rms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -KILL $rpid; wait_gone
# a restore that fails once the threads exist: exits non-zero (no hang),
# leaves nothing behind, and the next one works; criu-lite killed right
# after the root's clone, before that puppet could know: the puppet dies
# at once (it used to set itself up unwatched, untraced, under $rpid)
for point in restore-before-resume restore-kill-after-fork; do
	restore_tries=$((restore_tries + 1))
	CRIU_LITE_FAULT=$point timeout 60 "$CL" restore -D "$work/rimg" -d \
		>"$work/f.log" 2>&1
	rc=$?
	if [ $rc = 124 ] || [ $rc = 0 ]; then
		say "FAILED restore at $point: exit $rc (hang or success)"
		restore_bad=$((restore_bad + 1))
	elif ! wait_gone; then
		say "FAILED restore at $point left $rpid behind"
		restore_bad=$((restore_bad + 1))
	fi
done
# the same with --pidns: the namespace's init, whose parent criu-lite
# died before it could ask to die with it, goes at once (an orphan comes
# to this run's subreaper, our parent: none named criu-lite-init may stay)
inits_left() {
	local p n=0
	for p in /proc/[0-9]*; do
		[ "$(awk '/^PPid:/ { print $2 }' "$p/status" 2>/dev/null)" = "$PPID" ] &&
			[ "$(cat "$p/comm" 2>/dev/null)" = criu-lite-init ] && n=$((n + 1))
	done
	echo $n
}
restore_tries=$((restore_tries + 1))
CRIU_LITE_FAULT=restore-kill-after-fork timeout 60 "$CL" restore -D "$work/rimg" \
	-d --pidns >"$work/f.log" 2>&1
rc=$?
for _ in $(seq 100); do [ "$(inits_left)" = 0 ] && break; sleep 0.05; done
if [ $rc = 124 ] || [ $rc = 0 ]; then
	say "FAILED restore --pidns at restore-kill-after-fork: exit $rc (hang or success)"
	restore_bad=$((restore_bad + 1))
elif [ "$(inits_left)" != 0 ]; then
	say "FAILED restore --pidns at restore-kill-after-fork left its init behind"
	restore_bad=$((restore_bad + 1))
fi
say "threads: undisturbed restore ${rms} ms; $TRIES tries per signal"
for sig in KILL INT TERM; do
	for n in $(seq "$TRIES"); do
		d=$(( RANDOM * (rms * 12 / 10 + 1) / 32768 ))
		: >"$work/threads.out"
		cl_bg "$work/try.log" restore -D "$work/rimg" -d
		sleep "$(printf '0.%03d' $((d % 1000)))"
		kill -"$sig" $cl 2>/dev/null
		wait $cl 2>/dev/null
		restore_tries=$((restore_tries + 1))
		work_intact "$sig" "$d"
		# a puppet SIGKILLed with its criu-lite (ptrace's EXITKILL) may
		# still show the test's exe for a moment as it dies: a tree
		# that goes by itself within 0.5 s is nothing left behind
		if ours_at_rpid; then
			for _ in $(seq 50); do
				[ -e /proc/$rpid ] &&
					[ "$(awk '{ print $3 }' /proc/$rpid/stat 2>/dev/null)" != Z ] ||
					break
				sleep 0.01
			done
		fi
		if ! ours_at_rpid; then
			:	# nothing of it runs (or the PID is another's now)
		elif [ /proc/$rpid/exe -ef "$Z/static/threads" ] &&
			check_running "$rpid" 2>/dev/null; then
			# it had finished: the restored test must be whole
			kill -TERM $rpid
			wait_gone || { say "restored $rpid does not exit"; kill -9 $rpid; }
			if ! tail -n 3 "$work/threads.out" | grep -q '^PASS'; then
				say "WRONG restore after SIG$sig at ${d} ms:"
				tail -n 5 "$work/threads.out"; cat "$work/try.log"
				restore_bad=$((restore_bad + 1))
			fi
		elif ! wait_gone; then
			# a half-built tree or a puppet: it must go by itself
			say "LEFT BEHIND after SIG$sig at ${d} ms: $rpid" \
				"($(tr '\0' ' ' <"/proc/$rpid/cmdline" 2>/dev/null))"
			kill -9 $rpid 2>/dev/null
			restore_bad=$((restore_bad + 1))
		fi
		wait_gone
	done
done
: >"$work/threads.out"
if ! "$CL" restore -D "$work/rimg" -d >"$work/r.log" 2>&1; then
	say "restore after the tries failed"; cat "$work/r.log"
	restore_bad=$((restore_bad + 1))
else
	kill -TERM $rpid; wait_gone
	tail -n 3 "$work/threads.out" | grep -q '^PASS' ||
		{ say "final restore: test failed"; restore_bad=$((restore_bad + 1)); }
fi

say "dump tries $tries: lost $lost, harmed $harmed; restore tries $restore_tries: wrong or left behind $restore_bad"
bad=$((lost + harmed + restore_bad))
good=$((tries + restore_tries - bad))
echo "fault-kill: $good passed, $bad failed (targets lost $lost, changed $harmed; restores wrong or left behind $restore_bad)"
[ $bad = 0 ]

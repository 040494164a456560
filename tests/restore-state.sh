#!/bin/sh
# Process state that comes from the image, not from the restoring
# criu-lite or the way it was run:
#   sighup   restored under nohup (SIGHUP ignored in criu-lite), the
#            target still has SIGHUP at SIG_DFL and dies of it
#   stopped  a stopped target (SIGSTOP, State T) stays stopped through
#            dump --leave-running, comes back stopped from restore, and
#            goes on with its state intact after SIGCONT
#   nice     a target at nice 7 comes back at nice 7 from a criu-lite at
#            0, and one at 0 at 0 from a criu-lite run under nice -n 5
#            (the restored threads had the restoring criu-lite's)
#   high-fd  restored by a criu-lite holding an inherited fd 19990 under
#            RLIMIT_NOFILE 20000 (its fds are not all kept clear of)
# The target is zdtm's counter (a busy loop checking itself on SIGTERM).
# Run under build/tests/subreaper. Usage: tests/restore-state.sh BUILD_DIR
set -u
B=${1:-build}
CL=$(realpath "$B/criu-lite")
T=$(realpath "$B/zdtm/static/counter")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-state.XXXXXX")
pass=0 fail=0 pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

start_target() {
	: >"$work/t.out"
	# SIGHUP at SIG_DFL in the target whatever this script inherited (run
	# under nohup, the target ignored it too, and rightly came back so)
	(cd "$work" && exec env --default-signal=HUP nice -n "${NICE:-0}" "$T" \
		</dev/null >>"$work/t.out" 2>&1) &
	pid=$!
	for _ in $(seq 1 200); do grep -q READY "$work/t.out" && return 0; sleep 0.05; done
	echo "target did not start"; exit 1
}

state() { awk '/^State:/ { print $2 }' /proc/"$1"/status 2>/dev/null; }
ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat 2>/dev/null; }

# wait_state PID STATES: up to 5 s for the state to be one of STATES
wait_state() {
	for _ in $(seq 1 100); do
		case "$2" in *"$(state "$1")"*) [ -n "$(state "$1")" ] && return 0 ;; esac
		sleep 0.05
	done
	return 1
}

# dump_kill NAME [OPTS]: dump the target, and get rid of it
dump_kill() {
	name=$1; shift
	rm -rf "$work/img"
	if ! "$CL" dump -t "$pid" -D "$work/img" "$@" >"$work/$name.dump.log" 2>&1; then
		bad "$name: dump failed:"; cat "$work/$name.dump.log"; return 1
	fi
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	return 0
}

# check_pass NAME: the target checks its state on SIGTERM and says PASS
check_pass() {
	kill -TERM "$pid"
	for _ in $(seq 1 200); do grep -q "^PASS\|^FAIL" "$work/t.out" && break; sleep 0.05; done
	if grep -q "^PASS" "$work/t.out"; then ok "$1"
	else bad "$1: the target says: $(tail -3 "$work/t.out")"; fi
	pid=
}

# --- SIGHUP at SIG_DFL although criu-lite ran under nohup
start_target
dump_kill sighup || exit 1
if ! nohup "$CL" restore -D "$work/img" -d >"$work/sighup.restore.log" 2>&1; then
	bad "sighup: restore failed:"; cat "$work/sighup.restore.log"
else
	ign=$(awk '/^SigIgn:/ { print $2 }' /proc/$pid/status)
	hup=$(( 0x$ign & 1 ))
	kill -HUP "$pid"
	gone=no
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { gone=yes; break; }; sleep 0.05; done
	if [ "$hup" = 0 ] && [ $gone = yes ]; then
		ok "sighup: restored under nohup, SigIgn $ign, died of SIGHUP"
		pid=
	else
		bad "sighup: SigIgn $ign (SIGHUP ignored: $hup), gone after SIGHUP: $gone"
		kill -9 "$pid"
		pid=
	fi
fi

# --- a stopped process stays stopped
start_target
kill -STOP "$pid"
wait_state "$pid" T || { bad "stopped: SIGSTOP did not stop the target"; exit 1; }
if "$CL" dump -t "$pid" -D "$work/img-r" -R >"$work/leave.dump.log" 2>&1 &&
   sleep 0.2 && [ "$(state "$pid")" = T ]; then
	ok "stopped: dump --leave-running leaves it stopped"
else
	bad "stopped: after dump --leave-running: State $(state "$pid")"
	cat "$work/leave.dump.log"
fi
dump_kill stopped || exit 1
if ! "$CL" restore -D "$work/img" -d >"$work/stopped.restore.log" 2>&1; then
	bad "stopped: restore failed:"; cat "$work/stopped.restore.log"; exit 1
fi
if wait_state "$pid" T; then
	t1=$(ticks "$pid"); sleep 0.3; t2=$(ticks "$pid")
	if [ "$t1" = "$t2" ]; then ok "stopped: restored in State T, no CPU time used"
	else bad "stopped: State T but CPU ticks $t1 -> $t2"; fi
else
	bad "stopped: restored in State $(state "$pid"), not T"
fi
kill -CONT "$pid"
if wait_state "$pid" RS; then
	t1=$(ticks "$pid"); sleep 0.3; t2=$(ticks "$pid")
	if [ "$t2" -gt "$t1" ]; then ok "stopped: runs on after SIGCONT"
	else bad "stopped: no CPU time after SIGCONT ($t1 -> $t2)"; fi
else
	bad "stopped: State $(state "$pid") after SIGCONT"
fi
check_pass "stopped: state intact after SIGCONT"

# --- the nice value is the target's
nice_of() { ps -o ni= -p "$1" 2>/dev/null | tr -d ' '; }
for c in "7 0" "0 5"; do
	set -- $c
	NICE=$1 start_target
	before=$(nice_of "$pid")
	dump_kill "nice-$1" || exit 1
	if ! nice -n "$2" "$CL" restore -D "$work/img" -d >"$work/nice.restore.log" 2>&1; then
		bad "nice $1: restore failed:"; cat "$work/nice.restore.log"; exit 1
	fi
	after=$(nice_of "$pid")
	if [ "$before" = "$1" ] && [ "$after" = "$1" ]; then
		ok "nice $1: restored at $after by a criu-lite at nice $2"
	else
		bad "nice $1: dumped at ${before:-?}, restored at ${after:-?} by a criu-lite at nice $2"
	fi
	check_pass "nice $1: state intact"
done

# --- an fd the restoring criu-lite inherited near its RLIMIT_NOFILE: the
# tree's fds find room below it (it counted the fd as one of its own)
start_target
dump_kill high-fd || exit 1
if ! (ulimit -n 20000 && exec python3 -c 'import os, sys
fd = os.open("/dev/null", os.O_RDONLY)
os.dup2(fd, 19990, inheritable=True)
os.close(fd)
os.execv(sys.argv[1], sys.argv[1:])' "$CL" restore -D "$work/img" -d) \
	>"$work/hifd.restore.log" 2>&1; then
	bad "high-fd: restore with fd 19990 open under a limit of 20000 failed:"
	cat "$work/hifd.restore.log"; exit 1
fi
check_pass "high-fd: restored with fd 19990 open under a limit of 20000"

echo "restore-state: $pass passed, $fail failed"
[ $fail = 0 ]

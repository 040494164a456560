#!/bin/sh
# Dump must refuse what it can't do with a clear message and a non-zero
# exit, and leave the target running, not stopped, not traced:
#   a PID that does not exist, criu-lite's own tree, an already traced
#   process (naming the tracer), a kernel thread, a process criu-lite may
#   not trace (naming the missing capability), a process holding objects
#   that can't be restored (all of them listed in one message), namespaces
#   restore does not rebuild (network, mount, user, cgroup, time, a pending
#   PID namespace, an IPC namespace holding objects, a UTS namespace shared
#   across the tree in a way restore can't make), and a dump into a full
#   filesystem (No space left on device; the target runs on).
# Usage: tests/bad-dumps.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
HOLD=$B/tests/holder
MEM=$B/zdtm/static/mem_1g
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-bad-dump.XXXXXX")
pass=0 fail=0 pids= mnt=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done;
      [ -n "$mnt" ] && umount "$mnt"; rm -rf "$work"' EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# expect_refusal NAME PID TEXT...: dump fails, output has every TEXT
expect_refusal() {
	name=$1 pid=$2
	shift 2
	if "$CL" dump -t "$pid" -D "$work/$name" >"$work/$name.log" 2>&1; then
		bad "$name: dump succeeded"; return 1
	fi
	for t in "$@"; do
		grep -q -- "$t" "$work/$name.log" || {
			bad "$name: no \"$t\" in:"; cat "$work/$name.log"; return 1; }
	done
	[ ! -e "$work/$name/inventory.img" ] || { bad "$name: inventory.img written"; return 1; }
	return 0
}

# still_running PID: not stopped, not traced by us, and using CPU
still_running() {
	st=$(awk '/^State:/ { print $2 }' /proc/"$1"/status 2>/dev/null)
	tr=$(awk '/^TracerPid:/ { print $2 }' /proc/"$1"/status 2>/dev/null)
	t1=$(awk '{ print $14 }' /proc/"$1"/stat 2>/dev/null)
	sleep 0.3
	t2=$(awk '{ print $14 }' /proc/"$1"/stat 2>/dev/null)
	[ "$st" = R ] || [ "$st" = S ] || { echo "  state $st"; return 1; }
	[ "${2:-0}" = "$tr" ] || { echo "  tracer $tr"; return 1; }
	[ "$t2" -gt "$t1" ] || { echo "  no CPU time ($t1 -> $t2)"; return 1; }
}

# still_running_state PID: not stopped, not traced
still_running_state() {
	st=$(awk '/^State:/ { print $2 }' /proc/"$1"/status 2>/dev/null)
	tr=$(awk '/^TracerPid:/ { print $2 }' /proc/"$1"/status 2>/dev/null)
	{ [ "$st" = R ] || [ "$st" = S ]; } && [ "$tr" = 0 ]
}

wait_ready() {
	for _ in $(seq 1 100); do grep -q READY "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

expect_refusal bad-pid abc "bad PID" && ok "bad-pid: $(head -1 "$work/bad-pid.log")"
expect_refusal no-such-pid 3999999 "no process with PID 3999999" &&
	ok "no-such-pid: $(head -1 "$work/no-such-pid.log")"

# this script's own tree contains the criu-lite that dumps it
expect_refusal self $$ "contains criu-lite itself" && {
	st=$(awk '/^State:/ { print $2 }' /proc/$$/status)
	if [ "$st" = R ] || [ "$st" = S ]; then ok "self: $(head -1 "$work/self.log")"
	else bad "self: this shell left in state $st"; fi
}

"$HOLD" tracer >"$work/tracer.out" 2>&1 &
tpid=$!
pids="$pids $tpid"
wait_ready "$work/tracer.out"
child=$(awk '/^CHILD/ { print $2 }' "$work/tracer.out")
pids="$pids $child"
expect_refusal traced "$child" "already traced by PID $tpid" &&
	ok "traced: $(grep Error "$work/traced.log" | head -1)"

"$HOLD" objects >"$work/objects.out" 2>&1 &
opid=$!
pids="$pids $opid"
wait_ready "$work/objects.out"
n=8 kvm=io_uring
if [ -e /dev/kvm ]; then n=9 kvm="accel=tcg"; fi
if expect_refusal objects "$opid" "io_uring" "userfaultfd" \
	"established TCP connection (dump with --tcp-established" \
	"raw IP socket" "netlink" \
	"pidfd of pid $$, which is not in the dumped tree" \
	"neither the process's own nor criu-lite's" \
	"$kvm" "$n object(s) not supported"; then
	if still_running "$opid"; then
		ok "objects: all $n listed in one message, target running on"
		sed -n "2,$((n + 1))p" "$work/objects.log"
	else
		bad "objects: target not running normally after the refusal"
	fi
fi
kill -TERM "$opid"
wait "$opid" && ok "objects: target exits normally afterwards" ||
	bad "objects: target did not exit 0 on SIGTERM"

# a connection not yet accepted that holds data: only accept() reads it
for kind in tcp unix; do
	"$HOLD" pending-$kind >"$work/pending-$kind.out" 2>&1 &
	ppid_=$!
	pids="$pids $ppid_"
	wait_ready "$work/pending-$kind.out"
	if [ $kind = tcp ]; then
		text="connections not yet accepted hold 3 bytes (readable only by accept()"
	else
		text="holds data its client (socket"
	fi
	if expect_refusal pending-$kind "$ppid_" "$text"; then
		if still_running "$ppid_"; then
			kill -TERM "$ppid_"
			wait "$ppid_" && ok "pending-$kind: refused, the connection still holds its bytes" ||
				bad "pending-$kind: the pending connection lost its bytes"
		else
			bad "pending-$kind: target not running normally after the refusal"
		fi
	fi
done

# namespaces restore does not rebuild: each named, all in one message,
# the target runs on
unshare -n -m -U -C -T "$HOLD" spin >"$work/ns.out" 2>&1 &
npid=$!
pids="$pids $npid"
wait_ready "$work/ns.out"
if expect_refusal ns "$npid" "pid $npid is in another network namespace (net:\[" \
	"another mount namespace" "another user namespace" \
	"another cgroup namespace" "another time namespace" \
	"5 object(s) not supported"; then
	if still_running "$npid"; then ok "ns: net, mnt, user, cgroup, time named"
	else bad "ns: target not running normally after the refusal"; fi
fi
kill -TERM "$npid"

# unshare(CLONE_NEWPID) without a fork: its next child would be elsewhere
unshare -p "$HOLD" spin >"$work/pidns.out" 2>&1 &
ppid_=$!
pids="$pids $ppid_"
wait_ready "$work/pidns.out"
expect_refusal pidns "$ppid_" "pid $ppid_ has unshared a PID namespace for its children" &&
	still_running "$ppid_" && ok "pidns: $(sed -n 2p "$work/pidns.log")"
kill -TERM "$ppid_"

# a new IPC namespace is restored empty: one holding objects is refused
"$HOLD" ipc >"$work/ipc.out" 2>&1 &
ipid=$!
pids="$pids $ipid"
wait_ready "$work/ipc.out"
expect_refusal ipc "$ipid" "another IPC namespace (ipc:\[" \
	"SysV shared memory segment key 0x5eed0001" "SysV message queue key 0x5eed0002" \
	"SysV semaphore set key 0x5eed0003" "POSIX message queue /holder-queue" \
	"4 object(s) not supported" && still_running "$ipid" &&
	ok "ipc: SysV shm, msg, sem and a POSIX queue named"
kill -TERM "$ipid"

# a child back in criu-lite's UTS namespace under a parent in another one
unshare -u sh -c "nsenter --uts=/proc/$$/ns/uts $HOLD spin & wait" \
	>"$work/uts.out" 2>&1 &
upid=$!
pids="$pids $upid"
wait_ready "$work/uts.out"
ukid=$(pgrep -P "$upid")
pids="$pids $ukid"
expect_refusal uts "$upid" "pid $ukid is in criu-lite's UTS namespace" \
	"but its parent $upid is in uts:\[" && ok "uts: $(sed -n 2p "$work/uts.log")"
kill -TERM $ukid "$upid"

# a thread alone in a new UTS namespace (namespaces are per thread)
"$HOLD" thread-uts >"$work/tuts.out" 2>&1 &
tpid=$!
pids="$pids $tpid"
wait_ready "$work/tuts.out"
expect_refusal thread-uts "$tpid" "of pid $tpid is in another uts namespace" \
	"than its process" && still_running "$tpid" &&
	ok "thread-uts: $(sed -n 2p "$work/thread-uts.log")"
kill -TERM "$tpid"

# a kernel thread (kthreadd is PID 2 in the initial PID namespace)
if grep -q '^Name:.*kthreadd' /proc/2/status 2>/dev/null; then
	expect_refusal kthread 2 "PID 2 (kthreadd) is a kernel thread" &&
		ok "kthread: $(grep Error "$work/kthread.log" | head -1)"
fi

# criu-lite without CAP_SYS_PTRACE may not trace a root process
sleep 1000 &
spid=$!
pids="$pids $spid"
if setpriv --bounding-set -sys_ptrace "$CL" dump -t $spid -D "$work/nocap" \
	>"$work/nocap.log" 2>&1; then
	bad "nocap: dump succeeded without CAP_SYS_PTRACE"
elif grep -q "lacks CAP_SYS_PTRACE" "$work/nocap.log" && still_running_state $spid; then
	ok "nocap: $(grep Error "$work/nocap.log" | head -1)"
else
	bad "nocap: message:"; cat "$work/nocap.log"
fi

# a full filesystem: the pages do not fit in 1 MiB
mnt=$work/full
mkdir -p "$mnt" && mount -t tmpfs -o size=1m cl-bad-dump "$mnt"
ZDTM_MEM_MB=16 "$MEM" </dev/null >"$work/mem.out" 2>&1 &
mpid=$!
pids="$pids $mpid"
wait_ready "$work/mem.out"
if "$CL" dump -t $mpid -D "$mnt/img" >"$work/full.log" 2>&1; then
	bad "full: dump into 1 MiB succeeded"
elif ! grep -Eq "(write pages image|into pages-1.img at offset [0-9]+).*No space left on device" "$work/full.log"; then
	bad "full: no \"write pages image ...\" (copy) or \"... into pages-1.img ...\" (splice): No space left on device\" in:"; cat "$work/full.log"
elif [ -n "$(ls -A "$mnt")" ]; then
	bad "full: left in the filesystem: $(ls -A "$mnt")"
elif ! still_running_state $mpid; then
	bad "full: target not running on"
else
	kill -TERM $mpid
	if wait $mpid; then ok "full: $(grep Error "$work/full.log" | head -1)"
	else bad "full: target's own check failed: $(tail -2 "$work/mem.out")"; fi
fi

echo "bad-dumps: $pass passed, $fail failed"
[ $fail = 0 ]

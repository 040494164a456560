#!/bin/sh
# Dump must refuse what it can't do with a clear message and a non-zero
# exit, and leave the target running, not stopped, not traced:
#   a PID that does not exist, criu-lite's own tree, an already traced
#   process, and a process holding objects that can't be restored (all of
#   them listed in one message).
# Usage: tests/bad-dumps.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
HOLD=$B/tests/holder
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-bad-dump.XXXXXX")
pass=0 fail=0 pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$work"' EXIT

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
expect_refusal traced "$child" "already traced by $tpid" &&
	ok "traced: $(grep Error "$work/traced.log" | head -1)"

"$HOLD" objects >"$work/objects.out" 2>&1 &
opid=$!
pids="$pids $opid"
wait_ready "$work/objects.out"
n=5 kvm=io_uring
if [ -e /dev/kvm ]; then n=6 kvm="accel=tcg"; fi
if expect_refusal objects "$opid" "io_uring" "userfaultfd" "TCP" "UDP" "netlink" \
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

echo "bad-dumps: $pass passed, $fail failed"
[ $fail = 0 ]

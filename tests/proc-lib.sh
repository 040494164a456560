# Sourced by test scripts (bash): waiting on processes by /proc.

# alive PID: exists and is not a zombie
alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

# wait_gone PID [TENTHS]: gone (or a zombie) within TENTHS/10 s (default 5 s)
wait_gone() {
	local i
	for i in $(seq "${2:-50}"); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# proc_test_init NAME: the setup of a test script that starts processes:
# work (a new directory in TMPDIR), pass=0 fail=0, pids=() (what the
# script starts, killed with SIGKILL at its exit, with work removed: by
# the script's own shell only, not by a subshell's exit), ok CASE [WHAT]
# and bad CASE WHY to count and say the results.
proc_test_init() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/cl-$1.XXXXXX") || exit 1
	pass=0 fail=0
	pids=()
	trap '[ "$BASHPID" = $$ ] || exit; for p in "${pids[@]}"; do kill -9 $p 2>/dev/null; done; rm -rf "$work"' EXIT
}

# ok CASE, bad CASE [WHY]: count and say a result
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1${2+: $2}"; fail=$((fail + 1)); }

# errors_of FILE...: the first error (else warning) line of each log, on
# one line ("no error logged" if none): a failure's cause near its FAIL
# line, where a CI log cut short still shows it
errors_of() {
	local f l out=
	for f in "$@"; do
		l=$(grep -m1 'Error:' "$f" 2>/dev/null || grep -m1 'Warn:' "$f" 2>/dev/null)
		[ -n "$l" ] && out="$out${out:+; }[$(basename "$f")] $l"
	done
	echo "${out:-no error logged}"
}

# wait_line FILE WORD TENTHS: a line starting with WORD appears in FILE
# within TENTHS/10 s
wait_line() {
	local i
	for i in $(seq "$3"); do
		grep -q "^$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# gone_within NAME PID: PID ends by itself (or is a zombie) within 60 s;
# else bad NAME, and it is killed
gone_within() {
	wait_gone "$2" 600 && return 0
	bad "$1" "still waits after 60 s"
	kill -9 "$2" 2>/dev/null
	return 1
}

# silent_peer OUT ROLE HOST PORT [MODE]: tests/tools/silent-peer.py ROLE
# (listen: takes connections and says nothing; full: its accept queue
# full; connect: a client that says nothing after its hello of MODE) in
# the background, its output in OUT, its PID in peer_pid; listen and full
# run through $PEER_RUN (a command prefix: the other host's network).
# Returns once it said READY (10 s at most; else 1, saying so).
SILENT_PEER=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")/tools/silent-peer.py")
silent_peer() {
	local out=$1 run=()
	shift
	# shellcheck disable=SC2206
	[ "$1" = connect ] || run=(${PEER_RUN:-})
	"${run[@]}" python3 "$SILENT_PEER" "$@" >"$out" 2>&1 &
	peer_pid=$!
	wait_line "$out" READY 100 && return 0
	echo "silent-peer.py did not start: $(cat "$out")"
	return 1
}

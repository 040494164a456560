#!/bin/bash
# Pages the kernel changes without a write fault, between pre-copy rounds:
# a page pinned for the kernel (an io_uring fixed buffer) written by
# IORING_OP_READ_FIXED after a round's collect protected it again. The
# tracker never reports it; the final dump must not take the round's
# stale copy (criu-lite reads all memory of a process seen with VmPin).
#
#   pinned      dump --precopy-rounds 3 --precopy-ms 1000 while
#               pinned-writer registers, waits for a collect, writes
#               through the pin and closes its ring; the dump warns of
#               the pinned memory; restore --verify; the target's own check
#               finds the kernel's bytes (before the fix: the round's copy)
#
# Usage: tests/pinned.sh BUILD_DIR    (under build/tests/subreaper)
set -u
B=${1:-build}
CL=$(realpath "$B/criu-lite")
PW=$(realpath "$B/tests/pinned-writer")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-pinned.XXXXXX")
pass=0 fail=0
pids=()
trap '[ "$BASHPID" = $$ ] || exit; for p in "${pids[@]}"; do kill -9 $p 2>/dev/null; done; rm -rf "$work"' EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

wait_gone() {
	local i
	for i in $(seq "${2:-50}"); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# wait_line FILE WORD TENTHS: WORD appears in FILE in time
wait_line() {
	local i
	for i in $(seq "$3"); do
		grep -q "^$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

case_pinned() {
	local out=$work/pinned.out img=$work/img tpid
	mkdir -p "$img"
	"$PW" "$work/scratch" </dev/null >"$out" 2>&1 &
	tpid=$!
	pids+=("$tpid")
	if ! wait_line "$out" READY 100; then
		bad pinned "the target did not get ready: $(cat "$out")"
		return
	fi
	if ! "$CL" dump -t "$tpid" -D "$img" --precopy-rounds 3 \
	     --precopy-until 0 --precopy-ms 1000 >"$work/dump.log" 2>&1; then
		bad pinned "dump failed: $(tail -3 "$work/dump.log")"
		return
	fi
	wait "$tpid" 2>/dev/null
	wait_gone "$tpid"
	if ! grep -q '^WRITTEN' "$out"; then
		bad pinned "the write through the pin did not happen between rounds: $(cat "$out")"
		return
	fi
	grep -q 'pinned memory' "$work/dump.log" ||
		echo "pinned: note: the dump did not warn of pinned memory"
	if ! "$CL" restore -D "$img" -d --verify >"$work/restore.log" 2>&1; then
		bad pinned "restore failed: $(tail -3 "$work/restore.log")"
		return
	fi
	pids+=("$tpid")
	kill -TERM "$tpid"
	if ! wait_gone "$tpid" 100; then
		bad pinned "the restored target does not exit after SIGTERM"
		return
	fi
	if tail -n 2 "$out" | grep -q '^PASS'; then
		grep -q 'pinned memory' "$work/dump.log" &&
			ok pinned || bad pinned "restored right, but no warning of pinned memory"
	else
		bad pinned "restored with the wrong content: $(grep FAIL "$out" | head -2)"
	fi
}

case_pinned
echo "pinned: $pass passed, $fail failed"
[ "$fail" = 0 ]

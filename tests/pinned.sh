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
Z=$(realpath "$B/zdtm")
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-pinned.XXXXXX")
pass=0 fail=0
pids=()
trap '[ "$BASHPID" = $$ ] || exit; for p in "${pids[@]}"; do kill -9 $p 2>/dev/null; done; rm -rf "$work"' EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

. "$(dirname "$0")/proc-lib.sh"

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

# odirect: a process holding an fd open with O_DIRECT (a read through it
# lands by DMA, unseen by the tracker): the dump warns and the final
# freeze takes nothing from the rounds' copies (reused 0 pages); restored
# with --verify, the target's own check passes
case_odirect() {
	local out=$work/od.out img=$work/odimg tpid reused
	mkdir -p "$img"
	"$PW" --odirect "$work/odfile" "$Z/transition/dirty_pages" \
		</dev/null >"$out" 2>&1 &
	tpid=$!
	pids+=("$tpid")
	if ! wait_line "$out" READY 100; then
		bad odirect "the target did not get ready: $(cat "$out")"
		return
	fi
	if ! "$CL" dump -t "$tpid" -D "$img" --precopy-rounds 3 -v \
	     --precopy-until 0 --precopy-ms 300 >"$work/od-dump.log" 2>&1; then
		bad odirect "dump failed: $(tail -3 "$work/od-dump.log")"
		return
	fi
	wait "$tpid" 2>/dev/null
	wait_gone "$tpid"
	reused=$(sed -n 's/.*the final freeze reused \([0-9]*\) pages.*/\1/p' "$work/od-dump.log")
	if ! grep -q 'O_DIRECT' "$work/od-dump.log"; then
		bad odirect "no warning of the O_DIRECT fd: $(grep -i 'pre-copy' "$work/od-dump.log")"
	elif [ "$reused" != 0 ]; then
		bad odirect "the final freeze reused ${reused:-?} pages of the rounds"
	elif ! "$CL" restore -D "$img" -d --verify >"$work/od-restore.log" 2>&1; then
		bad odirect "restore failed: $(tail -3 "$work/od-restore.log")"
	else
		kill -TERM "$tpid"
		wait_gone "$tpid" 100
		tail -n 2 "$out" | grep -q '^PASS' && ok odirect ||
			bad odirect "the restored target says: $(tail -2 "$out")"
	fi
}

case_pinned
case_odirect
echo "pinned: $pass passed, $fail failed"
[ "$fail" = 0 ]

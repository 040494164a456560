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
#   odirect     an O_DIRECT fd: the warning says how many MiB the freeze
#               reads, nothing is reused, pages counted untrusted
#   migrate-odirect  the same moved by migrate into other PID and mount
#               namespaces: --stats-file pages_untrusted > 0
#
# Usage: tests/pinned.sh BUILD_DIR    (under build/tests/subreaper)
set -u
B=${1:-build}
CL=$(realpath "$B/criu-lite")
PW=$(realpath "$B/tests/pinned-writer")
Z=$(realpath "$B/zdtm")
. "$(dirname "$0")/proc-lib.sh"
proc_test_init pinned

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
# lands by DMA, unseen by the tracker): the dump warns, saying how many
# MiB the freeze will read, and the final freeze takes nothing from the
# rounds' copies (reused 0 pages; more than 0 counted untrusted); restored
# with --verify, the target's own check passes
case_odirect() {
	local out=$work/od.out img=$work/odimg tpid reused untrusted mib
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
	untrusted=$(sed -n 's/.*read \([0-9]*\) of untrusted processes whole.*/\1/p' "$work/od-dump.log")
	# the warning says how much the freeze will read: N MiB, N > 0
	mib=$(sed -n 's/.*O_DIRECT.* \([0-9.]*\) MiB (its private memory now) will be read with the tree frozen.*/\1/p' \
		"$work/od-dump.log" | head -1)
	if ! grep -q 'O_DIRECT' "$work/od-dump.log"; then
		bad odirect "no warning of the O_DIRECT fd: $(grep -i 'pre-copy' "$work/od-dump.log")"
	elif ! awk -v m="${mib:-0}" 'BEGIN { exit !(m > 0) }'; then
		bad odirect "the warning does not say how many MiB are read frozen: $(grep O_DIRECT "$work/od-dump.log" | head -1)"
	elif [ "$reused" != 0 ]; then
		bad odirect "the final freeze reused ${reused:-?} pages of the rounds"
	elif ! [ "${untrusted:-0}" -gt 0 ] 2>/dev/null; then
		bad odirect "no pages counted as read untrusted: $(grep 'pre-copy:' "$work/od-dump.log")"
	elif ! "$CL" restore -D "$img" -d --verify >"$work/od-restore.log" 2>&1; then
		bad odirect "restore failed: $(tail -3 "$work/od-restore.log")"
	else
		kill -TERM "$tpid"
		wait_gone "$tpid" 100
		tail -n 2 "$out" | grep -q '^PASS' &&
			ok "odirect: warned of $mib MiB read frozen, $untrusted pages read untrusted" ||
			bad odirect "the restored target says: $(tail -2 "$out")"
	fi
}

# migrate-odirect: that target moved by migrate to a destination in its
# own PID and mount namespaces (over 127.0.0.1): the source's
# --stats-file counts the pages it read frozen whole (pages_untrusted >
# 0, none reused) and the target PASSes there
case_migrate_odirect() {
	local out=$work/mo.out json=$work/mo.json tpid host h= srv u r i
	local port=$((20000 + ($$ + 11) % 20000))
	unshare --pid --mount --fork --mount-proc --propagation private \
		sleep 100000 </dev/null >/dev/null 2>&1 &
	host=$!
	pids+=("$host")
	disown "$host" 2>/dev/null	# its end is ours to make, not to report
	for i in $(seq 100); do
		h=$(pgrep -P "$host" -x sleep) && break
		sleep 0.05
	done
	if [ -z "$h" ]; then
		bad migrate-odirect "no destination namespace"
		return
	fi
	pids+=("$h")	# its end takes the namespace along
	mkdir -p "$work/mo-dst"
	nsenter -t "$h" -p -m -- "$CL" migrate --incoming "127.0.0.1:$port" \
		-D "$work/mo-dst" >"$work/mo-in.log" 2>&1 &
	srv=$!
	pids+=("$srv")
	for i in $(seq 100); do
		ss -ltn 2>/dev/null | grep -q ":$port " && break
		sleep 0.05
	done
	"$PW" --odirect "$work/mofile" "$Z/transition/dirty_pages" \
		</dev/null >"$out" 2>&1 &
	tpid=$!
	pids+=("$tpid")
	if ! wait_line "$out" READY 100; then
		bad migrate-odirect "the target did not get ready: $(cat "$out")"
		return
	fi
	if ! "$CL" migrate -t "$tpid" --to "127.0.0.1:$port" --max-rounds 3 \
	     --stats-file "$json" >"$work/mo-out.log" 2>&1; then
		bad migrate-odirect "migrate failed: $(tail -3 "$work/mo-out.log") / $(tail -3 "$work/mo-in.log")"
		return
	fi
	wait "$tpid" 2>/dev/null
	wait "$srv" 2>/dev/null
	u=$(sed -n 's/.*"pages_untrusted": \([0-9]*\).*/\1/p' "$json")
	r=$(sed -n 's/.*"pages_reused": \([0-9]*\).*/\1/p' "$json")
	nsenter -t "$h" -p -m -- kill -TERM "$tpid"
	for i in $(seq 100); do
		tail -n 2 "$out" | grep -q '^PASS\|^FAIL' && break
		sleep 0.1
	done
	if ! [ "${u:-0}" -gt 0 ] 2>/dev/null || [ "${r:-x}" != 0 ]; then
		bad migrate-odirect "stats: pages_untrusted ${u:-none}, pages_reused ${r:-none}"
	elif ! tail -n 2 "$out" | grep -q '^PASS'; then
		bad migrate-odirect "the moved target says: $(tail -2 "$out")"
	else
		ok "migrate-odirect: pages_untrusted $u, pages_reused $r"
	fi
	kill -9 "$h" 2>/dev/null
}

case_pinned
case_odirect
case_migrate_odirect
echo "pinned: $pass passed, $fail failed"
[ "$fail" = 0 ]

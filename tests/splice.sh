#!/bin/bash
# The one-copy page path of a dump (vmsplice, criu-lite/page-splice.h)
# against the copy path (CRIU_LITE_PAGE_PATH=copy), on splicehog: 32 MiB
# of which every 4th page is present and all zero.
#
#   same-zero   --leave-running dumps of one process by each path: the
#               same pagemap (runs, PE_ZERO where the copy path has them,
#               page checksums; offsets aside), and the splice path's
#               pages file holds the zero pages too (not referenced:
#               proves it was the splice path), the copy path's does not
#   same-cow    a process and its forked child sharing every page
#               copy-on-write: a --leave-running dump by the splice path
#               leaves the parent's pages shared (no page exclusive in its
#               pagemap, bit 56, as before the dump); the parent then
#               writes its pages (all exclusive then: the count works)
#               and the child still finds its own intact
#   full        the forked pair dumped by the splice path, restored with
#               --verify, and both find every page intact
#
# Usage: tests/splice.sh BUILD_DIR    (under build/tests/subreaper)
set -u
B=${1:-build}
CL=$(realpath "$B/criu-lite")
HOG=$(realpath "$B/tests/splicehog")
MIB=32
. "$(dirname "$0")/proc-lib.sh"
proc_test_init splice

# start NAME [fork]: splicehog; sets pid, child, addr, bytes
start() {
	local out=$work/$1.out
	"$HOG" "$MIB" ${2:-} </dev/null >>"$out" 2>&1 &
	pids+=("$!")
	if ! wait_line "$out" READY 100; then
		bad "$1" "splicehog did not get ready: $(cat "$out")"
		return 1
	fi
	read -r _ pid child addr bytes < <(grep '^READY' "$out")
	[ "$child" = 0 ] || pids+=("$child")
}

# dump NAME PATH DIR [ARGS...]: dump by page path PATH, log in DIR.log
dump() {
	local name=$1 path=$2 dir=$3
	shift 3
	mkdir -p "$dir"
	if ! CRIU_LITE_PAGE_PATH=$path "$CL" dump -t "$pid" -D "$dir" "$@" \
	     >"$dir.log" 2>&1; then
		bad "$name" "dump by $path failed: $(tail -3 "$dir.log")"
		return 1
	fi
}

# the pagemap of pid in DIR, offsets left out: its runs in splicehog's
# memory, and the stored runs of its stack (where the dump's injected
# frames were: the splice path must store the bytes the process has, as
# the copy path does; a page the frames made present is zero, and other
# pages change on their own: the rseq area's cpu_id)
pagemap() {
	local lo hi
	read -r lo hi < <(awk -F'[- ]' '/\[stack\]/ { print $1, $2 }' \
			  "/proc/$pid/maps")
	"$CL" show "$1/pagemap-$pid.img" | sed 's/offset: 0x[0-9a-f]*, //' |
		awk -v a=$((0x$addr)) -v b=$((0x$addr + bytes)) \
		    -v lo=$((0x$lo)) -v hi=$((0x$hi)) '
		function hex(s,   i, n) {
			n = 0
			for (i = 1; i <= length(s); i++)
				n = n * 16 + index("0123456789abcdef",
						   substr(s, i, 1)) - 1
			return n
		}
		match($0, /vaddr: 0x[0-9a-f]+/) {
			v = hex(substr($0, RSTART + 9, RLENGTH - 9))
			if ((v >= a && v < b) ||
			    (v >= lo && v < hi && /PE_PRESENT/))
				print
		}'
}

# held DIR EXPR: EXPR of the pages stored ($1) and zero ($6) in DIR
held() {
	"$CL" show --mems "$1" | awk "/pages stored/ { print $2 }"
}

# exclusive PID: pages of [addr, addr + bytes) of PID mapped exclusively
exclusive() {
	dd if="/proc/$1/pagemap" bs=8 skip=$((0x$addr / 4096)) \
	   count=$((bytes / 4096)) 2>/dev/null | od -An -v -tx8 |
		tr -s ' ' '\n' | grep -c '^.[13579bdf]'
}

# checked NAME PID: PID said its memory is intact
checked() {
	local i
	kill -USR1 "$2"
	for i in $(seq 100); do
		grep -q "^CHECK $2 " "$work/$1.out" && break
		sleep 0.1
	done
	grep -q "^CHECK $2 ok" "$work/$1.out"
}

case_same_zero() {
	local s c zeros
	start same-zero || return
	dump same-zero copy "$work/z-copy" --leave-running || return
	dump same-zero splice "$work/z-splice" --leave-running || return
	zeros=$(pagemap "$work/z-copy" | grep -o 'nr_pages: [0-9]*, flags: "PE_ZERO"' |
		awk '{ n += $2 } END { print n + 0 }')
	if [ "$zeros" -lt $((MIB * 256 / 4)) ]; then
		bad same-zero "the copy path found $zeros zero pages, expected $((MIB * 64))+"
	elif ! diff <(pagemap "$work/z-copy") <(pagemap "$work/z-splice") \
	     >"$work/z.diff"; then
		bad same-zero "pagemaps differ: $(head -c 600 "$work/z.diff")"
	else
		s=$(stat -c %s "$work/z-splice/pages-1.img")
		c=$(stat -c %s "$work/z-copy/pages-1.img")
		if [ "$s" -ne $(($(held "$work/z-splice" '$1 + $6') * 4096)) ] ||
		   [ "$c" -ne $(($(held "$work/z-copy" '$1') * 4096)) ]; then
			bad same-zero "pages files of $s (splice) and $c (copy) bytes: the splice path's should hold its stored and zero pages, the copy path's its stored ones"
		elif ! checked same-zero "$pid"; then
			bad same-zero "the process' memory changed"
		else
			ok same-zero
		fi
	fi
	kill -9 "$pid" 2>/dev/null
}

case_same_cow() {
	local before after written
	start same-cow fork || return
	before=$(exclusive "$pid")
	dump same-cow splice "$work/c-splice" --leave-running || return
	after=$(exclusive "$pid")
	kill -USR2 "$pid"
	sleep 0.5
	# the count itself: every page the parent wrote is its own now
	written=$(exclusive "$pid")
	if [ "$before" != 0 ] || [ "$after" != "$before" ]; then
		bad same-cow "exclusive pages of the parent: $before before the dump, $after after (COW sharing ended)"
	elif [ "$written" != $((bytes / 4096)) ]; then
		bad same-cow "$written of $((bytes / 4096)) pages exclusive after the parent wrote them all: the count does not work"
	elif ! checked same-cow "$child"; then
		bad same-cow "the child's memory changed after the parent wrote its own"
	elif ! checked same-cow "$pid"; then
		bad same-cow "the parent did not answer"
	else
		ok same-cow
	fi
	kill -9 "$pid" "$child" 2>/dev/null
}

case_full() {
	start full fork || return
	dump full splice "$work/f" || return
	wait_gone "$pid"
	wait_gone "$child"
	if ! "$CL" restore -D "$work/f" -d --verify >"$work/f-r.log" 2>&1; then
		bad full "restore failed: $(tail -3 "$work/f-r.log")"
	elif ! checked full "$child" || ! checked full "$pid"; then
		bad full "memory not intact after restore: $(grep CHECK "$work/full.out")"
	else
		ok full
	fi
	kill -9 "$pid" "$child" 2>/dev/null
}

case_same_zero
case_same_cow
case_full
echo "splice: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/bash
# The one-copy page paths of a dump (criu-lite/page-splice.h) against the
# copy path (CRIU_LITE_PAGE_PATH=copy), on splicehog: 32 MiB of which
# every 4th page is present and all zero. Each case runs for both ways,
# named WAY:case: write (the process pwritevs its pages into pages-1.img)
# and splice (it vmsplices them into criu-lite's pipe), each forced by
# CRIU_LITE_PAGE_PATH; the dump's log must say it took that way.
#
#   same-zero   --leave-running dumps of one process by each path: the
#               same pagemap (runs, PE_ZERO where the copy path has them,
#               page checksums; offsets aside), and the one-copy path's
#               pages file holds the zero pages too (not referenced), the
#               copy path's does not
#   same-cow    a process and its forked child sharing every page
#               copy-on-write: a --leave-running dump by the way leaves
#               the parent's pages shared (no page exclusive in its
#               pagemap, bit 56, as before the dump); the parent then
#               writes its pages (all exclusive then: the count works)
#               and the child still finds its own intact
#   full        the forked pair dumped by the way, restored with
#               --verify, and both find every page intact
#   write:fsize  a process with an RLIMIT_FSIZE (its write into the pages
#               file could get it SIGXFSZ): the write way gives it the
#               pipe instead and says so; the process has no signal
#               pending after a --leave-running dump, its memory intact
#   write:memcg  a process in a memory cgroup with a limit (the write
#               way's page cache would be charged to it): the write way
#               gives it the pipe instead and says so (skipped if no such
#               cgroup can be made here)
#   auto:small  no CRIU_LITE_PAGE_PATH, and splice made to need a larger
#               pipe than any (CRIU_LITE_SPLICE_MIN_PIPE=128M): the dump
#               takes the copy path, saying so at -v2 with the pipe it can
#               have (as this script finds it) and the 128 MiB; its pages
#               file holds no zero page, as the copy path's
#   auto:large  the same with CRIU_LITE_SPLICE_MIN_PIPE=1M: splice
#   auto:here   the same with no knob: splice if the pipe here can grow to
#               8 MiB, else the copy path, saying why
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
	(
		[ -n "${FSIZE:-}" ] && ulimit -f "$FSIZE"
		exec "$HOG" "$MIB" ${2:-} </dev/null >>"$out" 2>&1
	) &
	pids+=("$!")
	if ! wait_line "$out" READY 100; then
		bad "$1" "splicehog did not get ready: $(cat "$out")"
		return 1
	fi
	read -r _ pid child addr bytes < <(grep '^READY' "$out")
	[ "$child" = 0 ] || pids+=("$child")
}

# dump NAME PATH DIR [ARGS...]: dump by page path PATH, log in DIR.log;
# a one-copy one (splice, write) must say it moved the pages its way (or
# the way in EXPECT)
dump() {
	local name=$1 path=$2 dir=$3 said
	shift 3
	mkdir -p "$dir"
	local pathenv=("CRIU_LITE_PAGE_PATH=$path")
	[ "$path" = auto ] && pathenv=(-u CRIU_LITE_PAGE_PATH)	# its own choice
	if ! env "${pathenv[@]}" "$CL" dump -v3 -t "$pid" -D "$dir" "$@" \
	     >"$dir.log" 2>&1; then
		bad "$name" "dump by $path failed: $(tail -3 "$dir.log")"
		return 1
	fi
	case ${EXPECT:-$path} in
	splice) said="pages by vmsplice into its fd" ;;
	write) said="pages by pwritev of its fd" ;;
	*) return 0 ;;
	esac
	if ! grep -q "pid $pid: $said" "$dir.log"; then
		bad "$name" "the dump by $path did not say '$said': $(grep "pid $pid: .*pages by" "$dir.log")"
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

# intact NAME PID [WHAT]: ok NAME [: WHAT] if PID says its memory is
# intact (checked), else bad
intact() {
	if checked "$1" "$2"; then
		ok "$1${3:+: $3}"
	else
		bad "$1" "the process' memory changed"
	fi
}

# case_* WAY: the one-copy way (splice: vmsplice into criu-lite's pipe;
# write: the process pwritevs into pages-1.img), named WAY:case
case_same_zero() {
	local s c zeros n=$1:same-zero
	start "$n" || return
	dump "$n" copy "$work/z-copy$1" --leave-running || return
	dump "$n" "$1" "$work/z-splice$1" --leave-running || return
	zeros=$(pagemap "$work/z-copy$1" | grep -o 'nr_pages: [0-9]*, flags: "PE_ZERO"' |
		awk '{ n += $2 } END { print n + 0 }')
	if [ "$zeros" -lt $((MIB * 256 / 4)) ]; then
		bad "$n" "the copy path found $zeros zero pages, expected $((MIB * 64))+"
	elif ! diff <(pagemap "$work/z-copy$1") <(pagemap "$work/z-splice$1") \
	     >"$work/z$1.diff"; then
		bad "$n" "pagemaps differ: $(head -c 600 "$work/z$1.diff")"
	else
		s=$(stat -c %s "$work/z-splice$1/pages-1.img")
		c=$(stat -c %s "$work/z-copy$1/pages-1.img")
		if [ "$s" -ne $(($(held "$work/z-splice$1" '$1 + $6') * 4096)) ] ||
		   [ "$c" -ne $(($(held "$work/z-copy$1" '$1') * 4096)) ]; then
			bad "$n" "pages files of $s ($1) and $c (copy) bytes: the $1 path's should hold its stored and zero pages, the copy path's its stored ones"
		else
			intact "$n" "$pid"
		fi
	fi
	kill -9 "$pid" 2>/dev/null
}

case_same_cow() {
	local before after written n=$1:same-cow
	start "$n" fork || return
	before=$(exclusive "$pid")
	dump "$n" "$1" "$work/c-$1" --leave-running || return
	after=$(exclusive "$pid")
	kill -USR2 "$pid"
	sleep 0.5
	# the count itself: every page the parent wrote is its own now
	written=$(exclusive "$pid")
	if [ "$before" != 0 ] || [ "$after" != "$before" ]; then
		bad "$n" "exclusive pages of the parent: $before before the dump, $after after (COW sharing ended)"
	elif [ "$written" != $((bytes / 4096)) ]; then
		bad "$n" "$written of $((bytes / 4096)) pages exclusive after the parent wrote them all: the count does not work"
	elif ! checked "$n" "$child"; then
		bad "$n" "the child's memory changed after the parent wrote its own"
	elif ! checked "$n" "$pid"; then
		bad "$n" "the parent did not answer"
	else
		ok "$n"
	fi
	kill -9 "$pid" "$child" 2>/dev/null
}

case_full() {
	local n=$1:full
	start "$n" fork || return
	dump "$n" "$1" "$work/f$1" || return
	wait_gone "$pid"
	wait_gone "$child"
	if ! "$CL" restore -D "$work/f$1" -d --verify >"$work/f$1-r.log" 2>&1; then
		bad "$n" "restore failed: $(tail -3 "$work/f$1-r.log")"
	elif ! checked "$n" "$child" || ! checked "$n" "$pid"; then
		bad "$n" "memory not intact after restore: $(grep CHECK "$work/$n.out")"
	else
		ok "$n"
	fi
	kill -9 "$pid" "$child" 2>/dev/null
}

case_fsize() {
	local n=write:fsize sig
	FSIZE=1024 start "$n" || return
	EXPECT=splice dump "$n" write "$work/fs" --leave-running || return
	sig=$(awk '/^(ShdPnd|SigPnd):/ { print $2 }' "/proc/$pid/status" | sort -u)
	if ! grep -q "RLIMIT_FSIZE is not unlimited: pages by splice" "$work/fs.log"; then
		bad "$n" "no word of the RLIMIT_FSIZE: $(grep "pid $pid: .*pages by" "$work/fs.log")"
	elif [ "$sig" != 0000000000000000 ]; then
		bad "$n" "signals pending after the dump: $sig"
	else
		intact "$n" "$pid"
	fi
	kill -9 "$pid" 2>/dev/null
}

case_memcg() {
	local n=write:memcg own cg file
	own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
	if [ -n "$own" ]; then
		cg=/sys/fs/cgroup/memory${own%/}/cl-splice-$$ file=memory.limit_in_bytes
	else
		own=$(awk -F: '$1 == 0 { print $3 }' /proc/self/cgroup)
		cg=/sys/fs/cgroup${own%/}/cl-splice-$$ file=memory.max
	fi
	if ! mkdir "$cg" 2>/dev/null; then
		echo "SKIP $n: can't make a memory cgroup ($cg)"
		return
	fi
	if ! echo $((1 << 30)) 2>/dev/null >"$cg/$file" || ! start "$n" ||
	   ! echo "$pid" 2>/dev/null >"$cg/cgroup.procs"; then
		echo "SKIP $n: can't limit a memory cgroup and move a process into it ($cg)"
	elif EXPECT=splice dump "$n" write "$work/mc" --leave-running; then
		if ! grep -q "memory cgroup has a limit" "$work/mc.log"; then
			bad "$n" "no word of the memory cgroup's limit: $(grep "pid $pid: .*pages by" "$work/mc.log")"
		else
			intact "$n" "$pid"
		fi
	fi
	[ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null && wait_gone "$pid"
	for _ in $(seq 20); do
		rmdir "$cg" 2>/dev/null && break
		sleep 0.1
	done
}

# pipe_max: the size of a pipe grown as far as root here may (criu-lite
# grows its own from 64 MiB down, by halves), in bytes
pipe_max() {
	python3 -c '
import fcntl, os
r, w = os.pipe()
want = 64 << 20
while want >= 1 << 20:
    try:
        fcntl.fcntl(r, 1031, want)	# F_SETPIPE_SZ
        break
    except OSError:
        want //= 2
print(fcntl.fcntl(r, 1032))	# F_GETPIPE_SZ'
}

# case_auto NAME MIN WAY [MIB]: a dump with no CRIU_LITE_PAGE_PATH (and
# CRIU_LITE_SPLICE_MIN_PIPE=MIN unless MIN is "-") takes WAY (dump()
# checks splice's own line); the copy path says why at -v2: the pipe it
# can have here, and the MIB MiB splice needs
case_auto() {
	local n=auto:$1 min=$2 way=$3 d=$work/a$1 have said v=-v3
	[ "$way" = copy ] && v=-v2	# its line a note (splice's: debug)
	have=$(pipe_max) || { bad "$n" "can't find the pipe size here"; return; }
	said="pages by copy: criu-lite's pipe can have $(awk -v b="$have" \
		'BEGIN { printf "%g", b / 1048576 }') MiB here .*splice pays from ${4:-} MiB"
	start "$n" || return
	if [ "$min" = - ]; then
		EXPECT=$way dump "$n" auto "$d" --leave-running $v || return
	else
		CRIU_LITE_SPLICE_MIN_PIPE=$min EXPECT=$way \
			dump "$n" auto "$d" --leave-running $v || return
	fi
	if [ "$way" = copy ] && ! grep -q "$said" "$d.log"; then
		bad "$n" "no \"$said\" in: $(grep 'pages by' "$d.log")"
	elif [ "$way" = copy ] && grep -q "pages by vmsplice\|pages by pwritev" "$d.log"; then
		bad "$n" "a one-copy way taken: $(grep 'pages by' "$d.log")"
	elif [ "$way" = copy ] && [ "$(stat -c %s "$d/pages-1.img")" -ne \
	     $(($(held "$d" '$1') * 4096)) ]; then
		bad "$n" "pages-1.img holds more than the stored pages (the zero pages: a one-copy way)"
	else
		intact "$n" "$pid" "$(grep -o 'pages by.*' "$d.log" | head -1)"
	fi
	kill -9 "$pid" 2>/dev/null
}

case_fsize
case_memcg
case_auto small 128M copy 128
case_auto large 1M splice
if [ "$(pipe_max)" -ge $((8 << 20)) ]; then
	case_auto here - splice
else
	case_auto here - copy 8
fi
for way in write splice; do
	case_same_zero $way
	case_same_cow $way
	case_full $way
done
echo "splice: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/sh
# stats-dump and stats-restore: every dump and restore leaves its figures
# in the images directory, under CRIU's names, and they agree with the
# images themselves, as `show --json` decodes them (parsed back with jq):
#   pages_written  = pages of the PE_PRESENT pagemap runs
#   pages_zero     = pages of the PE_ZERO runs
#   pages_scanned  = both together
#   bytes_written  = size of pages-1.img (pre-copy rounds included)
#   pages_skipped_parent = pages of the PE_PARENT runs (a layer on a
#                  pre-dump)
#   pages_restored = PE_PRESENT pages (+ pages_lazy with --lazy-pages)
# and the times nest (freezing <= frozen <= total, forking <= restore;
# the timing line's read, write, fsync <= its page phase <= frozen, also
# after pre-copy rounds and on a layer whose page phase is short).
# --display-stats prints the same figures. A restore from a read-only
# directory works and says that its stats were not written. A failed dump
# writes none. The target (zdtm mem_1g, 64 MiB: patterned, zero and
# untouched pages) checks its memory after each restore.
# Run under build/tests/subreaper. Usage: tests/stats-check.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
HOG=$B/zdtm/static/mem_1g
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-stats.XXXXXX")
pass=0 fail=0 pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; umount "$work/ro" 2>/dev/null; rm -rf "$work"' EXIT
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

start_hog() {
	: >"$work/hog.out"
	ZDTM_MEM_MB=64 "$HOG" </dev/null >>"$work/hog.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do grep -q READY "$work/hog.out" && return 0; sleep 0.05; done
	echo "stats-check: mem_1g did not start"; exit 1
}

# the restored target checks itself (SIGTERM) and says PASS
check_back() {
	: >"$work/hog.out"
	kill -TERM "$pid"
	for _ in $(seq 1 200); do grep -q "^PASS\|^FAIL" "$work/hog.out" && break; sleep 0.05; done
	grep -q "^PASS" "$work/hog.out" && ok "$1: the restored target is whole" ||
		bad "$1: the target says: $(tail -3 "$work/hog.out")"
	# gone, PID free again (not our child: the subreaper reaps it)
	for _ in $(seq 1 400); do [ -e "/proc/$pid" ] || break; sleep 0.02; done
}

# stat FILE FIELD: one figure of a stats file, through show --json
stat_() {
	"$CL" show --json "$1" | jq -r ".entries[0].$2 // \"missing\""
}

# pages DIR FLAG: pages of the pagemap runs with FLAG (a name, or its bit)
pages() {
	"$CL" show --json "$1" | jq --arg f "$2" '
		def has($n): if type == "number" then
			(($n | {PE_PRESENT: 1, PE_ZERO: 2, PE_PARENT: 4, PE_LAZY: 8}[.])
			 as $b | (. / $b | floor) % 2 == 1)
			else (split("|") | index($n) != null) end;
		[.[] | select(.type == "PagemapEntry") | .entries[] |
		 select(.flags | has($f)) | .nr_pages] | add // 0'
}

# same NAME A B: two figures agree
same() {
	[ "$2" = "$3" ] && ok "$1 ($2)" || bad "$1: $2 != $3"
}

# le NAME A B: A <= B
le() {
	[ "$2" -le "$3" ] 2>/dev/null && ok "$1 ($2 <= $3)" || bad "$1: $2 > $3"
}

# ---- dump ----
start_hog
"$CL" dump -t "$pid" -D "$work/img" --display-stats >"$work/dump.out" \
	2>"$work/dump.log" || { cat "$work/dump.log"; exit 1; }
wait "$pid" 2>/dev/null
sd=$work/img/stats-dump
[ -f "$sd" ] && ok "dump wrote stats-dump" || bad "no stats-dump"
missing=
for f in freezing_time frozen_time memdump_time memwrite_time pages_scanned \
	pages_skipped_parent pages_written pages_zero pages_lazy fsync_time \
	bytes_written total_time; do
	[ "$(stat_ "$sd" $f)" = missing ] && missing="$missing $f"
done
[ -z "$missing" ] && ok "stats-dump has CRIU's fields and ours" ||
	bad "stats-dump lacks$missing"
present=$(pages "$work/img" PE_PRESENT)
zero=$(pages "$work/img" PE_ZERO)
same "pages_written = PE_PRESENT pages" "$(stat_ "$sd" pages_written)" "$present"
same "pages_zero = PE_ZERO pages" "$(stat_ "$sd" pages_zero)" "$zero"
same "pages_scanned = PE_PRESENT + PE_ZERO" "$(stat_ "$sd" pages_scanned)" \
	$((present + zero))
same "bytes_written = size of pages-1.img" "$(stat_ "$sd" bytes_written)" \
	"$(stat -c %s "$work/img/pages-1.img")"
[ "$present" -gt 10000 ] && [ "$zero" -gt 500 ] &&
	ok "the target has stored and zero pages ($present, $zero)" ||
	bad "the target's pages: $present stored, $zero zero"
le "freezing_time <= frozen_time" "$(stat_ "$sd" freezing_time)" "$(stat_ "$sd" frozen_time)"
le "frozen_time <= total_time" "$(stat_ "$sd" frozen_time)" "$(stat_ "$sd" total_time)"
le "memdump_time <= frozen_time" "$(stat_ "$sd" memdump_time)" "$(stat_ "$sd" frozen_time)"
# timing NAME LOG: the timing line is of the frozen page phase only: its
# wall time holds the reads, the writes and the page fsync done in it
# (counted over the same intervals: so by construction, not by the
# machine's load), and lies within the frozen time. Pre-copy rounds
# (read while the tree runs) and the fsync of the other images at the
# commit are not in it.
timing() {
	tl=$(grep "criu-lite: pages: read" "$2")
	frz=$(grep -o "frozen [0-9.]* ms" "$2" | head -1 | cut -d' ' -f2)
	if echo "$tl" | awk -v frz="$frz" '{ for (i = 1; i <= NF; i++) v[$i] = $(i + 1) + 0 }
		END { exit !(("phase" in v) && frz != "" && v["read"] <= v["phase"] &&
			     v["write"] <= v["phase"] && v["fsync"] <= v["phase"] &&
			     v["phase"] <= frz + 0 && v["phase"] > 0) }'; then
		ok "$1: read, write, fsync <= phase <= frozen ($tl; frozen $frz ms)"
	else
		bad "$1: '$tl', frozen '$frz'"
	fi
}
timing "timing line" "$work/dump.log"
if grep -q "^Displaying dump stats:" "$work/dump.out" &&
	grep -q "^  pages_written  *$present pages" "$work/dump.out"; then
	ok "--display-stats prints the file's figures"
else
	bad "--display-stats: $(cat "$work/dump.out")"
fi

# ---- restore (under the same PID: $pid stays right) ----
"$CL" restore -D "$work/img" -d --display-stats >"$work/restore.out" \
	2>"$work/restore.log" || { cat "$work/restore.log"; exit 1; }
sr=$work/img/stats-restore
[ -f "$sr" ] && ok "restore wrote stats-restore" || bad "no stats-restore"
missing=
for f in forking_time restore_time pages_restored pages_lazy load_time \
	verify_time pid_wait_time memory_time; do
	[ "$(stat_ "$sr" $f)" = missing ] && missing="$missing $f"
done
[ -z "$missing" ] && ok "stats-restore has CRIU's fields and ours" ||
	bad "stats-restore lacks$missing"
same "pages_restored = PE_PRESENT pages" "$(stat_ "$sr" pages_restored)" "$present"
le "forking_time <= restore_time" "$(stat_ "$sr" forking_time)" "$(stat_ "$sr" restore_time)"
le "verify_time <= restore_time" "$(stat_ "$sr" verify_time)" "$(stat_ "$sr" restore_time)"
grep -q "^Displaying restore stats:" "$work/restore.out" &&
	ok "restore --display-stats" || bad "restore --display-stats: $(cat "$work/restore.out")"
check_back restore

# ---- lazy restore: what the daemon fills is counted apart ----
rm -f "$sr"
"$CL" restore -D "$work/img" -d --lazy-pages >"$work/lazy.log" 2>&1 ||
	{ cat "$work/lazy.log"; exit 1; }
lazy=$(stat_ "$sr" pages_lazy)
same "lazy: pages_restored + pages_lazy = PE_PRESENT pages" \
	$(($(stat_ "$sr" pages_restored) + lazy)) "$present"
[ "$lazy" -gt 0 ] && ok "lazy: pages_lazy > 0 ($lazy)" || bad "lazy: pages_lazy $lazy"
sleep 1
check_back lazy

# ---- a read-only images directory: restored all the same ----
rm -f "$sr"
mkdir "$work/ro"
if mount --bind "$work/img" "$work/ro" 2>/dev/null &&
	mount -o remount,ro,bind "$work/ro" 2>/dev/null; then
	if "$CL" restore -D "$work/ro" -d >"$work/ro.log" 2>&1; then
		grep -q "not writable.*stats-restore not written" "$work/ro.log" &&
			[ ! -e "$sr" ] && ok "read-only DIR: restored, stats not written (said)" ||
			bad "read-only DIR: $(cat "$work/ro.log")"
		check_back read-only
	else
		bad "read-only DIR: restore failed: $(cat "$work/ro.log")"
	fi
	umount "$work/ro"
else
	echo "SKIP read-only DIR: can't make a read-only bind mount here"
fi

# ---- pre-copy: its rounds counted, the same agreement ----
start_hog
"$CL" dump -t "$pid" -D "$work/pc" --precopy-rounds 2 >"$work/pc.log" 2>&1 ||
	{ cat "$work/pc.log"; exit 1; }
wait "$pid" 2>/dev/null
pid=
sd=$work/pc/stats-dump
le "pre-copy: precopy_rounds 1..2" 1 "$(stat_ "$sd" precopy_rounds)"
same "pre-copy: pages_written = PE_PRESENT pages" "$(stat_ "$sd" pages_written)" \
	"$(pages "$work/pc" PE_PRESENT)"
same "pre-copy: bytes_written = size of pages-1.img" "$(stat_ "$sd" bytes_written)" \
	"$(stat -c %s "$work/pc/pages-1.img")"
timing "pre-copy: timing line" "$work/pc.log"
# the hog's untouched pages are no zero pages of the image: pre-copy lists
# them as a plain dump does, not at all (it once wrote them PE_ZERO: 3879
# zero pages against the plain dump's 896 here, 400k for a 512 MiB guest)
# (a page or two may differ between the two hogs: within 64)
le "pre-copy: PE_ZERO pages <= the plain dump's + 64 (untouched pages not listed)" \
	"$(pages "$work/pc" PE_ZERO)" "$(($(pages "$work/img" PE_ZERO) + 64))"
[ "$(stat_ "$sd" pages_reused)" -gt 0 ] 2>/dev/null &&
	ok "pre-copy: pages_reused $(stat_ "$sd" pages_reused)" ||
	bad "pre-copy: pages_reused $(stat_ "$sd" pages_reused)"

# ---- a layer on a pre-dump: what the parent holds is counted apart ----
start_hog
"$CL" pre-dump -t "$pid" -D "$work/p1" --display-stats >"$work/p1.out" \
	2>"$work/p1.log" || { cat "$work/p1.log"; exit 1; }
# the pre-dump's own figures (as CRIU's pre-dump writes stats-dump)
sd=$work/p1/stats-dump
if [ ! -e "$sd" ]; then
	bad "pre-dump: no stats-dump in the layer"
else
	same "pre-dump: pages_written = PE_PRESENT pages" \
		"$(stat_ "$sd" pages_written)" "$(pages "$work/p1" PE_PRESENT)"
	same "pre-dump: bytes_written = size of pages-1.img" \
		"$(stat_ "$sd" bytes_written)" "$(stat -c %s "$work/p1/pages-1.img")"
	# a layer is frozen only to list its pages: its frozen time may be
	# shorter than its freezing; both lie within its total
	le "pre-dump: freezing_time + frozen_time <= total_time" \
		$(($(stat_ "$sd" freezing_time) + $(stat_ "$sd" frozen_time))) \
		"$(stat_ "$sd" total_time)"
	grep -q "pages_written *$(stat_ "$sd" pages_written) " "$work/p1.out" &&
		ok "pre-dump: --display-stats prints them" ||
		bad "pre-dump: --display-stats: $(cat "$work/p1.out")"
	"$CL" show "$sd" >"$work/p1.show" 2>&1 && grep -q pages_written "$work/p1.show" &&
		ok "pre-dump: show stats-dump" || bad "pre-dump: show: $(cat "$work/p1.show")"
fi
"$CL" dump -t "$pid" -D "$work/p2" --prev-images-dir ../p1 --track-mem \
	>"$work/p2.log" 2>&1 || { cat "$work/p2.log"; exit 1; }
wait "$pid" 2>/dev/null
pid=
sd=$work/p2/stats-dump
parent=$(pages "$work/p2" PE_PARENT)
same "layer: pages_skipped_parent = PE_PARENT pages" \
	"$(stat_ "$sd" pages_skipped_parent)" "$parent"
same "layer: pages_written = PE_PRESENT pages" "$(stat_ "$sd" pages_written)" \
	"$(pages "$work/p2" PE_PRESENT)"
timing "layer: timing line" "$work/p2.log"
[ "$parent" -gt 1000 ] && ok "layer: the parent holds pages ($parent)" ||
	bad "layer: only $parent pages from the parent"

# ---- a failed dump writes no stats ----
"$CL" dump -t 999999 -D "$work/none" >/dev/null 2>&1
[ ! -e "$work/none/stats-dump" ] && ok "failed dump: no stats-dump" ||
	bad "failed dump left a stats-dump"

echo "stats: $pass passed, $fail failed"
[ $fail = 0 ]

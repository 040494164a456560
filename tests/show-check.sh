#!/bin/sh
# show: the output of a dump of a two-process, six-thread target
# (tests/tools/corrupt-target) parsed back with jq. Registers by name in
# every core entry; flag words by name (PE_*, PROT_*, MAP_*, O_*, SA_*);
# 64-bit values exact (past 2^53 as strings, equal to the text's hex);
# text: one line per VMA and per fd; --ps, --fds, --mems (text and JSON)
# agree with the images, --mems' pages in a parent layer (pre-dump, then
# dump --prev-images-dir) and left in the source (dump --lazy-pages) too;
# corrupt and missing images still give valid JSON
# with an "error" member; usage errors say criu-lite:.
# Run under build/tests/subreaper. Usage: tests/show-check.sh BUILD_DIR
set -u
B=${1:-build}
CL=$B/criu-lite
work=$(mktemp -d "${TMPDIR:-/tmp}/cl-show.XXXXXX")
pass=0 fail=0 tpid=
# the target and its child (a killed parent leaves the child running)
trap '[ -n "$tpid" ] && kill -9 $tpid ${tcpid:-} 2>/dev/null; rm -rf "$work"' EXIT
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
# check NAME JQ-FILTER FILE: the filter is true of FILE's JSON
check() {
	if jq -e "$2" "$3" >/dev/null 2>"$work/jq.err"; then
		ok "$1"
	else
		bad "$1: $(cat "$work/jq.err") $(head -c 300 "$3")"
	fi
}

: >"$work/t.out"
"$B/tests/corrupt-target" </dev/null >"$work/t.out" 2>&1 &
tpid=$!
for _ in $(seq 1 200); do grep -q READY "$work/t.out" && break; sleep 0.05; done
read -r _ ppid_ cpid <"$work/t.out" || { echo "show-check: no target"; exit 1; }
d=$work/img
"$CL" dump -t "$ppid_" -D "$d" >"$work/dump.log" 2>&1 ||
	{ cat "$work/dump.log"; exit 1; }
wait $tpid 2>/dev/null
tpid=

j=$work/all.json
"$CL" show --json "$d" >"$j" && jq -e . "$j" >/dev/null &&
	ok "show --json DIR parses" || bad "show --json DIR: $(head -c 300 "$j")"

# ---- registers and flags by name ----
check "registers by name in all 6 core entries" '
	[.[] | select(.type == "CoreEntry") | .entries[0].regs |
	 select(has("rip") and has("rsp") and has("rax") and has("fs_base"))]
	| length == 6' "$j"
check "pagemap flags: PE_* names, PE_PRESENT and PE_ZERO among them" '
	[.[] | select(.type == "PagemapEntry") | .entries[].flags] as $f |
	($f | all(test("^PE_[A-Z]+(\\|PE_[A-Z]+)*$"))) and
	($f | index("PE_PRESENT")) != null and ($f | index("PE_ZERO")) != null' "$j"
check "VMA prot and flags: PROT_*, MAP_* names" '
	[.[] | select(.type == "MmEntry") | .entries[0].vmas[]] as $v |
	($v | all(.prot | test("^(PROT_NONE|PROT_[A-Z]+(\\|PROT_[A-Z]+)*)$"))) and
	($v | all(.flags | test("^MAP_(PRIVATE|SHARED)"))) and
	($v | map(.prot) | index("PROT_READ|PROT_WRITE")) != null' "$j"
check "fd flags: O_* names with the access mode first" '
	[.[] | select(.type == "FdEntry") | .entries[].flags] |
	length > 0 and all(test("^O_(RDONLY|WRONLY|RDWR)(\\|O_[A-Z]+)*$"))' "$j"
check "sigaction flags: SA_* names" '
	[.[] | select(.type == "TaskEntry") | .entries[0].sigactions[].flags] |
	any(test("SA_RESTORER"))' "$j"

# ---- 64-bit values exact ----
check "numbers past 2^53 are strings of digits, the rest numbers" '
	[.. | numbers] | all(. <= 9007199254740992)' "$j"
check "pagemap checksums past 2^53 are strings" '
	[.[] | select(.type == "PagemapEntry") | .entries[].checksum |
	 select(type == "string")] | length > 0 and all(test("^[0-9]+$"))' "$j"
pm=$d/pagemap-$ppid_.img
jsum=$("$CL" show --json "$pm" | jq -r '[.entries[].checksum | select(type == "string")][0]')
tsum=$("$CL" show "$pm" | grep -o 'checksum: 0x[0-9a-f]*' |
	while read -r _ h; do printf '%u\n' "$h"; done | grep -x -m1 -- "$jsum")
[ -n "$jsum" ] && [ "$jsum" = "$tsum" ] &&
	ok "a checksum past 2^53: JSON $jsum = the text's hex" ||
	bad "checksum: JSON $jsum, text $tsum"
jrax=$("$CL" show --json "$d/core-$ppid_.img" | jq -r '.entries[0].regs.rip')
trax=$("$CL" show "$d/core-$ppid_.img" | grep -o ' rip: 0x[0-9a-f]*' |
	{ read -r _ h; printf '%u' "$h"; })
[ "$jrax" = "$trax" ] && ok "rip: JSON $jrax = text" || bad "rip: JSON $jrax, text $trax"

# ---- text: one line per VMA, per fd ----
"$CL" show "$d" >"$work/all.txt"
nv=$(jq '[.[] | select(.type == "MmEntry") | .entries[0].vmas[]] | length' "$j")
tv=$(grep -c '^    vmas\[[0-9]*\]: { start: 0x' "$work/all.txt")
[ "$nv" = "$tv" ] && [ "$nv" -gt 10 ] && ok "text: one line per VMA ($tv)" ||
	bad "text: $tv VMA lines for $nv VMAs"
nf=$(jq '[.[] | select(.type == "FdEntry") | .entries[]] | length' "$j")
tf=$(grep -c '^  { fd: [0-9]*, type: "FD_' "$work/all.txt")
[ "$nf" = "$tf" ] && [ "$nf" -gt 2 ] && ok "text: one line per fd ($tf)" ||
	bad "text: $tf fd lines for $nf fds"
grep -q '^    regs: { r15: 0x[0-9a-f]*, .* rip: 0x' "$work/all.txt" &&
	ok "text: registers on a line of their own" || bad "text: no regs line"

# ---- crit x: ps, fds, mems ----
"$CL" show --ps --json "$d" >"$work/ps.json"
check "--ps --json: both processes, parent first, 3 threads each" "
	.ps | length == 2 and .[0].pid == $ppid_ and .[1].pid == $cpid and
	.[1].ppid == $ppid_ and all(.threads | length == 3) and
	all(.comm | length > 0)" "$work/ps.json"
"$CL" show --ps "$d" >"$work/ps.txt"
[ "$(grep -c "^ *[0-9]" "$work/ps.txt")" = 2 ] && grep -q "^ *PID *PPID" "$work/ps.txt" &&
	grep -q "^ *$cpid *$ppid_ " "$work/ps.txt" && ok "--ps: a header and a line per process" ||
	bad "--ps: $(cat "$work/ps.txt")"
"$CL" show --fds --json "$d" >"$work/fds.json"
check "--fds --json: each process' fds, as fdinfo holds them" "
	[.fds[] | .fds | length] == [$(
	jq -c "[.[] | select(.type == \"FdEntry\") | .entries | length]" "$j" |
	tr -d '[]')] and all(.fds[]; .cwd | startswith(\"/\"))" "$work/fds.json"
"$CL" show --fds "$d" >"$work/fds.txt"
# stdout and stderr of the target are one file description (2>&1)
check "--fds --json: fd 2 (2>&1) has fd 1's path and says it shares it" \
	'[.fds[0].fds[] | select(.fd == 2)][0] | .shares_fd == 1 and
	 (.path | endswith("t.out"))' "$work/fds.json"
grep -q "^  fd 2: .*(the file description of fd 1: .*t.out)" "$work/fds.txt" &&
	ok "--fds: fd 2 names the fd whose description it shares" ||
	bad "--fds: fd 2: $(grep "fd 2:" "$work/fds.txt")"
[ "$(grep -c "^  fd [0-9]*: FD_" "$work/fds.txt")" = "$nf" ] &&
	ok "--fds: one line per fd" || bad "--fds: $(cat "$work/fds.txt")"
"$CL" show --mems --json "$d" >"$work/mems.json"
present=$(jq '[.[] | select(.type == "PagemapEntry") | .entries[] |
	select(.flags | split("|") | index("PE_PRESENT")) | .nr_pages] | add' "$j")
check "--mems --json: every VMA, the stored pages add up to the pagemaps" "
	([.mems[].vmas[]] | length) == $nv and
	([.mems[].pages_stored] | add) == $present and
	([.mems[].vmas[].pages_stored] | add) == $present" "$work/mems.json"
"$CL" show --mems "$d" >"$work/mems.txt"
[ "$(grep -c "^  [0-9a-f]*-[0-9a-f]* [r-][w-][x-][ps] VMA_" "$work/mems.txt")" = "$nv" ] &&
	ok "--mems: one line per VMA" || bad "--mems: $(head -5 "$work/mems.txt")"
check "stats-dump decodes with its figures" \
	'.[] | select(.file == "stats-dump") | .entries[0].pages_written > 0' "$j"

# ---- --mems: pages in a parent layer, pages left in the source ----
# flagpages DIR FLAG: pages of DIR's pagemap runs with FLAG
flagpages() {
	"$CL" show --json "$1" | jq --arg f "$2" '[.[] |
		select(.type == "PagemapEntry") | .entries[] |
		select(.flags | split("|") | index($f)) | .nr_pages] | add // 0'
}
# mems_counts NAME DIR FLAG KEY: --mems --json KEY adds up to the FLAG
# pages, more than none, per process and per VMA; the text says them
mems_counts() {
	want=$(flagpages "$2" "$3")
	"$CL" show --mems --json "$2" >"$work/$1.json"
	check "$1: --mems --json $4 = $3 pages ($want)" "
		$want > 0 and ([.mems[].$4] | add) == $want and
		([.mems[].vmas[].$4] | add) == $want" "$work/$1.json"
	"$CL" show --mems "$2" >"$work/$1.txt"
	case $4 in
	pages_parent) words="in the parent layer," ;;
	*) words="lazy (in the source's memory)" ;;
	esac
	said=$(grep "^  [0-9]* pages stored (.*), [0-9]* zero, " "$work/$1.txt" |
		sed -n "s/.* \([0-9]*\) $words.*/\1/p" | awk '{ n += $1 } END { print n + 0 }')
	[ "$said" = "$want" ] &&
		grep -q "^  [0-9a-f]*-[0-9a-f]* .*\[[0-9]* stored, [0-9]* zero, [0-9]* in the parent layer, [0-9]* lazy\]" \
			"$work/$1.txt" &&
		ok "$1: --mems text: $(grep -h "pages stored" "$work/$1.txt" | head -1)" ||
		bad "$1: --mems text ($said of $want): $(grep "pages stored" "$work/$1.txt")"
}
start_target() {
	: >"$work/t.out"
	"$B/tests/corrupt-target" </dev/null >"$work/t.out" 2>&1 &
	tpid=$!
	for _ in $(seq 1 200); do grep -q READY "$work/t.out" && break; sleep 0.05; done
	read -r _ mpid tcpid <"$work/t.out"
}
start_target
if "$CL" pre-dump -t "$mpid" -D "$work/l1" >"$work/l1.log" 2>&1 &&
	"$CL" dump -t "$mpid" -D "$work/l2" --prev-images-dir ../l1 --track-mem \
		>"$work/l2.log" 2>&1; then
	mems_counts layer "$work/l2" PE_PARENT pages_parent
	# the pre-dump under it has no process tree: said, JSON still valid
	if "$CL" show --mems --json "$work/l1" >"$work/l1.json" 2>"$work/err"; then
		bad "pre-dump layer: show --mems succeeded"
	elif grep -q "is a pre-dump layer (memory only, no process tree): --mems needs a dump" \
		"$work/err"; then
		check "pre-dump layer: --mems refused, saying why; JSON with an error" \
			'.mems == null and (.error | test("pre-dump"))' "$work/l1.json"
	else
		bad "pre-dump layer: show --mems: $(cat "$work/err")"
	fi
else
	bad "layer: $(cat "$work/l1.log" "$work/l2.log")"
fi
kill -9 $tpid $tcpid 2>/dev/null; wait $tpid 2>/dev/null
start_target
port=$((20000 + $$ % 20000))
"$CL" dump -t "$mpid" -D "$work/lz" --lazy-pages --address 127.0.0.1 \
	--port $port --lazy-timeout 2 >"$work/lz.log" 2>&1 &
lz=$!
for _ in $(seq 1 200); do [ -f "$work/lz/inventory.img" ] && break; sleep 0.05; done
mems_counts lazy "$work/lz" PE_LAZY pages_lazy
wait $lz	# gives up without a destination: the tree runs on here
kill -9 $tpid $tcpid 2>/dev/null; wait $tpid 2>/dev/null
tpid=

# ---- corrupt and missing images: still JSON, with errors ----
cp -a "$d" "$work/bad"
printf '\377\377' | dd of="$work/bad/mm-$cpid.img" bs=1 seek=20 conv=notrunc 2>/dev/null
"$CL" show --json "$work/bad" >"$work/bad.json" 2>/dev/null
check "corrupt mm: show --json DIR valid, the file has an error" "
	.[] | select(.file == \"mm-$cpid.img\") | has(\"error\")" "$work/bad.json"
"$CL" show --mems --json "$work/bad" >"$work/badm.json" 2>/dev/null
rc=$?
check "corrupt mm: --mems --json valid, that process has an error (exit $rc)" "
	(.mems[] | select(.pid == $cpid) | has(\"error\")) and
	(.mems[] | select(.pid == $ppid_) | has(\"error\") | not)" "$work/badm.json"
rm "$work/bad/pstree.img"
for w in ps fds mems; do
	"$CL" show --$w --json "$work/bad" >"$work/nops.json" 2>/dev/null
	rc=$?
	check "no pstree.img: --$w --json valid with an error, exit $rc" \
		".$w == null and (.error | length > 0)" "$work/nops.json"
done

# ---- usage ----
"$CL" show --bogus "$d" 2>"$work/err" >/dev/null
grep -q "^criu-lite: Error: show: unknown option --bogus" "$work/err" &&
	ok "show --bogus: $(cat "$work/err")" || bad "show --bogus: $(cat "$work/err")"
"$CL" show --ps --mems "$d" 2>"$work/err" >/dev/null
grep -q "^criu-lite: Error: show: --ps, --fds and --mems" "$work/err" &&
	ok "show --ps --mems refused" || bad "show --ps --mems: $(cat "$work/err")"
"$CL" show --help | grep -q -- "--mems" && ok "show --help lists --mems" ||
	bad "show --help"

# the pages codec by name (index entries and the inventory)
sleep 100 </dev/null >/dev/null 2>&1 &
spid=$!
if "$CL" dump -t $spid -D "$work/cz" --compress lz4 >"$work/cz.log" 2>&1; then
	"$CL" show --json "$work/cz/pages-index-1.img" >"$work/cz.json"
	check "pages codec by name in the frame index" \
		'.entries | length > 0 and all(.codec == "lz4" or .codec == "none")' \
		"$work/cz.json"
	"$CL" show --json "$work/cz/inventory.img" >"$work/czi.json"
	check "pages codec by name in the inventory" \
		'.entries[0].pages_codec == "lz4"' "$work/czi.json"
else
	bad "dump --compress lz4: $(cat "$work/cz.log")"
fi
kill -9 $spid 2>/dev/null; wait $spid 2>/dev/null

echo "show: $pass passed, $fail failed"
[ $fail = 0 ]
